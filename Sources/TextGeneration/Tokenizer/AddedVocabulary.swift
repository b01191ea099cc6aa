/// One entry of `tokenizer.json`'s `added_tokens`: a token matched in the text before any
/// pre-tokenization, as a whole, and never split by the model.
struct AddedToken: Sendable {
  var id: Int
  var content: String
  /// A special token (`<s>`, `<|eot_id|>`) is dropped when decoding skips special tokens.
  var isSpecial: Bool
  /// Matches only where no word character touches it on either side.
  var isSingleWord: Bool
  /// Swallows the whitespace on its left.
  var stripsLeft: Bool
  /// Swallows the whitespace on its right.
  var stripsRight: Bool
  /// Matched in the normalized text, by its own normalized content; otherwise matched in the
  /// raw text first.
  var isNormalized: Bool
  /// What the token decodes from: its content, normalized if ``isNormalized`` (tokenizers'
  /// `id_to_token` gives `▁<x>` for a normalized `<x>` under Llama 2's `Prepend("▁")`).
  var decodedContent = ""
}

/// A piece of the input after the added tokens are found: either text for the model, with its
/// UTF-8 offset in the string it was cut from, or an added token's id.
enum AddedTokenSegment: Equatable {
  case text(String, offset: Int)
  case token(Int)
}

/// The added tokens of a tokenizer and the two matchers tokenizers builds from them: one for
/// tokens matched in the raw text, one for tokens matched in the normalized text.
struct AddedVocabulary: Sendable {
  /// Every added token, in file order.
  let tokens: [AddedToken]
  private let indexByID: [Int: Int]
  private let idByContent: [[UInt8]: Int]
  /// The contents of the special tokens (decoding skips a token by its content, as tokenizers
  /// does).
  private let specialContents: Set<[UInt8]>
  private let rawMatcher: TokenTrie
  private let normalizedMatcher: TokenTrie

  /// Reads `added_tokens` (absent or `null` means none).
  ///
  /// - Parameters:
  ///   - field: the `added_tokens` array.
  ///   - normalizer: the tokenizer's normalizer, applied to the content of normalized tokens to
  ///     get the text they match (with Llama 2's `Prepend("▁")`, `<x>` matches `▁<x>`).
  /// - Throws: ``TextGenerationError/Kind/invalidTokenizer`` for a malformed entry.
  init(_ field: JSONField?, normalizer: Normalizer?) throws(TextGenerationError) {
    var tokens: [AddedToken] = []
    for item in try field?.array() ?? [] {
      let special = try item.boolean("special", default: false)
      let id = try item.requiredMember("id").integer()
      guard id >= 0 else { throw item.invalid("has a negative id \(id)") }
      tokens.append(
        AddedToken(
          id: id,
          content: try item.requiredMember("content").string(),
          isSpecial: special,
          isSingleWord: try item.boolean("single_word", default: false),
          stripsLeft: try item.boolean("lstrip", default: false),
          stripsRight: try item.boolean("rstrip", default: false),
          isNormalized: try item.boolean("normalized", default: !special)))
    }
    self.init(tokens: tokens, normalizer: normalizer)
  }

  init(tokens: [AddedToken], normalizer: Normalizer?) {
    let tokens = tokens.map { token in
      var token = token
      token.decodedContent =
        token.isNormalized ? normalizer?.normalize(token.content) ?? token.content : token.content
      return token
    }
    self.tokens = tokens
    var indexByID: [Int: Int] = [:]
    var idByContent: [[UInt8]: Int] = [:]
    for (index, token) in tokens.enumerated() {
      indexByID[token.id] = index
      idByContent[Array(token.content.utf8)] = token.id
    }
    self.indexByID = indexByID
    self.idByContent = idByContent
    specialContents = Set(tokens.filter(\.isSpecial).map { Array($0.content.utf8) })
    // tokenizers matches special tokens before the others when both match the same text.
    let ordered = tokens.filter(\.isSpecial) + tokens.filter { !$0.isSpecial }
    let nonEmpty = ordered.filter { !$0.content.isEmpty }
    rawMatcher = TokenTrie(
      nonEmpty.filter { !$0.isNormalized }.map { (Array($0.content.utf8), $0) })
    normalizedMatcher = TokenTrie(
      nonEmpty.filter(\.isNormalized).map { (Array($0.decodedContent.utf8), $0) })
  }

  /// The text the added token with this id decodes from (its normalized content when it is
  /// a normalized token).
  func decodedContent(forID id: Int) -> String? {
    indexByID[id].map { tokens[$0].decodedContent }
  }

  /// The id of the added token with exactly this content.
  func id(forContent content: String) -> Int? {
    idByContent[Array(content.utf8)]
  }

  /// Whether a special token has exactly this content.
  func isSpecial(_ content: String) -> Bool {
    specialContents.contains(Array(content.utf8))
  }

