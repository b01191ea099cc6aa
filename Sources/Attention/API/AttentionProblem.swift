/// A validated attention request: the canonical rank-4 geometry and the rules (visibility and
/// logits, ``AttentionRules``) that every backend computes from, so they cannot disagree about
/// semantics. Built once at the public boundary; the kernels take it as valid.
struct AttentionProblem<Scalar: AttentionScalar>: Sendable {
  let batchCount: Int
  let queryHeadCount: Int
  let keyValueHeadCount: Int
  let queryCount: Int
  let keyCount: Int
  let keyDimension: Int
  let valueDimension: Int
  /// The rank of the caller's query tensor (2, 3 or 4); the output takes the same rank.
  let inputRank: Int
  /// Where the keys sit in the key and value storage: each key/value head holds `keyRowsPerHead`
  /// rows, and key `j` is row `firstKeyRow + j`. A plain call has `Nk` rows from row 0; a
  /// ``KeyValueCache`` attends to its live rows of a larger buffer in place.
  let keyRowsPerHead: Int
  let firstKeyRow: Int
  /// Which keys each query sees and how its logits are formed.
  let rules: AttentionRules<Scalar>

  /// The factor applied to `Q·Kᵀ`.
  var scale: Scalar { rules.scale }

  /// The storage row of key `key` of batch-major key/value head `kvHead`.
  @inline(__always)
  func keyRow(kvHead: Int, key: Int) -> Int { kvHead * keyRowsPerHead + firstKeyRow + key }

  /// Query heads that share one key/value head (`Hq / Hkv`).
  var groupSize: Int { queryHeadCount / keyValueHeadCount }

  /// The key/value head a query head reads: consecutive groups, as PyTorch, FlashAttention and
  /// ggml do (query heads `0..<g` read kv head 0, the next `g` read kv head 1, …).
  @inline(__always)
  func keyValueHead(forQueryHead head: Int) -> Int { head / groupSize }

  /// The shape of the output in the caller's rank.
  var outputShape: [Int] {
    let full = [batchCount, queryHeadCount, queryCount, valueDimension]
    return Array(full.suffix(inputRank))
  }

  /// Flop count of the two matrix products over every (query, key) pair of the same sequence,
  /// `2·B·Hq·Σ_s nq_s·nk_s·(Dk + Dv)`: masking, windows and causality are not subtracted.
  var flopCount: Double {
    let pairs = rules.segments.reduce(0.0) {
      $0 + Double($1.queries.count) * Double($1.keys.count)
    }
    return 2 * Double(batchCount * queryHeadCount) * pairs * Double(keyDimension + valueDimension)
  }
}

