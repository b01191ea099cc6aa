import AttentionTestSupport
import Testing

@testable import Attention

@Suite("Scaled dot-product attention: BLAS against naive and Double")
struct ScaledDotProductAttentionTests {
  /// (B, Hq, Hkv, Nq, Nk, Dk, Dv): sizes 1 and primes, cross-attention, Dv ≠ Dk, GQA and MQA.
  static let shapes: [(Int, Int, Int, Int, Int, Int, Int)] = [
    (1, 1, 1, 1, 1, 1, 1),
    (1, 1, 1, 7, 7, 5, 5),
    (2, 3, 3, 13, 11, 8, 3),
    (1, 4, 2, 5, 17, 16, 16),
    (3, 6, 1, 3, 2, 7, 11),
    (2, 8, 4, 31, 29, 32, 24),
  ]

  @Test("Fused and materialised BLAS equal naive and a Double computation", arguments: shapes)
  func blasMatchesNaive(shape: (Int, Int, Int, Int, Int, Int, Int)) throws {
    let (b, hq, hkv, nq, nk, dk, dv) = shape
    var data = TestData(seed: 42)
    let q: Tensor<Float> = data.normal([b, hq, nq, dk])
    let k: Tensor<Float> = data.normal([b, hkv, nk, dk])
    let v: Tensor<Float> = data.normal([b, hkv, nk, dv])
    let naive = try scaledDotProductAttention(query: q, key: k, value: v, backend: .naive)
    for backend in [AttentionBackend.blas, .blasMaterialized] {
      let fast = try scaledDotProductAttention(query: q, key: k, value: v, backend: backend)
      expectClose(fast, naive, tolerance: Tolerance.floatVersusFloat, "\(backend)")
    }
    let reference = try scaledDotProductAttention(
      query: q.converted(to: Double.self), key: k.converted(), value: v.converted(), backend: .naive
    )
    let fast = try scaledDotProductAttention(query: q, key: k, value: v)
    expectClose(fast.converted(to: Double.self), reference, tolerance: Tolerance.floatVersusDouble)
    // Fused (.blas) and materialised in Double against naive in Double.
    for backend in [AttentionBackend.blas, .blasMaterialized] {
      let double = try scaledDotProductAttention(
        query: q.converted(to: Double.self), key: k.converted(), value: v.converted(),
        backend: backend)
      expectClose(double, reference, tolerance: Tolerance.doubleVersusDouble, "\(backend)")
    }
  }
}
