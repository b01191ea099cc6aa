import Attention

/// Sentence-transformers' `Pooling(mean)` followed by `Normalize`: the average of each
/// sequence's real token states, scaled to unit length.
///
/// ```
/// m[b, :] = Σ_{n < length[b]} hidden[b, n, :] / length[b]
/// e[b, :] = m[b, :] / max(‖m[b, :]‖₂, 1e-12)
/// ```
/// `[CLS]` and `[SEP]` count as tokens; padding does not. Sums are accumulated in `Double`.
enum MeanPooling {
  /// Pools `hidden` `[B, N, H]` over the first `lengths[b]` rows of each sequence and
  /// L2-normalises the result: `[B, H]`.
  ///
  /// - Precondition: `lengths` has `B` entries, each in `1…N` (a ``TokenBatch`` guarantees it).
  /// - Complexity: O(B·N·H).
  static func normalizedMeans(of hidden: Tensor<Float>, lengths: [Int]) -> Tensor<Float> {
    precondition(hidden.rank == 3 && hidden.shape[0] == lengths.count)
    let tokenCount = hidden.shape[1]
    precondition(lengths.allSatisfy { (1...tokenCount).contains($0) })
    return normalizedMeans(
      of: hidden, starts: lengths.indices.map { $0 * tokenCount }, lengths: lengths)
  }

  /// Pools packed `hidden` `[T, H]`, whose sequences lie end to end with the given lengths.
  ///
  /// - Precondition: the lengths are positive and sum to `T`.
  static func normalizedMeans(ofPacked hidden: Tensor<Float>, lengths: [Int]) -> Tensor<Float> {
    precondition(hidden.rank == 2 && lengths.reduce(0, +) == hidden.shape[0])
    var starts = [Int]()
    var start = 0
    for length in lengths {
      starts.append(start)
      start += length
    }
    return normalizedMeans(of: hidden, starts: starts, lengths: lengths)
  }

  /// The one pooling loop: sequence `s` is rows `starts[s] ..< starts[s] + lengths[s]` of the
  /// `[rows, H]` states.
  private static func normalizedMeans(of hidden: Tensor<Float>, starts: [Int], lengths: [Int])
    -> Tensor<Float>
  {
    let width = hidden.shape[hidden.rank - 1]
    var result = [Float]()
    result.reserveCapacity(lengths.count * width)
    hidden.withUnsafeBufferPointer { states in
      var mean = [Double](repeating: 0, count: width)
      for (start, length) in zip(starts, lengths) {
        precondition(length >= 1)
        for i in 0..<width { mean[i] = 0 }
        for token in 0..<length {
          let base = (start + token) * width
          for i in 0..<width { mean[i] += Double(states[base + i]) }
        }
        var squares = 0.0
        for i in 0..<width {
          mean[i] /= Double(length)
          squares += mean[i] * mean[i]
        }
        // torch.nn.functional.normalize divides by max(norm, eps) with eps = 1e-12.
        let norm = Swift.max(squares.squareRoot(), 1e-12)
        for i in 0..<width { result.append(Float(mean[i] / norm)) }
      }
    }
    return Tensor(validShape: [lengths.count, width], scalars: result)
  }
}
