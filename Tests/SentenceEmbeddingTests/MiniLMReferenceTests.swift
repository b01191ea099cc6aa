import Attention
import AttentionTestSupport
import Foundation
import Testing

@testable import SentenceEmbedding

/// all-MiniLM-L6-v2 through the engine, compared with transformers' BertModel (the fixtures of
/// `Tests/Fixtures/MiniLM/make_fixtures.py`). Skipped without the model, except in CI.
@Suite(MiniLMFixtures.requiresModel)
struct MiniLMReferenceTests {
  /// Expects the real rows of `actual` to match `expected`'s under the suite's comparison rule,
  /// and prints the largest scaled difference.
  static func expectRealRowsClose(
    _ actual: Tensor<Float>, _ expected: Tensor<Float>, lengths: [Int], _ label: String,
    sourceLocation: SourceLocation = #_sourceLocation
  ) {
    #expect(actual.shape == expected.shape, "\(label)", sourceLocation: sourceLocation)
    let difference = expectClose(
      MiniLMFixtures.realRows(actual, lengths: lengths),
      MiniLMFixtures.realRows(expected, lengths: lengths),
      tolerance: Tolerance.pyTorchFloat, label, sourceLocation: sourceLocation)
    print("\(label): largest scaled difference \(difference)")
  }

  @Test(
    "every layer's attention block matches BertAttention within 1e-5 on real tokens",
    arguments: [AttentionBackend.blas, .naive])
  func attentionPerLayer(backend: AttentionBackend) throws {
    let model = try MiniLMFixtures.model()
    let lengths = try MiniLMFixtures.reference().layers.lengths
    #expect(model.encoder.layers.count == 6)
    for (index, layer) in model.encoder.layers.enumerated() {
      let hidden = try MiniLMFixtures.tensor("layers_hidden_\(index)")
      let expected = try MiniLMFixtures.tensor("layers_attention_\(index)")
      let actual = try layer.attention(hidden, keyLengths: lengths, backend: backend)
      // Against a float64 evaluation of BertAttention on the same float32 inputs (PyTorch's own
      // float32 forward is ≤ 3e-6 from it).
      Self.expectRealRowsClose(
        actual, expected, lengths: lengths, "attention layer \(index) .\(backend.rawValue)")
    }
  }

  @Test("embeddings and every full layer match BertModel's hidden states")
  func hiddenStates() throws {
    let model = try MiniLMFixtures.model()
    let layers = try MiniLMFixtures.reference().layers
    let batch = try TokenBatch(
      sequences: layers.ids.enumerated().map { Array($1.prefix(layers.lengths[$0])) }, paddingID: 0)
    #expect(batch.ids == layers.ids.flatMap { $0 })
    // The tokenizer gives the same ids as the reference for this batch, too.
    #expect(
      layers.sentences.map { model.tokenizer.encode($0) }
        == (0..<batch.batchCount).map { Array(batch.sequence($0)) })

    // Against PyTorch's float32 forward: both sides round in float32, in different orders.
    let embedded = try model.encoder.embeddings(of: batch)
    Self.expectRealRowsClose(
      embedded, try MiniLMFixtures.tensor("layers_hidden_0"), lengths: batch.lengths, "embeddings")
    for (index, layer) in model.encoder.layers.enumerated() {
      let input = try MiniLMFixtures.tensor("layers_hidden_\(index)")
      let expected = try MiniLMFixtures.tensor("layers_hidden_\(index + 1)")
      let output = try layer(input, keyLengths: batch.lengths)
      Self.expectRealRowsClose(output, expected, lengths: batch.lengths, "layer \(index)")
    }
  }

  @Test("sentence embeddings have cosine ≥ 0.99999 with sentence-transformers' for every sentence")
  func sentenceEmbeddings() throws {
    let model = try MiniLMFixtures.model()
    let sentences = try MiniLMFixtures.reference().embedding
    #expect(sentences.count >= 20)
    let expected = try MiniLMFixtures.tensor("embeddings")
    let actual = try model.embed(sentences, batchSize: 8)
    #expect(actual.shape == [sentences.count, 384])
    try #require(expected.shape == actual.shape)
    var smallest = 1.0
    for row in 0..<sentences.count {
      let a = actual.scalars[(row * 384)..<((row + 1) * 384)].map(Double.init)
      let e = expected.scalars[(row * 384)..<((row + 1) * 384)].map(Double.init)
      let dot = zip(a, e).reduce(0) { $0 + $1.0 * $1.1 }
      let norms = (a.reduce(0) { $0 + $1 * $1 } * e.reduce(0) { $0 + $1 * $1 }).squareRoot()
      let cosine = dot / norms
      smallest = min(smallest, cosine)
      #expect(cosine >= 0.99999, "sentence \(row): \(sentences[row].prefix(40))…, cosine \(cosine)")
      #expect(abs(a.reduce(0) { $0 + $1 * $1 } - 1) < 1e-5, "sentence \(row) is not unit length")
    }
    print("sentence embeddings: min cosine \(smallest) over \(sentences.count) sentences")
  }
}
