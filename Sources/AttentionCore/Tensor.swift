/// A dense, row-major, contiguous n-dimensional array with value semantics.
///
/// `Tensor` is a plain value: copying it is cheap (its storage is shared copy-on-write, like
/// `Array`), mutating a copy never changes the original, and it is `Sendable`, so tensors can be
/// passed freely between tasks. The last dimension varies fastest (C order, as NumPy's default
/// and PyTorch's contiguous tensors).
///
/// ```swift
/// let q = try Tensor<Float>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
/// q[1, 2]  // 6
/// ```
public struct Tensor<Element: TensorElement>: Sendable, Equatable {
  /// The size of each dimension, outermost first.
  public private(set) var shape: [Int]
  /// The elements in row-major order; `scalars.count == shape.reduce(1, *)`.
  @inlinable public var scalars: [Element] { storage }

  /// The elements; a stored property of its own so that the small accessors below can be
  /// `@inlinable` (kernels in other modules then index without a generic call per element).
  @usableFromInline var storage: [Element]

  /// Creates a tensor from its shape and its elements in row-major order.
  ///
  /// - Throws: ``AttentionError`` if a dimension is negative, the element count overflows `Int`,
  ///   or `scalars.count` is not the product of `shape`.
  /// - Complexity: O(1) (the array is adopted, not copied).
  public init(shape: [Int], scalars: [Element]) throws {
    let count = try Tensor.elementCount(of: shape)
    guard count == scalars.count else {
      throw AttentionError(
        .shapeMismatch,
        "shape \(shape.shapeDescription) holds \(count) elements but \(scalars.count) were given")
    }
    self.shape = shape
    self.storage = scalars
  }

  /// Creates a tensor of the given shape with every element equal to `value`.
  ///
  /// - Throws: ``AttentionError`` if a dimension is negative or the element count overflows.
  /// - Complexity: O(n) for n elements.
  public init(shape: [Int], repeating value: Element) throws {
    let count = try Tensor.elementCount(of: shape)
    self.shape = shape
    self.storage = Array(repeating: value, count: count)
  }

  /// Creates a tensor of zeros (or `false`).
  ///
  /// - Throws: ``AttentionError`` if a dimension is negative or the element count overflows.
  public init(zeros shape: [Int]) throws {
    try self.init(shape: shape, repeating: .fillValue)
  }

  /// Internal unchecked initialiser for shapes already validated by the caller.
  @usableFromInline
  package init(uncheckedShape shape: [Int], scalars: [Element]) {
    precondition(shape.reduce(1, *) == scalars.count, "internal shape/count mismatch")
    self.shape = shape
    self.storage = scalars
  }

  /// The number of dimensions.
  @inlinable public var rank: Int { shape.count }

  /// The number of elements, the product of the dimensions.
  @inlinable public var count: Int { scalars.count }

  /// The element at the given multi-dimensional index.
  ///
  /// - Precondition: one index per dimension, each in range (an out-of-range index is a
  ///   programming error, like an array subscript).
  @inlinable public subscript(indices: Int...) -> Element {
    get { storage[flatIndex(indices)] }
    set { storage[flatIndex(indices)] = newValue }
  }

  @inlinable
  package func flatIndex(_ indices: [Int]) -> Int {
    precondition(
      indices.count == shape.count,
      "\(indices.count) indices for a tensor of rank \(shape.count)")
    var flat = 0
    for (index, dimension) in zip(indices, shape) {
      precondition(
        index >= 0 && index < dimension,
        "index \(indices) out of range for shape \(shape.shapeDescription)")
      flat = flat * dimension + index
    }
    return flat
  }

  /// The same elements viewed with another shape of equal element count.
  ///
  /// - Throws: ``AttentionError`` when the element counts differ.
  /// - Complexity: O(1); the storage is shared.
  public func reshaped(to newShape: [Int]) throws -> Tensor {
    try Tensor(shape: newShape, scalars: scalars)
  }

  /// Calls `body` with a pointer to the contiguous row-major elements.
  @inlinable public func withUnsafeBufferPointer<R>(
    _ body: (UnsafeBufferPointer<Element>) throws -> R
  ) rethrows -> R {
    try storage.withUnsafeBufferPointer(body)
  }

  /// Calls `body` with a mutable pointer to the elements, copying the storage first if shared.
  @inlinable public mutating func withUnsafeMutableBufferPointer<R>(
    _ body: (inout UnsafeMutableBufferPointer<Element>) throws -> R
  ) rethrows -> R {
    try storage.withUnsafeMutableBufferPointer(body)
  }

  /// The product of `shape`, or a thrown error for a negative dimension or an `Int` overflow.
  package static func elementCount(of shape: [Int]) throws -> Int {
    var count = 1
    for dimension in shape {
      guard dimension >= 0 else {
        throw AttentionError(
          .invalidShape, "shape \(shape.shapeDescription) has a negative dimension")
      }
      let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
      guard !overflow else {
        throw AttentionError(
          .memoryLimit, "shape \(shape.shapeDescription) has more elements than Int can count")
      }
      count = product
    }
    return count
  }
}

extension Tensor: CustomStringConvertible {
  public var description: String {
    let preview = scalars.prefix(8).map { "\($0)" }.joined(separator: ", ")
    let more = scalars.count > 8 ? ", …" : ""
    return "Tensor<\(Element.self)>\(shape.shapeDescription)(\(preview)\(more))"
  }
}

extension Tensor where Element: AttentionScalar {
  /// A tensor of independent normal samples, reproducible from the generator's seed.
  ///
  /// - Complexity: O(n) for n elements.
  public static func randomNormal<G: RandomNumberGenerator>(
    shape: [Int], mean: Element = 0, standardDeviation: Element = 1, using generator: inout G
  ) throws -> Tensor {
    let count = try elementCount(of: shape)
    var scalars = [Element]()
    scalars.reserveCapacity(count)
    var split = SplitMix64(seed: generator.next())
    for _ in 0..<count {
      scalars.append(mean + standardDeviation * Element(split.nextGaussian()))
    }
    return Tensor(uncheckedShape: shape, scalars: scalars)
  }

  /// A tensor of independent samples uniform in `range`, reproducible from the generator's seed.
  ///
  /// - Complexity: O(n) for n elements.
  public static func randomUniform<G: RandomNumberGenerator>(
    shape: [Int], in range: ClosedRange<Element>, using generator: inout G
  ) throws -> Tensor where Element.RawSignificand: FixedWidthInteger {
    let count = try elementCount(of: shape)
    var scalars = [Element]()
    scalars.reserveCapacity(count)
    for _ in 0..<count { scalars.append(Element.random(in: range, using: &generator)) }
    return Tensor(uncheckedShape: shape, scalars: scalars)
  }

  /// The largest absolute element-wise difference to `other` (NaN if either holds a NaN where
  /// the other does not hold the same NaN position).
  ///
  /// - Precondition: equal shapes.
  public func maxAbsoluteDifference(to other: Tensor) -> Element {
    precondition(shape == other.shape, "shapes \(shape) and \(other.shape) differ")
    var worst: Element = 0
    for (a, b) in zip(scalars, other.scalars) {
      if a.isNaN && b.isNaN { continue }
      if a == b { continue }  // equal infinities
      let difference = abs(a - b)
      if difference.isNaN { return .nan }
      worst = Swift.max(worst, difference)
    }
    return worst
  }

  /// The tensor converted element by element to another floating-point type.
  public func converted<Other: AttentionScalar>(to _: Other.Type = Other.self) -> Tensor<Other> {
    Tensor<Other>(uncheckedShape: shape, scalars: scalars.map { Other($0) })
  }
}
