import Attention
import Foundation

/// What a decoder model's `config.json` (and `generation_config.json`, when present) says about
/// its shape and computation.
///
/// Both spellings in circulation are read: transformers 4.x folders (`rope_theta` and
/// `rope_scaling` at the top level, no `layer_types`) and 5.x folders (`rope_parameters`,
/// `layer_types`).
public struct ModelConfiguration: Sendable, Equatable {
  /// The architectures this library implements, named as `config.json`'s `architectures` names
  /// them.
  public enum Architecture: String, Sendable, CaseIterable {
    /// Llama 2/3 (including `llama3` RoPE scaling), tied or untied embeddings.
    case llama = "LlamaForCausalLM"
    /// Qwen 2 / 2.5: Llama with biases on the query, key and value projections.
    case qwen2 = "Qwen2ForCausalLM"
    /// Mistral: Llama with a sliding attention window.
    case mistral = "MistralForCausalLM"
    /// Gemma 2: softcaps, alternating sliding and global layers, GeGLU, `1 + w` norms, pre- and
    /// post-norms, embeddings scaled by √hidden.
    case gemma2 = "Gemma2ForCausalLM"
  }

  /// The gated MLP's activation.
  public enum Activation: String, Sendable {
    /// `silu` (SwiGLU).
    case silu
    /// `gelu_pytorch_tanh` (GeGLU with the tanh approximation).
    case geluTanh = "gelu_pytorch_tanh"
  }

  /// The architecture.
  public var architecture: Architecture
  /// `V`, `vocab_size`.
  public var vocabularySize: Int
  /// `hidden_size`.
  public var hiddenSize: Int
  /// `intermediate_size`, the MLP's inner width.
  public var intermediateSize: Int
  /// `num_hidden_layers`.
  public var layerCount: Int
  /// `num_attention_heads`, the query heads.
  public var headCount: Int
  /// `num_key_value_heads` (grouped-query attention; `headCount` when absent).
  public var keyValueHeadCount: Int
  /// `head_dim` (`hidden_size / num_attention_heads` when absent).
  public var headDimension: Int
  /// `max_position_embeddings`: the context limit.
  public var maximumPositionCount: Int
  /// `rms_norm_eps`.
  public var normEpsilon: Float
  /// The rotary embedding (`rope_theta` and the scaling, in either spelling).
  public var rotaryEmbedding: RotaryPositionEmbedding
  /// The MLP activation (`hidden_act` / `hidden_activation`).
  public var activation: Activation
  /// Whether the output projection reuses the token embedding (`tie_word_embeddings`).
  public var tiesWordEmbeddings: Bool
  /// Whether the query, key and value projections have biases (Qwen2; `attention_bias`).
  public var hasAttentionBias: Bool
  /// The sliding window in positions, per layer (`nil`: the layer attends to every position).
  public var layerWindows: [Int?]
  /// Gemma 2's `attn_logit_softcapping`.
  public var attentionSoftcap: Float?
  /// Gemma 2's `final_logit_softcapping`.
  public var finalLogitSoftcap: Float?
  /// The attention scale: `query_pre_attn_scalar^-½` (Gemma 2), else `head_dim^-½`.
  public var attentionScale: Float
  /// The ids generation stops at: `generation_config.json`'s `eos_token_id` when present, else
  /// `config.json`'s (a number or a list).
  public var endOfSequenceTokenIDs: [Int]
  /// `bos_token_id`, if any.
  public var beginningOfSequenceTokenID: Int?

  /// Reads `config.json` and, when present, `generation_config.json` in `folder`.
  ///
  /// - Throws: ``TextGenerationError`` — `missingFile`, `unreadableFile`,
  ///   `invalidConfiguration` naming the field, `unsupportedArchitecture` naming the
  ///   architecture and listing the supported ones.
  public init(contentsOf folder: URL) throws {
    let configURL = folder.appendingPathComponent("config.json")
    let config = try Self.readObject(configURL, required: true)!
    let generationURL = folder.appendingPathComponent("generation_config.json")
    let generation = try Self.readObject(generationURL, required: false)
    try self.init(config: config, generationConfig: generation, file: configURL.path)
  }

