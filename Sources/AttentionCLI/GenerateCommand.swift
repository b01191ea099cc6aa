import ArgumentParser
import Attention
import CommandLineSupport
import Foundation
import TextGeneration

/// `attention generate`: text from a decoder model folder (Llama, Qwen2, Mistral, Gemma 2),
/// streamed as it is decoded.
struct GenerateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "generate",
    abstract: "Continue a prompt with a decoder model (Llama, Qwen2, Mistral, Gemma 2).",
    discussion: """
      The model folder holds config.json, model.safetensors (or shards with \
      model.safetensors.index.json), tokenizer.json and optionally generation_config.json of a \
      Hugging Face LlamaForCausalLM, Qwen2ForCausalLM, MistralForCausalLM or Gemma2ForCausalLM \
      model; weights F32, F16 or BF16, computed in Float.

      Greedy by default; --temperature above 0 samples (with --top-k, --top-p and --seed). \
      Generation stops at the model's end-of-sequence ids unless --ignore-eos is given, or after \
      --max-new-tokens tokens. A prompt and token count beyond max_position_embeddings is an error.

      --prompt-ids gives the prompt as token ids instead of text (the same prompt another \
      implementation decodes). --timings prints to standard error the load time (tokenizer and \
      weights), the prefill time (the prompt in one pass up to the first token chosen) and the \
      time of each later token (one decode step through the cache: median, min–max, tokens/s); \
      --timings-output writes the same figures, with every step's time, as JSON.
      """
  )

  @Option(help: ArgumentHelp("The model folder.", valueName: "dir"))
  var model: String

  @Option(help: ArgumentHelp("The text to continue.", valueName: "text"))
  var prompt: String?

  @Option(
    help: ArgumentHelp(
      "The prompt as comma-separated token ids instead of text (e.g. 1,15043,3186).",
      valueName: "ids"))
  var promptIds: String?

  @Option(help: "The most tokens to generate.")
  var maxNewTokens = 64

  @Option(help: "Sampling temperature; 0 is greedy.")
  var temperature: Float = 0

  @Option(help: "Sample among the k most likely tokens.")
  var topK: Int?

  @Option(help: "Sample among the most likely tokens whose probability first reaches p.")
  var topP: Float?

  @Option(help: "The sampling seed.")
  var seed: UInt64 = 0

  @Flag(help: "Keep generating past an end-of-sequence token.")
  var ignoreEos = false

  @Option(
    help: ArgumentHelp(
      "Also write {\"prompt\": [ids…], \"generated\": [ids…]} as JSON.", valueName: "ids.json"))
  var tokenIdsOutput: String?

  @Option(
    help: ArgumentHelp(
      "Also write the logits each generated token was chosen from, float32 [generated, vocab].",
      valueName: "logits.npy"))
  var logitsOutput: String?

  @Flag(help: "Print load, prefill and per-token decode times to standard error.")
  var timings = false

  @Option(
    help: ArgumentHelp(
      "Also write the times (load, prefill, every decode step, in ms) as JSON.",
      valueName: "timings.json"))
  var timingsOutput: String?

  func validate() throws {
    switch (prompt, promptIds) {
    case (nil, nil): throw ValidationError("give the prompt with --prompt or --prompt-ids")
    case (.some, .some): throw ValidationError("give --prompt or --prompt-ids, not both")
    default: break
    }
    if let promptIds { _ = try Self.parseIDs(promptIds) }
    guard maxNewTokens >= 0 else {
      throw ValidationError("--max-new-tokens must be ≥ 0, got \(maxNewTokens)")
    }
    let outputs = [
      tokenIdsOutput.map { FileArgument($0, option: "--token-ids-output") },
      logitsOutput.map { FileArgument($0, option: "--logits-output") },
      timingsOutput.map { FileArgument($0, option: "--timings-output") },
    ].compactMap { $0 }
    try OutputPaths.check(outputs: outputs, inputs: [])
  }

  func run() throws {
    let clock = ContinuousClock()
    let loadStart = clock.now
    let folder = URL(fileURLWithPath: model)
    let tokenizer = try BPETokenizer(contentsOf: folder)
    let decoder = try DecoderModel(contentsOf: folder)
    let loadTime = clock.now - loadStart
    let parameters = GenerationParameters(
      maximumNewTokenCount: maxNewTokens, temperature: temperature, topK: topK, topP: topP,
      seed: seed, ignoresEndOfSequence: ignoreEos, recordsLogits: logitsOutput != nil)
    var stream = StreamingDecoder(tokenizer: tokenizer, skippingSpecialTokens: true)
    let promptIDs = try promptIds.map(Self.parseIDs) ?? tokenizer.encode(prompt ?? "")
    // Each token's time runs from the previous token (or the start of generation) to the moment
    // it is chosen, before it is written out.
    var tokenTimes: [Duration] = []
    var last = clock.now
    let result = try decoder.generate(prompt: promptIDs, parameters: parameters) { token in
      let now = clock.now
      tokenTimes.append(now - last)
      last = now
      FileHandle.standardOutput.write(Data(stream.append(token).utf8))
    }
    FileHandle.standardOutput.write(Data((stream.finish() + "\n").utf8))
    if let tokenIdsOutput {
      let json = try JSONSerialization.data(
        withJSONObject: ["prompt": promptIDs, "generated": result.tokens], options: [.sortedKeys])
      try TensorFiles.writeBytes(
        Array(json) + Array("\n".utf8),
        to: FileArgument(tokenIdsOutput, option: "--token-ids-output"))
    }
    if let logitsOutput {
      let vocabulary = result.logits.first?.count ?? 0
      let logits = try Tensor<Float>(
        shape: [result.logits.count, vocabulary], scalars: result.logits.flatMap { $0 })
      try TensorFiles.write(
        .float32(logits), to: FileArgument(logitsOutput, option: "--logits-output"))
    }
    if timings || timingsOutput != nil {
      let report = GenerationTimings(
        load: loadTime, promptTokenCount: promptIDs.count, tokenTimes: tokenTimes)
      if timings {
        FileHandle.standardError.write(Data(report.lines.map { $0 + "\n" }.joined().utf8))
      }
      if let timingsOutput {
        let json = try JSONSerialization.data(
          withJSONObject: report.dictionary, options: [.sortedKeys])
        try TensorFiles.writeBytes(
          Array(json) + Array("\n".utf8),
          to: FileArgument(timingsOutput, option: "--timings-output"))
      }
    }
  }

  /// The ids of `--prompt-ids`: comma-separated non-negative integers, at least one.
  static func parseIDs(_ text: String) throws -> [Int] {
    let fields = text.split(separator: ",", omittingEmptySubsequences: false)
    let ids = fields.map { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard !fields.isEmpty, !text.isEmpty, ids.allSatisfy({ ($0 ?? -1) >= 0 }) else {
      throw ValidationError(
        "--prompt-ids must be comma-separated token ids (integers ≥ 0), got \"\(text)\"")
    }
    return ids.map { $0! }
  }
}

