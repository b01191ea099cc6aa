/// How one attention call runs, worked out once before anything is allocated: the path the
/// backend takes, the fused kernel's tiles and work items, the number of workers, and every buffer
/// with its size. The memory-budget check reads this plan and the kernel then runs it, so the
/// bytes refused are the bytes that would have been allocated.
struct AttentionPlan: Sendable {
  /// An implementation path, as the backends map onto them.
  enum Path: Sendable {
    case naive
    case materialized
    case fused

    var name: String {
      switch self {
      case .naive: "the naive path (.naive)"
      case .materialized: "the materialised path (.blasMaterialized)"
      case .fused: "the fused path (.blas without probabilities)"
      }
    }
  }

  /// One buffer: what it holds, its shape in elements, and its size (`nil` if it overflows Int).
  struct Buffer: Sendable {
    var name: String
    var shape: [Int]
    var bytes: Int?
  }

  /// A block of query rows of one packed sequence: the unit of work of the fused kernel (for
  /// each batch and query head).
  struct QueryBlock: Sendable, Equatable {
    var segment: Int
    var queries: Range<Int>
  }

  let path: Path
  /// Workers the kernel spreads its items over (1 for a problem too small to share).
  let workerCount: Int
  /// The fused kernel's tile sizes (``FusedAttention/Blocking``); unused by the other paths.
  let blocking: FusedAttention.Blocking
  /// The fused kernel's query blocks of one (batch, head), in order.
  let queryBlocks: [QueryBlock]
  /// Query heads one fused work item computes together: 1, or the whole group sharing a
  /// key/value head (``FusedAttention/Blocking/headGroup(for:)``).
  let headGroup: Int
  /// The materialised path's score matrix per worker, in elements (0 when it keeps the
  /// probabilities tensor instead).
  let scoreScratchCount: Int
  /// Whether the fused kernel centres the keys (``KeyCentring``), for accuracy.
  let centresKeys: Bool
  /// Into how many parts the fused kernel splits each work item's keys, merged by log-sum-exp
  /// (``FusedAttention/Blocking/keySplitCount(items:rows:keys:)``); 1 for none.
  let keySplits: Int
  /// Whether the fused kernel's tiles are multiplied by the C loops' small product rather than
  /// BLAS (``TileProducts/Multiplier``).
  let smallProducts: Bool
  let buffers: [Buffer]

  /// The path a backend runs for the requested extras: the probabilities are the full score
  /// matrix, which only the materialised (and naive) paths hold.
  static func path(for backend: AttentionBackend, extras: AttentionOutputs) -> Path {
    switch backend {
    case .naive: .naive
    case .blas where !extras.contains(.probabilities): .fused
    case .blas, .blasMaterialized: .materialized
    }
  }

