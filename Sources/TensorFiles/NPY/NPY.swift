import AttentionCore

/// Reading and writing NumPy `.npy` files.
///
/// A `.npy` file holds one array: a short header (element type, shape, memory order) followed by
/// the raw elements. This library reads and writes the types it computes with:
///
/// | NumPy dtype | `descr` in the file | ``AnyTensor`` case |
/// |---|---|---|
/// | `float16` | `<f2` | ``AnyTensor/float16(_:)`` |
/// | `float32` | `<f4` | ``AnyTensor/float32(_:)`` |
/// | `float64` | `<f8` | ``AnyTensor/float64(_:)`` |
/// | `int32` | `<i4` | ``AnyTensor/int32(_:)`` |
/// | `int64` | `<i8` | ``AnyTensor/int64(_:)`` |
/// | `bool` | `\|b1` | ``AnyTensor/bool(_:)`` |
///
/// Format versions 1.0, 2.0 and 3.0 are read; files are written exactly as `numpy.save` writes
/// them (version 1.0 unless the header needs 2.0), so `numpy.load` reads them back and the bytes
/// match NumPy's own. NumPy has no bfloat16, so a ``AnyTensor/bfloat16(_:)`` tensor is written as
/// `float32` (exactly). Big-endian data, Fortran-ordered arrays and other dtypes are rejected
/// with a ``TensorFileError`` that says so and how to re-save the array.
///
/// ```swift
/// let query = try NPY.read(from: "q.npy").floatingPoint(as: Float.self)
/// let output = try scaledDotProductAttention(query: query, key: key, value: value)
/// try NPY.write(.float32(output), to: "out.npy")
/// ```
///
/// ```python
/// import numpy as np
/// np.save("q.npy", np.random.randn(2, 8, 128, 64).astype(np.float32))
/// out = np.load("out.npy")
/// ```
public enum NPY {
  /// Reads the array stored in a `.npy` file.
  ///
  /// - Parameter path: the file's path.
  /// - Returns: the array, in the element type the file declares.
  /// - Throws: ``TensorFileError``: `cannotOpen` when the file cannot be read; `badMagic`,
  ///   `truncated`, `headerLengthExceedsFile`, `unsupportedVersion`, `malformedHeader`,
  ///   `unsupportedDType`, `bigEndian`, `fortranOrder`, `sizeOverflow` or `sizeMismatch` when its
  ///   content is not a valid `.npy` array of a supported type. Each error names `path`.
  /// - Complexity: O(file size). Sizes the header claims are checked against the file before
  ///   anything is allocated for them.
  public static func read(from path: String) throws -> AnyTensor {
    try decode(FileContents.read(from: path), path: path)
  }

  /// Decodes the bytes of a `.npy` file.
  ///
  /// - Parameter bytes: the whole file.
  /// - Returns: the array, in the element type the bytes declare.
  /// - Throws: ``TensorFileError`` as ``read(from:)`` does, with no path.
  /// - Complexity: O(`bytes.count`).
  public static func decode(_ bytes: [UInt8]) throws -> AnyTensor {
    try decode(bytes, path: nil)
  }

  /// Encodes a tensor as the bytes of a `.npy` file, identical to what `numpy.save` writes.
  ///
  /// - Parameter tensor: the array; `float16` is stored as `<f2`, `float32` as `<f4`, `float64`
  ///   as `<f8`, `int32` as `<i4`, `int64` as `<i8`, `bool` as `|b1`, and `bfloat16`, which
  ///   NumPy lacks, as `<f4` (every bfloat16 is a float32).
  /// - Returns: the whole file.
  /// - Complexity: O(n) for n elements.
  public static func encode(_ tensor: AnyTensor) -> [UInt8] {
    if case .bfloat16(let brain) = tensor {
      return encode(.float32(brain.converted(to: Float.self)))
    }
    var bytes = NPYHeader(elementType: tensor.elementType, shape: tensor.shape).encoded()
    bytes.reserveCapacity(bytes.count + tensor.byteCount)
    tensor.appendBytes(to: &bytes)
    return bytes
  }

  /// Writes a tensor to a `.npy` file, replacing the file atomically.
  ///
  /// The bytes go to a temporary file in the same directory which is then renamed over `path`,
  /// so a failure or an interruption never leaves a partly written file at `path`. A symbolic
  /// link at `path` stays a link: its target is replaced. A FIFO, a device or a socket at `path`
  /// is written into directly (there is no file to replace), so `/dev/null`, a named pipe or
  /// `/dev/stdout` work as destinations.
  ///
  /// - Parameters:
  ///   - tensor: the array (wrap a typed tensor as `.float32(t)`, `.float16(t)`, `.bool(t)`, …,
  ///     or `AnyTensor(t)` in code generic over the scalar type), stored as ``encode(_:)`` says.
  ///   - path: the destination; an existing file there is replaced.
  /// - Throws: ``TensorFileError/cannotWrite(path:reason:)`` naming `path`.
  /// - Complexity: O(n) for n elements.
  public static func write(_ tensor: AnyTensor, to path: String) throws {
    try AtomicFile.write(encode(tensor), to: path)
  }

  static func decode(_ bytes: [UInt8], path: String?) throws(TensorFileError) -> AnyTensor {
    let located = try NPYHeader.read(bytes, path: path)
    let header = located.header
    let type = header.elementType
    guard let needed = type.byteCount(of: header.shape) else {
      throw .sizeOverflow(path: path, tensor: nil, shape: header.shape, dtype: type.name)
    }
    let available = bytes.count - located.dataOffset
    if available < needed {
      let (expected, overflow) = located.dataOffset.addingReportingOverflow(needed)
      if overflow {
        throw .sizeOverflow(path: path, tensor: nil, shape: header.shape, dtype: type.name)
      }
      throw .truncated(path: path, expected: expected, found: bytes.count)
    }
    guard available == needed else {
      throw .sizeMismatch(
        path: path, tensor: nil, shape: header.shape, dtype: type.name, expectedBytes: needed,
        actualBytes: available)
    }
    return type.decode(bytes, range: located.dataOffset..<bytes.count, shape: header.shape)
  }
}
