import Attention
import Foundation
import Testing
import TextGeneration

/// Greedy and sampled generation, EOS stops and the context limit, on the fixture models.
struct GenerationTests {
  @Test("greedy generation gives transformers' 28 greedy ids", arguments: DecoderModelTests.models)
  func greedy(name: String) throws {
    let model = try DecoderModel(contentsOf: DecoderModelTests.folder(name))
    let reference = try DecoderModelTests.Reference(name)
    var streamed: [Int] = []
    let result = try model.generate(
      prompt: reference.prompt,
      parameters: GenerationParameters(
        maximumNewTokenCount: reference.generated.count, ignoresEndOfSequence: true)
    ) { streamed.append($0) }
    #expect(result.tokens == reference.generated)
    #expect(streamed == reference.generated)
    #expect(result.stopReason == .maximumTokenCount)
  }

  @Test("generation stops at an EOS id (included) unless told to ignore it")
  func stopsAtEndOfSequence() throws {
    let model = try DecoderModel(contentsOf: DecoderModelTests.folder("mistral"))
    let reference = try DecoderModelTests.Reference("mistral")
    let stop = reference.generated[5]
    let first = reference.generated.firstIndex(of: stop)!
    let stopped = try model.generate(
      prompt: reference.prompt,
      parameters: GenerationParameters(maximumNewTokenCount: 20, endOfSequenceTokenIDs: [stop]))
    #expect(stopped.tokens == Array(reference.generated[...first]))
    #expect(stopped.stopReason == .endOfSequence)
    let ignored = try model.generate(
      prompt: reference.prompt,
      parameters: GenerationParameters(
        maximumNewTokenCount: 20, ignoresEndOfSequence: true, endOfSequenceTokenIDs: [stop]))
    #expect(ignored.tokens == Array(reference.generated.prefix(20)))
  }

  @Test("the EOS ids come from generation_config.json when present")
  func endOfSequenceIDs() throws {
    let llama = try ModelConfiguration(contentsOf: DecoderModelTests.folder("llama"))
    #expect(llama.endOfSequenceTokenIDs == [1, 4])
    let gemma = try ModelConfiguration(contentsOf: DecoderModelTests.folder("gemma2"))
    #expect(gemma.endOfSequenceTokenIDs == [1, 5])
  }

  @Test("seeded sampling repeats with its seed; top-k 1 and a tiny top-p are greedy")
  func sampling() throws {
    let model = try DecoderModel(contentsOf: DecoderModelTests.folder("qwen2"))
    let reference = try DecoderModelTests.Reference("qwen2")
    func run(_ parameters: GenerationParameters) throws -> [Int] {
      try model.generate(prompt: reference.prompt, parameters: parameters).tokens
    }
    let sampled = GenerationParameters(
      maximumNewTokenCount: 16, temperature: 1.5, topK: 50, topP: 0.95, seed: 7,
      ignoresEndOfSequence: true)
    let once = try run(sampled)
    #expect(try run(sampled) == once)
    var other = sampled
    other.seed = 8
    #expect(try run(other) != once)
    #expect(once != Array(reference.generated.prefix(16)))
    var topK1 = sampled
    topK1.topK = 1
    #expect(try run(topK1) == Array(reference.generated.prefix(16)))
    var tinyP = sampled
    tinyP.topK = nil
    tinyP.topP = 1e-6
    #expect(try run(tinyP) == Array(reference.generated.prefix(16)))
  }

  @Test("the context limit is an error before any work, never a wrap")
  func contextLimit() throws {
    let model = try DecoderModel(contentsOf: DecoderModelTests.folder("llama"))
    let limit = model.configuration.maximumPositionCount
    #expect(limit == 96)
    let prompt = [Int](repeating: 5, count: 90)
    // 90 + 7 new tokens need 96 positions (the last token is not fed back): allowed.
    let fits = try model.generate(
      prompt: prompt,
      parameters: GenerationParameters(maximumNewTokenCount: 7, ignoresEndOfSequence: true))
    #expect(fits.tokens.count == 7)
    #expect {
      try model.generate(
        prompt: prompt,
        parameters: GenerationParameters(maximumNewTokenCount: 8, ignoresEndOfSequence: true))
    } throws: { error in
      let error = error as? TextGenerationError
      return error?.kind == .invalidRequest
        && error!.message.contains("max_position_embeddings") && error!.message.contains("97")
    }
    var cache = try model.makeCache()
    _ = try model.logits(for: [Int](repeating: 5, count: 96), cache: &cache)
    #expect(throws: TextGenerationError.self) { try model.logits(for: [5], cache: &cache) }
  }

  @Test("bad sampling parameters and token ids are errors naming the value")
  func badRequests() throws {
    let model = try DecoderModel(contentsOf: DecoderModelTests.folder("qwen2"))
    for parameters in [
      GenerationParameters(maximumNewTokenCount: 2, temperature: -1),
      GenerationParameters(maximumNewTokenCount: 2, temperature: 1, topK: 0),
      GenerationParameters(maximumNewTokenCount: 2, temperature: 1, topP: 1.5),
    ] {
      #expect(throws: TextGenerationError.self) {
        try model.generate(prompt: [3], parameters: parameters)
      }
    }
    var cache = try model.makeCache()
    #expect {
      try model.logits(for: [701], cache: &cache)
    } throws: { ($0 as? TextGenerationError)?.message.contains("701") == true }
  }
}

/// The sliding window is exercised: the fixtures decode past it, and without it the logits
/// differ once the sequence is longer than the window.
struct SlidingWindowTests {
  @Test(
    "Mistral and Gemma 2 without their window differ from transformers past 8 positions",
    arguments: ["mistral", "gemma2"])
  func windowMatters(name: String) throws {
    let reference = try DecoderModelTests.Reference(name)
    #expect(reference.prompt.count + reference.generated.count > 8 * 4)
    let folder = try ModelLoadingTests.copy(name) { config in
      config["sliding_window"] = nil
      config["layer_types"] = nil
      config["use_sliding_window"] = false
    }
    defer { try? FileManager.default.removeItem(at: folder) }
    let configuration = try ModelConfiguration(contentsOf: folder)
    #expect(configuration.layerWindows.allSatisfy { $0 == nil })
    let difference = try ModelLoadingTests.prefillLogits(folder, name)
    #expect(difference > 1e-3)
    print("\(name) without its window: prefill relative difference \(difference)")
  }
}
