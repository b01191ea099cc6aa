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

  /// Whether the mask removes key `key` from row (batch, head, query): a boolean entry that
  /// forbids it, or an additive `-infinity`.
  func blocks(batch: Int, head: Int, query: Int, key: Int) -> Bool {
    let offset = rowOffset(batch: batch, head: head, query: query) + key
    switch values {
    case .none: return false
    case .boolean(let allowed, let invert): return allowed[offset] == invert
    case .additive(let bias): return bias[offset] == -Scalar.infinity
    }
  }

  /// Applies the mask to `count` logits whose entries start at `offset` in the mask's storage:
  /// blocked entries become `-infinity`, others get the additive bias.
  @inline(__always)
  func apply(to row: UnsafeMutablePointer<Scalar>, count: Int, offset: Int) {
    switch values {
    case .none: break
    case .boolean(let allowed, let invert):
      allowed.withUnsafeBufferPointer { mask in
        let m = mask.baseAddress! + offset
        for j in 0..<count where m[j] == invert { row[j] = -Scalar.infinity }
      }
    case .additive(let bias):
      bias.withUnsafeBufferPointer { mask in
        let m = mask.baseAddress! + offset
        // Assigning -inf (rather than adding it) keeps a NaN logit of a masked key out.
        for j in 0..<count {
          let b = m[j]
          row[j] = b == -Scalar.infinity ? b : row[j] + b
        }
      }
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
