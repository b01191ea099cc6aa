/// Attention as a fused, tiled kernel with an online softmax (the FlashAttention recurrence on
/// BLAS tiles): the `Nq × Nk` score matrix is never stored.
///
/// For each (batch, query head, block of `Bq` queries) — one work item — the kernel walks the
/// key blocks of `Bk` keys that any of its rows may see:
///
/// ```
/// S = scale · Q_blk · K_blkᵀ                  (gemm into a Bq × Bk scratch tile)
/// mask S                                       (only rows whose limit cuts the block, or a mask tensor)
/// m_new = max(m, rowmax S);  α = exp(m − m_new)
/// P = exp(S − m_new);  l = α·l + rowsum P;  O = α·O
/// O += P · V_blk                               (gemm, beta = 1, straight into the output rows)
/// ```
///
/// and finishes each row with `O /= l` and log-sum-exp `m + log l`. Non-finite values follow the
/// library's policy exactly as ``NaiveAttention`` and ``MaterializedAttention`` do: rows that see
/// no key keep `O = 0` and get `-infinity`; a NaN logit, or visible logits that are all
/// `-infinity`, make exactly their row NaN; masked keys never leak NaN or infinity.
///
/// Extra memory: one `Bq × Bk` tile and two `Bq` vectors per worker, plus one flag per key block
/// — independent of `Nq · Nk`. Results do not depend on the number of threads: each item is
/// computed by one worker in a fixed order, with OpenBLAS held at one thread.
enum FusedAttention {
  /// The tile sizes of the fused kernel.
  struct Blocking: Sendable, Equatable {
    /// `Bq`: query rows per work item (the M of both matrix products).
    var queryRows: Int
    /// `Bk`: keys per tile (the N of `Q·Kᵀ` and the K of `P·V`).
    var keyColumns: Int

    /// The tile sizes for a problem: `Bk` = 512 keys (256 in Double) and `Bq` = 256 queries,
    /// fewer when the problem has too few query blocks to share among cores.
    ///
    /// Why these sizes (measured on the project's 2-core machine, a shared Xeon with 48 KiB L1d
    /// and 2 MiB L2 per core, `swift build -c release`, OpenBLAS 0.3.21 Cooperlake kernels;
    /// GFLOP/s computed from CPU time on 2 cores, at (B, H, N, D) = (1, 12, 2048, 64) and
    /// (1, 32, 2048, 128); the full table is in the fused kernel's report):
    /// - Each tile pair costs OpenBLAS a packing pass over Q_blk and K_blk (first product) and
    ///   over P and V_blk (second), about `Dk/Bk + Dk/Bq + 1 + Dv/Bq` packed elements per score
    ///   against `2·(Dk + Dv)` flops, so small tiles lose: 64×256 tiles gave 119 and 142
    ///   GFLOP/s, 128×256 129 and 161, 256×512 142 and 174.
    /// - The score tile should stay in L2 across the softmax passes and the second product:
    ///   256 × 512 Floats are 512 KiB, half of the 1 MiB L2 of the project's Zen 5 machines.
    ///   512 × 512 (1 MiB) measured 145 and 183, within noise of 256×512 on this 2 MiB-L2 Xeon,
    ///   and would spill on Zen 5. Double keeps the same 512 KiB with 256 keys.
    /// - Under a causal mask only the tile on the diagonal is cut; its rows go in 64-row slices
    ///   (``Context/diagonalRows``), so Bq = 256 wastes little. Causal (1, 12, 2048, 64) measured
    ///   the same with Bq = 128 and 256 (127 and 124 before the slices; 132 after).
    /// - The row count adapts to the shape only (never to the thread count, so results stay
    ///   bit-identical whatever ``AttentionThreads/maximumCount`` is): with few heads and queries,
    ///   `Bq` halves (down to 32) until there are at least 8 work items for the cores to share.
    static func standard<Scalar: AttentionScalar>(for problem: AttentionProblem<Scalar>) -> Blocking
    {
      let keyColumns = MemoryLayout<Scalar>.stride == 4 ? 512 : 256
      let heads = problem.batchCount * problem.queryHeadCount
      var queryRows = 256
      // `heads < minimumItemCount` first: it keeps the product below from overflowing.
      while queryRows > 32 && heads < minimumItemCount
        && heads * ((problem.queryCount + queryRows - 1) / queryRows) < minimumItemCount
      {
        queryRows /= 2
      }
      // A tile never needs to be larger than the problem (the results do not change: a single
      // tile covers the rows or keys either way).
      return Blocking(
        queryRows: Swift.min(queryRows, problem.queryCount),
        keyColumns: Swift.min(keyColumns, problem.keyCount))
    }

