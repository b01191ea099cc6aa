import Attention
import AttentionTestSupport
import Foundation

@testable import SentenceEmbedding

/// A tiny random BERT (2 layers, hidden 8, 2 heads) written as a model folder, and an independent
/// float64 forward pass of one unpadded sentence to check the engine against.
enum TinyBert {
  static let configuration = BertConfiguration(
    hiddenSize: 8, layerCount: 2, headCount: 2, intermediateSize: 12, vocabularySize: 16,
    maximumPositionCount: 10)

  static let configurationJSON = """
    {"architectures": ["BertModel"], "hidden_act": "gelu", "hidden_size": 8,
     "intermediate_size": 12, "layer_norm_eps": 1e-12, "max_position_embeddings": 10,
     "model_type": "bert", "num_attention_heads": 2, "num_hidden_layers": 2,
     "position_embedding_type": "absolute", "type_vocab_size": 2, "vocab_size": 16}
    """

  static let vocabulary = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", "a", "dog",
    "##s", "ran", ",", ".",
  ]

  /// Every tensor of the checkpoint, seeded: weights ~ N(0, 0.5²), layer-norm scales near 1.
  static func tensors(seed: UInt64 = 7) -> [String: Tensor<Float>] {
    var generator = SplitMix64(seed: seed)
    func normal(_ shape: [Int], mean: Float = 0, deviation: Float = 0.5) -> Tensor<Float> {
      try! Tensor<Float>.randomNormal(
        shape: shape, mean: mean, standardDeviation: deviation, using: &generator)
    }
    let c = configuration
    let h = c.hiddenSize
    var tensors: [String: Tensor<Float>] = [
      "embeddings.word_embeddings.weight": normal([c.vocabularySize, h]),
      "embeddings.position_embeddings.weight": normal([c.maximumPositionCount, h]),
      "embeddings.token_type_embeddings.weight": normal([c.tokenTypeCount, h]),
    ]
    func norm(_ prefix: String) {
      tensors["\(prefix).weight"] = normal([h], mean: 1, deviation: 0.1)
      tensors["\(prefix).bias"] = normal([h], deviation: 0.1)
    }
    func linear(_ prefix: String, _ output: Int, _ input: Int) {
      tensors["\(prefix).weight"] = normal([output, input])
      tensors["\(prefix).bias"] = normal([output], deviation: 0.1)
    }
    norm("embeddings.LayerNorm")
    for layer in 0..<c.layerCount {
      let p = "encoder.layer.\(layer)"
      for name in ["query", "key", "value"] { linear("\(p).attention.self.\(name)", h, h) }
      linear("\(p).attention.output.dense", h, h)
      norm("\(p).attention.output.LayerNorm")
      linear("\(p).intermediate.dense", c.intermediateSize, h)
      linear("\(p).output.dense", h, c.intermediateSize)
      norm("\(p).output.LayerNorm")
    }
    return tensors
  }

  static func file(_ tensors: [String: Tensor<Float>]) -> SafetensorsFile {
    SafetensorsFile(tensors: tensors.mapValues { AnyTensor.float32($0) })
  }

  /// A fresh temporary folder with config.json, vocab.txt and model.safetensors.
  static func writeModelFolder(weights: SafetensorsFile? = nil) throws -> URL {
    let folder = FileManager.default.temporaryDirectory.appending(
      path: "tiny-bert-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    try Data(configurationJSON.utf8).write(to: folder.appending(path: "config.json"))
    try Data((vocabulary.joined(separator: "\n") + "\n").utf8).write(
      to: folder.appending(path: "vocab.txt"))
    try (weights ?? file(tensors())).write(to: folder.appending(path: "model.safetensors").path)
    return folder
  }

  /// The sentence embedding of one unpadded id sequence, computed in Double with plain loops
  /// straight from the formulas (no engine code): embeddings, per-head softmax attention (the
  /// suite's ``ReferenceMultiHeadAttention``), exact GELU, post-norm residuals, mean pooling, L2
  /// normalisation.
  static func referenceEmbedding(ids: [Int], tensors: [String: Tensor<Float>]) -> [Double] {
    let c = configuration
    let (h, heads, n) = (c.hiddenSize, c.headCount, ids.count)
    func t(_ name: String) -> [Double] { tensors[name]!.scalars.map(Double.init) }
    func layerNorm(_ x: [[Double]], _ prefix: String) -> [[Double]] {
      let gamma = t("\(prefix).weight")
      let beta = t("\(prefix).bias")
      var result = x
      for (r, row) in x.enumerated() {
        var mean = 0.0
        for value in row { mean += value / Double(h) }
        var variance = 0.0
        for value in row { variance += (value - mean) * (value - mean) / Double(h) }
        for i in 0..<h {
          result[r][i] = (row[i] - mean) / (variance + 1e-12).squareRoot() * gamma[i] + beta[i]
        }
      }
      return result
    }
    func linear(_ prefix: String) -> ReferenceLinear {
      ReferenceLinear(weight: tensors["\(prefix).weight"]!, bias: tensors["\(prefix).bias"]!)
    }
    func linear(_ x: [[Double]], _ prefix: String) -> [[Double]] {
      let map = linear(prefix)
      let y = map(x.flatMap { $0 }, rows: x.count)
      return (0..<x.count).map { Array(y[($0 * map.outputCount)..<(($0 + 1) * map.outputCount)]) }
    }
    func added(_ a: [[Double]], _ b: [[Double]]) -> [[Double]] {
      var result = a
      for r in a.indices {
        for i in 0..<h { result[r][i] += b[r][i] }
      }
      return result
    }
    let (word, position, type) = (
      t("embeddings.word_embeddings.weight"), t("embeddings.position_embeddings.weight"),
      t("embeddings.token_type_embeddings.weight")
    )
    var x = [[Double]]()
    for i in 0..<n {
      var row = [Double](repeating: 0, count: h)
      for column in 0..<h {
        row[column] = word[ids[i] * h + column] + type[column] + position[i * h + column]
      }
      x.append(row)
    }
    x = layerNorm(x, "embeddings.LayerNorm")
    for layer in 0..<c.layerCount {
      let p = "encoder.layer.\(layer)"
      let attention = ReferenceMultiHeadAttention(
        headCount: heads, keyValueHeadCount: heads,
        queryProjection: linear("\(p).attention.self.query"),
        keyProjection: linear("\(p).attention.self.key"),
        valueProjection: linear("\(p).attention.self.value"),
        outputProjection: linear("\(p).attention.output.dense"))
      let flat = x.flatMap { $0 }
      let output = attention(
        query: flat, key: flat, value: flat, batch: 1, queryCount: n, keyCount: n
      ).output
      let attended = (0..<n).map { Array(output[($0 * h)..<(($0 + 1) * h)]) }
      x = layerNorm(added(attended, x), "\(p).attention.output.LayerNorm")
      var widened = linear(x, "\(p).intermediate.dense")
      for r in widened.indices {
        for i in widened[r].indices {
          let value = widened[r][i]
          widened[r][i] = 0.5 * value * (1 + erf(value / 2.0.squareRoot()))
        }
      }
      let narrowed = linear(widened, "\(p).output.dense")
      x = layerNorm(added(narrowed, x), "\(p).output.LayerNorm")
    }
    var mean = [Double](repeating: 0, count: h)
    for row in x {
      for i in 0..<h { mean[i] += row[i] / Double(n) }
    }
    var norm = 0.0
    for value in mean { norm += value * value }
    return mean.map { $0 / norm.squareRoot() }
  }
}
