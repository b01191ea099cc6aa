import AttentionCore

/// The fixed preamble and dict header of a `.npy` file (NumPy format versions 1.0, 2.0, 3.0).
///
/// Layout (numpy/lib/format.py):
///
/// ```
/// \x93NUMPY  major  minor  header_length (u16 LE in 1.0, u32 LE in 2.0/3.0)  header  data
/// ```
///
/// The header is the `repr` of a dict with keys `descr`, `fortran_order` and `shape`, padded with
/// spaces and a final newline so that the data starts at a multiple of 64 bytes. Versions 1.0 and
/// 2.0 encode the header in Latin-1, version 3.0 in UTF-8.
struct NPYHeader: Equatable, Sendable {
  var elementType: ElementType
  var shape: [Int]

  static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // "\x93NUMPY"
  /// NumPy aligns the start of the data to this many bytes.
  static let alignment = 64
  /// NumPy leaves room for the first dimension to grow to this many digits in place.
  static let growthAxisMaximumDigits = 21

  /// A parsed preamble and header, and where the data starts.
  struct Located {
    var header: NPYHeader
    var dataOffset: Int
  }

  // MARK: Reading

  /// Reads the preamble and header at the start of `bytes`.
  ///
  /// - Throws: ``TensorFileError`` naming `path`; never traps.
  static func read(_ bytes: [UInt8], path: String?) throws(TensorFileError) -> Located {
    let magicCount = min(bytes.count, magic.count)
    guard bytes[0..<magicCount].elementsEqual(magic[0..<magicCount]) else {
      throw .badMagic(path: path, found: Array(bytes.prefix(magic.count)))
    }
    guard bytes.count >= magic.count + 2 else {
      throw .truncated(path: path, expected: magic.count + 2, found: bytes.count)
    }
    let major = bytes[magic.count]
    let minor = bytes[magic.count + 1]
    let lengthFieldSize: Int
    switch (major, minor) {
    case (1, 0): lengthFieldSize = 2
    case (2, 0), (3, 0): lengthFieldSize = 4
    default: throw .unsupportedVersion(path: path, major: Int(major), minor: Int(minor))
    }
    let headerStart = magic.count + 2 + lengthFieldSize
    guard bytes.count >= headerStart else {
      throw .truncated(path: path, expected: headerStart, found: bytes.count)
    }
    var headerLength = 0
    for index in (magic.count + 2..<headerStart).reversed() {
      headerLength = headerLength << 8 | Int(bytes[index])
    }
    let available = bytes.count - headerStart
    guard headerLength <= available else {
      throw .headerLengthExceedsFile(
        path: path, headerLength: UInt64(headerLength), available: available)
    }
    let dataOffset = headerStart + headerLength
    let headerBytes = bytes[headerStart..<dataOffset]
    let text: [Unicode.Scalar]
    if major == 3 {
      guard let decoded = String(validating: headerBytes, as: UTF8.self) else {
        throw .malformedHeader(path: path, reason: "a version 3.0 header must be UTF-8")
      }
      text = Array(decoded.unicodeScalars)
    } else {
      text = headerBytes.map { Unicode.Scalar($0) }  // Latin-1: each byte is its code point
    }
    let header = try interpret(text, path: path)
    return Located(header: header, dataOffset: dataOffset)
  }

  /// Checks the dict literal the way `numpy.lib.format` does and extracts type and shape.
  private static func interpret(_ text: [Unicode.Scalar], path: String?) throws(TensorFileError)
    -> NPYHeader
  {
    let literal: PythonLiteral
    do {
      literal = try PythonLiteral.parse(text)
    } catch {
      throw .malformedHeader(
        path: path, reason: "not a Python literal: \(error.reason) at offset \(error.offset)")
    }
    guard case .dictionary(let entries) = literal else {
      throw .malformedHeader(path: path, reason: "not a dictionary: \(excerpt(literal))")
    }
    var values: [String: PythonLiteral] = [:]
    for entry in entries {
      guard case .string(let key) = entry.key else {
        throw .malformedHeader(path: path, reason: "key \(excerpt(entry.key)) is not a string")
      }
      guard ["descr", "fortran_order", "shape"].contains(key) else {
        throw .malformedHeader(path: path, reason: "unexpected key \(excerpt(entry.key))")
      }
      guard values.updateValue(entry.value, forKey: key) == nil else {
        throw .malformedHeader(path: path, reason: "duplicate key \(excerpt(entry.key))")
      }
    }
    for key in ["descr", "fortran_order", "shape"] where values[key] == nil {
      throw .malformedHeader(path: path, reason: "missing key '\(key)'")
    }
    guard case .boolean(let fortranOrder)? = values["fortran_order"] else {
      throw .malformedHeader(
        path: path,
        reason: "fortran_order must be True or False, found \(excerpt(values["fortran_order"]))")
    }
    let shape = try interpretShape(values["shape"], path: path)
    let elementType = try interpretDescriptor(values["descr"], path: path)
    if fortranOrder { throw .fortranOrder(path: path) }
    return NPYHeader(elementType: elementType, shape: shape)
  }

