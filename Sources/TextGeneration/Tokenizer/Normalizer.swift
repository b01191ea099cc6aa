import Foundation

/// A `tokenizer.json` normalizer: rewrites each piece of text before it is split into words.
///
/// Only the kinds that decoder-model families ship are implemented: `Sequence`, `Prepend` and
/// `Replace` (the SentencePiece style of Llama 2, Mistral and Gemma) and the Unicode
/// normalization forms (`NFC` for Qwen2). Anything else is refused when the file is read.
indirect enum Normalizer: Sendable {
  case sequence([Normalizer])
  /// Puts the text in front of every non-empty piece (Llama 2's `"▁"`).
  case prepend(String)
  /// Replaces every match of the pattern with the content.
  case replace(TextPattern, content: String)
  case nfc
  case nfd
  case nfkc
  case nfkd

  static let supportedTypes = ["Sequence", "Prepend", "Replace", "NFC", "NFD", "NFKC", "NFKD"]

  /// Reads a normalizer object.
  ///
  /// - Throws: ``TextGenerationError`` naming the component when its `type` is not supported
  ///   or a field is missing.
  init(_ field: JSONField) throws(TextGenerationError) {
    let type = try field.typeName()
    switch type {
    case "Sequence":
      var normalizers: [Normalizer] = []
      for item in try field.requiredMember("normalizers").array() {
        normalizers.append(try Normalizer(item))
      }
      self = .sequence(normalizers)
    case "Prepend":
      self = .prepend(try field.requiredMember("prepend").string())
    case "Replace":
      self = .replace(
        try TextPattern(field.requiredMember("pattern")),
        content: try field.requiredMember("content").string())
    case "NFC": self = .nfc
    case "NFD": self = .nfd
    case "NFKC": self = .nfkc
    case "NFKD": self = .nfkd
    default:
      throw field.unsupported("normalizer", type: type, supported: Self.supportedTypes)
    }
  }

  /// The normalized text.
  ///
  /// - Complexity: O(n) per step, plus the regex engine's cost for a regex `Replace`.
  func normalize(_ text: String) -> String {
    switch self {
    case .sequence(let normalizers):
      return normalizers.reduce(text) { $1.normalize($0) }
    case .prepend(let prefix):
      // tokenizers leaves an empty piece empty.
      return text.isEmpty ? text : prefix + text
    case .replace(let pattern, let content):
      return pattern.replacingMatches(in: text, with: content)
    case .nfc: return text.precomposedStringWithCanonicalMapping
    case .nfd: return text.decomposedStringWithCanonicalMapping
    case .nfkc: return text.precomposedStringWithCompatibilityMapping
    case .nfkd: return text.decomposedStringWithCompatibilityMapping
    }
  }
}
