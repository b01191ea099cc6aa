import Foundation
import Testing
import TextGeneration

/// The ids and decodings of every fixture string equal what `tokenizers` gave, for every style.
struct BPETokenizerTests {
  @Test("ids with special tokens equal tokenizers'", arguments: TokenizerFixtures.styles)
  func idsWithSpecialTokens(style: String) throws {
    let tokenizer = try TokenizerFixtures.tokenizer(style)
    let expected = try TokenizerFixtures.expected(style)
    #expect(expected.cases.count >= 50)
    for test in expected.cases {
      let ids = tokenizer.encode(test.text)
      let tokens = ids.map { tokenizer.token(forID: $0) ?? "?" }
      #expect(
        ids == test.ids,
        "\(style) \"\(visible(test.text))\": tokens \(tokens) expected \(test.tokens)")
    }
  }

  @Test("ids without special tokens equal tokenizers'", arguments: TokenizerFixtures.styles)
  func idsWithoutSpecialTokens(style: String) throws {
    let tokenizer = try TokenizerFixtures.tokenizer(style)
    for test in try TokenizerFixtures.expected(style).cases {
      let ids = tokenizer.encode(test.text, addingSpecialTokens: false)
      #expect(ids == test.idsWithoutSpecialTokens, "\(style) \"\(visible(test.text))\"")
    }
  }

  @Test(
    "decoding equals tokenizers', with and without special tokens",
    arguments: TokenizerFixtures.styles)
  func decoding(style: String) throws {
    let tokenizer = try TokenizerFixtures.tokenizer(style)
    for test in try TokenizerFixtures.expected(style).cases {
      let decoded = tokenizer.decode(test.ids)
      let skipping = tokenizer.decode(test.ids, skippingSpecialTokens: true)
      #expect(
        sameScalars(decoded, test.decoded),
        "\(style) \"\(visible(test.text))\": \"\(visible(decoded))\"")
      #expect(
        sameScalars(skipping, test.decodedSkippingSpecialTokens),
        "\(style) \"\(visible(test.text))\" skipping special tokens: \"\(visible(skipping))\"")
    }
  }

  @Test(
    "decoding every prefix of a non-ASCII encoding equals tokenizers' (U+FFFD included)",
    arguments: TokenizerFixtures.styles)
  func prefixDecoding(style: String) throws {
    let tokenizer = try TokenizerFixtures.tokenizer(style)
    var checked = 0
    for test in try TokenizerFixtures.expected(style).cases {
      guard let prefixes = test.prefixDecodings else { continue }
      for (count, expected) in zip(1..., prefixes) {
        let decoded = tokenizer.decode(Array(test.idsWithoutSpecialTokens.prefix(count)))
        #expect(
          sameScalars(decoded, expected),
          "\(style) \"\(visible(test.text))\" first \(count) ids: \"\(visible(decoded))\"")
        checked += 1
      }
    }
    #expect(checked > 100)
  }

  @Test(
    "decoding ids no encoding gives (all ids, reversed, out of range) equals tokenizers'",
    arguments: TokenizerFixtures.styles)
  func arbitraryDecoding(style: String) throws {
    let tokenizer = try TokenizerFixtures.tokenizer(style)
    for test in try TokenizerFixtures.expected(style).decodings {
      let decoded = tokenizer.decode(test.ids)
      let skipping = tokenizer.decode(test.ids, skippingSpecialTokens: true)
      #expect(
        sameScalars(decoded, test.decoded),
        "\(style) \(test.ids.prefix(8))…: \(firstDifference(decoded, test.decoded))")
      let difference = firstDifference(skipping, test.decodedSkippingSpecialTokens)
      #expect(
        sameScalars(skipping, test.decodedSkippingSpecialTokens),
        "\(style) \(test.ids.prefix(8))… skipping special tokens: \(difference)")
    }
  }

  @Test(
    "split behaviors, inversion, Metaspace splitting and normalizers match tokenizers",
    arguments: TokenizerFixtures.variants)
  func variant(style: String) throws {
    let tokenizer = try TokenizerFixtures.tokenizer(style)
    let expected = try TokenizerFixtures.expected(style)
    #expect(expected.cases.count >= 50)
    for test in expected.cases {
      let ids = tokenizer.encode(test.text)
      let tokens = ids.map { tokenizer.token(forID: $0) ?? "?" }
      #expect(
        ids == test.ids,
        "\(style) \"\(visible(test.text))\": tokens \(tokens) expected \(test.tokens)")
      #expect(
        tokenizer.encode(test.text, addingSpecialTokens: false) == test.idsWithoutSpecialTokens)
      let decoded = tokenizer.decode(ids)
      #expect(
        sameScalars(decoded, test.decoded),
        "\(style) \"\(visible(test.text))\": \(firstDifference(decoded, test.decoded))")
    }
  }

  @Test(
    "encoding then decoding without special tokens gives the text back (byte-level styles)",
    arguments: ["gpt2", "llama3"])
  func roundTrip(style: String) throws {
    let tokenizer = try TokenizerFixtures.tokenizer(style)
    // Tokens with `lstrip` or `rstrip` swallow the spaces beside them, by design.
    let cases = try TokenizerFixtures.expected(style).cases.filter {
      !$0.text.contains("<mask>") && !$0.text.contains("<|reserved_special_token_0|>")
    }
    for test in cases {
      let ids = tokenizer.encode(test.text, addingSpecialTokens: false)
      #expect(sameScalars(tokenizer.decode(ids), test.text), "\(style) \"\(visible(test.text))\"")
    }
  }

  @Test("BOS and EOS ids come from the template and tokenizer_config.json")
  func specialTokenIDs() throws {
    let expectations: [(style: String, bos: String?, eos: String)] = [
      ("gpt2", nil, "<|endoftext|>"),
      ("llama3", "<|begin_of_text|>", "<|eot_id|>"),
      ("qwen2", nil, "<|im_end|>"),
      ("mistral", "<s>", "</s>"),
      ("llama2-metaspace", "<s>", "</s>"),
      ("gemma2", "<bos>", "<end_of_turn>"),
    ]
    for (style, bos, eos) in expectations {
      let tokenizer = try TokenizerFixtures.tokenizer(style)
      #expect(tokenizer.bosTokenID == bos.flatMap { tokenizer.id(forToken: $0) }, "\(style)")
      #expect(tokenizer.eosTokenID == tokenizer.id(forToken: eos), "\(style)")
      #expect(tokenizer.eosTokenID.map { tokenizer.specialTokenIDs.contains($0) } == true)
      if let bos {
        #expect(tokenizer.encode("x").first == tokenizer.id(forToken: bos), "\(style)")
      }
    }
  }

  @Test("a tokenizer.json file alone has no EOS; vocabulary size counts the added tokens")
  func fileWithoutConfiguration() throws {
    let file = TokenizerFixtures.modelFolder("llama3").appending(path: "tokenizer.json")
    let tokenizer = try BPETokenizer(contentsOf: file)
    #expect(tokenizer.eosTokenID == nil)
    #expect(tokenizer.bosTokenID == tokenizer.id(forToken: "<|begin_of_text|>"))
    #expect(tokenizer.vocabularySize == 703)
    #expect(tokenizer.token(forID: tokenizer.vocabularySize) == nil)
    #expect(
      tokenizer.id(forToken: "<|eot_id|>").flatMap { tokenizer.token(forID: $0) } == "<|eot_id|>")
  }

  @Test("the GPT-2 file writes merges as \"a b\" strings, the others as [a, b] arrays")
  func mergeForms() throws {
    func firstMerge(_ style: String) throws -> Any? {
      let data = try Data(
        contentsOf: TokenizerFixtures.modelFolder(style).appending(path: "tokenizer.json"))
      let document = try JSONSerialization.jsonObject(with: data) as? [String: Any]
      let model = document?["model"] as? [String: Any]
      return (model?["merges"] as? [Any])?.first
    }
    #expect(try firstMerge("gpt2") is String)
    #expect(try firstMerge("mistral") is [String])
    #expect(try firstMerge("llama3") is [String])
  }

  @Test("encoding a few kilobytes takes milliseconds")
  func speed() throws {
    let tokenizer = try TokenizerFixtures.tokenizer("llama3")
    let texts = try TokenizerFixtures.expected("llama3").cases.map(\.text)
    var text = ""
    while text.utf8.count < 8192 { text += texts.joined(separator: " ") }
    let clock = ContinuousClock()
    var ids: [Int] = []
    let elapsed = clock.measure { ids = tokenizer.encode(text) }
    #expect(ids.count > 1000)
    // Generous for a debug build on a shared 2-core machine; a release build takes ~5 ms.
    #expect(elapsed < .seconds(2))
  }
}