extension AttentionProblem {
  /// Validates the inputs of scaled dot-product attention and describes the computation.
  init(
    query: Tensor<Scalar>, key: Tensor<Scalar>, value: Tensor<Scalar>,
    mask: AttentionMask<Scalar>, causal: CausalAlignment?, keyLengths: [Int]?, scale: Scalar?,
    window: AttentionWindow? = nil, packedSequences: PackedSequences? = nil,
    softcap: Scalar? = nil, alibiSlopes: [Scalar]? = nil, sinks: [Scalar]? = nil,
    keyRows: Range<Int>? = nil
  ) throws {
    let rank = query.rank
    guard (2...4).contains(rank) else {
      throw AttentionError(
        .invalidShape,
        "query must have rank 2 [N, D], 3 [H, N, D] or 4 [B, H, N, D], got shape \(query.shape.shapeDescription)"
      )
    }
    guard key.rank == rank else {
      throw AttentionError.mismatch(
        "query and key must have the same rank", "query", query.shape, "key", key.shape)
    }
    guard value.rank == rank else {
      throw AttentionError.mismatch(
        "key and value must have the same rank", "key", key.shape, "value", value.shape)
    }
    func canonical(_ shape: [Int]) -> [Int] { Array(repeating: 1, count: 4 - shape.count) + shape }
    let q = canonical(query.shape)
    let k = canonical(key.shape)
    let v = canonical(value.shape)
    guard k[0] == q[0] else {
      throw AttentionError.mismatch(
        "query and key batch sizes differ", "query", query.shape, "key", key.shape)
    }
    guard v[0] == k[0], v[1] == k[1], v[2] == k[2] else {
      throw AttentionError.mismatch(
        "key and value must agree in batch, heads and key count", "key", key.shape, "value",
        value.shape)
    }
    guard q[3] == k[3] else {
      throw AttentionError.mismatch(
        "query and key must have the same feature dimension Dk", "query", query.shape, "key",
        key.shape)
    }
    for (name, shape) in [("query", query.shape), ("key", key.shape), ("value", value.shape)] {
      guard !shape.contains(0) else {
        throw AttentionError(
          .invalidShape, "\(name) has an empty dimension: shape \(shape.shapeDescription)")
      }
    }
    guard k[1] > 0, q[1] % k[1] == 0 else {
      throw AttentionError(
        .shapeMismatch,
        "query heads (\(q[1])) must be a multiple of key/value heads (\(k[1])): query has shape \(query.shape.shapeDescription), key has shape \(key.shape.shapeDescription)"
      )
    }
    let batchCount = q[0]
    // The keys attended: all rows of each head, or a range of them (a cache's live rows).
    let keyRows = keyRows ?? 0..<k[2]
    precondition(
      keyRows.lowerBound >= 0 && keyRows.upperBound <= k[2] && !keyRows.isEmpty,
      "key rows \(keyRows) outside the storage's \(k[2]) rows")
    let keyCount = keyRows.count
    for dimension in q + k + v where dimension > Int(Int32.max) {
      throw AttentionError(
        .memoryLimit, "dimension \(dimension) exceeds the BLAS limit of \(Int32.max)")
    }
    if let keyLengths {
      guard keyLengths.count == batchCount else {
        throw AttentionError(
          .invalidArgument,
          "keyLengths has \(keyLengths.count) entries but the batch size is \(batchCount)")
      }
      if let bad = keyLengths.first(where: { $0 < 0 || $0 > keyCount }) {
        throw AttentionError(
          .invalidArgument, "key length \(bad) is outside 0…\(keyCount) (the number of keys)")
      }
    }
    let resolvedScale = scale ?? 1 / Scalar(q[3]).squareRoot()
    guard resolvedScale.isFinite else {
      throw AttentionError(.invalidArgument, "scale must be finite, got \(resolvedScale)")
    }
    self.batchCount = batchCount
    self.queryHeadCount = q[1]
    self.keyValueHeadCount = k[1]
    self.queryCount = q[2]
    self.keyCount = keyCount
    self.keyRowsPerHead = k[2]
    self.firstKeyRow = keyRows.lowerBound
    self.keyDimension = q[3]
    self.valueDimension = v[3]
    self.inputRank = rank
    let scoreShape = [batchCount, q[1], q[2], keyCount]
    let resolvedMask: ResolvedMask<Scalar>
    switch mask {
    case .none: resolvedMask = .none
    case .allow(let tensor):
      resolvedMask = try ResolvedMask(
        shape: tensor.shape, scoreShape: scoreShape, values: .boolean(tensor.scalars, invert: false)
      )
    case .block(let tensor):
      resolvedMask = try ResolvedMask(
        shape: tensor.shape, scoreShape: scoreShape, values: .boolean(tensor.scalars, invert: true))
    case .additive(let tensor):
      resolvedMask = try ResolvedMask(
        shape: tensor.shape, scoreShape: scoreShape, values: .additive(tensor.scalars))
    }
    self.rules = AttentionRules(
      segments: try Self.segments(
        packedSequences, queryCount: q[2], keyCount: keyCount, batchCount: batchCount,
        keyLengths: keyLengths, query: query.shape, key: key.shape),
      isCausal: causal != nil,
      alignment: causal == .topLeft ? .topLeft : .bottomRight,
      keysBefore: try Self.windowBound(window?.keysBefore, "keysBefore"),
      keysAfter: try Self.windowBound(window?.keysAfter, "keysAfter"),
      keyLengths: keyLengths, mask: resolvedMask, scale: resolvedScale,
      softcap: try Self.checkedSoftcap(softcap),
      alibiSlopes: try Self.perHead(
        alibiSlopes, "alibiSlopes", headCount: q[1], query: query.shape,
        allowed: { $0.isFinite }, requirement: "finite"),
      sinks: try Self.perHead(
        sinks, "sinks", headCount: q[1], query: query.shape,
        allowed: { !$0.isNaN && $0 != .infinity }, requirement: "finite or -infinity"))
  }

