import Foundation
import Testing
import TextGeneration

/// Fed one id at a time, the streaming decoder returns exactly the full decoding, in pieces
/// that never end inside a character.
struct StreamingDecoderTests {
  /// Feeds every id and returns the pieces, `finish()`'s last.
  private func stream(_ ids: [Int], _ tokenizer: BPETokenizer, skipping: Bool) -> [String] {
    var decoder = StreamingDecoder(tokenizer: tokenizer, skippingSpecialTokens: skipping)
    var pieces = ids.map { decoder.append($0) }
    pieces.append(decoder.finish())
    return pieces
  }

  @Test(
    "pieces concatenate to the full decoding, with and without special tokens",
    arguments: TokenizerFixtures.styles + TokenizerFixtures.variants)
  func reproducesFullDecoding(style: String) throws {
    let tokenizer = try TokenizerFixtures.tokenizer(style)
    for test in try TokenizerFixtures.expected(style).cases {
      for skipping in [false, true] {
        let streamed = stream(test.ids, tokenizer, skipping: skipping).joined()
        let full = tokenizer.decode(test.ids, skippingSpecialTokens: skipping)
        #expect(
          sameScalars(streamed, full),
          "\(style) \"\(visible(test.text))\" skipping \(skipping): \(firstDifference(streamed, full))"
        )
      }
    }
  }

  @Test(
    "a character split across tokens is held back until complete",
    arguments: ["gpt2", "llama3", "qwen2", "mistral", "gemma2"])
  func holdsIncompleteCharacters(style: String) throws {
    let tokenizer = try TokenizerFixtures.tokenizer(style)
    var held = 0
    for test in try TokenizerFixtures.expected(style).cases where !test.text.contains("\u{FFFD}") {
      let pieces = stream(test.idsWithoutSpecialTokens, tokenizer, skipping: false)
      for piece in pieces {
        #expect(!piece.unicodeScalars.contains("\u{FFFD}"), "\(style) \"\(visible(test.text))\"")
      }
      held += pieces.dropLast().filter(\.isEmpty).count
    }
    // Byte-level tokens and byte-fallback tokens cut the CJK, emoji and rare characters.
    #expect(held > 0)
  }

  @Test("bytes that never form a character come out as U+FFFD, by finish() if at the end")
  func invalidBytes() throws {
    let tokenizer = try TokenizerFixtures.tokenizer("mistral")
    let leadByte = try #require(tokenizer.id(forToken: "<0xE6>"))
    let letter = try #require(tokenizer.id(forToken: "a"))
    var decoder = StreamingDecoder(tokenizer: tokenizer)
    #expect(decoder.append(letter) == "a")
    #expect(decoder.append(leadByte) == "")
    #expect(decoder.append(letter) == "\u{FFFD}a")
    #expect(decoder.append(leadByte) == "")
    #expect(decoder.finish() == "\u{FFFD}")
    #expect(decoder.ids == [letter, leadByte, letter, leadByte])
  }

  @Test("a three-byte character sent as three byte-fallback tokens comes out once, whole")
  func byteFallbackCharacter() throws {
    let tokenizer = try TokenizerFixtures.tokenizer("mistral")
    let bytes = Array("☃".utf8)
    let ids = try bytes.map { byte in
      try #require(tokenizer.id(forToken: "<0x" + String(byte, radix: 16, uppercase: true) + ">"))
    }
    var decoder = StreamingDecoder(tokenizer: tokenizer)
    #expect(ids.map { decoder.append($0) } == ["", "", "☃"])
    #expect(decoder.finish() == "")
  }

  @Test("the Metaspace decoder's first-token rule applies once, as in the full decoding")
  func leadingSpace() throws {
    let tokenizer = try TokenizerFixtures.tokenizer("llama2-metaspace")
    let ids = tokenizer.encode("Hello world and more", addingSpecialTokens: false)
    var decoder = StreamingDecoder(tokenizer: tokenizer)
    let pieces = ids.map { decoder.append($0) } + [decoder.finish()]
    #expect(pieces.joined() == "Hello world and more")
    #expect(pieces.first { !$0.isEmpty }?.hasPrefix("H") == true)
  }
}
