import Foundation

/// A piece of text on its way to the BPE model.
struct TextPiece: Sendable {
  /// The (normalized) text.
  var text: String
  /// Whether the piece starts where the input text starts: Metaspace's `prepend_scheme:
  /// "first"` adds `▁` only to such a piece (tokenizers tests for original offset 0), so the
  /// piece after a special token at the very start gets none.
  var startsInput: Bool
}

/// Where a Metaspace pre-tokenizer or decoder adds (or removes) the replacement character in
/// front of a piece.
enum PrependScheme: String, Sendable {
  /// In front of every piece that lacks one.
  case always
  /// Never.
  case never
  /// Only in front of the piece that starts the input.
  case first

  /// Reads `prepend_scheme`, or the older boolean `add_prefix_space` (true is `always`).
  init(_ field: JSONField) throws(TextGenerationError) {
    if let scheme = field.member("prepend_scheme") {
      guard let value = PrependScheme(rawValue: try scheme.string()) else {
        throw scheme.invalid(
          "should be \"always\", \"never\" or \"first\", found \(scheme.node.summary)")
      }
      self = value
    } else {
      self = try field.boolean("add_prefix_space", default: true) ? .always : .never
    }
  }
}

/// A `tokenizer.json` pre-tokenizer: splits each normalized piece into the words that the BPE
/// model encodes one by one (merges never cross a word boundary).
indirect enum PreTokenizer: Sendable {
  /// GPT-2's: optionally a space in front, optionally its regex split, then every byte spelled
  /// in ``ByteLevelAlphabet``.
  case byteLevel(addsPrefixSpace: Bool, usesRegex: Bool)
  /// Splits at the matches of a pattern (Llama 3 and Qwen2 put their own regex here).
  case split(TextPattern, SplitBehavior, invert: Bool)
  /// SentencePiece's: spaces become the replacement (`▁`), which is also put in front as the
  /// scheme says; with `splits`, the text is cut in front of each replacement.
  case metaspace(replacement: Unicode.Scalar, prependScheme: PrependScheme, splits: Bool)
  case sequence([PreTokenizer])

  static let supportedTypes = ["Sequence", "ByteLevel", "Split", "Metaspace"]

  /// GPT-2's pattern, which ByteLevel uses when `use_regex` is true.
  static let gpt2Pattern =
    #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#

  private static let gpt2Regex = TextPattern.regex(
    try! NSRegularExpression(pattern: gpt2Pattern), source: gpt2Pattern)

  /// Reads a pre-tokenizer object.
  ///
  /// - Throws: ``TextGenerationError`` naming the component when its `type` is not supported
  ///   or a field is missing or invalid.
  init(_ field: JSONField) throws(TextGenerationError) {
    let type = try field.typeName()
    switch type {
    case "Sequence":
      var steps: [PreTokenizer] = []
      for item in try field.requiredMember("pretokenizers").array() {
        steps.append(try PreTokenizer(item))
      }
      self = .sequence(steps)
    case "ByteLevel":
      self = .byteLevel(
        addsPrefixSpace: try field.boolean("add_prefix_space", default: true),
        usesRegex: try field.boolean("use_regex", default: true))
    case "Split":
      let behaviorField = try field.requiredMember("behavior")
      let name = try behaviorField.string()
      guard let behavior = SplitBehavior(rawValue: name) else {
        let names = SplitBehavior.allCases.map(\.rawValue).joined(separator: ", ")
        throw behaviorField.invalid("should be one of \(names), found \"\(name)\"")
      }
      self = .split(
        try TextPattern(field.requiredMember("pattern")), behavior,
        invert: try field.boolean("invert", default: false))
    case "Metaspace":
      self = .metaspace(
        replacement: try field.requiredMember("replacement").scalar(),
        prependScheme: try PrependScheme(field),
        splits: try field.boolean("split", default: true))
    default:
      throw field.unsupported("pre-tokenizer", type: type, supported: Self.supportedTypes)
    }
  }

  /// Splits every piece; empty pieces are dropped, as tokenizers drops them.
  ///
  /// - Complexity: O(n) plus the regex engine's cost.
  func preTokenize(_ pieces: [TextPiece]) -> [TextPiece] {
    switch self {
    case .sequence(let steps):
      return steps.reduce(pieces) { $1.preTokenize($0) }
    case .byteLevel(let addsPrefixSpace, let usesRegex):
      return pieces.flatMap { piece -> [TextPiece] in
        var text = piece.text
        if addsPrefixSpace && !text.hasPrefix(" ") { text = " " + text }
        let words = usesRegex ? Self.cut(text, at: Self.gpt2Regex, .isolated) : [text]
        return words.compactMap { word in
          word.isEmpty
            ? nil
            : TextPiece(
              text: String(decoding: ByteLevelAlphabet.encode(word[...].utf8), as: UTF8.self),
              startsInput: piece.startsInput)
        }
      }
    case .split(let pattern, let behavior, let invert):
      return pieces.flatMap { piece in
        behavior.split(piece.text, by: pattern, invert: invert).map { range in
          TextPiece(
            text: piece.text.utf8Slice(range),
            startsInput: piece.startsInput && range.lowerBound == 0)
        }
      }
    case .metaspace(let replacement, let prependScheme, let splits):
      let marker = String(replacement)
      return pieces.flatMap { piece -> [TextPiece] in
        var text = TextPattern.literal([0x20]).replacingMatches(in: piece.text, with: marker)
        let prepends =
          switch prependScheme {
          case .always: true
          case .never: false
          case .first: piece.startsInput
          }
        if prepends && !text.unicodeScalars.starts(with: [replacement]) {
          text = marker + text
        }
        guard splits else {
          return text.isEmpty ? [] : [TextPiece(text: text, startsInput: piece.startsInput)]
        }
        let ranges = SplitBehavior.mergedWithNext.split(
          text, by: .literal(Array(marker.utf8)))
        return ranges.map { range in
          TextPiece(
            text: text.utf8Slice(range),
            startsInput: piece.startsInput && range.lowerBound == 0)
        }
      }
    }
  }

  private static func cut(_ text: String, at pattern: TextPattern, _ behavior: SplitBehavior)
    -> [String]
  {
    behavior.split(text, by: pattern).map { text.utf8Slice($0) }
  }
}
