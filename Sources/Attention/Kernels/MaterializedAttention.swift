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
    _ problem: AttentionProblem<Scalar>,
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
                let scratchCount = keepsProbabilities ? 0 : nq * nk
                ParallelWork.forEachChunk(count: headCount) { heads in
                  // One score matrix per worker, reused for each of its heads.
                  var scratch = [Scalar](repeating: 0, count: scratchCount)
                  scratch.withUnsafeMutableBufferPointer { scores in
                    for head in heads { context.run(head: head, scratch: scores.baseAddress) }
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

    func run(head: Int, scratch: UnsafeMutablePointer<Scalar>?) {
      let p = problem
      let (nq, nk, dk, dv) = (p.queryCount, p.keyCount, p.keyDimension, p.valueDimension)
      let b = head / p.queryHeadCount
      let h = head % p.queryHeadCount
      let kvHead = b * p.keyValueHeadCount + p.keyValueHead(forQueryHead: h)
      // Columns beyond the largest visible limit are masked for every row: skip them.
      let columns = p.maximumKeyLimit(batch: b, queryRange: 0..<nq)
      let rowOffset = head * nq
      guard columns > 0 else {
        (logSumExp + rowOffset).update(repeating: -Scalar.infinity, count: nq)
        return  // output and probabilities are already zero
      }
      let scores: UnsafeMutablePointer<Scalar>
      let scoreStride: Int
      if let probabilities {
        scores = probabilities + rowOffset * nk
        scoreStride = nk
      } else {
        scores = scratch!
        scoreStride = columns
      }
      // BLAS may skip the product when alpha is 0 (OpenBLAS does), which would hide a NaN or an
      // infinity of Q or K; with a zero scale, form the product and multiply by 0 afterwards.
      let zeroScale = p.scale == 0
      BLAS.gemm(
        transposeB: true, m: nq, n: columns, k: dk, alpha: zeroScale ? 1 : p.scale,
        a: query + rowOffset * dk, lda: dk,
        b: key + kvHead * nk * dk, ldb: dk,
        beta: 0, c: scores, ldc: scoreStride)
      for i in 0..<nq {
        let row = scores + i * scoreStride
        if zeroScale { for j in 0..<columns { row[j] *= 0 } }
        let limit = p.visibleKeyLimit(batch: b, query: i)
        applyMask(
          row: row, columns: columns, limit: limit,
          maskOffset: p.mask.rowOffset(batch: b, head: h, query: i))
        var rowLogSumExp = RowSoftmax.normalize(row, count: columns)
        if !rowLogSumExp.isFinite {
          rowLogSumExp = settleNonFiniteRow(row, columns: columns, batch: b, head: h, query: i)
        }
        logSumExp[rowOffset + i] = rowLogSumExp
      }
      let values = value + kvHead * nk * dv
      if VectorKernels.active.containsNonFinite(values, count: columns * dv) {
        // gemm would multiply the zero weights of masked keys by their NaN/Inf values; skip
        // masked keys explicitly instead, so non-finite values reach only rows that see them.
        for i in 0..<nq {
          let weights = scores + i * scoreStride
          let out = output + (rowOffset + i) * dv
          for j in 0..<columns where p.isVisible(batch: b, head: h, query: i, key: j) {
            for e in 0..<dv { out[e] += weights[j] * values[j * dv + e] }
          }
        }
        return
      }
      BLAS.gemm(
        m: nq, n: dv, k: columns, alpha: 1,
        a: scores, lda: scoreStride,
        b: values, ldb: dv,
        beta: 0, c: output + rowOffset * dv, ldc: dv)
    }

    /// Rewrites the weights of a row whose softmax came out non-finite and returns its log-sum-exp.
    ///
    /// A row that sees no key stays zero (`-infinity`). Otherwise a NaN or infinity it sees, or
    /// logits that are all `-infinity`, make its softmax NaN (as IEEE arithmetic does): every
    /// visible key's weight is NaN and every masked key's is exactly 0, so the probabilities
    /// never show a weight on a masked key. Rare, so it asks the problem key by key.
    func settleNonFiniteRow(
      _ row: UnsafeMutablePointer<Scalar>, columns: Int, batch b: Int, head h: Int, query i: Int
    ) -> Scalar {
      guard problem.seesAnyKey(batch: b, head: h, query: i) else {
        row.update(repeating: 0, count: columns)
        return -Scalar.infinity
      }
      for j in 0..<columns {
        row[j] = problem.isVisible(batch: b, head: h, query: i, key: j) ? .nan : 0
      }
      return .nan
    }

    /// Sets the logits of keys a row may not see to `-infinity` and adds an additive mask.
    @inline(__always)
    func applyMask(row: UnsafeMutablePointer<Scalar>, columns: Int, limit: Int, maskOffset: Int) {
      let visibleEnd = Swift.min(limit, columns)
      (row + visibleEnd).update(repeating: -Scalar.infinity, count: columns - visibleEnd)
      switch problem.mask.values {
      case .none: break
      case .boolean(let allowed, let invert):
        allowed.withUnsafeBufferPointer { m in
          for j in 0..<visibleEnd where m[maskOffset + j] == invert { row[j] = -Scalar.infinity }
        }
      case .additive(let bias):
        bias.withUnsafeBufferPointer { m in
          // Assigning -inf (rather than adding it) keeps a NaN logit of a masked key out.
          for j in 0..<visibleEnd {
            let b = m[maskOffset + j]
            row[j] = b == -Scalar.infinity ? b : row[j] + b
          }
        }
      }
    }
  }
}