  /// The plan for `problem` on `path`, with at most `workers` workers.
  ///
  /// - Parameters:
  ///   - blocking: tile sizes to use instead of the standard ones (tests cross tile boundaries
  ///     with small tiles).
  ///   - smallProducts: whether the fused path multiplies its tiles with the small product,
  ///     instead of deciding by the tiles' sizes (``TileProducts/fitSmallProduct(rows:keys:keyDimension:valueDimension:)``);
  ///     the tests run both on the same shapes.
  init<Scalar: AttentionScalar>(
    _ problem: AttentionProblem<Scalar>, path: Path, extras: AttentionOutputs,
    workers: Int = AttentionThreads.maximumCount, blocking: FusedAttention.Blocking? = nil,
    smallProducts: Bool? = nil, keySplits requestedKeySplits: Int? = nil
  ) {
    let p = problem
    let size = MemoryLayout<Scalar>.stride
    let heads = [p.batchCount, p.queryHeadCount]
    let headCount = p.batchCount * p.queryHeadCount
    func buffer(_ name: String, _ shape: [Int], elementSize: Int = size) -> Buffer {
      var bytes: Int? = elementSize
      for dimension in shape {
        guard let current = bytes else { break }
        let (product, overflow) = current.multipliedReportingOverflow(by: dimension)
        bytes = overflow ? nil : product
      }
      return Buffer(name: name, shape: shape, bytes: bytes)
    }
    var buffers = [buffer("output", heads + [p.queryCount, p.valueDimension])]
    let probabilities = buffer("probabilities", heads + [p.queryCount, p.keyCount])
    // Below ~4 MFLOP (tens of microseconds) waking a second thread costs more than it saves:
    // (1, 1, 64, 64) took 0.03 ms on two workers, 0.02 ms on one.
    let availableWorkers = p.flopCount < 4e6 ? 1 : Swift.max(1, workers)
    let requestedBlocking = blocking
    var blocking = blocking ?? .standard(for: p)
    var queryBlocks: [QueryBlock] = []
    var headGroup = 1
    var scoreScratchCount = 0
    var workerCount = 1
    var centresKeys = false
    var keySplits = 1
    var usesSmallProducts = false
    switch path {
    case .fused:
      headGroup = requestedBlocking == nil ? FusedAttention.Blocking.headGroup(for: p) : 1
      if headGroup > 1 {
        // One block of every query of the group's heads: the group's rows share each K and V
        // tile, so it is read once for them all (GQA decoding).
        blocking = FusedAttention.Blocking(
          queryRows: headGroup * p.queryCount, keyColumns: blocking.keyColumns)
        queryBlocks = [QueryBlock(segment: 0, queries: 0..<p.queryCount)]
      } else {
        for (index, segment) in p.rules.segments.enumerated() {
          for start in stride(
            from: segment.queries.lowerBound, to: segment.queries.upperBound,
            by: blocking.queryRows)
          {
            let end = Swift.min(start + blocking.queryRows, segment.queries.upperBound)
            queryBlocks.append(QueryBlock(segment: index, queries: start..<end))
          }
        }
      }
      let (items, overflow) = (headCount / headGroup).multipliedReportingOverflow(
        by: queryBlocks.count)
      centresKeys = KeyCentring.applies(to: p)
      if !centresKeys && !overflow && p.rules.segments.count == 1 {
        keySplits = Swift.max(
          1,
          requestedKeySplits
            ?? FusedAttention.Blocking.keySplitCount(
              items: items, rows: blocking.queryRows, keys: p.keyCount))
      }
      let splitItems = items.multipliedReportingOverflow(by: keySplits)
      workerCount =
        overflow || splitItems.overflow
        ? availableWorkers : Swift.max(1, Swift.min(availableWorkers, splitItems.partialValue))
      buffers.append(buffer("log-sum-exp", heads + [p.queryCount]))
      if keySplits > 1 {
        buffers.append(
          buffer(
            "key-split partial outputs", [keySplits] + heads + [p.queryCount, p.valueDimension]))
        buffers.append(
          buffer("key-split partial log-sum-exps", [keySplits] + heads + [p.queryCount]))
      }
      buffers.append(
        buffer("tiles per worker", [workerCount, blocking.queryRows, blocking.keyColumns]))
      // Running maxima and sums, and a tile's maxima, shifts and sums.
      buffers.append(buffer("row maxima and sums", [workerCount, 5, blocking.queryRows]))
      usesSmallProducts =
        smallProducts
        ?? TileProducts.fitSmallProduct(
          rows: blocking.queryRows, keys: blocking.keyColumns, keyDimension: p.keyDimension,
          valueDimension: p.valueDimension)
      if usesSmallProducts {
        buffers.append(
          buffer("transposed key tiles", [workerCount, p.keyDimension, blocking.keyColumns]))
      }
      if centresKeys {
        buffers.append(
          buffer(
            "key centres and centred key tiles",
            [workerCount, blocking.keyColumns + 1, p.keyDimension]))
        buffers.append(buffer("ones", [workerCount, blocking.keyColumns]))
        buffers.append(
          buffer(
            "row logit shifts and their workspace",
            [
              workerCount,
              blocking.queryRows + KeyCentring.shiftWorkspaceCount(dimension: p.keyDimension),
            ], elementSize: 8))
      }
    case .naive:
      if extras.contains(.logSumExp) {
        buffers.append(buffer("log-sum-exp", heads + [p.queryCount]))
      }
      if extras.contains(.probabilities) { buffers.append(probabilities) }
      buffers.append(buffer("row logits", [p.keyCount]))
      buffers.append(buffer("row visibility", [p.keyCount], elementSize: 1))
    case .materialized:
      workerCount = Swift.max(1, Swift.min(availableWorkers, headCount))
      buffers.append(buffer("log-sum-exp", heads + [p.queryCount]))
      if extras.contains(.probabilities) {
        buffers.append(probabilities)
      } else {
        // One score matrix per worker, as large as the largest sequence's.
        let largest = p.rules.segments.map { [$0.queries.count, $0.keys.count] }
          .max {
            $0[0].multipliedReportingOverflow(by: $0[1]).partialValue
              < $1[0].multipliedReportingOverflow(by: $1[1]).partialValue
          }!
        let scores = buffer("scores per worker", [workerCount] + largest)
        buffers.append(scores)
        if scores.bytes != nil { scoreScratchCount = largest[0] * largest[1] }
      }
    }
    self.path = path
    self.workerCount = workerCount
    self.blocking = blocking
    self.queryBlocks = queryBlocks
    self.headGroup = headGroup
    self.scoreScratchCount = scoreScratchCount
    self.centresKeys = centresKeys
    self.keySplits = keySplits
    self.smallProducts = usesSmallProducts
    self.buffers = buffers
  }

