import Foundation

/// BERT's WordPiece tokenizer: text → token ids `[CLS] … [SEP]`, as the uncased BERT models
/// and all-MiniLM-L6-v2 expect them.
///
/// ```swift
/// let tokenizer = try WordPieceTokenizer(vocabularyFile: modelFolder.appending(path: "vocab.txt"))
/// tokenizer.encode("Hello, world!")  // [101, 7592, 1010, 2088, 999, 102]
/// ```
///
/// Encoding runs three stages:
/// 1. Special tokens written in the text (`[CLS]`, `[SEP]`, `[MASK]`, `[UNK]`, `[PAD]`, exact
///    case) are cut out first and kept as they are, as Hugging Face's tokenizer does.
/// 2. The rest goes through BERT's basic tokenisation (cleaning, CJK splitting, accent
///    stripping, lower-casing, whitespace and punctuation splitting; see ``Options``).
/// 3. Each word becomes word pieces by greedy longest match from its start, pieces after the
///    first looked up with the `##` continuation prefix. A word longer than
///    ``Options/maximumCharactersPerWord`` scalars, or one a piece cannot be found for, becomes a
///    single `[UNK]`.
///
/// The ids are then truncated to ``Options/maximumTokenCount`` − 2 and wrapped in `[CLS]` and
/// `[SEP]`, so no sequence is longer than ``Options/maximumTokenCount``.
public struct WordPieceTokenizer: Sendable {
  /// How text is normalised and how long a sequence may be.
  public struct Options: Sendable, Equatable {
    /// Whether text is lower-cased (BERT "uncased" models: `true`).
    public var lowercases: Bool
    /// Whether accents are stripped (NFD, then non-spacing marks dropped); `nil` follows
    /// ``lowercases``, as BERT's `strip_accents = None` does.
    public var stripsAccents: Bool?
    /// Whether every CJK ideograph becomes a word of its own.
    public var splitsCJKCharacters: Bool
    /// Words with more Unicode scalars than this become `[UNK]` (BERT: 100).
    public var maximumCharactersPerWord: Int
    /// The longest sequence produced, `[CLS]` and `[SEP]` included (all-MiniLM-L6-v2: 256).
    public var maximumTokenCount: Int

    /// Creates options; the defaults are those of all-MiniLM-L6-v2 and uncased BERT.
    public init(
      lowercases: Bool = true, stripsAccents: Bool? = nil, splitsCJKCharacters: Bool = true,
      maximumCharactersPerWord: Int = 100, maximumTokenCount: Int = 256
    ) {
      self.lowercases = lowercases
      self.stripsAccents = stripsAccents
      self.splitsCJKCharacters = splitsCJKCharacters
      self.maximumCharactersPerWord = maximumCharactersPerWord
      self.maximumTokenCount = maximumTokenCount
    }
  }

  /// The vocabulary the ids refer to.
  public let vocabulary: WordPieceVocabulary
  /// How text is normalised and truncated.
  public let options: Options
  /// The id of `[CLS]`, which starts every sequence.
  public let classID: Int
  /// The id of `[SEP]`, which ends every sequence.
  public let separatorID: Int
  /// The id of `[UNK]`, which stands for a word no pieces can spell.
  public let unknownID: Int
  /// The id of `[PAD]`, which fills batches up to their longest sequence.
  public let paddingID: Int

  private let normalizer: BertTextNormalizer
  /// The special tokens recognised in raw text, longest first, with their ids.
  private let specialTokens: [(scalars: [Unicode.Scalar], id: Int)]

  /// The special tokens BERT's vocabulary defines.
  public static let specialTokenNames = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

  /// Creates a tokenizer from a vocabulary.
  ///
  /// - Parameters:
  ///   - vocabulary: the tokens and their ids.
  ///   - options: normalisation and length; the defaults suit all-MiniLM-L6-v2.
  /// - Throws: ``SentenceEmbeddingError`` when the vocabulary lacks `[CLS]`, `[SEP]`, `[UNK]` or
  ///   `[PAD]`, or when `maximumTokenCount < 2` or `maximumCharactersPerWord < 1`.
  public init(vocabulary: WordPieceVocabulary, options: Options = Options()) throws {
    func required(_ name: String) throws -> Int {
      guard let id = vocabulary.id(for: name) else {
        throw SentenceEmbeddingError(
          .invalidVocabulary, "the vocabulary (\(vocabulary.count) tokens) has no \(name) token")
      }
      return id
    }
    guard options.maximumTokenCount >= 2 else {
      throw SentenceEmbeddingError(
        .invalidArgument,
        "maximumTokenCount is \(options.maximumTokenCount) but [CLS] and [SEP] need 2")
    }
    guard options.maximumCharactersPerWord >= 1 else {
      throw SentenceEmbeddingError(
        .invalidArgument,
        "maximumCharactersPerWord is \(options.maximumCharactersPerWord) but must be at least 1")
    }
    self.vocabulary = vocabulary
    self.options = options
    classID = try required("[CLS]")
    separatorID = try required("[SEP]")
    unknownID = try required("[UNK]")
    paddingID = try required("[PAD]")
    normalizer = BertTextNormalizer(
      lowercases: options.lowercases, stripsAccents: options.stripsAccents ?? options.lowercases,
      splitsCJKCharacters: options.splitsCJKCharacters)
    specialTokens = Self.specialTokenNames.compactMap { name in
      vocabulary.id(for: name).map { (Array(name.unicodeScalars), $0) }
    }.sorted { $0.scalars.count > $1.scalars.count }
  }

