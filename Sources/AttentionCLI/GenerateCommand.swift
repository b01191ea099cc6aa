import ArgumentParser
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
      --max-tokens tokens. A prompt and token count beyond max_position_embeddings is an error.
      """
  )

  @Argument(help: "The prompt.")
  var prompt: String

  @Option(help: ArgumentHelp("The model folder.", valueName: "dir"))
  var model: String

  @Option(help: "The most tokens to generate.")
  var maxTokens = 64

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

  @Flag(help: "Print the generated token ids instead of the text.")
  var ids = false

  func run() throws {
    let folder = URL(fileURLWithPath: model)
    let tokenizer = try BPETokenizer(contentsOf: folder)
    let decoder = try DecoderModel(contentsOf: folder)
    let parameters = GenerationParameters(
      maximumNewTokenCount: maxTokens, temperature: temperature, topK: topK, topP: topP,
      seed: seed, ignoresEndOfSequence: ignoreEos)
    var stream = StreamingDecoder(tokenizer: tokenizer, skippingSpecialTokens: true)
    let result = try decoder.generate(
      prompt: tokenizer.encode(prompt), parameters: parameters
    ) { token in
      if !ids {
        FileHandle.standardOutput.write(Data(stream.append(token).utf8))
      }
    }
    if ids {
      print(result.tokens.map(String.init).joined(separator: " "))
    } else {
      FileHandle.standardOutput.write(Data((stream.finish() + "\n").utf8))
    }
  }
}
