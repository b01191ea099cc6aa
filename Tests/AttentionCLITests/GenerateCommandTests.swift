import Foundation
import Testing

/// `attention generate` on the tiny Llama of `Tests/Fixtures/TextGeneration/make_models.py`.
@Suite("attention generate: a decoder model from the command line")
struct GenerateCommandTests {
  static let llama = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent()
    .appending(path: "Fixtures/TextGeneration/models/llama").path

  @Test("greedy ids and the logits they were chosen from equal transformers' (the fixture's)")
  func greedyIDs() throws {
    let scratch = try ScratchDirectory()
    let result = try scratch.run([
      "generate", "--model", Self.llama, "--prompt",
      "The quick brown fox jumps over the lazy dog, and then", "--max-new-tokens", "28",
      "--ignore-eos", "--token-ids-output", "ids.json", "--logits-output", "logits.npy",
    ])
    try #require(result.status == 0, "\(result)")
    #expect(!result.standardOutput.isEmpty, "the continuation is streamed to standard output")
    let ids =
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: scratch.path("ids.json")))) as! [String: [Int]]
    #expect(
      ids["generated"] == [
        548, 548, 548, 548, 357, 357, 357, 357, 81, 357, 81, 357, 81, 357, 506, 357, 506, 81, 515,
        440, 277, 81, 515, 440, 142, 465, 548, 49,
      ])
    #expect(ids["prompt"]?.isEmpty == false)
    let logits = try scratch.read("logits.npy")
    #expect(logits.shape.first == 28 && logits.dtype == .float32)
    // Each generated id is the argmax of the logits row it was chosen from (greedy).
    let vocabulary = logits.shape[1]
    for (step, id) in (ids["generated"] ?? []).enumerated() {
      let row = logits.values[(step * vocabulary)..<((step + 1) * vocabulary)]
      #expect(row.indices.max { row[$0] < row[$1] }! - step * vocabulary == id, "step \(step)")
    }
  }

  @Test("beyond max_position_embeddings is one error line naming it")
  func contextLimit() throws {
    let scratch = try ScratchDirectory()
    let result = try scratch.run([
      "generate", "--model", Self.llama, "--prompt", "x", "--max-new-tokens", "200",
    ])
    #expect(result.status == 1)
    #expect(result.errorLines.count == 1, "\(result)")
    #expect(result.standardError.contains("max_position_embeddings"), "\(result)")
  }

  @Test("--prompt-ids decodes the ids given; --timings prints load, prefill and decode lines")
  func promptIDsAndTimings() throws {
    let scratch = try ScratchDirectory()
    let text = try scratch.run([
      "generate", "--model", Self.llama, "--prompt",
      "The quick brown fox jumps over the lazy dog, and then", "--max-new-tokens", "6",
      "--ignore-eos", "--token-ids-output", "text.json",
    ])
    try #require(text.status == 0, "\(text)")
    let fromText = try Self.ids(scratch.path("text.json"))
    let prompt = try #require(fromText["prompt"])
    let result = try scratch.run([
      "generate", "--model", Self.llama, "--prompt-ids",
      prompt.map(String.init).joined(separator: ","), "--max-new-tokens", "6", "--ignore-eos",
      "--token-ids-output", "ids.json", "--timings", "--timings-output", "timings.json",
    ])
    try #require(result.status == 0, "\(result)")
    #expect(try Self.ids(scratch.path("ids.json")) == fromText, "the same prompt, the same ids")
    #expect(result.standardOutput == text.standardOutput)
    let lines = result.errorLines
    #expect(lines.count == 4, "\(result)")
    let patterns = [
      #/^load: [0-9]+\.[0-9] ms$/#,
      #/^OpenBLAS: core \S+, [0-9]+ threads$/#,
      #/^prefill: [0-9]+ tokens, [0-9]+\.[0-9]{2} ms, [0-9]+\.[0-9] tokens\/s$/#,
      #/^decode: 5 tokens, median [0-9]+\.[0-9]{2} ms\/token \([0-9]+\.[0-9]{2}–[0-9]+\.[0-9]{2}\), [0-9]+\.[0-9] tokens\/s$/#,
    ]
    for (line, pattern) in zip(lines, patterns) {
      #expect(line.wholeMatch(of: pattern) != nil, "\(line)")
    }
    #expect(lines.dropFirst(2).first?.hasPrefix("prefill: \(prompt.count) tokens") == true)
    let timings =
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: scratch.path("timings.json"))))
      as! [String: Any]
    #expect(timings["prompt_tokens"] as? Int == prompt.count)
    #expect((timings["decode_ms"] as? [Double])?.count == 5)
    #expect((timings["prefill_ms"] as? Double ?? -1) > 0)
    #expect((timings["load_ms"] as? Double ?? -1) > 0)
  }

  @Test("the prompt is --prompt or --prompt-ids, exactly one; ids are integers ≥ 0")
  func promptChoice() throws {
    let scratch = try ScratchDirectory()
    for (arguments, fragment) in [
      ([String](), "--prompt or --prompt-ids"),
      (["--prompt", "x", "--prompt-ids", "1"], "not both"),
      (["--prompt-ids", "1,x"], "1,x"),
      (["--prompt-ids", "1,-2"], "integers ≥ 0"),
    ] {
      let result = try scratch.run(["generate", "--model", Self.llama] + arguments)
      expectOneLineError(result, status: 64, containing: [fragment])
    }
  }

  private static func ids(_ path: String) throws -> [String: [Int]] {
    try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
      as! [String: [Int]]
  }
}
