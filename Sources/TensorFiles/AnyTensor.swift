import AttentionCore

/// A tensor whose element type is known only at run time, as when it is read from a file.
///
/// Tensor files (`.npy`, `.safetensors`) say in their header which element type they hold;
/// `AnyTensor` carries that choice as a case, with the elements as the file stores them. Extract
/// a typed `Tensor` with ``floatingPoint(as:)`` (which converts any floating-point case to
/// `Float` or `Double`), ``integer()`` or ``boolean()``:
///
/// ```swift
/// let query = try NPY.read(from: "q.npy").floatingPoint(as: Float.self)  // f2, f4 or f8
/// let tokens = try NPY.read(from: "ids.npy").integer()                   // i4 or i8
/// let mask = try NPY.read(from: "mask.npy").boolean()
/// try NPY.write(.float32(output), to: "out.npy")
/// try NPY.write(.float16(output.converted(to: Float16.self)), to: "out16.npy")
/// ```
///
/// Half-precision elements stay half precision until asked for: a checkpoint of bfloat16
/// weights read into ``SafetensorsFile`` occupies its size on disk, and each weight is converted
/// to `Float` on its own when a model takes it.
///
/// ## Adding element types
///
/// The cases grow with the file formats' dtypes (`float16`, `bfloat16`, `int32` and `int64` were
/// added after the first three). Outside this package a `switch` over `AnyTensor` must have an
/// `@unknown default:` (or `default:`) clause, so a later case does not break it; code that only
/// needs numbers should call ``floatingPoint(as:)`` rather than switch.
#if hasAttribute(nonexhaustive)
  @nonexhaustive
#endif
public enum AnyTensor: Sendable, Equatable {
  /// 32-bit floating-point elements (NumPy `float32`, safetensors `F32`).
  case float32(Tensor<Float>)
  /// 64-bit floating-point elements (NumPy `float64`, safetensors `F64`).
  case float64(Tensor<Double>)
  /// Boolean elements, one byte each in files (NumPy `bool`, safetensors `BOOL`).
  case bool(Tensor<Bool>)
  /// IEEE 754 half-precision elements (NumPy `float16`, safetensors `F16`).
  case float16(Tensor<Float16>)
  /// bfloat16 elements (safetensors `BF16`; NumPy has no such type).
  case bfloat16(Tensor<BFloat16>)
  /// 32-bit signed integers (NumPy `int32`, safetensors `I32`), e.g. token ids.
  case int32(Tensor<Int32>)
  /// 64-bit signed integers (NumPy `int64`, safetensors `I64`), e.g. token ids.
  case int64(Tensor<Int64>)

  /// Wraps a floating-point tensor: `Float` becomes ``float32(_:)``, `Double` ``float64(_:)``.
  ///
  /// Generic code over `AttentionScalar` uses this to write its results without a type switch.
  /// - Complexity: O(1).
  public init<Scalar: AttentionScalar>(_ tensor: Tensor<Scalar>) {
    if let float = tensor as? Tensor<Float> {
      self = .float32(float)
    } else if let double = tensor as? Tensor<Double> {
      self = .float64(double)
    } else {
      // Only Float and Double conform to AttentionScalar; widening is exact for both.
      self = .float64(tensor.converted(to: Double.self))
    }
  }

  /// Wraps a boolean tensor as ``bool(_:)``.
  public init(_ tensor: Tensor<Bool>) {
    self = .bool(tensor)
  }

  /// The size of each dimension, outermost first.
  public var shape: [Int] {
    switch self {
    case .float32(let tensor): tensor.shape
    case .float64(let tensor): tensor.shape
    case .bool(let tensor): tensor.shape
    case .float16(let tensor): tensor.shape
    case .bfloat16(let tensor): tensor.shape
    case .int32(let tensor): tensor.shape
    case .int64(let tensor): tensor.shape
    }
  }