    /// The work items a problem should have at least, for the cores to share them.
    static let minimumItemCount = 8
  }

  // Specialised entry points: the public generic API is not inlinable, so without these a
  // caller in another module would run the unspecialised generic body (witness-table arithmetic
  // in the inner loops).
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  static func compute<Scalar: AttentionScalar>(
    _ problem: AttentionProblem<Scalar>,
    query: [Scalar], key: [Scalar], value: [Scalar],
    extras: AttentionOutputs,
    blocking: Blocking? = nil,
    kernels: VectorKernels = .active
  ) -> (output: [Scalar], probabilities: [Scalar]?, logSumExp: [Scalar]?) {
    let p = problem
    let blocking = blocking ?? .standard(for: p)
    let headCount = p.batchCount * p.queryHeadCount
    var output = [Scalar](repeating: 0, count: headCount * p.queryCount * p.valueDimension)
    var logSumExp = [Scalar](repeating: 0, count: headCount * p.queryCount)
    let keyBlockCount = (p.keyCount + blocking.keyColumns - 1) / blocking.keyColumns
    // Which value tiles hold NaN or ±infinity: those take a slow product that skips masked keys
    // (gemm would compute 0 · NaN for them). One scan of V, shared by every query block.
    var nonFiniteValueTiles = [Bool](
      repeating: false, count: p.batchCount * p.keyValueHeadCount * keyBlockCount)
    value.withUnsafeBufferPointer { v in
      for kvHead in 0..<(p.batchCount * p.keyValueHeadCount) {
        for block in 0..<keyBlockCount {
          let first = block * blocking.keyColumns
          let count = Swift.min(blocking.keyColumns, p.keyCount - first)
          nonFiniteValueTiles[kvHead * keyBlockCount + block] = kernels.containsNonFinite(
            v.baseAddress! + (kvHead * p.keyCount + first) * p.valueDimension,
            count: count * p.valueDimension)
        }
      }
    }
    let queryBlockCount = (p.queryCount + blocking.queryRows - 1) / blocking.queryRows

    query.withUnsafeBufferPointer { q in
      key.withUnsafeBufferPointer { k in
        value.withUnsafeBufferPointer { v in
          output.withUnsafeMutableBufferPointer { o in
            logSumExp.withUnsafeMutableBufferPointer { lse in
              nonFiniteValueTiles.withUnsafeBufferPointer { flags in
                let context = Context(
                  problem: p, blocking: blocking, query: q.baseAddress!, key: k.baseAddress!,
                  value: v.baseAddress!, output: o.baseAddress!, logSumExp: lse.baseAddress!,
                  nonFiniteValueTiles: flags.baseAddress!, keyBlockCount: keyBlockCount,
                  kernels: kernels)
                // Below ~4 MFLOP (tens of microseconds) waking a second thread costs more than
                // it saves: (1, 1, 64, 64) took 0.03 ms on two workers, 0.02 ms on one.
                let workers = p.flopCount < Self.parallelFlopThreshold ? 1 : Int.max
                ParallelWork.forEachItem(
                  count: headCount * queryBlockCount, maximumWorkers: workers
                ) { nextItem in
                  var scratch = Scratch<Scalar>(blocking: blocking)
                  while let item = nextItem() {
                    // Within a head the last query blocks come first: under a causal mask they
                    // are the longest, and starting them early balances the workers' ends.
                    let head = item / queryBlockCount
                    let queryBlock = queryBlockCount - 1 - item % queryBlockCount
                    context.run(head: head, queryBlock: queryBlock, scratch: &scratch)
                  }
                  scratch.deallocate()
                }
              }
            }
          }
        }
      }
    }
    return (output, nil, extras.contains(.logSumExp) ? logSumExp : nil)
  }

