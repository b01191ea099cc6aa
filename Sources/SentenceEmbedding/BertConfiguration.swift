import Foundation

/// The sizes of a BERT encoder, as Hugging Face's `config.json` states them.
///
/// Only the encoder BERT and all-MiniLM-L6-v2 use is implemented: absolute learned positions,
/// exact (erf) GELU, post-layer-norm. A configuration asking for anything else is rejected when
/// read, rather than silently computed differently.
public struct BertConfiguration: Sendable, Equatable, Decodable {
  /// `H`, the width of every hidden state (all-MiniLM-L6-v2: 384).
  public var hiddenSize: Int
  /// The number of encoder layers (6).
  public var layerCount: Int
  /// The number of attention heads per layer (12, so heads of 384 / 12 = 32 features).
  public var headCount: Int
  /// The width of the feed-forward layer (1536).
  public var intermediateSize: Int
  /// The number of tokens in the vocabulary (30522).
  public var vocabularySize: Int
  /// The number of learned positions, the longest sequence the model accepts (512).
  public var maximumPositionCount: Int
  /// The number of token types (segments) (2).
  public var tokenTypeCount: Int
  /// The ε added to the variance in every layer norm (1e-12).
  public var layerNormEpsilon: Double
  /// The feed-forward activation; only `"gelu"` (the exact, erf-based GELU) is implemented.
  public var hiddenActivation: String
  /// How positions are encoded; only `"absolute"` is implemented.
  public var positionEmbeddingType: String

  /// Creates a configuration from its sizes.
  public init(
    hiddenSize: Int, layerCount: Int, headCount: Int, intermediateSize: Int,
    vocabularySize: Int, maximumPositionCount: Int, tokenTypeCount: Int = 2,
    layerNormEpsilon: Double = 1e-12, hiddenActivation: String = "gelu",
    positionEmbeddingType: String = "absolute"
  ) {
    self.hiddenSize = hiddenSize
    self.layerCount = layerCount
    self.headCount = headCount
    self.intermediateSize = intermediateSize
    self.vocabularySize = vocabularySize
    self.maximumPositionCount = maximumPositionCount
    self.tokenTypeCount = tokenTypeCount
    self.layerNormEpsilon = layerNormEpsilon
    self.hiddenActivation = hiddenActivation
    self.positionEmbeddingType = positionEmbeddingType
  }

  private enum CodingKeys: String, CodingKey {
    case hiddenSize = "hidden_size"
    case layerCount = "num_hidden_layers"
    case headCount = "num_attention_heads"
    case intermediateSize = "intermediate_size"
    case vocabularySize = "vocab_size"
    case maximumPositionCount = "max_position_embeddings"
    case tokenTypeCount = "type_vocab_size"
    case layerNormEpsilon = "layer_norm_eps"
    case hiddenActivation = "hidden_act"
    case positionEmbeddingType = "position_embedding_type"
  }

  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    hiddenSize = try container.decode(Int.self, forKey: .hiddenSize)
    layerCount = try container.decode(Int.self, forKey: .layerCount)
    headCount = try container.decode(Int.self, forKey: .headCount)
    intermediateSize = try container.decode(Int.self, forKey: .intermediateSize)
    vocabularySize = try container.decode(Int.self, forKey: .vocabularySize)
    maximumPositionCount = try container.decode(Int.self, forKey: .maximumPositionCount)
    // The defaults are those of transformers' BertConfig.
    tokenTypeCount = try container.decodeIfPresent(Int.self, forKey: .tokenTypeCount) ?? 2
    layerNormEpsilon =
      try container.decodeIfPresent(Double.self, forKey: .layerNormEpsilon) ?? 1e-12
    hiddenActivation =
      try container.decodeIfPresent(String.self, forKey: .hiddenActivation) ?? "gelu"
    positionEmbeddingType =
      try container.decodeIfPresent(String.self, forKey: .positionEmbeddingType) ?? "absolute"
  }

  /// Reads and checks a `config.json`.
  ///
  /// - Throws: ``SentenceEmbeddingError`` naming the file: `missingFile`, `unreadableFile` for
  ///   bad JSON or a missing key (naming it), `invalidConfiguration` for values this encoder
  ///   cannot run (see ``validate()``).
  public init(contentsOf file: URL) throws {
    let path = file.path
    guard FileManager.default.fileExists(atPath: path) else {
      throw SentenceEmbeddingError(.missingFile, file: path, "configuration \(path) does not exist")
    }
    do {
      self = try JSONDecoder().decode(BertConfiguration.self, from: Data(contentsOf: file))
    } catch let error as DecodingError {
      throw SentenceEmbeddingError(
        .unreadableFile, file: path, "configuration \(path): \(Self.describe(error))")
    } catch {
      throw SentenceEmbeddingError(
        .unreadableFile, file: path, "cannot read configuration \(path): \(error)")
    }
    do {
      try validate()
    } catch let error as SentenceEmbeddingError {
      throw SentenceEmbeddingError(
        error.kind, file: path, "configuration \(path): \(error.message)")
    }
  }

  /// The features per head, `hiddenSize / headCount`.
  public var headDimension: Int { hiddenSize / headCount }

  /// Checks that the sizes are positive and consistent and the options implemented.
  ///
  /// - Throws: ``SentenceEmbeddingError`` (`invalidConfiguration`) naming the offending values.
  public func validate() throws {
    let sizes = [
      ("hidden_size", hiddenSize), ("num_hidden_layers", layerCount),
      ("num_attention_heads", headCount), ("intermediate_size", intermediateSize),
      ("vocab_size", vocabularySize), ("max_position_embeddings", maximumPositionCount),
      ("type_vocab_size", tokenTypeCount),
    ]
    for (name, value) in sizes where value < 1 {
      throw SentenceEmbeddingError(.invalidConfiguration, "\(name) is \(value); it must be ≥ 1")
    }
    guard hiddenSize % headCount == 0 else {
      throw SentenceEmbeddingError(
        .invalidConfiguration,
        "hidden_size \(hiddenSize) is not divisible by num_attention_heads \(headCount)")
    }
    guard layerNormEpsilon.isFinite, layerNormEpsilon >= 0 else {
      throw SentenceEmbeddingError(
        .invalidConfiguration, "layer_norm_eps is \(layerNormEpsilon); it must be finite and ≥ 0")
    }
    guard hiddenActivation == "gelu" else {
      throw SentenceEmbeddingError(
        .invalidConfiguration,
        "hidden_act is \"\(hiddenActivation)\"; only \"gelu\" (exact, erf-based) is implemented")
    }
    guard positionEmbeddingType == "absolute" else {
      throw SentenceEmbeddingError(
        .invalidConfiguration,
        "position_embedding_type is \"\(positionEmbeddingType)\"; only \"absolute\" is implemented"
      )
    }
  }

  /// "missing key 'hidden_size'" and the like, rather than Foundation's long description.
  private static func describe(_ error: DecodingError) -> String {
    switch error {
    case .keyNotFound(let key, _):
      return "missing key \"\(key.stringValue)\""
    case .typeMismatch(_, let context), .valueNotFound(_, let context):
      let key = context.codingPath.map(\.stringValue).joined(separator: ".")
      return "key \"\(key)\" has the wrong type: \(context.debugDescription)"
    case .dataCorrupted(let context):
      return "not valid JSON: \(context.debugDescription)"
    @unknown default:
      return "\(error)"
    }
  }
}
