/// The cross-check oracle: scaled dot-product attention in plain Swift loops, without BLAS.
///
/// It is written for obviousness, not speed, straight from the definitions (see
/// ``AttentionRules``): one query row at a time; for every key of the row's sequence, the
/// visibility rules checked one by one; dot products summed in order; the logit modified in the
/// documented order; masked keys skipped entirely; the sink added to the denominator. Every fast
/// path is tested against it. It reads the same validated description as the fast paths, but
/// none of their shortcuts (key bands, tiles, row passes).
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
    let rules = p.rules
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
        // Key j's row in the key and value storage is kvBase + j.
        let kvBase = p.keyRow(
          kvHead: b * p.keyValueHeadCount + p.keyValueHead(forQueryHead: h), key: 0)
        let sink = rules.sink(head: h)
        for segment in rules.segments {
          let (sequenceQueries, sequenceKeys) = (segment.queries.count, segment.keys.count)
          for i in segment.queries {
            let row = (b * p.queryHeadCount + h) * nq + i
            // The query's aligned position, in its sequence's key positions.
            let local = i - segment.queries.lowerBound
            let position =
              rules.alignment == .topLeft ? local : local + sequenceKeys - sequenceQueries
            let maskRow = rules.mask.rowOffset(batch: b, head: h, query: i)
            // The sink takes part in the maximum: m = max(σ, max_j s_j).
            var maximum = sink ?? -Scalar.infinity
            var seesAnyKey = false
            for j in segment.keys {
              let keyPosition = j - segment.keys.lowerBound
              var isVisible = true
              if let length = rules.keyLengths?[b], keyPosition >= length { isVisible = false }
              if rules.isCausal, keyPosition > position { isVisible = false }
              if let before = rules.keysBefore, keyPosition < position - before {
                isVisible = false
              }
              if let after = rules.keysAfter, keyPosition > position + after { isVisible = false }
              if case .boolean(let allowed, let invert) = rules.mask.values,
                allowed[maskRow + j] == invert
              {
                isVisible = false
              }
              // A -inf bias masks the key: it is skipped, like a blocked one (see the NaN policy).
              if case .additive(let bias) = rules.mask.values, bias[maskRow + j] == -Scalar.infinity
              {
                isVisible = false
              }
              visible[j] = isVisible
              guard isVisible else { continue }
              var dot: Scalar = 0
              for d in 0..<dk { dot += query[row * dk + d] * key[(kvBase + j) * dk + d] }
              var logit = dot * rules.scale
              if let cap = rules.softcap { logit = cap * Scalar.hyperbolicTangent(logit / cap) }
              if let slopes = rules.alibiSlopes {
                logit -= slopes[h] * Scalar(abs(position - keyPosition))
              }
              if case .additive(let bias) = rules.mask.values { logit += bias[maskRow + j] }
              logits[j] = logit
              seesAnyKey = true
              // A NaN logit poisons its row (and only it); once NaN, the maximum stays NaN.
              if logit > maximum || logit.isNaN, !maximum.isNaN { maximum = logit }
            }
            // A row with no visible key has no distribution: output zeros; its log-sum-exp is
            // the sink's logit, or -inf. (Visible keys whose logits are all -inf, with no sink,
            // give NaN below, as IEEE arithmetic does.)
            guard seesAnyKey else {
              logSumExp?[row] = sink ?? -Scalar.infinity
              continue
            }
            var sum: Scalar = 0
            if let sink { sum += Scalar.exponential(sink - maximum) }
            for j in segment.keys where visible[j] {
              logits[j] = Scalar.exponential(logits[j] - maximum)
              sum += logits[j]
            }
            for j in segment.keys where visible[j] {
              let weight = logits[j] / sum
              probabilities?[row * nk + j] = weight
              for d in 0..<dv { output[row * dv + d] += weight * value[(kvBase + j) * dv + d] }
            }
            logSumExp?[row] = maximum + Scalar.logarithm(sum)
          }
        }
      }
    }
    return (output, probabilities, logSumExp)
  }
}
