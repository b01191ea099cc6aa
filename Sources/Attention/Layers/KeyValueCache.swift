/// The keys and values of the tokens seen so far by one attention layer, for decoding: each
/// step appends the new tokens' keys and values and attends the new tokens' queries to
/// everything held, in place.
///
/// Storage is one buffer per tensor, `[B, Hkv, capacity, D]`, whose live rows are the keys held
/// in the order they came. Appending writes after the last live row; when the buffer is full it
/// grows by doubling, so a token costs amortised O(1) copying, never a copy of the cache per step.
/// Attention reads the live rows where they are (no gather), with the bottom-right causal
/// alignment decoding needs: the last query is the last key's position. Grouped-query attention
/// reads the shared key/value heads in place.
///
/// A cache made with a `window` of `W` positions (sliding-window layers: Mistral, Gemma 2) keeps
/// only what that window can still see: before `n` new tokens are appended it drops all but the
/// last `W − 1` keys, so a step holds at most `W − 1 + n` keys, and the buffer (about `2·W` rows)
/// slides its live rows to the front once every ~`W` tokens. Its attention applies the window
/// `(W − 1, 0)` and gives the same result as a full cache with that window.
///
/// ```swift
/// var cache = try KeyValueCache<Float>(batchCount: 1, headCount: 2, keyDimension: 64, valueDimension: 64)
/// for step in steps {   // q [1, 8, n, 64], k and v [1, 2, n, 64] for the n new tokens
///   try cache.append(keys: k, values: v)
///   let out = try cache.attention(query: q)   // [1, 8, n, 64]
/// }
/// ```
public struct KeyValueCache<Scalar: AttentionScalar>: Sendable {
  /// `B`, the number of sequences decoded together (they advance together).
  public let batchCount: Int
  /// `Hkv`, the number of key/value heads.
  public let headCount: Int
  /// `Dk`.
  public let keyDimension: Int
  /// `Dv`.
  public let valueDimension: Int
  /// The sliding window in positions (`nil`: every position is kept).
  public let window: Int?
  /// The number of positions appended so far: the next token's position.
  public private(set) var positionCount = 0

  /// `[B, Hkv, capacity, Dk]`; live rows `firstRow ..< firstRow + storedCount` of each head.
  private var keys: Tensor<Scalar>
  /// `[B, Hkv, capacity, Dv]`, the same rows.
  private var values: Tensor<Scalar>
  private var firstRow = 0
  /// The number of keys held (all positions, or the window's share of them).
  public private(set) var storedCount = 0

  /// The rows allocated per head.
  public var capacity: Int { keys.shape[2] }

  /// An empty cache.
  ///
  /// - Parameters:
  ///   - batchCount: `B`, at least 1.
  ///   - headCount: `Hkv`, the key/value heads, at least 1.
  ///   - keyDimension: `Dk`, at least 1.
  ///   - valueDimension: `Dv`, at least 1.
  ///   - window: keep only what a sliding window of this many positions sees (at least 1), or
  ///     `nil` to keep every position.
  ///   - initialCapacity: rows to allocate per head up front (the cache grows past it).
  /// - Throws: `AttentionError` for a count below 1.
  public init(
    batchCount: Int, headCount: Int, keyDimension: Int, valueDimension: Int, window: Int? = nil,
    initialCapacity: Int = 256
  ) throws {
    for (name, value) in [
      ("batchCount", batchCount), ("headCount", headCount), ("keyDimension", keyDimension),
      ("valueDimension", valueDimension), ("window", window ?? 1),
      ("initialCapacity", initialCapacity),
    ] where value < 1 {
      throw AttentionError(.invalidArgument, "a key/value cache needs \(name) ≥ 1, got \(value)")
    }
    self.batchCount = batchCount
    self.headCount = headCount
    self.keyDimension = keyDimension
    self.valueDimension = valueDimension
    self.window = window
    // A windowed cache slides once its buffer is full: 2·W rows make that once per W tokens.
    let capacity = window.map { Swift.max(2 * $0, 2) } ?? initialCapacity
    keys = try Tensor(zeros: [batchCount, headCount, capacity, keyDimension])
    values = try Tensor(zeros: [batchCount, headCount, capacity, valueDimension])
  }

