/// A parsed JSON value (RFC 8259), as found in `tokenizer.json`.
///
/// Our own reader rather than Foundation's: `JSONSerialization` and `JSONDecoder` both turn
/// objects into Swift dictionaries keyed by `String`, whose equality is canonical equivalence,
/// so a SentencePiece vocabulary holding both `"é"` (U+00E9) and `"e\u{301}"` would silently lose
/// one of them. Here an object is its members in file order, and strings keep their exact
/// scalars. (TensorFiles has a similar reader for safetensors headers, internal to that module.)
indirect enum JSONNode: Sendable {
  case object([Member])
  case array([JSONNode])
  case string(String)
  /// A number as written; see ``integer``.
  case number(String)
  case boolean(Bool)
  case null

  /// One `"name": value` pair of an object, in source order.
  struct Member: Sendable {
    var name: String
    var value: JSONNode
  }

  /// The value of the first member called `name`, or `nil` when `self` is not an object or has
  /// no such member.
  subscript(name: String) -> JSONNode? {
    guard case .object(let members) = self else { return nil }
    return members.first { $0.name.utf8.elementsEqual(name.utf8) }?.value
  }

  /// The value as an integer, or `nil` for a fraction, an exponent or one that does not fit.
  var integer: Int? {
    guard case .number(let text) = self else { return nil }
    return Int(text)
  }

  /// A short rendering for error messages.
  var summary: String {
    switch self {
    case .object(let members): return "an object with \(members.count) members"
    case .array(let items): return "an array of \(items.count) values"
    case .string(let text):
      return "\"" + (text.count > 40 ? String(text.prefix(40)) + "…" : text) + "\""
    case .number(let text): return text
    case .boolean(let value): return value ? "true" : "false"
    case .null: return "null"
    }
  }

  /// Why a document failed to parse, with the byte offset.
  struct SyntaxError: Error, Equatable {
    var offset: Int
    var reason: String
  }

  /// Deeper nesting is rejected so a hostile file cannot exhaust the stack; `tokenizer.json`
  /// nests about six levels.
  static let maximumDepth = 128

  /// Parses `bytes` (UTF-8) as one JSON value surrounded by optional whitespace.
  ///
  /// - Throws: ``SyntaxError``; never traps, whatever the input.
  /// - Complexity: O(n).
  static func parse(_ bytes: [UInt8]) throws(SyntaxError) -> JSONNode {
    try bytes.withUnsafeBufferPointer { (buffer) throws(SyntaxError) -> JSONNode in
      var parser = Parser(bytes: buffer, position: 0)
      let value = try parser.parseValue(depth: 0)
      parser.skipWhitespace()
      if parser.position < buffer.count {
        throw parser.error("unexpected \(parser.describeCurrent()) after the value")
      }
      return value
    }
  }

  /// A recursive-descent parser over a buffer that lives only for the duration of ``parse(_:)``.
  private struct Parser {
    let bytes: UnsafeBufferPointer<UInt8>
    var position: Int

    func error(_ reason: String) -> SyntaxError {
      SyntaxError(offset: position, reason: reason)
    }

    func describeCurrent() -> String {
      guard position < bytes.count else { return "end of file" }
      let byte = bytes[position]
      if byte >= 0x20 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
      return "byte 0x" + String(byte, radix: 16, uppercase: true)
    }

    mutating func skipWhitespace() {
      while position < bytes.count {
        switch bytes[position] {
        case 0x20, 0x09, 0x0A, 0x0D: position += 1
        default: return
        }
      }
    }

    mutating func parseValue(depth: Int) throws(SyntaxError) -> JSONNode {
      guard depth < JSONNode.maximumDepth else {
        throw error("nesting deeper than \(JSONNode.maximumDepth) levels")
      }
      skipWhitespace()
      guard position < bytes.count else { throw error("unexpected end of file") }
      switch bytes[position] {
      case UInt8(ascii: "{"): return try parseObject(depth: depth)
      case UInt8(ascii: "["): return try parseArray(depth: depth)
      case UInt8(ascii: "\""): return .string(try parseString())
      case UInt8(ascii: "t"): try expectWord("true"); return .boolean(true)
      case UInt8(ascii: "f"): try expectWord("false"); return .boolean(false)
      case UInt8(ascii: "n"): try expectWord("null"); return .null
      case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
      default: throw error("unexpected \(describeCurrent())")
      }
    }

    mutating func expectWord(_ word: StaticString) throws(SyntaxError) {
      let count = word.utf8CodeUnitCount
      let start = word.utf8Start
      guard position + count <= bytes.count else { throw error("unexpected end of file") }
      for index in 0..<count where bytes[position + index] != start[index] {
        throw error("unexpected \(describeCurrent())")
      }
      position += count
    }

    mutating func parseObject(depth: Int) throws(SyntaxError) -> JSONNode {
      position += 1  // {
      var members: [Member] = []
      skipWhitespace()
      if position < bytes.count && bytes[position] == UInt8(ascii: "}") {
        position += 1
        return .object(members)
      }
      while true {
        skipWhitespace()
        guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
          throw error("expected a member name, found \(describeCurrent())")
        }
        let name = try parseString()
        skipWhitespace()
        guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else {
          throw error("expected ':' after member name, found \(describeCurrent())")
        }
        position += 1
        members.append(Member(name: name, value: try parseValue(depth: depth + 1)))
        skipWhitespace()
        guard position < bytes.count else { throw error("unexpected end of file in an object") }
        if bytes[position] == UInt8(ascii: ",") {
          position += 1
        } else if bytes[position] == UInt8(ascii: "}") {
          position += 1
          return .object(members)
        } else {
          throw error("expected ',' or '}' in an object, found \(describeCurrent())")
        }
      }
    }

    mutating func parseArray(depth: Int) throws(SyntaxError) -> JSONNode {
      position += 1  // [
      var items: [JSONNode] = []
      skipWhitespace()
      if position < bytes.count && bytes[position] == UInt8(ascii: "]") {
        position += 1
        return .array(items)
      }
      while true {
        items.append(try parseValue(depth: depth + 1))
        skipWhitespace()
        guard position < bytes.count else { throw error("unexpected end of file in an array") }
        if bytes[position] == UInt8(ascii: ",") {
          position += 1
        } else if bytes[position] == UInt8(ascii: "]") {
          position += 1
          return .array(items)
        } else {
          throw error("expected ',' or ']' in an array, found \(describeCurrent())")
        }
      }
    }

    mutating func parseNumber() throws(SyntaxError) -> JSONNode {
      let start = position
      func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
      if bytes[position] == UInt8(ascii: "-") { position += 1 }
      let integerStart = position
      while position < bytes.count && isDigit(bytes[position]) { position += 1 }
      let integerDigits = position - integerStart
      guard integerDigits > 0 else { throw error("expected a digit, found \(describeCurrent())") }
      if integerDigits > 1 && bytes[integerStart] == UInt8(ascii: "0") {
        throw SyntaxError(offset: integerStart, reason: "a number has a leading zero")
      }
      if position < bytes.count && bytes[position] == UInt8(ascii: ".") {
        position += 1
        let fractionStart = position
        while position < bytes.count && isDigit(bytes[position]) { position += 1 }
        guard position > fractionStart else { throw error("expected a digit after '.'") }
      }
      if position < bytes.count && (bytes[position] | 0x20) == UInt8(ascii: "e") {
        position += 1
        if position < bytes.count
          && (bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-"))
        {
          position += 1
        }
        let exponentStart = position
        while position < bytes.count && isDigit(bytes[position]) { position += 1 }
        guard position > exponentStart else { throw error("expected a digit in the exponent") }
      }
      return .number(String(decoding: bytes[start..<position], as: UTF8.self))
    }

    /// Parses a string literal, checking that it is valid UTF-8 and that `\u` escapes pair
    /// their surrogates (a lone surrogate is not a Unicode scalar, so no `String` holds it).
    mutating func parseString() throws(SyntaxError) -> String {
      position += 1  // opening quote
      let start = position
      // Fast path: no escapes.
      while position < bytes.count {
        let byte = bytes[position]
        if byte == UInt8(ascii: "\"") {
          let slice = UnsafeBufferPointer(rebasing: bytes[start..<position])
          guard let text = String(validating: slice, as: UTF8.self) else {
            throw SyntaxError(offset: start, reason: "a string is not valid UTF-8")
          }
          position += 1
          return text
        }
        if byte == UInt8(ascii: "\\") { break }
        if byte < 0x20 { throw error("a control character inside a string") }
        position += 1
      }
      var output = Array(bytes[start..<position])
      while position < bytes.count {
        let byte = bytes[position]
        if byte == UInt8(ascii: "\"") {
          position += 1
          guard let text = String(validating: output, as: UTF8.self) else {
            throw SyntaxError(offset: start, reason: "a string is not valid UTF-8")
          }
          return text
        }
        if byte < 0x20 { throw error("a control character inside a string") }
        if byte != UInt8(ascii: "\\") {
          output.append(byte)
          position += 1
          continue
        }
        position += 1
        guard position < bytes.count else { break }
        let escape = bytes[position]
        position += 1
        switch escape {
        case UInt8(ascii: "\""): output.append(0x22)
        case UInt8(ascii: "\\"): output.append(0x5C)
        case UInt8(ascii: "/"): output.append(0x2F)
        case UInt8(ascii: "b"): output.append(0x08)
        case UInt8(ascii: "f"): output.append(0x0C)
        case UInt8(ascii: "n"): output.append(0x0A)
        case UInt8(ascii: "r"): output.append(0x0D)
        case UInt8(ascii: "t"): output.append(0x09)
        case UInt8(ascii: "u"):
          var value = try parseHex4()
          if (0xD800..<0xDC00).contains(value) {
            guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"),
              bytes[position + 1] == UInt8(ascii: "u")
            else { throw error("a lone high surrogate in a \\u escape") }
            position += 2
            let low = try parseHex4()
            guard (0xDC00..<0xE000).contains(low) else {
              throw error("a high surrogate not followed by a low surrogate")
            }
            value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
          } else if (0xDC00..<0xE000).contains(value) {
            throw error("a lone low surrogate in a \\u escape")
          }
          output.append(contentsOf: Array(String(Unicode.Scalar(value)!).utf8))
        default:
          throw SyntaxError(offset: position - 1, reason: "an unknown escape in a string")
        }
      }
      throw error("unexpected end of file in a string")
    }

    mutating func parseHex4() throws(SyntaxError) -> UInt32 {
      guard position + 4 <= bytes.count else { throw error("unexpected end of file in \\u") }
      var value: UInt32 = 0
      for _ in 0..<4 {
        let byte = bytes[position]
        let digit: UInt8
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
        default: throw error("expected a hexadecimal digit in \\u, found \(describeCurrent())")
        }
        value = value << 4 | UInt32(digit)
        position += 1
      }
      return value
    }
  }
}