  /// A window bound: `nil` (unbounded) or a count of keys ≥ 0.
  private static func windowBound(_ bound: Int?, _ name: String) throws -> Int? {
    guard let bound else { return nil }
    guard bound >= 0 else {
      throw AttentionError(
        .invalidArgument,
        "window \(name) must be ≥ 0 keys (nil for unbounded), got \(bound)")
    }
    // Positions are below 2^32 in magnitude (dimensions fit Int32), so a bound beyond 2^40 is
    // unbounded in effect; clamping it keeps p ± bound from overflowing in every kernel.
    return Swift.min(bound, 1 << 40)
  }

  private static func checkedSoftcap(_ softcap: Scalar?) throws -> Scalar? {
    guard let softcap else { return nil }
    guard softcap.isFinite, softcap > 0 else {
      throw AttentionError(
        .invalidArgument, "softcap must be finite and positive, got \(softcap)")
    }
    return softcap
  }

  /// Per-query-head values (ALiBi slopes, sinks): one per query head, each allowed.
  private static func perHead(
    _ values: [Scalar]?, _ name: String, headCount: Int, query: [Int],
    allowed: (Scalar) -> Bool, requirement: String
  ) throws -> [Scalar]? {
    guard let values else { return nil }
    guard values.count == headCount else {
      throw AttentionError(
        .shapeMismatch,
        "\(name) has shape [\(values.count)] but needs one value per query head, [\(headCount)]: query has shape \(query.shapeDescription)"
      )
    }
    if let index = values.firstIndex(where: { !allowed($0) }) {
      throw AttentionError(
        .invalidArgument,
        "\(name)[\(index)] must be \(requirement), got \(values[index])")
    }
    return values
  }

  /// The packed sequences as segments of the query and key axes (one segment when unpacked).
  private static func segments(
    _ packed: PackedSequences?, queryCount: Int, keyCount: Int, batchCount: Int,
    keyLengths: [Int]?, query: [Int], key: [Int]
  ) throws -> [AttentionRules<Scalar>.Segment] {
    guard let packed else { return [.init(queries: 0..<queryCount, keys: 0..<keyCount)] }
    guard batchCount == 1 else {
      throw AttentionError(
        .invalidArgument,
        "packed sequences need a batch of 1 (the sequences are the batch): query has shape \(query.shapeDescription)"
      )
    }
    guard keyLengths == nil else {
      throw AttentionError(
        .invalidArgument,
        "keyLengths and packed sequences both give key counts; give the packed key lengths only")
    }
    guard packed.queryLengths.count == packed.keyLengths.count, !packed.queryLengths.isEmpty else {
      throw AttentionError(
        .invalidArgument,
        "packed sequences need as many query lengths as key lengths, at least one: got \(packed.queryLengths.count) query lengths and \(packed.keyLengths.count) key lengths"
      )
    }
    for (name, lengths) in [("query", packed.queryLengths), ("key", packed.keyLengths)] {
      if let bad = lengths.first(where: { $0 <= 0 }) {
        throw AttentionError(
          .invalidArgument, "packed \(name) lengths must be positive, got \(bad) in \(lengths)")
      }
    }
    let querySum = packed.queryLengths.reduce(0) { $0 &+ $1 }
    let keySum = packed.keyLengths.reduce(0) { $0 &+ $1 }
    guard querySum == queryCount else {
      throw AttentionError(
        .shapeMismatch,
        "packed query lengths sum to \(querySum) but the query has Nq = \(queryCount) rows: query has shape \(query.shapeDescription)"
      )
    }
    guard keySum == keyCount else {
      throw AttentionError(
        .shapeMismatch,
        "packed key lengths sum to \(keySum) but the key has Nk = \(keyCount) rows: key has shape \(key.shapeDescription)"
      )
    }
    var segments: [AttentionRules<Scalar>.Segment] = []
    var (queryStart, keyStart) = (0, 0)
    for (nq, nk) in zip(packed.queryLengths, packed.keyLengths) {
      segments.append(
        .init(queries: queryStart..<(queryStart + nq), keys: keyStart..<(keyStart + nk)))
      queryStart += nq
      keyStart += nk
    }
    return segments
  }
}