  private static func interpretShape(_ value: PythonLiteral?, path: String?)
    throws(TensorFileError) -> [Int]
  {
    guard case .tuple(let items)? = value else {
      throw .malformedHeader(
        path: path, reason: "shape must be a tuple of integers, found \(excerpt(value))")
    }
    var shape: [Int] = []
    for item in items {
      guard case .integer(let digits) = item else {
        throw .malformedHeader(
          path: path, reason: "shape must be a tuple of integers, found \(excerpt(value))")
      }
      guard let dimension = Int(digits) else {
        throw .malformedHeader(
          path: path, reason: "shape dimension \(excerpt(item)) does not fit in Int")
      }
      guard dimension >= 0 else {
        throw .malformedHeader(path: path, reason: "negative dimension in shape \(excerpt(value))")
      }
      shape.append(dimension)
    }
    return shape
  }

  /// Maps a dtype string to an element type; structured dtypes (lists) are unsupported.
  ///
  /// NumPy writes `dtype.str` (`<f2`, `<f4`, `<f8`, `<i4`, `<i8`, `|b1`); `np.dtype` also
  /// accepts the other spellings handled here (not `l`, C `long`, whose width depends on the
  /// platform that wrote the file). `=` and no prefix mean native order, little-endian on every
  /// platform this library builds for; `|` means "not applicable".
  private static func interpretDescriptor(_ value: PythonLiteral?, path: String?)
    throws(TensorFileError) -> ElementType
  {
    guard case .string(let descriptor)? = value else {
      throw .unsupportedDType(path: path, tensor: nil, dtype: excerpt(value))
    }
    var code = Substring(descriptor)
    var bigEndian = false
    if let first = code.first, "<>=|".contains(first) {
      bigEndian = first == ">"
      code = code.dropFirst()
    }
    let elementType: ElementType
    switch code {
    case "f4", "f", "float32": elementType = .float32
    case "f8", "d", "float64", "double": elementType = .float64
    case "b1", "?", "bool": elementType = .bool
    case "f2", "e", "float16", "half": elementType = .float16
    case "i4", "i", "int32": elementType = .int32
    case "i8", "q", "int64": elementType = .int64
    default: throw .unsupportedDType(path: path, tensor: nil, dtype: descriptor)
    }
    if bigEndian && elementType.byteWidth > 1 {
      throw .bigEndian(path: path, dtype: descriptor)
    }
    return elementType
  }

  /// A value's repr for a message, shortened: a hostile header can be megabytes long.
  private static func excerpt(_ value: PythonLiteral?) -> String {
    guard let value else { return "nothing" }
    let text = value.description
    return text.count > 80 ? String(text.prefix(80)) + "…" : text
  }

  // MARK: Writing

  /// The `dtype.str` NumPy writes for the element type.
  ///
  /// - Precondition: not bfloat16, which NumPy lacks (``NPY/encode(_:)`` widens it to float32).
  var descriptor: String {
    switch elementType {
    case .float32: "<f4"
    case .float64: "<f8"
    case .bool: "|b1"
    case .float16: "<f2"
    case .int32: "<i4"
    case .int64: "<i8"
    case .bfloat16: preconditionFailure("NumPy has no bfloat16 dtype")
    }
  }

  /// The preamble and padded header exactly as `numpy.save` writes them: version 1.0 when the
  /// header fits in 65,535 bytes, 2.0 otherwise.
  func encoded() -> [UInt8] {
    let shapeText: String
    switch shape.count {
    case 0: shapeText = "()"
    case 1: shapeText = "(\(shape[0]),)"
    default: shapeText = "(" + shape.map(String.init).joined(separator: ", ") + ")"
    }
    var dictionary = "{'descr': '\(descriptor)', 'fortran_order': False, 'shape': \(shapeText), }"
    if let first = shape.first {
      let digits = String(first).count
      dictionary += String(repeating: " ", count: max(0, Self.growthAxisMaximumDigits - digits))
    }
    let text = Array(dictionary.utf8)  // ASCII
    for (major, lengthFieldSize) in [(UInt8(1), 2), (2, 4)] {
      let unpadded = Self.magic.count + 2 + lengthFieldSize + text.count + 1  // + "\n"
      let padding = Self.alignment - unpadded % Self.alignment
      let headerLength = text.count + padding + 1
      guard lengthFieldSize == 4 || headerLength <= Int(UInt16.max) else { continue }
      var bytes = Self.magic + [major, 0]
      for index in 0..<lengthFieldSize {
        bytes.append(UInt8(truncatingIfNeeded: headerLength >> (8 * index)))
      }
      bytes += text
      bytes += repeatElement(UInt8(ascii: " "), count: padding)
      bytes.append(UInt8(ascii: "\n"))
      return bytes
    }
    preconditionFailure("unreachable: version 2.0 always fits")
  }
}
