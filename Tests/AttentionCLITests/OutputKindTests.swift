import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// What an output path names keeps its kind: a FIFO stays a FIFO and receives the bytes, a
/// symbolic link stays a link and its target is replaced, a device is written into, and `-` is
/// standard output. Every node is made in a scratch folder; nothing touches `/dev`.
@Suite("attention: outputs to FIFOs, links, devices and standard output")
struct OutputKindTests {
  /// Valid float32 inputs, and `ref.npy`: the output of the same run written to a regular file,
  /// which every other destination must receive byte for byte.
  let scratch: ScratchDirectory
  let reference: Data

  init() throws {
    scratch = try ScratchDirectory()
    try scratch.write(.random(.float32, shape: [2, 6, 8], seed: 1), to: "q.npy")
    try scratch.write(.random(.float32, shape: [2, 9, 8], seed: 2), to: "k.npy")
    try scratch.write(.random(.float32, shape: [2, 9, 5], seed: 3), to: "v.npy")
    let result = try scratch.run(Self.sdpa(output: "ref.npy"))
    try #require(result.status == 0, "\(result)")
    reference = try Data(contentsOf: URL(fileURLWithPath: scratch.path("ref.npy")))
  }

  static func sdpa(output: String) -> [String] {
    ["sdpa", "--query", "q.npy", "--key", "k.npy", "--value", "v.npy", "--output", output]
  }

  func sdpa(output: String) -> [String] { Self.sdpa(output: output) }

  func contents(_ name: String) throws -> Data {
    try Data(contentsOf: URL(fileURLWithPath: scratch.path(name)))
  }

  /// The file type bits of `name` itself (`lstat`: a link is a link).
  func kind(_ name: String) -> mode_t {
    var status = stat()
    guard lstat(scratch.path(name), &status) == 0 else { return 0 }
    return status.st_mode & S_IFMT
  }

  /// Runs `attention <arguments>` inside `bash -c script`, where the script refers to the
  /// binary as `"$0"` and to the arguments as `"$@"`.
  func runInShell(_ script: String, _ arguments: [String]) throws -> CLIResult {
    let binary = try #require(CLIRunner.binary)
    return try scratch.run(
      ["-c", script, binary.path] + arguments, viaExecutable: URL(fileURLWithPath: "/bin/bash"))
  }

  @Test("a FIFO receives the output and stays a FIFO")
  func fifo() throws {
    #expect(mkfifo(scratch.path("fifo.npy"), 0o600) == 0)
    let reader = Process()
    reader.executableURL = URL(fileURLWithPath: "/bin/sh")
    reader.arguments = ["-c", "cat fifo.npy > captured.npy"]
    reader.currentDirectoryURL = scratch.url
    try reader.run()
    let result = try scratch.run(sdpa(output: "fifo.npy"))
    if reader.isRunning {
      // The tool never opened the FIFO: give the reader its end of file.
      let descriptor = open(scratch.path("fifo.npy"), O_WRONLY | O_NONBLOCK)
      if descriptor >= 0 { close(descriptor) }
    }
    reader.waitUntilExit()
    #expect(result.status == 0 && result.standardError.isEmpty, "\(result)")
    #expect(try contents("captured.npy") == reference)
    #expect(kind("fifo.npy") == S_IFIFO)
  }

