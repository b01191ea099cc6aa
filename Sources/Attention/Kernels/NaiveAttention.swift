/// The cross-check oracle: scaled dot-product attention in plain Swift loops, without BLAS.
///
/// It is written for obviousness, not speed: one query row at a time, dot products summed in
/// order, masked keys skipped entirely. Every fast path is tested against it.
enum NaiveAttention {
  // Specialised so the loops run on Float/Double directly: called through the public generic
  // entry point from another module, unspecialised code pays a witness call per multiply-add.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  static func compute<Scalar: AttentionScalar>(
    _ problem: AttentionProblem<Scalar>,
    query: [Scalar], key: [Scalar], value: [Scalar],
    extras: AttentionOutputs
  ) -> (output: [Scalar], probabilities: [Scalar]?, logSumExp: [Scalar]?) {
    let p = problem
    let (nq, nk, dk, dv) = (p.queryCount, p.keyCount, p.keyDimension, p.valueDimension)
    var output = [Scalar](repeating: 0, count: p.batchCount * p.queryHeadCount * nq * dv)
    var probabilities: [Scalar]? =
      extras.contains(.probabilities)
      ? [Scalar](repeating: 0, count: p.batchCount * p.queryHeadCount * nq * nk) : nil
    var logSumExp: [Scalar]? =
      extras.contains(.logSumExp)
      ? [Scalar](repeating: 0, count: p.batchCount * p.queryHeadCount * nq) : nil
    var logits = [Scalar](repeating: 0, count: nk)
    var visible = [Bool](repeating: false, count: nk)

    for b in 0..<p.batchCount {
      for h in 0..<p.queryHeadCount {
        let kvh = p.keyValueHead(forQueryHead: h)
        let kvBase = (b * p.keyValueHeadCount + kvh) * nk
        for i in 0..<nq {
          let row = (b * p.queryHeadCount + h) * nq + i
          let limit = p.visibleKeyLimit(batch: b, query: i)
          let maskRow = p.mask.rowOffset(batch: b, head: h, query: i)
          var maximum = -Scalar.infinity
          var seesAnyKey = false
          for j in 0..<nk {
            visible[j] = j < limit
            switch p.mask.values {
            case .none: break
            case .boolean(let allowed, let invert):
              visible[j] = visible[j] && (allowed[maskRow + j] != invert)
            case .additive: break
            }
            guard visible[j] else { continue }
            var dot: Scalar = 0
            for d in 0..<dk { dot += query[row * dk + d] * key[(kvBase + j) * dk + d] }
            var logit = dot * p.scale
            if case .additive(let bias) = p.mask.values {
              // A -inf bias masks the key: it is skipped, like a blocked one (see the NaN policy).
              guard bias[maskRow + j] != -Scalar.infinity else {
                visible[j] = false
                continue
              }
              logit += bias[maskRow + j]
            }
            logits[j] = logit
            seesAnyKey = true
            // A NaN logit poisons its row (and only it); once NaN, the maximum stays NaN.
            if logit > maximum || logit.isNaN, !maximum.isNaN { maximum = logit }
          }
          // A row with no visible key has no distribution: output zeros. (Visible keys whose
          // logits are all -inf, from an infinite Q or K, give NaN below, as IEEE arithmetic does.)
          guard seesAnyKey else {
            logSumExp?[row] = -Scalar.infinity
            continue
          }
          var sum: Scalar = 0
          for j in 0..<nk where visible[j] {
            logits[j] = Scalar.exponential(logits[j] - maximum)
            sum += logits[j]
          }
          for j in 0..<nk where visible[j] {
            let weight = logits[j] / sum
            probabilities?[row * nk + j] = weight
            for d in 0..<dv { output[row * dv + d] += weight * value[(kvBase + j) * dv + d] }
          }
          logSumExp?[row] = maximum + Scalar.logarithm(sum)
        }
      }
    }
    return (output, probabilities, logSumExp)
  }
}
