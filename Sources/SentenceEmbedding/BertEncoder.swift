import Attention
import Foundation

/// A BERT encoder (embeddings and a stack of ``BertLayer``s) loaded from Hugging Face tensors,
/// such as the 6-layer, 384-wide all-MiniLM-L6-v2.
///
/// The tensors are found by their Hugging Face names (`embeddings.word_embeddings.weight`,
/// `encoder.layer.3.attention.self.query.weight`, …) and checked against the sizes in
/// `config.json`. Linear weights keep PyTorch's `[out, in]` layout (`Linear`: `y = x·Wᵀ + b`),
/// and each layer's attention is the engine's `MultiHeadAttention`.
///
/// ```swift
/// let weights = try SafetensorsFile.read(from: "model.safetensors")
/// let configuration = try BertConfiguration(contentsOf: URL(fileURLWithPath: "config.json"))
/// let encoder = try BertEncoder(configuration: configuration, weights: weights)
/// let batch = try TokenBatch(sequences: [[101, 7592, 102]], paddingID: 0)
/// let hidden = try encoder(batch)  // [1, 3, 384]
/// ```
public struct BertEncoder: Sendable {
  /// The sizes the encoder was built with.
  public let configuration: BertConfiguration
  /// The encoder layers, first to last.
  public let layers: [BertLayer]
  let embeddings: BertEmbeddings

  /// Builds the encoder from the tensors of a checkpoint.
  ///
  /// - Parameters:
  ///   - configuration: the sizes; checked with ``BertConfiguration/validate()``.
  ///   - file: the checkpoint's tensors by their Hugging Face names (see the type's
  ///     description). Besides the encoder's own, only `embeddings.position_ids` and
  ///     `pooler.dense.{weight,bias}` may be present; they are ignored.
  /// - Throws: ``SentenceEmbeddingError`` naming the file and the tensor: `missingTensor`,
  ///   `wrongShape` (with the found and the expected shape), `wrongDataType` (any dtype but
  ///   `F32`), `unexpectedTensor`; or `invalidConfiguration`.
  public init(configuration: BertConfiguration, weights file: SafetensorsFile) throws {
    try configuration.validate()
    let c = configuration
    let h = c.hiddenSize
    let epsilon = c.layerNormEpsilon
    var weights = BertWeights(file)

    func norm(_ prefix: String, _ reason: String) throws -> LayerNorm {
      LayerNorm(
        weight: try weights.take("\(prefix).weight", shape: [h], because: reason),
        bias: try weights.take("\(prefix).bias", shape: [h], because: reason),
        epsilon: epsilon)
    }
    func linear(_ prefix: String, input: Int, output: Int, _ reason: String) throws
      -> Linear<Float>
    {
      // Packed once for the engine's product: every batch multiplies by every weight.
      try Linear(
        weight: weights.take("\(prefix).weight", shape: [output, input], because: reason),
        bias: weights.take("\(prefix).bias", shape: [output], because: reason)
      ).packingWeight()
    }

    let sizes = "hidden_size \(h)"
    embeddings = BertEmbeddings(
      words: try weights.take(
        "embeddings.word_embeddings.weight", shape: [c.vocabularySize, h],
        because: "vocab_size \(c.vocabularySize), \(sizes)"),
      positions: try weights.take(
        "embeddings.position_embeddings.weight", shape: [c.maximumPositionCount, h],
        because: "max_position_embeddings \(c.maximumPositionCount), \(sizes)"),
      tokenTypes: try weights.take(
        "embeddings.token_type_embeddings.weight", shape: [c.tokenTypeCount, h],
        because: "type_vocab_size \(c.tokenTypeCount), \(sizes)"),
      norm: try norm("embeddings.LayerNorm", sizes))

    var layers = [BertLayer]()
    for index in 0..<c.layerCount {
      let prefix = "encoder.layer.\(index)"
      let reason = "layer \(index) of \(c.layerCount) (\(sizes))"
      let ffnReason = "layer \(index) (\(sizes), intermediate_size \(c.intermediateSize))"
      let attention = try MultiHeadAttention(
        headCount: c.headCount,
        queryProjection: linear("\(prefix).attention.self.query", input: h, output: h, reason),
        keyProjection: linear("\(prefix).attention.self.key", input: h, output: h, reason),
        valueProjection: linear("\(prefix).attention.self.value", input: h, output: h, reason),
        outputProjection: linear("\(prefix).attention.output.dense", input: h, output: h, reason))
      layers.append(
        BertLayer(
          attention: attention,
          attentionNorm: try norm("\(prefix).attention.output.LayerNorm", reason),
          intermediate: try linear(
            "\(prefix).intermediate.dense", input: h, output: c.intermediateSize, ffnReason),
          output: try linear(
            "\(prefix).output.dense", input: c.intermediateSize, output: h, ffnReason),
          outputNorm: try norm("\(prefix).output.LayerNorm", reason)))
    }
    try weights.checkNothingUnexpected(layerCount: c.layerCount)
    self.configuration = configuration
    self.layers = layers
  }

  /// The input embeddings of a batch, the hidden states entering the first layer: `[B, N, H]`.
  ///
  /// - Throws: ``SentenceEmbeddingError`` (`invalidArgument`) for an id outside the vocabulary
  ///   or a sequence longer than `max_position_embeddings`.
  public func embeddings(of batch: TokenBatch) throws -> Tensor<Float> {
    try embeddings(batch)
  }

  /// The last hidden state of a batch: `[B, N, H]`.
  ///
  /// Rows past a sequence's length are padding: attention never reads them, and they are to be
  /// ignored (mean pooling does).
  ///
  /// - Parameters:
  ///   - batch: the padded token ids.
  ///   - backend: the attention kernel every layer runs.
  /// - Throws: ``SentenceEmbeddingError`` for an id outside the vocabulary or a sequence longer
  ///   than the learned positions.
  /// - Complexity: O(L · B·N·H·(4·H + 2·I + N)) for L layers.
  public func callAsFunction(_ batch: TokenBatch, backend: AttentionBackend = .blas) throws
    -> Tensor<Float>
  {
    var hidden = try embeddings(batch)
    for layer in layers {
      hidden = try layer(hidden, keyLengths: batch.lengths, backend: backend)
    }
    return hidden
  }

  /// The last hidden state of a batch's real tokens, packed end to end: `[T, H]` with
  /// `T = Σ lengths`, sequence after sequence.
  ///
  /// The same numbers as the padded ``callAsFunction(_:backend:)`` on the real rows (within
  /// rounding), without computing any padding: every projection, the feed-forward blocks and
  /// attention (`PackedSequences`) run on the `T` real tokens only.
  ///
  /// - Parameters:
  ///   - batch: the token ids (its padding is ignored).
  ///   - backend: the attention kernel every layer runs.
  /// - Throws: ``SentenceEmbeddingError`` for an id outside the vocabulary or a sequence longer
  ///   than the learned positions.
  /// - Complexity: O(L · (T·H·(4·H + 2·I) + Σ n_b²·H)) for L layers.
  public func packedHiddenStates(of batch: TokenBatch, backend: AttentionBackend = .blas) throws
    -> Tensor<Float>
  {
    var hidden = try embeddings.packed(batch)
    for layer in layers {
      hidden = try layer(packed: hidden, sequenceLengths: batch.lengths, backend: backend)
    }
    return hidden
  }
}