/// The times `attention generate --timings` reports: loading, the prefill (the prompt in one
/// pass, up to the first token chosen) and each later token (one decode step through the cache).
struct GenerationTimings {
  var load: Duration
  var promptTokenCount: Int
  /// The first is the prefill's; each later one a decode step's.
  var tokenTimes: [Duration]

  private static func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1e3 + Double(duration.components.attoseconds) * 1e-15
  }

  var loadMilliseconds: Double { Self.milliseconds(load) }
  var prefillMilliseconds: Double? { tokenTimes.first.map(Self.milliseconds) }
  var decodeMilliseconds: [Double] { tokenTimes.dropFirst().map(Self.milliseconds) }

  /// The lines printed to standard error, e.g.
  /// `decode: 63 tokens, median 30.12 ms/token (28.90–35.40), 33.1 tokens/s`.
  var lines: [String] {
    var lines = [
      "load: \(formatted(loadMilliseconds, digits: 1)) ms",
      "OpenBLAS: core \(OpenBLAS.coreName), \(OpenBLAS.threadCount) threads",
    ]
    if let prefill = prefillMilliseconds {
      let rate = Double(promptTokenCount) / prefill * 1e3
      lines.append(
        "prefill: \(promptTokenCount) tokens, \(formatted(prefill, digits: 2)) ms, \(formatted(rate, digits: 1)) tokens/s"
      )
    }
    let steps = decodeMilliseconds.sorted()
    if !steps.isEmpty {
      let total = steps.reduce(0, +)
      lines.append(
        "decode: \(steps.count) tokens, median \(formatted(Self.median(steps), digits: 2)) ms/token (\(formatted(steps.first!, digits: 2))–\(formatted(steps.last!, digits: 2))), \(formatted(Double(steps.count) / total * 1e3, digits: 1)) tokens/s"
      )
    }
    return lines
  }

  /// The JSON of `--timings-output`.
  var dictionary: [String: Any] {
    [
      "load_ms": loadMilliseconds,
      "prompt_tokens": promptTokenCount,
      "prefill_ms": prefillMilliseconds.map { $0 as Any } ?? NSNull(),
      "decode_ms": decodeMilliseconds,
      "openblas_core": OpenBLAS.coreName,
      "openblas_threads": OpenBLAS.threadCount,
    ]
  }

  private static func median(_ sorted: [Double]) -> Double {
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
  }
}
