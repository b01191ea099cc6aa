import AttentionCore

/// The byte layout of a `.safetensors` file and its validation, following the reference
/// implementation (huggingface/safetensors):
///
/// ```
/// N (u64 little-endian) | N bytes of UTF-8 JSON header | data buffer
/// header: {"__metadata__": {"key": "value", …},
///          "name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, …}
/// ```
///
/// Offsets are relative to the start of the data buffer. A valid file's tensors tile the buffer
/// exactly: sorted by offset, each begins where the previous one ends, the first at 0 and the
/// last at the buffer's end, and each spans `elements × dtype size` bytes.
enum SafetensorsLayout {
  /// One tensor's header entry, validated against the buffer.
  struct Entry: Equatable, Sendable {
    var name: String
    var dtype: String
    var shape: [Int]
    /// The tensor's bytes, relative to the start of the data buffer.
    var range: Range<Int>
  }

  /// A parsed, validated file.
  struct Parsed: Sendable {
    /// In header order.
    var entries: [Entry]
    var metadata: [String: String]
    /// Index of the first data byte in the file.
    var dataStart: Int
  }

  /// Bits per element of every dtype the format defines; sizes of tensors in other dtypes are
  /// not checked, as their layout is unknown.
  static let bitWidths: [String: Int] = [
    "BOOL": 8, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8,
    "F8_E8M0": 8, "I16": 16, "U16": 16, "F16": 16, "BF16": 16, "I32": 32, "U32": 32, "F32": 32,
    "C64": 64, "F64": 64, "I64": 64, "U64": 64,
  ]

  /// The reference `Dtype` enum's order. Its writer stores tensors in descending order of this
  /// rank, then by name, which puts wider elements first and so keeps every tensor aligned to
  /// its element size.
  static let dtypeRank: [String: Int] = Dictionary(
    uniqueKeysWithValues: [
      "BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0", "I16",
      "U16", "F16", "BF16", "I32", "U32", "F32", "C64", "F64", "I64", "U64",
    ].enumerated().map { ($1, $0) })

  /// The dtype names this library decodes.
  static func elementType(_ dtype: String) -> ElementType? {
    switch dtype {
    case "F32": .float32
    case "F64": .float64
    case "BOOL": .bool
    case "F16": .float16
    case "BF16": .bfloat16
    case "I32": .int32
    case "I64": .int64
    default: nil
    }
  }

  /// The format's name for an element type.
  static func dtypeName(_ type: ElementType) -> String {
    switch type {
    case .float32: "F32"
    case .float64: "F64"
    case .bool: "BOOL"
    case .float16: "F16"
    case .bfloat16: "BF16"
    case .int32: "I32"
    case .int64: "I64"
    }
  }

  static let metadataKey = "__metadata__"

  // MARK: Reading

  /// Parses and validates the header of `bytes` against the data buffer that follows it.
  ///
  /// - Throws: ``TensorFileError`` naming `path`; never traps, whatever the input.
  static func parse(_ bytes: [UInt8], path: String?) throws(TensorFileError) -> Parsed {
    guard bytes.count >= 8 else { throw .truncated(path: path, expected: 8, found: bytes.count) }
    var headerLength: UInt64 = 0
    for index in (0..<8).reversed() { headerLength = headerLength << 8 | UInt64(bytes[index]) }
    let available = bytes.count - 8
    guard headerLength <= UInt64(available) else {
      throw .headerLengthExceedsFile(path: path, headerLength: headerLength, available: available)
    }
    let dataStart = 8 + Int(headerLength)
    let headerBytes = bytes[8..<dataStart]
    guard String(validating: headerBytes, as: UTF8.self) != nil else {
      throw .malformedHeader(path: path, reason: "the header is not valid UTF-8")
    }
    let json: JSONValue
    do {
      json = try JSONValue.parse(headerBytes)
    } catch {
      throw .malformedHeader(
        path: path, reason: "invalid JSON: \(error.reason) at byte \(error.offset) of the header")
    }
    guard case .object(let members) = json else {
      throw .malformedHeader(path: path, reason: "the header is \(json.summary), not an object")
    }

    var entries: [Entry] = []
    var metadata: [String: String]?
    var seen: Set<String> = []
    let bufferLength = bytes.count - dataStart
    for member in members {
      if member.name == metadataKey {
        guard metadata == nil else {
          throw .malformedHeader(path: path, reason: "more than one \"\(metadataKey)\"")
        }
        metadata = try parseMetadata(member.value, path: path)
        continue
      }
      guard seen.insert(member.name).inserted else {
        throw .duplicateTensorName(path: path, name: member.name)
      }
      let entry = try parseEntry(member, path: path, bufferLength: bufferLength)
      try checkSize(entry, path: path)
      entries.append(entry)
    }
    try checkTiling(entries, path: path, bufferLength: bufferLength)
    return Parsed(entries: entries, metadata: metadata ?? [:], dataStart: dataStart)
  }

