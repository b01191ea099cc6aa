import Testing

@testable import Attention

/// Tolerances used across the suite, stated once.
enum Tolerance {
  /// Float BLAS vs Float naive: both round in Float, in different orders.
  static let floatVersusFloat: Float = 2e-5
  /// Float result vs a Double computation of the same inputs (unit-scale data, Dk ≤ 128).
  static let floatVersusDouble: Double = 1e-5
  /// Double BLAS vs Double naive.
  static let doubleVersusDouble: Double = 1e-12
}

/// Expects `actual` to equal `expected` element-wise within `tolerance` absolute plus the same
/// relative to the expected magnitude; NaNs must match position for position.
func expectClose<S: AttentionScalar>(
  _ actual: Tensor<S>, _ expected: Tensor<S>, tolerance: S,
  _ comment: @autoclosure () -> String = "", sourceLocation: SourceLocation = #_sourceLocation
) {
  #expect(actual.shape == expected.shape, "shape \(comment())", sourceLocation: sourceLocation)
  guard actual.shape == expected.shape else { return }
  var worst: S = 0
  var worstIndex = -1
  for (index, (a, e)) in zip(actual.scalars, expected.scalars).enumerated() {
    if a.isNaN || e.isNaN {
      if a.isNaN != e.isNaN { worst = .infinity; worstIndex = index; break }
      continue
    }
    if a == e { continue }
    let excess = abs(a - e) - tolerance * (1 + abs(e))
    if !(excess <= worst) { worst = excess; worstIndex = index }
  }
  #expect(
    worst <= 0,
    "element \(worstIndex): \(worstIndex >= 0 ? "\(actual.scalars[worstIndex]) vs \(expected.scalars[worstIndex])" : "") exceeds tolerance \(tolerance) \(comment())",
    sourceLocation: sourceLocation)
}

/// Seeded random tensors for tests.
struct TestData {
  var generator: SplitMix64
  init(seed: UInt64) { generator = SplitMix64(seed: seed) }

  mutating func normal<S: AttentionScalar>(_ shape: [Int], as _: S.Type = S.self) -> Tensor<S> {
    try! Tensor<S>.randomNormal(shape: shape, using: &generator)
  }

  mutating func bools(_ shape: [Int], probability: Double = 0.7) -> Tensor<Bool> {
    let count = shape.reduce(1, *)
    let values = (0..<count).map { _ in Double.random(in: 0..<1, using: &generator) < probability }
    return try! Tensor(shape: shape, scalars: values)
  }
}
