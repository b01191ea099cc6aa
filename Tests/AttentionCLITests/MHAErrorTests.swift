import Foundation
import Testing

/// Bad input to `attention mha`: one `error:` line, status 64 for the command line, 1 for data.
@Suite("attention mha: one-line errors and exit statuses")
struct MHAErrorTests {
  /// A directory holding `x.npy` [2, 5, 8] float32 and `w.safetensors`, an
  /// `nn.MultiheadAttention(8, heads)` state dict with biases.
  let scratch: ScratchDirectory
  static let embed = 8

  init() throws {
    scratch = try ScratchDirectory()
    try scratch.write(.random(.float32, shape: [2, 5, Self.embed], seed: 1), to: "x.npy")
    try writeWeights(Self.stateDict(), to: "w.safetensors")
  }

  static func stateDict(keyValueWidth: Int = embed) -> [String: NPYArray] {
    [
      "in_proj_weight": .random(.float32, shape: [embed + 2 * keyValueWidth, embed], seed: 2),
      "in_proj_bias": .random(.float32, shape: [embed + 2 * keyValueWidth], seed: 3),
      "out_proj.weight": .random(.float32, shape: [embed, embed], seed: 4),
      "out_proj.bias": .random(.float32, shape: [embed], seed: 5),
    ]
  }

  func writeWeights(_ stateDict: [String: NPYArray], to name: String) throws {
    try SafetensorsBytes.encode(stateDict).write(to: scratch.url.appendingPathComponent(name))
  }

  /// `mha` on the valid files with 2 heads, with `extra` arguments appended.
  func run(_ extra: [String] = [], input: String = "x.npy", heads: Int = 2) throws -> CLIResult {
    try scratch.run(
      [
        "mha", "--input", input, "--weights", "w.safetensors", "--heads", "\(heads)", "--output",
        "y.npy",
      ] + extra)
  }

  @Test("the valid inputs run")
  func baseline() throws {
    let result = try run(["--key-padding-lengths", "5,2", "--causal", "bottom-right"])
    #expect(result.status == 0, "\(result)")
  }

  @Test("E not divisible by the head count")
  func headsDoNotDivide() throws {
    expectOneLineError(
      try run(heads: 3), status: 1,
      containing: ["--heads 3", "E = 8", "w.safetensors", "out_proj.weight", "[8, 8]"])
  }

  @Test("query heads not a multiple of key/value heads is a usage error")
  func groupedHeads() throws {
    expectOneLineError(
      try run(["--kv-heads", "3"], heads: 4), status: 64,
      containing: ["--heads 4", "--kv-heads 3", "multiple"])
  }

  @Test("weights whose shapes do not fit the head counts name the tensor and both shapes")
  func weightShape() throws {
    // in_proj_weight [24, 8] is ordinary attention; --kv-heads 1 with 4 heads needs [12, 8].
    expectOneLineError(
      try run(["--kv-heads", "1"], heads: 4), status: 1,
      containing: ["in_proj_weight", "[24, 8]", "[12, 8]"])
  }

  @Test("an input whose features differ from the weights' names both shapes")
  func inputFeatures() throws {
    try scratch.write(.random(.float32, shape: [2, 5, 6], seed: 1), to: "x6.npy")
    expectOneLineError(try run(input: "x6.npy"), status: 1, containing: ["[2, 5, 6]", "[8, 8]"])
  }

  @Test("a state dict without out_proj.weight names the missing tensor")
  func missingTensor() throws {
    var stateDict = Self.stateDict()
    stateDict["out_proj.weight"] = nil
    try writeWeights(stateDict, to: "w.safetensors")
    expectOneLineError(try run(), status: 1, containing: ["out_proj.weight"])
  }

