import Attention

/// Seeded random test data: the same seed gives the same tensors on every machine, so a failure
/// reproduces from the seed alone.
///
/// Built on the library's ``SplitMix64`` (the generator swift-algorithms' tests use too).
package struct TestData {
  package var generator: SplitMix64

  package init(seed: UInt64) { generator = SplitMix64(seed: seed) }

  /// Independent normal samples of mean 0 and the given standard deviation.
  package mutating func normal<S: AttentionScalar>(
    _ shape: [Int], as _: S.Type = S.self, standardDeviation: S = 1
  ) -> Tensor<S> {
    try! Tensor<S>.randomNormal(
      shape: shape, standardDeviation: standardDeviation, using: &generator)
  }

  /// Seeded integers spread over the type's whole range.
  package mutating func integers<I: FixedWidthInteger & TensorElement>(
    _ shape: [Int], as _: I.Type = I.self
  ) -> Tensor<I> {
    let count = shape.reduce(1, *)
    let values = (0..<count).map { _ in I(truncatingIfNeeded: generator.next()) }
    return try! Tensor(shape: shape, scalars: values)
  }

  /// Independent booleans, each `true` with the given probability.
  package mutating func bools(_ shape: [Int], probability: Double = 0.7) -> Tensor<Bool> {
    let count = shape.reduce(1, *)
    let values = (0..<count).map { _ in Double.random(in: 0..<1, using: &generator) < probability }
    return try! Tensor(shape: shape, scalars: values)
  }
}

/// Every execution path, so that each semantic test runs on all of them.
package let allBackends = AttentionBackend.allCases