  /// Parses the objects of `config.json` and `generation_config.json`.
  init(config: [String: Any], generationConfig: [String: Any]?, file: String) throws {
    let fields = Fields(object: config, file: file)
    let supported = Architecture.allCases.map(\.rawValue).joined(separator: ", ")
    guard let names = config["architectures"] as? [String], let name = names.first else {
      throw TextGenerationError(
        .invalidConfiguration, file: file, component: "architectures",
        "\(file): field 'architectures' is missing or not a list of names (supported: \(supported))"
      )
    }
    guard let architecture = Architecture(rawValue: name) else {
      throw TextGenerationError(
        .unsupportedArchitecture, file: file, component: "architectures",
        "\(file): architecture '\(name)' is not supported; supported architectures: \(supported)")
    }
    self.architecture = architecture
    vocabularySize = try fields.integer("vocab_size")
    hiddenSize = try fields.integer("hidden_size")
    intermediateSize = try fields.integer("intermediate_size")
    layerCount = try fields.integer("num_hidden_layers")
    headCount = try fields.integer("num_attention_heads")
    keyValueHeadCount = try fields.integer("num_key_value_heads", default: headCount)
    guard headCount % keyValueHeadCount == 0 else {
      throw TextGenerationError(
        .invalidConfiguration, file: file, component: "num_key_value_heads",
        "\(file): num_key_value_heads (\(keyValueHeadCount)) must divide num_attention_heads (\(headCount))"
      )
    }
    headDimension = try fields.integer("head_dim", default: hiddenSize / headCount)
    maximumPositionCount = try fields.integer("max_position_embeddings")
    normEpsilon = Float(try fields.number("rms_norm_eps", default: 1e-6))

    let isGemma = architecture == .gemma2
    let activationName =
      try fields.optionalString(isGemma ? "hidden_activation" : "hidden_act")
      ?? fields.optionalString("hidden_act") ?? (isGemma ? "gelu_pytorch_tanh" : "silu")
    guard let activation = Activation(rawValue: activationName) else {
      throw TextGenerationError(
        .unsupportedArchitecture, file: file, component: "hidden_act",
        "\(file): activation '\(activationName)' is not supported (supported: silu, gelu_pytorch_tanh)"
      )
    }
    self.activation = activation
    tiesWordEmbeddings = try fields.boolean("tie_word_embeddings", default: isGemma)
    hasAttentionBias =
      architecture == .qwen2 ? true : try fields.boolean("attention_bias", default: false)

    // Sliding windows: `layer_types` when present, else each family's rule.
    let window = try fields.optionalInteger("sliding_window")
    if let types = config["layer_types"] {
      guard let types = types as? [String], types.count == layerCount,
        types.allSatisfy({ $0 == "sliding_attention" || $0 == "full_attention" })
      else {
        throw TextGenerationError(
          .invalidConfiguration, file: file, component: "layer_types",
          "\(file): field 'layer_types' must list \(layerCount) entries, each 'sliding_attention' or 'full_attention'"
        )
      }
      if types.contains("sliding_attention"), window == nil {
        throw TextGenerationError(
          .invalidConfiguration, file: file, component: "sliding_window",
          "\(file): 'layer_types' has sliding_attention layers but 'sliding_window' is missing")
      }
      layerWindows = types.map { $0 == "sliding_attention" ? window : nil }
    } else {
      switch architecture {
      case .llama: layerWindows = Array(repeating: nil, count: layerCount)
      case .mistral: layerWindows = Array(repeating: window, count: layerCount)
      case .gemma2:
        // transformers 4.x: even layers slide, odd layers are global.
        layerWindows = (0..<layerCount).map { $0 % 2 == 0 ? window : nil }
      case .qwen2:
        let slides = try fields.boolean("use_sliding_window", default: false)
        let first = try fields.integer("max_window_layers", default: layerCount)
        layerWindows = (0..<layerCount).map { slides && $0 >= first ? window : nil }
      }
    }
    if let bad = layerWindows.compactMap({ $0 }).first(where: { $0 < 1 }) {
      throw TextGenerationError(
        .invalidConfiguration, file: file, component: "sliding_window",
        "\(file): 'sliding_window' must be at least 1, got \(bad)")
    }

    if isGemma {
      attentionSoftcap = try fields.optionalNumber("attn_logit_softcapping").map { Float($0) }
      finalLogitSoftcap = try fields.optionalNumber("final_logit_softcapping").map { Float($0) }
      let scalar = try fields.number("query_pre_attn_scalar", default: Double(headDimension))
      attentionScale = Float(1 / scalar.squareRoot())
    } else {
      attentionSoftcap = nil
      finalLogitSoftcap = nil
      attentionScale = Float(1 / Double(headDimension).squareRoot())
    }
    rotaryEmbedding = try Self.rotaryEmbedding(fields, headDimension: headDimension)

    beginningOfSequenceTokenID = try fields.optionalInteger("bos_token_id")
    let generationFields = generationConfig.map {
      Fields(
        object: $0,
        file: file.replacingOccurrences(
          of: "config.json", with: "generation_config.json"))
    }
    endOfSequenceTokenIDs =
      try generationFields?.integerList("eos_token_id") ?? fields.integerList("eos_token_id")
      ?? []
  }

