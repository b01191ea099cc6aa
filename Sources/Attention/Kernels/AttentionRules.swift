/// The one description of which keys each query sees and how its logits are formed, read by
/// every kernel (naive, materialised, fused) — FlexAttention's `mask_mod` and `score_mod` as one
/// validated value.
///
/// **Visibility.** Every position-based rule gives query `i` a contiguous band of keys, its
/// *key band*: the keys of its own packed sequence, cut by the key length, the causal rule and the
/// window, with positions counted from the sequence's start and the query's aligned position
/// `p(i) = i + nk − nq` (bottom-right) or `p(i) = i` (top-left, with a top-left causal mask).
/// Within a sequence both ends of the band never decrease as `i` grows, which is what lets the
/// fused kernel classify and skip whole tiles. The tensor mask (boolean, or an additive
/// `-infinity`) then removes keys inside the band one by one.
///
/// **Logits.** `s = scale · q·k`, then the softcap `s ← C·tanh(s / C)`, then ALiBi
/// `s ← s − m_h·|p(i) − j|`, then the additive mask. A key outside the band or blocked by the mask
/// gets `-infinity` by assignment, after every modification, so nothing computed for it — not a
/// NaN, not a softcapped `-C` — ever reaches the softmax.
///
/// **Sinks.** One extra logit `σ_h` per query head joins the softmax denominator only (see
/// ``scaledDotProductAttention(query:key:value:mask:causal:keyLengths:window:packedSequences:scale:softcap:alibiSlopes:sinks:backend:)``).
struct AttentionRules<Scalar: AttentionScalar>: Sendable {
  /// One packed sequence: its query rows and its keys, as ranges of the whole axes.
  struct Segment: Sendable, Equatable {
    var queries: Range<Int>
    var keys: Range<Int>
  }

  /// How a tile of (query rows × keys) relates to the rows' key bands and the mask.
  enum TileKind: Equatable {
    /// No row sees any of the keys: never computed.
    case empty
    /// Every row sees every key: no element needs masking (logits may still be modified).
    case full
    /// Some rows see some keys: masked element by element.
    case partial
  }

  /// The sequences along the query and key axes; one covering both axes when nothing is packed.
  let segments: [Segment]
  /// Whether the causal rule applies.
  let isCausal: Bool
  /// Where query positions sit against key positions: `.topLeft` only with a top-left causal mask.
  let alignment: CausalAlignment
  /// The window's validated bounds (`nil`: unbounded).
  let keysBefore: Int?
  let keysAfter: Int?
  /// Per batch, the number of real keys (packed problems have none: each sequence is whole).
  let keyLengths: [Int]?
  let mask: ResolvedMask<Scalar>
  let scale: Scalar
  let softcap: Scalar?
  /// Per query head.
  let alibiSlopes: [Scalar]?
  /// Per query head.
  let sinks: [Scalar]?

  /// Whether logits need an element-wise pass even where nothing is masked.
  var modifiesLogits: Bool {
    scale == 0 || softcap != nil || alibiSlopes != nil || !mask.isNone
  }

  // MARK: Visibility

  /// The index of the segment that holds query `query`.
  func segmentIndex(ofQuery query: Int) -> Int {
    guard segments.count > 1 else { return 0 }
    var (low, high) = (0, segments.count - 1)
    while low < high {
      let middle = (low + high + 1) / 2
      if segments[middle].queries.lowerBound <= query { low = middle } else { high = middle - 1 }
    }
    return low
  }

  /// The aligned position `p(i)` of query `query` of `segment`, in the segment's key positions.
  @inline(__always)
  func position(ofQuery query: Int, in segment: Segment) -> Int {
    let local = query - segment.queries.lowerBound
    return alignment == .topLeft ? local : local + segment.keys.count - segment.queries.count
  }

  /// The keys (indices along the whole key axis) that query `query` of `segment` may see by
  /// position: its sequence's keys cut by the key length, the causal rule and the window. Empty
  /// when it sees none; never decreasing at either end as the query index grows.
  @inline(__always)
  func keyBand(batch: Int, query: Int, in segment: Segment) -> Range<Int> {
    let count = segment.keys.count
    let p = position(ofQuery: query, in: segment)
    var low = 0
    var high = keyLengths?[batch] ?? count
    if isCausal { high = Swift.min(high, p + 1) }
    // No shortcut for bounds of Nk or more: p(i) lies outside 0..<Nk when Nq > Nk (top-left, or
    // bottom-right's first rows), where such a bound still cuts. Bounds are clamped at the
    // boundary, so these sums cannot overflow.
    if let keysAfter { high = Swift.min(high, p + keysAfter + 1) }
    if let keysBefore { low = Swift.max(low, p - keysBefore) }
    low = Swift.min(Swift.max(low, 0), count)
    high = Swift.max(high, low)
    return (segment.keys.lowerBound + low)..<(segment.keys.lowerBound + high)
  }

  /// ``keyBand(batch:query:in:)`` for a query whose segment is not known.
  func keyBand(batch: Int, query: Int) -> Range<Int> {
    keyBand(batch: batch, query: query, in: segments[segmentIndex(ofQuery: query)])
  }

  /// Whether query `query` of (batch, head) may see key `key`: inside its key band and not blocked
  /// by the mask (a boolean `false`, or an additive `-infinity`).
  func isVisible(batch: Int, head: Int, query: Int, key: Int) -> Bool {
    guard keyBand(batch: batch, query: query).contains(key) else { return false }
    return !mask.blocks(batch: batch, head: head, query: query, key: key)
  }

