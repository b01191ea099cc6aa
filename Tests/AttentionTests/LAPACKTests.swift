import AttentionTestSupport
import Testing

@testable import Attention

@Suite("LAPACK QR door: Q·R = A, orthonormal Q, triangular R")
struct LAPACKTests {
  @Test("Thin QR of tall, square and wide matrices", arguments: [(9, 4), (5, 5), (3, 7)])
  func qr(rows: Int, columns: Int) throws {
    var data = TestData(seed: 8)
    let a: Tensor<Double> = data.normal([rows, columns])
    let k = min(rows, columns)
    let (q, r) = try LAPACK.qrDecomposition(a.scalars, rows: rows, columns: columns)
    #expect(q.count == rows * k && r.count == k * columns)
    var product = [Double](repeating: 0, count: rows * columns)
    for i in 0..<rows {
      for j in 0..<columns {
        for l in 0..<k { product[i * columns + j] += q[i * k + l] * r[l * columns + j] }
      }
    }
    expectClose(product, a.scalars, tolerance: Tolerance.doubleVersusDouble, "Q·R")
    expectClose(
      WeightInitializationTests.columnGram(q, rows: rows, columns: k),
      WeightInitializationTests.scaledIdentity(size: k, gain: 1),
      tolerance: Tolerance.doubleVersusDouble, "QᵀQ")
    for i in 0..<k {
      for j in 0..<min(i, columns) { #expect(r[i * columns + j] == 0) }
    }
    let (qf, _) = try LAPACK.qrDecomposition(
      a.converted(to: Float.self).scalars, rows: rows, columns: columns)
    expectClose(qf, q, tolerance: Tolerance.floatVersusDouble, "Float Q against Double Q")
  }
}
