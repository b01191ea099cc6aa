import Attention

#if canImport(Glibc)
  import Glibc
#endif

/// Fuzz targets for the readers of untrusted bytes, one executable for all of them.
///
/// `ATTENTION_FUZZ_TARGET` names the target (``FuzzTarget``). `make fuzz` builds this program
/// with `-sanitize=fuzzer,address -D LIBFUZZER`; it then runs libFuzzer with its command-line
/// arguments (corpus directories, `-max_total_time=…`). Built plainly (as `swift build` does), it
/// replays the files named on the command line through the same checks, which is how a crash
/// that libFuzzer saved is reproduced and debugged:
///
/// ```
/// ATTENTION_FUZZ_TARGET=npy swift run AttentionFuzz .build-fuzz/artifacts/npy-crash-…
/// ```
@main
enum AttentionFuzz {
  static func main() throws {
    guard let target = selectedTarget else {
      let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
      print("set ATTENTION_FUZZ_TARGET to one of: \(names)")
      exit(2)
    }
    #if LIBFUZZER
      runLibFuzzer { data, size in
        let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
        selectedTarget!.check(bytes)
        return 0
      }
    #else
      for path in CommandLine.arguments.dropFirst() {
        target.check(try FileContents.read(from: path))
        print("\(target.rawValue): ok \(path)")
      }
    #endif
  }
}

/// The target named by `ATTENTION_FUZZ_TARGET`, read once (libFuzzer's callback cannot capture).
let selectedTarget: FuzzTarget? = getenv("ATTENTION_FUZZ_TARGET").flatMap {
  FuzzTarget(rawValue: String(cString: $0))
}
