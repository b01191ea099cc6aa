import Testing

@testable import Attention

/// Two tokens, d = 2, worked by hand:
///
/// Q = K = I, V = [[1, 2], [3, 4]], scale 1/√2.
/// Row 0 logits: [1/√2, 0] = [0.70710678, 0]; e^0.70710678 = 2.02811498, so
/// p = [2.02811498, 1] / 3.02811498 = [0.66976155, 0.33023845];
/// out₀ = 0.66976155·[1, 2] + 0.33023845·[3, 4] = [1.66047690, 2.66047690];
/// log-sum-exp₀ = ln 3.02811498 = 1.10794031.
/// Row 1 is the mirror image: p = [0.33023845, 0.66976155], out₁ = [2.33952310, 3.33952310].
@Suite("A tiny example worked by hand")
struct HandWorkedExampleTests {
  @Test("2 tokens, d = 2, digit by digit", arguments: allBackends)
  func twoTokens(backend: AttentionBackend) throws {
    let q = try Tensor<Double>(shape: [2, 2], scalars: [1, 0, 0, 1])
    let v = try Tensor<Double>(shape: [2, 2], scalars: [1, 2, 3, 4])
    let result = try scaledDotProductAttention(
      query: q, key: q, value: v, backend: backend, returning: [.probabilities, .logSumExp])
    let expectedOutput = [1.66047690, 2.66047690, 2.33952310, 3.33952310]
    let expectedProbabilities = [0.66976155, 0.33023845, 0.33023845, 0.66976155]
    for (a, e) in zip(result.output.scalars, expectedOutput) { #expect(abs(a - e) < 5e-9) }
    for (a, e) in zip(result.probabilities!.scalars, expectedProbabilities) {
      #expect(abs(a - e) < 5e-9)
    }
    for a in result.logSumExp!.scalars { #expect(abs(a - 1.10794031) < 5e-9) }
  }
}
