import AttentionTestSupport
import Foundation

/// A NumPy `.npy` array encoded and decoded by hand, independently of the library's reader, so
/// the end-to-end tests also check the file format the tool speaks.
///
/// Values are kept as `Double` whatever the dtype (a bool is 0 or 1); `float32` and `float16`
/// values are rounded to `Float` and `Float16` (the standard library's conversions) when encoded.
struct NPYArray: Equatable {
  enum DType: String {
    case float32 = "<f4"
    case float64 = "<f8"
    case bool = "|b1"
    case float16 = "<f2"
    case int32 = "<i4"

    /// Bytes per element.
    var width: Int {
      switch self {
      case .bool: 1
      case .float16: 2
      case .float32, .int32: 4
      case .float64: 8
      }
    }
  }

  var dtype: DType
  var shape: [Int]
  var values: [Double]

  init(_ dtype: DType, shape: [Int], values: [Double]) {
    precondition(shape.reduce(1, *) == values.count, "test data: shape and count disagree")
    self.dtype = dtype
    self.shape = shape
    self.values = values
  }

  /// Seeded normal values of standard deviation `scale` (the suite's ``TestData``).
  static func random(
    _ dtype: DType, shape: [Int], seed: UInt64, scale: Double = 1
  ) -> NPYArray {
    var data = TestData(seed: seed)
    var values: [Double] = []
    for normal in data.normal([shape.reduce(1, *)], as: Double.self).scalars {
      var value = scale * normal
      switch dtype {
      case .float32: value = Double(Float(value))
      case .float16: value = Double(Float16(value))
      case .int32: value = value.rounded()
      case .float64, .bool: break
      }
      values.append(value)
    }
    return NPYArray(dtype, shape: shape, values: values)
  }

  /// The `.npy` version 1.0 bytes: magic, header length, a Python-dict header padded with spaces
  /// to a multiple of 64 bytes, then the little-endian C-order data.
  func encoded() -> Data {
    let shapeText: String
    switch shape.count {
    case 0: shapeText = "()"
    case 1: shapeText = "(\(shape[0]),)"
    default: shapeText = "(" + shape.map(String.init).joined(separator: ", ") + ")"
    }
    var header = "{'descr': '\(dtype.rawValue)', 'fortran_order': False, 'shape': \(shapeText), }"
    let unpadded = 10 + header.utf8.count + 1
    header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
    var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
    let length = UInt16(header.utf8.count)
    data.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
    data.append(contentsOf: Array(header.utf8))
    for value in values {
      switch dtype {
      case .float32:
        withUnsafeBytes(of: Float(value).bitPattern.littleEndian) { data.append(contentsOf: $0) }
      case .float64:
        withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) }
      case .bool: data.append(value != 0 ? 1 : 0)
      case .float16:
        withUnsafeBytes(of: Float16(value).bitPattern.littleEndian) { data.append(contentsOf: $0) }
      case .int32:
        withUnsafeBytes(of: Int32(value).littleEndian) { data.append(contentsOf: $0) }
      }
    }
    return data
  }

  struct FormatError: Error, CustomStringConvertible {
    let description: String
  }

  /// Decodes `.npy` bytes of the dtypes above (versions 1, 2 and 3 of the format).
  init(decoding data: Data) throws {
    let bytes = [UInt8](data)
    guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8) else {
      throw FormatError(description: "not an .npy file")
    }
    let major = bytes[6]
    let headerStart = major == 1 ? 10 : 12
    let headerLength =
      major == 1
      ? Int(bytes[8]) | Int(bytes[9]) << 8
      : Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
    guard bytes.count >= headerStart + headerLength else {
      throw FormatError(description: "truncated header")
    }
    let header = String(decoding: bytes[headerStart..<headerStart + headerLength], as: UTF8.self)
    guard let descrRange = header.range(of: #"'descr':\s*'([^']*)'"#, options: .regularExpression),
      let shapeRange = header.range(of: #"'shape':\s*\([^)]*\)"#, options: .regularExpression)
    else { throw FormatError(description: "header without descr or shape: \(header)") }
    let descr = header[descrRange].split(separator: "'")[2]
    guard let dtype = DType(rawValue: String(descr)) else {
      throw FormatError(description: "unsupported descr \(descr)")
    }
    guard !header.contains("'fortran_order': True") else {
      throw FormatError(description: "Fortran order")
    }
    let shapeText = header[shapeRange].drop { $0 != "(" }.dropFirst().prefix { $0 != ")" }
    let shape = shapeText.split(separator: ",").compactMap {
      Int($0.trimmingCharacters(in: .whitespaces))
    }
    let count = shape.reduce(1, *)
    let body = Array(bytes[(headerStart + headerLength)...])
    let width = dtype.width
    guard body.count == count * width else {
      throw FormatError(description: "\(body.count) data bytes for shape \(shape) of \(dtype)")
    }
    var values: [Double] = []
    values.reserveCapacity(count)
    for index in 0..<count {
      let offset = index * width
      switch dtype {
      case .float32:
        var bits: UInt32 = 0
        for byte in 0..<4 { bits |= UInt32(body[offset + byte]) << (8 * byte) }
        values.append(Double(Float(bitPattern: bits)))
      case .float64:
        var bits: UInt64 = 0
        for byte in 0..<8 { bits |= UInt64(body[offset + byte]) << (8 * byte) }
        values.append(Double(bitPattern: bits))
      case .bool:
        values.append(body[offset] != 0 ? 1 : 0)
      case .float16:
        let bits = UInt16(body[offset]) | UInt16(body[offset + 1]) << 8
        values.append(Double(Float16(bitPattern: bits)))
      case .int32:
        var bits: UInt32 = 0
        for byte in 0..<4 { bits |= UInt32(body[offset + byte]) << (8 * byte) }
        values.append(Double(Int32(bitPattern: bits)))
      }
    }
    self.init(dtype, shape: shape, values: values)
  }
}
