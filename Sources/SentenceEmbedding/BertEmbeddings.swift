import Attention

/// BERT's input embeddings: word + position + token type, then layer normalisation.
///
/// ```
/// e[b, n, :] = LayerNorm(word[ids[b, n]] + position[n] + tokenType[0])
/// ```
/// Every token has token type 0: a sentence-embedding model encodes one sentence at a time.
struct BertEmbeddings: Sendable {
  /// `embeddings.word_embeddings.weight`, `[V, H]`.
  let words: Tensor<Float>
  /// `embeddings.position_embeddings.weight`, `[P, H]`.
  let positions: Tensor<Float>
  /// `embeddings.token_type_embeddings.weight`, `[T, H]`.
  let tokenTypes: Tensor<Float>
  /// `embeddings.LayerNorm`.
  let norm: LayerNorm

  var hiddenSize: Int { words.shape[1] }

  /// The embeddings of a padded batch, `[B, N, H]`.
  ///
  /// - Throws: ``SentenceEmbeddingError`` (`invalidArgument`) for an id outside the vocabulary
  ///   or a sequence longer than the learned positions.
  func callAsFunction(_ batch: TokenBatch) throws -> Tensor<Float> {
    try embed(
      ids: batch.ids, positions: { $0 % batch.sequenceLength }, longest: batch.sequenceLength,
      shape: [batch.batchCount, batch.sequenceLength, hiddenSize])
  }

  /// The embeddings of a batch's real tokens packed end to end, `[T, H]` with `T` the sum of
  /// the lengths; each token's position counts from its own sequence's start.
  func packed(_ batch: TokenBatch) throws -> Tensor<Float> {
    let ids = batch.packedIDs
    var positions = [Int]()
    positions.reserveCapacity(ids.count)
    for length in batch.lengths { positions.append(contentsOf: 0..<length) }
    return try embed(
      ids: ids, positions: { positions[$0] }, longest: batch.sequenceLength,
      shape: [ids.count, hiddenSize])
  }

  /// `LayerNorm(word[id] + tokenType[0] + position[p])` for each row's id and position.
  private func embed(
    ids: [Int], positions position: (Int) -> Int, longest: Int, shape: [Int]
  ) throws -> Tensor<Float> {
    let width = hiddenSize
    let vocabularySize = words.shape[0]
    let positionCount = positions.shape[0]
    guard longest <= positionCount else {
      throw SentenceEmbeddingError(
        .invalidArgument,
        "a sequence of \(longest) tokens is longer than the model's \(positionCount) positions"
      )
    }
    if let bad = ids.first(where: { !(0..<vocabularySize).contains($0) }) {
      throw SentenceEmbeddingError(
        .invalidArgument, "token id \(bad) is outside the vocabulary 0..<\(vocabularySize)")
    }
    var summed = [Float](repeating: 0, count: ids.count * width)
    words.withUnsafeBufferPointer { word in
      positions.withUnsafeBufferPointer { positionTable in
        tokenTypes.withUnsafeBufferPointer { tokenType in
          summed.withUnsafeMutableBufferPointer { output in
            for (row, id) in ids.enumerated() {
              let n = position(row)
              for i in 0..<width {
                // The same order of additions as PyTorch: (word + token type) + position.
                output[row * width + i] =
                  (word[id * width + i] + tokenType[i]) + positionTable[n * width + i]
              }
            }
          }
        }
      }
    }
    return norm(Tensor(validShape: shape, scalars: summed))
  }
}