  /// The keys held, `[B, Hkv, storedCount, Dk]`, oldest first (a copy).
  public var storedKeys: Tensor<Scalar> { liveRows(of: keys, width: keyDimension) }
  /// The values held, `[B, Hkv, storedCount, Dv]`, oldest first (a copy).
  public var storedValues: Tensor<Scalar> { liveRows(of: values, width: valueDimension) }

  /// Appends the keys and values of `n` new tokens, `[B, Hkv, n, Dk]` and `[B, Hkv, n, Dv]`.
  ///
  /// - Throws: `AttentionError` when the shapes do not match the cache's (naming both).
  /// - Complexity: O(B·Hkv·n·(Dk + Dv)) amortised.
  public mutating func append(keys newKeys: Tensor<Scalar>, values newValues: Tensor<Scalar>)
    throws
  {
    let expected = [batchCount, headCount]
    guard newKeys.rank == 4, Array(newKeys.shape.prefix(2)) == expected,
      newKeys.shape[3] == keyDimension, newKeys.shape[2] >= 1
    else {
      throw AttentionError.mismatch(
        "new keys must be [B, Hkv, n, Dk] with the cache's B, Hkv and Dk", "keys", newKeys.shape,
        "the cache", expected + [storedCount, keyDimension])
    }
    guard newValues.rank == 4, Array(newValues.shape.prefix(3)) == Array(newKeys.shape.prefix(3)),
      newValues.shape[3] == valueDimension
    else {
      throw AttentionError.mismatch(
        "new values must be [B, Hkv, n, Dv] with the keys' n and the cache's Dv", "values",
        newValues.shape, "keys", newKeys.shape)
    }
    let count = newKeys.shape[2]
    if let window {
      // The window's earliest new query sees W − 1 keys before it; older ones are gone for good.
      let kept = Swift.min(storedCount, window - 1)
      firstRow += storedCount - kept
      storedCount = kept
    }
    try makeRoom(for: count)
    let end = firstRow + storedCount
    Self.write(newKeys, into: &keys, atRow: end, width: keyDimension)
    Self.write(newValues, into: &values, atRow: end, width: valueDimension)
    storedCount += count
    positionCount += count
  }

  /// Attends the queries of the tokens appended last to every key held, in place.
  ///
  /// The queries are the last `n` positions (`n ≤` ``storedCount``), aligned bottom-right with
  /// the keys: with `causal` (the default) query `i` sees the keys up to its own position. A
  /// windowed cache applies its window. The other arguments mean what they mean for
  /// ``scaledDotProductAttention(query:key:value:mask:causal:keyLengths:window:packedSequences:scale:softcap:alibiSlopes:sinks:backend:)``.
  ///
  /// - Parameters:
  ///   - query: `[B, Hq, n, Dk]`, `Hq` a multiple of the cache's `Hkv`.
  ///   - causal: whether each query sees only the keys up to its own position.
  ///   - window: a window to apply on a cache that keeps every position (a windowed cache
  ///     always applies its own and refuses another).
  ///   - scale: the factor applied to `Q·Kᵀ`; default `1/√Dk`.
  ///   - softcap: an optional logit cap `C` (`s ← C·tanh(s/C)`).
  ///   - alibiSlopes: optional ALiBi slopes, one per query head.
  ///   - sinks: optional sink logits, one per query head.
  ///   - backend: which implementation runs (``AttentionBackend``).
  /// - Returns: `[B, Hq, n, Dv]`.
  /// - Throws: `AttentionError` for an empty cache, a query shape that does not fit (naming
  ///   both), or bad variant arguments.
  /// - Complexity: O(B·Hq·n·storedCount·(Dk + Dv)).
  public func attention(
    query: Tensor<Scalar>, causal: Bool = true, window: AttentionWindow? = nil,
    scale: Scalar? = nil, softcap: Scalar? = nil, alibiSlopes: [Scalar]? = nil,
    sinks: [Scalar]? = nil, backend: AttentionBackend = .blas
  ) throws -> Tensor<Scalar> {
    guard storedCount > 0 else {
      throw AttentionError(.invalidArgument, "the key/value cache is empty: append keys first")
    }
    guard query.rank == 4, query.shape[0] == batchCount, query.shape[3] == keyDimension,
      query.shape[2] <= storedCount
    else {
      throw AttentionError.mismatch(
        "a cache's query must be [B, Hq, n, Dk] with n ≤ the keys held", "query", query.shape,
        "the cache's keys", [batchCount, headCount, storedCount, keyDimension])
    }
    var effectiveWindow = window
    if let size = self.window {
      guard window == nil || window == .sliding(size) else {
        throw AttentionError(
          .invalidArgument,
          "a cache with a window of \(size) positions applies AttentionWindow.sliding(\(size)); it cannot apply \(window!)"
        )
      }
      effectiveWindow = .sliding(size)
    }
    let live = firstRow..<(firstRow + storedCount)
    return try AttentionProblem(
      query: query, key: keys, value: values, mask: .none, causal: causal ? .bottomRight : nil,
      keyLengths: nil, scale: scale, window: effectiveWindow, softcap: softcap,
      alibiSlopes: alibiSlopes, sinks: sinks, keyRows: live
    ).run(query: query, key: keys, value: values, backend: backend, extras: []).output
  }

