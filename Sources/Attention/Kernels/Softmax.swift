/// The numerically stable softmax along the last dimension of `logits`.
///
/// Each row's maximum is subtracted before exponentiating, so logits of any finite magnitude
/// (±1e4 and beyond) neither overflow nor lose the distribution. A row whose entries are all
/// `-infinity` (fully masked) becomes a row of zeros rather than NaN, matching attention's rule.
///
/// - Parameter logits: a tensor of rank ≥ 1; the softmax runs over its last dimension.
/// - Returns: a tensor of the same shape whose rows sum to 1 (or are all zero).
/// - Complexity: O(n) for n elements.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
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

/// The row softmax the BLAS paths share, and its three passes for the fused kernel's online
/// softmax.
///
/// The algorithm lives here: the shift by the row maximum, fully masked rows, the log-sum-exp and
/// where a NaN goes. The passes over the row run in the C vector loops of ``VectorKernels``
/// (AVX-512, AVX2+FMA or SSE2, chosen once per process); every function takes the loops to use,
/// by default the process's ``VectorKernels/active``, so the tests can run each instruction set.
/// The order of operations depends only on the row length and the loops, never on threads, so
/// results are reproducible bit for bit within a process.
enum RowSoftmax {
  /// Replaces `count` logits with their softmax in place and returns the row's log-sum-exp.
  ///
  /// `-infinity` entries (masked keys) become 0. If every entry is `-infinity` the row becomes
  /// zeros and the result is `-infinity`. A NaN anywhere makes the whole row NaN. A `sink` logit
  /// joins the denominator only (its weight is not written): the row then sums to less than 1,
  /// and the result is `log(e^sink + Σ e^x)`.
  @inline(__always)
  static func normalize<Scalar: AttentionScalar>(
    _ row: UnsafeMutablePointer<Scalar>, count: Int, sink: Scalar? = nil,
    using kernels: VectorKernels = .active
  ) -> Scalar {
    var maximum = maximum(row, count: count, using: kernels)
    if let sink, !maximum.isNaN, sink > maximum { maximum = sink }
    guard maximum != -Scalar.infinity else {
      row.update(repeating: 0, count: count)
      return -Scalar.infinity
    }
    var sum = exponentiate(row, count: count, subtracting: maximum, using: kernels)
    if let sink { sum += Scalar.exponential(sink - maximum) }
    scale(row, count: count, by: 1 / sum, using: kernels)
    return maximum + Scalar.logarithm(sum)
  }

  /// The largest of `count` values, `-infinity` if `count` is 0.
  ///
  /// A NaN among them is either returned or ignored: NaN when every other value is `-infinity`,
  /// otherwise the largest number, and then the NaN makes the row's sum of exponentials NaN.
  @inline(__always)
  static func maximum<Scalar: AttentionScalar>(
    _ row: UnsafePointer<Scalar>, count: Int, using kernels: VectorKernels = .active
  ) -> Scalar {
    // The vector loop skips NaN (`x > maximum`, twice as fast as a NaN-taking `!(x <= maximum)`).
    // A NaN still poisons its row through the sum of exponentials, except when the maximum is
    // -infinity, where the caller would take the row as fully masked: look for it then.
    nanIfMasked(kernels.maximum(row, count: count), row, count: count)
  }

  /// ``maximum(_:count:using:)`` of each of `rowCount` rows (`stride` apart) into `maxima`, in
  /// one pass of the vector loops over all rows.
  ///
  /// - Parameter vectorMaximaGiven: `maxima` already holds the vector loop's maxima (the small
  ///   product writes them as it stores the rows): only the NaN rule is applied.
  @inline(__always)
  static func maxima<Scalar: AttentionScalar>(
    _ rows: UnsafePointer<Scalar>, count: Int, rowCount: Int, stride: Int,
    into maxima: UnsafeMutablePointer<Scalar>, using kernels: VectorKernels = .active,
    vectorMaximaGiven: Bool = false
  ) {
    if !vectorMaximaGiven {
      kernels.maxima(rows, count: count, rowCount: rowCount, stride: stride, into: maxima)
    }
    for r in 0..<rowCount {
      maxima[r] = nanIfMasked(maxima[r], rows + r * stride, count: count)
    }
  }

  /// The vector loop's `maximum` of `row`, or a NaN of the row when that maximum is -infinity.
  @inline(__always)
  private static func nanIfMasked<Scalar: AttentionScalar>(
    _ maximum: Scalar, _ row: UnsafePointer<Scalar>, count: Int
  ) -> Scalar {
    if maximum == -Scalar.infinity {
      for j in 0..<count where row[j].isNaN { return row[j] }
    }
    return maximum
  }

  /// Replaces each of `count` values `x` with `exp(x − shift)` and returns their sum.
  ///
  /// - Precondition: `shift` is not `-infinity` (callers treat a fully masked row first).
  @inline(__always)
  static func exponentiate<Scalar: AttentionScalar>(
    _ row: UnsafeMutablePointer<Scalar>, count: Int, subtracting shift: Scalar,
    using kernels: VectorKernels = .active
  ) -> Scalar {
    kernels.exponentiate(row, count: count, subtracting: shift)
  }

  /// Multiplies `count` values by `factor`.
  @inline(__always)
  static func scale<Scalar: AttentionScalar>(
    _ row: UnsafeMutablePointer<Scalar>, count: Int, by factor: Scalar,
    using kernels: VectorKernels = .active
  ) {
    kernels.scale(row, count: count, by: factor)
  }
}
