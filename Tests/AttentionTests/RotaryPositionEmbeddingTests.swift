import AttentionTestSupport
import Foundation
import Testing

@testable import Attention

/// Rotary position embeddings against transformers (every `rope_type`, both layouts, partial
/// rotary, decoding offsets), recorded by `Tests/Fixtures/Rotary/make_fixtures.py`; and the
/// property RoPE exists for: `q·k` depends only on the distance between positions.
@Suite("Rotary position embedding")
struct RotaryPositionEmbeddingTests {
  struct Case: CustomTestStringConvertible, Sendable {
    let name: String
    let embedding: RotaryPositionEmbedding
    let positions: [Int]
    let sequenceLength: Int?
    let input: Tensor<Float>
    let output: Tensor<Float>
    var testDescription: String { name }
  }

  static let cases: [Case] = {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent(
        "Fixtures/Rotary/transformers_rope.json")
    let root = try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    func tensor(_ object: Any?) -> Tensor<Float> {
      let object = object as! [String: Any]
      return try! Tensor(
        shape: object["shape"] as! [Int],
        scalars: (object["data"] as! [NSNumber]).map(\.floatValue))
    }
    return (root["cases"] as! [[String: Any]]).map { entry in
      let rope = entry["scaling"] as? [String: Any]
      func number(_ key: String) -> Double { (rope![key] as! NSNumber).doubleValue }
      let scaling: RotaryPositionEmbedding.Scaling
      switch rope?["rope_type"] as? String {
      case nil: scaling = .none
      case "linear": scaling = .linear(factor: number("factor"))
      case "dynamic":
        scaling = .dynamic(
          factor: number("factor"), maximumPositionCount: entry["maxPositions"] as! Int)
      case "llama3":
        scaling = .llama3(
          factor: number("factor"), lowFrequencyFactor: number("low_freq_factor"),
          highFrequencyFactor: number("high_freq_factor"),
          originalMaximumPositionCount: Int(number("original_max_position_embeddings")))
      case "yarn":
        scaling = .yarn(
          factor: number("factor"),
          originalMaximumPositionCount: Int(number("original_max_position_embeddings")),
          betaFast: (rope?["beta_fast"] as? NSNumber)?.doubleValue ?? 32,
          betaSlow: (rope?["beta_slow"] as? NSNumber)?.doubleValue ?? 1,
          mscale: (rope?["mscale"] as? NSNumber)?.doubleValue,
          mscaleAllDimensions: (rope?["mscale_all_dim"] as? NSNumber)?.doubleValue)
      case let other: fatalError("fixture rope_type \(String(describing: other)) not mapped")
      }
      let embedding = try! RotaryPositionEmbedding(
        headDimension: entry["headDimension"] as! Int,
        rotaryDimension: entry["rotaryDimension"] as? Int,
        base: (entry["theta"] as! NSNumber).doubleValue,
        layout: RotaryPositionEmbedding.Layout(rawValue: entry["layout"] as! String)!,
        scaling: scaling)
      return Case(
        name: entry["name"] as! String, embedding: embedding,
        positions: entry["positions"] as! [Int], sequenceLength: entry["sequenceLength"] as? Int,
        input: tensor(entry["input"]), output: tensor(entry["output"]))
    }
  }()

  @Test("the fixture covers every scaling and both layouts")
  func fixtureIsComplete() {
    #expect(Self.cases.count == 10)
    #expect(Set(Self.cases.map(\.embedding.layout)) == [.halfSplit, .interleaved])
  }

  /// The library forms frequencies and angles in float32 operation for operation as transformers
  /// does; what remains is float32 `cos`/`sin` in torch against the library's Double ones, a few
  /// ulps, and at positions up to ~10⁴ an ulp of an angle is ~10⁻³ of a radian.
  @Test("matches transformers within 2e-5 relative", arguments: cases)
  func matchesTransformers(_ fixture: Case) throws {
    var rotated = fixture.input
    try fixture.embedding.apply(
      to: &rotated, positions: fixture.positions, sequenceLength: fixture.sequenceLength)
    expectClose(rotated, fixture.output, tolerance: 2e-5, fixture.name)
  }

