/// Scans for NaN and ±infinity, so fast paths can take a careful route only when needed.
enum NonFinite {
  /// Whether any of the `count` values at `values` is NaN or infinite.
  ///
  /// `x - x` is 0 for finite x and NaN otherwise; summing those keeps the loop branch-free. The
  /// sum runs in SIMD accumulators (16 Float or 8 Double lanes): a scalar `+=` chain does not
  /// vectorise (floating-point addition is not reassociated) and costs an add latency per
  /// element, which made this scan of V a visible part of decoding. Complexity: O(count).
  @inline(__always)
  static func contains<Scalar: AttentionScalar>(_ values: UnsafePointer<Scalar>, count: Int)
    -> Bool
  {
    if Scalar.self == Float.self {
      return contains(values.cast(to: Float.self), count: count, lanes: SIMD16<Float>.self)
    } else if Scalar.self == Double.self {
      return contains(values.cast(to: Double.self), count: count, lanes: SIMD8<Double>.self)
    }
    var accumulator: Scalar = 0
    for index in 0..<count { accumulator += values[index] - values[index] }
    return accumulator != 0  // NaN != 0 too
  }

  @inline(__always)
  static func contains<V: SIMD>(
    _ values: UnsafePointer<V.Scalar>, count: Int, lanes _: V.Type
  ) -> Bool where V.Scalar: BinaryFloatingPoint {
    var accumulator = V()
    var index = 0
    while index + V.scalarCount <= count {
      let x = UnsafeRawPointer(values + index).loadUnaligned(as: V.self)
      accumulator += x - x
      index += V.scalarCount
    }
    var tail: V.Scalar = 0
    while index < count {
      tail += values[index] - values[index]
      index += 1
    }
    return accumulator != V() || tail != 0  // a NaN lane is != 0 too
  }
}