  /// The rotary embedding from `rope_parameters` (5.x) or `rope_theta` + `rope_scaling` (4.x).
  private static func rotaryEmbedding(_ fields: Fields, headDimension: Int) throws
    -> RotaryPositionEmbedding
  {
    let parameters = try fields.optionalObject("rope_parameters")
    let theta =
      try parameters?.optionalNumber("rope_theta")
      ?? fields.number(
        "rope_theta", default: 10_000)
    let scaling = try parameters ?? fields.optionalObject("rope_scaling")
    let type = try scaling.flatMap {
      try $0.optionalString("rope_type") ?? $0.optionalString("type")
    }
    let rotaryScaling: RotaryPositionEmbedding.Scaling
    switch type {
    case nil, "default": rotaryScaling = .none
    case "linear": rotaryScaling = .linear(factor: try scaling!.number("factor"))
    case "dynamic":
      rotaryScaling = .dynamic(
        factor: try scaling!.number("factor"),
        maximumPositionCount: try scaling!.optionalInteger("original_max_position_embeddings")
          ?? fields.integer("max_position_embeddings"))
    case "llama3":
      rotaryScaling = .llama3(
        factor: try scaling!.number("factor"),
        lowFrequencyFactor: try scaling!.number("low_freq_factor"),
        highFrequencyFactor: try scaling!.number("high_freq_factor"),
        originalMaximumPositionCount: try scaling!.integer("original_max_position_embeddings"))
    case "yarn":
      rotaryScaling = .yarn(
        factor: try scaling!.number("factor"),
        originalMaximumPositionCount: try scaling!.optionalInteger(
          "original_max_position_embeddings") ?? fields.integer("max_position_embeddings"),
        betaFast: try scaling!.number("beta_fast", default: 32),
        betaSlow: try scaling!.number("beta_slow", default: 1),
        attentionFactor: try scaling!.optionalNumber("attention_factor"),
        mscale: try scaling!.optionalNumber("mscale"),
        mscaleAllDimensions: try scaling!.optionalNumber("mscale_all_dim"),
        truncate: try scaling!.boolean("truncate", default: true))
    case let other?:
      throw TextGenerationError(
        .unsupportedArchitecture, file: fields.file, component: "rope_type",
        "\(fields.file): RoPE type '\(other)' is not supported (supported: default, linear, dynamic, llama3, yarn)"
      )
    }
    do {
      return try RotaryPositionEmbedding(
        headDimension: headDimension, base: theta, scaling: rotaryScaling)
    } catch let error as AttentionError {
      throw TextGenerationError(
        .invalidConfiguration, file: fields.file, component: "rope_parameters",
        "\(fields.file): invalid RoPE parameters: \(error.message)")
    }
  }

