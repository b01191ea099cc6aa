/// The two matrix products of attention on a tile, shared by the materialised and fused paths:
/// the scores `S = scale·Q·Kᵀ` and the weighted values `O (+)= P·V`, each with the one rule for
/// non-finite inputs.
enum TileProducts {
  /// What multiplies the tiles: OpenBLAS, or the unpacked product of the C loops
  /// (``VectorKernels/product(m:n:k:alpha:a:lda:b:ldb:accumulate:c:ldc:)``) for tiles small
  /// enough that sgemm's packing copies and per-call set-up cost more than the arithmetic
  /// (``AttentionPlan/smallProducts``). The small product reads the keys transposed
  /// (`Dk × keys`, ``transposeKeys(_:count:dimension:into:using:)``), so that both products stream
  /// rows of their right-hand side.
  enum Multiplier {
    case blas
    case small(VectorKernels)
  }

  /// The tiles whose rows and keys do not exceed this (and with more query rows than
  /// ``BLAS/matrixVectorRows``, head dimensions within ``smallProductDimensionLimit``) go to
  /// the small product; it depends on the vector unit the process runs (``VectorKernels/active``).
  ///
  /// Measured, one thread, products `m × n × k` against OpenBLAS 0.3.21's sgemm:
  /// - AVX2 (Zen 3, 16 registers; OpenBLAS's Zen kernels): 64 × 64 × 32 1.8× faster,
  ///   128 × 128 × 64 1.15×, 256 × 512 × 64 0.85× (from there sgemm's packing pays for itself):
  ///   128.
  /// - AVX-512 (Zen 4, 32 registers; OpenBLAS's Cooperlake kernels): 112–115 GFLOP/s against
  ///   95–101 at every tile of the fused path — 128 × 128 × 64 1.19×, 256 × 512 × 64 1.17×,
  ///   256 × 64 × 512 1.18×, 256 × 512 × 128 1.12×, 256 × 128 × 512 1.13× — and no packing
  ///   copies (6 % of 1×12×2048×64 in sgemm's copy routines): 512, the largest tile.
  static var smallProductLimit: Int {
    VectorKernels.active.level >= .avx512 ? 512 : 128
  }

  /// The largest head dimension (`Dk` and `Dv`) the small product takes: 128 measured, beyond it
  /// untested.
  static let smallProductDimensionLimit = 128

  /// Whether tiles of at most `rows × keys`, with dimensions `keyDimension` and
  /// `valueDimension`, go to the small product. Decoding's few rows keep BLAS's matrix-vector
  /// products, which stream K and V once without a transposed copy.
  static func fitSmallProduct(rows: Int, keys: Int, keyDimension: Int, valueDimension: Int)
    -> Bool
  {
    let limit = smallProductLimit
    let dimensionLimit = smallProductDimensionLimit
    return rows > BLAS.matrixVectorRows && rows <= limit && keys <= limit
      && keyDimension <= dimensionLimit && valueDimension <= dimensionLimit
  }

  /// Writes the `count × dimension` key rows at `keys` transposed into `output`
  /// (`dimension × count`, row stride `count`), the layout the small product's scores read.
  @inline(__always)
  static func transposeKeys<Scalar: AttentionScalar>(
    _ keys: UnsafePointer<Scalar>, count: Int, dimension: Int,
    into output: UnsafeMutablePointer<Scalar>, using kernels: VectorKernels
  ) {
    kernels.transpose(
      rows: count, columns: dimension, keys, lds: dimension, into: output, ldd: count)
  }

