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
    let values: [Other] =
      Other.self == Float.self
      ? unsafeBitCast(scalars.map { Float($0) }, to: [Other].self)
      : scalars.map { Other(Float($0)) }
    return Tensor<Other>(uncheckedShape: shape, scalars: values)
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
    let values: [Other] =
      Other.self == Float.self
      ? unsafeBitCast(scalars.map(\.floatValue), to: [Other].self)
      : scalars.map { Other($0.floatValue) }
    return Tensor<Other>(uncheckedShape: shape, scalars: values)
  }
}
