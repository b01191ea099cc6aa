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
/// Every pass runs on SIMD vectors (16 `Float` or 8 `Double` lanes, ``VectorExp``) with vector
/// accumulators: scalar `max` and `+=` reductions never auto-vectorise (`../shared/NOTES.md`).
/// The order of operations depends only on the row length, never on threads, so results are
/// reproducible bit for bit.
enum RowSoftmax {
  /// Replaces `count` logits with their softmax in place and returns the row's log-sum-exp.
  ///
  /// `-infinity` entries (masked keys) become 0. If every entry is `-infinity` the row becomes
  /// zeros and the result is `-infinity`. A NaN anywhere makes the whole row NaN. A `sink` logit
  /// joins the denominator only (its weight is not written): the row then sums to less than 1,
  /// and the result is `log(e^sink + Σ e^x)`.
  @inline(__always)
  static func normalize<Scalar: AttentionScalar>(
    _ row: UnsafeMutablePointer<Scalar>, count: Int, sink: Scalar? = nil
  ) -> Scalar {
    var maximum = maximum(row, count: count)
    if let sink, !maximum.isNaN, sink > maximum { maximum = sink }
    guard maximum != -Scalar.infinity else {
      row.update(repeating: 0, count: count)
      return -Scalar.infinity
    }
    var sum = exponentiate(row, count: count, subtracting: maximum)
    if let sink { sum += Scalar.exponential(sink - maximum) }
    scale(row, count: count, by: 1 / sum)
    return maximum + Scalar.logarithm(sum)
  }

  /// The largest of `count` values, `-infinity` if `count` is 0.
  ///
  /// A NaN among them is either returned or ignored: NaN when every other value is `-infinity`,
  /// otherwise the largest number, and then the NaN makes the row's sum of exponentials NaN.
  @inline(__always)
  static func maximum<Scalar: AttentionScalar>(_ row: UnsafePointer<Scalar>, count: Int) -> Scalar {
    if Scalar.self == Float.self {
      return unsafeBitCast(maximum16(row.cast(to: Float.self), count: count), to: Scalar.self)
    } else if Scalar.self == Double.self {
      return unsafeBitCast(maximum8(row.cast(to: Double.self), count: count), to: Scalar.self)
    }
    preconditionFailure("RowSoftmax supports Float and Double only")
  }

  /// Replaces each of `count` values `x` with `exp(x − shift)` and returns their sum.
  @inline(__always)
  static func exponentiate<Scalar: AttentionScalar>(
    _ row: UnsafeMutablePointer<Scalar>, count: Int, subtracting shift: Scalar
  ) -> Scalar {
    if Scalar.self == Float.self {
      let sum = exponentiate16(
        row.mutableCast(to: Float.self), count: count,
        subtracting: unsafeBitCast(shift, to: Float.self))
      return unsafeBitCast(sum, to: Scalar.self)
    } else if Scalar.self == Double.self {
      let sum = exponentiate8(
        row.mutableCast(to: Double.self), count: count,
        subtracting: unsafeBitCast(shift, to: Double.self))
      return unsafeBitCast(sum, to: Scalar.self)
    }
    preconditionFailure("RowSoftmax supports Float and Double only")
  }

  /// Multiplies `count` values by `factor`.
  @inline(__always)
  static func scale<Scalar: AttentionScalar>(
    _ row: UnsafeMutablePointer<Scalar>, count: Int, by factor: Scalar
  ) {
    if Scalar.self == Float.self {
      scale16(
        row.mutableCast(to: Float.self), count: count, by: unsafeBitCast(factor, to: Float.self))
    } else if Scalar.self == Double.self {
      scale8(
        row.mutableCast(to: Double.self), count: count, by: unsafeBitCast(factor, to: Double.self))
    } else {
      preconditionFailure("RowSoftmax supports Float and Double only")
    }
  }

  // MARK: Float, 16 lanes
  //
  // The Float and Double passes are written out twice on purpose: one generic version over a
  // SIMD protocol (with the vector exp as a protocol requirement) measured 2× slower on the fused
  // path, 218 → 110 GFLOP/s at (1, 12, 2048, 64), because the generic SIMD operations were not
  // fully specialised. Keep the copies in step.

  @inline(__always)
  static func maximum16(_ row: UnsafePointer<Float>, count: Int) -> Float {
    typealias V = SIMD16<Float>
    var accumulator = V(repeating: -.infinity)
    var j = 0
    // `x > maximum` skips NaN (twice as fast as a NaN-taking `!(x <= maximum)`); a NaN still
    // poisons its row through the sum of exponentials, and is looked for below when the
    // maximum is -infinity, where the caller would otherwise take the row as fully masked.
    while j + V.scalarCount <= count {
      let x = UnsafeRawPointer(row + j).loadUnaligned(as: V.self)
      accumulator.replace(with: x, where: x .> accumulator)
      j += V.scalarCount
    }
    var maximum = accumulator.max()
    while j < count {
      if row[j] > maximum { maximum = row[j] }
      j += 1
    }
    if maximum == -.infinity {
      for j in 0..<count where row[j].isNaN { return row[j] }
    }
    return maximum
  }

