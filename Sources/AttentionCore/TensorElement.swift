/// A type a ``Tensor`` can hold: `Float`, `Double` or `Bool`.
///
/// The library conforms exactly these types; conforming others is not supported. The protocol
/// has no public requirements on purpose: members added to `Float`, `Double` or `Bool` would
/// land in every importer's namespace (a public `Float.exp` made `Float.exp(x)` ambiguous for
/// packages that also import swift-numerics).
public protocol TensorElement: Sendable, Equatable {}

extension Bool: TensorElement {}

extension TensorElement {
  /// The value a new tensor is filled with when none is given: zero, or `false`.
  ///
  /// A cast rather than a protocol requirement, so that nothing appears in the public namespace
  /// of the standard types; it runs once per tensor, never in a loop.
  @inlinable package static var fillValue: Self {
    if let value = false as? Self { return value }
    if let value = Float(0) as? Self { return value }
    if let value = Double(0) as? Self { return value }
    preconditionFailure("\(Self.self) is not a supported tensor element")
  }
}