  private static func parseMetadata(_ value: JSONValue, path: String?) throws(TensorFileError)
    -> [String: String]
  {
    guard case .object(let members) = value else {
      throw .malformedHeader(
        path: path, reason: "\"\(metadataKey)\" is \(value.summary), not an object of strings")
    }
    var metadata: [String: String] = [:]
    for member in members {
      guard case .string(let text) = member.value else {
        throw .malformedHeader(
          path: path,
          reason: "metadata \"\(member.name)\" is \(member.value.summary), not a string")
      }
      metadata[member.name] = text
    }
    return metadata
  }

  private static func parseEntry(
    _ member: JSONValue.Member, path: String?, bufferLength: Int
  ) throws(TensorFileError) -> Entry {
    let name = member.name
    guard case .object(let fields) = member.value else {
      throw .malformedHeader(
        path: path, reason: "tensor '\(name)' is described by \(member.value.summary)")
    }
    func field(_ key: String) throws(TensorFileError) -> JSONValue {
      guard let value = fields.last(where: { $0.name == key })?.value else {
        throw .malformedHeader(path: path, reason: "tensor '\(name)' has no \"\(key)\"")
      }
      return value
    }
    guard case .string(let dtype) = try field("dtype") else {
      throw .malformedHeader(
        path: path, reason: "the dtype of tensor '\(name)' is \(try field("dtype").summary)")
    }
    let shapeValue = try field("shape")
    guard case .array(let dimensions) = shapeValue else {
      throw .malformedHeader(
        path: path, reason: "the shape of tensor '\(name)' is \(shapeValue.summary)")
    }
    var shape: [Int] = []
    for dimension in dimensions {
      guard let size = dimension.integer else {
        throw .malformedHeader(
          path: path,
          reason: "the shape of tensor '\(name)' holds \(dimension.summary), not a"
            + " non-negative integer that fits in Int")
      }
      shape.append(size)
    }
    let offsetsValue = try field("data_offsets")
    guard case .array(let offsets) = offsetsValue, offsets.count == 2 else {
      throw .malformedHeader(
        path: path,
        reason: "the data_offsets of tensor '\(name)' are \(offsetsValue.summary), not [begin, end]"
      )
    }
    guard let begin = offsets[0].integer, let end = offsets[1].integer, end <= bufferLength
    else {
      throw .invalidDataOffsets(
        path: path, tensor: name,
        reason: "[\(offsets[0].summary), \(offsets[1].summary)] extend past the end of the"
          + " \(bufferLength)-byte data buffer (or are not non-negative integers)")
    }
    guard begin <= end else {
      throw .invalidDataOffsets(
        path: path, tensor: name, reason: "[\(begin), \(end)] begin after they end")
    }
    return Entry(name: name, dtype: dtype, shape: shape, range: begin..<end)
  }

