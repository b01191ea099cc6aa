/// An error thrown for input the library cannot compute with.
///
/// Every error carries a ``kind`` to match on and a ``message`` written for a person: it names the
/// values involved (for a shape mismatch, both shapes).
public struct AttentionError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The broad class of problem.
  public enum Kind: String, Sendable, Equatable {
    /// A tensor's shape is not one the operation accepts (wrong rank, empty dimension, …).
    case invalidShape
    /// Two inputs' shapes disagree with each other.
    case shapeMismatch
    /// A non-shape argument is out of range (scale, head count, key length, …).
    case invalidArgument
    /// The request would need more memory than the configured budget allows, or a size overflows.
    case memoryLimit
    /// A numerical routine (LAPACK) reported failure.
    case numericalFailure
  }

  /// The broad class of problem.
  public let kind: Kind
  /// A one-line description naming the values involved.
  public let message: String

  /// Creates an error of the given kind with a message for a person.
  public init(_ kind: Kind, _ message: String) {
    self.kind = kind
    self.message = message
  }

  public var description: String { message }

  /// A shape-mismatch error naming both shapes.
  package static func mismatch(
    _ what: String, _ lhsName: String, _ lhs: [Int], _ rhsName: String, _ rhs: [Int]
  ) -> AttentionError {
    AttentionError(
      .shapeMismatch,
      "\(what): \(lhsName) has shape \(lhs.shapeDescription) but \(rhsName) has shape \(rhs.shapeDescription)"
    )
  }
}

extension Array where Element == Int {
  /// `[2, 3, 4]`, the way shapes are printed in messages.
  @usableFromInline package var shapeDescription: String {
    "[" + map(String.init).joined(separator: ", ") + "]"
  }
}
