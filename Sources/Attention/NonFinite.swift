/// Scans for NaN and ±infinity, so fast paths can take a careful route only when needed.
enum NonFinite {
  /// Whether any of the `count` values at `values` is NaN or infinite.
  ///
  /// `x - x` is 0 for finite x and NaN otherwise; summing those keeps the loop branch-free and
  /// vectorisable. Complexity: O(count).
  @inline(__always)
  static func contains<Scalar: AttentionScalar>(_ values: UnsafePointer<Scalar>, count: Int) -> Bool {
    var accumulator: Scalar = 0
    for index in 0..<count { accumulator += values[index] - values[index] }
    return accumulator != 0  // NaN != 0 too
  }
}
