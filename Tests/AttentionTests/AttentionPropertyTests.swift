import AttentionTestSupport
import Testing

@testable import Attention

@Suite("Properties of self-attention")
struct AttentionPropertyTests {
  @Test("Without positions, self-attention is permutation-equivariant", arguments: allBackends)
  func permutationEquivariance(backend: AttentionBackend) throws {
    var data = TestData(seed: 30)
    let (n, d) = (7, 6)
    let x: Tensor<Float> = data.normal([n, d])
    let permutation = [3, 0, 6, 1, 5, 2, 4]
    let permuted = try Tensor(
      shape: [n, d], scalars: permutation.flatMap { x.scalars[$0 * d..<($0 + 1) * d] })
    let output = try scaledDotProductAttention(query: x, key: x, value: x, backend: backend)
    let outputOfPermuted = try scaledDotProductAttention(
      query: permuted, key: permuted, value: permuted, backend: backend)
    let permutedOutput = try Tensor(
      shape: [n, d], scalars: permutation.flatMap { output.scalars[$0 * d..<($0 + 1) * d] })
    expectClose(outputOfPermuted, permutedOutput, tolerance: Tolerance.floatVersusFloat)
  }

  @Test(
    "With causal masking, changing later keys and values leaves earlier outputs unchanged",
    arguments: allBackends)
  func causalIgnoresTheFuture(backend: AttentionBackend) throws {
    var data = TestData(seed: 31)
    let (n, d, cut) = (9, 4, 5)
    let q: Tensor<Float> = data.normal([2, n, d])
    var k: Tensor<Float> = data.normal([2, n, d])
    var v: Tensor<Float> = data.normal([2, n, d])
    let before = try scaledDotProductAttention(
      query: q, key: k, value: v, causal: .topLeft, backend: backend)
    for h in 0..<2 {
      for j in cut..<n {
        for e in 0..<d {
          k[h, j, e] = 1000
          v[h, j, e] = .nan
        }
      }
    }
    let after = try scaledDotProductAttention(
      query: q, key: k, value: v, causal: .topLeft, backend: backend)
    // Not bit for bit: once V holds NaN, the fused and materialised paths take their careful
    // non-finite route, whose summation order differs from the gemm's (OpenBLAS rounds its
    // kernels differently on different CPUs). A leak of the future would be gross — keys of
    // 1000 take all the weight, NaN values poison the row — so a rounding tolerance still
    // separates the cases.
    for h in 0..<2 {
      let rows = (h * n * d)..<((h * n + cut) * d)
      expectClose(
        after.scalars[rows], before.scalars[rows], tolerance: Tolerance.floatVersusFloat,
        "head \(h), rows before the cut")
      #expect(after[h, n - 1, 0].isNaN, "the last row does see the NaN values")
    }
  }
}
