import Attention
import Testing

extension NPYArray {
  /// The array as a library tensor of the given element type.
  func tensor<S: AttentionScalar>(_: S.Type) throws -> Tensor<S> {
    try Tensor(shape: shape, scalars: values.map { S($0) })
  }

  /// The array as a library `Bool` tensor (non-zero is `true`).
  func tensor(_: Bool.Type) throws -> Tensor<Bool> {
    try Tensor(shape: shape, scalars: values.map { $0 != 0 })
  }
}

/// Expects a failed run: the given exit status, exactly one line on standard error that starts
/// with `error: ` and contains every fragment, nothing that looks like a trap or a usage dump.
func expectOneLineError(
  _ result: CLIResult, status: Int32, containing fragments: [String],
  sourceLocation: SourceLocation = #_sourceLocation
) {
  #expect(result.status == status, "\(result)", sourceLocation: sourceLocation)
  #expect(result.errorLines.count == 1, "\(result)", sourceLocation: sourceLocation)
  let line = result.errorLines.first ?? ""
  #expect(line.hasPrefix("error: "), "\(line)", sourceLocation: sourceLocation)
  for fragment in fragments {
    #expect(
      line.contains(fragment), "missing \"\(fragment)\" in: \(line)", sourceLocation: sourceLocation
    )
  }
  for trap in ["Fatal error", "Stack dump", "Usage:", "Illegal instruction"] {
    #expect(!result.standardError.contains(trap), "\(result)", sourceLocation: sourceLocation)
  }
}
