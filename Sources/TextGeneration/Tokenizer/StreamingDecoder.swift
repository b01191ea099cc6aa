/// Decodes ids one at a time as a model generates them, returning each time the text that is
/// new and complete.
///
/// A token need not end on a character boundary: byte-level and byte-fallback tokens can hold
/// part of a multi-byte character, and decoding such a prefix alone gives U+FFFD. The decoder
/// therefore holds text back while its decoding ends in U+FFFD and releases it once a later id
/// completes the character (or ``finish()`` is called). It also decodes a window that starts a
/// few tokens back, so decoders that treat the first token specially (Metaspace's and
/// `Strip`'s leading space) see the same context as a decoding of the whole sequence: the
/// concatenation of everything returned equals ``BPETokenizer/decode(_:skippingSpecialTokens:)``
/// of all the ids. (This is the method of text-generation-inference's `decode_token`.)
///
/// ```swift
/// var stream = StreamingDecoder(tokenizer: tokenizer, skippingSpecialTokens: true)
/// for id in generatedIDs { print(stream.append(id), terminator: "") }
/// print(stream.finish())
/// ```
public struct StreamingDecoder: Sendable {
  /// The tokenizer whose decoder runs.
  public let tokenizer: BPETokenizer
  /// Whether special tokens are left out of the text.
  public let skipsSpecialTokens: Bool
  /// Every id appended so far.
  public private(set) var ids: [Int] = []
  /// Where the window decoded for context starts.
  private var prefixOffset = 0
  /// Where the ids whose text has not been returned yet start.
  private var readOffset = 0
  /// The decoding of `ids[prefixOffset..<readOffset]`, already returned.
  private var prefixText = ""

  /// Creates a decoder with no ids yet.
  ///
  /// - Parameters:
  ///   - tokenizer: the tokenizer whose decoder runs.
  ///   - skippingSpecialTokens: whether special tokens are left out, as in
  ///     ``BPETokenizer/decode(_:skippingSpecialTokens:)``.
  public init(tokenizer: BPETokenizer, skippingSpecialTokens: Bool = false) {
    self.tokenizer = tokenizer
    self.skipsSpecialTokens = skippingSpecialTokens
  }

  /// Appends one id and returns the text it completes.
  ///
  /// - Parameter id: the next id.
  /// - Returns: the new text; empty while the text so far ends inside a character.
  /// - Complexity: O(length of the window), a few tokens in the common case.
  public mutating func append(_ id: Int) -> String {
    ids.append(id)
    let text = tokenizer.decode(
      Array(ids[prefixOffset...]), skippingSpecialTokens: skipsSpecialTokens)
    guard let new = Self.suffix(of: text, after: prefixText),
      !new.isEmpty, new.unicodeScalars.last != "\u{FFFD}"
    else { return "" }
    prefixOffset = readOffset
    readOffset = ids.count
    prefixText = tokenizer.decode(
      Array(ids[prefixOffset..<readOffset]), skippingSpecialTokens: skipsSpecialTokens)
    return new
  }

  /// Returns the text held back (an incomplete character at the end, as U+FFFD) and starts
  /// the next call to ``append(_:)`` after it.
  ///
  /// - Returns: the text not yet returned; empty when there is none.
  public mutating func finish() -> String {
    let text = tokenizer.decode(
      Array(ids[prefixOffset...]), skippingSpecialTokens: skipsSpecialTokens)
    // A decoder whose output for a longer window does not extend that of a shorter one (a
    // `Strip` of trailing characters) leaves `append` holding text; return what differs.
    let new = Self.suffix(of: text, after: prefixText) ?? Self.afterCommonPrefix(text, prefixText)
    prefixOffset = ids.count
    readOffset = ids.count
    prefixText = ""
    return new
  }

  /// `text` without its prefix `prefix`, compared scalar by scalar (characters could merge
  /// across the boundary); `nil` when `text` does not start with `prefix`.
  private static func suffix(of text: String, after prefix: String) -> String? {
    var scalars = text.unicodeScalars[...]
    for scalar in prefix.unicodeScalars {
      guard scalars.first == scalar else { return nil }
      scalars = scalars.dropFirst()
    }
    return String(Substring(scalars))
  }

  private static func afterCommonPrefix(_ text: String, _ other: String) -> String {
    var scalars = text.unicodeScalars[...]
    for scalar in other.unicodeScalars {
      guard scalars.first == scalar else { break }
      scalars = scalars.dropFirst()
    }
    return String(Substring(scalars))
  }
}
