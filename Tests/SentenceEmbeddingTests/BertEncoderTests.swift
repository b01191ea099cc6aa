import Attention
import AttentionTestSupport
import Foundation
import Testing

@testable import SentenceEmbedding

/// The encoder on a tiny random BERT against an independent float64 forward pass, and every
/// loading error on small broken model folders.
@Suite struct BertEncoderTests {
  @Test(
    "a padded batch of different lengths gives each sentence its unpadded float64 embedding",
    arguments: [AttentionBackend.blas, .naive])
  func tinyModelMatchesReference(backend: AttentionBackend) throws {
    let folder = try TinyBert.writeModelFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let model = try SentenceEmbedder(modelFolder: folder)
    let sentences = ["the cat sat on the mat.", "a dog ran", "dogs", "the cats, the dogs, a mat."]
    let embeddings = try model.embed(sentences, batchSize: 3, backend: backend)
    let tensors = TinyBert.tensors()
    for (row, sentence) in sentences.enumerated() {
      let ids = model.tokenizer.encode(sentence)
      let expected = TinyBert.referenceEmbedding(ids: ids, tensors: tensors)
      let actual = embeddings.scalars[(row * 8)..<((row + 1) * 8)]
      expectClose(actual, expected, tolerance: Tolerance.floatVersusDouble, sentence)
    }
  }

  /// Writes the tiny model with `change` applied to its tensors, loads it, returns the error.
  func loadingError(
    _ change: (inout [String: AnyTensor]) -> Void
  ) throws -> SentenceEmbeddingError? {
    var tensors = TinyBert.tensors().mapValues { AnyTensor.float32($0) }
    change(&tensors)
    let folder = try TinyBert.writeModelFolder(weights: SafetensorsFile(tensors: tensors))
    defer { try? FileManager.default.removeItem(at: folder) }
    do {
      _ = try SentenceEmbedder(modelFolder: folder)
      return nil
    } catch let error as SentenceEmbeddingError {
      #expect(error.file?.hasSuffix("model.safetensors") == true)
      #expect(error.message.contains("model.safetensors"), "\(error.message)")
      return error
    }
  }

  @Test("a tensor of the wrong shape is named, with its shape and the expected one")
  func wrongShape() throws {
    let name = "encoder.layer.1.attention.self.query.weight"
    let error = try loadingError { $0[name] = .float32(try! Tensor(zeros: [8, 7])) }
    #expect(error?.kind == .wrongShape)
    #expect(error?.tensor == name)
    #expect(error?.message.contains("[8, 7]") == true && error?.message.contains("[8, 8]") == true)
  }

