/// A type a ``Tensor`` can hold: `Float`, `Double`, `Bool`, and the storage types of tensor
/// files: `Float16`, ``BFloat16``, `Int32` and `Int64`.
///
/// The library conforms exactly these types; conforming others is not supported. The protocol
/// has no public requirements on purpose: members added to `Float`, `Double`, `Bool`, `Float16`
/// or the integer types would land in every importer's namespace (a public `Float.exp` made
/// `Float.exp(x)` ambiguous for packages that also import swift-numerics).
///
/// Only `Float` and `Double` are computed with (``AttentionScalar``); the half-precision and
/// integer types hold what a file stores until it is converted to one of them (`converted(to:)`
/// on ``Tensor``).
public protocol TensorElement: Sendable, Equatable {}

extension Bool: TensorElement {}
extension Float16: TensorElement {}
extension Int32: TensorElement {}
extension Int64: TensorElement {}

extension TensorElement {
  /// The value a new tensor is filled with when none is given: zero, or `false`.
  ///
  /// A cast rather than a protocol requirement, so that nothing appears in the public namespace
  /// of the standard types; it runs once per tensor, never in a loop.
  @inlinable package static var fillValue: Self {
    if let value = false as? Self { return value }
    if let value = Float(0) as? Self { return value }
    if let value = Double(0) as? Self { return value }
    if let value = Float16(0) as? Self { return value }
    if let value = BFloat16(bitPattern: 0) as? Self { return value }
    if let value = Int32(0) as? Self { return value }
    if let value = Int64(0) as? Self { return value }
    preconditionFailure("\(Self.self) is not a supported tensor element")
  }
}