  @Test("q·k depends only on the distance between positions, in both layouts")
  func relativePosition() throws {
    var data = TestData(seed: 70)
    for layout in RotaryPositionEmbedding.Layout.allCases {
      let rope = try RotaryPositionEmbedding(
        headDimension: 16, rotaryDimension: 12, base: 10_000, layout: layout)
      let q: Tensor<Double> = data.normal([1, 16])
      let k: Tensor<Double> = data.normal([1, 16])
      func dot(_ queryPosition: Int, _ keyPosition: Int) throws -> Double {
        var (a, b) = (q, k)
        try rope.apply(to: &a, positions: [queryPosition])
        try rope.apply(to: &b, positions: [keyPosition])
        return zip(a.scalars, b.scalars).map(*).reduce(0, +)
      }
      let reference = try dot(7, 3)
      for shift in [1, 10, 100, 1000] {
        let shifted = try dot(7 + shift, 3 + shift)
        // Angles are formed in Float, so large positions carry ~1e-7·position of rounding.
        #expect(abs(shifted - reference) <= 1e-4 * (1 + abs(reference)), "\(layout) +\(shift)")
      }
      #expect(abs(try dot(3, 3) - zip(q.scalars, k.scalars).map(*).reduce(0, +)) < 1e-6)
    }
  }

  @Test("startingAt: is positions start…start+N−1, on every leading dimension")
  func offsetsAndShapes() throws {
    var data = TestData(seed: 71)
    let rope = try RotaryPositionEmbedding(headDimension: 8)
    let x: Tensor<Float> = data.normal([2, 3, 5, 8])
    var byOffset = x
    try rope.apply(to: &byOffset, startingAt: 40)
    var byPositions = x
    try rope.apply(to: &byPositions, positions: Array(40..<45))
    expectClose(byOffset, byPositions, tolerance: 0, "same positions, same rotation")
    #expect(byOffset != x)
  }

  @Test("angles worked out once rotate like apply(to:positions:), on many tensors")
  func reusedAngles() throws {
    var data = TestData(seed: 72)
    for layout in RotaryPositionEmbedding.Layout.allCases {
      let rope = try RotaryPositionEmbedding(
        headDimension: 12, rotaryDimension: 8, base: 500, layout: layout)
      let angles = try rope.angles(positions: [7, 3, 0, 90])
      #expect(angles.positions == [7, 3, 0, 90])
      for shape in [[4, 12], [3, 4, 12], [2, 2, 4, 12]] {
        let x: Tensor<Float> = data.normal(shape)
        var direct = x
        try rope.apply(to: &direct, positions: [7, 3, 0, 90])
        var reused = x
        try rope.apply(angles, to: &reused)
        expectClose(reused, direct, tolerance: 0, "\(layout) \(shape)")
        #expect(reused != x)
        // Features from R on pass through.
        #expect(
          stride(from: 8, to: x.count, by: 12).allSatisfy { i in
            (0..<4).allSatisfy { reused.scalars[i + $0] == x.scalars[i + $0] }
          })
      }
    }
  }

  @Test("angles refuse negative positions, another embedding, and a tensor of another N or D")
  func angleErrors() throws {
    let rope = try RotaryPositionEmbedding(headDimension: 8)
    #expect(throws: AttentionError.self) { try rope.angles(positions: [0, -2]) }
    let angles = try rope.angles(positions: [0, 1])
    var x = try Tensor<Float>(zeros: [2, 8])
    let other = try RotaryPositionEmbedding(headDimension: 8, base: 500)
    #expect(throws: AttentionError.self) { try other.apply(angles, to: &x) }
    var threeRows = try Tensor<Float>(zeros: [3, 8])
    #expect(throws: AttentionError.self) { try rope.apply(angles, to: &threeRows) }
    var narrow = try Tensor<Float>(zeros: [2, 6])
    #expect(throws: AttentionError.self) { try rope.apply(angles, to: &narrow) }
  }

  @Test("bad arguments are specific errors")
  func errors() throws {
    #expect(throws: AttentionError.self) {
      try RotaryPositionEmbedding(headDimension: 8, rotaryDimension: 7)
    }
    #expect(throws: AttentionError.self) {
      try RotaryPositionEmbedding(headDimension: 8, rotaryDimension: 10)
    }
    #expect(throws: AttentionError.self) { try RotaryPositionEmbedding(headDimension: 8, base: 1) }
    #expect(throws: AttentionError.self) {
      try RotaryPositionEmbedding(headDimension: 8, scaling: .linear(factor: 0))
    }
    let rope = try RotaryPositionEmbedding(headDimension: 8)
    var wrong = try Tensor<Float>(zeros: [2, 6])
    #expect(throws: AttentionError.self) { try rope.apply(to: &wrong) }
    var x = try Tensor<Float>(zeros: [2, 8])
    #expect(throws: AttentionError.self) { try rope.apply(to: &x, startingAt: -1) }
    #expect(throws: AttentionError.self) { try rope.apply(to: &x, positions: [0]) }
  }
}
