import ArgumentParser
import Attention
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
      """
  )

  @Option(help: ArgumentHelp("The model folder.", valueName: "dir"))
  var model: String

  @Option(help: ArgumentHelp("The text to continue.", valueName: "text"))
  var prompt: String

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

  func validate() throws {
    guard maxNewTokens >= 0 else {
      throw ValidationError("--max-new-tokens must be ≥ 0, got \(maxNewTokens)")
    }
    let outputs = [
      tokenIdsOutput.map { FileArgument($0, option: "--token-ids-output") },
      logitsOutput.map { FileArgument($0, option: "--logits-output") },
    ].compactMap { $0 }
    try OutputPaths.check(outputs: outputs, inputs: [])
  }

  func run() throws {
    let folder = URL(fileURLWithPath: model)
    let tokenizer = try BPETokenizer(contentsOf: folder)
    let decoder = try DecoderModel(contentsOf: folder)
    let parameters = GenerationParameters(
      maximumNewTokenCount: maxNewTokens, temperature: temperature, topK: topK, topP: topP,
      seed: seed, ignoresEndOfSequence: ignoreEos, recordsLogits: logitsOutput != nil)
    var stream = StreamingDecoder(tokenizer: tokenizer, skippingSpecialTokens: true)
    let promptIDs = tokenizer.encode(prompt)
    let result = try decoder.generate(prompt: promptIDs, parameters: parameters) { token in
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
  }
}
