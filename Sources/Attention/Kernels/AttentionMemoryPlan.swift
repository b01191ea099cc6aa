/// The buffers one attention call allocates on one path, added up before anything is allocated,
/// so a request larger than ``AttentionMemoryBudget/bytes`` is refused with an explanation
/// instead of ending in an out-of-memory kill.
struct AttentionMemoryPlan: Sendable {
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

  let path: Path
  let buffers: [Buffer]

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

  /// `the materialised path needs 16.0 GiB (scores [2, 65536, 65536] per worker 16.0 GiB, …)`.
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
  /// The path a backend runs for the requested extras.
  static func path(for backend: AttentionBackend, extras: AttentionOutputs)
    -> AttentionMemoryPlan.Path
  {
    switch backend {
    case .naive: .naive
    case .blas where !extras.contains(.probabilities): .fused
    case .blas, .blasMaterialized: .materialized
    }
  }

  /// The buffers `path` allocates for this problem, with `workers` parallel workers.
  func memoryPlan(
    path: AttentionMemoryPlan.Path, extras: AttentionOutputs,
    workers: Int = AttentionThreads.maximumCount
  ) -> AttentionMemoryPlan {
    let size = MemoryLayout<Scalar>.stride
    let heads = [batchCount, queryHeadCount]
    func buffer(_ name: String, _ shape: [Int], elementSize: Int = size)
      -> AttentionMemoryPlan.Buffer
    {
      var bytes: Int? = elementSize
      for dimension in shape {
        guard let current = bytes else { break }
        let (product, overflow) = current.multipliedReportingOverflow(by: dimension)
        bytes = overflow ? nil : product
      }
      return .init(name: name, shape: shape, bytes: bytes)
    }
    var buffers = [buffer("output", heads + [queryCount, valueDimension])]
    let probabilities = buffer("probabilities", heads + [queryCount, keyCount])
    let workerCount = Swift.max(1, Swift.min(workers, batchCount * queryHeadCount))
    switch path {
    case .fused:
      // As `FusedAttention.compute` allocates: per worker one Bq × Bk tile and the running row
      // maximum and sum; one flag per (batch, kv head, key tile).
      let blocking = FusedAttention.Blocking.standard(for: self)
      let queryBlocks = (queryCount + blocking.queryRows - 1) / blocking.queryRows
      let keyBlocks = (keyCount + blocking.keyColumns - 1) / blocking.keyColumns
      let (items, overflow) = (batchCount * queryHeadCount).multipliedReportingOverflow(
        by: queryBlocks)
      let fusedWorkers = Swift.max(1, overflow ? workers : Swift.min(workers, items))
      buffers.append(buffer("log-sum-exp", heads + [queryCount]))
      buffers.append(
        buffer("tiles per worker", [fusedWorkers, blocking.queryRows, blocking.keyColumns]))
      buffers.append(buffer("row maxima and sums", [fusedWorkers, 2, blocking.queryRows]))
      buffers.append(
        buffer(
          "non-finite value tile flags", [batchCount, keyValueHeadCount, keyBlocks],
          elementSize: 1))
    case .naive:
      if extras.contains(.logSumExp) { buffers.append(buffer("log-sum-exp", heads + [queryCount])) }
      if extras.contains(.probabilities) { buffers.append(probabilities) }
      buffers.append(buffer("row logits", [keyCount]))
      buffers.append(buffer("row visibility", [keyCount], elementSize: 1))
    case .materialized:
      buffers.append(buffer("log-sum-exp", heads + [queryCount]))
      if extras.contains(.probabilities) {
        buffers.append(probabilities)
      } else {
        buffers.append(buffer("scores per worker", [workerCount, queryCount, keyCount]))
      }
    }
    return AttentionMemoryPlan(path: path, buffers: buffers)
  }

  /// Throws ``AttentionError/Kind/memoryLimit`` when the path `backend` runs would allocate more
  /// than `budget` bytes, naming the bytes, the budget and a path that would fit.
  func checkMemory(
    backend: AttentionBackend, extras: AttentionOutputs,
    budget: Int = AttentionMemoryBudget.bytes
  ) throws {
    let path = Self.path(for: backend, extras: extras)
    let plan = memoryPlan(path: path, extras: extras)
    guard !plan.fits(in: budget) else { return }
    var message =
      "\(plan.summary); budget is \(AttentionMemoryBudget.describe(budget)) (AttentionMemoryBudget.bytes)"
    let alternative = memoryPlan(path: .fused, extras: extras.subtracting(.probabilities))
    if path != .fused, alternative.fits(in: budget) {
      message += "; \(alternative.summary)"
    } else {
      message += "; split the request (fewer queries, heads or batches per call)"
    }
    throw AttentionError(.memoryLimit, message)
  }
}
