import Foundation

/// What a `Split` pre-tokenizer splits on, or a `Replace` normalizer or decoder replaces:
/// `{"String": "…"}` (the exact text) or `{"Regex": "…"}` (a regular expression).
///
/// Regular expressions run on Foundation's `NSRegularExpression`, which is ICU's engine on Linux.
/// The patterns that tokenizers ship (`\p{L}`, `\p{N}`, `(?!\S)`, `(?i:…)`, `{1,3}`) mean the
/// same there as in the Oniguruma engine tokenizers uses — `\s` is the Unicode White_Space
/// property in both; `\w`, which differs, is rewritten (``translatedForICU(_:)``) — and ICU
/// measured 7× faster than Swift's `Regex` on these patterns
/// (1.3 ms against 9 ms for 8 KB of mixed text; Swift's `Regex` also needs
/// `.matchingSemantics(.unicodeScalar)` to stop matching whole grapheme clusters).
enum TextPattern: Sendable {
  /// The exact UTF-8 bytes to find; matches are non-overlapping, leftmost first.
  case literal([UInt8])
  /// A compiled regular expression and its source, for messages.
  case regex(NSRegularExpression, source: String)

  /// Reads `{"String": "…"}` or `{"Regex": "…"}`.
  ///
  /// - Throws: ``TextGenerationError/Kind/invalidTokenizer`` when the field is neither, or the
  ///   regular expression does not compile.
  init(_ field: JSONField) throws(TextGenerationError) {
    if let literal = field.member("String") {
      self = .literal(Array(try literal.string().utf8))
    } else if let regex = field.member("Regex") {
      let source = try regex.string()
      do {
        let translated = Self.translatedForICU(source)
        self = .regex(try NSRegularExpression(pattern: translated), source: source)
      } catch {
        throw regex.invalid("is a regular expression that does not compile: \(source)")
      }
    } else {
      throw field.invalid(
        "should be {\"String\": …} or {\"Regex\": …}, found \(field.node.summary)")
    }
  }

  /// Oniguruma's `\w` (and `\W`) spelled out for ICU, whose `\w` also takes the join controls
  /// (U+200C, U+200D): in Oniguruma a word character is a letter, mark, number or connector
  /// punctuation, so the zero-width joiner inside an emoji sequence is not one. `\s` and `\d`
  /// mean the same in both engines and are left alone.
  static func translatedForICU(_ pattern: String) -> String {
    let wordClass = #"\p{L}\p{M}\p{N}\p{Pc}"#
    var output = ""
    var classDepth = 0
    var scalars = pattern.unicodeScalars.makeIterator()
    while let scalar = scalars.next() {
      switch scalar {
      case "\\":
        guard let escaped = scalars.next() else {
          output.unicodeScalars.append(scalar)
          break
        }
        switch escaped {
        case "w": output += classDepth > 0 ? wordClass : "[" + wordClass + "]"
        case "W": output += "[^" + wordClass + "]"
        default:
          output.unicodeScalars.append(scalar)
          output.unicodeScalars.append(escaped)
        }
      case "[":
        classDepth += 1
        output.unicodeScalars.append(scalar)
      case "]":
        classDepth = max(classDepth - 1, 0)
        output.unicodeScalars.append(scalar)
      default:
        output.unicodeScalars.append(scalar)
      }
    }
    return output
  }

  /// The non-overlapping matches in `text`, leftmost first, as UTF-8 byte offsets.
  ///
  /// - Complexity: O(n·m) for a literal of m bytes; the regex engine's cost for a regex.
  func matches(in text: String) -> [Range<Int>] {
    switch self {
    case .literal(let needle):
      return Self.literalMatches(of: needle, in: Array(text.utf8))
    case .regex(let expression, _):
      let length = text.utf16.count
      let found = expression.matches(in: text, range: NSRange(location: 0, length: length))
      return Self.utf8Ranges(of: found.map(\.range), in: text)
    }
  }

  static func literalMatches(of needle: [UInt8], in haystack: [UInt8]) -> [Range<Int>] {
    guard !needle.isEmpty, needle.count <= haystack.count else { return [] }
    var ranges: [Range<Int>] = []
    var start = 0
    let first = needle[0]
    while start + needle.count <= haystack.count {
      if haystack[start] == first
        && haystack[start..<start + needle.count].elementsEqual(needle)
      {
        ranges.append(start..<start + needle.count)
        start += needle.count
      } else {
        start += 1
      }
    }
    return ranges
  }

