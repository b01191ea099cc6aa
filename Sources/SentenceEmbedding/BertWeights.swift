import Attention

/// The tensors of a checkpoint, handed out by name and checked against the shapes the
/// configuration implies.
///
/// Every check names the file and the tensor: a missing tensor, a tensor of the wrong shape
/// (both shapes), one whose dtype is not `F32` (both dtypes), and — once the encoder has taken
/// what it needs — any tensor left over that a BERT encoder does not have.
struct BertWeights {
  /// The file the tensors came from, for messages.
  let file: String
  private let weights: SafetensorsFile
  /// The names not yet taken.
  private var remaining: Set<String>

  /// Tensors a BERT checkpoint may hold that the encoder does not use: the position-id buffer
  /// (`I64` in all-MiniLM-L6-v2) and the pooler (sentence-transformers pools the hidden states
  /// itself).
  static let unusedNames: Set<String> = [
    "embeddings.position_ids", "pooler.dense.weight", "pooler.dense.bias",
  ]

  init(_ weights: SafetensorsFile) {
    self.file = weights.path ?? "the weights"
    self.weights = weights
    self.remaining = Set(weights.names)
  }

  /// Returns the `F32` tensor `name`, which must have `shape`; `reason` says what needs it.
  mutating func take(_ name: String, shape: [Int], because reason: String) throws -> Tensor<Float> {
    guard let entry = weights.entry(named: name) else {
      throw SentenceEmbeddingError(
        .missingTensor, file: file, tensor: name,
        "\(file): no tensor named '\(name)' (\(reason) needs it)")
    }
    remaining.remove(name)
    guard entry.dtype == "F32", case .float32(let values)? = weights[name] else {
      throw SentenceEmbeddingError(
        .wrongDataType, file: file, tensor: name,
        "\(file): tensor '\(name)' has dtype \(entry.dtype) but the encoder needs F32")
    }
    guard values.shape == shape else {
      throw SentenceEmbeddingError(
        .wrongShape, file: file, tensor: name,
        "\(file): tensor '\(name)' has shape \(describe(values.shape)) but \(reason) needs \(describe(shape))"
      )
    }
    return values
  }

  /// Throws for the first (alphabetically) tensor nobody took that a BERT encoder has no use for.
  func checkNothingUnexpected(layerCount: Int) throws {
    for name in remaining.sorted() where !Self.unusedNames.contains(name) {
      throw SentenceEmbeddingError(
        .unexpectedTensor, file: file, tensor: name,
        "\(file): unexpected tensor '\(name)': a BERT encoder with \(layerCount) layers has no such weight"
      )
    }
  }

  private func describe(_ shape: [Int]) -> String {
    "[" + shape.map(String.init).joined(separator: ", ") + "]"
  }
}
