import SentenceEmbedding

/// A tokenizer over a small vocabulary: the special tokens, whole words, `##` continuation
/// pieces, accented, CJK and punctuation entries, so that every branch of the WordPiece search
/// and of the text normaliser is reachable from fuzzed text.
let fuzzTokenizer: WordPieceTokenizer = {
  let tokens = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "a", "un", "##aff", "##able", "hello",
    "##s", "##ing", "run", "cafe", "é", "中", "文", ",", ".", "!", "'", "x", "##x", "1", "##2",
  ]
  do {
    return try WordPieceTokenizer(
      vocabulary: WordPieceVocabulary(tokens: tokens),
      options: .init(maximumCharactersPerWord: 12, maximumTokenCount: 64))
  } catch {
    preconditionFailure("the fuzz vocabulary is invalid: \(error)")
  }
}()

/// The tokenizer's contract on any text (the bytes read as UTF-8, invalid sequences replaced):
/// `[CLS] pieces… [SEP]`, at most `maximumTokenCount` ids, every id in the vocabulary, and the
/// pieces are those ``WordPieceTokenizer/tokens(in:)`` names.
func checkTokenizer(_ bytes: [UInt8]) {
  let text = String(decoding: bytes, as: UTF8.self)
  let tokenizer = fuzzTokenizer
  let ids = tokenizer.encode(text)
  precondition(ids.count >= 2 && ids.count <= tokenizer.options.maximumTokenCount, "\(ids)")
  precondition(ids.first == tokenizer.classID && ids.last == tokenizer.separatorID, "\(ids)")
  precondition(ids.allSatisfy { tokenizer.vocabulary.token(for: $0) != nil }, "\(ids)")
  let pieces = tokenizer.tokens(in: text).prefix(tokenizer.options.maximumTokenCount - 2)
  precondition(
    pieces.map { tokenizer.vocabulary.id(for: $0) } == ids.dropFirst().dropLast().map { $0 },
    "encode and tokens(in:) disagree")
}
