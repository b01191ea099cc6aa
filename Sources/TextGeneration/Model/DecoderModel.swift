import Attention
import Foundation

/// A decoder-only language model loaded from a Hugging Face model folder, computing in `Float`.
///
/// Supports ``ModelConfiguration/Architecture``: Llama, Qwen2, Mistral and Gemma 2. A forward
/// pass takes the new tokens of one sequence (the whole prompt at once, then one token at a
/// time) and a ``DecoderCache`` holding every earlier token's keys and values.
///
/// ```swift
/// let model = try DecoderModel(contentsOf: folder)
/// var cache = try model.makeCache()
/// var logits = try model.logits(for: promptIDs, cache: &cache)   // prefill
/// let next = logits.indices.max { logits[$0] < logits[$1] }!
/// logits = try model.logits(for: [next], cache: &cache)          // one decode step
/// ```
public struct DecoderModel: Sendable {
  /// The configuration the model was built from.
  public let configuration: ModelConfiguration
  private let embedding: Tensor<Float>
  private let layers: [DecoderLayer]
  private let finalNorm: [Float]
  private let outputProjection: Linear<Float>

  /// Loads `config.json`, `generation_config.json` (when present) and the weights of `folder`.
  ///
  /// - Throws: ``TextGenerationError`` for a missing or unreadable file, an invalid or
  ///   unsupported configuration, or a missing or misshapen tensor (naming it and both shapes).
  public init(contentsOf folder: URL) throws {
    let configuration = try ModelConfiguration(contentsOf: folder)
    var weights = try DecoderWeights(folder: folder)
    self.configuration = configuration
    let c = configuration
    embedding = try weights.take(
      "model.embed_tokens.weight", shape: [c.vocabularySize, c.hiddenSize])
    layers = try (0..<c.layerCount).map { index in
      try DecoderLayer(index: index, configuration: c, weights: &weights)
    }
    finalNorm = try weights.take("model.norm.weight", shape: [c.hiddenSize]).scalars
    if c.tiesWordEmbeddings {
      weights.discard("lm_head.weight")
      outputProjection = try Linear(weight: embedding)
    } else {
      outputProjection = try Linear(
        weight: weights.take("lm_head.weight", shape: [c.vocabularySize, c.hiddenSize]))
    }
  }

  /// An empty cache for one sequence: one key/value cache per layer, windowed for the
  /// sliding-window layers.
  public func makeCache() throws -> DecoderCache {
    DecoderCache(
      layers: try configuration.layerWindows.map { window in
        try KeyValueCache<Float>(
          batchCount: 1, headCount: configuration.keyValueHeadCount,
          keyDimension: configuration.headDimension,
          valueDimension: configuration.headDimension, window: window, initialCapacity: 64)
      })
  }

  /// Runs the new tokens through the model after those already in `cache`, appends their keys
  /// and values, and returns the last token's logits.
  ///
  /// - Parameters:
  ///   - tokens: the new token ids (the prompt for a prefill, one token per decode step).
  ///   - cache: the earlier tokens' keys and values; the new ones are appended.
  /// - Returns: `V` logits for the token after the last one given.
  /// - Throws: ``TextGenerationError`` (`invalidRequest`) for no tokens, an id outside the
  ///   vocabulary, or more positions than `max_position_embeddings`.
  /// - Complexity: O(n·(layers·hidden² + layers·positions·hidden) + hidden·V) for `n` tokens.
  public func logits(for tokens: [Int], cache: inout DecoderCache) throws -> [Float] {
    try project(hiddenStates(for: tokens, cache: &cache, lastOnly: true).scalars)
  }

  /// The logits of every one of the new tokens, `[n, V]` (a prefill that keeps every row).
  public func allLogits(for tokens: [Int], cache: inout DecoderCache) throws -> Tensor<Float> {
    let states = try hiddenStates(for: tokens, cache: &cache, lastOnly: false)
    var logits = try outputProjection(states)
    if let cap = configuration.finalLogitSoftcap {
      logits.withUnsafeMutableBufferPointer { buffer in
        for i in buffer.indices { buffer[i] = cap * Foundation.tanh(buffer[i] / cap) }
      }
    }
    return logits
  }