  /// The number of elements.
  public var count: Int {
    switch self {
    case .float32(let tensor): tensor.count
    case .float64(let tensor): tensor.count
    case .bool(let tensor): tensor.count
    case .float16(let tensor): tensor.count
    case .bfloat16(let tensor): tensor.count
    case .int32(let tensor): tensor.count
    case .int64(let tensor): tensor.count
    }
  }

  /// The element type as NumPy names it: `float16`, `bfloat16`, `float32`, `float64`, `int32`,
  /// `int64` or `bool` (`bfloat16` as PyTorch and the `ml_dtypes` package name it).
  public var dtypeName: String { elementType.name }

  /// Whether the elements are floating-point numbers of any width.
  public var isFloatingPoint: Bool {
    switch self {
    case .float16, .bfloat16, .float32, .float64: true
    case .bool, .int32, .int64: false
    }
  }

  /// The elements as a floating-point tensor of the requested type.
  ///
  /// `float16` and `bfloat16` elements widen exactly (infinities, NaNs, signed zeros and
  /// subnormals included); `float64` to `Float` rounds to nearest (overflow gives infinity, as a
  /// cast does). A tensor of the requested type is returned as is, without copying; any other is
  /// converted straight from its stored elements, without an intermediate copy.
  ///
  /// - Parameter type: `Float.self` or `Double.self`.
  /// - Returns: a tensor of the same shape.
  /// - Throws: ``TensorFileError/dtypeMismatch(path:tensor:expected:actual:)`` for a `bool`,
  ///   `int32` or `int64` tensor: silently turning a mask or token ids into numbers would hide a
  ///   mistaken file.
  /// - Complexity: O(1) when no conversion is needed, O(n) otherwise.
  public func floatingPoint<Scalar: AttentionScalar>(
    as type: Scalar.Type = Scalar.self
  ) throws -> Tensor<Scalar> {
    switch self {
    case .float32(let tensor):
      if let same = tensor as? Tensor<Scalar> { return same }
      return tensor.converted(to: Scalar.self)
    case .float64(let tensor):
      if let same = tensor as? Tensor<Scalar> { return same }
      return tensor.converted(to: Scalar.self)
    case .float16(let tensor):
      return tensor.converted(to: Scalar.self)
    case .bfloat16(let tensor):
      return tensor.converted(to: Scalar.self)
    case .bool, .int32, .int64:
      throw TensorFileError.dtypeMismatch(
        path: nil, tensor: nil, expected: Self.floatingPointDescription, actual: dtypeName)
    }
  }

  /// The elements as 64-bit integers: `int64` as is, `int32` widened (exactly).
  ///
  /// - Returns: a tensor of the same shape.
  /// - Throws: ``TensorFileError/dtypeMismatch(path:tensor:expected:actual:)`` for a
  ///   floating-point or `bool` tensor (no rounding is guessed).
  /// - Complexity: O(1) for `int64`, O(n) for `int32`.
  public func integer() throws -> Tensor<Int64> {
    switch self {
    case .int64(let tensor):
      return tensor
    case .int32(let tensor):
      return Tensor(uncheckedShape: tensor.shape, scalars: tensor.scalars.map { Int64($0) })
    default:
      throw TensorFileError.dtypeMismatch(
        path: nil, tensor: nil, expected: "integer (int32 or int64)", actual: dtypeName)
    }
  }

  /// The elements as a boolean tensor.
  ///
  /// - Throws: ``TensorFileError/dtypeMismatch(path:tensor:expected:actual:)`` for a
  ///   numeric tensor (no threshold is guessed).
  /// - Complexity: O(1).
  public func boolean() throws -> Tensor<Bool> {
    guard case .bool(let tensor) = self else {
      throw TensorFileError.dtypeMismatch(
        path: nil, tensor: nil, expected: "bool", actual: dtypeName)
    }
    return tensor
  }

  /// What ``floatingPoint(as:)`` accepts, for messages.
  static let floatingPointDescription = "floating-point (float16, bfloat16, float32 or float64)"
}