  @Test("a float64 tensor is refused, naming the tensor and both dtypes")
  func wrongDataType() throws {
    let name = "embeddings.LayerNorm.bias"
    let error = try loadingError { $0[name] = .float64(try! Tensor(zeros: [8])) }
    #expect(error?.kind == .wrongDataType)
    #expect(error?.tensor == name)
    #expect(
      error?.message.contains("F64") == true && error?.message.contains("F32") == true,
      "\(String(describing: error))")
  }

  @Test("a missing tensor is named")
  func missingTensor() throws {
    let name = "encoder.layer.0.output.LayerNorm.bias"
    let error = try loadingError { $0[name] = nil }
    #expect(error?.kind == .missingTensor)
    #expect(error?.tensor == name)
  }

  @Test("a tensor a BERT encoder does not have is named; the pooler and position ids are not")
  func unexpectedTensor() throws {
    let name = "encoder.layer.2.output.dense.weight"
    let error = try loadingError { $0[name] = .float32(try! Tensor(zeros: [8, 12])) }
    #expect(error?.kind == .unexpectedTensor)
    #expect(error?.tensor == name)
    let tolerated = try loadingError {
      $0["pooler.dense.weight"] = .float32(try! Tensor(zeros: [8, 8]))
      $0["pooler.dense.bias"] = .float32(try! Tensor(zeros: [8]))
    }
    #expect(tolerated == nil)
  }

  @Test("a missing model folder or file is named, and says how to fetch the model")
  func missingFiles() throws {
    let absent = FileManager.default.temporaryDirectory.appending(path: "no-model-\(UUID())")
    #expect {
      try SentenceEmbedder(modelFolder: absent)
    } throws: { error in
      let error = error as? SentenceEmbeddingError
      return error?.kind == .missingFile && error?.message.contains(absent.path) == true
        && error?.message.contains("make model") == true
    }
    for file in ["config.json", "vocab.txt", "model.safetensors"] {
      let folder = try TinyBert.writeModelFolder()
      defer { try? FileManager.default.removeItem(at: folder) }
      try FileManager.default.removeItem(at: folder.appending(path: file))
      #expect(Comment(rawValue: file)) {
        try SentenceEmbedder(modelFolder: folder)
      } throws: { error in
        let error = error as? SentenceEmbeddingError
        return error?.kind == .missingFile && error?.file?.hasSuffix(file) == true
      }
    }
  }

  @Test("a truncated safetensors file is reported as unreadable, naming the file")
  func corruptWeights() throws {
    let folder = try TinyBert.writeModelFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let weights = folder.appending(path: "model.safetensors")
    let bytes = try Data(contentsOf: weights)
    try bytes.prefix(bytes.count - 100).write(to: weights)
    #expect {
      try SentenceEmbedder(modelFolder: folder)
    } throws: { error in
      let error = error as? SentenceEmbeddingError
      return error?.kind == .unreadableFile && error?.message.contains(weights.path) == true
    }
  }

  @Test(
    "config.json errors name the file and the key or value",
    arguments: [
      ("{\"hidden_size\": 8}", SentenceEmbeddingError.Kind.unreadableFile, "num_hidden_layers"),
      ("not json", .unreadableFile, "JSON"),
      (
        TinyBert.configurationJSON.replacingOccurrences(of: "\"gelu\"", with: "\"relu\""),
        .invalidConfiguration, "relu"
      ),
      (
        TinyBert.configurationJSON.replacingOccurrences(
          of: "\"num_attention_heads\": 2", with: "\"num_attention_heads\": 3"),
        .invalidConfiguration, "not divisible"
      ),
    ])
  func badConfiguration(json: String, kind: SentenceEmbeddingError.Kind, mention: String) throws {
    let folder = try TinyBert.writeModelFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let file = folder.appending(path: "config.json")
    try Data(json.utf8).write(to: file)
    #expect {
      try SentenceEmbedder(modelFolder: folder)
    } throws: { error in
      let error = error as? SentenceEmbeddingError
      return error?.kind == kind && error?.file == file.path
        && error?.message.contains(mention) == true && error?.message.contains(file.path) == true
    }
  }

  @Test(
    "packed hidden states equal the padded batch's real rows",
    arguments: [AttentionBackend.blas, .blasMaterialized, .naive])
  func packedEqualsPadded(backend: AttentionBackend) throws {
    let encoder = try BertEncoder(
      configuration: TinyBert.configuration, weights: TinyBert.file(TinyBert.tensors()))
    let batch = try TokenBatch(
      sequences: [[2, 5, 6, 7, 8, 3], [2, 9, 3], [2, 3], [2, 4, 4, 4, 3]], paddingID: 0)
    let padded = try encoder(batch, backend: backend)
    let packed = try encoder.packedHiddenStates(of: batch, backend: backend)
    #expect(packed.shape == [16, padded.shape[2]])
    expectClose(
      packed.scalars, MiniLMFixtures.realRows(padded, lengths: batch.lengths),
      tolerance: Tolerance.floatVersusFloat, "packed against the padded batch's real rows")
    #expect(throws: SentenceEmbeddingError.self) {
      try encoder.packedHiddenStates(of: TokenBatch(sequences: [[2, 16, 3]], paddingID: 0))
    }
  }

  @Test("ids outside the vocabulary, sequences longer than the positions, empty input are refused")
  func badInput() throws {
    let encoder = try BertEncoder(
      configuration: TinyBert.configuration, weights: TinyBert.file(TinyBert.tensors()))
    #expect(throws: SentenceEmbeddingError.self) {
      try encoder(TokenBatch(sequences: [[2, 16, 3]], paddingID: 0))
    }
    #expect(throws: SentenceEmbeddingError.self) {
      try encoder(TokenBatch(sequences: [Array(repeating: 5, count: 11)], paddingID: 0))
    }
    #expect(throws: SentenceEmbeddingError.self) { try TokenBatch(sequences: [], paddingID: 0) }
    #expect(throws: SentenceEmbeddingError.self) { try TokenBatch(sequences: [[]], paddingID: 0) }
  }
}
