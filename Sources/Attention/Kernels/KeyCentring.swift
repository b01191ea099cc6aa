/// Centring the keys, for accuracy when they share a large common component.
///
/// Softmax is invariant to a shift of a row's logits, so the fused kernel may compute
/// `scale · q·(k − c)` for any vector `c` shared by the keys a block of queries sees: each row's
/// logits move by the constant `δ = scale · q·c`, and the probabilities and output are the same in
/// real arithmetic. In floating point they are not: when every key carries a large common part (a
/// key bias, the "massive activations" of trained models), the logits are in the hundreds and
/// rounding `q·k` costs about ulp(|q·k|) in every logit, which the softmax turns into a relative
/// error of the same size in every weight. With `c` the mean of the keys the block of queries
/// walks (computed by each work item, in parallel, in a pass over those keys), `k − c` is exact
/// (Sterbenz's lemma: the two are within a factor of two where the common part dominates) and the
/// logits
/// `q·(k − c)` are small and accurate — measured 40× more accurate on keys with a common part of
/// 100 σ (`KeyCentringTests`). The log-sum-exp adds `δ` back, and a sink's logit is moved by `−δ`
/// so that it still competes with the keys on the same footing.
///
/// Where it is not applied, and why:
/// - under a softcap: `C·tanh(s / C)` does not commute with a shift;
/// - with a zero scale: the logits are all zero (or NaN, by the NaN policy) anyway;
/// - when decoding (at most ``BLAS/matrixVectorRows`` query rows per key/value head): the centre
///   costs a pass over K, and decoding is bound by reading K and V once;
/// - to a block of queries whose keys have no large common part (see
///   ``mean(ofKeys:count:dimension:ones:into:)``: the gain would be under √2);
/// - to a block of queries whose mean key is not finite or has an element beyond 2⁵⁰ in magnitude
///   (a NaN or infinite key makes it so), or with a row whose shift `δ` is
///   not finite or beyond 2⁶⁴ (a NaN or infinite query makes it so): the NaN policy then runs
///   exactly as without centring, and the shift is too small to move a logit across the Float
///   range;
/// - on the materialised and naive paths, which keep the definition's arithmetic (the naive kernel
///   is the oracle).
enum KeyCentring {
  /// Whether the fused path centres the keys of `problem` (the data may still rule out a block).
  static func applies<Scalar>(to problem: AttentionProblem<Scalar>) -> Bool {
    problem.rules.softcap == nil && problem.rules.scale != 0 && problem.keyDimension > 0
      && problem.queryCount * problem.groupSize > BLAS.matrixVectorRows
  }

  /// Writes the mean of `count` key rows into `centre` (`dimension` elements), in BLAS
  /// matrix-vector products over chunks of at most `ones.count` keys, and says whether centring
  /// these keys is worth its cost.
  ///
  /// It is when the common part carries at least as much of the keys' energy as their spread:
  /// `|c|² ≥ mean |k − c|²`, i.e. `2·|c|² ≥ mean |k|²`. Rounding errors of the logits scale with
  /// `|k|`, so centring divides them by `√(1 + |c|² / mean |k − c|²)`: below this threshold the
  /// gain is under √2, and keys without a common part (most inputs) then cost only this mean and
  /// one dot product per block of queries, not the per-tile subtraction.
  ///
  /// - Parameters:
  ///   - ones: a vector of ones (the products' `x`).
  ///   - multiplier: what forms the products: with the small product's plan, its one-row product
  ///     (for the short key ranges of that plan, sgemv's set-up cost more than the sum: 6 % of
  ///     the fused path on (32, 12, 64, 32)).
  /// - Returns: whether to centre: the mean is finite with every element within 2⁵⁰ in magnitude
  ///   (a NaN or infinite key makes it non-finite), and the common part is large enough.
  static func mean<Scalar: AttentionScalar>(
    ofKeys keys: UnsafePointer<Scalar>, count: Int, dimension: Int,
    ones: UnsafeBufferPointer<Scalar>, into centre: UnsafeMutablePointer<Scalar>,
    using multiplier: TileProducts.Multiplier = .blas
  ) -> Bool {
    guard count > 0 else { return false }
    let weight = 1 / Scalar(count)
    for first in stride(from: 0, to: count, by: ones.count) {
      let rows = Swift.min(ones.count, count - first)
      if case .small(let kernels) = multiplier {
        // centre (+)= weight · onesᵀ·K: the same sum as the gemv below, as a 1-row product.
        kernels.product(
          m: 1, n: dimension, k: rows, alpha: weight, a: ones.baseAddress!, lda: rows,
          b: keys + first * dimension, ldb: dimension, accumulate: first != 0, c: centre,
          ldc: dimension)
        continue
      }
      BLAS.gemv(
        transpose: true, rows: rows, columns: dimension,
        alpha: weight, a: keys + first * dimension, lda: dimension, x: ones.baseAddress!,
        beta: first == 0 ? 0 : 1, y: centre)
    }
    var usable = true
    for d in 0..<dimension { usable = usable && centre[d].magnitude <= 0x1p50 }
    guard usable else { return false }
    let commonEnergy = BLAS.dot(count: dimension, centre, centre)
    let totalEnergy = BLAS.dot(count: count * dimension, keys, keys) / Scalar(count)
    return 2 * commonEnergy >= totalEnergy
  }

