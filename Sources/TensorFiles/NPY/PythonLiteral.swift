import AttentionCore

/// A value of the subset of Python literal syntax that `.npy` headers are written in.
///
/// NumPy writes the header as `repr` of a dict and reads it back with `ast.literal_eval`, so a
/// conforming reader must accept any spelling Python would: keys in any order, either quote
/// style, arbitrary spaces and newlines, trailing commas, `(3,)` versus `(3)` (the latter is just
/// `3`), Python 2's `3L` integers and `u'...'` strings. This parser accepts exactly that subset:
/// dicts, tuples, lists, strings, integers, `True`, `False` and `None`. Floats, sets and
/// expressions are rejected, as they cannot occur in a valid header.
indirect enum PythonLiteral: Equatable, Sendable, CustomStringConvertible {
  case string(String)
  /// An integer as written (sign and digits, underscores and `L` removed), so values beyond
  /// `Int` survive parsing and are reported by the code that interprets them.
  case integer(String)
  case boolean(Bool)
  case none
  case tuple([PythonLiteral])
  case list([PythonLiteral])
  case dictionary([Entry])

  /// One `key: value` pair of a dict literal, in source order (duplicates kept for the caller
  /// to reject).
  struct Entry: Equatable, Sendable {
    var key: PythonLiteral
    var value: PythonLiteral
  }

  /// The value as Python's `repr` would print it, for error messages.
  var description: String {
    switch self {
    case .string(let text):
      return "'"
        + text.unicodeScalars.map { scalar in
          switch scalar {
          case "'": "\\'"
          case "\\": "\\\\"
          case "\n": "\\n"
          default:
            scalar.value < 0x20 || scalar.value == 0x7F
              ? "\\x" + (scalar.value < 16 ? "0" : "") + String(scalar.value, radix: 16)
              : String(scalar)
          }
        }.joined() + "'"
    case .integer(let digits): return digits
    case .boolean(let value): return value ? "True" : "False"
    case .none: return "None"
    case .tuple(let items):
      return "(" + items.map(\.description).joined(separator: ", ")
        + (items.count == 1 ? ",)" : ")")
    case .list(let items): return "[" + items.map(\.description).joined(separator: ", ") + "]"
    case .dictionary(let entries):
      return "{" + entries.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
    }
  }

  /// Why a header failed to parse, with the character offset into the header.
  struct SyntaxError: Error, Equatable {
    var offset: Int
    var reason: String
  }

  /// Parses `text` as a single literal surrounded by optional whitespace.
  ///
  /// - Throws: ``SyntaxError`` for anything else; never traps, whatever the input.
  /// - Complexity: O(n); nesting deeper than ``maximumDepth`` is rejected so a hostile header
  ///   cannot exhaust the stack.
  static func parse(_ text: [Unicode.Scalar]) throws(SyntaxError) -> PythonLiteral {
    var parser = Parser(text: text)
    let value = try parser.parseValue(depth: 0)
    parser.skipWhitespace()
    if parser.position < text.count {
      throw parser.error("unexpected \(parser.quoted(parser.position)) after the value")
    }
    return value
  }

  /// Headers nest two levels (dict → tuple); structured dtypes a few more.
  static let maximumDepth = 32

  private struct Parser {
    let text: [Unicode.Scalar]
    var position = 0

    func error(_ reason: String) -> SyntaxError {
      SyntaxError(offset: position, reason: reason)
    }

    /// The character at `index` quoted for a message, or "end of header".
    func quoted(_ index: Int) -> String {
      guard index < text.count else { return "end of header" }
      let scalar = text[index]
      if scalar.value < 0x20 || scalar.value >= 0x7F {
        return "character U+" + String(scalar.value, radix: 16, uppercase: true)
      }
      return "'\(scalar)'"
    }

    var current: Unicode.Scalar? { position < text.count ? text[position] : nil }

    mutating func skipWhitespace() {
      while let scalar = current {
        switch scalar {
        case " ", "\t", "\n", "\r", "\u{0B}", "\u{0C}": position += 1
        case "\\" where position + 1 < text.count && text[position + 1] == "\n":
          position += 2  // explicit line continuation
        default: return
        }
      }
    }

    mutating func parseValue(depth: Int) throws(SyntaxError) -> PythonLiteral {
      guard depth < PythonLiteral.maximumDepth else {
        throw error("nesting deeper than \(PythonLiteral.maximumDepth) levels")
      }
      skipWhitespace()
      guard let scalar = current else { throw error("expected a value, found end of header") }
      switch scalar {
      case "{": return try parseDictionary(depth: depth)
      case "(": return try parseParenthesized(depth: depth)
      case "[":
        position += 1
        return .list(try parseItems(closing: "]", depth: depth))
      case "'", "\"": return .string(try parseString(raw: false))
      case "0"..."9", "-", "+": return try parseInteger()
      case "a"..."z", "A"..."Z", "_": return try parseName()
      default: throw error("unexpected \(quoted(position))")
      }
    }

    mutating func parseDictionary(depth: Int) throws(SyntaxError) -> PythonLiteral {
      position += 1  // "{"
      var entries: [Entry] = []
      while true {
        skipWhitespace()
        if current == "}" {
          position += 1
          return .dictionary(entries)
        }
        let key = try parseValue(depth: depth + 1)
        skipWhitespace()
        guard current == ":" else {
          throw error("expected ':' after key \(key), found \(quoted(position))")
        }
        position += 1
        let value = try parseValue(depth: depth + 1)
        entries.append(Entry(key: key, value: value))
        skipWhitespace()
        switch current {
        case ",": position += 1
        case "}": continue
        default: throw error("expected ',' or '}' in dict, found \(quoted(position))")
        }
      }
    }

    /// `()` is an empty tuple, `(x)` is `x`, `(x,)` and `(x, y)` are tuples.
    mutating func parseParenthesized(depth: Int) throws(SyntaxError) -> PythonLiteral {
      position += 1  // "("
      skipWhitespace()
      if current == ")" {
        position += 1
        return .tuple([])
      }
      let first = try parseValue(depth: depth + 1)
      skipWhitespace()
      switch current {
      case ")":
        position += 1
        return first
      case ",":
        position += 1
        return .tuple([first] + (try parseItems(closing: ")", depth: depth)))
      default:
        throw error("expected ',' or ')' in tuple, found \(quoted(position))")
      }
    }

    /// Comma-separated values up to `closing`, a trailing comma allowed.
    mutating func parseItems(closing: Unicode.Scalar, depth: Int) throws(SyntaxError)
      -> [PythonLiteral]
    {
      var items: [PythonLiteral] = []
      while true {
        skipWhitespace()
        if current == closing {
          position += 1
          return items
        }
        items.append(try parseValue(depth: depth + 1))
        skipWhitespace()
        switch current {
        case ",": position += 1
        case closing: continue
        default: throw error("expected ',' or '\(closing)', found \(quoted(position))")
        }
      }
    }

    /// A single-line string in either quote style; `raw` strings keep backslashes.
    mutating func parseString(raw: Bool) throws(SyntaxError) -> String {
      guard let quote = current else { throw error("expected a string") }
      position += 1
      var result = String.UnicodeScalarView()
      while true {
        guard let scalar = current else { throw error("unterminated string") }
        position += 1
        if scalar == quote { return String(result) }
        if scalar == "\n" { throw error("newline inside a string") }
        guard scalar == "\\" && !raw else {
          result.append(scalar)
          continue
        }
        guard let escaped = current else { throw error("unterminated string") }
        position += 1
        switch escaped {
        case "\\", "'", "\"": result.append(escaped)
        case "n": result.append("\n")
        case "t": result.append("\t")
        case "r": result.append("\r")
        case "0": result.append("\u{0}")
        case "\n": break  // an escaped newline continues the string
        case "x":
          guard position + 2 <= text.count,
            let value = UInt8(
              String(String.UnicodeScalarView(text[position..<position + 2])), radix: 16)
          else { throw error("invalid \\x escape") }
          position += 2
          result.append(Unicode.Scalar(value))
        default:
          // Python keeps unknown escapes literally.
          result.append("\\")
          result.append(escaped)
        }
      }
    }

    mutating func parseInteger() throws(SyntaxError) -> PythonLiteral {
      var digits = ""
      if current == "-" || current == "+" {
        if current == "-" { digits = "-" }
        position += 1
        skipWhitespace()  // Python allows "- 3"
      }
      var sawDigit = false
      var previousWasUnderscore = false
      while let scalar = current {
        if ("0"..."9").contains(scalar) {
          digits.unicodeScalars.append(scalar)
          sawDigit = true
          previousWasUnderscore = false
        } else if scalar == "_" && sawDigit && !previousWasUnderscore {
          previousWasUnderscore = true
        } else {
          break
        }
        position += 1
      }
      guard sawDigit && !previousWasUnderscore else { throw error("malformed integer") }
      if current == "L" || current == "l" { position += 1 }  // Python 2 long
      if let next = current,
        next == "." || next == "e" || next == "E" || next == "j"
          || next == "x" || next == "o" || next == "b" || next == "_"
      {
        throw error("only decimal integers may appear in a header, found \(quoted(position))")
      }
      return .integer(digits)
    }

    /// `True`, `False`, `None`, or a string with a prefix (`u'…'`, `b'…'`, `r'…'`).
    mutating func parseName() throws(SyntaxError) -> PythonLiteral {
      let start = position
      while let scalar = current,
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
          || ("0"..."9").contains(scalar) || scalar == "_"
      {
        position += 1
      }
      let name = String(String.UnicodeScalarView(text[start..<position]))
      switch name {
      case "True": return .boolean(true)
      case "False": return .boolean(false)
      case "None": return .none
      default: break
      }
      if current == "'" || current == "\"",
        ["u", "b", "r", "br", "rb"].contains(name.lowercased())
      {
        return .string(try parseString(raw: name.lowercased().contains("r")))
      }
      position = start
      throw error("unexpected name '\(name)'")
    }
  }
}
