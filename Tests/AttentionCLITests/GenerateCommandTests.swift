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
}
