import Attention
import Foundation
import SentenceEmbedding

/// The sizes of the tiny BERT whose checkpoint seeds the `bert` corpus (`make_corpus.py`).
let fuzzBertConfiguration = BertConfiguration(
  hiddenSize: 4, layerCount: 1, headCount: 2, intermediateSize: 8, vocabularySize: 10,
  maximumPositionCount: 8)

/// The model loader's contract on a checkpoint's bytes: a file the `.safetensors` reader accepts
/// either loads as a BERT encoder or is refused with a ``SentenceEmbeddingError`` naming the
/// tensor; a loaded encoder runs a small batch to `[B, N, H]` (NaN weights may give NaN, never a
/// trap).
func checkBert(_ bytes: [UInt8]) {
  // The reader's own contract is the `safetensors` target's; here only what it accepts matters.
  guard let file = try? SafetensorsFile.decode(bytes) else { return }
  let encoder: BertEncoder
  do {
    encoder = try BertEncoder(configuration: fuzzBertConfiguration, weights: file)
  } catch let error as SentenceEmbeddingError {
    _ = "\(error)"
    return
  } catch {
    preconditionFailure("BertEncoder threw \(type(of: error)): \(error)")
  }
  do {
    let batch = try TokenBatch(sequences: [[2, 5, 6, 3], [2, 7, 3]], paddingID: 0)
    let hidden = try encoder(batch)
    precondition(hidden.shape == [2, 4, 4], "hidden states \(hidden.shape)")
  } catch {
    preconditionFailure("a loaded encoder failed on a valid batch: \(error)")
  }
}

/// The configuration reader's contract on `config.json` bytes: decodes and validates, or
/// throws; a configuration that validates never makes the loader allocate by its sizes (an
/// empty checkpoint is refused for its first missing tensor, whatever the sizes claim).
func checkBertConfiguration(_ bytes: [UInt8]) {
  guard let configuration = try? JSONDecoder().decode(BertConfiguration.self, from: Data(bytes)),
    (try? configuration.validate()) != nil
  else { return }
  do {
    _ = try BertEncoder(configuration: configuration, weights: SafetensorsFile())
    preconditionFailure("an empty checkpoint loaded")
  } catch let error as SentenceEmbeddingError {
    precondition(error.kind == .missingTensor, "\(error)")
  } catch {
    preconditionFailure("BertEncoder threw \(type(of: error)): \(error)")
  }
}
