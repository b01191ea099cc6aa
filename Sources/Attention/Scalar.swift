#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A type a ``Tensor`` can hold: `Float`, `Double` or `Bool`.
///
/// The library conforms exactly these three types; conforming others is not supported.
public protocol TensorElement: Sendable, Equatable {
  /// The value a new tensor is filled with when none is given (zero, or `false`).
  static var zero: Self { get }
}

extension Bool: TensorElement {
  public static var zero: Bool { false }
}

/// A floating-point type the attention kernels compute in: `Float` (BLAS `sgemm`) or `Double`
/// (BLAS `dgemm`).
///
/// The library conforms exactly `Float` and `Double`; conforming other types is not supported.
public protocol AttentionScalar: TensorElement, BinaryFloatingPoint, SIMDScalar
where Self.RawSignificand: FixedWidthInteger {
  /// e raised to `x`, correctly rounded to within an ulp (the C library's `exp`).
  static func exp(_ x: Self) -> Self
  /// The natural logarithm of `x` (the C library's `log`).
  static func log(_ x: Self) -> Self
  /// A short name of the type as NumPy spells it (`float32`, `float64`).
  static var dtypeName: String { get }
}

extension Float: AttentionScalar {
  @inlinable public static func exp(_ x: Float) -> Float { expf(x) }
  @inlinable public static func log(_ x: Float) -> Float { logf(x) }
  public static var dtypeName: String { "float32" }
}

extension Double: AttentionScalar {
  @inlinable public static func exp(_ x: Double) -> Double { Glibc.exp(x) }
  @inlinable public static func log(_ x: Double) -> Double { Glibc.log(x) }
  public static var dtypeName: String { "float64" }
}
