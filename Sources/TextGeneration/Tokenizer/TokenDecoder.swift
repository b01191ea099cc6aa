/// A `tokenizer.json` decoder: turns the tokens of a sequence of ids back into text.
///
/// Each kind transforms a list of token strings into another, as tokenizers' `decode_chain`
/// does; the results are concatenated at the end.
indirect enum TokenDecoder: Sendable {
  /// GPT-2's: every character back to its byte (``ByteLevelAlphabet``), then all bytes as
  /// UTF-8, each invalid sequence becoming U+FFFD.
  case byteLevel
  /// SentencePiece's: the replacement becomes a space, except in the first token, where
  /// (unless the scheme is `never`) it is dropped.
  case metaspace(replacement: Unicode.Scalar, prependScheme: PrependScheme)
  case replace(TextPattern, content: String)
  /// Runs of `<0xNN>` tokens become the text their bytes spell, or one U+FFFD per byte when
  /// they are not valid UTF-8.
  case byteFallback
  /// All tokens become one.
  case fuse
  /// Removes up to `start` leading and `stop` trailing `content` characters from each token.
  case strip(content: Unicode.Scalar, start: Int, stop: Int)
  case sequence([TokenDecoder])

  static let supportedTypes = [
    "Sequence", "ByteLevel", "Metaspace", "Replace", "ByteFallback", "Fuse", "Strip",
  ]

  /// Reads a decoder object.
  ///
  /// - Throws: ``TextGenerationError`` naming the component when its `type` is not supported
  ///   or a field is missing.
  init(_ field: JSONField) throws(TextGenerationError) {
    let type = try field.typeName()
    switch type {
    case "Sequence":
      var decoders: [TokenDecoder] = []
      for item in try field.requiredMember("decoders").array() {
        decoders.append(try TokenDecoder(item))
      }
      self = .sequence(decoders)
    case "ByteLevel":
      self = .byteLevel
    case "Metaspace":
      self = .metaspace(
        replacement: try field.requiredMember("replacement").scalar(),
        prependScheme: try PrependScheme(field))
    case "Replace":
      self = .replace(
        try TextPattern(field.requiredMember("pattern")),
        content: try field.requiredMember("content").string())
    case "ByteFallback":
      self = .byteFallback
    case "Fuse":
      self = .fuse
    case "Strip":
      let start = try field.requiredMember("start")
      let stop = try field.requiredMember("stop")
      guard try start.integer() >= 0 else { throw start.invalid("should not be negative") }
      guard try stop.integer() >= 0 else { throw stop.invalid("should not be negative") }
      self = .strip(
        content: try field.requiredMember("content").scalar(),
        start: try start.integer(), stop: try stop.integer())
    default:
      throw field.unsupported("decoder", type: type, supported: Self.supportedTypes)
    }
  }

  /// The tokens after this step.
  func decodeChain(_ tokens: [String]) -> [String] {
    switch self {
    case .sequence(let decoders):
      return decoders.reduce(tokens) { $1.decodeChain($0) }
    case .byteLevel:
      var bytes: [UInt8] = []
      for token in tokens {
        let mapped = token.unicodeScalars.map { ByteLevelAlphabet.bytes[$0.value] }
        // A token with a character outside the alphabet (an added token in another script)
        // contributes its own UTF-8.
        if mapped.allSatisfy({ $0 != nil }) {
          bytes += mapped.map { $0! }
        } else {
          bytes += token.utf8
        }
      }
      return [String(decoding: bytes, as: UTF8.self)]
    case .metaspace(let replacement, let prependScheme):
      return tokens.enumerated().map { index, token in
        var output = String.UnicodeScalarView()
        for scalar in token.unicodeScalars {
          if scalar != replacement {
            output.append(scalar)
          } else if index != 0 || prependScheme == .never {
            output.append(" ")
          }
        }
        return String(output)
      }
    case .replace(let pattern, let content):
      return tokens.map { pattern.replacingMatches(in: $0, with: content) }
    case .byteFallback:
      var output: [String] = []
      var pendingBytes: [UInt8] = []
      func flush() {
        guard !pendingBytes.isEmpty else { return }
        if let text = String(validating: pendingBytes, as: UTF8.self) {
          output.append(text)
        } else {
          output += Array(repeating: "\u{FFFD}", count: pendingBytes.count)
        }
        pendingBytes.removeAll()
      }
      for token in tokens {
        if let byte = Self.fallbackByte(token) {
          pendingBytes.append(byte)
        } else {
          flush()
          output.append(token)
        }
      }
      flush()
      return output
    case .fuse:
      return [tokens.joined()]
    case .strip(let content, let start, let stop):
      return tokens.map { token in
        let scalars = Array(token.unicodeScalars)
        var lower = 0
        while lower < min(start, scalars.count) && scalars[lower] == content { lower += 1 }
        var upper = scalars.count
        while scalars.count - upper < stop && upper > lower && scalars[upper - 1] == content {
          upper -= 1
        }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars[lower..<upper])
        return String(view)
      }
    }
  }

  /// The byte of a `<0xNN>` token: six bytes, two hexadecimal digits (either case), or a
  /// `+` and one digit, which Rust's `u8::from_str_radix` also accepts.
  static func fallbackByte(_ token: String) -> UInt8? {
    let bytes = Array(token.utf8)
    guard bytes.count == 6, bytes.starts(with: Array("<0x".utf8)), bytes[5] == UInt8(ascii: ">")
    else { return nil }
    var digits = bytes[3..<5]
    if digits.first == UInt8(ascii: "+") { digits = digits.dropFirst() }
    return UInt8(String(decoding: digits, as: UTF8.self), radix: 16)
  }
}