  /// Whether query `query` of (batch, head) may see at least one key (of `keys`, when given: the
  /// fused kernel's part of a split key range). Only a row that sees none is fully masked (zero
  /// output); the kernels ask only when a row's logits are all `-infinity`.
  func seesAnyKey(batch: Int, head: Int, query: Int, among keys: Range<Int>? = nil) -> Bool {
    let band = keyBand(batch: batch, query: query)
    return band.clamped(to: keys ?? band).contains {
      !mask.blocks(batch: batch, head: head, query: query, key: $0)
    }
  }

  /// How the rows `queries` (all in `segment`) relate to the keys `keys`.
  func tileKind(batch: Int, queries: Range<Int>, keys: Range<Int>, in segment: Segment)
    -> TileKind
  {
    // Both ends of a query's band only grow with the query, so the last query's band starts
    // latest and the first one's ends earliest: when both cover the keys, every band does (the
    // common case, decided without a band per query: 64 bands per tile were 1 % of a batch of
    // short sentences).
    if mask.isNone, let first = queries.first, let last = queries.last, !keys.isEmpty,
      keyBand(batch: batch, query: last, in: segment).lowerBound <= keys.lowerBound,
      keyBand(batch: batch, query: first, in: segment).upperBound >= keys.upperBound
    {
      return .full
    }
    var seesAll = true
    var seesSome = false
    for query in queries {
      let band = keyBand(batch: batch, query: query, in: segment)
      if band.lowerBound < keys.upperBound && keys.lowerBound < band.upperBound {
        seesSome = true
      }
      if band.lowerBound > keys.lowerBound || band.upperBound < keys.upperBound {
        seesAll = false
      }
    }
    if !seesSome { return .empty }
    return seesAll && mask.isNone ? .full : .partial
  }

  // MARK: Logits

  /// Turns `row[0..<keys.count]`, the products `scale·q·k` of query `query` of (batch, head)
  /// with the keys `keys`, into the logits the softmax reads: the softcap, ALiBi and the additive
  /// mask on the keys it sees, `-infinity` on every other.
  ///
  /// - Parameters:
  ///   - band: the query's key band (``keyBand(batch:query:in:)``).
  ///   - position: the query's aligned position `p(i)`, for ALiBi.
  ///   - segmentKeyStart: the first key of the query's sequence, for ALiBi's key positions.
  ///   - productsUnscaled: the matrix product ran with `alpha = 1` because the scale is 0 (BLAS
  ///     may skip a product whose alpha is 0, hiding a NaN or an infinity of Q or K; multiplying
  ///     by 0 here keeps `0·∞ = NaN`).
  @inline(__always)
  func prepareLogits(
    _ row: UnsafeMutablePointer<Scalar>, keys: Range<Int>, band: Range<Int>,
    batch: Int, head: Int, query: Int, position: Int, segmentKeyStart: Int
  ) {
    let count = keys.count
    let visibleStart = Swift.min(Swift.max(band.lowerBound - keys.lowerBound, 0), count)
    let visibleEnd = Swift.max(Swift.min(band.upperBound - keys.lowerBound, count), visibleStart)
    row.update(repeating: -Scalar.infinity, count: visibleStart)
    (row + visibleEnd).update(repeating: -Scalar.infinity, count: count - visibleEnd)
    guard visibleEnd > visibleStart, modifiesLogits else { return }
    let visible = row + visibleStart
    let visibleCount = visibleEnd - visibleStart
    if scale == 0 { RowSoftmax.scale(visible, count: visibleCount, by: 0) }
    if let softcap {
      LogitModification.softcap(visible, count: visibleCount, cap: softcap)
    }
    if let alibiSlopes {
      // Key j's distance from the query's position, in the sequence's own key positions.
      let firstKeyPosition = keys.lowerBound + visibleStart - segmentKeyStart
      LogitModification.subtractLinearBias(
        visible, count: visibleCount, slope: alibiSlopes[head],
        firstDistance: firstKeyPosition - position)
    }
    mask.apply(
      to: visible, count: visibleCount,
      offset: mask.rowOffset(batch: batch, head: head, query: query) + keys.lowerBound
        + visibleStart)
  }

  /// The sink logit of query head `head`, or `nil` when it has none. A sink of `-infinity` is
  /// no sink (its weight `e^(−∞)` is 0), so it is `nil` here and every kernel treats it alike.
  @inline(__always)
  func sink(head: Int) -> Scalar? {
    guard let sink = sinks?[head], sink != -Scalar.infinity else { return nil }
    return sink
  }
}

/// The element-wise logit modifications: one implementation each, shared by the kernels that
/// work on rows of scores (the naive kernel spells the same formulas out per element).
enum LogitModification {
  /// `x ← cap · tanh(x / cap)`, Gemma 2's soft-capping; ±infinity become ±cap, NaN stays NaN.
  @inline(__always)
  static func softcap<Scalar: AttentionScalar>(
    _ row: UnsafeMutablePointer<Scalar>, count: Int, cap: Scalar
  ) {
    let inverse = 1 / cap
    for j in 0..<count { row[j] = cap * Scalar.hyperbolicTangent(row[j] * inverse) }
  }

  /// `x_j ← x_j − slope · |firstDistance + j|`, ALiBi's linear bias by distance.
  @inline(__always)
  static func subtractLinearBias<Scalar: AttentionScalar>(
    _ row: UnsafeMutablePointer<Scalar>, count: Int, slope: Scalar, firstDistance: Int
  ) {
    for j in 0..<count {
      row[j] -= slope * Scalar(Swift.abs(firstDistance + j))
    }
  }
}