  /// Checks that the entry's element count fits in `Int` and, for dtypes whose size is known,
  /// that it spans `elements × dtype size` bytes.
  private static func checkSize(_ entry: Entry, path: String?) throws(TensorFileError) {
    // Counting bits (at least one per element) also proves the element count fits.
    let bits = bitWidths[entry.dtype]
    var totalBits = bits ?? 1
    for dimension in entry.shape {
      let (product, overflow) = totalBits.multipliedReportingOverflow(by: dimension)
      if overflow {
        throw .sizeOverflow(path: path, tensor: entry.name, shape: entry.shape, dtype: entry.dtype)
      }
      totalBits = product
    }
    guard bits != nil else { return }
    guard totalBits % 8 == 0 else {
      throw .malformedHeader(
        path: path,
        reason: "tensor '\(entry.name)' of \(entry.dtype) with shape"
          + " \(entry.shape.shapeDescription) does not fill a whole number of bytes")
    }
    guard totalBits / 8 == entry.range.count else {
      throw .sizeMismatch(
        path: path, tensor: entry.name, shape: entry.shape, dtype: entry.dtype,
        expectedBytes: totalBits / 8, actualBytes: entry.range.count)
    }
  }

  /// Checks that the tensors, sorted by offset, cover the data buffer without gap or overlap.
  private static func checkTiling(_ entries: [Entry], path: String?, bufferLength: Int)
    throws(TensorFileError)
  {
    let sorted = entries.sorted {
      ($0.range.lowerBound, $0.range.upperBound) < ($1.range.lowerBound, $1.range.upperBound)
    }
    var covered = 0
    var previous: Entry?
    for entry in sorted {
      let range = "[\(entry.range.lowerBound), \(entry.range.upperBound)]"
      if entry.range.lowerBound < covered, let previous {
        throw .invalidDataOffsets(
          path: path, tensor: entry.name,
          reason: "\(range) overlap tensor '\(previous.name)' at"
            + " [\(previous.range.lowerBound), \(previous.range.upperBound)]")
      }
      if entry.range.lowerBound > covered {
        throw .invalidDataOffsets(
          path: path, tensor: entry.name,
          reason: "\(range) leave \(entry.range.lowerBound - covered) unused bytes before them")
      }
      covered = entry.range.upperBound
      previous = entry
    }
    guard covered == bufferLength else {
      throw .invalidDataOffsets(
        path: path, tensor: nil,
        reason: "the tensors cover \(covered) bytes but the data buffer holds \(bufferLength)")
    }
  }

  // MARK: Writing

  /// A tensor to write: its dtype name, shape and little-endian bytes.
  struct Outgoing {
    var name: String
    var dtype: String
    var shape: [Int]
    var byteCount: Int
    var appendBytes: (inout [UInt8]) -> Void
  }

  /// The whole file as the reference writer lays it out: tensors sorted by descending dtype rank
  /// then name, contiguous from offset 0, `__metadata__` first in the header (keys sorted), the
  /// header padded with spaces to a multiple of 8 bytes.
  static func encode(_ tensors: [Outgoing], metadata: [String: String]) -> [UInt8] {
    let ordered = tensors.sorted { lhs, rhs in
      let (left, right) = (dtypeRank[lhs.dtype] ?? -1, dtypeRank[rhs.dtype] ?? -1)
      if left != right { return left > right }
      return lhs.name.utf8.lexicographicallyPrecedes(rhs.name.utf8)
    }
    var members: [JSONValue.Member] = []
    if !metadata.isEmpty {
      let pairs = metadata.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
      members.append(
        JSONValue.Member(
          name: metadataKey,
          value: .object(pairs.map { JSONValue.Member(name: $0.key, value: .string($0.value)) })))
    }
    var offset = 0
    for tensor in ordered {
      let end = offset + tensor.byteCount
      members.append(
        JSONValue.Member(
          name: tensor.name,
          value: .object([
            JSONValue.Member(name: "dtype", value: .string(tensor.dtype)),
            JSONValue.Member(
              name: "shape", value: .array(tensor.shape.map { .number(String($0)) })),
            JSONValue.Member(
              name: "data_offsets", value: .array([.number(String(offset)), .number(String(end))])),
          ])))
      offset = end
    }
    var header = JSONValue.object(members).serialized()
    header += repeatElement(UInt8(ascii: " "), count: (8 - header.count % 8) % 8)
    var bytes: [UInt8] = []
    bytes.reserveCapacity(8 + header.count + offset)
    for index in 0..<8 {
      bytes.append(UInt8(truncatingIfNeeded: UInt64(header.count) >> (8 * index)))
    }
    bytes += header
    for tensor in ordered { tensor.appendBytes(&bytes) }
    return bytes
  }
}
