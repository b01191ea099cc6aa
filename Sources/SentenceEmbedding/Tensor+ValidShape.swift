import Attention

extension Tensor {
  /// Wraps `scalars` in a tensor of a shape the caller computed from them.
  ///
  /// - Precondition: `scalars.count` is the product of `shape`; the encoder derives both from
  ///   the same sizes, so a mismatch is a bug, not bad input.
  init(validShape shape: [Int], scalars: [Element]) {
    do {
      try self.init(shape: shape, scalars: scalars)
    } catch {
      preconditionFailure("internal shape error: \(error)")
    }
  }
}