  /// The sum of the buffers, `nil` if it (or any of them) overflows `Int`.
  var totalBytes: Int? {
    var total = 0
    for buffer in buffers {
      guard let bytes = buffer.bytes else { return nil }
      let (sum, overflow) = total.addingReportingOverflow(bytes)
      if overflow { return nil }
      total = sum
    }
    return total
  }

  /// Whether the plan fits in `budget` bytes.
  func fits(in budget: Int) -> Bool { totalBytes.map { $0 <= budget } ?? false }

  /// `the materialised path needs 16.0 GiB (scores per worker [2, 65536, 65536] 16.0 GiB, …)`.
  var summary: String {
    let total = totalBytes.map(AttentionMemoryBudget.describe) ?? "more than Int.max bytes"
    let parts = buffers.sorted { ($0.bytes ?? .max) > ($1.bytes ?? .max) }.map { buffer in
      "\(buffer.name) \(buffer.shape.shapeDescription) "
        + (buffer.bytes.map(AttentionMemoryBudget.describe) ?? "overflows Int")
    }
    return "\(path.name) needs \(total) (\(parts.joined(separator: ", ")))"
  }
}

extension AttentionProblem {
  /// The plan for `backend`, checked against the memory budget: throws
  /// `AttentionError.Kind.memoryLimit` when its buffers exceed `budget` bytes, naming the bytes,
  /// the budget and a path that would fit.
  func plan(
    backend: AttentionBackend, extras: AttentionOutputs,
    budget: Int = AttentionMemoryBudget.bytes
  ) throws -> AttentionPlan {
    let plan = AttentionPlan(
      self, path: AttentionPlan.path(for: backend, extras: extras), extras: extras)
    guard !plan.fits(in: budget) else { return plan }
    var message =
      "\(plan.summary); budget is \(AttentionMemoryBudget.describe(budget)) (AttentionMemoryBudget.bytes)"
    let alternative = AttentionPlan(self, path: .fused, extras: extras.subtracting(.probabilities))
    if plan.path != .fused, alternative.fits(in: budget) {
      message += "; \(alternative.summary)"
    } else {
      message += "; split the request (fewer queries, heads or batches per call)"
    }
    throw AttentionError(.memoryLimit, message)
  }
}
