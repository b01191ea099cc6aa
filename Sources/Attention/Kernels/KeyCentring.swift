/// Centring the keys, for accuracy when they share a large common component.
///
/// Softmax is invariant to a shift of a row's logits, so the fused kernel may compute
/// `scale · q·(k − c)` for any vector `c` shared by every key of a key/value head: each row's
/// logits move by the constant `δ = scale · q·c`, and the probabilities and output are the same in
/// real arithmetic. In floating point they are not: when every key carries a large common part (a
/// key bias, the "massive activations" of trained models), the logits are in the hundreds and
/// rounding `q·k` costs about ulp(|q·k|) in every logit, which the softmax turns into a relative
/// error of the same size in every weight. With `c` the mean key, `k − c` is exact (Sterbenz's
/// lemma: the two are within a factor of two where the common part dominates) and the logits
/// `q·(k − c)` are small and accurate — measured 40× more accurate on keys with a common part of
/// 100 σ (`KeyCentringTests`). The log-sum-exp adds `δ` back, and a sink's logit is moved by `−δ`
/// so that it still competes with the keys on the same footing.
///
/// Where it is not applied, and why:
/// - under a softcap: `C·tanh(s / C)` does not commute with a shift;
/// - with a zero scale: the logits are all zero (or NaN, by the NaN policy) anyway;
/// - when decoding (at most ``BLAS/matrixVectorRows`` query rows per key/value head): the centre
///   costs a pass over K, and decoding is bound by reading K and V once;
/// - to a key/value head whose mean key is not finite or has an element beyond 2⁵⁰ in magnitude
///   (a NaN or infinite key makes it so), and to a block of queries with a row whose shift `δ` is
///   not finite or beyond 2⁶⁴ (a NaN or infinite query makes it so): the NaN policy then runs
///   exactly as without centring, and the shift is too small to move a logit across the Float
///   range;
/// - on the materialised and naive paths, which keep the definition's arithmetic (the naive kernel
///   is the oracle).
struct KeyCentres<Scalar: AttentionScalar>: Sendable {
  /// The centre of each key/value head, `[B·Hkv, Dk]` (zeros where ``isCentred`` is false).
  private let values: [Scalar]
  private let isCentred: [Bool]
  private let dimension: Int

  /// Whether the fused path centres the keys of `problem` (the data may still rule out a head).
  static func applies(to problem: AttentionProblem<Scalar>) -> Bool {
    problem.rules.softcap == nil && problem.rules.scale != 0 && problem.keyDimension > 0
      && problem.queryCount * problem.groupSize > BLAS.matrixVectorRows
  }

  /// A centre element beyond this magnitude (or NaN) turns centring off for its head.
  static var centreLimit: Scalar { 0x1p50 }
  /// A row shift beyond this magnitude (or NaN) turns centring off for its block of queries.
  static var shiftLimit: Scalar { 0x1p64 }

  /// The mean key of each key/value head of `problem` (its `Nk` key rows, masked or not: any
  /// centre is exact, the mean is merely the one that removes the common part).
  init(problem: AttentionProblem<Scalar>, key: UnsafePointer<Scalar>) {
    let dk = problem.keyDimension
    let heads = problem.batchCount * problem.keyValueHeadCount
    var values = [Scalar](repeating: 0, count: heads * dk)
    var isCentred = [Bool](repeating: false, count: heads)
    let limit = Self.centreLimit
    values.withUnsafeMutableBufferPointer { centres in
      for head in 0..<heads where problem.keyCount > 0 {
        let sum = centres.baseAddress! + head * dk
        let first = key + problem.keyRow(kvHead: head, key: 0) * dk
        // A plain sum (vectorised, no branch): a NaN or infinite key makes it non-finite, which
        // the check below catches.
        for j in 0..<problem.keyCount {
          let row = first + j * dk
          for d in 0..<dk { sum[d] += row[d] }
        }
        let count = Scalar(problem.keyCount)
        var safe = true
        for d in 0..<dk {
          sum[d] /= count
          safe = safe && sum[d].magnitude <= limit
        }
        if safe {
          isCentred[head] = true
        } else {
          sum.update(repeating: 0, count: dk)
        }
      }
    }
    self.values = values
    self.isCentred = isCentred
    self.dimension = dk
  }

  /// Runs `body` with the centre of key/value head `kvHead` (batch-major index), or `nil` if its
  /// keys are not centred.
  func withCentre<Result>(
    ofKVHead kvHead: Int, _ body: (UnsafePointer<Scalar>?) -> Result
  ) -> Result {
    guard isCentred[kvHead] else { return body(nil) }
    return values.withUnsafeBufferPointer { body($0.baseAddress! + kvHead * dimension) }
  }

  /// The shift `δ = scale · q·c` of a row's logits (checked against ``shiftLimit`` by the caller).
  static func shift(
    query: UnsafePointer<Scalar>, centre: UnsafePointer<Scalar>, dimension: Int, scale: Scalar
  ) -> Scalar {
    var dot: Scalar = 0
    for d in 0..<dimension { dot += query[d] * centre[d] }
    return scale * dot
  }

  /// Writes `count` key rows minus the centre into `output` (`count × dimension`).
  static func subtract(
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
