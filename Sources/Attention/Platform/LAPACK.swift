import CLAPACKE

/// The one door to LAPACKE: every call into `LAPACKE_*` goes through here.
///
/// Matrices are row-major Swift arrays; LAPACKE's `LAPACK_ROW_MAJOR` layout transposes them to
/// LAPACK's column-major order internally. `lapack_int` is a C macro that Swift does not import,
/// so sizes are passed as `Int32` (Debian's LAPACKE is the LP64 build, `int32_t`).
enum LAPACK {
  /// `LAPACK_ROW_MAJOR`, a C macro Swift does not import.
  private static let rowMajor: Int32 = 101

  /// The thin QR decomposition `A = Q·R` of a row-major `rows × columns` matrix.
  ///
  /// Householder QR (`?geqrf`) followed by forming `Q` explicitly (`?orgqr`). With
  /// `k = min(rows, columns)`, `Q` is `rows × k` with orthonormal columns and `R` is `k × columns`,
  /// upper triangular (upper trapezoidal when `columns > rows`). The signs of `R`'s diagonal are
  /// LAPACK's: callers wanting a unique `Q` normalise them.
  ///
  /// - Parameters:
  ///   - matrix: `rows · columns` elements in row-major order.
  ///   - rows: the number of rows, > 0.
  ///   - columns: the number of columns, > 0.
  /// - Returns: `q` (`rows × k`) and `r` (`k × columns`), both row-major.
  /// - Throws: `AttentionError` of kind `numericalFailure` naming the routine and its `info`
  ///   when LAPACK reports failure, or `memoryLimit` for sizes beyond `Int32`.
  /// - Complexity: O(rows · columns · k).
  static func qrDecomposition<Scalar: AttentionScalar>(
    _ matrix: [Scalar], rows: Int, columns: Int
  ) throws -> (q: [Scalar], r: [Scalar]) {
    precondition(rows > 0 && columns > 0 && matrix.count == rows * columns, "QR of an empty matrix")
    guard rows <= Int(Int32.max), columns <= Int(Int32.max) else {
      throw AttentionError(
        .memoryLimit, "matrix [\(rows), \(columns)] exceeds LAPACK's limit of \(Int32.max)")
    }
    let k = Swift.min(rows, columns)
    var factors = matrix
    var tau = [Scalar](repeating: 0, count: k)
    let m = Int32(rows)
    let n = Int32(columns)

    let factorInfo = factors.withUnsafeMutableBufferPointer { a in
      tau.withUnsafeMutableBufferPointer { t in
        geqrf(m: m, n: n, a: a.baseAddress!, lda: n, tau: t.baseAddress!)
      }
    }
    try check(factorInfo, routine: Scalar.self == Float.self ? "sgeqrf" : "dgeqrf")

    // R is the upper triangle of the first k rows; the rest holds the Householder vectors.
    var r = [Scalar](repeating: 0, count: k * columns)
    for i in 0..<k {
      for j in i..<columns { r[i * columns + j] = factors[i * columns + j] }
    }

    // ?orgqr forms the first k columns of Q in place, reading the reflectors with stride `columns`.
    let formInfo = factors.withUnsafeMutableBufferPointer { a in
      tau.withUnsafeBufferPointer { t in
        orgqr(m: m, n: Int32(k), k: Int32(k), a: a.baseAddress!, lda: n, tau: t.baseAddress!)
      }
    }
    try check(formInfo, routine: Scalar.self == Float.self ? "sorgqr" : "dorgqr")

    var q = [Scalar](repeating: 0, count: rows * k)
    for i in 0..<rows {
      for j in 0..<k { q[i * k + j] = factors[i * columns + j] }
    }
    return (q, r)
  }

  /// Throws for a nonzero LAPACK `info`, explaining its sign.
  private static func check(_ info: Int32, routine: String) throws {
    guard info != 0 else { return }
    let meaning: String
    switch info {
    case -1011: meaning = "LAPACKE could not allocate memory for the transposed matrix"
    case -1010: meaning = "LAPACKE could not allocate its work array"
    case ..<0: meaning = "argument \(-info) had an illegal value"
    default: meaning = "the computation did not succeed"
    }
    throw AttentionError(
      .numericalFailure, "LAPACK \(routine) failed with info = \(info): \(meaning)")
  }

  /// `?geqrf` for `Float` or `Double`.
  private static func geqrf<Scalar: AttentionScalar>(
    m: Int32, n: Int32, a: UnsafeMutablePointer<Scalar>, lda: Int32,
    tau: UnsafeMutablePointer<Scalar>
  ) -> Int32 {
    if Scalar.self == Float.self {
      return LAPACKE_sgeqrf(
        rowMajor, m, n, UnsafeMutableRawPointer(a).assumingMemoryBound(to: Float.self), lda,
        UnsafeMutableRawPointer(tau).assumingMemoryBound(to: Float.self))
    } else if Scalar.self == Double.self {
      return LAPACKE_dgeqrf(
        rowMajor, m, n, UnsafeMutableRawPointer(a).assumingMemoryBound(to: Double.self), lda,
        UnsafeMutableRawPointer(tau).assumingMemoryBound(to: Double.self))
    }
    preconditionFailure("geqrf supports Float and Double only, not \(Scalar.self)")
  }

  /// `?orgqr` for `Float` or `Double`.
  private static func orgqr<Scalar: AttentionScalar>(
    m: Int32, n: Int32, k: Int32, a: UnsafeMutablePointer<Scalar>, lda: Int32,
    tau: UnsafePointer<Scalar>
  ) -> Int32 {
    if Scalar.self == Float.self {
      return LAPACKE_sorgqr(
        rowMajor, m, n, k, UnsafeMutableRawPointer(a).assumingMemoryBound(to: Float.self), lda,
        UnsafeRawPointer(tau).assumingMemoryBound(to: Float.self))
    } else if Scalar.self == Double.self {
      return LAPACKE_dorgqr(
        rowMajor, m, n, k, UnsafeMutableRawPointer(a).assumingMemoryBound(to: Double.self), lda,
        UnsafeRawPointer(tau).assumingMemoryBound(to: Double.self))
    }
    preconditionFailure("orgqr supports Float and Double only, not \(Scalar.self)")
  }
}