  private func project(_ state: [Float]) throws -> [Float] {
    var logits = try outputProjection(Tensor(shape: [1, configuration.hiddenSize], scalars: state))
      .scalars
    if let cap = configuration.finalLogitSoftcap {
      for i in logits.indices { logits[i] = cap * Foundation.tanh(logits[i] / cap) }
    }
    return logits
  }

  /// The final-normed hidden states `[n, hidden]` (or only the last row's, `[1, hidden]`).
  private func hiddenStates(for tokens: [Int], cache: inout DecoderCache, lastOnly: Bool) throws
    -> Tensor<Float>
  {
    let c = configuration
    guard !tokens.isEmpty else {
      throw TextGenerationError(.invalidRequest, "a forward pass needs at least one token")
    }
    if let bad = tokens.first(where: { !(0..<c.vocabularySize).contains($0) }) {
      throw TextGenerationError(
        .invalidRequest,
        "token id \(bad) is outside the vocabulary (0..<\(c.vocabularySize))")
    }
    let start = cache.positionCount
    guard start + tokens.count <= c.maximumPositionCount else {
      throw TextGenerationError(
        .invalidRequest,
        "the context limit is \(c.maximumPositionCount) positions (max_position_embeddings): \(start) held + \(tokens.count) new = \(start + tokens.count)"
      )
    }
    let h = c.hiddenSize
    var hidden = [Float](repeating: 0, count: tokens.count * h)
    let scale: Float = c.architecture == .gemma2 ? Float(Double(h).squareRoot()) : 1
    embedding.withUnsafeBufferPointer { table in
      for (row, token) in tokens.enumerated() {
        for i in 0..<h { hidden[row * h + i] = table[token * h + i] * scale }
      }
    }
    var states = try Tensor(shape: [tokens.count, h], scalars: hidden)
    for (index, layer) in layers.enumerated() {
      states = try layer(states, start: start, cache: &cache.layers[index], configuration: c)
    }
    cache.positionCount += tokens.count
    var rows = states.scalars
    if lastOnly { rows = Array(rows[((tokens.count - 1) * h)...]) }
    let count = rows.count / h
    let normed = rmsNorm(rows, weight: finalNorm, epsilon: c.normEpsilon, offset: c.normOffset)
    return try Tensor(shape: [count, h], scalars: normed)
  }
}

/// The keys and values of the tokens a ``DecoderModel`` has seen, one cache per layer.
public struct DecoderCache: Sendable {
  var layers: [KeyValueCache<Float>]
  /// The number of tokens seen so far: the next token's position.
  public internal(set) var positionCount = 0
}

extension ModelConfiguration {
  /// RMSNorm scales by `offset + w`: 1 for Gemma's `1 + w`, else 0.
  var normOffset: Float { architecture == .gemma2 ? 1 : 0 }
}

/// `x / rms(x) · (offset + w)` per row of `weight.count` features, as transformers computes it
/// in float32.
func rmsNorm(_ rows: [Float], weight: [Float], epsilon: Float, offset: Float) -> [Float] {
  let width = weight.count
  var result = rows
  for start in stride(from: 0, to: rows.count, by: width) {
    var sum: Float = 0
    for i in 0..<width { sum += rows[start + i] * rows[start + i] }
    let inverse = 1 / (sum / Float(width) + epsilon).squareRoot()
    for i in 0..<width { result[start + i] = rows[start + i] * inverse * (offset + weight[i]) }
  }
  return result
}

/// One transformer block: attention through the layer's key/value cache, then the gated MLP.
struct DecoderLayer: Sendable {
  let query: Linear<Float>
  let key: Linear<Float>
  let value: Linear<Float>
  let output: Linear<Float>
  let gate: Linear<Float>
  let up: Linear<Float>
  let down: Linear<Float>
  let inputNorm: [Float]
  /// Llama's `post_attention_layernorm` (the norm before the MLP); Gemma 2's norm of the
  /// attention output.
  let postAttentionNorm: [Float]
  /// Gemma 2 only: the norms before and after the MLP.
  let preFeedforwardNorm: [Float]?
  let postFeedforwardNorm: [Float]?

