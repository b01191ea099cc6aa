import Foundation
import Testing
import TextGeneration

/// What the fixtures cannot show: tokens that `String` equality would confuse, and JSON
/// escapes in the vocabulary.
struct BytePairModelTests {
  @Test("tokens that differ only by normalization form keep their own ids")
  func canonicallyEquivalentTokens() throws {
    // "é" precomposed (U+00E9) and decomposed (e + U+0301) are equal as Swift Strings.
    let file = try TokenizerErrorTests.write(
      TokenizerErrorTests.document(
        model: #"""
          {"type": "BPE", "vocab": {"e": 0, "\u0301": 1, "e\u0301": 2, "\u00e9": 3, "x": 4},
           "merges": [["e", "\u0301"]]}
          """#))
    let tokenizer = try BPETokenizer(contentsOf: file)
    #expect(tokenizer.encode("\u{E9}x") == [3, 4])
    #expect(tokenizer.encode("e\u{301}x") == [2, 4])
    #expect(tokenizer.id(forToken: "\u{E9}") == 3)
    #expect(tokenizer.id(forToken: "e\u{301}") == 2)
    #expect(tokenizer.token(forID: 2).map { Array($0.unicodeScalars) } == ["e", "\u{301}"])
    #expect(tokenizer.vocabularySize == 5)
  }

  @Test("\\u escapes, surrogate pairs and raw UTF-8 in the vocabulary read as the same tokens")
  func jsonEscapes() throws {
    let file = try TokenizerErrorTests.write(
      TokenizerErrorTests.document(
        model: #"""
          {"type": "BPE", "vocab": {"\ud83d\ude00": 0, "😃": 1, "\"\\\/\n": 2}, "merges": []}
          """#))
    let tokenizer = try BPETokenizer(contentsOf: file)
    #expect(tokenizer.id(forToken: "😀") == 0)
    #expect(tokenizer.id(forToken: "😃") == 1)
    #expect(tokenizer.id(forToken: "\"\\/\n") == 2)
    #expect(tokenizer.encode("😀😃") == [0, 1])
  }

  @Test("without byte fallback or an unknown token, an unknown character is dropped")
  func droppedCharacter() throws {
    let file = try TokenizerErrorTests.write(TokenizerErrorTests.document())
    let tokenizer = try BPETokenizer(contentsOf: file)
    // Its neighbours then merge, as in tokenizers ([2] there too).
    #expect(tokenizer.encode("azb") == [2])
    #expect(tokenizer.encode("zzz").isEmpty)
  }
}
