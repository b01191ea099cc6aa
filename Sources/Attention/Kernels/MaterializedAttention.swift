/// Attention through BLAS on the full score matrix of each head: S = scale·Q·Kᵀ (one gemm, K read
/// transposed in place), mask and softmax row by row, O = P·V (one gemm).
///
/// Extra memory is one `Nq × Nk` score matrix per worker (or the whole probability tensor when the
/// caller asks for it). Key columns past the last key any row may see (key padding, causal) are
/// neither computed nor multiplied.
enum MaterializedAttention {
  // Specialised entry points: the public generic API is not inlinable, so without these a
  // caller in another module would run the unspecialised generic body (witness-table arithmetic
  // in the inner loops).
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  static func compute<Scalar: AttentionScalar>(
    _ problem: AttentionProblem<Scalar>, plan: AttentionPlan,
    query: [Scalar], key: [Scalar], value: [Scalar],
    extras: AttentionOutputs
  ) -> (output: [Scalar], probabilities: [Scalar]?, logSumExp: [Scalar]?) {
    let p = problem
    let (nq, nk, dv) = (p.queryCount, p.keyCount, p.valueDimension)
    let headCount = p.batchCount * p.queryHeadCount
    var output = [Scalar](repeating: 0, count: headCount * nq * dv)
    let keepsProbabilities = extras.contains(.probabilities)
    var probabilities = [Scalar](repeating: 0, count: keepsProbabilities ? headCount * nq * nk : 0)
    var logSumExp = [Scalar](repeating: 0, count: headCount * nq)
    let scratchCount = plan.scoreScratchCount

    query.withUnsafeBufferPointer { q in
      key.withUnsafeBufferPointer { k in
        value.withUnsafeBufferPointer { v in
          output.withUnsafeMutableBufferPointer { o in
            probabilities.withUnsafeMutableBufferPointer { allScores in
              logSumExp.withUnsafeMutableBufferPointer { lse in
                let context = HeadContext(
                  problem: p, query: q.baseAddress!, key: k.baseAddress!, value: v.baseAddress!,
                  output: o.baseAddress!, logSumExp: lse.baseAddress!,
                  probabilities: keepsProbabilities ? allScores.baseAddress! : nil)
                ParallelWork.forEachChunk(count: headCount, maximumWorkers: plan.workerCount) {
                  heads in
                  // One score matrix per worker, reused for each of its heads and sequences.
                  var scratch = [Scalar](repeating: 0, count: scratchCount)
                  scratch.withUnsafeMutableBufferPointer { scores in
                    for head in heads {
                      for segment in p.rules.segments {
                        context.run(head: head, segment: segment, scratch: scores.baseAddress)
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
    return (
      output, keepsProbabilities ? probabilities : nil,
      extras.contains(.logSumExp) ? logSumExp : nil
    )
  }

  /// Raw pointers to one call's buffers, shared read-only by the workers (each writes only the
  /// rows of its own head).
  struct HeadContext<Scalar: AttentionScalar>: @unchecked Sendable {
    let problem: AttentionProblem<Scalar>
    let query: UnsafePointer<Scalar>
    let key: UnsafePointer<Scalar>
    let value: UnsafePointer<Scalar>
    let output: UnsafeMutablePointer<Scalar>
    let logSumExp: UnsafeMutablePointer<Scalar>
    let probabilities: UnsafeMutablePointer<Scalar>?

    /// The rows of one packed sequence (or the whole head) of one head.
    func run(
      head: Int, segment: AttentionRules<Scalar>.Segment, scratch: UnsafeMutablePointer<Scalar>?
    ) {
      let p = problem
      let rules = p.rules
      let (nq, nk, dk, dv) = (p.queryCount, p.keyCount, p.keyDimension, p.valueDimension)
      let b = head / p.queryHeadCount
      let h = head % p.queryHeadCount
      let kvHead = b * p.keyValueHeadCount + p.keyValueHead(forQueryHead: h)
      let firstRow = head * nq + segment.queries.lowerBound
      let rows = segment.queries.count
      // Keys outside every row's band are masked for all of them: neither computed nor
      // multiplied. Both ends of the band only grow with the query index.
      let keyStart = rules.keyBand(batch: b, query: segment.queries.lowerBound, in: segment)
        .lowerBound
      let keyEnd = rules.keyBand(batch: b, query: segment.queries.upperBound - 1, in: segment)
        .upperBound
      guard keyStart < keyEnd else {
        // No row sees a key: zero outputs and probabilities (already), log-sum-exp σ or −∞.
        (logSumExp + firstRow).update(
          repeating: rules.sink(head: h) ?? -Scalar.infinity, count: rows)
        return
      }
      let keys = keyStart..<keyEnd
      let scores: UnsafeMutablePointer<Scalar>
      let scoreStride: Int
      if let probabilities {
        scores = probabilities + firstRow * nk + keyStart
        scoreStride = nk
      } else {
        scores = scratch!
        scoreStride = keys.count
      }
      TileProducts.scores(
        rows: rows, keys: keys.count, keyDimension: dk, scale: rules.scale,
        query: query + firstRow * dk, key: key + p.keyRow(kvHead: kvHead, key: keyStart) * dk,
        into: scores, stride: scoreStride)
      for r in 0..<rows {
        let i = segment.queries.lowerBound + r
        let row = scores + r * scoreStride
        rules.prepareLogits(
          row, keys: keys, band: rules.keyBand(batch: b, query: i, in: segment),
          batch: b, head: h, query: i, position: rules.position(ofQuery: i, in: segment),
          segmentKeyStart: segment.keys.lowerBound)
        var rowLogSumExp = RowSoftmax.normalize(row, count: keys.count, sink: rules.sink(head: h))
        if !rowLogSumExp.isFinite {
          rowLogSumExp = settleNonFiniteRow(row, keys: keys, batch: b, head: h, query: i)
        }
        logSumExp[firstRow + r] = rowLogSumExp
      }
      let values = value + p.keyRow(kvHead: kvHead, key: keyStart) * dv
      TileProducts.addWeightedValues(
        problem: p, weights: scores, stride: scoreStride, rows: rows,
        rowQuery: { (h, segment.queries.lowerBound + $0) }, batch: b, keys: keys, values: values,
        valuesAreFinite: !NonFinite.contains(values, count: keys.count * dv),
        into: output + firstRow * dv, accumulate: false)
    }

    /// Rewrites the weights of a row whose softmax came out non-finite and returns its log-sum-exp.
    ///
    /// A row that sees no key stays zero (`-infinity`). Otherwise a NaN or infinity it sees, or
    /// logits that are all `-infinity`, make its softmax NaN (as IEEE arithmetic does): every
    /// visible key's weight is NaN and every masked key's is exactly 0, so the probabilities
    /// never show a weight on a masked key. Rare, so it asks the rules key by key.
    func settleNonFiniteRow(
      _ row: UnsafeMutablePointer<Scalar>, keys: Range<Int>, batch b: Int, head h: Int, query i: Int
    ) -> Scalar {
      let rules = problem.rules
      guard rules.seesAnyKey(batch: b, head: h, query: i) else {
        row.update(repeating: 0, count: keys.count)
        return -Scalar.infinity
      }
      for (j, key) in keys.enumerated() {
        row[j] = rules.isVisible(batch: b, head: h, query: i, key: key) ? .nan : 0
      }
      return .nan
    }
  }
}