  /// Cuts `text` at the added tokens that are matched in the raw text (`normalized` false) or
  /// in the normalized text (`normalized` true). Empty text segments are left out.
  ///
  /// tokenizers' `AddedVocabulary::find_matches`: leftmost-longest matches, a single-word token
  /// skipped where a word character touches it, `lstrip` and `rstrip` widening a match over
  /// the whitespace beside it.
  ///
  /// - Complexity: O(n·k) for a text of n bytes and tokens of at most k bytes.
  func split(_ text: String, normalized: Bool) -> [AddedTokenSegment] {
    let matcher = normalized ? normalizedMatcher : rawMatcher
    guard !text.isEmpty else { return [] }
    guard !matcher.isEmpty else { return [.text(text, offset: 0)] }
    let bytes = Array(text.utf8)
    var segments: [AddedTokenSegment] = []
    var startOffset = 0
    func addText(_ range: Range<Int>) {
      guard !range.isEmpty else { return }
      segments.append(
        .text(String(decoding: bytes[range], as: UTF8.self), offset: range.lowerBound))
    }
    for match in matcher.matches(in: bytes) {
      var start = match.range.lowerBound
      var stop = match.range.upperBound
      let token = match.token
      if token.isSingleWord {
        let spaceBefore = start == 0 || !Self.isWordCharacter(Self.scalar(before: start, in: bytes))
        let spaceAfter =
          stop == bytes.count || !Self.isWordCharacter(Self.scalar(at: stop, in: bytes))
        if !spaceBefore || !spaceAfter { continue }
      }
      if token.stripsLeft {
        var newStart = start
        while newStart > 0, let scalar = Self.scalar(before: newStart, in: bytes),
          scalar.properties.isWhitespace
        {
          newStart -= UTF8.width(scalar)
        }
        // An earlier match may already have taken those spaces.
        start = max(newStart, startOffset)
      }
      if token.stripsRight {
        while stop < bytes.count, let scalar = Self.scalar(at: stop, in: bytes),
          scalar.properties.isWhitespace
        {
          stop += UTF8.width(scalar)
        }
      }
      if startOffset < start { addText(startOffset..<start) }
      segments.append(.token(token.id))
      startOffset = stop
    }
    if startOffset < bytes.count { addText(startOffset..<bytes.count) }
    return segments
  }

  /// The regex `\w` of Rust's `regex` crate, which tokenizers uses for `single_word`.
  private static func isWordCharacter(_ scalar: Unicode.Scalar?) -> Bool {
    guard let properties = scalar?.properties else { return false }
    switch properties.generalCategory {
    case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation:
      return true
    default:
      return properties.isAlphabetic || properties.isJoinControl
    }
  }

  /// The scalar that starts at byte `offset` of valid UTF-8.
  private static func scalar(at offset: Int, in bytes: [UInt8]) -> Unicode.Scalar? {
    var iterator = bytes[offset...].makeIterator()
    var decoder = UTF8()
    if case .scalarValue(let scalar) = decoder.decode(&iterator) { return scalar }
    return nil
  }

  /// The scalar that ends at byte `offset` of valid UTF-8.
  private static func scalar(before offset: Int, in bytes: [UInt8]) -> Unicode.Scalar? {
    var start = offset - 1
    while start > 0 && bytes[start] & 0xC0 == 0x80 { start -= 1 }
    return start >= 0 ? scalar(at: start, in: bytes) : nil
  }
}

/// A byte trie over added-token patterns that finds non-overlapping leftmost-longest matches,
/// as the Aho-Corasick automaton tokenizers builds (`MatchKind::LeftmostLongest`) does. A
/// handful to a few hundred patterns make the plain trie fast enough.
struct TokenTrie: Sendable {
  private struct Node: Sendable {
    var children: [UInt8: Int32] = [:]
    /// The token ending here; the first pattern wins when two are equal.
    var token: AddedToken?
  }

  private var nodes = [Node()]
  /// Bytes that start some pattern, to skip the others without a dictionary lookup.
  private var startsPattern = [Bool](repeating: false, count: 256)

  init(_ patterns: [([UInt8], AddedToken)]) {
    for (bytes, token) in patterns where !bytes.isEmpty {
      var node = 0
      for byte in bytes {
        if let child = nodes[node].children[byte] {
          node = Int(child)
        } else {
          nodes.append(Node())
          nodes[node].children[byte] = Int32(nodes.count - 1)
          node = nodes.count - 1
        }
      }
      if nodes[node].token == nil { nodes[node].token = token }
      startsPattern[Int(bytes[0])] = true
    }
  }

  var isEmpty: Bool { nodes.count == 1 }

  /// The matches, left to right; after a match the search resumes at its end.
  func matches(in bytes: [UInt8]) -> [(range: Range<Int>, token: AddedToken)] {
    var found: [(range: Range<Int>, token: AddedToken)] = []
    var start = 0
    while start < bytes.count {
      guard startsPattern[Int(bytes[start])] else {
        start += 1
        continue
      }
      var node = 0
      var longest: (end: Int, token: AddedToken)?
      var position = start
      while position < bytes.count, let child = nodes[node].children[bytes[position]] {
        node = Int(child)
        position += 1
        if let token = nodes[node].token { longest = (position, token) }
      }
      if let longest {
        found.append((start..<longest.end, longest.token))
        start = longest.end
      } else {
        start += 1
      }
    }
    return found
  }
}
