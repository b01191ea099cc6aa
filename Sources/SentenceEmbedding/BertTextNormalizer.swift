import Foundation

/// BERT's "basic tokenisation": cleans and normalises text, then splits it into words.
///
/// The steps and their order are those of the `BertNormalizer` and `BertPreTokenizer` of
/// Hugging Face `tokenizers`, which a sentence-transformers model such as all-MiniLM-L6-v2 runs:
///
/// 1. Clean: drop U+0000, U+FFFD and control characters (categories Cc, Cf, Co, except tab,
///    line feed and carriage return); turn whitespace (tab, LF, CR, any `White_Space` scalar)
///    into a space.
/// 2. Surround every CJK ideograph with spaces, so each becomes a word of its own.
/// 3. Strip accents (on by default when lower-casing): canonical decomposition (NFD), then drop
///    non-spacing marks (Mn). Precomposed Hangul syllables decompose into their jamo here.
/// 4. Lower-case each scalar with its full Unicode mapping (`İ` → `i̇`, `ẞ` → `ß`).
/// 5. Split at whitespace, and make each punctuation scalar a word of its own. Punctuation is
///    BERT's definition: the ASCII ranges 33–47, 58–64, 91–96, 123–126 (so `$`, `+`, `^`, `` ` ``
///    count) and every scalar of a Unicode P* category.
///
/// Unicode categories come from Swift's own Unicode tables. The reference's tables are older
/// (they predate Unicode 14), so a scalar assigned to P* or C* only recently, such as U+2E5D, is
/// split or removed here but kept inside its word by the reference; every such scalar is rare.
struct BertTextNormalizer: Sendable {
  /// Whether text is lower-cased (step 4).
  var lowercases: Bool
  /// Whether accents are stripped (step 3).
  var stripsAccents: Bool
  /// Whether CJK ideographs become words of their own (step 2).
  var splitsCJKCharacters: Bool

  /// The words of `text` after normalisation, each as its Unicode scalar values.
  ///
  /// - Complexity: O(n) for n scalars.
  func words(in text: Substring.UnicodeScalarView) -> [[UInt32]] {
    var cleaned = [Unicode.Scalar]()
    var isASCII = true
    for scalar in text {
      if Self.isRemoved(scalar) { continue }
      if Self.isWhitespace(scalar) {
        cleaned.append(" ")
      } else if splitsCJKCharacters && Self.isCJKCharacter(scalar.value) {
        cleaned.append(" ")
        cleaned.append(scalar)
        cleaned.append(" ")
      } else {
        cleaned.append(scalar)
      }
      isASCII = isASCII && scalar.isASCII
    }
    // NFD leaves ASCII unchanged, so the common case skips the String round trip.
    if stripsAccents && !isASCII {
      var string = String.UnicodeScalarView()
      string.append(contentsOf: cleaned)
      cleaned = String(string).decomposedStringWithCanonicalMapping.unicodeScalars.filter {
        $0.properties.generalCategory != .nonspacingMark
      }
    }
    var splitter = WordSplitter()
    for scalar in cleaned {
      if !lowercases {
        splitter.add(scalar)
      } else if scalar.isASCII {
        // ASCII lower-cases by itself; only A–Z change.
        let value = scalar.value
        splitter.add((65...90).contains(value) ? Unicode.Scalar(UInt8(value + 32)) : scalar)
      } else {
        for lower in scalar.properties.lowercaseMapping.unicodeScalars { splitter.add(lower) }
      }
    }
    return splitter.finished()
  }

  /// Splits normalised scalars into words at whitespace and around punctuation.
  private struct WordSplitter {
    var words = [[UInt32]]()
    var word = [UInt32]()

    /// Ends the word at whitespace, emits punctuation as a word of its own, or extends the word.
    mutating func add(_ scalar: Unicode.Scalar) {
      if scalar == " " || scalar.properties.isWhitespace {
        finishWord()
      } else if BertTextNormalizer.isPunctuation(scalar) {
        finishWord()
        words.append([scalar.value])
      } else {
        word.append(scalar.value)
      }
    }

    mutating func finishWord() {
      if !word.isEmpty {
        words.append(word)
        word.removeAll(keepingCapacity: true)
      }
    }

    mutating func finished() -> [[UInt32]] {
      finishWord()
      return words
    }
  }

  /// Scalars the cleaning step deletes: NUL, U+FFFD and controls other than tab, LF and CR.
  static func isRemoved(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0, 0xFFFD: return true
    case 0x09, 0x0A, 0x0D: return false
    default:
      switch scalar.properties.generalCategory {
      case .control, .format, .privateUse: return true
      default: return false
      }
    }
  }

  /// Tab, LF, CR and every scalar with the Unicode `White_Space` property.
  static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
    scalar == "\t" || scalar == "\n" || scalar == "\r" || scalar.properties.isWhitespace
  }

  /// BERT's punctuation: four ASCII ranges (which include symbols such as `$` and `+`) and every
  /// Unicode P* scalar.
  static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 33...47, 58...64, 91...96, 123...126: return true
    default:
      switch scalar.properties.generalCategory {
      case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
        .initialPunctuation, .finalPunctuation, .otherPunctuation:
        return true
      default: return false
      }
    }
  }

  /// The CJK ideograph blocks BERT splits, as `tokenizers` lists them (its Extension E range
  /// starts at U+2B920, where Google's original code starts it at U+2B820).
  static func isCJKCharacter(_ value: UInt32) -> Bool {
    switch value {
    case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F,
      0x2B740...0x2B81F, 0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
      return true
    default: return false
    }
  }
}
