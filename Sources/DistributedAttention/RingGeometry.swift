import Attention

/// The shapes of one process's part of a ring attention call, checked, in rank 4.
struct RingGeometry {
  let query4: [Int]
  let key4: [Int]
  let value4: [Int]
  /// Query `q` sees key `k` when `k ≤ q + causalOffset`; `nil` without a causal mask.
  let causalOffset: Int?
  /// What must be equal on every process: ranks, `B`, heads, `Dk`, `Dv`, the shardings, the
  /// causal alignment.
  let descriptor: [Int]
  /// Why this process's rows are unusable, or `nil`. Computed only from what every process
  /// agrees on plus this process's own row counts.
  let localProblem: String?

  var batchCount: Int { query4[0] }
  var queryHeadCount: Int { query4[1] }
  var localQueryCount: Int { query4[2] }
  var valueDimension: Int { value4[3] }

  func keyBlockCount(rows: Int) -> Int { key4[0] * key4[1] * rows * key4[3] }
  func valueBlockCount(rows: Int) -> Int { value4[0] * value4[1] * rows * value4[3] }

  /// Checks what the engine would check of the global problem (identically on every process,
  /// since the processes then agree on every number involved) and throws; records a mismatch
  /// between this process's rows and its sharding in ``localProblem``.
  init(
    query: [Int], key: [Int], value: [Int], querySharding: SequenceSharding,
    keySharding: SequenceSharding, group: ProcessGroup, causal: CausalAlignment?,
    keyLengths: [Int]? = nil
  ) throws {
    let rank = query.count
    guard (2...4).contains(rank), key.count == rank, value.count == rank else {
      throw AttentionError(
        .invalidShape,
        "query, key and value must all have rank 2 [N, D], 3 [H, N, D] or 4 [B, H, N, D], got query \(query), key \(key), value \(value)"
      )
    }
    func canonical(_ shape: [Int]) -> [Int] { Array(repeating: 1, count: 4 - shape.count) + shape }
    let (q, k, v) = (canonical(query), canonical(key), canonical(value))
    guard querySharding.partCount == group.size, keySharding.partCount == group.size else {
      throw AttentionError(
        .invalidArgument,
        "the shardings have \(querySharding.partCount) and \(keySharding.partCount) parts but the group has \(group.size) processes"
      )
    }
    guard q[0] == k[0], k[0] == v[0], k[1] == v[1], q[3] == k[3] else {
      throw AttentionError(
        .shapeMismatch,
        "query \(query), key \(key) and value \(value) must agree in batch, key/value heads and Dk"
      )
    }
    for (name, shape) in [("query", q), ("key", k), ("value", v)]
    where shape[0] == 0 || shape[1] == 0 || shape[3] == 0 {
      throw AttentionError(.invalidShape, "\(name) has an empty dimension: shape \(shape)")
    }
    guard q[1] % k[1] == 0 else {
      throw AttentionError(
        .shapeMismatch,
        "query heads (\(q[1])) must be a multiple of key/value heads (\(k[1]))")
    }
    if let keyLengths {
      guard keyLengths.count == q[0] else {
        throw AttentionError(
          .invalidArgument,
          "keyLengths has \(keyLengths.count) entries but the batch size is \(q[0])")
      }
      if let bad = keyLengths.first(where: { $0 < 0 || $0 > keySharding.length }) {
        throw AttentionError(
          .invalidArgument,
          "key length \(bad) is outside 0…\(keySharding.length) (the number of keys)")
      }
    }
    self.query4 = q
    self.key4 = k
    self.value4 = v
    switch causal {
    case nil: causalOffset = nil
    case .topLeft: causalOffset = 0
    case .bottomRight: causalOffset = keySharding.length - querySharding.length
    }
    let causalCode = causal.map { $0 == .topLeft ? 1 : 2 } ?? 0
    descriptor = [
      rank, q[0], q[1], q[3], k[1], v[3], querySharding.length, keySharding.length,
      querySharding.layout == .zigzag ? 1 : 0, keySharding.layout == .zigzag ? 1 : 0,
      causalCode,
    ]
    let expectedQueries = querySharding.rowCount(ofPart: group.rank)
    let expectedKeys = keySharding.rowCount(ofPart: group.rank)
    if q[2] != expectedQueries {
      localProblem =
        "process \(group.rank) holds \(q[2]) query rows but its sharding gives it \(expectedQueries) (\(querySharding.ranges(ofPart: group.rank)))"
    } else if k[2] != expectedKeys || v[2] != expectedKeys {
      localProblem =
        "process \(group.rank) holds \(k[2]) key and \(v[2]) value rows but its sharding gives it \(expectedKeys) (\(keySharding.ranges(ofPart: group.rank)))"
    } else {
      localProblem = nil
    }
  }

  /// Checks the softcap and the sinks as the engine does, on every process alike (a process
  /// without rows never calls the engine).
  static func check<Scalar: AttentionScalar>(
    softcap: Scalar?, sinks: [Scalar]?, queryHeadCount: Int
  ) throws {
    if let softcap, !(softcap.isFinite && softcap > 0) {
      throw AttentionError(
        .invalidArgument, "softcap must be finite and positive, got \(softcap)")
    }
    if let sinks {
      guard sinks.count == queryHeadCount else {
        throw AttentionError(
          .invalidArgument,
          "sinks has \(sinks.count) entries but there are \(queryHeadCount) query heads")
      }
      if let bad = sinks.first(where: { $0.isNaN || $0 == .infinity }) {
        throw AttentionError(
          .invalidArgument, "sinks must be finite or -infinity, got \(bad)")
      }
    }
  }
}
