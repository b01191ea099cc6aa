import Attention
import Foundation

/// How ``DecoderModel/generate(prompt:parameters:onToken:)`` picks tokens and when it stops.
public struct GenerationParameters: Sendable, Equatable {
  /// The most tokens to generate.
  public var maximumNewTokenCount: Int
  /// Divides the logits before sampling; `0` means greedy (the most likely token every step).
  public var temperature: Float
  /// Sample only among the `k` most likely tokens (`nil`: no limit).
  public var topK: Int?
  /// Sample only among the most likely tokens whose probabilities first reach `p` (nucleus
  /// sampling; `nil` or `1`: no limit).
  public var topP: Float?
  /// The seed of the sampling generator: the same seed gives the same tokens.
  public var seed: UInt64
  /// Keep generating past an end-of-sequence token.
  public var ignoresEndOfSequence: Bool
  /// The ids to stop at; `nil` for the configuration's
  /// ``ModelConfiguration/endOfSequenceTokenIDs``.
  public var endOfSequenceTokenIDs: [Int]?
  /// Keep the logits each generated token was chosen from (``GenerationResult/logits``).
  public var recordsLogits: Bool

  /// Parameters; the defaults decode greedily and stop at the configuration's EOS ids.
  public init(
    maximumNewTokenCount: Int, temperature: Float = 0, topK: Int? = nil, topP: Float? = nil,
    seed: UInt64 = 0, ignoresEndOfSequence: Bool = false, endOfSequenceTokenIDs: [Int]? = nil,
    recordsLogits: Bool = false
  ) {
    self.recordsLogits = recordsLogits
    self.maximumNewTokenCount = maximumNewTokenCount
    self.temperature = temperature
    self.topK = topK
    self.topP = topP
    self.seed = seed
    self.ignoresEndOfSequence = ignoresEndOfSequence
    self.endOfSequenceTokenIDs = endOfSequenceTokenIDs
  }
}

/// What ``DecoderModel/generate(prompt:parameters:onToken:)`` produced and why it stopped.
public struct GenerationResult: Sendable, Equatable {
  /// Why generation stopped.
  public enum StopReason: Sendable, Equatable {
    /// The last token is an end-of-sequence id (it is included in ``GenerationResult/tokens``).
    case endOfSequence
    /// ``GenerationParameters/maximumNewTokenCount`` tokens were generated.
    case maximumTokenCount
  }

  /// The generated ids, without the prompt.
  public var tokens: [Int]
  /// Why generation stopped.
  public var stopReason: StopReason
  /// With ``GenerationParameters/recordsLogits``, the logits (over the vocabulary) each
  /// generated token was chosen from, one row per token; otherwise empty.
  public var logits: [[Float]] = []
}

extension DecoderModel {
  /// Generates a continuation of `prompt`: the prompt is prefilled in one pass, then each new
  /// token goes through the cache alone.
  ///
  /// - Parameters:
  ///   - prompt: the prompt's token ids (at least one).
  ///   - parameters: greedy or sampled, and when to stop.
  ///   - onToken: called with each token as it is chosen (for streaming).
  /// - Returns: the generated ids and why generation stopped.
  /// - Throws: ``TextGenerationError`` (`invalidRequest`) when the prompt and the requested
  ///   tokens need more positions than `max_position_embeddings` (checked before any work),
  ///   for an empty prompt, an id outside the vocabulary or an invalid sampling parameter; and
  ///   whatever `onToken` throws.
  /// - Complexity: one forward pass per generated token after the prefill.
  public func generate(
    prompt: [Int], parameters: GenerationParameters, onToken: (Int) throws -> Void = { _ in }
  ) throws -> GenerationResult {
    try Self.validate(parameters)
    let limit = configuration.maximumPositionCount
    // The last generated token is never fed back, so it needs no position.
    let needed = prompt.count + max(parameters.maximumNewTokenCount - 1, 0)
    guard needed <= limit else {
      throw TextGenerationError(
        .invalidRequest,
        "a prompt of \(prompt.count) tokens and \(parameters.maximumNewTokenCount) new tokens need \(needed) positions; the context limit (max_position_embeddings) is \(limit)"
      )
    }
    let stops = Set(parameters.endOfSequenceTokenIDs ?? configuration.endOfSequenceTokenIDs)
    var generator = SplitMix64(seed: parameters.seed)
    var cache = try makeCache()
    var logits = try self.logits(for: prompt, cache: &cache)
    var tokens: [Int] = []
    var recorded: [[Float]] = []
    while tokens.count < parameters.maximumNewTokenCount {
      let token = Self.choose(from: logits, parameters: parameters, using: &generator)
      tokens.append(token)
      if parameters.recordsLogits { recorded.append(logits) }
      try onToken(token)
      if !parameters.ignoresEndOfSequence, stops.contains(token) {
        return GenerationResult(tokens: tokens, stopReason: .endOfSequence, logits: recorded)
      }
      if tokens.count < parameters.maximumNewTokenCount {
        logits = try self.logits(for: [token], cache: &cache)
      }
    }
    return GenerationResult(tokens: tokens, stopReason: .maximumTokenCount, logits: recorded)
  }

  private static func validate(_ parameters: GenerationParameters) throws {
    func bad(_ message: String) -> TextGenerationError {
      TextGenerationError(.invalidRequest, message)
    }
    guard parameters.maximumNewTokenCount >= 0 else {
      throw bad("maximumNewTokenCount must be ≥ 0, got \(parameters.maximumNewTokenCount)")
    }
    guard parameters.temperature.isFinite, parameters.temperature >= 0 else {
      throw bad("the temperature must be finite and ≥ 0, got \(parameters.temperature)")
    }
    if let k = parameters.topK, k < 1 { throw bad("topK must be ≥ 1, got \(k)") }
    if let p = parameters.topP, !(p > 0 && p <= 1) {
      throw bad("topP must be in (0, 1], got \(p)")
    }
  }

  /// The greedy choice at temperature 0, else a draw from the tempered, top-k and top-p
  /// filtered distribution (the order transformers applies them in).
  static func choose(
    from logits: [Float], parameters: GenerationParameters, using generator: inout SplitMix64
  ) -> Int {
    let greedy = logits.indices.max { logits[$0] < logits[$1] }!
    guard parameters.temperature > 0 else { return greedy }
    var order = logits.indices.sorted { logits[$0] > logits[$1] }
    if let k = parameters.topK { order = Array(order.prefix(k)) }
    let top = logits[order[0]]
    var weights = order.map { Double(Foundation.exp((logits[$0] - top) / parameters.temperature)) }
    let total = weights.reduce(0, +)
    weights = weights.map { $0 / total }
    if let p = parameters.topP, p < 1 {
      // Keep a token while the probability before it is below p (at least one).
      var cumulative = 0.0
      var kept = 0
      while kept < weights.count, kept == 0 || cumulative < Double(p) {
        cumulative += weights[kept]
        kept += 1
      }
      order = Array(order.prefix(kept))
      weights = Array(weights.prefix(kept))
    }
    let draw = Double(generator.next() >> 11) * 0x1p-53 * weights.reduce(0, +)
    var cumulative = 0.0
    for (token, weight) in zip(order, weights) {
      cumulative += weight
      if draw < cumulative { return token }
    }
    return order[weights.count - 1]
  }
}
