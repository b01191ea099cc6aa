import Attention

extension ProcessGroup {
  /// Hands every process's rows of a sharded tensor to `body` on the process `root`, one process
  /// at a time: a collective call that gathers without holding the whole tensor.
  ///
  /// On `root`, `body` runs once per part in order `0..<size`, with that part's rows
  /// `[…, n_p, D]` and their positions `sharding.ranges(ofPart: p)`; the other processes send
  /// their rows to `root` and do not call `body`.
  ///
  /// - Parameters:
  ///   - local: this process's rows, axis `rank − 2` along the sequence, the other dimensions
  ///     the same on every process.
  ///   - sharding: the sharding the rows follow.
  ///   - root: the process that receives, `0` by default.
  ///   - body: what `root` does with each part's rows.
  /// - Throws: what `body` throws (on `root`; the remaining parts are then still received, so no
  ///   process is left waiting).
  /// - Complexity: `root` holds one part's rows at a time besides its own.
  public func forEachShard<Scalar: AttentionScalar>(
    of local: Tensor<Scalar>, sharding: SequenceSharding, root: Int = 0,
    _ body: (Tensor<Scalar>, [Range<Int>]) throws -> Void
  ) throws {
    precondition(local.rank >= 2, "a sharded tensor has at least the sequence and feature axes")
    precondition(sharding.partCount == size, "the sharding's parts must be the group's processes")
    guard rank == root else {
      local.scalars.withUnsafeBytes { MPIBindings.send($0, to: root, tag: 2) }
      return
    }
    var failure: (any Error)?
    for part in 0..<size {
      var shape = local.shape
      shape[shape.count - 2] = sharding.rowCount(ofPart: part)
      let rows: Tensor<Scalar>
      if part == root {
        rows = local
      } else {
        var scalars = [Scalar](
          repeating: 0, count: shape.reduce(1, *))
        scalars.withUnsafeMutableBytes { MPIBindings.receive(into: $0, from: part, tag: 2) }
        rows = Tensor(uncheckedShape: shape, scalars: scalars)
      }
      guard failure == nil else { continue }
      do {
        try body(rows, sharding.ranges(ofPart: part))
      } catch {
        failure = error
      }
    }
    if let failure { throw failure }
  }
}