  /// Converts ascending UTF-16 ranges (what `NSRegularExpression` reports) to UTF-8 byte
  /// ranges in one walk over the scalars.
  private static func utf8Ranges(of ranges: [NSRange], in text: String) -> [Range<Int>] {
    var result: [Range<Int>] = []
    result.reserveCapacity(ranges.count)
    var scalars = text.unicodeScalars.makeIterator()
    var utf16Offset = 0
    var utf8Offset = 0
    func offset(atUTF16 target: Int) -> Int {
      while utf16Offset < target, let scalar = scalars.next() {
        utf16Offset += UTF16.width(scalar)
        utf8Offset += UTF8.width(scalar)
      }
      return utf8Offset
    }
    for range in ranges {
      let lower = offset(atUTF16: range.location)
      let upper = offset(atUTF16: range.location + range.length)
      result.append(lower..<upper)
    }
    return result
  }

  /// `text` with every match replaced by `content` (taken literally, as tokenizers does).
  func replacingMatches(in text: String, with content: String) -> String {
    let ranges = matches(in: text)
    guard !ranges.isEmpty else { return text }
    let bytes = Array(text.utf8)
    var output: [UInt8] = []
    output.reserveCapacity(bytes.count)
    var position = 0
    for range in ranges {
      output.append(contentsOf: bytes[position..<range.lowerBound])
      output.append(contentsOf: content.utf8)
      position = range.upperBound
    }
    output.append(contentsOf: bytes[position...])
    return String(decoding: output, as: UTF8.self)
  }
}

/// What a split keeps of the text a pattern matched (tokenizers' `SplitDelimiterBehavior`).
enum SplitBehavior: String, Sendable, CaseIterable {
  /// The matches are dropped.
  case removed = "Removed"
  /// Each match is a piece of its own.
  case isolated = "Isolated"
  /// Each match joins the piece before it.
  case mergedWithPrevious = "MergedWithPrevious"
  /// Each match joins the piece after it.
  case mergedWithNext = "MergedWithNext"
  /// Runs of consecutive matches form one piece.
  case contiguous = "Contiguous"

  /// Splits `text` at the matches of `pattern` (or, with `invert`, at the text between them),
  /// returning the non-empty pieces as UTF-8 byte ranges, in order.
  ///
  /// The same folds as tokenizers' `NormalizedString::split`, so runs of adjacent matches
  /// merge the way they do there.
  func split(_ text: String, by pattern: TextPattern, invert: Bool = false) -> [Range<Int>] {
    let length = text.utf8.count
    guard length > 0 else { return [] }
    var pieces: [(range: Range<Int>, isMatch: Bool)] = []
    var previous = 0
    for match in pattern.matches(in: text) {
      if previous != match.lowerBound {
        pieces.append((previous..<match.lowerBound, false))
      }
      pieces.append((match, true))
      previous = match.upperBound
    }
    if previous != length { pieces.append((previous..<length, false)) }
    if invert {
      pieces = pieces.map { ($0.range, !$0.isMatch) }
    }
    return apply(to: pieces).filter { !$0.isEmpty }
  }

  /// Folds (range, is-a-match) pieces covering a text into the ranges to keep.
  func apply(to pieces: [(range: Range<Int>, isMatch: Bool)]) -> [Range<Int>] {
    switch self {
    case .removed:
      return pieces.filter { !$0.isMatch }.map(\.range)
    case .isolated:
      return pieces.map(\.range)
    case .mergedWithPrevious:
      var result: [Range<Int>] = []
      var previousWasMatch = false
      for piece in pieces {
        if piece.isMatch && !previousWasMatch, let last = result.last {
          result[result.count - 1] = last.lowerBound..<piece.range.upperBound
        } else {
          result.append(piece.range)
        }
        previousWasMatch = piece.isMatch
      }
      return result
    case .mergedWithNext:
      var result: [Range<Int>] = []
      var previousWasMatch = false
      for piece in pieces.reversed() {
        if piece.isMatch && !previousWasMatch, let last = result.last {
          result[result.count - 1] = piece.range.lowerBound..<last.upperBound
        } else {
          result.append(piece.range)
        }
        previousWasMatch = piece.isMatch
      }
      return result.reversed()
    case .contiguous:
      var result: [Range<Int>] = []
      var previousWasMatch = false
      for piece in pieces {
        if piece.isMatch == previousWasMatch, let last = result.last {
          result[result.count - 1] = last.lowerBound..<piece.range.upperBound
        } else {
          result.append(piece.range)
        }
        previousWasMatch = piece.isMatch
      }
      return result
    }
  }
}

extension String {
  /// The text of the UTF-8 byte range `range` (which must fall on scalar boundaries).
  func utf8Slice(_ range: Range<Int>) -> String {
    let start = utf8.index(utf8.startIndex, offsetBy: range.lowerBound)
    let end = utf8.index(start, offsetBy: range.count)
    return String(self[start..<end])
  }
}
