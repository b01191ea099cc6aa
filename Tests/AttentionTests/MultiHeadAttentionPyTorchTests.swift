import AttentionTestSupport
import Foundation
import Testing

@testable import Attention

/// Forward passes of PyTorch's `nn.MultiheadAttention` (torch 2.13.0, float64), recorded by
/// `Tests/Fixtures/MultiHeadAttention/make_fixtures.py` into `pytorch_mha.json`.
struct PyTorchMultiHeadFixture {
  struct Case {
    let name: String
    let headCount: Int
    let stateDict: [String: Tensor<Double>]
    let query: Tensor<Double>
    let key: Tensor<Double>?
    let value: Tensor<Double>?
    let mask: AttentionMask<Double>
    let causal: CausalAlignment?
    let keyLengths: [Int]?
    let output: Tensor<Double>
    let weights: Tensor<Double>
    let averaging: AttentionWeightsAveraging
  }

  static func load(filePath: String = #filePath) throws -> [Case] {
    let url = URL(fileURLWithPath: filePath)
      .deletingLastPathComponent()  // AttentionTests
      .deletingLastPathComponent()  // Tests
      .appendingPathComponent("Fixtures/MultiHeadAttention/pytorch_mha.json")
    let root = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    return (root["cases"] as! [[String: Any]]).map(Self.parse)
  }

  static func number(_ value: Any) -> Double {
    if let string = value as? String { return Double(string)! }  // "inf", "-inf"
    return (value as! NSNumber).doubleValue
  }

  static func tensor(_ object: Any?) -> Tensor<Double>? {
    guard let object = object as? [String: Any] else { return nil }
    return try! Tensor(
      shape: object["shape"] as! [Int], scalars: (object["data"] as! [Any]).map(number))
  }

  static func parse(_ entry: [String: Any]) -> Case {
    let stateDict = (entry["state_dict"] as! [String: Any]).mapValues { tensor($0)! }
    var mask = AttentionMask<Double>.none
    if let block = entry["block_mask"] as? [String: Any] {
      mask = .block(
        where: try! Tensor(shape: block["shape"] as! [Int], scalars: block["data"] as! [Bool]))
    } else if let additive = tensor(entry["additive_mask"]) {
      mask = .additive(additive)
    }
    return Case(
      name: entry["name"] as! String, headCount: entry["heads"] as! Int, stateDict: stateDict,
      query: tensor(entry["query"])!, key: tensor(entry["key"]), value: tensor(entry["value"]),
      mask: mask, causal: (entry["causal"] as? String).flatMap(CausalAlignment.init(rawValue:)),
      keyLengths: entry["key_lengths"] as? [Int], output: tensor(entry["output"])!,
      weights: tensor(entry["weights"])!,
      averaging: entry["average"] as! Bool ? .averagedOverHeads : .perHead)
  }
}

@Suite("Multi-head attention against recorded PyTorch nn.MultiheadAttention outputs")
struct MultiHeadAttentionPyTorchTests {
  @Test("State dict loaded by name reproduces PyTorch's output and attention weights")
  func matchesPyTorch() throws {
    let cases = try PyTorchMultiHeadFixture.load()
    #expect(cases.count == 3)
    for c in cases {
      let attention = try MultiHeadAttention(pyTorchStateDict: c.stateDict, headCount: c.headCount)
      for backend in [AttentionBackend.blas, .naive] {
        let result = try attention(
          c.query, key: c.key, value: c.value, mask: c.mask, causal: c.causal,
          keyLengths: c.keyLengths, backend: backend, returningWeights: c.averaging)
        expectClose(
          result.output, c.output, tolerance: Tolerance.pyTorchDouble, "\(c.name) \(backend)")
        expectClose(
          result.weights, c.weights, tolerance: Tolerance.pyTorchDouble,
          "\(c.name) weights \(backend)")
      }
      // Float weights and inputs, compared with PyTorch's float64 result.
      let floatAttention = try MultiHeadAttention(
        pyTorchStateDict: c.stateDict.mapValues { $0.converted(to: Float.self) },
        headCount: c.headCount)
      let floatMask: AttentionMask<Float>
      switch c.mask {
      case .additive(let m): floatMask = .additive(m.converted())
      case .block(let m): floatMask = .block(where: m)
      case .allow(let m): floatMask = .allow(where: m)
      case .none: floatMask = .none
      }
      let float = try floatAttention(
        c.query.converted(), key: c.key?.converted(), value: c.value?.converted(),
        mask: floatMask, causal: c.causal, keyLengths: c.keyLengths)
      expectClose(float, c.output, tolerance: Tolerance.floatVersusDouble, "\(c.name) Float")
    }
  }
}
