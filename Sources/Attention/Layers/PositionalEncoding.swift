/// A table of position vectors added to token embeddings so that attention, which by itself
/// ignores token order, can tell positions apart.
///
/// Self-attention without positions is permutation-equivariant: permuting the input tokens
/// permutes the outputs the same way. Adding a distinct vector per position breaks that symmetry.
/// Two encodings conform: ``SinusoidalPositionalEncoding`` (fixed, Vaswani et al. 2017) and
/// ``LearnedPositionalEncoding`` (a trained table, as BERT and GPT-2 use).
///
/// ```swift
/// let positions = try SinusoidalPositionalEncoding<Float>(dimension: 64)
/// let x = try positions.adding(to: embeddings)                 // positions 0..<N
/// let next = try positions.adding(to: token, startingAt: 17)   // decoding step 17 with a KV cache
/// ```
public protocol PositionalEncoding<Scalar>: Sendable {
  /// The element type of the encodings.
  associatedtype Scalar: AttentionScalar

  /// `d`, the number of features of one position vector (the embedding dimension).
  var dimension: Int { get }

  /// The encodings of the given positions, one row per position.
  ///
  /// - Parameter positions: token positions, each ≥ 0 (and below the table size for a learned
  ///   table); any order, repeats allowed.
  /// - Returns: `[positions.count, d]`.
  /// - Throws: `AttentionError` (`invalidArgument`) naming a position out of range.
  func encodings(at positions: [Int]) throws -> Tensor<Scalar>
}

extension PositionalEncoding {
  /// The encodings of consecutive positions, `[range.count, d]`.
  ///
  /// - Throws: `AttentionError` naming a position out of range.
  public func encodings(in range: Range<Int>) throws -> Tensor<Scalar> {
    try encodings(at: Array(range))
  }

  /// Token embeddings with the encodings of their positions added:
  /// `result[b, n, :] = embeddings[b, n, :] + PE(position + n)`.
  ///
  /// Every sequence of a batch starts at the same `position`; a nonzero start is what decoding
  /// with a key/value cache needs (the new tokens continue the cached ones).
  ///
  /// - Parameters:
  ///   - embeddings: `[B, N, d]` or `[N, d]`.
  ///   - position: the position of the first token, ≥ 0.
  /// - Returns: a tensor of the embeddings' shape.
  /// - Throws: `AttentionError`: `invalidShape` for another rank, `shapeMismatch` if the last
  ///   dimension is not ``dimension`` (naming both), `invalidArgument` for positions out of range.
  /// - Complexity: O(B·N·d), plus computing or looking up `N` encodings.
  public func adding(
    to embeddings: Tensor<Scalar>, startingAt position: Int = 0
  ) throws -> Tensor<Scalar> {
    guard embeddings.rank == 2 || embeddings.rank == 3 else {
      throw AttentionError(
        .invalidShape,
        "positional encodings are added to embeddings [B, N, d] or [N, d], got shape \(embeddings.shape.shapeDescription)"
      )
    }
    let tokenCount = embeddings.shape[embeddings.rank - 2]
    guard embeddings.shape.last == dimension else {
      throw AttentionError.mismatch(
        "the embeddings' last dimension must equal the encoding's dimension d", "embeddings",
        embeddings.shape, "the encodings [N, d]", [tokenCount, dimension])
    }
    let (end, overflow) = position.addingReportingOverflow(tokenCount)
    guard position >= 0, !overflow else {
      throw AttentionError(
        .invalidArgument,
        "the starting position must be ≥ 0 and leave room for \(tokenCount) tokens, got \(position)"
      )
    }
    let table = try encodings(in: position..<end)
    var result = embeddings
    let plane = table.count
    guard plane > 0 else { return result }
    table.withUnsafeBufferPointer { encoding in
      result.withUnsafeMutableBufferPointer { values in
        for start in stride(from: 0, to: values.count, by: plane) {
          for index in 0..<plane { values[start + index] += encoding[index] }
        }
      }
    }
    return result
  }
}
