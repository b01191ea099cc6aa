#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A floating-point type the attention kernels compute in: `Float` (BLAS `sgemm`) or `Double`
/// (BLAS `dgemm`).
///
/// The library conforms exactly `Float` and `Double`; conforming other types is not supported.
/// The elementary functions the kernels need are `package` members below, not protocol
/// requirements, so `Float` and `Double` gain no public members (see ``TensorElement``).
public protocol AttentionScalar: TensorElement, BinaryFloatingPoint, SIMDScalar, Codable
where Self.RawSignificand: FixedWidthInteger {}

extension Float: AttentionScalar {}
extension Double: AttentionScalar {}

extension AttentionScalar {
  /// e raised to `x`, from the C library (`expf` / `exp`).
  ///
  /// The type test folds away once the caller is specialised for `Float` or `Double`.
  @inlinable package static func exponential(_ x: Self) -> Self {
    if Self.self == Float.self {
      return unsafeBitCast(expf(unsafeBitCast(x, to: Float.self)), to: Self.self)
    }
    return unsafeBitCast(exp(unsafeBitCast(x, to: Double.self)), to: Self.self)
  }

  /// The natural logarithm of `x`, from the C library (`logf` / `log`).
  @inlinable package static func logarithm(_ x: Self) -> Self {
    if Self.self == Float.self {
      return unsafeBitCast(logf(unsafeBitCast(x, to: Float.self)), to: Self.self)
    }
    return unsafeBitCast(log(unsafeBitCast(x, to: Double.self)), to: Self.self)
  }

  /// The hyperbolic tangent of `x`, from the C library (`tanhf` / `tanh`).
  @inlinable package static func hyperbolicTangent(_ x: Self) -> Self {
    if Self.self == Float.self {
      return unsafeBitCast(tanhf(unsafeBitCast(x, to: Float.self)), to: Self.self)
    }
    return unsafeBitCast(tanh(unsafeBitCast(x, to: Double.self)), to: Self.self)
  }

  /// The type's name as NumPy spells it: `float32` or `float64`.
  package static var dtypeName: String { Self.self == Float.self ? "float32" : "float64" }
}
