import Foundation
import Testing

/// `attention generate` on the tiny Llama of `Tests/Fixtures/TextGeneration/make_models.py`.
@Suite("attention generate: a decoder model from the command line")
struct GenerateCommandTests {
  static let llama = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent()
    .appending(path: "Fixtures/TextGeneration/models/llama").path

  @Test("greedy ids equal transformers' (the fixture's first 28 greedy ids)")
  func greedyIDs() throws {
    let scratch = try ScratchDirectory()
    let result = try scratch.run([
      "generate", "--model", Self.llama, "The quick brown fox jumps over the lazy dog, and then",
      "--max-tokens", "28", "--ignore-eos", "--ids",
    ])
    try #require(result.status == 0, "\(result)")
    #expect(
      result.standardOutput
        == "548 548 548 548 357 357 357 357 81 357 81 357 81 357 506 357 506 81 515 440 277 81 515 440 142 465 548 49\n"
    )
  }

  @Test("beyond max_position_embeddings is one error line naming it")
  func contextLimit() throws {
    let scratch = try ScratchDirectory()
    let result = try scratch.run(["generate", "--model", Self.llama, "x", "--max-tokens", "200"])
    #expect(result.status == 1)
    #expect(result.errorLines.count == 1, "\(result)")
    #expect(result.standardError.contains("max_position_embeddings"), "\(result)")
  }
}
