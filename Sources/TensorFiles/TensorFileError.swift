import AttentionCore

/// An error reading or writing a tensor file (`.npy`, `.safetensors`).
///
/// Every case that concerns a file carries its `path` (`nil` when the bytes did not come from a
/// file, as with ``NPY/decode(_:)``), and the ``description`` starts with that path, so a message
/// printed as-is tells a person which file is wrong and what is wrong with it:
///
/// ```
/// weights.npy: truncated file: expected 152 bytes, found 100
/// model.safetensors: no tensor named 'q_proj' (the file holds 'k_proj', 'v_proj')
/// ```
///
/// Readers never trap on malformed input: every byte sequence either decodes or throws one of
/// these cases. Sizes read from a file are checked against the file's length and for `Int`
/// overflow before anything is allocated.
public enum TensorFileError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The file could not be opened or read (`reason` is the system's explanation).
  case cannotOpen(path: String, reason: String)
  /// The file could not be written (`reason` is the system's explanation).
  case cannotWrite(path: String, reason: String)
  /// The file ends before a fixed-size part or the data its header announces.
  case truncated(path: String?, expected: Int, found: Int)
  /// The header length field claims more bytes than the file holds after it.
  case headerLengthExceedsFile(path: String?, headerLength: UInt64, available: Int)
  /// The file does not start with the format's magic bytes (`found` holds the first bytes).
  case badMagic(path: String?, found: [UInt8])
  /// The `.npy` format version is not 1.0, 2.0 or 3.0.
  case unsupportedVersion(path: String?, major: Int, minor: Int)
  /// The header is not in the form the format prescribes; `reason` says what is wrong.
  case malformedHeader(path: String?, reason: String)
  /// The element type is not one this library holds (float16, bfloat16, float32, float64, int32,
  /// int64, bool).
  case unsupportedDType(path: String?, tensor: String?, dtype: String)
  /// A `.npy` file stores big-endian elements (`dtype` as spelled in the file, e.g. `>f4`).
  case bigEndian(path: String?, dtype: String)
  /// A `.npy` file stores its elements in Fortran (column-major) order.
  case fortranOrder(path: String?)
  /// The data does not have the size the shape and element type require.
  case sizeMismatch(
    path: String?, tensor: String?, shape: [Int], dtype: String, expectedBytes: Int,
    actualBytes: Int)
  /// The shape's element count or byte count does not fit in `Int`.
  case sizeOverflow(path: String?, tensor: String?, shape: [Int], dtype: String)
  /// A `.safetensors` tensor's `data_offsets` are out of range, overlap, or leave gaps.
  case invalidDataOffsets(path: String?, tensor: String?, reason: String)
  /// A tensor name occurs twice in a header or in the tensors given to a writer.
  case duplicateTensorName(path: String?, name: String)
  /// The file holds no tensor of that name; `available` lists the names it does hold.
  case missingTensor(path: String?, name: String, available: [String])
  /// A tensor has another element type than the caller asked for (`float32`, `bool`, …).
  case dtypeMismatch(path: String?, tensor: String?, expected: String, actual: String)

  /// A one-line message, starting with the file path when it is known.
  public var description: String {
    switch self {
    case .cannotOpen(let path, let reason):
      return "\(path): cannot open: \(reason)"
    case .cannotWrite(let path, let reason):
      return "\(path): cannot write: \(reason)"
    case .truncated(let path, let expected, let found):
      return Self.prefix(path) + "truncated file: expected \(expected) bytes, found \(found)"
    case .headerLengthExceedsFile(let path, let headerLength, let available):
      return Self.prefix(path)
        + "header length \(headerLength) exceeds the \(available) bytes that follow it"
        + " (truncated or corrupt file)"
    case .badMagic(let path, let found):
      let hex = found.map { byte in
        let digits = String(byte, radix: 16, uppercase: true)
        return byte < 16 ? "0" + digits : digits
      }
      return Self.prefix(path)
        + "not a tensor file of the expected format (bad magic bytes: \(hex.joined(separator: " ")))"
    case .unsupportedVersion(let path, let major, let minor):
      return Self.prefix(path)
        + "unsupported .npy format version \(major).\(minor) (supported: 1.0, 2.0, 3.0)"
    case .malformedHeader(let path, let reason):
      return Self.prefix(path) + "malformed header: \(reason)"
    case .unsupportedDType(let path, let tensor, let dtype):
      return Self.prefix(path) + "unsupported dtype \(dtype)" + Self.forTensor(tensor)
        + " (supported: float16, float32, float64, int32, int64, bool; bfloat16 in .safetensors)"
    case .bigEndian(let path, let dtype):
      return Self.prefix(path)
        + "big-endian dtype '\(dtype)' is not supported; save the array as little-endian"
        + " (e.g. array.astype(array.dtype.newbyteorder('<')))"
    case .fortranOrder(let path):
      return Self.prefix(path)
        + "Fortran-ordered (column-major) arrays are not supported; save a C-ordered array"
        + " (e.g. numpy.ascontiguousarray(array))"
    case .sizeMismatch(let path, let tensor, let shape, let dtype, let expected, let actual):
      return Self.prefix(path) + "size mismatch" + Self.forTensor(tensor) + ": shape "
        + shape.shapeDescription + " of \(dtype) needs \(expected) bytes, data has \(actual)"
    case .sizeOverflow(let path, let tensor, let shape, let dtype):
      return Self.prefix(path) + "absurd size" + Self.forTensor(tensor) + ": shape "
        + shape.shapeDescription + " of \(dtype) has more bytes than Int can count"
    case .invalidDataOffsets(let path, let tensor, let reason):
      return Self.prefix(path) + "invalid data offsets" + Self.forTensor(tensor) + ": \(reason)"
    case .duplicateTensorName(let path, let name):
      return Self.prefix(path) + "duplicate tensor name '\(name)'"
    case .missingTensor(let path, let name, let available):
      let names =
        available.isEmpty
        ? "the file holds no tensors"
        : "it holds " + available.prefix(20).map { "'\($0)'" }.joined(separator: ", ")
          + (available.count > 20 ? ", … (\(available.count) in all)" : "")
      return Self.prefix(path) + "no tensor named '\(name)' (\(names))"
    case .dtypeMismatch(let path, let tensor, let expected, let actual):
      return Self.prefix(path) + "expected a \(expected) tensor" + Self.forTensor(tensor)
        + ", found \(actual)"
    }
  }

  /// `"path: "`, or nothing when the bytes did not come from a file.
  private static func prefix(_ path: String?) -> String {
    path.map { "\($0): " } ?? ""
  }

  /// `" for tensor 'name'"`, or nothing for a file holding a single unnamed tensor.
  private static func forTensor(_ tensor: String?) -> String {
    tensor.map { " for tensor '\($0)'" } ?? ""
  }
}
