/// A validated attention request: the canonical rank-4 geometry, the scale, and the rules that say
/// which keys each query row may see. Every backend computes from this one description, so they
/// cannot disagree about semantics.
struct AttentionProblem<Scalar: AttentionScalar>: Sendable {
  let batchCount: Int
  let queryHeadCount: Int
  let keyValueHeadCount: Int
  let queryCount: Int
  let keyCount: Int
  let keyDimension: Int
  let valueDimension: Int
  let scale: Scalar
  let causal: CausalAlignment?
  let keyLengths: [Int]?
  let mask: ResolvedMask<Scalar>
  /// The rank of the caller's query tensor (2, 3 or 4); the output takes the same rank.
  let inputRank: Int

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

  /// The number of leading keys `0..<limit` that query `query` of batch `batch` may see before
  /// the tensor mask is applied: the key-padding length and the causal limit, whichever is less.
  /// A limit of 0 means the row is fully masked.
  @inline(__always)
  func visibleKeyLimit(batch: Int, query: Int) -> Int {
    var limit = keyLengths?[batch] ?? keyCount
    switch causal {
    case nil: break
    case .topLeft: limit = Swift.min(limit, query + 1)
    case .bottomRight: limit = Swift.min(limit, query + 1 + keyCount - queryCount)
    }
    return Swift.max(0, limit)
  }

  /// Whether query `query` of (batch, head) may see key `key` under every rule: key length,
  /// causal limit, boolean mask, and an additive mask entry of `-infinity`. Used by the slow
  /// paths that must skip masked keys one by one; the fast paths apply the same rules in bulk.
  func isVisible(batch: Int, head: Int, query: Int, key: Int) -> Bool {
    guard key < visibleKeyLimit(batch: batch, query: query) else { return false }
    let offset = mask.rowOffset(batch: batch, head: head, query: query) + key
    switch mask.values {
    case .none: return true
    case .boolean(let allowed, let invert): return allowed[offset] != invert
    case .additive(let bias): return bias[offset] != -Scalar.infinity
    }
  }

  /// Whether query `query` of (batch, head) may see at least one key. A row that sees none is
  /// fully masked (zero output); a row that sees keys whose logits are all `-infinity` is not
  /// (IEEE arithmetic makes its softmax NaN). The fast paths ask only in that rare case.
  func seesAnyKey(batch: Int, head: Int, query: Int) -> Bool {
    let limit = visibleKeyLimit(batch: batch, query: query)
    return (0..<limit).contains { isVisible(batch: batch, head: head, query: query, key: $0) }
  }

  /// The largest limit any query row of any batch can have: the key loop of every row ends there.
  func maximumKeyLimit(batch: Int, queryRange: Range<Int>) -> Int {
    guard let last = queryRange.last else { return 0 }
    // The causal limit grows with the query index, so the last row has the largest.
    return visibleKeyLimit(batch: batch, query: last)
  }

  /// Flop count of the two matrix products, 4·B·Hq·Nq·Nk·D with D the mean of Dk and Dv.
  var flopCount: Double {
    2 * Double(batchCount * queryHeadCount * queryCount * keyCount)
      * Double(keyDimension + valueDimension)
  }
}

/// A user mask checked against the problem and reduced to strides over `[B, Hq, Nq]`, so that a
/// row of `Nk` entries is found without expanding the mask (broadcast dimensions have stride 0).
struct ResolvedMask<Scalar: AttentionScalar>: Sendable {
  enum Values: Sendable {
    case none
    /// `true` = may attend (a `.block(where:)` mask is stored with `invert`).
    case boolean([Bool], invert: Bool)
    case additive([Scalar])
  }
  let values: Values
  let batchStride: Int
  let headStride: Int
  let queryStride: Int

  static var none: ResolvedMask {
    ResolvedMask(values: .none, batchStride: 0, headStride: 0, queryStride: 0)
  }

  /// The offset of the first entry of row (batch, head, query) in the mask's storage.
  @inline(__always)
  func rowOffset(batch: Int, head: Int, query: Int) -> Int {
    batch * batchStride + head * headStride + query * queryStride
  }

  var isNone: Bool {
    if case .none = values { return true }
    return false
  }
}

extension AttentionProblem {
  /// Validates the inputs of scaled dot-product attention and describes the computation.
  init(
    query: Tensor<Scalar>, key: Tensor<Scalar>, value: Tensor<Scalar>,
    mask: AttentionMask<Scalar>, causal: CausalAlignment?, keyLengths: [Int]?, scale: Scalar?
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
    let keyCount = k[2]
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
    self.keyDimension = q[3]
    self.valueDimension = v[3]
    self.scale = resolvedScale
    self.causal = causal
    self.keyLengths = keyLengths
    self.inputRank = rank
    let scoreShape = [batchCount, q[1], q[2], keyCount]
    switch mask {
    case .none: self.mask = .none
    case .allow(let tensor):
      self.mask = try ResolvedMask(
        shape: tensor.shape, scoreShape: scoreShape, values: .boolean(tensor.scalars, invert: false)
      )
    case .block(let tensor):
      self.mask = try ResolvedMask(
        shape: tensor.shape, scoreShape: scoreShape, values: .boolean(tensor.scalars, invert: true))
    case .additive(let tensor):
      self.mask = try ResolvedMask(
        shape: tensor.shape, scoreShape: scoreShape, values: .additive(tensor.scalars))
    }
  }
}

extension ResolvedMask {
  /// Checks that `shape` broadcasts to `scoreShape` (`[B, Hq, Nq, Nk]`) and computes its strides.
  init(shape: [Int], scoreShape: [Int], values: Values) throws {
    let problem = AttentionError(
      .shapeMismatch,
      "mask of shape \(shape.shapeDescription) does not broadcast to the scores' shape \(scoreShape.shapeDescription) [B, Hq, Nq, Nk]; accepted: [Nq, Nk], [B, 1, Nq, Nk], [B, Hq, Nq, Nk] (any dimension but Nk may be 1)"
    )
    guard (1...4).contains(shape.count), shape.last == scoreShape[3] else { throw problem }
    let padded = Array(repeating: 1, count: 4 - shape.count) + shape
    for (size, full) in zip(padded, scoreShape) where size != full && size != 1 { throw problem }
    // Row-major strides of the padded mask, zeroed where the mask broadcasts.
    let rowStride = padded[3]
    let queryStride = padded[2] == 1 ? 0 : rowStride
    let headStride = padded[1] == 1 ? 0 : rowStride * padded[2]
    let batchStride = padded[0] == 1 ? 0 : rowStride * padded[2] * padded[1]
    self.init(
      values: values, batchStride: batchStride, headStride: headStride, queryStride: queryStride)
  }
}
