import Attention
import AttentionTestSupport
import Foundation
import Testing

/// `attention mha` end to end against a from-scratch `Double` reference of PyTorch's
/// `nn.MultiheadAttention` and against the library called directly.
@Suite("attention mha: outputs equal an independent Double reference")
struct MHACommandTests {
  struct Case: CustomTestStringConvertible, Sendable {
    var name: String
    var dtype: NPYArray.DType
    /// `[B, N, E]` or `[N, E]`.
    var input: [Int]
    var heads: Int
    var keyValueHeads: Int?
    /// Keys for cross-attention, or `nil` for self-attention.
    var keyCount: Int?
    var biases = true
    var causal: CausalAlignment?
    var keyPaddingLengths: [Int]?
    /// A bool mask `[N, Nk]` (true = may attend).
    var mask = false
    var perHead = false
    /// How the state dict stores its weights.
    var weights: WeightDType = .float32

    enum WeightDType: Sendable { case float32, float16, bfloat16 }

    var testDescription: String { name }
  }

  static let cases: [Case] = [
    Case(
      name: "float32 self-attention, batched, biases, top-left causal, key padding",
      dtype: .float32, input: [2, 5, 8], heads: 2, causal: .topLeft, keyPaddingLengths: [5, 3]),
    Case(
      name: "float64 grouped-query cross-attention with a bool mask, per-head weights",
      dtype: .float64, input: [2, 4, 8], heads: 4, keyValueHeads: 2, keyCount: 6, mask: true,
      perHead: true),
    Case(
      name: "float64 unbatched input without biases, bottom-right causal",
      dtype: .float64, input: [6, 12], heads: 3, biases: false, causal: .bottomRight),
    Case(
      name: "float32 input, F16 weights, batched self-attention with biases, top-left causal",
      dtype: .float32, input: [2, 5, 8], heads: 2, causal: .topLeft, weights: .float16),
    // float64 compute: the BF16 weights must arrive exactly for a 1e-12 match.
    Case(
      name: "float64 input, BF16 weights, grouped-query cross-attention, bool mask",
      dtype: .float64, input: [2, 4, 8], heads: 4, keyValueHeads: 2, keyCount: 6, mask: true,
      weights: .bfloat16),
    Case(
      name: "float16 input, key and value, F16 weights, per-head weights",
      dtype: .float16, input: [2, 4, 8], heads: 2, keyCount: 5, perHead: true, weights: .float16),
    Case(
      name: "float16 unbatched input, BF16 weights, key padding",
      dtype: .float16, input: [6, 8], heads: 4, keyPaddingLengths: [4], weights: .bfloat16),
  ]

