import Attention

extension Tensor where Element: AttentionScalar {
  /// Rows `range` of axis 2 of a rank-4 tensor `[B, H, N, D]`: `[B, H, range.count, D]`, a copy
  /// (or `self` when `range` is every row).
  func sequenceRows(_ range: Range<Int>) -> Tensor {
    precondition(rank == 4, "sequenceRows needs a rank-4 tensor, got \(shape)")
    let (outer, rows, width) = (shape[0] * shape[1], shape[2], shape[3])
    precondition(range.lowerBound >= 0 && range.upperBound <= rows, "rows \(range) of \(rows)")
    if range == 0..<rows { return self }
    var result: [Element] = []
    result.reserveCapacity(outer * range.count * width)
    scalars.withUnsafeBufferPointer { source in
      for index in 0..<outer {
        let start = (index * rows + range.lowerBound) * width
        result.append(contentsOf: source[start..<(start + range.count * width)])
      }
    }
    return Tensor(uncheckedShape: [shape[0], shape[1], range.count, width], scalars: result)
  }
}
