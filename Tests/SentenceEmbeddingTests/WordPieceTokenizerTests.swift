import Foundation
import Testing

@testable import SentenceEmbedding

@Suite struct WordPieceTokenizerTests {
  @Test(
    "ids equal the reference tokenizer's for every committed sentence",
    MiniLMFixtures.requiresModel)
  func matchesReference() throws {
    let tokenizer = try WordPieceTokenizer(
      vocabularyFile: MiniLMFixtures.requireModelFolder().appending(path: "vocab.txt"))
    let reference = try MiniLMFixtures.reference()
    #expect(reference.tokenizer.count >= 40)
    for entry in reference.tokenizer {
      let ids = tokenizer.encode(entry.text)
      #expect(
        ids == entry.ids,
        "\(entry.text.debugDescription): \(ids.map { tokenizer.vocabulary.tokens[$0] }) vs \(entry.ids.map { tokenizer.vocabulary.tokens[$0] })"
      )
    }
  }
}

/// Rules checked on a small hand-written vocabulary, without the model.
@Suite struct WordPieceRuleTests {
  static let tokens = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "##a", "aff", "able",
    ",", "!", "中", "hello", "cafe", "$", "##s", "é",
  ]
  let tokenizer: WordPieceTokenizer

  init() throws {
    tokenizer = try WordPieceTokenizer(vocabulary: WordPieceVocabulary(tokens: Self.tokens))
  }

  func pieces(_ text: String) -> [String] { tokenizer.tokens(in: text) }

  @Test("greedy longest match from the start of the word, ## for the rest")
  func greedyLongestMatch() {
    #expect(pieces("unaffable") == ["un", "##aff", "##able"])
    #expect(pieces("affable") == ["aff", "##able"])
    // No piece spells "##x": the whole word, not just the rest, becomes [UNK].
    #expect(pieces("unaffablex") == ["[UNK]"])
  }

  @Test("punctuation, CJK ideographs and ASCII symbols become words of their own")
  func splitting() {
    #expect(pieces("hello,hello!") == ["hello", ",", "hello", "!"])
    #expect(pieces("hello中hello") == ["hello", "中", "hello"])
    #expect(pieces("$hello") == ["$", "hello"])
  }

  @Test("lower-casing and accent stripping; without them accents stay")
  func normalisation() throws {
    #expect(pieces("HeLLo CAFÉ Café") == ["hello", "cafe", "cafe"])
    let cased = try WordPieceTokenizer(
      vocabulary: WordPieceVocabulary(tokens: Self.tokens),
      options: .init(lowercases: false))
    #expect(cased.tokens(in: "é hello") == ["é", "hello"])
    #expect(cased.tokens(in: "Hello") == ["[UNK]"])
  }

  @Test("special tokens written in the text are kept whole, exact case only")
  func specialTokens() {
    #expect(pieces("hello[MASK]hello") == ["hello", "[MASK]", "hello"])
    #expect(pieces("[mask]") == ["[UNK]", "[UNK]", "[UNK]"])  // "[", "mask", "]"
    #expect(pieces("[MASK]\u{301}x") == ["[MASK]", "[UNK]"])  // the mark is stripped from "x"
  }

  @Test("a word longer than the limit is one [UNK]")
  func longWord() throws {
    let limited = try WordPieceTokenizer(
      vocabulary: WordPieceVocabulary(tokens: Self.tokens),
      options: .init(maximumCharactersPerWord: 8))
    #expect(limited.tokens(in: "unaffable affable") == ["[UNK]", "aff", "##able"])
  }

  @Test("truncation keeps [CLS] and [SEP] within maximumTokenCount")
  func truncation() throws {
    let short = try WordPieceTokenizer(
      vocabulary: WordPieceVocabulary(tokens: Self.tokens), options: .init(maximumTokenCount: 4))
    #expect(short.encode("hello cafe hello cafe") == [2, 14, 15, 3])
    #expect(short.encode("") == [2, 3])
  }

  @Test("a vocabulary without [CLS] is rejected, naming the token")
  func missingSpecialToken() {
    #expect {
      try WordPieceTokenizer(vocabulary: WordPieceVocabulary(tokens: ["[PAD]", "[UNK]", "[SEP]"]))
    } throws: { error in
      let error = error as? SentenceEmbeddingError
      return error?.kind == .invalidVocabulary && error?.message.contains("[CLS]") == true
    }
  }

  @Test("vocab.txt: CRLF line ends are accepted; missing and non-UTF-8 files name the file")
  func vocabularyFiles() throws {
    let folder = FileManager.default.temporaryDirectory.appending(
      path: "wordpiece-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }

    let crlf = folder.appending(path: "crlf.txt")
    try Data(Self.tokens.joined(separator: "\r\n").utf8).write(to: crlf)
    let vocabulary = try WordPieceVocabulary(contentsOf: crlf)
    #expect(vocabulary.tokens == Self.tokens)

    let missing = folder.appending(path: "absent.txt")
    #expect {
      try WordPieceVocabulary(contentsOf: missing)
    } throws: { error in
      let error = error as? SentenceEmbeddingError
      return error?.kind == .missingFile && error?.message.contains(missing.path) == true
    }

    let broken = folder.appending(path: "broken.txt")
    try Data([0x61, 0x0A, 0xFF, 0xFE, 0x0A]).write(to: broken)
    #expect {
      try WordPieceVocabulary(contentsOf: broken)
    } throws: { error in
      let error = error as? SentenceEmbeddingError
      return error?.kind == .unreadableFile && error?.message.contains("line 2") == true
        && error?.file == broken.path
    }
  }

  @Test("tokens are matched by scalars: a decomposed é does not find the precomposed one")
  func scalarMatching() throws {
    let vocabulary = WordPieceVocabulary(tokens: Self.tokens)
    #expect(vocabulary.id(for: "\u{E9}") == 18)
    #expect(vocabulary.id(for: "e\u{301}") == nil)
  }
}