  @Test("through a symbolic link the target is replaced and the link stays a link")
  func symbolicLink() throws {
    try FileManager.default.createDirectory(
      atPath: scratch.path("results"), withIntermediateDirectories: false)
    try Data([1, 2, 3]).write(to: URL(fileURLWithPath: scratch.path("results/o.npy")))
    try FileManager.default.createSymbolicLink(
      atPath: scratch.path("link.npy"), withDestinationPath: "results/o.npy")
    // And a dangling one, whose target does not exist yet.
    try FileManager.default.createSymbolicLink(
      atPath: scratch.path("new-link.npy"), withDestinationPath: "results/new.npy")

    for link in ["link.npy", "new-link.npy"] {
      let result = try scratch.run(sdpa(output: link))
      #expect(result.status == 0 && result.standardError.isEmpty, "\(result)")
      #expect(kind(link) == S_IFLNK, "\(link) is no longer a symbolic link")
    }
    #expect(try contents("results/o.npy") == reference)
    #expect(try contents("results/new.npy") == reference)
    #expect(
      try FileManager.default.contentsOfDirectory(atPath: scratch.path("results")).sorted()
        == ["new.npy", "o.npy"])
  }

  @Test("a link to an input is still refused as an output")
  func linkToInput() throws {
    let input = try contents("k.npy")
    try FileManager.default.createSymbolicLink(
      atPath: scratch.path("k-link.npy"), withDestinationPath: "k.npy")
    expectOneLineError(
      try scratch.run(sdpa(output: "k-link.npy")), status: 64,
      containing: ["--output", "k-link.npy", "k.npy"])
    #expect(try contents("k.npy") == input)
  }

  @Test("- writes the .npy bytes to standard output, alone, whether a file or a pipe")
  func standardOutput() throws {
    let toFile = try runInShell(#"exec "$0" "$@" > stdout.npy"#, sdpa(output: "-"))
    #expect(toFile.status == 0 && toFile.standardError.isEmpty, "\(toFile)")
    #expect(try contents("stdout.npy") == reference)

    let toPipe = try runInShell(
      #""$0" "$@" | cat > piped.npy; exit "${PIPESTATUS[0]}""#, sdpa(output: "-"))
    #expect(toPipe.status == 0 && toPipe.standardError.isEmpty, "\(toPipe)")
    #expect(try contents("piped.npy") == reference)

    // /dev/stdout names the same pipe: written into, not replaced.
    let devStdout = try runInShell(
      #""$0" "$@" | cat > dev-stdout.npy; exit "${PIPESTATUS[0]}""#,
      sdpa(output: "/dev/stdout"))
    #expect(devStdout.status == 0 && devStdout.standardError.isEmpty, "\(devStdout)")
    #expect(try contents("dev-stdout.npy") == reference)
  }

  @Test("mha writes to standard output too")
  func mhaStandardOutput() throws {
    try scratch.write(.random(.float32, shape: [2, 5, 8], seed: 4), to: "x.npy")
    try SafetensorsBytes.encode(MHAErrorTests.stateDict()).write(
      to: scratch.url.appendingPathComponent("w.safetensors"))
    let arguments = ["mha", "--input", "x.npy", "--weights", "w.safetensors", "--heads", "2"]
    try #require(try scratch.run(arguments + ["--output", "y.npy"]).status == 0)
    let result = try runInShell(#"exec "$0" "$@" > y-stdout.npy"#, arguments + ["--output", "-"])
    #expect(result.status == 0 && result.standardError.isEmpty, "\(result)")
    #expect(try contents("y-stdout.npy") == (try contents("y.npy")))
  }

  @Test("two outputs on standard output, or standard output appended to an input, are refused")
  func standardOutputConflicts() throws {
    expectOneLineError(
      try scratch.run(sdpa(output: "-") + ["--weights-output", "-"]), status: 64,
      containing: ["--weights-output", "--output", "-"])
    let input = try contents("q.npy")
    let appended = try runInShell(#"exec "$0" "$@" >> q.npy"#, sdpa(output: "-"))
    expectOneLineError(appended, status: 64, containing: ["--output", "q.npy", "--query"])
    #expect(try contents("q.npy") == input)
  }

  @Test("a reader that leaves early is one 'Broken pipe' error line and status 1")
  func brokenPipe() throws {
    // A 1 MiB output: more than a pipe holds, so the tool is still writing when `head` exits.
    try scratch.write(.random(.float32, shape: [256, 1024], seed: 5), to: "wide.npy")
    let wide = [
      "sdpa", "--query", "wide.npy", "--key", "wide.npy", "--value", "wide.npy", "--output", "-",
    ]
    let result = try runInShell(
      #""$0" "$@" | head -c 1 > /dev/null; exit "${PIPESTATUS[0]}""#, wide)
    expectOneLineError(
      result, status: 1, containing: ["standard output", "Broken pipe", "--output"])
  }

  /// Whether this process may create device nodes (root with CAP_MKNOD), tried in a scratch
  /// folder.
  static let canMakeDevices: Bool = {
    guard let scratch = try? ScratchDirectory() else { return false }
    return mknod(scratch.path("null"), S_IFCHR | 0o666, dev_t(1 << 8 | 3)) == 0
  }()

  @Test(
    "a full device (a node made in the scratch folder) is one ENOSPC error line and stays a device",
    .enabled(if: canMakeDevices, "needs permission to create device nodes"))
  func fullDevice() throws {
    // The kernel's full (1, 7) and null (1, 3) devices.
    #expect(mknod(scratch.path("full"), S_IFCHR | 0o666, dev_t(1 << 8 | 7)) == 0)
    #expect(mknod(scratch.path("null"), S_IFCHR | 0o666, dev_t(1 << 8 | 3)) == 0)
    expectOneLineError(
      try scratch.run(sdpa(output: "full")), status: 1,
      containing: ["full", "No space left on device", "--output"])
    let null = try scratch.run(sdpa(output: "null"))
    #expect(null.status == 0 && null.standardError.isEmpty, "\(null)")
    #expect(kind("full") == S_IFCHR && kind("null") == S_IFCHR)
  }

  @Test("the help of sdpa and mha documents - for standard output")
  func helpMentionsStandardOutput() throws {
    for command in ["sdpa", "mha"] {
      let help = try scratch.run([command, "--help"])
      #expect(help.status == 0)
      #expect(help.standardOutput.contains("- for standard output"), "\(command)")
    }
  }
}
