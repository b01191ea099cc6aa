import Attention

/// The exact GELU of BERT's feed-forward block, `x·Φ(x) = x·(1 + erf(x/√2))/2`, applied in place
/// (the vector loop of `Attention`'s `ExactGELU`: within 2.5e-7·max(1, |x|) of the Double
/// formula; erf is exactly ±1 beyond |x/√2| = 4, so GELU is exactly 0 below −4√2 and exactly x
/// above 4√2; +infinity stays +infinity and NaN stays NaN).
enum GELU {
  static func apply(to tensor: inout Tensor<Float>) {
    tensor.withUnsafeMutableBufferPointer { values in
      guard let base = values.baseAddress else { return }
      ExactGELU.apply(to: base, count: values.count)
    }
  }
}
