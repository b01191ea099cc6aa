import Attention

/// The Gaussian error linear unit, exact form: `gelu(x) = x · Φ(x) = ½ · x · (1 + erf(x / √2))`.
///
/// BERT's `hidden_act = "gelu"` is this erf form, not the tanh approximation.
///
/// The C library's `erff` costs 5–20 ns a call, and the feed-forward block of all-MiniLM-L6-v2
/// applies GELU to 1536 values per token per layer (measured: 14 % of a whole forward pass). Here
/// erf is a rational function evaluated in `Double`, as accurate as `erff` at a quarter of its
/// cost (measured: 5.5 against 20 ns per element):
///
/// ```
/// erf(z) ≈ z · P(z²) / Q(z²)  for |z| ≤ 4,   ±1 beyond   (erf(4) = 1 − 1.5e-8)
/// ```
///
/// with `P` of degree 6 and `Q` of degree 5, a near-minimax least-squares fit whose absolute and
/// relative error are below 4e-8 on the whole line (`Tests/Fixtures/MiniLM/fit_erf.py` derives
/// the coefficients). Evaluating in `Double` keeps rounding out of it: in `Float` the same
/// formula loses up to 3.5e-7.
enum GELU {
  /// Applies GELU to every element of `tensor` in place.
  ///
  /// - Complexity: O(n).
  static func apply(to tensor: inout Tensor<Float>) {
    tensor.withUnsafeMutableBufferPointer { values in
      for index in values.indices {
        let x = Double(values[index])
        values[index] = Float(0.5 * x * (1 + erf(x * 0.707_106_781_186_547_524_4)))
      }
    }
  }

  /// erf within 4e-8 (see the type's description).
  ///
  /// A plain scalar function on purpose: a hand-written `SIMD8<Double>` version was 1.8× faster
  /// in release builds but 120× slower in debug builds, where the tests run.
  @inline(__always)
  static func erf(_ x: Double) -> Double {
    // Exactly ±1 beyond ±4, as Float's erf is: GELU then gives exactly 0 for x ≤ −4√2 instead
    // of an error growing with |x|. NaN fails both tests and stays NaN.
    if x > 4 { return 1 }
    if x < -4 { return -1 }
    let t = x * x
    var p = -1.226_240_651_437_748_9e-08
    p = p * t + 4.525_829_648_634_787e-06
    p = p * t + 0.000_372_727_200_199_415_7
    p = p * t + 0.003_782_534_983_009_233_6
    p = p * t + 0.054_021_919_695_075_7
    p = p * t + 0.183_984_388_802_413_02
    p = p * t + 1.128_379_181_958_774_5
    var q = 6.161_837_392_727_214e-05
    q = q * t + 0.001_284_710_728_758_545
    q = q * t + 0.015_304_037_107_732_147
    q = q * t + 0.113_336_503_655_024_3
    q = q * t + 0.496_385_475_841_160_9
    q = q * t + 1
    return x * p / q
  }
}
