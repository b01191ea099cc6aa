import AttentionCore

#if canImport(Glibc)
  import Glibc
#endif

/// A `.npy` file opened for reading parts of it: the header is read and checked at once, and
/// rows are read later with positioned reads, never the whole file.
///
/// C order stores a slice along one axis as one run of bytes per index of the axes before it, so
/// rows `r` of axis `a` of a `[B, H, N, D]` array (`a = 2`) are `B·H` runs of `r.count·D`
/// elements; ``readSlices(_:along:)`` reads exactly those runs. This is how each process of a
/// distributed computation reads only its own rows of a sequence.
///
/// ```swift
/// let file = try NPYFile(path: "q.npy")            // [B, H, N, D]
/// let mine = try file.readSlices([0..<128, 896..<1024], along: 2)   // [B, H, 256, D]
/// ```
public struct NPYFile: Sendable {
  /// The path the file was opened at.
  public let path: String
  /// The array's shape, as the header declares it (checked against the file's size).
  public let shape: [Int]
  let elementType: ElementType
  let dataOffset: Int

  /// NumPy's name for the element type: `float32`, `float64`, `float16`, `int32`, `int64`, `bool`.
  public var dtypeName: String { elementType.name }

  /// Reads and checks the header of the `.npy` file at `path`.
  ///
  /// - Parameter path: a regular file (slices need positioned reads, which pipes do not allow).
  /// - Throws: ``TensorFileError``, the same cases as ``NPY/read(from:)``: `cannotOpen` (also for
  ///   a file that is not a regular file), `badMagic`, `truncated`, `headerLengthExceedsFile`,
  ///   `unsupportedVersion`, `malformedHeader`, `unsupportedDType`, `bigEndian`, `fortranOrder`,
  ///   `sizeOverflow`, or `sizeMismatch` when the file's size is not the header's plus the data's.
  /// - Complexity: O(header size); the data is not read.
  public init(path: String) throws {
    self.path = path
    let descriptor = try Self.open(path)
    defer { close(descriptor) }
    var status = stat()
    guard fstat(descriptor, &status) == 0 else {
      throw TensorFileError.cannotOpen(path: path, reason: systemError())
    }
    let fileSize = Int(status.st_size)
    // The preamble: magic, version, and a 2- or 4-byte header length.
    let preamble = try Self.read(descriptor, count: min(fileSize, 12), at: 0, path: path)
    var headerEnd = preamble.count
    if preamble.count >= 10, preamble.starts(with: NPYHeader.magic) {
      let lengthFieldSize = preamble[6] == 1 ? 2 : 4
      if preamble.count >= 8 + lengthFieldSize {
        var headerLength = 0
        for index in (8..<(8 + lengthFieldSize)).reversed() {
          headerLength = headerLength << 8 | Int(preamble[index])
        }
        headerEnd = min(fileSize, 8 + lengthFieldSize + headerLength)
      }
    }
    let located = try NPYHeader.read(
      Self.read(descriptor, count: headerEnd, at: 0, path: path), path: path)
    let header = located.header
    guard let needed = header.elementType.byteCount(of: header.shape) else {
      throw TensorFileError.sizeOverflow(
        path: path, tensor: nil, shape: header.shape, dtype: header.elementType.name)
    }
    let available = fileSize - located.dataOffset
    guard available >= needed else {
      throw TensorFileError.truncated(
        path: path, expected: located.dataOffset + needed, found: fileSize)
    }
    guard available == needed else {
      throw TensorFileError.sizeMismatch(
        path: path, tensor: nil, shape: header.shape, dtype: header.elementType.name,
        expectedBytes: needed, actualBytes: available)
    }
    self.shape = header.shape
    self.elementType = header.elementType
    self.dataOffset = located.dataOffset
  }

  /// Reads the given ranges of indices of one axis, concatenated along that axis.
  ///
  /// - Parameters:
  ///   - ranges: increasing or not, each within `0..<shape[axis]`; their concatenation is the
  ///     result's axis.
  ///   - axis: the axis the ranges index, `0..<shape.count`.
  /// - Returns: the slices, shape `shape` with `shape[axis]` replaced by the total of the ranges'
  ///   counts, in the file's element type.
  /// - Throws: ``TensorFileError/cannotOpen(path:reason:)`` when the file cannot be opened or
  ///   read again, ``TensorFileError/truncated(path:expected:found:)`` when it shrank.
  /// - Complexity: one positioned read per range and index of the axes before `axis`; bytes
  ///   read and memory: the result's size.
  public func readSlices(_ ranges: [Range<Int>], along axis: Int) throws -> AnyTensor {
    precondition((0..<shape.count).contains(axis), "axis \(axis) of a rank-\(shape.count) array")
    for range in ranges {
      precondition(
        range.lowerBound >= 0 && range.upperBound <= shape[axis],
        "slice \(range) outside 0..<\(shape[axis]) of axis \(axis)")
    }
    let outer = shape[..<axis].reduce(1, *)
    let innerBytes = shape[(axis + 1)...].reduce(elementType.byteWidth, *)
    let rows = ranges.reduce(0) { $0 + $1.count }
    var resultShape = shape
    resultShape[axis] = rows
    let descriptor = try Self.open(path)
    defer { close(descriptor) }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(outer * rows * innerBytes)
    for index in 0..<outer {
      for range in ranges where !range.isEmpty {
        let offset = dataOffset + (index * shape[axis] + range.lowerBound) * innerBytes
        let run = try Self.read(descriptor, count: range.count * innerBytes, at: offset, path: path)
        guard run.count == range.count * innerBytes else {
          throw TensorFileError.truncated(
            path: path, expected: offset + range.count * innerBytes, found: offset + run.count)
        }
        bytes += run
      }
    }
    return elementType.decode(bytes, range: 0..<bytes.count, shape: resultShape)
  }

  private static func open(_ path: String) throws(TensorFileError) -> Int32 {
    let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { throw .cannotOpen(path: path, reason: systemError()) }
    var status = stat()
    guard fstat(descriptor, &status) == 0 else {
      let reason = systemError()
      close(descriptor)
      throw .cannotOpen(path: path, reason: reason)
    }
    guard status.st_mode & S_IFMT == S_IFREG else {
      close(descriptor)
      throw .cannotOpen(
        path: path,
        reason: status.st_mode & S_IFMT == S_IFDIR
          ? "Is a directory" : "not a regular file (reading a slice needs positioned reads)")
    }
    return descriptor
  }

  /// Up to `count` bytes at `offset` (fewer only at the end of the file).
  private static func read(_ descriptor: Int32, count: Int, at offset: Int, path: String)
    throws(TensorFileError) -> [UInt8]
  {
    var failure: Int32 = 0
    let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
      initialized = 0
      while initialized < count {
        let got = pread(
          descriptor, buffer.baseAddress! + initialized, count - initialized,
          off_t(offset + initialized))
        if got > 0 {
          initialized += got
        } else if got == 0 {
          break
        } else if errno != EINTR {
          failure = errno
          break
        }
      }
    }
    if failure != 0 { throw .cannotOpen(path: path, reason: systemError(failure)) }
    return bytes
  }
}
