import Attention
import AttentionTestSupport
import Foundation
import Testing

/// `--window`, `--softcap`, `--alibi-slopes`, `--sinks` and the packed lengths of `sdpa` and
/// `mha`: the binary's output equals the library called directly, and every bad value is one
/// error line naming the option and the value.
@Suite("attention sdpa and mha: attention variants")
struct VariantOptionsTests {
  /// float64 inputs: q [2, 10, 4] (two heads), k and v [1, 12, 4] (one shared kv head).
  let scratch: ScratchDirectory
  let q = NPYArray.random(.float64, shape: [2, 10, 4], seed: 11)
  let k = NPYArray.random(.float64, shape: [1, 12, 4], seed: 12)
  let v = NPYArray.random(.float64, shape: [1, 12, 4], seed: 13)

  init() throws {
    scratch = try ScratchDirectory()
    try scratch.write(q, to: "q.npy")
    try scratch.write(k, to: "k.npy")
    try scratch.write(v, to: "v.npy")
    try scratch.write(NPYArray(.float32, shape: [2], values: [0.5, 0.25]), to: "slopes.npy")
    try scratch.write(NPYArray(.float64, shape: [2], values: [1, -2]), to: "sinks.npy")
    try scratch.write(NPYArray(.float64, shape: [3], values: [1, -2, 0]), to: "three.npy")
  }

  func sdpa(_ extra: [String]) throws -> CLIResult {
    try scratch.run(
      ["sdpa", "--query", "q.npy", "--key", "k.npy", "--value", "v.npy", "--output", "o.npy"]
        + extra)
  }

  func tensor(_ array: NPYArray) throws -> Tensor<Double> {
    try Tensor(shape: array.shape, scalars: array.values)
  }

  @Test("every variant at once, packed, equals the library's result", arguments: ["blas", "naive"])
  func sdpaMatchesLibrary(backend: String) throws {
    let result = try sdpa([
      "--causal", "bottom-right", "--window", "-1,0", "--softcap", "2.5", "--alibi-slopes",
      "slopes.npy", "--sinks", "sinks.npy", "--packed-query-lengths", "4,6",
      "--packed-key-lengths", "5,7", "--backend", backend,
    ])
    try #require(result.status == 0, "\(result)")
    let output = try scratch.read("o.npy")
    let expected = try scaledDotProductAttention(
      query: tensor(q), key: tensor(k), value: tensor(v), causal: .bottomRight,
      window: AttentionWindow(keysBefore: nil, keysAfter: 0),
      packedSequences: PackedSequences(queryLengths: [4, 6], keyLengths: [5, 7]), softcap: 2.5,
      alibiSlopes: [0.5, 0.25], sinks: [1, -2])
    expectClose(
      output.values, expected.scalars, tolerance: Tolerance.doubleSameComputation,
      "sdpa output")
    #expect(output.shape == [2, 10, 4])
  }

  @Test("mha applies the variants to its attention step")
  func mhaMatchesLibrary() throws {
    var rng = SplitMix64(seed: 5)
    let layer = try MultiHeadAttention<Double>(embedDimension: 4, headCount: 2, using: &rng)
    var file = SafetensorsFile()
    for (name, tensor) in layer.pyTorchStateDict { file[name] = .float64(tensor) }
    try file.write(to: scratch.path("w.safetensors"))
    let x = NPYArray.random(.float64, shape: [10, 4], seed: 14)
    try scratch.write(x, to: "x.npy")
    let result = try scratch.run([
      "mha", "--input", "x.npy", "--weights", "w.safetensors", "--heads", "2", "--output",
      "y.npy", "--window", "2,0", "--causal", "top-left", "--sinks", "sinks.npy",
      "--packed-query-lengths", "3,7", "--packed-key-lengths", "3,7",
    ])
    try #require(result.status == 0, "\(result)")
    let expected = try layer(
      tensor(x), causal: .topLeft, window: AttentionWindow(keysBefore: 2, keysAfter: 0),
      packedSequences: PackedSequences(lengths: [3, 7]), sinks: [1, -2])
    expectClose(
      try scratch.read("y.npy").values, expected.scalars,
      tolerance: Tolerance.doubleSameComputation,
      "mha")
  }

  @Test("bad values are one error line naming the option and the value")
  func badValues() throws {
    let cases: [([String], Int32, [String])] = [
      (["--window", "3"], 64, ["--window", "'3'"]),
      (["--window", "-2,0"], 64, ["--window", "'-2,0'"]),
      (["--softcap", "0"], 64, ["--softcap", "0"]),
      (["--softcap", "inf"], 64, ["--softcap", "inf"]),
      (["--softcap", "-1"], 64, ["--softcap", "-1"]),
      (
        ["--alibi-slopes", "three.npy"], 1,
        ["--alibi-slopes", "three.npy", "[3]", "[2]", "[2, 10, 4]"]
      ),
      (["--sinks", "three.npy"], 1, ["--sinks", "[3]", "[2]"]),
      (["--sinks", "missing.npy"], 1, ["--sinks", "missing.npy"]),
      (
        ["--packed-query-lengths", "4,5", "--packed-key-lengths", "5,7"], 1,
        ["--packed-query-lengths", "4,5", "sum to 9", "10 rows", "[2, 10, 4]"]
      ),
      (
        ["--packed-query-lengths", "4,6", "--packed-key-lengths", "5,8"], 1,
        ["--packed-key-lengths", "5,8", "sum to 13", "12 rows", "[1, 12, 4]"]
      ),
      (
        ["--packed-query-lengths", "4,0,6", "--packed-key-lengths", "5,2,5"], 64,
        ["--packed-query-lengths", "'0'"]
      ),
      (
        ["--packed-query-lengths", "10,-1", "--packed-key-lengths", "12,1"], 64,
        ["--packed-query-lengths", "'-1'"]
      ),
      (
        ["--packed-query-lengths", "4,6", "--packed-key-lengths", "12"], 64,
        ["2 sequences", "gives 1"]
      ),
      (["--packed-query-lengths", "10"], 64, ["--packed-key-lengths"]),
    ]
    for (extra, status, fragments) in cases {
      expectOneLineError(try sdpa(extra), status: status, containing: fragments)
    }
    // Packed sequences with a batch dimension above 1.
    try scratch.write(.random(.float64, shape: [2, 1, 10, 4], seed: 15), to: "q4.npy")
    try scratch.write(.random(.float64, shape: [2, 1, 12, 4], seed: 16), to: "k4.npy")
    expectOneLineError(
      try scratch.run([
        "sdpa", "--query", "q4.npy", "--key", "k4.npy", "--value", "k4.npy", "--output", "o.npy",
        "--packed-query-lengths", "10", "--packed-key-lengths", "12",
      ]), status: 1, containing: ["--packed-query-lengths", "batch of 1", "[2, 1, 10, 4]"])
  }
}