  /// Ensures `count` more rows fit after the live rows: slides the live rows to the front of the
  /// buffer when that makes room, else grows it (doubling) with the live rows at the front.
  private mutating func makeRoom(for count: Int) throws {
    guard firstRow + storedCount + count > capacity else { return }
    var newCapacity = capacity
    while storedCount + count > newCapacity { newCapacity *= 2 }
    keys = try Self.relaid(keys, rows: firstRow..<(firstRow + storedCount), capacity: newCapacity)
    values = try Self.relaid(
      values, rows: firstRow..<(firstRow + storedCount), capacity: newCapacity)
    firstRow = 0
  }

  /// A buffer of `capacity` rows per head holding `rows` of `buffer` at its front.
  private static func relaid(_ buffer: Tensor<Scalar>, rows: Range<Int>, capacity: Int) throws
    -> Tensor<Scalar>
  {
    let (heads, oldCapacity, width) = (
      buffer.shape[0] * buffer.shape[1], buffer.shape[2], buffer.shape[3]
    )
    // A fresh buffer even when sliding within the same capacity: the old one is shared with
    // `self` until this returns, so writing into it would copy it anyway. Once per ~W tokens
    // (windowed) or per doubling (full), so amortised O(1) rows per token.
    var result = try Tensor<Scalar>(zeros: [buffer.shape[0], buffer.shape[1], capacity, width])
    buffer.withUnsafeBufferPointer { source in
      result.withUnsafeMutableBufferPointer { target in
        for head in 0..<heads {
          (target.baseAddress! + head * capacity * width).update(
            from: source.baseAddress! + (head * oldCapacity + rows.lowerBound) * width,
            count: rows.count * width)
        }
      }
    }
    return result
  }

  /// Writes `n` rows per head of `new` (`[B, H, n, width]`) at row `row` of `buffer`.
  private static func write(
    _ new: Tensor<Scalar>, into buffer: inout Tensor<Scalar>, atRow row: Int, width: Int
  ) {
    let (heads, count, capacity) = (new.shape[0] * new.shape[1], new.shape[2], buffer.shape[2])
    new.withUnsafeBufferPointer { source in
      buffer.withUnsafeMutableBufferPointer { target in
        for head in 0..<heads {
          (target.baseAddress! + (head * capacity + row) * width).update(
            from: source.baseAddress! + head * count * width, count: count * width)
        }
      }
    }
  }

  /// The live rows of `buffer` as a `[B, H, storedCount, width]` tensor.
  private func liveRows(of buffer: Tensor<Scalar>, width: Int) -> Tensor<Scalar> {
    var scalars = [Scalar]()
    scalars.reserveCapacity(batchCount * headCount * storedCount * width)
    buffer.withUnsafeBufferPointer { source in
      for head in 0..<(batchCount * headCount) {
        let start = (head * capacity + firstRow) * width
        scalars.append(contentsOf: source[start..<(start + storedCount * width)])
      }
    }
    return Tensor(uncheckedShape: [batchCount, headCount, storedCount, width], scalars: scalars)
  }
}
