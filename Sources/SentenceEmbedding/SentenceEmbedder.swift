import Attention
import Foundation

/// Sentence embeddings from a sentence-transformers BERT model such as all-MiniLM-L6-v2:
/// WordPiece tokens → ``BertEncoder`` → mean pooling over real tokens → L2 normalisation.
///
/// ```swift
/// let model = try SentenceEmbedder(modelFolder: URL(fileURLWithPath: ".model-cache/all-MiniLM-L6-v2"))
/// let embeddings = try model.embed(["A man is eating food.", "A man is riding a horse."])
/// // [2, 384], each row of unit length; cosine similarity is a dot product.
/// ```
public struct SentenceEmbedder: Sendable {
  /// Text to token ids.
  public let tokenizer: WordPieceTokenizer
  /// Token ids to hidden states.
  public let encoder: BertEncoder

  /// The length of each embedding (`hidden_size`, 384 for all-MiniLM-L6-v2).
  public var dimension: Int { encoder.configuration.hiddenSize }

  /// Combines a tokenizer and an encoder.
  ///
  /// - Throws: ``SentenceEmbeddingError`` (`invalidConfiguration`) when the tokenizer's ids
  ///   can exceed the encoder's vocabulary or its sequences the encoder's positions.
  public init(tokenizer: WordPieceTokenizer, encoder: BertEncoder) throws {
    let configuration = encoder.configuration
    guard tokenizer.vocabulary.count <= configuration.vocabularySize else {
      throw SentenceEmbeddingError(
        .invalidConfiguration,
        "the vocabulary has \(tokenizer.vocabulary.count) tokens but the encoder embeds only vocab_size \(configuration.vocabularySize)"
      )
    }
    guard tokenizer.options.maximumTokenCount <= configuration.maximumPositionCount else {
      throw SentenceEmbeddingError(
        .invalidConfiguration,
        "the tokenizer produces up to \(tokenizer.options.maximumTokenCount) tokens but the encoder has max_position_embeddings \(configuration.maximumPositionCount)"
      )
    }
    self.tokenizer = tokenizer
    self.encoder = encoder
  }

  /// Loads a sentence-transformers model folder.
  ///
  /// Reads `config.json` (sizes), `vocab.txt` (tokens), `model.safetensors` (weights), and,
  /// when present, `tokenizer_config.json` (`do_lower_case`, `strip_accents`,
  /// `tokenize_chinese_chars`) and `sentence_bert_config.json` (`max_seq_length`, 256 for
  /// all-MiniLM-L6-v2; without it the encoder's `max_position_embeddings`).
  ///
  /// - Parameter modelFolder: the folder holding those files (`make model` unpacks
  ///   all-MiniLM-L6-v2 into `.model-cache/all-MiniLM-L6-v2`).
  /// - Throws: ``SentenceEmbeddingError`` naming the file (and tensor): a missing folder or
  ///   file, unreadable JSON or safetensors, a configuration this encoder does not implement, a
  ///   missing, misshapen, non-float32 or unexpected tensor.
  public init(modelFolder: URL) throws {
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: modelFolder.path, isDirectory: &isFolder),
      isFolder.boolValue
    else {
      throw SentenceEmbeddingError(
        .missingFile, file: modelFolder.path,
        "model folder \(modelFolder.path) does not exist (`make model` fetches all-MiniLM-L6-v2)")
    }
    let configuration = try BertConfiguration(
      contentsOf: modelFolder.appending(path: "config.json"))
    let options = try ModelFolderSettings.tokenizerOptions(
      in: modelFolder, positionCount: configuration.maximumPositionCount)
    let tokenizer = try WordPieceTokenizer(
      vocabularyFile: modelFolder.appending(path: "vocab.txt"), options: options)
    let encoder = try BertEncoder(
      configuration: configuration,
      weights: try ModelFolderSettings.weights(in: modelFolder.appending(path: "model.safetensors"))
    )
    try self.init(tokenizer: tokenizer, encoder: encoder)
  }

  /// The token batches `embed` runs: sentences sorted by token count (longest first), cut into
  /// batches of `batchSize`. `embed` runs each batch packed (no padding is computed); sorting
  /// keeps the sequences of a batch of similar length, so its attention tiles are well filled.
  ///
  /// - Returns: each batch with the original index of each of its rows.
  func batches(of sentences: [String], batchSize: Int) throws -> [(
    batch: TokenBatch, indices: [Int]
  )] {
    let sequences = tokenized(sentences)
    let order = sequences.indices.sorted {
      (sequences[$0].count, $1) > (sequences[$1].count, $0)
    }
    return try stride(from: 0, to: order.count, by: batchSize).map { start in
      let indices = Array(order[start..<min(start + batchSize, order.count)])
      return (
        try TokenBatch(sequences: indices.map { sequences[$0] }, paddingID: tokenizer.paddingID),
        indices
      )
    }
  }

  /// The token ids of every sentence, tokenised in parallel (``ElementwiseWork``): the texts are
  /// independent, and on one thread tokenising 1,000 texts was 1 % of `attention embed`'s time
  /// with the other cores idle.
  func tokenized(_ sentences: [String]) -> [[Int]] {
    [[Int]](unsafeUninitializedCapacity: sentences.count) { buffer, initialized in
      let ids = DisjointAccess(buffer.baseAddress!)
      // A sentence costs about as much as a few thousand elements of a layer's elementwise work.
      sentences.withUnsafeBufferPointer { texts in
        let texts = DisjointAccess(texts.baseAddress!)
        ElementwiseWork.forEachChunk(count: sentences.count, elementsPerItem: 4096) { chunk in
          for index in chunk {
            (ids.base + index).initialize(to: tokenizer.encode(texts.base[index]))
          }
        }
      }
      initialized = sentences.count
    }
  }

  /// The unit-length embeddings of `sentences`, one row each, in the order given.
  ///
  /// - Parameters:
  ///   - sentences: the text to embed; sentences longer than the tokenizer's limit (256 tokens
  ///     for all-MiniLM-L6-v2) are truncated.
  ///   - batchSize: how many sentences run through the encoder at once (sorted by length first,
  ///     and packed end to end without padding); results do not depend on it beyond rounding.
  ///   - backend: the attention kernel.
  /// - Returns: `[S, H]`, each row L2-normalised.
  /// - Throws: ``SentenceEmbeddingError`` (`invalidArgument`) for an empty list or a batch
  ///   size below 1.
  /// - Complexity: O(S · N · (L·H·(4·H + 2·I + N))) for sentences of about N tokens.
  public func embed(
    _ sentences: [String], batchSize: Int = 32, backend: AttentionBackend = .blas
  ) throws -> Tensor<Float> {
    guard !sentences.isEmpty else {
      throw SentenceEmbeddingError(.invalidArgument, "no sentence to embed")
    }
    guard batchSize >= 1 else {
      throw SentenceEmbeddingError(
        .invalidArgument, "the batch size is \(batchSize); it must be at least 1")
    }
    let width = dimension
    var result = [Float](repeating: 0, count: sentences.count * width)
    for (batch, indices) in try batches(of: sentences, batchSize: batchSize) {
      // Packed: no padding token in any matrix product (projections, feed-forward, attention).
      let pooled = MeanPooling.normalizedMeans(
        ofPacked: try encoder.packedHiddenStates(of: batch, backend: backend),
        lengths: batch.lengths)
      for (row, index) in indices.enumerated() {
        result.replaceSubrange(
          (index * width)..<((index + 1) * width),
          with: pooled.scalars[(row * width)..<((row + 1) * width)])
      }
    }
    return Tensor(validShape: [sentences.count, width], scalars: result)
  }
}