  @Test("output and attention weights", arguments: cases)
  func matchesReference(_ testCase: Case) throws {
    let scratch = try ScratchDirectory()
    let batched = testCase.input.count == 3
    let batch = batched ? testCase.input[0] : 1
    let n = testCase.input[testCase.input.count - 2]
    let e = testCase.input.last!
    let nk = testCase.keyCount ?? n
    let kvHeads = testCase.keyValueHeads ?? testCase.heads
    let kvWidth = kvHeads * e / testCase.heads

    let x = NPYArray.random(testCase.dtype, shape: testCase.input, seed: 11)
    try scratch.write(x, to: "x.npy")
    var keys = x
    var values = x
    var arguments = [
      "mha", "--input", "x.npy", "--weights", "w.safetensors", "--heads", "\(testCase.heads)",
      "--output", "y.npy", "--weights-output", "a.npy", "--check-finite",
    ]
    if let keyCount = testCase.keyCount {
      let shape = batched ? [batch, keyCount, e] : [keyCount, e]
      keys = .random(testCase.dtype, shape: shape, seed: 12)
      values = .random(testCase.dtype, shape: shape, seed: 13)
      try scratch.write(keys, to: "k.npy")
      try scratch.write(values, to: "v.npy")
      arguments += ["--key", "k.npy", "--value", "v.npy"]
    }
    if let kv = testCase.keyValueHeads { arguments += ["--kv-heads", "\(kv)"] }
    if let causal = testCase.causal { arguments += ["--causal", causal.rawValue] }
    if let lengths = testCase.keyPaddingLengths {
      arguments += ["--key-padding-lengths", lengths.map(String.init).joined(separator: ",")]
    }
    var mask: NPYArray?
    if testCase.mask {
      var bools = NPYArray.random(.float64, shape: [n, nk], seed: 14)
      bools.values = bools.values.map { $0 > -0.3 ? 1 : 0 }
      bools.dtype = .bool
      mask = bools
      try scratch.write(bools, to: "m.npy")
      arguments += ["--mask", "m.npy"]
    }
    if testCase.perHead { arguments.append("--per-head-weights") }

    // Weights saved as PyTorch does, in their own dtype whatever the input's (the tool converts
    // them); the reference uses the stored values.
    let scale = 1 / Double(e).squareRoot()
    func weight(_ shape: [Int], seed: UInt64, scale: Double) -> NPYArray {
      switch testCase.weights {
      case .float32: .random(.float32, shape: shape, seed: seed, scale: scale)
      case .float16: .random(.float16, shape: shape, seed: seed, scale: scale)
      case .bfloat16:
        NPYArray.random(.float32, shape: shape, seed: seed, scale: scale).roundedToBFloat16()
      }
    }
    var stateDict = [
      "in_proj_weight": weight([e + 2 * kvWidth, e], seed: 21, scale: scale),
      "out_proj.weight": weight([e, e], seed: 22, scale: scale),
    ]
    if testCase.biases {
      stateDict["in_proj_bias"] = weight([e + 2 * kvWidth], seed: 23, scale: 0.1)
      stateDict["out_proj.bias"] = weight([e], seed: 24, scale: 0.1)
    }
    try SafetensorsBytes.encode(
      stateDict, storing: testCase.weights == .bfloat16 ? .bfloat16 : .asArrays
    ).write(to: scratch.url.appendingPathComponent("w.safetensors"))

    let result = try scratch.run(arguments)
    try #require(result.status == 0, "\(result)")
    #expect(result.standardError.isEmpty)
    let y = try scratch.read("y.npy")
    let a = try scratch.read("a.npy")
    #expect(y.dtype == testCase.dtype)
    #expect(y.shape == testCase.input)
    let leading = batched ? [batch] : []
    #expect(a.shape == leading + (testCase.perHead ? [testCase.heads] : []) + [n, nk])

    let reference = ReferenceMultiHeadAttention(
      headCount: testCase.heads, keyValueHeadCount: kvHeads, embedDimension: e,
      inProjectionWeight: stateDict["in_proj_weight"]!.values,
      inProjectionBias: stateDict["in_proj_bias"]?.values,
      outProjectionWeight: stateDict["out_proj.weight"]!.values,
      outProjectionBias: stateDict["out_proj.bias"]?.values)
    let expected = reference(
      query: x.values, key: keys.values, value: values.values, batch: batch, queryCount: n,
      keyCount: nk
    ) { b, _, i, j in
      if let lengths = testCase.keyPaddingLengths, j >= lengths[b] { return false }
      switch testCase.causal {
      case .topLeft?: if j > i { return false }
      case .bottomRight?: if j > i + nk - n { return false }
      case nil: break
      }
      if let mask, mask.values[i * nk + j] == 0 { return false }
      return true
    }
    let expectedWeights =
      testCase.perHead
      ? expected.weights
      : ReferenceMultiHeadAttention.averagedOverHeads(
        expected.weights, batch: batch, heads: testCase.heads, plane: n * nk)
    let tolerance =
      switch testCase.dtype {
      case .float32: Tolerance.floatVersusDouble
      case .float16: Tolerance.float16Storage
      default: Tolerance.doubleVersusDouble
      }
    expectClose(y.values, expected.output, tolerance: tolerance, "output")
    expectClose(a.values, expectedWeights, tolerance: tolerance, "weights")
  }

  @Test("the output equals the library's MultiHeadAttention called directly")
  func matchesLibrary() throws {
    let scratch = try ScratchDirectory()
    let x = NPYArray.random(.float32, shape: [3, 7, 16], seed: 31)
    try scratch.write(x, to: "x.npy")
    var generator = SplitMix64(seed: 5)
    let layer = try MultiHeadAttention<Float>(embedDimension: 16, headCount: 4, using: &generator)
    var stateDict: [String: NPYArray] = [:]
    for (name, tensor) in layer.pyTorchStateDict {
      stateDict[name] = NPYArray(
        .float32, shape: tensor.shape, values: tensor.scalars.map(Double.init))
    }
    try SafetensorsBytes.encode(stateDict).write(
      to: scratch.url.appendingPathComponent("w.safetensors"))
    let result = try scratch.run([
      "mha", "--input", "x.npy", "--weights", "w.safetensors", "--heads", "4", "--causal",
      "top-left", "--output", "y.npy",
    ])
    try #require(result.status == 0, "\(result)")
    let expected = try layer(x.tensor(Float.self), causal: .topLeft)
    expectClose(
      try scratch.read("y.npy").values, expected.scalars, tolerance: Tolerance.floatSameComputation,
      "output")
  }
}
