/// Scans for NaN and ±infinity, so fast paths can take a careful route only when needed.
enum NonFinite {
  /// Whether any of the `count` values at `values` is NaN or infinite.
  ///
  /// The scan is the C vector loop of ``VectorKernels`` (or-ing the bits of `x − x`, which is 0
  /// for a finite x and NaN otherwise), branch-free and limited by the loads. Its answer is exact,
  /// so every instruction set gives the same one. Complexity: O(count).
  @inline(__always)
  static func contains<Scalar: AttentionScalar>(
    _ values: UnsafePointer<Scalar>, count: Int, using kernels: VectorKernels = .active
  ) -> Bool {
    kernels.containsNonFinite(values, count: count)
  }
}
