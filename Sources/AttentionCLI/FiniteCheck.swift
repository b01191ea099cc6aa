import Attention

/// The `--check-finite` scan: the first NaN or infinity in an input, reported with its index.
enum FiniteCheck {
  /// Throws naming `file` and the multi-dimensional index of the first element that is NaN or
  /// infinite. With `allowingNegativeInfinity` (additive masks, where `-inf` means "blocked"),
  /// only NaN and `+inf` are rejected.
  ///
  /// - Complexity: O(n) for n elements; stops at the first bad one.
  static func check<Scalar: AttentionScalar>(
    _ tensor: Tensor<Scalar>, file: FileArgument, allowingNegativeInfinity: Bool = false
  ) throws {
    let bad = tensor.withUnsafeBufferPointer { buffer in
      buffer.firstIndex { value in
        !value.isFinite && !(allowingNegativeInfinity && value == -.infinity)
      }
    }
    guard let bad else { return }
    let value = tensor.scalars[bad]
    throw CommandLineError(
      "\(file) holds the non-finite value \(value) at index \(multiIndex(of: bad, in: tensor.shape)) (--check-finite)"
    )
  }

  /// The row-major flat index `flat` written as `[i, j, …]` for `shape`.
  static func multiIndex(of flat: Int, in shape: [Int]) -> String {
    var remainder = flat
    var indices = [Int](repeating: 0, count: shape.count)
    for axis in shape.indices.reversed() where shape[axis] > 0 {
      indices[axis] = remainder % shape[axis]
      remainder /= shape[axis]
    }
    return indices.shapeDescription
  }
}