  /// Reads `vocab.txt` and creates a tokenizer from it.
  ///
  /// - Throws: ``SentenceEmbeddingError`` naming the file when it is missing or unreadable, or
  ///   lacks a required special token.
  public init(vocabularyFile: URL, options: Options = Options()) throws {
    let vocabulary = try WordPieceVocabulary(contentsOf: vocabularyFile)
    do {
      try self.init(vocabulary: vocabulary, options: options)
    } catch let error as SentenceEmbeddingError where error.kind == .invalidVocabulary {
      throw SentenceEmbeddingError(
        .invalidVocabulary, file: vocabularyFile.path,
        "vocabulary file \(vocabularyFile.path): \(error.message)")
    }
  }

  /// The token ids of `text`: `[CLS]`, its word pieces (truncated), `[SEP]`.
  ///
  /// - Returns: between 2 and ``Options/maximumTokenCount`` ids.
  /// - Complexity: O(n · w) for n scalars and words of at most w scalars (w ≤ 100).
  public func encode(_ text: String) -> [Int] {
    var ids = [classID]
    ids.append(contentsOf: pieceIDs(text).prefix(options.maximumTokenCount - 2))
    ids.append(separatorID)
    return ids
  }

  /// The word pieces of `text` as strings, without `[CLS]`, `[SEP]` or truncation.
  ///
  /// - Complexity: O(n · w) for n scalars and words of at most w scalars.
  public func tokens(in text: String) -> [String] {
    pieceIDs(text).map { vocabulary.tokens[$0] }
  }

  /// The ids of the word pieces of `text`, special tokens in it kept, no truncation.
  func pieceIDs(_ text: String) -> [Int] {
    var ids = [Int]()
    let scalars = text.unicodeScalars
    var segmentStart = scalars.startIndex
    var index = scalars.startIndex
    while index < scalars.endIndex {
      // Special tokens all start with "[", which keeps this check cheap.
      if scalars[index] == "[", let (id, end) = specialToken(at: index, in: scalars) {
        appendWordPieces(of: scalars[segmentStart..<index], to: &ids)
        ids.append(id)
        segmentStart = end
        index = end
      } else {
        index = scalars.index(after: index)
      }
    }
    appendWordPieces(of: scalars[segmentStart...], to: &ids)
    return ids
  }

  /// The special token starting at `index`, the longest one if several match, and its end.
  private func specialToken(
    at index: String.UnicodeScalarView.Index, in scalars: String.UnicodeScalarView
  ) -> (id: Int, end: String.UnicodeScalarView.Index)? {
    for special in specialTokens {
      var position = index
      var matched = true
      for expected in special.scalars {
        guard position < scalars.endIndex, scalars[position] == expected else {
          matched = false
          break
        }
        position = scalars.index(after: position)
      }
      if matched { return (special.id, position) }
    }
    return nil
  }

  /// Normalises `segment`, splits it into words and appends each word's pieces.
  ///
  /// The segment is a slice of scalars, not a `Substring`: a special token's end need not fall on
  /// a `Character` boundary (`[MASK]` followed by a combining mark), and `String` slicing would
  /// round it.
  private func appendWordPieces(of segment: Substring.UnicodeScalarView, to ids: inout [Int]) {
    guard !segment.isEmpty else { return }
    for word in normalizer.words(in: segment) {
      appendPieces(of: word, to: &ids)
    }
  }

  /// Greedy longest-match WordPiece for one word; the whole word is `[UNK]` when it is too long
  /// or some remainder has no piece.
  private func appendPieces(of word: [UInt32], to ids: inout [Int]) {
    guard word.count <= options.maximumCharactersPerWord else {
      ids.append(unknownID)
      return
    }
    let firstPiece = ids.count
    var start = 0
    while start < word.count {
      var end = word.count
      var found: Int?
      while end > start {
        if let id = vocabulary.pieceID(word[start..<end], continuing: start > 0) {
          found = id
          break
        }
        end -= 1
      }
      guard let id = found else {
        ids.removeSubrange(firstPiece...)
        ids.append(unknownID)
        return
      }
      ids.append(id)
      start = end
    }
  }
}