  @inline(__always)
  static func exponentiate16(
    _ row: UnsafeMutablePointer<Float>, count: Int, subtracting shift: Float
  ) -> Float {
    typealias V = SIMD16<Float>
    var sum = V()
    var j = 0
    while j + V.scalarCount <= count {
      let raw = UnsafeMutableRawPointer(row + j)
      let e = VectorExp.exp(raw.loadUnaligned(as: V.self) - shift)
      raw.storeBytes(of: e, as: V.self)
      sum += e
      j += V.scalarCount
    }
    if j < count {
      // The tail goes through the same vector exp, padded with -infinity (whose exp adds 0).
      var x = V(repeating: -.infinity)
      for lane in 0..<(count - j) { x[lane] = row[j + lane] - shift }
      let e = VectorExp.exp(x)
      for lane in 0..<(count - j) { row[j + lane] = e[lane] }
      sum += e
    }
    return sum.sum()
  }

  @inline(__always)
  static func scale16(_ row: UnsafeMutablePointer<Float>, count: Int, by factor: Float) {
    typealias V = SIMD16<Float>
    var j = 0
    while j + V.scalarCount <= count {
      let raw = UnsafeMutableRawPointer(row + j)
      raw.storeBytes(of: raw.loadUnaligned(as: V.self) * factor, as: V.self)
      j += V.scalarCount
    }
    while j < count {
      row[j] *= factor
      j += 1
    }
  }

  // MARK: Double, 8 lanes

  @inline(__always)
  static func maximum8(_ row: UnsafePointer<Double>, count: Int) -> Double {
    typealias V = SIMD8<Double>
    var accumulator = V(repeating: -.infinity)
    var j = 0
    // `x > maximum` skips NaN (twice as fast as a NaN-taking `!(x <= maximum)`); a NaN still
    // poisons its row through the sum of exponentials, and is looked for below when the
    // maximum is -infinity, where the caller would otherwise take the row as fully masked.
    while j + V.scalarCount <= count {
      let x = UnsafeRawPointer(row + j).loadUnaligned(as: V.self)
      accumulator.replace(with: x, where: x .> accumulator)
      j += V.scalarCount
    }
    var maximum = accumulator.max()
    while j < count {
      if row[j] > maximum { maximum = row[j] }
      j += 1
    }
    if maximum == -.infinity {
      for j in 0..<count where row[j].isNaN { return row[j] }
    }
    return maximum
  }

  @inline(__always)
  static func exponentiate8(
    _ row: UnsafeMutablePointer<Double>, count: Int, subtracting shift: Double
  ) -> Double {
    typealias V = SIMD8<Double>
    var sum = V()
    var j = 0
    while j + V.scalarCount <= count {
      let raw = UnsafeMutableRawPointer(row + j)
      let e = VectorExp.exp(raw.loadUnaligned(as: V.self) - shift)
      raw.storeBytes(of: e, as: V.self)
      sum += e
      j += V.scalarCount
    }
    if j < count {
      var x = V(repeating: -.infinity)
      for lane in 0..<(count - j) { x[lane] = row[j + lane] - shift }
      let e = VectorExp.exp(x)
      for lane in 0..<(count - j) { row[j + lane] = e[lane] }
      sum += e
    }
    return sum.sum()
  }

  @inline(__always)
  static func scale8(_ row: UnsafeMutablePointer<Double>, count: Int, by factor: Double) {
    typealias V = SIMD8<Double>
    var j = 0
    while j + V.scalarCount <= count {
      let raw = UnsafeMutableRawPointer(row + j)
      raw.storeBytes(of: raw.loadUnaligned(as: V.self) * factor, as: V.self)
      j += V.scalarCount
    }
    while j < count {
      row[j] *= factor
      j += 1
    }
  }
}

extension UnsafePointer {
  /// The same address viewed as another scalar type of the same layout (Float or Double behind a
  /// generic `AttentionScalar` the caller has already identified).
  @inline(__always)
  func cast<T>(to _: T.Type) -> UnsafePointer<T> {
    UnsafeRawPointer(self).assumingMemoryBound(to: T.self)
  }
}

extension UnsafeMutablePointer {
  /// The same address viewed as another scalar type of the same layout.
  @inline(__always)
  func mutableCast<T>(to _: T.Type) -> UnsafeMutablePointer<T> {
    UnsafeMutableRawPointer(self).assumingMemoryBound(to: T.self)
  }
}
