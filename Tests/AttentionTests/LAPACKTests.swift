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
    for i in 0..<rows {
      for j in 0..<columns {
        var sum = 0.0
        for l in 0..<k { sum += q[i * k + l] * r[l * columns + j] }
        #expect(abs(sum - a[i, j]) <= 1e-12, "(Q·R)[\(i), \(j)]")
      }
    }
    for i in 0..<k {
      for j in 0..<k {
        var sum = 0.0
        for l in 0..<rows { sum += q[l * k + i] * q[l * k + j] }
        #expect(abs(sum - (i == j ? 1 : 0)) <= 1e-12, "(QᵀQ)[\(i), \(j)]")
      }
      for j in 0..<min(i, columns) { #expect(r[i * columns + j] == 0) }
    }
    let (qf, _) = try LAPACK.qrDecomposition(
      a.converted(to: Float.self).scalars, rows: rows, columns: columns)
    expectClose(qf, q, tolerance: Tolerance.floatVersusDouble, "Float Q against Double Q")
  }
}