  init(index: Int, configuration c: ModelConfiguration, weights: inout DecoderWeights) throws {
    let prefix = "model.layers.\(index)."
    let (h, d) = (c.hiddenSize, c.headDimension)
    func linear(_ name: String, out: Int, in inCount: Int, bias: Bool) throws -> Linear<Float> {
      try Linear(
        weight: weights.take(prefix + name + ".weight", shape: [out, inCount]),
        bias: bias ? weights.take(prefix + name + ".bias", shape: [out]) : nil)
    }
    let bias = c.hasAttentionBias
    query = try linear("self_attn.q_proj", out: c.headCount * d, in: h, bias: bias)
    key = try linear("self_attn.k_proj", out: c.keyValueHeadCount * d, in: h, bias: bias)
    value = try linear("self_attn.v_proj", out: c.keyValueHeadCount * d, in: h, bias: bias)
    output = try linear(
      "self_attn.o_proj", out: h, in: c.headCount * d,
      bias: c.architecture != .qwen2 && bias)
    gate = try linear("mlp.gate_proj", out: c.intermediateSize, in: h, bias: false)
    up = try linear("mlp.up_proj", out: c.intermediateSize, in: h, bias: false)
    down = try linear("mlp.down_proj", out: h, in: c.intermediateSize, bias: false)
    inputNorm = try weights.take(prefix + "input_layernorm.weight", shape: [h]).scalars
    postAttentionNorm = try weights.take(prefix + "post_attention_layernorm.weight", shape: [h])
      .scalars
    if c.architecture == .gemma2 {
      preFeedforwardNorm = try weights.take(prefix + "pre_feedforward_layernorm.weight", shape: [h])
        .scalars
      postFeedforwardNorm = try weights.take(
        prefix + "post_feedforward_layernorm.weight", shape: [h]
      ).scalars
    } else {
      preFeedforwardNorm = nil
      postFeedforwardNorm = nil
    }
  }

  func callAsFunction(
    _ states: Tensor<Float>, start: Int, cache: inout KeyValueCache<Float>,
    configuration c: ModelConfiguration
  ) throws -> Tensor<Float> {
    let n = states.shape[0]
    let (eps, offset) = (c.normEpsilon, c.normOffset)
    let x = states.scalars
    let normed = try Tensor(
      shape: [1, n, c.hiddenSize],
      scalars: rmsNorm(x, weight: inputNorm, epsilon: eps, offset: offset))
    var q = try query(normed).splittingHeads(headCount: c.headCount)
    var k = try key(normed).splittingHeads(headCount: c.keyValueHeadCount)
    let v = try value(normed).splittingHeads(headCount: c.keyValueHeadCount)
    try c.rotaryEmbedding.apply(to: &q, startingAt: start)
    try c.rotaryEmbedding.apply(to: &k, startingAt: start)
    try cache.append(keys: k, values: v)
    let attended = try cache.attention(
      query: q, scale: c.attentionScale, softcap: c.attentionSoftcap
    ).mergingHeads()
    var attention = try output(attended).scalars
    if c.architecture == .gemma2 {
      attention = rmsNorm(attention, weight: postAttentionNorm, epsilon: eps, offset: offset)
    }
    var residual = x
    for i in residual.indices { residual[i] += attention[i] }

    let mlpNorm = preFeedforwardNorm ?? postAttentionNorm
    let mlpInput = try Tensor(
      shape: [n, c.hiddenSize],
      scalars: rmsNorm(residual, weight: mlpNorm, epsilon: eps, offset: offset))
    var gated = try gate(mlpInput).scalars
    let upped = try up(mlpInput).scalars
    switch c.activation {
    case .silu:
      for i in gated.indices { gated[i] = gated[i] / (1 + Foundation.exp(-gated[i])) * upped[i] }
    case .geluTanh:
      let root: Float = (2 / Float.pi).squareRoot()
      for i in gated.indices {
        let g = gated[i]
        gated[i] = 0.5 * g * (1 + Foundation.tanh(root * (g + 0.044715 * g * g * g))) * upped[i]
      }
    }
    var mlp = try down(Tensor(shape: [n, c.intermediateSize], scalars: gated)).scalars
    if let postFeedforwardNorm {
      mlp = rmsNorm(mlp, weight: postFeedforwardNorm, epsilon: eps, offset: offset)
    }
    for i in residual.indices { residual[i] += mlp[i] }
    return try Tensor(shape: [n, c.hiddenSize], scalars: residual)
  }
}