  /// The JSON object in `url`, or `nil` when it does not exist and is not `required`.
  static func readObject(_ url: URL, required: Bool) throws -> [String: Any]? {
    guard FileManager.default.fileExists(atPath: url.path) else {
      if !required { return nil }
      throw TextGenerationError(.missingFile, file: url.path, "\(url.path): no such file")
    }
    let object: Any
    do {
      object = try JSONSerialization.jsonObject(with: Data(contentsOf: url))
    } catch {
      throw TextGenerationError(
        .unreadableFile, file: url.path, "\(url.path): cannot read JSON: \(error)")
    }
    guard let dictionary = object as? [String: Any] else {
      throw TextGenerationError(
        .unreadableFile, file: url.path, "\(url.path): the top level is not a JSON object")
    }
    return dictionary
  }
}

/// Typed access to a JSON object's fields, each error naming the file and the field.
struct Fields {
  let object: [String: Any]
  let file: String

  private func error(_ key: String, _ expected: String) -> TextGenerationError {
    let found = object[key].map { "\($0)" } ?? "nothing"
    return TextGenerationError(
      .invalidConfiguration, file: file, component: key,
      "\(file): field '\(key)' must be \(expected), found \(found)")
  }

  private func isMissing(_ key: String) -> Bool { object[key] == nil || object[key] is NSNull }

  private func isBoolean(_ value: Any) -> Bool {
    (value as? NSNumber).map { String(cString: $0.objCType) == "c" } ?? false
  }

  func optionalInteger(_ key: String) throws -> Int? {
    if isMissing(key) { return nil }
    guard let number = object[key] as? NSNumber, !isBoolean(number),
      number.doubleValue == number.doubleValue.rounded(), abs(number.doubleValue) < 1e15
    else { throw error(key, "an integer") }
    return number.intValue
  }

  func integer(_ key: String, default value: Int? = nil) throws -> Int {
    guard let result = try optionalInteger(key) ?? value else {
      throw error(key, "a positive integer")
    }
    guard result > 0 else { throw error(key, "a positive integer") }
    return result
  }

  func optionalNumber(_ key: String) throws -> Double? {
    if isMissing(key) { return nil }
    guard let number = object[key] as? NSNumber, !isBoolean(number), number.doubleValue.isFinite
    else { throw error(key, "a number") }
    return number.doubleValue
  }

  func number(_ key: String, default value: Double? = nil) throws -> Double {
    guard let result = try optionalNumber(key) ?? value else { throw error(key, "a number") }
    return result
  }

  func boolean(_ key: String, default value: Bool) throws -> Bool {
    if isMissing(key) { return value }
    guard let flag = object[key] as? Bool, let number = object[key] as? NSNumber, isBoolean(number)
    else { throw error(key, "true or false") }
    return flag
  }

  func optionalString(_ key: String) throws -> String? {
    if isMissing(key) { return nil }
    guard let string = object[key] as? String else { throw error(key, "a string") }
    return string
  }

  func optionalObject(_ key: String) throws -> Fields? {
    if isMissing(key) { return nil }
    guard let nested = object[key] as? [String: Any] else { throw error(key, "an object") }
    return Fields(object: nested, file: file)
  }

  /// A number or a list of numbers (`eos_token_id`), `nil` when absent.
  func integerList(_ key: String) throws -> [Int]? {
    if isMissing(key) { return nil }
    if let list = object[key] as? [Any] {
      return try list.map { item in
        guard let number = item as? NSNumber, !isBoolean(number),
          number.doubleValue == number.doubleValue.rounded()
        else { throw error(key, "an integer or a list of integers") }
        return number.intValue
      }
    }
    guard let single = try? optionalInteger(key) else {
      throw error(key, "an integer or a list of integers")
    }
    return [single]
  }
}
