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
    let width = hiddenSize
    let vocabularySize = words.shape[0]
    let positionCount = positions.shape[0]
    guard batch.sequenceLength <= positionCount else {
      throw SentenceEmbeddingError(
        .invalidArgument,
        "a sequence of \(batch.sequenceLength) tokens is longer than the model's \(positionCount) positions"
      )
    }
    if let bad = batch.ids.first(where: { !(0..<vocabularySize).contains($0) }) {
      throw SentenceEmbeddingError(
        .invalidArgument, "token id \(bad) is outside the vocabulary 0..<\(vocabularySize)")
    }
    let shape = [batch.batchCount, batch.sequenceLength, width]
    var summed = [Float](repeating: 0, count: batch.ids.count * width)
    words.withUnsafeBufferPointer { word in
      positions.withUnsafeBufferPointer { position in
        tokenTypes.withUnsafeBufferPointer { tokenType in
          summed.withUnsafeMutableBufferPointer { output in
            for (row, id) in batch.ids.enumerated() {
              let n = row % batch.sequenceLength
              for i in 0..<width {
                // The same order of additions as PyTorch: (word + token type) + position.
                output[row * width + i] =
                  (word[id * width + i] + tokenType[i]) + position[n * width + i]
              }
            }
          }
        }
      }
    }
    return norm(Tensor(validShape: shape, scalars: summed))
  }
}
