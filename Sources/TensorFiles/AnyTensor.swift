import AttentionCore

/// A tensor whose element type is known only at run time, as when it is read from a file.
///
/// Tensor files (`.npy`, `.safetensors`) say in their header whether they hold `float32`,
/// `float64` or `bool` elements; `AnyTensor` carries that choice as a case. Extract a typed
/// ``Tensor`` with ``floatingPoint(as:)`` (which converts between the floating-point types) or
/// ``boolean()``:
///
/// ```swift
/// let query = try NPY.read(from: "q.npy").floatingPoint(as: Float.self)
/// let mask = try NPY.read(from: "mask.npy").boolean()
/// try NPY.write(.float32(output), to: "out.npy")
/// ```
public enum AnyTensor: Sendable, Equatable {
  /// 32-bit floating-point elements (NumPy `float32`, safetensors `F32`).
  case float32(Tensor<Float>)
  /// 64-bit floating-point elements (NumPy `float64`, safetensors `F64`).
  case float64(Tensor<Double>)
  /// Boolean elements, one byte each in files (NumPy `bool`, safetensors `BOOL`).
  case bool(Tensor<Bool>)

  /// Wraps a floating-point tensor: `Float` becomes ``float32(_:)``, `Double` ``float64(_:)``.
  ///
  /// Generic code over ``AttentionScalar`` uses this to write its results without a type switch.
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
    }
  }

  /// The number of elements.
  public var count: Int {
    switch self {
    case .float32(let tensor): tensor.count
    case .float64(let tensor): tensor.count
    case .bool(let tensor): tensor.count
    }
  }

  /// The element type as NumPy names it: `float32`, `float64` or `bool`.
  public var dtypeName: String {
    switch self {
    case .float32: Float.dtypeName
    case .float64: Double.dtypeName
    case .bool: "bool"
    }
  }

  /// The elements as a floating-point tensor of the requested type.
  ///
  /// `float32` and `float64` tensors are converted element by element (`float64` to `Float`
  /// rounds to nearest; overflow gives infinity, as a cast does); a tensor of the requested type
  /// is returned as is, without copying.
  ///
  /// - Parameter type: `Float.self` or `Double.self`.
  /// - Returns: a tensor of the same shape.
  /// - Throws: ``TensorFileError/dtypeMismatch(path:tensor:expected:actual:)`` for a `bool`
  ///   tensor: silently turning a mask into numbers would hide a mistaken file.
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
    case .bool:
      throw TensorFileError.dtypeMismatch(
        path: nil, tensor: nil, expected: "floating-point (float32 or float64)", actual: "bool")
    }
  }

  /// The elements as a boolean tensor.
  ///
  /// - Throws: ``TensorFileError/dtypeMismatch(path:tensor:expected:actual:)`` for a
  ///   floating-point tensor (no threshold is guessed).
  /// - Complexity: O(1).
  public func boolean() throws -> Tensor<Bool> {
    guard case .bool(let tensor) = self else {
      throw TensorFileError.dtypeMismatch(
        path: nil, tensor: nil, expected: "bool", actual: dtypeName)
    }
    return tensor
  }
}