  /// `scores = scale · Q·Kᵀ` for `rows` queries against `keys` keys, K read transposed in place.
  ///
  /// BLAS may skip a product whose alpha is 0 (OpenBLAS does), which would hide a NaN or an
  /// infinity of Q or K; with a zero scale the product is formed with alpha 1 and
  /// ``AttentionRules/prepareLogits(_:keys:band:batch:head:query:position:segmentKeyStart:)``
  /// multiplies it by 0 (`0·∞ = NaN`).
  ///
  /// - Parameters:
  ///   - transposedKey: with the small multiplier, the same keys transposed (`keyDimension ×
  ///     keys`, row stride `transposedKeyStride`), which it reads instead of `key`.
  ///   - maxima: where the small multiplier may also write each row's largest score as it
  ///     stores them (as ``VectorKernels/maximum(_:count:)`` gives it), saving a pass over the
  ///     tile; `nil` for none.
  /// - Returns: whether `maxima` was written (only by the small multiplier).
  @inline(__always) @discardableResult
  static func scores<Scalar: AttentionScalar>(
    rows: Int, keys: Int, keyDimension: Int, scale: Scalar,
    query: UnsafePointer<Scalar>, key: UnsafePointer<Scalar>,
    transposedKey: UnsafePointer<Scalar>? = nil, transposedKeyStride: Int = 0,
    into scores: UnsafeMutablePointer<Scalar>, stride: Int, multiplier: Multiplier = .blas,
    maxima: UnsafeMutablePointer<Scalar>? = nil
  ) -> Bool {
    let alpha = scale == 0 ? 1 : scale
    if case .small(let kernels) = multiplier, let transposedKey {
      kernels.product(
        m: rows, n: keys, k: keyDimension, alpha: alpha, a: query, lda: keyDimension,
        b: transposedKey, ldb: transposedKeyStride, accumulate: false, c: scores, ldc: stride,
        maxima: maxima)
      return maxima != nil
    }
    BLAS.gemm(
      transposeB: true, m: rows, n: keys, k: keyDimension, alpha: alpha,
      a: query, lda: keyDimension, b: key, ldb: keyDimension, beta: 0, c: scores, ldc: stride)
    return false
  }

  /// `output (+)= weights · values` for `rows` rows of weights over the keys `keys`.
  ///
  /// When the values hold NaN or ±infinity, gemm would multiply the zero weights of masked keys
  /// by them; then masked keys are skipped one by one instead, so non-finite values reach only the
  /// rows that see them (the NaN policy). Rare, so that route asks the rules key by key.
  ///
  /// - Parameters:
  ///   - rowQuery: the query head and query index of each row (for the visibility of the slow
  ///     route).
  ///   - accumulate: add to `output` (the fused kernel's running sum) rather than overwrite it.
  ///   - rowScales: each output row's final factor, applied as the rows are stored (the fused
  ///     kernel's `1/l` on its last tile: the same roundings as a pass over the rows after);
  ///     only with the small multiplier and finite values.
  static func addWeightedValues<Scalar: AttentionScalar>(
    problem: AttentionProblem<Scalar>, weights: UnsafePointer<Scalar>, stride: Int, rows: Int,
    rowQuery: (Int) -> (head: Int, query: Int), batch: Int, keys: Range<Int>,
    values: UnsafePointer<Scalar>, valuesAreFinite: Bool,
    into output: UnsafeMutablePointer<Scalar>, accumulate: Bool, multiplier: Multiplier = .blas,
    rowScales: UnsafePointer<Scalar>? = nil
  ) {
    let dv = problem.valueDimension
    guard valuesAreFinite else {
      precondition(rowScales == nil, "row scales on the non-finite values' route")
      if !accumulate { output.update(repeating: 0, count: rows * dv) }
      for r in 0..<rows {
        let row = weights + r * stride
        let out = output + r * dv
        let (head, query) = rowQuery(r)
        for j in 0..<keys.count
        where problem.rules.isVisible(
          batch: batch, head: head, query: query, key: keys.lowerBound + j)
        {
          for e in 0..<dv { out[e] += row[j] * values[j * dv + e] }
        }
      }
      return
    }
    if case .small(let kernels) = multiplier {
      kernels.product(
        m: rows, n: dv, k: keys.count, alpha: 1, a: weights, lda: stride, b: values, ldb: dv,
        accumulate: accumulate, c: output, ldc: dv, rowScales: rowScales)
      return
    }
    precondition(rowScales == nil, "row scales with BLAS")
    BLAS.gemm(
      m: rows, n: dv, k: keys.count, alpha: 1, a: weights, lda: stride, b: values, ldb: dv,
      beta: accumulate ? 1 : 0, c: output, ldc: dv)
  }
}
