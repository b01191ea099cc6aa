import AttentionTestSupport
import Foundation
import Testing

@testable import Attention

/// Sliding windows, ALiBi and packed sequences against PyTorch's
/// `scaled_dot_product_attention` given the equivalent explicit mask (float64), recorded by
/// `Tests/Fixtures/Variants/make_fixtures.py` into `pytorch_variants.json`.
@Suite("Attention variants against PyTorch with explicit masks")
struct VariantsPyTorchTests {
  struct Case: CustomTestStringConvertible, Sendable {
    let name: String
    let query: Tensor<Double>
    let key: Tensor<Double>
    let value: Tensor<Double>
    let causal: CausalAlignment?
    let window: AttentionWindow?
    let alibiSlopes: [Double]?
    let packed: PackedSequences?
    let output: Tensor<Double>

    var testDescription: String { name }
  }

  static func load(filePath: String = #filePath) -> [Case] {
    let url = URL(fileURLWithPath: filePath)
      .deletingLastPathComponent()  // AttentionTests
      .deletingLastPathComponent()  // Tests
      .appendingPathComponent("Fixtures/Variants/pytorch_variants.json")
    let root = try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    func tensor(_ object: Any?) -> Tensor<Double> {
      let object = object as! [String: Any]
      return try! Tensor(
        shape: object["shape"] as! [Int],
        scalars: (object["data"] as! [NSNumber]).map(\.doubleValue))
    }
    return (root["cases"] as! [[String: Any]]).map { entry in
      // JSON null is NSNull: a window bound of null is unbounded.
      let window = (entry["window"] as? [Any]).map {
        AttentionWindow(keysBefore: $0[0] as? Int, keysAfter: $0[1] as? Int)
      }
      var packed: PackedSequences?
      if let queries = entry["packedQueryLengths"] as? [Int],
        let keys = entry["packedKeyLengths"] as? [Int]
      {
        packed = PackedSequences(queryLengths: queries, keyLengths: keys)
      }
      return Case(
        name: entry["name"] as! String, query: tensor(entry["query"]), key: tensor(entry["key"]),
        value: tensor(entry["value"]),
        // A causal value the library does not know is a broken fixture, not "no causal mask".
        causal: (entry["causal"] as? String).map { CausalAlignment(rawValue: $0)! },
        window: window, alibiSlopes: (entry["alibiSlopes"] as? [NSNumber])?.map(\.doubleValue),
        packed: packed, output: tensor(entry["output"]))
    }
  }

  static let cases = load()

  @Test("the fixture holds the recorded cases")
  func fixtureIsComplete() {
    #expect(Self.cases.count == 10)
    #expect(Self.cases.contains { $0.packed != nil } && Self.cases.contains { $0.window != nil })
  }

  @Test("every backend matches PyTorch to 1e-12", arguments: cases)
  func matchesPyTorch(_ fixture: Case) throws {
    for backend in AttentionBackend.allCases {
      var query = fixture.query
      var key = fixture.key
      var value = fixture.value
      if fixture.packed != nil {
        // The library takes packed sequences in rank 3 (B = 1 is implied).
        query = try query.reshaped(to: Array(query.shape.dropFirst()))
        key = try key.reshaped(to: Array(key.shape.dropFirst()))
        value = try value.reshaped(to: Array(value.shape.dropFirst()))
      }
      let output = try scaledDotProductAttention(
        query: query, key: key, value: value, causal: fixture.causal, window: fixture.window,
        packedSequences: fixture.packed, alibiSlopes: fixture.alibiSlopes, backend: backend)
      expectClose(
        try output.reshaped(to: fixture.output.shape), fixture.output,
        tolerance: Tolerance.pyTorchDouble,
        "\(backend)")
    }
  }
}