  /// The memory the fused path allocates besides its output and log-sum-exp: each worker's
  /// tiles, and one flag per (batch, kv head, key tile).
  static func extraByteCount<Scalar: AttentionScalar>(
    _ problem: AttentionProblem<Scalar>, blocking: Blocking, workers: Int
  ) -> Int {
    let keyBlockCount = (problem.keyCount + blocking.keyColumns - 1) / blocking.keyColumns
    let perWorker =
      (blocking.queryRows * blocking.keyColumns + 2 * blocking.queryRows)
      * MemoryLayout<Scalar>.stride
    return workers * perWorker
      + problem.batchCount * problem.keyValueHeadCount * keyBlockCount
  }

  /// The flop count (``AttentionProblem/flopCount``) below which one worker runs the call.
  static let parallelFlopThreshold: Double = 4e6

  /// One worker's tiles: the scores/probabilities `Bq × Bk` and the running row max and sum.
  struct Scratch<Scalar: AttentionScalar> {
    let scores: UnsafeMutablePointer<Scalar>
    let rowMaximum: UnsafeMutablePointer<Scalar>
    let rowSum: UnsafeMutablePointer<Scalar>

    init(blocking: Blocking) {
      // 64-byte alignment: a cache line, and a whole 16-lane Float vector per row start.
      scores = UnsafeMutableRawPointer.allocate(
        byteCount: blocking.queryRows * blocking.keyColumns * MemoryLayout<Scalar>.stride,
        alignment: 64
      ).bindMemory(to: Scalar.self, capacity: blocking.queryRows * blocking.keyColumns)
      rowMaximum = .allocate(capacity: blocking.queryRows)
      rowSum = .allocate(capacity: blocking.queryRows)
    }

    func deallocate() {
      scores.deallocate()
      rowMaximum.deallocate()
      rowSum.deallocate()
    }
  }

  /// Raw pointers to one call's buffers, shared read-only by the workers (each writes only the
  /// output rows of its own items).
  struct Context<Scalar: AttentionScalar>: @unchecked Sendable {
    let problem: AttentionProblem<Scalar>
    let blocking: Blocking
    let query: UnsafePointer<Scalar>
    let key: UnsafePointer<Scalar>
    let value: UnsafePointer<Scalar>
    let output: UnsafeMutablePointer<Scalar>
    let logSumExp: UnsafeMutablePointer<Scalar>
    let nonFiniteValueTiles: UnsafePointer<Bool>
    let keyBlockCount: Int
    /// The vector loops of the softmax passes (``VectorKernels/active`` unless a test asks).
    let kernels: VectorKernels