  /// Query rows converted to Double at a time by ``shifts(queries:rows:centre:dimension:scale:workspace:into:)``.
  static let shiftChunkRows = 16

  /// Doubles of workspace ``shifts(queries:rows:centre:dimension:scale:workspace:into:)`` needs.
  static func shiftWorkspaceCount(dimension: Int) -> Int {
    (shiftChunkRows + 1) * dimension
  }

  /// Writes each row's logit shift `δ = scale · q·c` for `rows` query rows into `shifts`.
  ///
  /// In Double (a dgemv over chunks of ``shiftChunkRows`` rows converted to Double): the shift is
  /// large where centring matters and the log-sum-exp gets it back, so rounding it in Float would
  /// cost the log-sum-exp several times the uncentred path's error.
  ///
  /// - Parameter workspace: ``shiftWorkspaceCount(dimension:)`` Doubles.
  /// - Returns: whether every shift is finite and within 2⁶⁴ in magnitude (a NaN or infinite
  ///   query makes its shift non-finite).
  static func shifts<Scalar: AttentionScalar>(
    queries: UnsafePointer<Scalar>, rows: Int, centre: UnsafePointer<Scalar>, dimension: Int,
    scale: Scalar, workspace: UnsafeMutablePointer<Double>,
    into shifts: UnsafeMutablePointer<Double>
  ) -> Bool {
    let centreInDouble = workspace
    let rowsInDouble = workspace + dimension
    for d in 0..<dimension { centreInDouble[d] = Double(centre[d]) }
    var usable = true
    for first in stride(from: 0, to: rows, by: shiftChunkRows) {
      let count = Swift.min(shiftChunkRows, rows - first)
      let chunk = queries + first * dimension
      for i in 0..<(count * dimension) { rowsInDouble[i] = Double(chunk[i]) }
      BLAS.gemv(
        rows: count, columns: dimension, alpha: Double(scale), a: rowsInDouble, lda: dimension,
        x: centreInDouble, beta: 0, y: shifts + first)
      for i in 0..<count { usable = usable && shifts[first + i].magnitude <= 0x1p64 }
    }
    return usable
  }

  /// Writes `count` key rows minus the centre into `output` (`count × dimension`): a copy, then
  /// a rank-one update with `ones` (at least `count` long).
  static func subtract<Scalar: AttentionScalar>(
    _ centre: UnsafePointer<Scalar>, fromKeys keys: UnsafePointer<Scalar>, count: Int,
    dimension: Int, ones: UnsafePointer<Scalar>, into output: UnsafeMutablePointer<Scalar>
  ) {
    output.update(from: keys, count: count * dimension)
    BLAS.ger(
      rows: count, columns: dimension, alpha: -1, x: ones, y: centre, a: output, lda: dimension)
  }
}
