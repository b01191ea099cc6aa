import Foundation

/// A `.safetensors` file built by hand, independently of the library's reader: an 8-byte
/// little-endian header length, a JSON header naming each tensor's dtype, shape and byte range,
/// then the little-endian data.
enum SafetensorsBytes {
  /// The file holding `tensors` (name → array), in name order, as float32 (`F32`) or float64
  /// (`F64`) as each array's dtype says.
  static func encode(_ tensors: [String: NPYArray]) -> Data {
    var header: [String] = []
    var body = Data()
    for (name, array) in tensors.sorted(by: { $0.key < $1.key }) {
      let start = body.count
      for value in array.values {
        switch array.dtype {
        case .float32:
          withUnsafeBytes(of: Float(value).bitPattern.littleEndian) { body.append(contentsOf: $0) }
        case .float64:
          withUnsafeBytes(of: value.bitPattern.littleEndian) { body.append(contentsOf: $0) }
        case .bool: body.append(value != 0 ? 1 : 0)
        }
      }
      let dtype = array.dtype == .float32 ? "F32" : array.dtype == .float64 ? "F64" : "BOOL"
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
