import AttentionTestSupport
import Foundation
import Testing

@testable import Attention

@Suite("Softmax")
struct SoftmaxTests {
  @Test("Rows sum to 1 and adding a constant to a row changes nothing")
  func rowsSumToOneAndShiftInvariance() throws {
    var data = TestData(seed: 20)
    let logits: Tensor<Float> = data.normal([7, 33])
    let shifted = try Tensor(
      shape: logits.shape,
      scalars: logits.scalars.enumerated().map { $0.element + Float($0.offset / 33) * 17.5 - 40 })
    let p = softmax(logits)
    for row in 0..<7 {
      let sum = (0..<33).map { Double(p[row, $0]) }.reduce(0, +)
      #expect(abs(sum - 1) < 1e-6, "row \(row) sums to \(sum)")
    }
    expectClose(softmax(shifted), p, tolerance: Tolerance.floatShortComputation)
  }

  @Test("Stable at ±1e4: no overflow, the exact distribution", arguments: [Float(1e4), -1e4, 3e38])
  func extremeLogits(magnitude: Float) throws {
    // Differences of 0, −1, −2 around a huge offset: softmax must be that of [0, −1, −2].
    let logits = try Tensor<Float>(
      shape: [1, 3], scalars: [magnitude, magnitude - 1, magnitude - 2])
    let p = softmax(logits)
    let e = [1.0, exp(-1), exp(-2)]
    let total = e.reduce(0, +)
    // At 3e38 the three inputs are the same Float (an ulp there is ~2e31), so all three are equal.
    let expected = magnitude > 1e30 ? [1.0 / 3, 1.0 / 3, 1.0 / 3] : e.map { $0 / total }
    expectClose(p.scalars, expected, tolerance: Tolerance.floatShortComputation)
    #expect(!p.scalars.contains { $0.isNaN })
  }

  @Test("Attention stays exact with logits of magnitude 1e4", arguments: allBackends)
  func attentionWithHugeLogits(backend: AttentionBackend) throws {
    // q·k/√d = ±1e4 (and 1e4 − 1): naive exp would overflow to inf/inf = NaN.
    let q = try Tensor<Float>(shape: [1, 1], scalars: [100])
    let k = try Tensor<Float>(shape: [3, 1], scalars: [100, 99.99, -100])
    let v = try Tensor<Float>(shape: [3, 2], scalars: [1, 0, 0, 1, 5, 5])
    let output = try scaledDotProductAttention(query: q, key: k, value: v, backend: backend)
    // Logits 1e4, 9999, −1e4: weights 1/(1+e⁻¹) and e⁻¹/(1+e⁻¹), the third underflows to 0.
    let w0 = 1 / (1 + exp(-1.0))
    #expect(abs(Double(output[0, 0]) - w0) < 1e-3)
    #expect(abs(Double(output[0, 1]) - (1 - w0)) < 1e-3)
  }

  @Test("A row of -infinity becomes zeros, not NaN")
  func fullyMaskedRow() throws {
    let logits = try Tensor<Double>(
      shape: [2, 3], scalars: [-.infinity, -.infinity, -.infinity, 0, -.infinity, 0])
    let p = softmax(logits)
    #expect(p.scalars == [0, 0, 0, 0.5, 0, 0.5])
  }
}
