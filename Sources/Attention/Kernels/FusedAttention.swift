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
/// and finishes each row with `O /= l` and log-sum-exp `m + log l`. The two products are BLAS
/// gemm calls, or for tiles small enough that gemm's packing dominates, the C kernels' unpacked
/// product (``TileProducts/Multiplier``, decided by the plan). Non-finite values follow the
/// library's policy exactly as ``NaiveAttention`` and ``MaterializedAttention`` do: rows that see
/// no key keep `O = 0` and get `-infinity`; a NaN logit, or visible logits that are all
/// `-infinity`, make exactly their row NaN; masked keys never leak NaN or infinity.
///
/// Decoding-like problems with too few items for the cores split each item's keys into ranges
/// computed as items of their own and merged by log-sum-exp (flash-decoding; see
/// ``Blocking/keySplitCount(items:rows:keys:)`` and ``mergeKeyRanges(_:rows:rowsPerHead:dv:rules:queryHeadCount:partialOutput:partialLogSumExp:into:logSumExp:)``).
///
/// Extra memory: one `Bq × Bk` tile and two `Bq` vectors per worker — independent of `Nq · Nk`
/// (with split keys, also each range's partial rows: `splits · B · Hq · Nq · (Dv + 1)`). Results do not depend on the number of threads: each item is
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
    /// The sizes were chosen by measurement: packing costs favour large tiles, the score tile
    /// should stay in L2 (256 × 512 Floats are 512 KiB), and `Bq` adapts to the shape only
    /// (never to the thread count, so results stay bit-identical whatever
    /// ``AttentionThreads/maximumCount`` is), halving down to 32 until there are at least
    /// ``minimumItemCount`` work items. The figures are in the article "Fused kernel tiles"
    /// (`Sources/Attention/Documentation.docc/FusedKernelTiles.md`).
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

    /// The fewest keys one part of a split key range gets (``keySplitCount(items:rows:keys:)``).
    static let minimumKeysPerSplit = 1024

    /// Into how many ranges the keys of each work item are split (flash-decoding): enough for
    /// ``minimumItemCount`` items in all when a decoding-like problem — at most
    /// ``BLAS/matrixVectorRows`` query rows per item, so its tiles are streamed, not multiplied —
    /// has fewer items than that (a few heads against a long cache), with at least
    /// ``minimumKeysPerSplit`` keys per range; else 1. Each range is computed as an item of its
    /// own (output rows normalised within the range, and their log-sum-exp), and the ranges are
    /// merged by their log-sum-exps, exactly in real arithmetic. Depends on the shape only.
    static func keySplitCount(items: Int, rows: Int, keys: Int) -> Int {
      guard items > 0, items < minimumItemCount, rows <= BLAS.matrixVectorRows,
        keys >= 2 * minimumKeysPerSplit
      else { return 1 }
      return Swift.min((minimumItemCount + items - 1) / items, keys / minimumKeysPerSplit)
    }

    /// How many query heads one work item computes together: the `Hq / Hkv` heads that share a
    /// key/value head when their queries fit one block (`Nq·g ≤ 256` rows, one unpacked
    /// sequence) and there are still at least ``minimumItemCount`` items, or fewer items whose keys
    /// are split (``keySplitCount(items:rows:keys:)``); else 1. Decoding with
    /// grouped-query attention then streams each K and V tile once for the whole group instead
    /// of once per query head. Depends on the shape only, never on the thread count, so results
    /// stay bit-identical whatever ``AttentionThreads/maximumCount`` is.
    static func headGroup<Scalar: AttentionScalar>(for problem: AttentionProblem<Scalar>) -> Int {
      let group = problem.groupSize
      guard group > 1, problem.rules.segments.count == 1,
        problem.queryCount * group <= 256
      else { return 1 }
      let items = problem.batchCount * problem.keyValueHeadCount
      if items >= minimumItemCount { return group }
      // Too few groups to share, but a decoding step whose keys will be split among the cores
      // instead (keySplitCount): grouped, K and V are still read once.
      let splits = keySplitCount(
        items: items, rows: problem.queryCount * group, keys: problem.keyCount)
      return splits > 1 ? group : 1
    }
  }

  // Specialised entry points: the public generic API is not inlinable, so without these a
  // caller in another module would run the unspecialised generic body (witness-table arithmetic
  // in the inner loops).
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  static func compute<Scalar: AttentionScalar>(
    _ problem: AttentionProblem<Scalar>, plan: AttentionPlan,
    query: [Scalar], key: [Scalar], value: [Scalar],
    extras: AttentionOutputs, kernels: VectorKernels = .active
  ) -> (output: [Scalar], probabilities: [Scalar]?, logSumExp: [Scalar]?) {
    let p = problem
    let blocking = plan.blocking
    let headCount = p.batchCount * p.queryHeadCount
    // Uninitialised: every output row and log-sum-exp belongs to exactly one work item (the
    // blocks cover each sequence's queries, the sequences cover the query axis), which zeroes its
    // rows itself — in parallel, and just before its products read them from cache — and writes
    // each log-sum-exp.
    var output = [Scalar](
      unsafeUninitializedCapacity: headCount * p.queryCount * p.valueDimension
    ) { _, count in count = headCount * p.queryCount * p.valueDimension }
    var logSumExp = [Scalar](unsafeUninitializedCapacity: headCount * p.queryCount) {
      _, count in count = headCount * p.queryCount
    }
    let blocks = plan.queryBlocks

    query.withUnsafeBufferPointer { q in
      key.withUnsafeBufferPointer { k in
        value.withUnsafeBufferPointer { v in
          output.withUnsafeMutableBufferPointer { o in
            logSumExp.withUnsafeMutableBufferPointer { lse in
              let context = Context(
                problem: p, blocking: blocking, query: q.baseAddress!, key: k.baseAddress!,
                value: v.baseAddress!, output: o.baseAddress!, logSumExp: lse.baseAddress!,
                centresKeys: plan.centresKeys, wantsLogSumExp: extras.contains(.logSumExp),
                multiplier: plan.smallProducts ? .small(kernels) : .blas,
                kernels: kernels)
              let group = plan.headGroup
              let splits = plan.keySplits
              // With split keys each range writes its own partial rows and log-sum-exps, merged
              // after all items (see Blocking.keySplitCount).
              let partialRows = splits > 1 ? headCount * p.queryCount : 0
              let partialOutput = UnsafeMutablePointer<Scalar>.allocate(
                capacity: splits * partialRows * p.valueDimension)
              let partialLogSumExp = UnsafeMutablePointer<Scalar>.allocate(
                capacity: splits * partialRows)
              defer {
                partialOutput.deallocate()
                partialLogSumExp.deallocate()
              }
              let contexts =
                splits == 1
                ? [context]
                : (0..<splits).map { split in
                  context.keyRange(
                    split, of: splits,
                    output: partialOutput + split * partialRows * p.valueDimension,
                    logSumExp: partialLogSumExp + split * partialRows)
                }
              ParallelWork.forEachItem(
                count: headCount / group * blocks.count * splits, maximumWorkers: plan.workerCount
              ) { nextItem in
                var scratch = Scratch<Scalar>(
                  blocking: blocking, centredKeyDimension: plan.centresKeys ? p.keyDimension : 0,
                  transposedKeyDimension: plan.smallProducts ? p.keyDimension : 0)
                while let splitItem = nextItem() {
                  let item = splitItem / splits
                  // Within a head the last query blocks come first: under a causal mask they
                  // are the longest, and starting them early balances the workers' ends.
                  let head = item / blocks.count * group
                  let block = blocks[blocks.count - 1 - item % blocks.count]
                  contexts[splitItem % splits].run(
                    head: head, heads: group, block: block, scratch: &scratch)
                }
                scratch.deallocate()
              }
              if splits > 1 {
                mergeKeyRanges(
                  splits, rows: partialRows, rowsPerHead: p.queryCount, dv: p.valueDimension,
                  rules: p.rules, queryHeadCount: p.queryHeadCount, partialOutput: partialOutput,
                  partialLogSumExp: partialLogSumExp, into: o.baseAddress!,
                  logSumExp: lse.baseAddress!)
              }
            }
          }
        }
      }
    }
    return (output, nil, extras.contains(.logSumExp) ? logSumExp : nil)
  }

  /// Merges the partial rows of `splits` key ranges (row `r` of range `s` at
  /// `partialOutput[(s·rows + r)·dv…]`, its log-sum-exp `λ_s` at `partialLogSumExp[s·rows + r]`)
  /// one range after the other by ``LogSumExpMerge`` — `Λ = log Σ_s e^λ_s`, `O = Σ_s e^(λ_s − Λ)·O_s`,
  /// exact in real arithmetic — then adds each head's sink (`Λ ← log(e^Λ + e^σ)`). A range the
  /// row sees no key of (`λ_s = −∞`, zeros) contributes nothing, also when it is the only one
  /// (zeros and `−∞`, or `σ` with a sink); a NaN `λ_s` (a NaN logit in the range) makes the row
  /// NaN.
  static func mergeKeyRanges<Scalar: AttentionScalar>(
    _ splits: Int, rows: Int, rowsPerHead: Int, dv: Int, rules: AttentionRules<Scalar>,
    queryHeadCount: Int, partialOutput: UnsafePointer<Scalar>,
    partialLogSumExp: UnsafePointer<Scalar>, into output: UnsafeMutablePointer<Scalar>,
    logSumExp: UnsafeMutablePointer<Scalar>
  ) {
    for row in 0..<rows {
      let out = output + row * dv
      out.update(repeating: 0, count: dv)
      var λ = -Scalar.infinity
      for split in 0..<splits {
        LogSumExpMerge.add(
          partialOutput + (split * rows + row) * dv,
          logSumExp: partialLogSumExp[split * rows + row], into: out, logSumExp: &λ, count: dv)
      }
      if let sink = rules.sink(head: (row / rowsPerHead) % queryHeadCount) {
        LogSumExpMerge.addSink(sink, into: out, logSumExp: &λ, count: dv)
      }
      logSumExp[row] = λ
    }
  }

  /// Plans and runs the fused path with the given tile sizes instead of the standard ones (the
  /// tests and the fuzzer cross tile boundaries with small tiles), and optionally the vector
  /// loops of one instruction set (the tests run each) and the choice of multiplier
  /// (``AttentionPlan/smallProducts``; `nil` decides by the tiles' sizes).
  static func compute<Scalar: AttentionScalar>(
    _ problem: AttentionProblem<Scalar>, query: [Scalar], key: [Scalar], value: [Scalar],
    extras: AttentionOutputs, blocking: Blocking, kernels: VectorKernels = .active,
    smallProducts: Bool? = nil, keySplits: Int? = nil
  ) -> (output: [Scalar], probabilities: [Scalar]?, logSumExp: [Scalar]?) {
    compute(
      problem,
      plan: AttentionPlan(
        problem, path: .fused, extras: extras, blocking: blocking, smallProducts: smallProducts,
        keySplits: keySplits),
      query: query, key: key, value: value, extras: extras, kernels: kernels)
  }

  /// One worker's tiles: the scores/probabilities `Bq × Bk`, the running row max and sum, a
  /// tile's per-row maxima, shifts and sums, when
  /// the keys are centred (``KeyCentring``) the key centre, the centred key tile `Bk × Dk` and
  /// each row's logit shift, and with the small product the transposed key tile `Dk × Bk`.
  struct Scratch<Scalar: AttentionScalar> {
    let scores: UnsafeMutablePointer<Scalar>
    let rowMaximum: UnsafeMutablePointer<Scalar>
    let rowSum: UnsafeMutablePointer<Scalar>
    /// Per row of a tile: its new running maximum, the shift its logits are exponentiated with
    /// (also the final scale factors), and its sum of weights.
    let tileMaximum: UnsafeMutablePointer<Scalar>
    let tileShift: UnsafeMutablePointer<Scalar>
    let tileSum: UnsafeMutablePointer<Scalar>
    let keyCentre: UnsafeMutablePointer<Scalar>
    /// `Bk` ones: the vector of the centring's matrix-vector products.
    let ones: UnsafeBufferPointer<Scalar>
    /// The Double workspace of the row shifts (``KeyCentring/shiftWorkspaceCount(dimension:)``).
    let shiftWorkspace: UnsafeMutablePointer<Double>
    let centredKeys: UnsafeMutablePointer<Scalar>
    let rowShift: UnsafeMutablePointer<Double>
    let transposedKeys: UnsafeMutablePointer<Scalar>

    init(blocking: Blocking, centredKeyDimension: Int, transposedKeyDimension: Int) {
      // 64-byte alignment: a cache line, and a whole 16-lane Float vector per row start.
      scores = UnsafeMutableRawPointer.allocate(
        byteCount: blocking.queryRows * blocking.keyColumns * MemoryLayout<Scalar>.stride,
        alignment: 64
      ).bindMemory(to: Scalar.self, capacity: blocking.queryRows * blocking.keyColumns)
      rowMaximum = .allocate(capacity: blocking.queryRows)
      rowSum = .allocate(capacity: blocking.queryRows)
      tileMaximum = .allocate(capacity: blocking.queryRows)
      tileShift = .allocate(capacity: blocking.queryRows)
      tileSum = .allocate(capacity: blocking.queryRows)
      keyCentre = .allocate(capacity: centredKeyDimension)
      let ones = UnsafeMutableBufferPointer<Scalar>.allocate(
        capacity: centredKeyDimension > 0 ? blocking.keyColumns : 0)
      ones.initialize(repeating: 1)
      self.ones = UnsafeBufferPointer(ones)
      shiftWorkspace = .allocate(
        capacity: centredKeyDimension > 0
          ? KeyCentring.shiftWorkspaceCount(dimension: centredKeyDimension) : 0)
      centredKeys = .allocate(capacity: blocking.keyColumns * centredKeyDimension)
      rowShift = .allocate(capacity: centredKeyDimension > 0 ? blocking.queryRows : 0)
      transposedKeys = .allocate(capacity: transposedKeyDimension * blocking.keyColumns)
    }

    func deallocate() {
      scores.deallocate()
      rowMaximum.deallocate()
      rowSum.deallocate()
      tileMaximum.deallocate()
      tileShift.deallocate()
      tileSum.deallocate()
      keyCentre.deallocate()
      ones.deallocate()
      shiftWorkspace.deallocate()
      centredKeys.deallocate()
      rowShift.deallocate()
      transposedKeys.deallocate()
    }
  }

  /// Raw pointers to one call's buffers, shared read-only by the workers (each writes only the
  /// output rows of its own items).
  ///
  /// A class: the kernel's methods and nested functions capture `self`, and a struct holding the
  /// problem's arrays was copied member by member (a retain and release per array) each time —
  /// 2–3 % of a batch of short sentences.
  final class Context<Scalar: AttentionScalar>: @unchecked Sendable {
    let problem: AttentionProblem<Scalar>
    let blocking: Blocking
    let query: UnsafePointer<Scalar>
    let key: UnsafePointer<Scalar>
    let value: UnsafePointer<Scalar>
    let output: UnsafeMutablePointer<Scalar>
    let logSumExp: UnsafeMutablePointer<Scalar>
    /// Whether the plan centres the keys (``KeyCentring``).
    let centresKeys: Bool
    /// Whether the caller asked for the log-sum-exp: without it the rows' logarithms are skipped
    /// (one `log` per row was 3 % of (32, 12, 64, 32)).
    let wantsLogSumExp: Bool
    /// What multiplies the tiles (``AttentionPlan/smallProducts``).
    let multiplier: TileProducts.Multiplier
    /// The vector loops of the softmax passes (``VectorKernels/active`` unless a test asks).
    let kernels: VectorKernels
    /// With split keys (``Blocking/keySplitCount(items:rows:keys:)``): which of how many equal
    /// parts of each block's key range this context computes, into partial buffers whose rows
    /// are normalised within the part, sinks left to the merge. `nil`: the whole range.
    let keySplit: (index: Int, count: Int)?

    init(
      problem: AttentionProblem<Scalar>, blocking: Blocking, query: UnsafePointer<Scalar>,
      key: UnsafePointer<Scalar>, value: UnsafePointer<Scalar>,
      output: UnsafeMutablePointer<Scalar>, logSumExp: UnsafeMutablePointer<Scalar>,
      centresKeys: Bool, wantsLogSumExp: Bool, multiplier: TileProducts.Multiplier,
      kernels: VectorKernels, keySplit: (index: Int, count: Int)? = nil
    ) {
      self.problem = problem
      self.blocking = blocking
      self.query = query
      self.key = key
      self.value = value
      self.output = output
      self.logSumExp = logSumExp
      self.centresKeys = centresKeys
      self.wantsLogSumExp = wantsLogSumExp
      self.multiplier = multiplier
      self.kernels = kernels
      self.keySplit = keySplit
    }

    /// This context for part `index` of `count` of every block's keys, writing its rows and
    /// log-sum-exps to `output` and `logSumExp` (laid out as the whole call's).
    func keyRange(
      _ index: Int, of count: Int, output: UnsafeMutablePointer<Scalar>,
      logSumExp: UnsafeMutablePointer<Scalar>
    ) -> Context {
      Context(
        problem: problem, blocking: blocking, query: query, key: key, value: value,
        output: output, logSumExp: logSumExp, centresKeys: false, wantsLogSumExp: true,
        multiplier: multiplier, kernels: kernels, keySplit: (index, count))
    }

    /// Where one block of queries of one or more heads (sharing a key/value head) sits: row `r`
    /// is query `firstQuery + r % queriesPerHead` of head `firstHead + r / queriesPerHead`.
    struct Rows {
      let batch: Int
      let firstHead: Int
      let kvHead: Int
      let segment: AttentionRules<Scalar>.Segment
      /// The block's first query (index along the query axis).
      let firstQuery: Int
      /// The queries of each head in the block.
      let queriesPerHead: Int
      /// The block's first row in the `[B·Hq·Nq]` rows of the output (the heads' rows follow
      /// each other in memory: a group's block covers every query of each of its heads).
      let firstRow: Int

      @inline(__always) func head(ofRow row: Int) -> Int { firstHead + row / queriesPerHead }
      @inline(__always) func query(ofRow row: Int) -> Int {
        firstQuery + row % queriesPerHead
      }
    }

    /// Computes the output rows and log-sum-exp of one block of queries of one head.
    ///
    /// The key tiles walked are those between the first row's key band start and the last row's
    /// band end (both ends only grow with the query index); each is classified once: empty tiles
    /// are skipped, full tiles need no masking, and partial tiles go in slices of
    /// ``diagonalRows`` rows, each slice with only the keys its own rows may see — so a causal
    /// diagonal or a window edge computes `Bq · 64 / 2` wasted scores per tile, not `Bq² / 2`,
    /// and a sliding window costs work in proportion to `N·W`.
    func run(
      head: Int, heads: Int, block: AttentionPlan.QueryBlock, scratch: inout Scratch<Scalar>
    ) {
      // One copy of the rules per item (a load from the class retains their arrays), borrowed
      // by everything below.
      let rules = problem.rules
      let dv = problem.valueDimension
      let b = head / problem.queryHeadCount
      let h = head % problem.queryHeadCount
      let segment = rules.segments[block.segment]
      let rowsInfo = Rows(
        batch: b, firstHead: h,
        kvHead: b * problem.keyValueHeadCount + problem.keyValueHead(forQueryHead: h),
        segment: segment, firstQuery: block.queries.lowerBound,
        queriesPerHead: block.queries.count,
        firstRow: head * problem.queryCount + block.queries.lowerBound)
      let queriesPerHead = block.queries.count
      let rows = heads * queriesPerHead
      let out = output + rowsInfo.firstRow * dv
      let m = scratch.rowMaximum
      let l = scratch.rowSum
      // The output rows are written by the first tile's `P·V` product when that tile covers
      // every row (no zeroing pass: 4 % of a batch of short sentences), else zeroed first.
      var outputWritten = false
      func zeroOutput() {
        if !outputWritten { out.update(repeating: 0, count: rows * dv) }
        outputWritten = true
      }
      m.update(repeating: -Scalar.infinity, count: rows)
      l.update(repeating: 0, count: rows)
      /// The key band of query `firstQuery + index` (the same for every head of the block).
      func band(_ index: Int) -> Range<Int> {
        rules.keyBand(batch: b, query: rowsInfo.firstQuery + index, in: segment)
      }
      var keyStart = band(0).lowerBound
      var keyEnd = band(queriesPerHead - 1).upperBound
      if let keySplit {
        // Equal parts of whole tiles, so a split never cuts a tile that the whole range keeps.
        let tiles = (keyEnd - keyStart + blocking.keyColumns - 1) / blocking.keyColumns
        let tilesPerPart = (tiles + keySplit.count - 1) / keySplit.count
        let start = Swift.min(
          keyEnd, keyStart + keySplit.index * tilesPerPart * blocking.keyColumns)
        keyEnd = Swift.min(keyEnd, start + tilesPerPart * blocking.keyColumns)
        keyStart = start
      }
      let centre =
        centresKeys
        ? centring(rowsInfo, rows: rows, keys: keyStart..<keyEnd, scratch: scratch) : nil

      /// Each row's final factor (1/l, or with a sink l's correction; NaN for a row whose visible
      /// logits were all -infinity) into the scratch's tile shifts, and its log-sum-exp. Called
      /// once the running maxima and sums are final: by the last tile's `process`, which has its
      /// product apply them, or after the tiles.
      func writeFactors() {
        let factor = scratch.tileShift
        // Sinks are looked up per row only when the problem has some (the head of a row costs a
        // division: 2 % of a batch of short sentences when done for every row).
        let hasSinks = keySplit == nil && rules.sinks != nil
        for i in 0..<rows {
          factor[i] = 1
          let row = rowsInfo.firstRow + i
          // Centred keys moved the row's logits by −δ: the log-sum-exp gets δ back, the sink −δ.
          // In Double, so adding it back costs no more than the one rounding of the result.
          let shift = centre == nil ? 0 : scratch.rowShift[i]
          if hasSinks, let sink = rules.sink(head: rowsInfo.head(ofRow: i)).map(Double.init) {
            // The sink joins the denominator only: m' = max(m, σ), l' = l·e^(m − m') + e^(σ − m').
            // A row that sees no key (m = −∞) keeps its zeros and gets log-sum-exp σ, exactly.
            // In Double and in the logits' own coordinates (m + δ): moving σ by −δ in the row's
            // type instead rounded it to ulp(δ), which with centred keys of large shifts cost the
            // log-sum-exp up to 1e-4 (found by the differential fuzzer beyond its 300 default seeds).
            let maximum = Double(m[i]) + shift
            let newMaximum = maximum.isNaN || maximum >= sink ? maximum : sink
            let correction = Double.exponential(maximum - newMaximum)
            let sum = Double(l[i]) * correction + Double.exponential(sink - newMaximum)
            factor[i] = Scalar(correction / sum)
            logSumExp[row] = wantsLogSumExp ? Scalar(newMaximum + Double.logarithm(sum)) : 0
            continue
          }
          if m[i] == -Scalar.infinity {
            // Every logit was -infinity. A row that sees no key keeps its zeros; a row that sees
            // keys whose logits are all -infinity (an infinite Q or K) is NaN, as IEEE arithmetic
            // makes it (exp(−∞ − (−∞))) and as the other paths give. Rare: asked key by key.
            if rules.seesAnyKey(
              batch: b, head: rowsInfo.head(ofRow: i), query: rowsInfo.query(ofRow: i),
              among: keyStart..<keyEnd)
            {
              // NaN times whatever the row holds: the row is NaN once the factors are applied.
              factor[i] = .nan
              logSumExp[row] = .nan
            } else {
              logSumExp[row] = -Scalar.infinity
            }
            continue
          }
          factor[i] = 1 / l[i]
          guard wantsLogSumExp else {
            logSumExp[row] = 0
            continue
          }
          logSumExp[row] =
            centre == nil
            ? m[i] + Scalar.logarithm(l[i])
            : Scalar(Double(m[i]) + Double(Scalar.logarithm(l[i])) + shift)
        }
      }
      // Whether the last tile's value product already applied the final factors.
      var factorsApplied = false

      var firstKey = keyStart
      while firstKey < keyEnd {
        let keys = firstKey..<Swift.min(firstKey + blocking.keyColumns, keyEnd)
        let kind = rules.tileKind(batch: b, queries: block.queries, keys: keys, in: segment)
        // The tile's keys as the products read them: in place, or centred once for all rows.
        var tile = Tile(
          keys: key + problem.keyRow(kvHead: rowsInfo.kvHead, key: keys.lowerBound)
            * problem.keyDimension,
          firstKey: keys.lowerBound)
        if let centre, kind != .empty {
          KeyCentring.subtract(
            centre, fromKeys: tile.keys, count: keys.count, dimension: problem.keyDimension,
            ones: scratch.ones.baseAddress!, into: scratch.centredKeys)
          tile.keys = UnsafePointer(scratch.centredKeys)
        }
        if case .small(let kernels) = multiplier, kind != .empty {
          // Once per tile for all its rows and slices: the small product reads Kᵀ by rows.
          TileProducts.transposeKeys(
            tile.keys, count: keys.count, dimension: problem.keyDimension,
            into: scratch.transposedKeys, using: kernels)
          tile.transposedKeys = UnsafePointer(scratch.transposedKeys)
          tile.transposedStride = keys.count
        }
        switch kind {
        case .empty:
          break
        case .full:
          // The last tile of the rows' walk finishes them in its value product.
          factorsApplied = process(
            rowsInfo, rules: rules, rows: 0..<rows, keys: keys, tile: tile, masked: false,
            accumulate: outputWritten, scratch: scratch,
            finishes: keys.upperBound == keyEnd, writeFactors: writeFactors)
          outputWritten = true
        case .partial
        where band(queriesPerHead - 1).lowerBound <= keys.lowerBound
          && band(0).upperBound >= keys.upperBound:
          // Every row's band covers the tile: only the mask tensor cuts it.
          factorsApplied = process(
            rowsInfo, rules: rules, rows: 0..<rows, keys: keys, tile: tile, masked: true,
            accumulate: outputWritten, scratch: scratch,
            finishes: keys.upperBound == keyEnd, writeFactors: writeFactors)
          outputWritten = true
        case .partial:
          zeroOutput()
          // Head by head (bands grow with the query, not across heads), in slices of rows.
          for headStart in stride(from: 0, to: rows, by: queriesPerHead) {
            var start = 0
            while start < queriesPerHead {
              let end = Swift.min(start + Self.diagonalRows, queriesPerHead)
              // The keys any row of the slice sees: its bands' ends only grow with the row.
              let lower = Swift.max(keys.lowerBound, band(start).lowerBound)
              let upper = Swift.min(keys.upperBound, band(end - 1).upperBound)
              // A slice that sees none of these keys has nothing to add.
              if lower < upper {
                process(
                  rowsInfo, rules: rules, rows: (headStart + start)..<(headStart + end),
                  keys: lower..<upper,
                  tile: tile, masked: true, accumulate: true, scratch: scratch)
              }
              start = end
            }
          }
        }
        firstKey = keys.upperBound
      }
      // Rows that saw no tile at all keep zeros.
      zeroOutput()
      if !factorsApplied {
        writeFactors()
        kernels.scale(rows: out, count: dv, rowCount: rows, stride: dv, by: scratch.tileShift)
      }
    }

    /// The centre of the keys `keys` that the block's `rows` walk, with each row's logit shift in
    /// the scratch, or `nil` when the block is not centred (``KeyCentring``).
    func centring(
      _ info: Rows, rows: Int, keys: Range<Int>, scratch: Scratch<Scalar>
    ) -> UnsafePointer<Scalar>? {
      let dk = problem.keyDimension
      guard
        KeyCentring.mean(
          ofKeys: key + problem.keyRow(kvHead: info.kvHead, key: keys.lowerBound) * dk,
          count: keys.count, dimension: dk, ones: scratch.ones, into: scratch.keyCentre,
          using: multiplier),
        KeyCentring.shifts(
          queries: query + info.firstRow * dk, rows: rows, centre: scratch.keyCentre,
          dimension: dk, scale: problem.rules.scale, workspace: scratch.shiftWorkspace,
          into: scratch.rowShift)
      else { return nil }
      return UnsafePointer(scratch.keyCentre)
    }

    /// The key rows of one tile as the score product reads them (in place or centred), from key
    /// index `firstKey` on; for the small product also transposed (`Dk × keys`, row stride
    /// `transposedStride`).
    struct Tile {
      var keys: UnsafePointer<Scalar>
      let firstKey: Int
      var transposedKeys: UnsafePointer<Scalar>? = nil
      var transposedStride = 0
    }

    /// Rows cut by a tile's edge (causal diagonal, window edge, sequence end) are processed in
    /// slices of this many rows: the masked triangle computed per block of queries is
    /// `Bq · 64 / 2` scores instead of `Bq² / 2`. 32 (more, smaller products) and 128 measured
    /// the same as 64 within noise.
    static var diagonalRows: Int { 64 }

    /// Unmasked value tiles up to this many elements (32 KiB of Float, an L1 data cache) skip
    /// the non-finite scan before their product (``process(_:rules:rows:keys:tile:masked:accumulate:scratch:)``).
    static var unscannedValueCount: Int { 8192 }

    /// Scores, online-softmax step and `O += P·V` for the rows `rows` of a block of queries
    /// against the keys `keys`; `masked` when some of these rows may not see some of these keys.
    /// Without `accumulate` the rows' output is written (`O = P·V`): their first tile, whose
    /// running maxima are all `-infinity`, so nothing reads the output before.
    ///
    /// - Parameters:
    ///   - finishes: this is the rows' last tile: once their running maxima and sums are final,
    ///     `writeFactors` writes their final factors into the scratch's tile shifts, and the
    ///     value product applies them as it stores the rows, when it can (the small product,
    ///     finite values).
    ///   - writeFactors: see `finishes`.
    /// - Returns: whether the final factors were written and applied.
    @discardableResult
    func process(
      _ info: Rows, rules: AttentionRules<Scalar>, rows: Range<Int>, keys: Range<Int>, tile: Tile,
      masked: Bool,
      accumulate: Bool, scratch: Scratch<Scalar>, finishes: Bool = false,
      writeFactors: () -> Void = {}
    ) -> Bool {
      let (dk, dv) = (problem.keyDimension, problem.valueDimension)
      let ldS = blocking.keyColumns
      let columns = keys.count
      let scores = scratch.scores + rows.lowerBound * ldS
      let out = output + (info.firstRow + rows.lowerBound) * dv
      let values = value + problem.keyRow(kvHead: info.kvHead, key: keys.lowerBound) * dv
      if rows.count <= BLAS.matrixVectorRows {
        // Decoding: the score product is the matrix-vector loop, which pulls K from memory at
        // about half the rate of a plain in-order read (its row sums hold back the loads); read
        // in order first, the tile is then multiplied from L2 — 20 % faster on
        // 1×32×1→4096×128, 10 % with grouped queries.
        kernels.streamIntoCache(
          tile.keys + (keys.lowerBound - tile.firstKey) * dk, count: keys.count * dk)
      }
      // Where the stored products are the logits (nothing masked or modified), the small
      // product also gives their row maxima.
      let maximaWritten = TileProducts.scores(
        rows: rows.count, keys: columns, keyDimension: dk, scale: rules.scale,
        query: query + (info.firstRow + rows.lowerBound) * dk,
        key: tile.keys + (keys.lowerBound - tile.firstKey) * dk,
        transposedKey: tile.transposedKeys.map { $0 + (keys.lowerBound - tile.firstKey) },
        transposedKeyStride: tile.transposedStride,
        into: scores, stride: ldS, multiplier: multiplier,
        maxima: masked || rules.modifiesLogits ? nil : scratch.tileMaximum)
      if masked || rules.modifiesLogits {
        for r in 0..<rows.count {
          let i = rows.lowerBound + r
          let query = info.query(ofRow: i)
          rules.prepareLogits(
            scores + r * ldS, keys: keys,
            band: rules.keyBand(batch: info.batch, query: query, in: info.segment),
            batch: info.batch, head: info.head(ofRow: i), query: query,
            position: rules.position(ofQuery: query, in: info.segment),
            segmentKeyStart: info.segment.keys.lowerBound)
        }
      }
      updateRows(
        scores, count: columns, rowCount: rows.count, stride: ldS,
        maximum: scratch.rowMaximum + rows.lowerBound, sum: scratch.rowSum + rows.lowerBound,
        output: out, dv: dv, scratch: scratch, tileMaximaWritten: maximaWritten)
      // Only a tile with masked keys needs the scan for non-finite values (the product would
      // multiply their zero weights by them); where every row sees every key, the product's
      // NaN and infinity are the definition's. A tile larger than L1 is scanned anyway: the
      // scan reads it in order, just before the product, which then finds it in cache instead
      // of reading it from memory a column block at a time (decoding is bound by that read: 20 %
      // slower without the scan on 1×32×1→4096×128). Small tiles skip it (3 % of a batch of
      // short sentences).
      let scansValues = masked || keys.count * dv > Self.unscannedValueCount
      let valuesAreFinite =
        !scansValues || !NonFinite.contains(values, count: keys.count * dv, using: kernels)
      // The final factors (1/l), applied by the small product as it stores the rows: the same
      // roundings as the pass over the rows after (1–2 % of a batch of short sentences).
      var rowScales: UnsafePointer<Scalar>? = nil
      if finishes, valuesAreFinite, case .small = multiplier {
        writeFactors()
        rowScales = UnsafePointer(scratch.tileShift)
      }
      TileProducts.addWeightedValues(
        problem: problem, weights: scores, stride: ldS, rows: rows.count,
        rowQuery: {
          (info.head(ofRow: rows.lowerBound + $0), info.query(ofRow: rows.lowerBound + $0))
        },
        batch: info.batch, keys: keys,
        values: values,
        valuesAreFinite: valuesAreFinite, into: out, accumulate: accumulate,
        multiplier: multiplier, rowScales: rowScales)
      return rowScales != nil
    }

    /// One step of the online softmax for `rowCount` rows of a tile (`stride` apart): turns
    /// each row's masked logits into weights `exp(S − m_new)`, updates its running maximum and
    /// sum, and rescales the output row accumulated so far by `exp(m_old − m_new)` when the
    /// maximum grew. The passes over the rows run one call each for the whole tile.
    ///
    /// - Parameter tileMaximaWritten: the score product already left the rows' largest values
    ///   (NaNs skipped) in the scratch's tile maxima.
    @inline(__always)
    func updateRows(
      _ scores: UnsafeMutablePointer<Scalar>, count: Int, rowCount: Int, stride: Int,
      maximum: UnsafeMutablePointer<Scalar>, sum: UnsafeMutablePointer<Scalar>,
      output: UnsafeMutablePointer<Scalar>, dv: Int, scratch: Scratch<Scalar>,
      tileMaximaWritten: Bool
    ) {
      let newMaximum = scratch.tileMaximum
      let shift = scratch.tileShift
      let tileSum = scratch.tileSum
      RowSoftmax.maxima(
        scores, count: count, rowCount: rowCount, stride: stride, into: newMaximum,
        using: kernels, vectorMaximaGiven: tileMaximaWritten)
      for r in 0..<rowCount {
        let old = maximum[r]
        // A NaN maximum, old or new, wins and stays: the row is poisoned for good.
        let new = old.isNaN || newMaximum[r] <= old ? old : newMaximum[r]
        newMaximum[r] = new
        // A row all of whose keys so far are masked holds only -infinity here: shifted by 0,
        // its weights are exp(−∞) = 0.
        shift[r] = new == -Scalar.infinity ? 0 : new
      }
      kernels.exponentiate(
        rows: scores, count: count, rowCount: rowCount, stride: stride, subtracting: shift,
        sums: tileSum)
      for r in 0..<rowCount {
        let (old, new) = (maximum[r], newMaximum[r])
        if new == -Scalar.infinity { continue }
        if new == old {
          sum[r] += tileSum[r]
        } else {
          if old != -Scalar.infinity {
            let correction = Scalar.exponential(old - new)
            sum[r] *= correction
            RowSoftmax.scale(output + r * dv, count: dv, by: correction, using: kernels)
          }
          sum[r] += tileSum[r]
          maximum[r] = new
        }
      }
    }
  }
}
