import Attention
import Foundation

/// Reads a `.safetensors` file one tensor at a time: the header first, then each tensor's bytes
/// from the file on their own, converted straight to `Float`.
///
/// Loading a model this way holds the `Float` weights taken so far plus one tensor's bytes,
/// never the whole file beside its converted tensors.
struct SafetensorsTensorReader {
  /// One tensor's header entry.
  struct Entry {
    var name: String
    var dtype: String
    var shape: [Int]
    /// Byte offsets in the file (after the header).
    var range: Range<Int>
  }

  let path: String
  private(set) var entries: [Entry] = []
  private let handle: FileHandle

  init(path: String) throws {
    self.path = path
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw TextGenerationError(.unreadableFile, file: path, "\(path): cannot open the file")
    }
    self.handle = handle
    let fileSize = Int(try handle.seekToEnd())
    try handle.seek(toOffset: 0)
    let lengthBytes = try handle.read(upToCount: 8) ?? Data()
    guard lengthBytes.count == 8 else { throw Self.malformed(path, "shorter than 8 bytes") }
    let length = lengthBytes.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    guard length <= UInt64(fileSize - 8) else {
      throw Self.malformed(path, "header length \(length) exceeds the file (\(fileSize) bytes)")
    }
    let headerData = try handle.read(upToCount: Int(length)) ?? Data()
    guard
      let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any]
    else { throw Self.malformed(path, "the header is not a JSON object") }
    let dataStart = 8 + Int(length)
    for (name, value) in header where name != "__metadata__" {
      guard let fields = value as? [String: Any], let dtype = fields["dtype"] as? String,
        let shape = fields["shape"] as? [Int], let offsets = fields["data_offsets"] as? [Int],
        offsets.count == 2, shape.allSatisfy({ $0 >= 0 })
      else { throw Self.malformed(path, "tensor '\(name)' has a malformed header entry") }
      let range = (dataStart + offsets[0])..<(dataStart + offsets[1])
      guard offsets[0] >= 0, offsets[0] <= offsets[1], range.upperBound <= fileSize else {
        throw Self.malformed(path, "tensor '\(name)' has data offsets \(offsets) outside the file")
      }
      entries.append(Entry(name: name, dtype: dtype, shape: shape, range: range))
    }
    entries.sort { $0.range.lowerBound < $1.range.lowerBound }
  }

  private static func malformed(_ path: String, _ reason: String) -> TextGenerationError {
    TextGenerationError(.unreadableFile, file: path, "\(path): not a safetensors file: \(reason)")
  }

  /// The tensor of `entry`, read from the file and converted to `Float`.
  func floats(_ entry: Entry) throws -> Tensor<Float> {
    let width: Int
    switch entry.dtype {
    case "F32": width = 4
    case "F16", "BF16": width = 2
    default:
      throw TextGenerationError(
        .invalidWeights, file: path, component: entry.name,
        "\(path): tensor '\(entry.name)' has dtype \(entry.dtype); weights must be F32, F16 or BF16"
      )
    }
    let count = entry.shape.reduce(1, *)
    guard count * width == entry.range.count else {
      throw Self.malformed(
        path,
        "tensor '\(entry.name)' of shape \(entry.shape) and dtype \(entry.dtype) needs \(count * width) bytes, its offsets give \(entry.range.count)"
      )
    }
    try handle.seek(toOffset: UInt64(entry.range.lowerBound))
    let data = try handle.read(upToCount: entry.range.count) ?? Data()
    guard data.count == entry.range.count else {
      throw Self.malformed(path, "tensor '\(entry.name)' is cut short")
    }
    // One loop per dtype, the dtype decided once (a switch on the dtype string per element made
    // loading SmolLM2-135M's 538 MB take 3.9 G instructions); F32 is a plain copy on a
    // little-endian machine.
    let values = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
      data.withUnsafeBytes { raw in
        switch entry.dtype {
        case "F32":
          #if _endian(little)
            raw.copyBytes(to: UnsafeMutableRawBufferPointer(buffer), count: count * 4)
          #else
            for i in 0..<count {
              buffer[i] = Float(
                bitPattern: UInt32(
                  littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
            }
          #endif
        case "F16":
          for i in 0..<count {
            buffer[i] = Float(
              Float16(
                bitPattern: UInt16(
                  littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))))
          }
        default:  // BF16: the upper half of a Float's bits
          for i in 0..<count {
            let bits = UInt16(
              littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
            buffer[i] = Float(bitPattern: UInt32(bits) << 16)
          }
        }
      }
      initialized = count
    }
    return try Tensor(shape: entry.shape, scalars: values)
  }
}
