import Attention
import Foundation
import SentenceEmbedding
import Testing

/// The all-MiniLM-L6-v2 model folder and the reference fixtures made from it by
/// `Tests/Fixtures/MiniLM/make_fixtures.py` (transformers + tokenizers, see its header).
///
/// The model itself is not committed: `make model` unpacks it into `.model-cache/` (and
/// `make test` runs `make model` first). Without it the tests that need it are skipped, with the
/// reason printed — except in continuous integration (`CI=true`), where they run and fail,
/// saying the model is missing and that `make model` fetches it.
enum MiniLMFixtures {
  /// `Tests/Fixtures/MiniLM`.
  static let folder = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent()
    .appending(path: "Fixtures").appending(path: "MiniLM")

  /// The package root (the folder holding Package.swift).
  static let packageRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  /// The model folder: `$ATTENTION_MODEL_DIR` if set, else `.model-cache/all-MiniLM-L6-v2`.
  static var modelFolder: URL {
    if let path = ProcessInfo.processInfo.environment["ATTENTION_MODEL_DIR"], !path.isEmpty {
      return URL(fileURLWithPath: path)
    }
    return packageRoot.appending(path: ".model-cache").appending(path: "all-MiniLM-L6-v2")
  }

  /// The first of the model's files (`model.safetensors`, `config.json`, `vocab.txt`) that does
  /// not exist, or `nil` when all do.
  static var missingModelFile: String? {
    ["model.safetensors", "config.json", "vocab.txt"].lazy
      .map { modelFolder.appending(path: $0).path }
      .first { !FileManager.default.fileExists(atPath: $0) }
  }

  /// Whether this is a continuous-integration run (`CI=true`, as GitHub Actions and most CI
  /// services set it), where a missing model is an error rather than a reason to skip.
  static var isContinuousIntegration: Bool {
    let value = ProcessInfo.processInfo.environment["CI"]?.lowercased()
    return value == "true" || value == "1" || value == "yes"
  }

  /// The condition of ``requiresModel``: the model is there, or it must be (in CI).
  static var modelIsPresentOrRequired: Bool {
    missingModelFile == nil || isContinuousIntegration
  }

  /// The trait of every test that needs the model: outside CI such a test is skipped when the
  /// model is missing, with this comment as the reason Swift Testing prints; in CI it runs and
  /// fails in ``requireModelFolder()``.
  static let requiresModel: ConditionTrait = .enabled(
    if: modelIsPresentOrRequired,
    "all-MiniLM-L6-v2 is not in .model-cache (or $ATTENTION_MODEL_DIR): `make model` fetches it")

  /// The model folder, or a thrown error telling how to get it when `model.safetensors`,
  /// `config.json` or `vocab.txt` is missing (which fails the calling test).
  static func requireModelFolder() throws -> URL {
    if let path = missingModelFile {
      throw MissingModel(
        description:
          "all-MiniLM-L6-v2 is missing (\(path) does not exist): run `make model` to fetch it"
          + (isContinuousIntegration ? " (CI=true: the model is required, not skipped)" : ""))
    }
    return modelFolder
  }

  struct MissingModel: Error, CustomStringConvertible {
    let description: String
  }

  /// `reference.json`: sentences, the reference tokenizer's ids, the per-layer batch.
  struct Reference: Decodable {
    struct Tokenized: Decodable {
      let text: String
      let ids: [Int]
    }
    struct Layers: Decodable {
      let sentences: [String]
      let ids: [[Int]]
      let lengths: [Int]
    }
    let versions: [String: String]
    let tokenizer: [Tokenized]
    let embedding: [String]
    let layers: Layers
  }

  static func reference() throws -> Reference {
    let data = try Data(contentsOf: folder.appending(path: "reference.json"))
    return try JSONDecoder().decode(Reference.self, from: data)
  }
}

extension MiniLMFixtures {
  /// The model, loaded once for every test that needs it (loading reads 90 MB).
  static let loadedModel: Result<SentenceEmbedder, any Error> = Result {
    try SentenceEmbedder(modelFolder: requireModelFolder())
  }

  /// The shared model, or the error that kept it from loading (which fails the calling test).
  static func model() throws -> SentenceEmbedder { try loadedModel.get() }

  /// The real (non-padding) rows of a `[B, N, H]` batch with these sequence lengths, in order.
  static func realRows(_ tensor: Tensor<Float>, lengths: [Int]) -> [Float] {
    let (tokenCount, width) = (tensor.shape[1], tensor.shape[2])
    return lengths.enumerated().flatMap { batch, length in
      tensor.scalars[(batch * tokenCount * width)..<((batch * tokenCount + length) * width)]
    }
  }

  /// A float32 fixture tensor, `Tests/Fixtures/MiniLM/<name>.npy`.
  static func tensor(_ name: String) throws -> Tensor<Float> {
    try NPY.read(from: folder.appending(path: "\(name).npy").path).floatingPoint(as: Float.self)
  }
}
