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

  /// Writes the mean of `count` key rows into `centre` (`dimension` elements).
  ///
  /// - Returns: whether the mean is usable: finite, and every element within 2⁵⁰ in magnitude
  ///   (a NaN or infinite key makes the mean non-finite).
  static func mean<Scalar: AttentionScalar>(
    ofKeys keys: UnsafePointer<Scalar>, count: Int, dimension: Int,
    into centre: UnsafeMutablePointer<Scalar>
  ) -> Bool {
    guard count > 0 else { return false }
    centre.update(repeating: 0, count: dimension)
    // A plain sum (vectorised, no branch): a non-finite key shows in the sum.
    for j in 0..<count {
      let row = keys + j * dimension
      for d in 0..<dimension { centre[d] += row[d] }
    }
    let scale = 1 / Scalar(count)
    var usable = true
    for d in 0..<dimension {
      centre[d] *= scale
      usable = usable && centre[d].magnitude <= 0x1p50
    }
    return usable
  }

  /// Writes each row's logit shift `δ = scale · q·c` for `rows` query rows into `shifts`.
  ///
  /// - Returns: whether every shift is finite and within 2⁶⁴ in magnitude (a NaN or infinite
  ///   query makes its shift non-finite).
  static func shifts<Scalar: AttentionScalar>(
    queries: UnsafePointer<Scalar>, rows: Int, centre: UnsafePointer<Scalar>, dimension: Int,
    scale: Scalar, into shifts: UnsafeMutablePointer<Scalar>
  ) -> Bool {
    var usable = true
    for i in 0..<rows {
      let query = queries + i * dimension
      // In Double: the shift is large where centring matters, and the log-sum-exp gets it back,
      // so its own rounding would cost the log-sum-exp what centring saved the logits.
      var dot = 0.0
      for d in 0..<dimension { dot += Double(query[d]) * Double(centre[d]) }
      shifts[i] = Scalar(Double(scale) * dot)
      usable = usable && shifts[i].magnitude <= 0x1p64
    }
    return usable
  }

  /// Writes `count` key rows minus the centre into `output` (`count × dimension`).
  static func subtract<Scalar: AttentionScalar>(
    _ centre: UnsafePointer<Scalar>, fromKeys keys: UnsafePointer<Scalar>, count: Int,
    dimension: Int, into output: UnsafeMutablePointer<Scalar>
  ) {
    for j in 0..<count {
      let row = keys + j * dimension
      let out = output + j * dimension
      for d in 0..<dimension { out[d] = row[d] - centre[d] }
    }
  }
}
