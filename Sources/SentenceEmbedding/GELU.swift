import Attention

#if canImport(Glibc)
  import Glibc
#endif

/// The Gaussian error linear unit, exact form: `gelu(x) = x · Φ(x) = ½ · x · (1 + erf(x / √2))`.
///
/// BERT's `hidden_act = "gelu"` is this erf form, not the tanh approximation.
enum GELU {
  /// Applies GELU to every element of `tensor` in place.
  ///
  /// - Complexity: O(n).
  static func apply(to tensor: inout Tensor<Float>) {
    tensor.withUnsafeMutableBufferPointer { values in
      for index in values.indices {
        let x = values[index]
        values[index] = 0.5 * x * (1 + erff(x * 0.707_106_781_186_547_524))
      }
    }
  }
}
