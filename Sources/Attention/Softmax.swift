/// The numerically stable softmax along the last dimension of `logits`.
///
/// Each row's maximum is subtracted before exponentiating, so logits of any finite magnitude
/// (±1e4 and beyond) neither overflow nor lose the distribution. A row whose entries are all
/// `-infinity` (fully masked) becomes a row of zeros rather than NaN, matching attention's rule.
///
/// - Parameter logits: a tensor of rank ≥ 1; the softmax runs over its last dimension.
/// - Returns: a tensor of the same shape whose rows sum to 1 (or are all zero).
/// - Complexity: O(n) for n elements.
public func softmax<Scalar: AttentionScalar>(_ logits: Tensor<Scalar>) -> Tensor<Scalar> {
  var result = logits
  guard let width = logits.shape.last, width > 0 else { return result }
  result.withUnsafeMutableBufferPointer { buffer in
    for start in stride(from: 0, to: buffer.count, by: width) {
      _ = RowSoftmax.normalize(buffer.baseAddress! + start, count: width)
    }
  }
  return result
}

/// The row softmax the BLAS paths share.
enum RowSoftmax {
  /// Replaces `count` logits with their softmax in place and returns the row's log-sum-exp.
  ///
  /// `-infinity` entries (masked keys) become 0. If every entry is `-infinity` the row becomes
  /// zeros and the result is `-infinity`. A NaN anywhere makes the whole row NaN.
  @inline(__always)
  static func normalize<Scalar: AttentionScalar>(
    _ row: UnsafeMutablePointer<Scalar>, count: Int
  ) -> Scalar {
    var maximum = -Scalar.infinity
    // A NaN maximum must stick: `!(x <= maximum)` alone would let a later entry (a masked key's
    // -inf) replace it, and a row holding a NaN would come out as a fully masked row of zeros.
    for j in 0..<count where row[j] > maximum || row[j].isNaN {
      maximum = row[j]
      if maximum.isNaN { break }
    }
    guard maximum != -Scalar.infinity else {
      row.update(repeating: 0, count: count)
      return -Scalar.infinity
    }
    var sum: Scalar = 0
    for j in 0..<count {
      let e = Scalar.exp(row[j] - maximum)
      row[j] = e
      sum += e
    }
    let reciprocal = 1 / sum
    for j in 0..<count { row[j] *= reciprocal }
    return maximum + Scalar.log(sum)
  }
}
