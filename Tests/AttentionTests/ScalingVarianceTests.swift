import AttentionTestSupport
import Testing

@testable import Attention

/// The notes' claim: for q, k with i.i.d. zero-mean unit-variance entries, Var(q·k) = d_k, and the
/// default scale 1/√d_k brings it back to 1.
///
/// The scaled logit is read from the library itself: with one query and one key per batch entry,
/// the row log-sum-exp is exactly that logit. With n independent pairs the sample variance of
/// X = q·k has standard error √(Var(X²)/n), and for Gaussian entries E[X⁴] = 3d² + 6d, so
/// Var(X²) = 2d² + 6d. The tolerance is 5 standard errors (a false failure has probability ~1e-6).
@Suite("Why scale by 1/√d_k")
struct ScalingVarianceTests {
  @Test("Var(q·k) ≈ d_k and Var(q·k/√d_k) ≈ 1", arguments: [4, 64, 256])
  func varianceOfDotProducts(dimension d: Int) throws {
    let n = 20_000
    var data = TestData(seed: UInt64(100 + d))
    let q: Tensor<Double> = data.normal([n, 1, 1, d])
    let k: Tensor<Double> = data.normal([n, 1, 1, d])
    let v = try Tensor<Double>(zeros: [n, 1, 1, 1])
    let scaled = try scaledDotProductAttention(query: q, key: k, value: v, returning: .logSumExp)
      .logSumExp!.scalars
    let unscaled = try scaledDotProductAttention(
      query: q, key: k, value: v, scale: 1, returning: .logSumExp
    ).logSumExp!.scalars
    func variance(_ x: [Double]) -> Double {
      let mean = x.reduce(0, +) / Double(x.count)
      return x.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(x.count - 1)
    }
    let dd = Double(d)
    let standardError = ((2 * dd * dd + 6 * dd) / Double(n)).squareRoot()
    #expect(
      abs(variance(unscaled) - dd) < 5 * standardError, "Var(q·k) = \(variance(unscaled)), d = \(d)"
    )
    #expect(abs(variance(scaled) - 1) < 5 * standardError / dd, "Var(q·k/√d) = \(variance(scaled))")
    // And the default scale is 1/√d exactly: the two logits differ by that factor.
    #expect(scaled.count == n && unscaled.count == n)
    expectClose(
      scaled.prefix(100), unscaled.prefix(100).map { $0 / dd.squareRoot() },
      tolerance: Tolerance.doubleVersusDouble, "scaled logits against unscaled / √d")
  }
}
