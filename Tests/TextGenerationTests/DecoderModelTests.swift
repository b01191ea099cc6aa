import Attention
import Foundation
import Testing
import TextGeneration

/// The tiny random models of `Tests/Fixtures/TextGeneration/make_models.py` against
/// transformers' logits (eager attention, float32) for a greedy decode of 28 steps.
struct DecoderModelTests {
  static let models = ["llama", "qwen2", "mistral", "gemma2"]

  static func folder(_ name: String) -> URL {
    TokenizerFixtures.folder.appending(path: "models").appending(path: name)
  }

  /// The prompt, the greedy ids and the logits before each of them.
  struct Reference {
    var prompt: [Int]
    var generated: [Int]
    var logits: Tensor<Float>

    init(_ name: String) throws {
      let file = try SafetensorsFile.read(
        from: DecoderModelTests.folder(name).appending(path: "reference.safetensors").path)
      prompt = try file.integer(named: "prompt_ids").scalars.map { Int($0) }
      generated = try file.integer(named: "generated_ids").scalars.map { Int($0) }
      logits = try file.floatingPoint(named: "logits", as: Float.self)
    }

    func logits(step: Int) -> [Float] {
      let v = logits.shape[1]
      return Array(logits.scalars[(step * v)..<((step + 1) * v)])
    }
  }

  /// `max |a − b| / max(1, max |b|)`.
  static func relativeDifference(_ a: [Float], _ b: [Float]) -> Float {
    let scale = max(1, b.map(abs).max() ?? 0)
    return zip(a, b).map { abs($0 - $1) }.max()! / scale
  }

  static func argmax(_ values: [Float]) -> Int {
    values.indices.max { values[$0] < values[$1] }!
  }

  @Test(
    "every step's logits within 1e-4 (relative to the largest) of transformers', same greedy ids",
    arguments: models)
  func matchesTransformers(name: String) throws {
    let model = try DecoderModel(contentsOf: Self.folder(name))
    let reference = try Reference(name)
    #expect(reference.generated.count >= 24)
    var cache = try model.makeCache()
    var logits = try model.logits(for: reference.prompt, cache: &cache)
    var worst: Float = 0
    for (step, expected) in reference.generated.enumerated() {
      let difference = Self.relativeDifference(logits, reference.logits(step: step))
      worst = max(worst, difference)
      #expect(difference < 1e-4, "\(name) step \(step): relative difference \(difference)")
      let token = Self.argmax(logits)
      try #require(
        token == expected, "\(name) step \(step): greedy id \(token), expected \(expected)")
      logits = try model.logits(for: [token], cache: &cache)
    }
    print(
      "\(name): \(reference.generated.count) greedy steps matched, worst relative logit difference \(worst)"
    )
  }

  @Test("decoding through the cache equals recomputing the whole sequence", arguments: models)
  func cacheEqualsRecomputation(name: String) throws {
    let model = try DecoderModel(contentsOf: Self.folder(name))
    let reference = try Reference(name)
    var cache = try model.makeCache()
    var sequence = reference.prompt
    _ = try model.logits(for: sequence, cache: &cache)
    var worst: Float = 0
    for token in reference.generated.prefix(20) {
      let decoded = try model.logits(for: [token], cache: &cache)
      sequence.append(token)
      var fresh = try model.makeCache()
      let recomputed = try model.logits(for: sequence, cache: &fresh)
      worst = max(worst, Self.relativeDifference(decoded, recomputed))
    }
    #expect(worst < 1e-5, "\(name): cached vs recomputed relative difference \(worst)")
    print("\(name): 20 decode steps, worst cached vs recomputed relative difference \(worst)")
  }

  @Test(
    "one pass over the whole sequence without decoding gives every step's logits",
    arguments: models)
  func allPositionsInOnePass(name: String) throws {
    let model = try DecoderModel(contentsOf: Self.folder(name))
    let reference = try Reference(name)
    var cache = try model.makeCache()
    let sequence = reference.prompt + reference.generated.dropLast()
    let logits = try model.allLogits(for: sequence, cache: &cache)
    let v = model.configuration.vocabularySize
    #expect(logits.shape == [sequence.count, v])
    var worst: Float = 0
    for step in reference.generated.indices {
      let row = reference.prompt.count - 1 + step
      let values = Array(logits.scalars[(row * v)..<((row + 1) * v)])
      worst = max(worst, Self.relativeDifference(values, reference.logits(step: step)))
    }
    #expect(worst < 1e-4, "\(name): worst relative difference \(worst)")
    print(
      "\(name): one pass, \(reference.generated.count) rows, worst relative difference \(worst)")
  }
}
