/// A vectorised `exp` for the softmax: 16 `Float` or 8 `Double` lanes at a time.
///
/// Method (Cody & Waite; a degree-6 relative-error fit for Float, the degree-12 Taylor series for
/// Double):
/// 1. `k = round(x / ln 2)`, by adding and subtracting 1.5·2^23 (1.5·2^52): `.rounded()` on SIMD
///    lowers to per-lane `rintf` calls at the default x86-64 target (`../shared/NOTES.md`), and the
///    low mantissa bits of the sum already hold `k` in two's complement.
/// 2. `r = x − k·ln2_hi − k·ln2_lo`, with `ln2_hi` short enough that `k·ln2_hi` is exact, so `r`
///    keeps full precision without FMA (`addingProduct` lowers to `fmaf` calls at the default
///    target).
/// 3. `e^r = 1 + r + r²·P(r)` on |r| ≤ ln 2 / 2.
/// 4. `2^k·e^r` by adding `k` to the exponent bits of `e^r` (no Float↔Int SIMD conversion through
///    generic initialisers, which are slow; only bit casts).
///
/// Range and special values (tested in `VectorExpTests`):
/// - results that would be subnormal are flushed to zero: the result is exactly `0` when
///   `exp(x) < Float.leastNormalMagnitude` (x < −87.3365 for Float, x < −708.3964 for Double),
///   `+infinity` when `exp(x)` overflows, `0` for `-infinity`, `+infinity` for `+infinity`, and
///   NaN for NaN. In a softmax the flushed terms are below 1e-38 of the row maximum's weight.
/// - otherwise the relative error against a correctly rounded `exp` is below 2e-7 for Float and
///   below 1e-15 for Double.
enum VectorExp {
  /// e^x for 16 `Float` lanes.
  @_transparent
  static func exp(_ x: SIMD16<Float>) -> SIMD16<Float> {
    typealias V = SIMD16<Float>
    // Largest x with a finite result: 88.72283 (0x42B17217); ln(Float.greatestFiniteMagnitude)
    // = 88.7228391 lies between it and the next Float, whose exp rounds to +infinity.
    let upper: Float = 88.72283172607422
    // Smallest x with exp(x) ≥ Float.leastNormalMagnitude: the Float just above −126·ln 2.
    let lower: Float = -87.33654
    // No clamping: lanes outside [lower, upper] (and NaN) compute garbage that the two
    // replacements at the end overwrite. (`clamped(lowerBound:upperBound:)` and `pointwiseMin` would also run
    // per-lane generic code, ~25 ns per element, 20× the whole exp.)
    let magic: Float = 12_582_912  // 1.5·2^23
    let shifted = x * 1.442_695_04 + magic
    let k = shifted - magic
    // Cody–Waite: 0.693359375 has 9 significant bits, so k·ln2High is exact for |k| ≤ 2^14.
    let r = (x - k * 0.693_359_375) - k * -2.121_944_40e-4
    let r2 = r * r
    // (e^r − 1 − r) / r² by a degree-4 fit minimising the relative error of e^r on |r| ≤ ln 2 / 2
    // (3e-9 before rounding; the Float rounding of the steps dominates the 2e-7 budget).
    var p = V(repeating: 1.381_461_159_326_136_1e-3)
    p = p * r + 8.368_710_055_947_304e-3
    p = p * r + 4.166_838_899_254_799e-2
    p = p * r + 1.666_652_113_199_234e-1
    p = p * r + 4.999_999_403_953_552e-1
    let mantissa = (p * r2 + r) + 1
    // The low bits of `shifted` are k (two's complement); shifting left by 23 moves k into the
    // exponent field and pushes the bits of the magic constant out of the word.
    let exponent = unsafeBitCast(shifted, to: SIMD16<UInt32>.self) &<< 23
    var result = unsafeBitCast(
      unsafeBitCast(mantissa, to: SIMD16<UInt32>.self) &+ exponent, to: V.self)
    // Two masked replacements (measured fastest; bit-casting a comparison mask to integers for a
    // bitwise select costs more, as the mask is a vector of i1 that must be widened):
    // overflow, +infinity and NaN are the lanes where `x <= upper` fails, and x + ∞ is +∞ or NaN;
    // below the normal range, and -infinity, the result is exactly 0.
    result.replace(with: x + .infinity, where: .!(x .<= upper))
    result.replace(with: 0, where: x .< lower)
    return result
  }

  /// e^x for 8 `Double` lanes.
  @_transparent
  static func exp(_ x: SIMD8<Double>) -> SIMD8<Double> {
    typealias V = SIMD8<Double>
    // ln(Double.greatestFiniteMagnitude) = 709.782712893384 rounds down to this Double.
    let upper = 709.782_712_893_383_973_096
    // The Double just above −1022·ln 2 = ln(Double.leastNormalMagnitude).
    let lower = -708.396_418_532_264_1
    let magic = 6_755_399_441_055_744.0  // 1.5·2^52
    let shifted = x * 1.442_695_040_888_963_4 + magic
    let k = shifted - magic
    // fdlibm's split: ln2High has 32 trailing zero bits, so k·ln2High is exact for |k| < 2^20.
    let r = (x - k * 6.931_471_803_691_238_164_90e-1) - k * 1.908_214_929_270_587_700_02e-10
    let r2 = r * r
    // Taylor coefficients 1/n! for n = 12…2; the truncation error r^13/13! is below 1.7e-16 on
    // |r| ≤ ln 2 / 2.
    var p = V(repeating: 2.087_675_698_786_81e-9)
    p = p * r + 2.505_210_838_544_171_8e-8
    p = p * r + 2.755_731_922_398_589_1e-7
    p = p * r + 2.755_731_922_398_589_1e-6
    p = p * r + 2.480_158_730_158_730_2e-5
    p = p * r + 1.984_126_984_126_984_1e-4
    p = p * r + 1.388_888_888_888_888_9e-3
    p = p * r + 8.333_333_333_333_333_3e-3
    p = p * r + 4.166_666_666_666_666_6e-2
    p = p * r + 1.666_666_666_666_666_6e-1
    p = p * r + 0.5
    let mantissa = (p * r2 + r) + 1
    let exponent = unsafeBitCast(shifted, to: SIMD8<UInt64>.self) &<< 52
    var result = unsafeBitCast(
      unsafeBitCast(mantissa, to: SIMD8<UInt64>.self) &+ exponent, to: V.self)
    result.replace(with: x + .infinity, where: .!(x .<= upper))
    result.replace(with: 0, where: x .< lower)
    return result
  }
}
