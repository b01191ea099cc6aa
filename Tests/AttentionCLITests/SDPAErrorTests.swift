import Foundation
import Testing

/// Every way `attention sdpa` can be given bad input ends with one `error:` line and the
/// documented status: 64 for the command line, 1 for the data.
@Suite("attention sdpa: one-line errors and exit statuses")
struct SDPAErrorTests {
  /// A directory holding valid float32 inputs `q.npy` [2, 3, 4], `k.npy` [2, 5, 4],
  /// `v.npy` [2, 5, 6], and a few bad ones.
  let scratch: ScratchDirectory

  init() throws {
    scratch = try ScratchDirectory()
    try scratch.write(.random(.float32, shape: [2, 3, 4], seed: 1), to: "q.npy")
    try scratch.write(.random(.float32, shape: [2, 5, 4], seed: 2), to: "k.npy")
    try scratch.write(.random(.float32, shape: [2, 5, 6], seed: 3), to: "v.npy")
  }

  /// `sdpa` with the valid inputs, `--output o.npy`, and `replacing` option values swapped in.
  func run(_ replacing: [String: String] = [:], extra: [String] = []) throws -> CLIResult {
    var options = ["--query": "q.npy", "--key": "k.npy", "--value": "v.npy", "--output": "o.npy"]
    options.merge(replacing) { $1 }
    let arguments = options.sorted { $0.key < $1.key }.flatMap { [$0.key, $0.value] }
    return try scratch.run(["sdpa"] + arguments + extra)
  }

  @Test("the valid inputs run (the baseline the error cases change one thing of)")
  func baseline() throws {
    let result = try run()
    #expect(result.status == 0, "\(result)")
  }

  @Test("a missing input names the path and the system's reason")
  func missingFile() throws {
    let result = try run(["--key": "nowhere.npy"])
    expectOneLineError(
      result, status: 1, containing: ["nowhere.npy", "--key", "No such file or directory"])
    #expect(!FileManager.default.fileExists(atPath: scratch.path("o.npy")))
  }

  @Test("a directory given as an input is named as one")
  func directoryInput() throws {
    try FileManager.default.createDirectory(
      atPath: scratch.path("folder.npy"), withIntermediateDirectories: false)
    expectOneLineError(
      try run(["--value": "folder.npy"]), status: 1, containing: ["folder.npy", "directory"])
  }

  @Test("an unparseable file reports the reader's message and the path")
  func unparseableFile() throws {
    try Data("this is not numpy".utf8).write(to: URL(fileURLWithPath: scratch.path("bad.npy")))
    expectOneLineError(
      try run(["--query": "bad.npy"]), status: 1, containing: ["bad.npy", "--query"])
  }

  @Test("a truncated file is rejected, not read past its end")
  func truncatedFile() throws {
    let bytes = NPYArray.random(.float32, shape: [2, 3, 4], seed: 1).encoded()
    try bytes.dropLast(5).write(to: URL(fileURLWithPath: scratch.path("short.npy")))
    expectOneLineError(try run(["--query": "short.npy"]), status: 1, containing: ["short.npy"])
  }

  @Test("a bool query is refused by dtype")
  func boolQuery() throws {
    try scratch.write(
      NPYArray(.bool, shape: [2, 3, 4], values: .init(repeating: 1, count: 24)), to: "b.npy")
    expectOneLineError(
      try run(["--query": "b.npy"]), status: 1, containing: ["b.npy", "bool", "float32"])
  }

  @Test("mixed dtypes are refused, naming both")
  func mixedDtypes() throws {
    try scratch.write(.random(.float64, shape: [2, 5, 4], seed: 2), to: "k64.npy")
    expectOneLineError(
      try run(["--key": "k64.npy"]), status: 1, containing: ["k64.npy", "float64", "float32"])
  }

  @Test("float16 mixed with float32 is refused, naming both; an int32 query by its dtype")
  func float16Mixed() throws {
    try scratch.write(.random(.float16, shape: [2, 5, 4], seed: 2), to: "k16.npy")
    expectOneLineError(
      try run(["--key": "k16.npy"]), status: 1,
      containing: ["k16.npy", "--key", "float16", "float32", "astype(np.float32)"])
    try scratch.write(.random(.float16, shape: [2, 3, 4], seed: 1), to: "q16.npy")
    expectOneLineError(
      try run(["--query": "q16.npy"]), status: 1,
      containing: ["k.npy", "float32", "the query is float16"])
    try scratch.write(.random(.int32, shape: [2, 3, 4], seed: 1), to: "ids.npy")
    expectOneLineError(
      try run(["--query": "ids.npy"]), status: 1,
      containing: ["ids.npy", "int32", "float16, float32 or float64"])
  }

