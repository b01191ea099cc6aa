import Foundation
import Testing

/// Nothing lost: a failing `attention` run never leaves a partly written output, never damages
/// an existing file at the output path, and never overwrites an input.
@Suite("attention: outputs are written atomically")
struct AtomicOutputTests {
  /// Valid inputs whose output `[2, 64, 16]` float32 (8 KiB of data) exceeds a 4 KiB file-size
  /// limit, and an old `o.npy` with other contents.
  let scratch: ScratchDirectory
  let oldOutput: Data

  init() throws {
    scratch = try ScratchDirectory()
    try scratch.write(.random(.float32, shape: [2, 64, 8], seed: 1), to: "q.npy")
    try scratch.write(.random(.float32, shape: [2, 64, 8], seed: 2), to: "k.npy")
    try scratch.write(.random(.float32, shape: [2, 64, 16], seed: 3), to: "v.npy")
    try scratch.write(.random(.float32, shape: [3], seed: 4), to: "o.npy")
    oldOutput = try Data(contentsOf: URL(fileURLWithPath: scratch.path("o.npy")))
  }

  var arguments: [String] {
    ["sdpa", "--query", "q.npy", "--key", "k.npy", "--value", "v.npy", "--output", "o.npy"]
  }

  /// The directory's file names other than the run's captured output streams.
  func listing() throws -> Set<String> {
    Set(try FileManager.default.contentsOfDirectory(atPath: scratch.url.path))
  }

  /// Runs `attention` under `ulimit -f 4` with SIGXFSZ ignored, so the output's `write` fails
  /// with EFBIG part-way through the file: an error in the middle of writing, made on demand.
  func runWithFileSizeLimit(_ arguments: [String]) throws -> CLIResult {
    let binary = try #require(CLIRunner.binary)
    let script = "ulimit -f 4; trap '' XFSZ; exec \"$0\" \"$@\""
    return try scratch.run(
      ["-c", script, binary.path] + arguments, viaExecutable: URL(fileURLWithPath: "/bin/bash"))
  }

  /// Whether this process (and so the `attention` binary built with it) runs under
  /// ThreadSanitizer, whose runtime dies of SIGBUS under a small `ulimit -f`.
  static let underThreadSanitizer: Bool = {
    guard let program = dlopen(nil, RTLD_NOW) else { return false }
    return dlsym(program, "__tsan_init") != nil
  }()

  @Test(
    "a write that fails mid-file keeps the old output and leaves no temporary file",
    .disabled(if: underThreadSanitizer, "ThreadSanitizer's runtime cannot run under ulimit -f"))
  func failedWriteKeepsOldFile() throws {
    let before = try listing()
    let result = try runWithFileSizeLimit(arguments)
    expectOneLineError(result, status: 1, containing: ["o.npy"])
    let after = try Data(contentsOf: URL(fileURLWithPath: scratch.path("o.npy")))
    #expect(after == oldOutput, "the old o.npy was changed by a failed write")
    let left = try listing()
    #expect(left == before, "files left behind: \(left.subtracting(before))")
  }

  @Test(
    "a write that fails mid-file to a new path creates no file",
    .disabled(if: underThreadSanitizer, "ThreadSanitizer's runtime cannot run under ulimit -f"))
  func failedWriteCreatesNothing() throws {
    let before = try listing()
    var newPath = arguments
    newPath[newPath.count - 1] = "new.npy"
    expectOneLineError(try runWithFileSizeLimit(newPath), status: 1, containing: ["new.npy"])
    let left = try listing()
    #expect(left == before, "files left behind: \(left.subtracting(before))")
  }

  @Test("an error before writing (bad input) leaves the old output as it was")
  func inputErrorKeepsOldFile() throws {
    try scratch.write(.random(.float32, shape: [2, 64, 7], seed: 5), to: "k7.npy")
    var bad = arguments
    bad[4] = "k7.npy"
    expectOneLineError(try scratch.run(bad), status: 1, containing: ["[2, 64, 7]"])
    #expect(try Data(contentsOf: URL(fileURLWithPath: scratch.path("o.npy"))) == oldOutput)
  }

  @Test("outputs written before a later output fails are complete files")
  func laterFailureLeavesCompleteEarlierOutputs() throws {
    let result = try scratch.run(arguments + ["--weights-output", "missing/dir/p.npy"])
    expectOneLineError(result, status: 1, containing: ["missing/dir/p.npy"])
    // o.npy was replaced whole (rename), so it is either the old file or a complete new one.
    let output = try scratch.read("o.npy")
    #expect(output.shape == [2, 64, 16], "o.npy is \(output.shape)")
  }

  @Test("a request beyond the memory budget is one error line naming the bytes; nothing written")
  func memoryBudget() throws {
    // 2²⁰ queries and keys: the probabilities would take 4 TiB, beyond any machine's budget.
    try scratch.write(.random(.float32, shape: [1 << 20, 1], seed: 6), to: "long.npy")
    let before = try listing()
    let result = try scratch.run([
      "sdpa", "--query", "long.npy", "--key", "long.npy", "--value", "long.npy",
      "--output", "long-o.npy", "--weights-output", "long-p.npy",
    ])
    expectOneLineError(
      result, status: 1, containing: ["4.0 TiB", "budget is", "the fused path (.blas"])
    let left = try listing()
    #expect(left == before, "files written: \(left.subtracting(before))")
  }

  @Test("an output path equal to an input path is refused and the input kept")
  func outputEqualToInput() throws {
    let input = try Data(contentsOf: URL(fileURLWithPath: scratch.path("k.npy")))
    var same = arguments
    same[same.count - 1] = "k.npy"
    expectOneLineError(try scratch.run(same), status: 64, containing: ["--output", "k.npy"])
    #expect(try Data(contentsOf: URL(fileURLWithPath: scratch.path("k.npy"))) == input)
  }
}

extension ScratchDirectory {
  /// Runs `executable` (a wrapper such as a shell) with `arguments` in this directory.
  func run(_ arguments: [String], viaExecutable executable: URL) throws -> CLIResult {
    // Capture files go to the parent so the directory's listing shows only what the tool wrote.
    try CLIRunner.execute(
      executable, arguments, in: url, captureDirectory: url.deletingLastPathComponent())
  }
}
