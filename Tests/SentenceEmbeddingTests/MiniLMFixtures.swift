import Attention
import Foundation
import SentenceEmbedding
import Testing

/// The all-MiniLM-L6-v2 model folder and the reference fixtures made from it by
/// `Tests/Fixtures/MiniLM/make_fixtures.py` (transformers + tokenizers, see its header).
///
/// The model itself is not committed: `make model` unpacks it into `.model-cache/` (and
/// `make test` runs `make model` first). Tests that need it fail — they do not skip — when it is
/// missing, with a message saying how to fetch it.
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

  /// The model folder, or a thrown error telling how to get it when `model.safetensors`,
  /// `config.json` or `vocab.txt` is missing.
  static func requireModelFolder() throws -> URL {
    let folder = modelFolder
    for file in ["model.safetensors", "config.json", "vocab.txt"] {
      let path = folder.appending(path: file).path
      guard FileManager.default.fileExists(atPath: path) else {
        throw MissingModel(
          description:
            "all-MiniLM-L6-v2 is missing (\(path) does not exist): run `make model` to fetch it")
      }
    }
    return folder
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

  /// A float32 fixture tensor, `Tests/Fixtures/MiniLM/<name>.npy`.
  static func tensor(_ name: String) throws -> Tensor<Float> {
    try NPY.read(from: folder.appending(path: "\(name).npy").path).floatingPoint(as: Float.self)
  }
}