  @Test("a missing or malformed weights file names the path")
  func badWeightsFile() throws {
    expectOneLineError(
      try scratch.run([
        "mha", "--input", "x.npy", "--weights", "none.safetensors", "--heads", "2", "--output",
        "y.npy",
      ]), status: 1, containing: ["none.safetensors", "--weights", "No such file or directory"])
    try Data([1, 2, 3]).write(to: scratch.url.appendingPathComponent("w.safetensors"))
    expectOneLineError(try run(), status: 1, containing: ["w.safetensors", "--weights"])
  }

  @Test("a bool input is refused by dtype")
  func boolInput() throws {
    try scratch.write(
      NPYArray(.bool, shape: [5, 8], values: .init(repeating: 0, count: 40)), to: "b.npy")
    expectOneLineError(try run(input: "b.npy"), status: 1, containing: ["b.npy", "bool"])
  }

  @Test("unparseable --key-padding-lengths is a usage error naming the bad entry")
  func unparseableLengths() throws {
    expectOneLineError(
      try run(["--key-padding-lengths", "5,x"]), status: 64,
      containing: ["--key-padding-lengths", "'x'"])
    expectOneLineError(
      try run(["--key-padding-lengths", "5,-1"]), status: 64, containing: ["'-1'"])
  }

  @Test("--key-padding-lengths of the wrong count or beyond the keys")
  func lengthsAgainstInput() throws {
    expectOneLineError(
      try run(["--key-padding-lengths", "5"]), status: 1,
      containing: ["--key-padding-lengths", "1 entry", "batch size is 2"])
    expectOneLineError(
      try run(["--key-padding-lengths", "5,6"]), status: 1,
      containing: ["--key-padding-lengths", "6", "5 keys"])
  }

  @Test("--key without --value is a usage error")
  func keyWithoutValue() throws {
    expectOneLineError(try run(["--key", "x.npy"]), status: 64, containing: ["--key", "--value"])
  }

  @Test("--check-finite names the weight tensor holding a NaN")
  func nonFiniteWeights() throws {
    var stateDict = Self.stateDict()
    stateDict["out_proj.bias"]!.values[3] = .nan
    try writeWeights(stateDict, to: "w.safetensors")
    expectOneLineError(
      try run(["--check-finite"]), status: 1, containing: ["out_proj.bias", "[3]", "nan"])
  }

  @Test("an integer tensor among the weights is named with its dtype")
  func integerWeights() throws {
    var stateDict = Self.stateDict()
    stateDict["step"] = .random(.int32, shape: [1], seed: 6)
    try writeWeights(stateDict, to: "w.safetensors")
    expectOneLineError(
      try run(), status: 1,
      containing: ["w.safetensors", "'step'", "I32", "F16, BF16, F32 or F64", "--weights"])
  }

  @Test("--check-finite names the BF16 weight holding a NaN")
  func nonFiniteBFloat16Weights() throws {
    var stateDict = Self.stateDict().mapValues { $0.roundedToBFloat16() }
    stateDict["in_proj_weight"]!.values[17] = .nan  // [2, 1] of [24, 8]
    try SafetensorsBytes.encode(stateDict, storing: .bfloat16).write(
      to: scratch.url.appendingPathComponent("w.safetensors"))
    expectOneLineError(
      try run(["--check-finite"]), status: 1, containing: ["in_proj_weight", "[2, 1]", "nan"])
  }

  @Test("a float16 input with float32 keys is refused, naming both dtypes")
  func float16InputMixed() throws {
    try scratch.write(.random(.float16, shape: [2, 5, Self.embed], seed: 1), to: "x16.npy")
    expectOneLineError(
      try run(["--key", "x.npy", "--value", "x.npy"], input: "x16.npy"), status: 1,
      containing: ["x.npy", "--key", "float32", "float16"])
  }

  @Test("the output may not overwrite the weights")
  func outputIsWeights() throws {
    expectOneLineError(
      try scratch.run([
        "mha", "--input", "x.npy", "--weights", "w.safetensors", "--heads", "2", "--output",
        "w.safetensors",
      ]), status: 64, containing: ["--output", "--weights"])
  }
}
