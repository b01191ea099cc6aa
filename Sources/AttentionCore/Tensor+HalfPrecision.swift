/// Conversions between the types the kernels compute in (`Float`, `Double`) and the
/// half-precision types tensor files store (`Float16`, ``BFloat16``).
///
/// Widening is exact: every `Float16` and every bfloat16 is a `Float` (and a `Double`).
/// Narrowing rounds each element once to the nearest representable value, ties to even; values
/// too large for the type become infinities of their sign, NaN stays NaN.
extension Tensor where Element: AttentionScalar {
  /// The tensor rounded element by element to `Float16`.
  ///
  /// Rounds to nearest, ties to even, directly from `Element` (a `Double` is not rounded to
  /// `Float` first). Magnitudes of 65,520 or more become infinities, values below the smallest
  /// subnormal (about 6e-8) by more than half of it become zeros of their sign, NaN stays NaN.
  ///
  /// - Parameter type: `Float16.self`.
  /// - Returns: a tensor of the same shape.
  /// - Complexity: O(n) for n elements.
  public func converted(to type: Float16.Type) -> Tensor<Float16> {
    // The type test folds away once the caller is specialised for Float or Double.
    let halves: [Float16] =
      Element.self == Float.self
      ? unsafeBitCast(scalars, to: [Float].self).map { Float16($0) }
      : unsafeBitCast(scalars, to: [Double].self).map { Float16($0) }
    return Tensor<Float16>(uncheckedShape: shape, scalars: halves)
  }

  /// The tensor rounded element by element to bfloat16.
  ///
  /// Rounds to nearest, ties to even, directly from `Element` (see ``BFloat16/init(_:)-(Double)``);
  /// values beyond bfloat16's range (about 3.39e38) by half a unit or more become infinities,
  /// NaN stays NaN.
  ///
  /// - Parameter type: `BFloat16.self`.
  /// - Returns: a tensor of the same shape.
  /// - Complexity: O(n) for n elements.
  public func converted(to type: BFloat16.Type) -> Tensor<BFloat16> {
    // The type test folds away once the caller is specialised for Float or Double.
    let halves: [BFloat16] =
      Element.self == Float.self
      ? unsafeBitCast(scalars, to: [Float].self).map { BFloat16($0) }
      : unsafeBitCast(scalars, to: [Double].self).map { BFloat16($0) }
    return Tensor<BFloat16>(uncheckedShape: shape, scalars: halves)
  }
}

extension Tensor where Element == Float16 {
  /// The tensor converted element by element to `Float` or `Double`, exactly.
  ///
  /// Every `Float16` (subnormals, infinities and signed zeros included) is a `Float`; a NaN stays
  /// a NaN of the same sign.
  ///
  /// - Parameter type: `Float.self` or `Double.self`.
  /// - Returns: a tensor of the same shape.
  /// - Complexity: O(n) for n elements.
  public func converted<Other: AttentionScalar>(to type: Other.Type = Other.self) -> Tensor<Other> {
    Tensor<Other>(uncheckedShape: shape, scalars: widening(scalars) { widenedFloat16($0) })
  }
}

extension Tensor where Element == BFloat16 {
  /// The tensor converted element by element to `Float` or `Double`, exactly.
  ///
  /// A bfloat16 is the upper half of a `Float`'s bits, so the conversion is a shift; NaNs keep
  /// their sign and payload.
  ///
  /// - Parameter type: `Float.self` or `Double.self`.
  /// - Returns: a tensor of the same shape.
  /// - Complexity: O(n) for n elements.
  public func converted<Other: AttentionScalar>(to type: Other.Type = Other.self) -> Tensor<Other> {
    Tensor<Other>(uncheckedShape: shape, scalars: widening(scalars) { $0.floatValue })
  }
}

/// `source` converted element by element to `Float`, then (exactly) to `Other`, in one pass.
private func widening<Half, Other: AttentionScalar>(
  _ source: [Half], _ toFloat: (Half) -> Float
) -> [Other] {
  [Other](unsafeUninitializedCapacity: source.count) { buffer, initialized in
    source.withUnsafeBufferPointer { halves in
      if Other.self == Float.self {
        let floats = UnsafeMutableRawBufferPointer(buffer).bindMemory(to: Float.self)
        for index in halves.indices { floats[index] = toFloat(halves[index]) }
      } else {
        for index in halves.indices { buffer[index] = Other(toFloat(halves[index])) }
      }
    }
    initialized = source.count
  }
}

/// The `Float` a float16 denotes, exactly, from its bits.
///
/// The standard library's `Float(_: Float16)` calls a runtime function on CPUs the default
/// x86-64 target does not assume have F16C; this shift-and-rebias (after F. Giesen's
/// `half_to_float`) does the same in a few integer operations, about 2–3× faster, and is checked
/// against the IEEE 754 definition for all 65,536 patterns in the tests.
@inline(__always)
private func widenedFloat16(_ half: Float16) -> Float {
  let bits = half.bitPattern
  let magnitude = UInt32(bits & 0x7FFF) << 13  // exponent and fraction in Float's places
  let exponent = magnitude & 0x0F80_0000
  var widened = magnitude &+ 0x3800_0000  // rebias the exponent: 127 - 15
  if exponent == 0x0F80_0000 {
    widened &+= 0x3800_0000  // infinity or NaN: the exponent becomes all ones
  } else if exponent == 0 {
    // Zero or subnormal: make it the normal number 2^-14 · (1 + fraction), subtract 2^-14.
    widened = (Float(bitPattern: widened &+ 0x0080_0000) - 0x1p-14).bitPattern
  }
  return Float(bitPattern: widened | UInt32(bits & 0x8000) << 16)
}
