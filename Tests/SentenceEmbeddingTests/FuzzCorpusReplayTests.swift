import Attention
import Foundation
import SentenceEmbedding
import Testing

/// The model-loader and tokenizer fuzz corpora (`Tests/Fuzz/Corpus/{bert,bert-config,tokenizer}`)
/// and any crash regressions (`Tests/Fuzz/Regressions/…`), replayed on every `make test`: seeds
/// named `valid_*` load, the others are refused with a ``SentenceEmbeddingError``; no input traps.
@Suite("Fuzz corpora replay through the model loader and the tokenizer")
struct FuzzCorpusReplayTests {
  /// The files of `Tests/Fuzz/<folder>/<kind>` (empty if the folder is missing).
  static func files(_ folder: String, _ kind: String, filePath: String = #filePath) -> [URL] {
    let directory = URL(fileURLWithPath: filePath)
      .deletingLastPathComponent()  // SentenceEmbeddingTests
      .deletingLastPathComponent()  // Tests
      .appendingPathComponent("Fuzz/\(folder)/\(kind)")
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
    return names.sorted().map { directory.appendingPathComponent($0) }
  }

  /// `true` for a seed named `valid_*`, `nil` for a regression (which may be either).
  static func expectedValid(_ url: URL, corpus: [URL]) -> Bool? {
    corpus.contains(url) ? url.lastPathComponent.hasPrefix("valid_") : nil
  }

  /// The tiny BERT the `bert` seeds are checkpoints of (see `Tests/Fuzz/make_corpus.py`).
  let tiny = BertConfiguration(
    hiddenSize: 4, layerCount: 1, headCount: 2, intermediateSize: 8, vocabularySize: 10,
    maximumPositionCount: 8)

  @Test("bert checkpoints load or are refused by tensor; loaded ones run")
  func checkpoints() throws {
    let corpus = Self.files("Corpus", "bert")
    #expect(corpus.count >= 5, "the seed corpus is missing")
    for url in corpus + Self.files("Regressions", "bert") {
      let valid = Self.expectedValid(url, corpus: corpus)
      let name = url.lastPathComponent
      guard let file = try? SafetensorsFile.decode(Array(try Data(contentsOf: url))) else {
        #expect(valid != true, "\(name) is not a readable .safetensors file")
        continue
      }
      do {
        let encoder = try BertEncoder(configuration: tiny, weights: file)
        #expect(valid != false, "\(name) loaded")
        let hidden = try encoder(try TokenBatch(sequences: [[2, 5, 6, 3]], paddingID: 0))
        #expect(hidden.shape == [1, 4, 4], "\(name)")
      } catch let error as SentenceEmbeddingError {
        #expect(valid != true, "\(name): \(error)")
      }
    }
  }

  @Test("config.json seeds decode and validate, or are refused; valid sizes never allocate")
  func configurations() throws {
    let corpus = Self.files("Corpus", "bert-config")
    #expect(corpus.count >= 5, "the seed corpus is missing")
    for url in corpus + Self.files("Regressions", "bert-config") {
      let valid = Self.expectedValid(url, corpus: corpus)
      let name = url.lastPathComponent
      do {
        let configuration = try BertConfiguration(contentsOf: url)
        #expect(valid != false, "\(name) validated")
        // Sizes up to 2⁶² must not make the loader allocate: it fails on the first tensor.
        let error = #expect(throws: SentenceEmbeddingError.self) {
          try BertEncoder(configuration: configuration, weights: SafetensorsFile())
        }
        #expect(error?.kind == .missingTensor, "\(name)")
      } catch let error as SentenceEmbeddingError {
        #expect(valid != true, "\(name): \(error)")
      }
    }
  }

  @Test("tokenizer texts encode to [CLS] … [SEP] within the vocabulary")
  func texts() throws {
    let corpus = Self.files("Corpus", "tokenizer")
    #expect(corpus.count >= 5, "the seed corpus is missing")
    let tokenizer = try WordPieceTokenizer(
      vocabulary: WordPieceVocabulary(tokens: [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "un", "##aff", "##able", "x",
      ]))
    for url in corpus + Self.files("Regressions", "tokenizer") {
      let ids = tokenizer.encode(String(decoding: try Data(contentsOf: url), as: UTF8.self))
      #expect(ids.first == tokenizer.classID && ids.last == tokenizer.separatorID)
      #expect(ids.allSatisfy { tokenizer.vocabulary.token(for: $0) != nil })
    }
  }
}
