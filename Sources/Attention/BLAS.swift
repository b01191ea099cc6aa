import COpenBLAS

/// The one door to OpenBLAS: every call into `cblas_*` and `openblas_*` goes through here.
///
/// Dimensions are passed to C as `Int32` (OpenBLAS's `blasint` in Debian's LP64 build); the
/// attention entry points reject larger problems before they reach this file.
enum BLAS {
  /// C = alpha · op(A) · op(B) + beta · C, row-major, for `Float` (sgemm) or `Double` (dgemm).
  ///
  /// `op(X)` is `X` or `Xᵀ`; a transposed operand is read in place (`CblasTrans`), never copied.
  @inline(__always)
  static func gemm<Scalar: AttentionScalar>(
    transposeA: Bool = false, transposeB: Bool = false,
    m: Int, n: Int, k: Int,
    alpha: Scalar,
    a: UnsafePointer<Scalar>, lda: Int,
    b: UnsafePointer<Scalar>, ldb: Int,
    beta: Scalar,
    c: UnsafeMutablePointer<Scalar>, ldc: Int
  ) {
    precondition(
      m <= Int32.max && n <= Int32.max && k <= Int32.max && lda <= Int32.max
        && ldb <= Int32.max && ldc <= Int32.max, "gemm dimension exceeds Int32")
    let ta = transposeA ? CblasTrans : CblasNoTrans
    let tb = transposeB ? CblasTrans : CblasNoTrans
    if Scalar.self == Float.self {
      cblas_sgemm(
        CblasRowMajor, ta, tb, Int32(m), Int32(n), Int32(k),
        unsafeBitCast(alpha, to: Float.self),
        UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), Int32(lda),
        UnsafeRawPointer(b).assumingMemoryBound(to: Float.self), Int32(ldb),
        unsafeBitCast(beta, to: Float.self),
        UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), Int32(ldc))
    } else if Scalar.self == Double.self {
      cblas_dgemm(
        CblasRowMajor, ta, tb, Int32(m), Int32(n), Int32(k),
        unsafeBitCast(alpha, to: Double.self),
        UnsafeRawPointer(a).assumingMemoryBound(to: Double.self), Int32(lda),
        UnsafeRawPointer(b).assumingMemoryBound(to: Double.self), Int32(ldb),
        unsafeBitCast(beta, to: Double.self),
        UnsafeMutableRawPointer(c).assumingMemoryBound(to: Double.self), Int32(ldc))
    } else {
      preconditionFailure("gemm supports Float and Double only, not \(Scalar.self)")
    }
  }

  /// The number of threads OpenBLAS uses for one call (process-wide).
  static var threadCount: Int {
    get { Int(openblas_get_num_threads()) }
    set { openblas_set_num_threads(Int32(newValue)) }
  }

  /// The name of the kernel set ("core") OpenBLAS selected, e.g. `Haswell` or `Cooperlake`.
  static var coreName: String { String(cString: openblas_get_corename()) }

  /// OpenBLAS's build configuration string (version, DYNAMIC_ARCH, threading, max threads).
  static var configuration: String { String(cString: openblas_get_config()) }

  /// Runs `body` with OpenBLAS held at one thread, restoring the previous count afterwards.
  ///
  /// Used around regions that parallelise over heads themselves: two levels of threads on two
  /// cores oversubscribe them (measured up to 7.6× slower, `../shared/NOTES.md`). The count is
  /// process-wide, so this is called around a parallel region, never inside a worker.
  static func withSingleThread<R>(_ body: () throws -> R) rethrows -> R {
    let previous = threadCount
    if previous == 1 { return try body() }
    threadCount = 1
    defer { threadCount = previous }
    return try body()
  }
}
