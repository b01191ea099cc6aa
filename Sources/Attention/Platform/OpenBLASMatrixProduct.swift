/// Plain matrix products through OpenBLAS's `gemm`, to check and measure the BLAS itself.
extension OpenBLAS {
  /// The matrix product `a · b` of two rank-2 tensors, computed by `sgemm` or `dgemm`.
  ///
  /// - Parameters:
  ///   - a: the left factor `[M, K]`.
  ///   - b: the right factor `[K, N]`.
  /// - Returns: the product `[M, N]`.
  /// - Throws: `AttentionError` when either factor is not rank 2 or the inner dimensions differ.
  /// - Complexity: O(M·N·K) time, with OpenBLAS's ``threadCount`` threads.
  public static func matrixProduct<Scalar: AttentionScalar>(
    _ a: Tensor<Scalar>, _ b: Tensor<Scalar>
  ) throws -> Tensor<Scalar> {
    let (m, n) = try productShape(a, b)
    var c = try Tensor<Scalar>(zeros: [m, n])
    try multiply(a, b, into: &c)
    return c
  }

  /// Overwrites `product` with `a · b`, allocating nothing when `product` is uniquely held.
  ///
  /// Meant for timing `gemm` (a benchmark's peak): the call does no work besides the product.
  ///
  /// - Parameters:
  ///   - a: the left factor `[M, K]`.
  ///   - b: the right factor `[K, N]`.
  ///   - product: a tensor of shape `[M, N]`; its previous elements are ignored.
  /// - Throws: `AttentionError` when a factor is not rank 2, the inner dimensions differ,
  ///   `product` is not `[M, N]`, or a dimension exceeds OpenBLAS's 32-bit sizes.
  /// - Complexity: O(M·N·K) time, with OpenBLAS's ``threadCount`` threads.
  public static func multiply<Scalar: AttentionScalar>(
    _ a: Tensor<Scalar>, _ b: Tensor<Scalar>, into product: inout Tensor<Scalar>
  ) throws {
    let (m, n) = try productShape(a, b)
    let k = a.shape[1]
    guard product.shape == [m, n] else {
      throw AttentionError.mismatch(
        "matrix product", "the product of a and b", [m, n], "the destination", product.shape)
    }
    guard m <= Int32.max, n <= Int32.max, k <= Int32.max else {
      throw AttentionError(
        .memoryLimit, "matrix product [\(m), \(k)] · [\(k), \(n)] exceeds OpenBLAS's 32-bit sizes")
    }
    guard m > 0, n > 0 else { return }
    guard k > 0 else {
      product.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
      return
    }
    a.withUnsafeBufferPointer { a in
      b.withUnsafeBufferPointer { b in
        product.withUnsafeMutableBufferPointer { c in
          BLAS.gemm(
            m: m, n: n, k: k, alpha: 1, a: a.baseAddress!, lda: k, b: b.baseAddress!, ldb: n,
            beta: 0, c: c.baseAddress!, ldc: n)
        }
      }
    }
  }

  /// `[M, N]` for `a` `[M, K]` and `b` `[K, N]`, or a thrown error naming the shapes.
  private static func productShape<Scalar>(
    _ a: Tensor<Scalar>, _ b: Tensor<Scalar>
  ) throws -> (Int, Int) {
    guard a.rank == 2, b.rank == 2 else {
      throw AttentionError(
        .invalidShape,
        "matrix product needs rank-2 factors, got \(a.shape.shapeDescription) and \(b.shape.shapeDescription)"
      )
    }
    guard a.shape[1] == b.shape[0] else {
      throw AttentionError.mismatch(
        "matrix product inner dimensions", "a", a.shape, "b", b.shape)
    }
    return (a.shape[0], b.shape[1])
  }
}
