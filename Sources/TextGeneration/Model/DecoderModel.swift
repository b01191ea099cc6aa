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
  private let finalNorm: RMSNorm
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
    finalNorm = RMSNorm(
      weight: try weights.take("model.norm.weight", shape: [c.hiddenSize]).scalars,
      epsilon: c.normEpsilon, offset: c.normOffset)
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
    let scale: Float = c.architecture == .gemma2 ? Float(Double(h).squareRoot()) : 1
    var states = [Float](unsafeUninitializedCapacity: tokens.count * h) { rows, initialized in
      embedding.withUnsafeBufferPointer { table in
        for (row, token) in tokens.enumerated() {
          for i in 0..<h {
            (rows.baseAddress! + row * h + i).initialize(to: table[token * h + i] * scale)
          }
        }
      }
      initialized = tokens.count * h
    }
    // The rotations of the new positions, shared by every layer's queries and keys.
    let rotations = try c.rotaryEmbedding.angles(
      positions: Array(start..<(start + tokens.count)), sequenceLength: start + tokens.count)
    for (index, layer) in layers.enumerated() {
      try layer(&states, rotations: rotations, cache: &cache.layers[index], configuration: c)
    }
    cache.positionCount += tokens.count
    if lastOnly { states = Array(states[((tokens.count - 1) * h)...]) }
    let count = states.count / h
    let normed = finalNorm(states)
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
