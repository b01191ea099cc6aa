import AttentionTestSupport
import Testing

@testable import Attention

/// `a · b` by three plain loops in Double: the reference the BLAS products are checked against.
func referenceProduct<S: AttentionScalar>(_ a: Tensor<S>, _ b: Tensor<S>) -> Tensor<Double> {
  let (m, k, n) = (a.shape[0], a.shape[1], b.shape[1])
  var c = [Double](repeating: 0, count: m * n)
  for i in 0..<m {
    for j in 0..<n {
      var sum = 0.0
      for p in 0..<k { sum += Double(a.scalars[i * k + p]) * Double(b.scalars[p * n + j]) }
      c[i * n + j] = sum
    }
  }
  return try! Tensor(shape: [m, n], scalars: c)
}

@Suite("OpenBLAS matrix product against plain loops")
struct OpenBLASMatrixProductTests {
  /// (M, K, N): single elements, primes, and a size large enough for the threaded kernels.
  static let shapes = [(1, 1, 1), (7, 3, 5), (97, 61, 83), (256, 128, 192)]

  @Test("Float and Double products equal plain loops", arguments: shapes)
  func product(shape: (Int, Int, Int)) throws {
    let (m, k, n) = shape
    var data = TestData(seed: 7)
    let a: Tensor<Float> = data.normal([m, k])
    let b: Tensor<Float> = data.normal([k, n])
    let reference = referenceProduct(a, b)
    // Float sums of k unit-normal products: the rounding error grows with k (the tolerance
    // table's unit-scale bound, per term).
    expectClose(
      try OpenBLAS.matrixProduct(a, b), reference,
      tolerance: Tolerance.floatVersusDouble * Double(k), "Float")
    let exact = try OpenBLAS.matrixProduct(a.converted(to: Double.self), b.converted())
    expectClose(exact, reference, tolerance: Tolerance.doubleVersusDouble, "Double")
  }

  @Test("multiply(into:) overwrites the destination and an empty inner dimension gives zeros")
  func intoDestination() throws {
    var data = TestData(seed: 8)
    let a: Tensor<Float> = data.normal([5, 4])
    let b: Tensor<Float> = data.normal([4, 3])
    var c = try Tensor<Float>(shape: [5, 3], repeating: .nan)
    try OpenBLAS.multiply(a, b, into: &c)
    expectClose(c, referenceProduct(a, b), tolerance: Tolerance.floatVersusDouble)
    var zeros = try Tensor<Float>(shape: [2, 3], repeating: 9)
    try OpenBLAS.multiply(Tensor(zeros: [2, 0]), Tensor(zeros: [0, 3]), into: &zeros)
    #expect(zeros.scalars == [0, 0, 0, 0, 0, 0])
  }

  @Test("mismatched shapes throw errors naming both shapes")
  func mismatches() throws {
    let a = try Tensor<Float>(zeros: [2, 3])
    do {
      _ = try OpenBLAS.matrixProduct(a, Tensor<Float>(zeros: [4, 5]))
      Issue.record("inner mismatch accepted")
    } catch let error as AttentionError {
      #expect(error.kind == .shapeMismatch)
      #expect(error.message.contains("[2, 3]") && error.message.contains("[4, 5]"))
    }
    var wrong = try Tensor<Float>(zeros: [3, 2])
    #expect(throws: AttentionError.self) {
      try OpenBLAS.multiply(a, Tensor<Float>(zeros: [3, 2]), into: &wrong)
    }
    #expect(throws: AttentionError.self) {
      _ = try OpenBLAS.matrixProduct(Tensor<Float>(zeros: [2, 3, 1]), a)
    }
  }
}
