/// BERT's exact GELU, `x·(1 + erf(x/√2))/2`, for the feed-forward blocks of encoder models.
///
/// One vector loop at the CPU's widest instruction set (``VectorKernels``), with erf a rational
/// approximation evaluated in `Float`: within 2.5e-7·max(1, |x|) of the `Double` formula, about
/// two units in the last place of the result. Large arrays are split across cores.
package enum ExactGELU {
  /// Applies the GELU to `count` values in place.
  package static func apply(to values: UnsafeMutablePointer<Float>, count: Int) {
    let values = DisjointAccess(values)
    ElementwiseWork.forEachChunk(count: count) { range in
      VectorKernels.active.geluErf(values.base + range.lowerBound, count: range.count)
    }
  }
}