    /// Computes the output rows and log-sum-exp of one block of queries of one head.
    func run(head: Int, queryBlock: Int, scratch: inout Scratch<Scalar>) {
      let p = problem
      let (nq, dv) = (p.queryCount, p.valueDimension)
      let b = head / p.queryHeadCount
      let h = head % p.queryHeadCount
      let kvHead = b * p.keyValueHeadCount + p.keyValueHead(forQueryHead: h)
      let firstQuery = queryBlock * blocking.queryRows
      let rows = Swift.min(blocking.queryRows, nq - firstQuery)
      let firstRow = head * nq + firstQuery
      let out = output + firstRow * dv
      let m = scratch.rowMaximum
      let l = scratch.rowSum
      m.update(repeating: -Scalar.infinity, count: rows)
      l.update(repeating: 0, count: rows)
      // Keys at or past the largest limit of these rows are masked for all of them: skip them.
      let keyEnd = p.maximumKeyLimit(batch: b, queryRange: firstQuery..<(firstQuery + rows))

      var firstKey = 0
      while firstKey < keyEnd {
        let columns = Swift.min(blocking.keyColumns, keyEnd - firstKey)
        let tile = Tile(
          batch: b, head: h, kvHead: kvHead, firstQuery: firstQuery, firstRow: firstRow,
          firstKey: firstKey, columns: columns)
        // The smallest limit is the first row's (limits grow with the query index). When it
        // cuts this tile — the causal diagonal — the rows go in slices of `diagonalRows`, each
        // with only the keys its last row may see: the masked triangle computed and thrown
        // away shrinks from Bq²/2 to Bq·64/2 scores per block of queries.
        let smallestLimit = p.visibleKeyLimit(batch: b, query: firstQuery)
        if smallestLimit >= firstKey + columns || rows <= Self.diagonalRows {
          process(tile, rows: 0..<rows, columns: columns, scratch: scratch)
        } else {
          var start = 0
          while start < rows {
            let end = Swift.min(start + Self.diagonalRows, rows)
            let sliceEnd = p.visibleKeyLimit(batch: b, query: firstQuery + end - 1)
            let sliceColumns = Swift.max(0, Swift.min(sliceEnd - firstKey, columns))
            // A slice that sees none of these keys has nothing to add.
            if sliceColumns > 0 {
              process(tile, rows: start..<end, columns: sliceColumns, scratch: scratch)
            }
            start = end
          }
        }
        firstKey += columns
      }

      for i in 0..<rows {
        if m[i] == -Scalar.infinity {
          // Every logit was -infinity. A row that sees no key keeps its zeros; a row that sees
          // keys whose logits are all -infinity (an infinite Q or K) is NaN, as IEEE arithmetic
          // makes it (exp(−∞ − (−∞))) and as the other paths give. Rare: asked key by key.
          if p.seesAnyKey(batch: b, head: h, query: firstQuery + i) {
            (out + i * dv).update(repeating: .nan, count: dv)
            logSumExp[firstRow + i] = .nan
          } else {
            logSumExp[firstRow + i] = -Scalar.infinity
          }
          continue
        }
        kernels.scale(out + i * dv, count: dv, by: 1 / l[i])
        logSumExp[firstRow + i] = m[i] + Scalar.logarithm(l[i])
      }
    }

    /// Where one key tile of one block of queries sits.
    struct Tile {
      let batch: Int
      let head: Int
      let kvHead: Int
      let firstQuery: Int
      let firstRow: Int
      let firstKey: Int
      let columns: Int
    }

    /// Rows cut by the causal diagonal are processed in slices of this many rows: the masked
    /// triangle computed per block of queries is `Bq · 64 / 2` scores instead of `Bq² / 2`.
    /// 32 (more, smaller products) and 128 measured the same as 64 within noise.
    static var diagonalRows: Int { 64 }

