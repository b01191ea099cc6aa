import Testing

@testable import Attention

@Suite("PyTorch nn.MultiheadAttention state dict: names and shapes mapped one to one")
struct MultiHeadAttentionStateDictTests {
  /// A tensor whose element at flat index i is `offset + i`, so every row is recognisable.
  static func counting(_ shape: [Int], from offset: Double) -> Tensor<Double> {
    let count = shape.reduce(1, *)
    return try! Tensor(shape: shape, scalars: (0..<count).map { offset + Double($0) })
  }

  static func expectError(
    _ kind: AttentionError.Kind, mentioning words: [String],
    sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
  ) {
    #expect(sourceLocation: sourceLocation) {
      try body()
    } throws: { error in
      guard let error = error as? AttentionError else { return false }
      return error.kind == kind && words.allSatisfy { error.message.contains($0) }
    }
  }

  @Test("in_proj_weight rows 0..<E are W_Q, E..<2E are W_K, 2E..<3E are W_V; biases likewise")
  func stackedMapping() throws {
    let e = 6
    let inWeight = Self.counting([3 * e, e], from: 0)
    let inBias = Self.counting([3 * e], from: 1000)
    let outWeight = Self.counting([e, e], from: 2000)
    let outBias = Self.counting([e], from: 3000)
    let attention = try MultiHeadAttention(
      pyTorchStateDict: [
        "in_proj_weight": inWeight, "in_proj_bias": inBias, "out_proj.weight": outWeight,
        "out_proj.bias": outBias,
      ], headCount: 2)
    #expect(attention.embedDimension == e && attention.headCount == 2)
    #expect(attention.keyValueHeadCount == 2 && attention.headDimension == 3)
    let projections = [
      attention.queryProjection, attention.keyProjection, attention.valueProjection,
    ]
    for (block, projection) in projections.enumerated() {
      #expect(projection.weight.shape == [e, e])
      for i in 0..<e {
        for j in 0..<e { #expect(projection.weight[i, j] == inWeight[block * e + i, j]) }
        #expect(projection.bias?[i] == inBias[block * e + i])
      }
    }
    #expect(attention.outputProjection.weight == outWeight)
    #expect(attention.outputProjection.bias == outBias)
    // And back: the exported dictionary holds the same tensors under the same names.
    #expect(
      attention.pyTorchStateDict == [
        "in_proj_weight": inWeight, "in_proj_bias": inBias, "out_proj.weight": outWeight,
        "out_proj.bias": outBias,
      ])
  }

  @Test("kdim/vdim ≠ E: q_proj_weight, k_proj_weight, v_proj_weight; no biases (bias=False)")
  func separateMapping() throws {
    let (e, kdim, vdim) = (4, 3, 5)
    let dict: [String: Tensor<Double>] = [
      "q_proj_weight": Self.counting([e, e], from: 0),
      "k_proj_weight": Self.counting([e, kdim], from: 100),
      "v_proj_weight": Self.counting([e, vdim], from: 200),
      "out_proj.weight": Self.counting([e, e], from: 300),
    ]
    let attention = try MultiHeadAttention(pyTorchStateDict: dict, headCount: 4)
    #expect(attention.queryProjection.weight == dict["q_proj_weight"])
    #expect(attention.keyProjection.weight == dict["k_proj_weight"])
    #expect(attention.valueProjection.weight == dict["v_proj_weight"])
    #expect(attention.outputProjection.weight == dict["out_proj.weight"])
    #expect(attention.keyInputDimension == kdim && attention.valueInputDimension == vdim)
    #expect(
      [
        attention.queryProjection.bias, attention.keyProjection.bias,
        attention.valueProjection.bias,
        attention.outputProjection.bias,
      ].allSatisfy { $0 == nil })
    #expect(attention.pyTorchStateDict == dict)
  }

  @Test("Grouped-query: in_proj_weight [E + 2·Hkv·D, E] splits into E, Hkv·D, Hkv·D rows")
  func groupedMapping() throws {
    let (e, h, hkv) = (8, 4, 2)
    let kv = hkv * e / h
    let inWeight = Self.counting([e + 2 * kv, e], from: 0)
    let attention = try MultiHeadAttention(
      pyTorchStateDict: [
        "in_proj_weight": inWeight, "out_proj.weight": Self.counting([e, e], from: 500),
      ], headCount: h, keyValueHeadCount: hkv)
    #expect(attention.keyProjection.weight.shape == [kv, e])
    #expect(attention.keyProjection.weight[0, 0] == inWeight[e, 0])
    #expect(attention.valueProjection.weight[kv - 1, e - 1] == inWeight[e + 2 * kv - 1, e - 1])
    #expect(attention.queryProjection.weight[e - 1, 0] == inWeight[e - 1, 0])
  }

  @Test("Errors: missing, unknown and mis-shaped tensors are named with their shapes")
  func errors() throws {
    let e = 4
    let good: [String: Tensor<Double>] = [
      "in_proj_weight": Self.counting([3 * e, e], from: 0),
      "in_proj_bias": Self.counting([3 * e], from: 0),
      "out_proj.weight": Self.counting([e, e], from: 0),
      "out_proj.bias": Self.counting([e], from: 0),
    ]
    _ = try MultiHeadAttention(pyTorchStateDict: good, headCount: 2)

    var dict = good
    dict["out_proj.weight"] = nil
    Self.expectError(.invalidArgument, mentioning: ["out_proj.weight"]) {
      _ = try MultiHeadAttention(pyTorchStateDict: dict, headCount: 2)
    }
    dict = good
    dict["in_proj_weight"] = nil
    Self.expectError(.invalidArgument, mentioning: ["in_proj_weight", "[12, 4]"]) {
      _ = try MultiHeadAttention(pyTorchStateDict: dict, headCount: 2)
    }
    dict = good
    dict["bias_k"] = Self.counting([1, 1, e], from: 0)
    Self.expectError(.invalidArgument, mentioning: ["bias_k"]) {
      _ = try MultiHeadAttention(pyTorchStateDict: dict, headCount: 2)
    }
    dict = good
    dict["in_proj_weight"] = Self.counting([3 * e, e + 1], from: 0)
    Self.expectError(.shapeMismatch, mentioning: ["in_proj_weight", "[12, 5]", "[12, 4]"]) {
      _ = try MultiHeadAttention(pyTorchStateDict: dict, headCount: 2)
    }
    dict = good
    dict["in_proj_bias"] = Self.counting([e], from: 0)
    Self.expectError(.shapeMismatch, mentioning: ["in_proj_bias", "[4]", "[12]"]) {
      _ = try MultiHeadAttention(pyTorchStateDict: dict, headCount: 2)
    }
    dict = good
    dict["out_proj.bias"] = Self.counting([e + 1], from: 0)
    Self.expectError(.shapeMismatch, mentioning: ["out_proj.bias", "[5]", "[4]"]) {
      _ = try MultiHeadAttention(pyTorchStateDict: dict, headCount: 2)
    }
    dict = good
    dict["out_proj.weight"] = Self.counting([e, e + 1], from: 0)
    Self.expectError(.shapeMismatch, mentioning: ["out_proj.weight", "[4, 5]"]) {
      _ = try MultiHeadAttention(pyTorchStateDict: dict, headCount: 2)
    }
    dict = good
    dict["q_proj_weight"] = Self.counting([e, e], from: 0)
    Self.expectError(.invalidArgument, mentioning: ["in_proj_weight", "q_proj_weight"]) {
      _ = try MultiHeadAttention(pyTorchStateDict: dict, headCount: 2)
    }
    dict = good
    dict["in_proj_weight"] = nil
    dict["q_proj_weight"] = Self.counting([e, e], from: 0)
    dict["v_proj_weight"] = Self.counting([e, 3], from: 0)
    Self.expectError(.invalidArgument, mentioning: ["k_proj_weight"]) {
      _ = try MultiHeadAttention(pyTorchStateDict: dict, headCount: 2)
    }
    dict["k_proj_weight"] = Self.counting([e + 1, 3], from: 0)
    Self.expectError(.shapeMismatch, mentioning: ["k_proj_weight", "[5, 3]", "[4, 3]"]) {
      _ = try MultiHeadAttention(pyTorchStateDict: dict, headCount: 2)
    }
    Self.expectError(.invalidArgument, mentioning: ["not divisible by headCount 3"]) {
      _ = try MultiHeadAttention(pyTorchStateDict: good, headCount: 3)
    }
    Self.expectError(.invalidArgument, mentioning: ["keyValueHeadCount 3"]) {
      _ = try MultiHeadAttention(pyTorchStateDict: good, headCount: 4, keyValueHeadCount: 3)
    }
  }
}
