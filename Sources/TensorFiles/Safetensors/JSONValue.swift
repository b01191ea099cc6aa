import AttentionCore

/// A parsed JSON value (RFC 8259), as found in a `.safetensors` header.
///
/// A small parser of our own rather than Foundation's `JSONSerialization`, for three reasons the
/// format needs: object members keep their order and duplicates (so a duplicate tensor name is
/// reported, not silently dropped), numbers keep their text (so offsets beyond 2^53 are neither
/// rounded nor mistaken), and the library stays free of Foundation.
indirect enum JSONValue: Equatable, Sendable {
  case object([Member])
  case array([JSONValue])
  case string(String)
  /// A number as written; see ``integer``.
  case number(String)
  case boolean(Bool)
  case null

  /// One `"name": value` pair of an object, in source order.
  struct Member: Equatable, Sendable {
    var name: String
    var value: JSONValue
  }

  /// The value as a non-negative integer, or `nil` for a negative or fractional number or one
  /// that does not fit in `Int`.
  var integer: Int? {
    guard case .number(let text) = self else { return nil }
    return Int(text).flatMap { $0 >= 0 ? $0 : nil }
  }

  /// A short rendering for error messages.
  var summary: String {
    switch self {
    case .object(let members): return "an object with \(members.count) members"
    case .array(let items): return "an array of \(items.count) values"
    case .string(let text): return "\"" + Self.shortened(text) + "\""
    case .number(let text): return Self.shortened(text)
    case .boolean(let value): return value ? "true" : "false"
    case .null: return "null"
    }
  }

  private static func shortened(_ text: String) -> String {
    text.count > 40 ? String(text.prefix(40)) + "…" : text
  }

  /// Why a header failed to parse, with the byte offset into the header.
  struct SyntaxError: Error, Equatable {
    var offset: Int
    var reason: String
  }

  /// Deeper nesting is rejected so a hostile header cannot exhaust the stack; a safetensors
  /// header nests three levels.
  static let maximumDepth = 64

  /// Parses `bytes` (UTF-8) as one JSON value surrounded by optional whitespace.
  ///
  /// - Throws: ``SyntaxError``; never traps, whatever the input.
  /// - Complexity: O(n).
  static func parse(_ bytes: ArraySlice<UInt8>) throws(SyntaxError) -> JSONValue {
    var parser = Parser(bytes: bytes, position: bytes.startIndex)
    let value = try parser.parseValue(depth: 0)
    parser.skipWhitespace()
    if parser.position < bytes.endIndex {
      throw parser.error("unexpected \(parser.describeCurrent()) after the value")
    }
    return value
  }

  /// Writes the value compactly (no spaces), escaping strings as `serde_json` does, which is
  /// what the reference safetensors writer uses.
  func serialized() -> [UInt8] {
    var output: [UInt8] = []
    serialize(into: &output)
    return output
  }

  private func serialize(into output: inout [UInt8]) {
    switch self {
    case .object(let members):
      output.append(UInt8(ascii: "{"))
      for (index, member) in members.enumerated() {
        if index > 0 { output.append(UInt8(ascii: ",")) }
        JSONValue.string(member.name).serialize(into: &output)
        output.append(UInt8(ascii: ":"))
        member.value.serialize(into: &output)
      }
      output.append(UInt8(ascii: "}"))
    case .array(let items):
      output.append(UInt8(ascii: "["))
      for (index, item) in items.enumerated() {
        if index > 0 { output.append(UInt8(ascii: ",")) }
        item.serialize(into: &output)
      }
      output.append(UInt8(ascii: "]"))
    case .string(let text):
      output.append(UInt8(ascii: "\""))
      for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "\""): output += Array("\\\"".utf8)
        case UInt8(ascii: "\\"): output += Array("\\\\".utf8)
        case 0x0A: output += Array("\\n".utf8)
        case 0x0D: output += Array("\\r".utf8)
        case 0x09: output += Array("\\t".utf8)
        case 0x08: output += Array("\\b".utf8)
        case 0x0C: output += Array("\\f".utf8)
        case 0..<0x20:
          let hex = Array("0123456789abcdef".utf8)
          output += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
        default: output.append(byte)
        }
      }
      output.append(UInt8(ascii: "\""))
    case .number(let text): output += Array(text.utf8)
    case .boolean(let value): output += Array((value ? "true" : "false").utf8)
    case .null: output += Array("null".utf8)
    }
  }

  private struct Parser {
    let bytes: ArraySlice<UInt8>
    var position: Int

    func error(_ reason: String) -> SyntaxError {
      SyntaxError(offset: position - bytes.startIndex, reason: reason)
    }

    var current: UInt8? { position < bytes.endIndex ? bytes[position] : nil }

    func describeCurrent() -> String {
      guard let byte = current else { return "end of header" }
      if byte >= 0x20 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
      return "byte 0x" + String(byte, radix: 16, uppercase: true)
    }

    mutating func skipWhitespace() {
      while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D {
        position += 1
      }
    }

    mutating func parseValue(depth: Int) throws(SyntaxError) -> JSONValue {
      guard depth < JSONValue.maximumDepth else {
        throw error("nesting deeper than \(JSONValue.maximumDepth) levels")
      }
      skipWhitespace()
      guard let byte = current else { throw error("expected a value, found end of header") }
      switch byte {
      case UInt8(ascii: "{"): return try parseObject(depth: depth)
      case UInt8(ascii: "["): return try parseArray(depth: depth)
      case UInt8(ascii: "\""): return .string(try parseString())
      case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
      case UInt8(ascii: "t"): return try parseKeyword("true", .boolean(true))
      case UInt8(ascii: "f"): return try parseKeyword("false", .boolean(false))
      case UInt8(ascii: "n"): return try parseKeyword("null", .null)
      default: throw error("expected a value, found \(describeCurrent())")
      }
    }

    mutating func parseKeyword(_ word: String, _ value: JSONValue) throws(SyntaxError) -> JSONValue
    {
      let utf8 = Array(word.utf8)
      guard bytes.endIndex - position >= utf8.count,
        bytes[position..<position + utf8.count].elementsEqual(utf8)
      else { throw error("expected a value, found \(describeCurrent())") }
      position += utf8.count
      return value
    }

    mutating func parseObject(depth: Int) throws(SyntaxError) -> JSONValue {
      position += 1  // "{"
      var members: [Member] = []
      skipWhitespace()
      if current == UInt8(ascii: "}") {
        position += 1
        return .object(members)
      }
      while true {
        skipWhitespace()
        guard current == UInt8(ascii: "\"") else {
          throw error("expected a member name in quotes, found \(describeCurrent())")
        }
        let name = try parseString()
        skipWhitespace()
        guard current == UInt8(ascii: ":") else {
          throw error("expected ':' after \"\(name)\", found \(describeCurrent())")
        }
        position += 1
        members.append(Member(name: name, value: try parseValue(depth: depth + 1)))
        skipWhitespace()
        switch current {
        case UInt8(ascii: ","): position += 1
        case UInt8(ascii: "}"):
          position += 1
          return .object(members)
        default: throw error("expected ',' or '}' in object, found \(describeCurrent())")
        }
      }
    }

    mutating func parseArray(depth: Int) throws(SyntaxError) -> JSONValue {
      position += 1  // "["
      var items: [JSONValue] = []
      skipWhitespace()
      if current == UInt8(ascii: "]") {
        position += 1
        return .array(items)
      }
      while true {
        items.append(try parseValue(depth: depth + 1))
        skipWhitespace()
        switch current {
        case UInt8(ascii: ","): position += 1
        case UInt8(ascii: "]"):
          position += 1
          return .array(items)
        default: throw error("expected ',' or ']' in array, found \(describeCurrent())")
        }
      }
    }

    /// A JSON number: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    mutating func parseNumber() throws(SyntaxError) -> JSONValue {
      let start = position
      func isDigit(_ byte: UInt8?) -> Bool {
        byte.map { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") } ?? false
      }
      if current == UInt8(ascii: "-") { position += 1 }
      if current == UInt8(ascii: "0") {
        position += 1
      } else if isDigit(current) {
        while isDigit(current) { position += 1 }
      } else {
        throw error("malformed number")
      }
      if current == UInt8(ascii: ".") {
        position += 1
        guard isDigit(current) else { throw error("malformed number") }
        while isDigit(current) { position += 1 }
      }
      if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
        position += 1
        if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
        guard isDigit(current) else { throw error("malformed number") }
        while isDigit(current) { position += 1 }
      }
      return .number(String(decoding: bytes[start..<position], as: UTF8.self))
    }

    /// A string with its escapes resolved; the header was validated as UTF-8 beforehand, so
    /// unescaped bytes are copied as they are.
    mutating func parseString() throws(SyntaxError) -> String {
      position += 1  // opening quote
      var utf8: [UInt8] = []
      while true {
        guard let byte = current else { throw error("unterminated string") }
        position += 1
        switch byte {
        case UInt8(ascii: "\""):
          guard let text = String(validating: utf8, as: UTF8.self) else {
            throw error("string is not valid UTF-8")
          }
          return text
        case 0..<0x20:
          throw error("unescaped control character 0x\(String(byte, radix: 16)) in a string")
        case UInt8(ascii: "\\"):
          guard let escaped = current else { throw error("unterminated string") }
          position += 1
          switch escaped {
          case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escaped)
          case UInt8(ascii: "b"): utf8.append(0x08)
          case UInt8(ascii: "f"): utf8.append(0x0C)
          case UInt8(ascii: "n"): utf8.append(0x0A)
          case UInt8(ascii: "r"): utf8.append(0x0D)
          case UInt8(ascii: "t"): utf8.append(0x09)
          case UInt8(ascii: "u"):
            var scalar = try parseHexQuad()
            if (0xD800..<0xDC00).contains(scalar) {
              // A high surrogate must be followed by an escaped low surrogate.
              guard bytes.endIndex - position >= 2, bytes[position] == UInt8(ascii: "\\"),
                bytes[position + 1] == UInt8(ascii: "u")
              else { throw error("unpaired surrogate in \\u escape") }
              position += 2
              let low = try parseHexQuad()
              guard (0xDC00..<0xE000).contains(low) else {
                throw error("unpaired surrogate in \\u escape")
              }
              scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            }
            guard let unicode = Unicode.Scalar(scalar) else {
              throw error("unpaired surrogate in \\u escape")
            }
            utf8 += Array(String(Character(unicode)).utf8)
          default:
            throw error("invalid escape '\\\(Character(Unicode.Scalar(escaped)))'")
          }
        default:
          utf8.append(byte)
        }
      }
    }

    mutating func parseHexQuad() throws(SyntaxError) -> UInt32 {
      guard bytes.endIndex - position >= 4 else { throw error("truncated \\u escape") }
      var value: UInt32 = 0
      for _ in 0..<4 {
        let byte = bytes[position]
        let digit: UInt8
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
        default: throw error("invalid hex digit in \\u escape")
        }
        value = value << 4 | UInt32(digit)
        position += 1
      }
      return value
    }
  }
}
