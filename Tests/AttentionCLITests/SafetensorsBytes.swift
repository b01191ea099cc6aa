import Foundation

/// A `.safetensors` file built by hand, independently of the library's reader and writer: an
/// 8-byte little-endian header length, a JSON header naming each tensor's dtype, shape and byte
/// range, then the little-endian data.
enum SafetensorsBytes {
  /// How floating-point arrays are stored.
  enum FloatStorage {
    /// As each array's dtype says: `F32`, `F64` or `F16`.
    case asArrays
    /// Every floating-point array as `BF16`, its values' upper 16 bits as `Float`; the values
    /// must be exactly representable (see ``NPYArray/roundedToBFloat16()``).
    case bfloat16
  }

  /// The file holding `tensors` (name → array), in name order, each array stored as `storage`
  /// says (bool arrays as `BOOL`).
  static func encode(_ tensors: [String: NPYArray], storing storage: FloatStorage = .asArrays)
    -> Data
  {
    var header: [String] = []
    var body = Data()
    for (name, array) in tensors.sorted(by: { $0.key < $1.key }) {
      let start = body.count
      let brain = storage == .bfloat16 && array.dtype != .bool && array.dtype != .int32
      for value in array.values {
        if brain {
          let bits = Float(value).bitPattern
          precondition(
            bits & 0xFFFF == 0 && (value.isNaN || Double(Float(value)) == value), "not a bfloat16")
          withUnsafeBytes(of: UInt16(bits >> 16).littleEndian) { body.append(contentsOf: $0) }
          continue
        }
        switch array.dtype {
        case .float32:
          withUnsafeBytes(of: Float(value).bitPattern.littleEndian) { body.append(contentsOf: $0) }
        case .float64:
          withUnsafeBytes(of: value.bitPattern.littleEndian) { body.append(contentsOf: $0) }
        case .float16:
          withUnsafeBytes(of: Float16(value).bitPattern.littleEndian) {
            body.append(contentsOf: $0)
          }
        case .int32:
          withUnsafeBytes(of: Int32(value).littleEndian) { body.append(contentsOf: $0) }
        case .bool: body.append(value != 0 ? 1 : 0)
        }
      }
      let dtype: String
      switch array.dtype {
      case _ where brain: dtype = "BF16"
      case .float32: dtype = "F32"
      case .float64: dtype = "F64"
      case .float16: dtype = "F16"
      case .int32: dtype = "I32"
      case .bool: dtype = "BOOL"
      }
      let shape = array.shape.map(String.init).joined(separator: ",")
      header.append(
        "\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":[\(shape)],\"data_offsets\":[\(start),\(body.count)]}"
      )
    }
    var json = Array(("{" + header.joined(separator: ",") + "}").utf8)
    while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }
    var data = Data()
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
    data.append(contentsOf: json)
    data.append(body)
    return data
  }
}

extension NPYArray {
  /// The array with each value cut to a bfloat16 (the upper 16 bits of its `Float`), so that
  /// ``SafetensorsBytes/encode(_:storing:)`` can store it as `BF16` exactly.
  func roundedToBFloat16() -> NPYArray {
    var copy = self
    copy.values = values.map { Double(Float(bitPattern: Float($0).bitPattern & 0xFFFF_0000)) }
    return copy
  }
}