  @Test("--check-finite finds a NaN or infinity in float16 inputs by index")
  func float16NonFinite() throws {
    for (name, seed, shape) in [("q", 1, [2, 3, 4]), ("k", 2, [2, 5, 4]), ("v", 3, [2, 5, 6])] {
      try scratch.write(
        .random(.float16, shape: shape, seed: UInt64(seed)), to: "\(name)16.npy")
    }
    var values = NPYArray.random(.float16, shape: [2, 5, 6], seed: 3)
    values.values[1 * 30 + 2 * 6 + 4] = -.infinity
    try scratch.write(values, to: "vinf16.npy")
    let half = ["--query": "q16.npy", "--key": "k16.npy", "--value": "vinf16.npy"]
    expectOneLineError(
      try run(half, extra: ["--check-finite"]), status: 1,
      containing: ["vinf16.npy", "[1, 2, 4]", "-inf"])
    // 70000 is beyond float16's range: numpy (and this test's writer) store it as infinity.
    values.values[1 * 30 + 2 * 6 + 4] = 70_000
    try scratch.write(values, to: "vbig16.npy")
    expectOneLineError(
      try run(half.merging(["--value": "vbig16.npy"]) { $1 }, extra: ["--check-finite"]),
      status: 1, containing: ["vbig16.npy", "[1, 2, 4]", "inf"])
    #expect(try run(half.merging(["--value": "v16.npy"]) { $1 }).status == 0)
  }

  @Test("mismatched shapes name both shapes")
  func mismatchedShapes() throws {
    try scratch.write(.random(.float32, shape: [2, 5, 7], seed: 2), to: "k7.npy")
    expectOneLineError(
      try run(["--key": "k7.npy"]), status: 1, containing: ["[2, 3, 4]", "[2, 5, 7]"])
  }

  @Test("query heads that are not a multiple of key/value heads are refused")
  func headCounts() throws {
    try scratch.write(.random(.float32, shape: [3, 3, 4], seed: 1), to: "q3.npy")
    expectOneLineError(
      try run(["--query": "q3.npy"]), status: 1, containing: ["multiple", "(3)", "(2)"])
  }

  @Test("an empty dimension is refused")
  func emptyDimension() throws {
    try scratch.write(NPYArray(.float32, shape: [2, 0, 4], values: []), to: "empty.npy")
    expectOneLineError(
      try run(["--query": "empty.npy"]), status: 1, containing: ["empty", "[2, 0, 4]"])
  }

  @Test("a mask that does not broadcast names both shapes")
  func maskShape() throws {
    try scratch.write(
      NPYArray(.bool, shape: [3, 4], values: .init(repeating: 1, count: 12)), to: "m.npy")
    expectOneLineError(
      try run(extra: ["--mask", "m.npy"]), status: 1, containing: ["[3, 4]", "[1, 2, 3, 5]"])
  }

  @Test("an additive mask in another dtype is refused")
  func maskDtype() throws {
    try scratch.write(.random(.float64, shape: [3, 5], seed: 9), to: "m64.npy")
    expectOneLineError(
      try run(extra: ["--mask", "m64.npy"]), status: 1, containing: ["m64.npy", "float64"])
  }

  @Test("--check-finite names the file and the first bad index")
  func nonFinite() throws {
    var values = NPYArray.random(.float32, shape: [2, 5, 6], seed: 3)
    values.values[1 * 30 + 2 * 6 + 4] = .nan
    values.values[1 * 30 + 3 * 6 + 0] = .infinity
    try scratch.write(values, to: "vnan.npy")
    expectOneLineError(
      try run(["--value": "vnan.npy"], extra: ["--check-finite"]), status: 1,
      containing: ["vnan.npy", "[1, 2, 4]", "nan"])
    // Without the flag the same input runs (NaN propagates into the output rows it touches).
    #expect(try run(["--value": "vnan.npy"]).status == 0)
  }

  @Test("a bad --causal value is a usage error listing the accepted values")
  func badCausal() throws {
    expectOneLineError(
      try run(extra: ["--causal", "diagonal"]), status: 64,
      containing: ["diagonal", "--causal", "top-left", "bottom-right"])
  }

  @Test("a bad --backend or --scale value is a usage error")
  func badOptionValues() throws {
    expectOneLineError(try run(extra: ["--backend", "gpu"]), status: 64, containing: ["gpu"])
    expectOneLineError(try run(extra: ["--scale", "abc"]), status: 64, containing: ["abc"])
    expectOneLineError(try run(extra: ["--scale", "inf"]), status: 64, containing: ["--scale"])
  }

  @Test("a missing required option is a usage error")
  func missingOption() throws {
    expectOneLineError(
      try scratch.run(["sdpa", "--query", "q.npy", "--key", "k.npy", "--value", "v.npy"]),
      status: 64, containing: ["--output"])
  }

  @Test("an output path equal to an input is refused before computing")
  func outputIsInput() throws {
    let before = try Data(contentsOf: URL(fileURLWithPath: scratch.path("v.npy")))
    expectOneLineError(
      try run(["--output": "./v.npy"]), status: 64, containing: ["--output", "v.npy", "--value"])
    let after = try Data(contentsOf: URL(fileURLWithPath: scratch.path("v.npy")))
    #expect(before == after)
    try FileManager.default.createSymbolicLink(
      atPath: scratch.path("link.npy"), withDestinationPath: scratch.path("q.npy"))
    expectOneLineError(
      try run(extra: ["--weights-output", "link.npy"]), status: 64,
      containing: ["--weights-output", "--query"])
    expectOneLineError(
      try run(extra: ["--lse-output", "o.npy"]), status: 64,
      containing: ["--lse-output", "--output"])
  }

  @Test("an unwritable output reports the path")
  func unwritableOutput() throws {
    expectOneLineError(
      try run(["--output": "no/such/dir/o.npy"]), status: 1, containing: ["no/such/dir/o.npy"])
  }
}