    /// Scores, online-softmax step and `O += P·V` for the rows `rows` of a block of queries
    /// against the first `columns` keys of `tile`.
    func process(
      _ tile: Tile, rows: Range<Int>, columns: Int, scratch: Scratch<Scalar>
    ) {
      let p = problem
      let (nk, dk, dv) = (p.keyCount, p.keyDimension, p.valueDimension)
      let ldS = blocking.keyColumns
      let scores = scratch.scores + rows.lowerBound * ldS
      let out = output + (tile.firstRow + rows.lowerBound) * dv
      // BLAS may skip the product when alpha is 0 (OpenBLAS does), hiding a NaN or infinity of
      // Q or K; with a zero scale, form the product and multiply it by 0 (0·∞ = NaN) instead.
      let zeroScale = p.scale == 0
      BLAS.gemm(
        transposeB: true, m: rows.count, n: columns, k: dk, alpha: zeroScale ? 1 : p.scale,
        a: query + (tile.firstRow + rows.lowerBound) * dk, lda: dk,
        b: key + (tile.kvHead * nk + tile.firstKey) * dk, ldb: dk,
        beta: 0, c: scores, ldc: ldS)
      for r in 0..<rows.count {
        let i = rows.lowerBound + r
        let query = tile.firstQuery + i
        let row = scores + r * ldS
        if zeroScale { kernels.scale(row, count: columns, by: 0) }
        let limit = p.visibleKeyLimit(batch: tile.batch, query: query)
        let visibleEnd = Swift.max(0, Swift.min(limit - tile.firstKey, columns))
        guard visibleEnd > 0 else {
          row.update(repeating: 0, count: columns)  // this row sees none of these keys
          continue
        }
        // Element-wise masking only where needed: the tail past this row's limit, and the
        // tensor mask (read in place at its row offset, never expanded).
        (row + visibleEnd).update(repeating: -Scalar.infinity, count: columns - visibleEnd)
        applyMask(
          row: row, count: visibleEnd,
          maskOffset: p.mask.rowOffset(batch: tile.batch, head: tile.head, query: query)
            + tile.firstKey)
        updateRow(
          row, count: columns, maximum: scratch.rowMaximum + i, sum: scratch.rowSum + i,
          output: out + r * dv, dv: dv)
      }
      let values = value + (tile.kvHead * nk + tile.firstKey) * dv
      if nonFiniteValueTiles[tile.kvHead * keyBlockCount + tile.firstKey / blocking.keyColumns] {
        // Skip masked keys one by one so their NaN/Inf values reach no row (see
        // `MaterializedAttention`); only tiles that hold such values come here.
        for r in 0..<rows.count {
          let weights = scores + r * ldS
          let outRow = out + r * dv
          let query = tile.firstQuery + rows.lowerBound + r
          for j in 0..<columns
          where p.isVisible(
            batch: tile.batch, head: tile.head, query: query, key: tile.firstKey + j)
          {
            for e in 0..<dv { outRow[e] += weights[j] * values[j * dv + e] }
          }
        }
      } else {
        BLAS.gemm(
          m: rows.count, n: dv, k: columns, alpha: 1,
          a: scores, lda: ldS,
          b: values, ldb: dv,
          beta: 1, c: out, ldc: dv)
      }
    }

    /// One step of the online softmax for one row: turns the row's masked logits into weights
    /// `exp(S − m_new)`, updates the running maximum and sum, and rescales the output row
    /// accumulated so far by `exp(m_old − m_new)` when the maximum grew.
    @inline(__always)
    func updateRow(
      _ row: UnsafeMutablePointer<Scalar>, count: Int,
      maximum: UnsafeMutablePointer<Scalar>, sum: UnsafeMutablePointer<Scalar>,
      output: UnsafeMutablePointer<Scalar>, dv: Int
    ) {
      let blockMaximum = RowSoftmax.maximum(row, count: count, using: kernels)
      let old = maximum.pointee
      // A NaN maximum, old or new, wins and stays: the row is poisoned for good.
      let new = old.isNaN || blockMaximum <= old ? old : blockMaximum
      guard new != -Scalar.infinity else {
        // Every key of this tile is masked for the row (and all before were too).
        row.update(repeating: 0, count: count)
        return
      }
      let blockSum = kernels.exponentiate(row, count: count, subtracting: new)
      if new == old {
        sum.pointee += blockSum
      } else {
        if old != -Scalar.infinity {
          let correction = Scalar.exponential(old - new)
          sum.pointee *= correction
          kernels.scale(output, count: dv, by: correction)
        }
        sum.pointee += blockSum
        maximum.pointee = new
      }
    }

    /// Masks `count` logits of a row in place with the tensor mask: blocked entries (boolean, or
    /// an additive `-infinity`) become `-infinity`, others get the additive bias.
    @inline(__always)
    func applyMask(row: UnsafeMutablePointer<Scalar>, count: Int, maskOffset: Int) {
      switch problem.mask.values {
      case .none: break
      case .boolean(let allowed, let invert):
        allowed.withUnsafeBufferPointer { mask in
          let m = mask.baseAddress! + maskOffset
          for j in 0..<count where m[j] == invert { row[j] = -Scalar.infinity }
        }
      case .additive(let bias):
        bias.withUnsafeBufferPointer { mask in
          let m = mask.baseAddress! + maskOffset
          // Assigning -inf (rather than adding it) keeps a NaN logit of a masked key out.
          for j in 0..<count {
            let b = m[j]
            row[j] = b == -Scalar.infinity ? b : row[j] + b
          }
        }
      }
    }
  }
}
