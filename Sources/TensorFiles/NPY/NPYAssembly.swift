import AttentionCore

/// The bytes of a `.npy` file assembled from slices along one axis, then written atomically:
/// how a process that gathers an array part by part writes it without first building the whole
/// tensor (the file's bytes are the only full-size buffer).
///
/// Package-visible: `attention-mpi` gathers its output with it.
package struct NPYAssembly {
  private var bytes: [UInt8]
  private let shape: [Int]
  private let elementType: ElementType
  private let dataOffset: Int

  /// An all-zero array of `shape` in the element type of `sample` (bfloat16 as float32, as
  /// ``NPY/encode(_:)`` writes it).
  package init(shape: [Int], elementTypeOf sample: AnyTensor) {
    let type = sample.elementType == .bfloat16 ? ElementType.float32 : sample.elementType
    let header = NPYHeader(elementType: type, shape: shape).encoded()
    guard let dataBytes = type.byteCount(of: shape) else {
      preconditionFailure("shape \(shape) overflows")
    }
    self.shape = shape
    self.elementType = type
    self.dataOffset = header.count
    var bytes = header
    bytes.reserveCapacity(header.count + dataBytes)  // one allocation of the file's size
    bytes.append(contentsOf: repeatElement(0, count: dataBytes))
    self.bytes = bytes
  }

  /// Copies `slice` into the indices `ranges` of `axis`: the slice's axis is the ranges'
  /// concatenation, its other dimensions the array's.
  ///
  /// - Precondition: `slice` has the array's element type and fitting shape.
  package mutating func place(_ slice: AnyTensor, at ranges: [Range<Int>], along axis: Int) {
    precondition(slice.elementType == elementType, "slice of another element type")
    let rows = ranges.reduce(0) { $0 + $1.count }
    var expected = shape
    expected[axis] = rows
    precondition(slice.shape == expected, "slice \(slice.shape) does not fit \(expected)")
    let outer = shape[..<axis].reduce(1, *)
    let innerBytes = shape[(axis + 1)...].reduce(elementType.byteWidth, *)
    let dataOffset = dataOffset
    let shape = shape
    Self.withFileBytes(of: slice) { source in
      bytes.withUnsafeMutableBytes { file in
        var read = 0
        for index in 0..<outer {
          for range in ranges {
            let target = dataOffset + (index * shape[axis] + range.lowerBound) * innerBytes
            let count = range.count * innerBytes
            UnsafeMutableRawBufferPointer(rebasing: file[target..<(target + count)]).copyMemory(
              from: UnsafeRawBufferPointer(rebasing: source[read..<(read + count)]))
            read += count
          }
        }
      }
    }
  }

  /// Calls `body` with the tensor's elements as a file stores them: in place on a little-endian
  /// machine (no copy of a slice that may be large), else through ``AnyTensor/appendBytes(to:)``.
  private static func withFileBytes(
    of tensor: AnyTensor, _ body: (UnsafeRawBufferPointer) -> Void
  ) {
    #if _endian(little)
      switch tensor {
      case .float32(let t): return t.scalars.withUnsafeBytes(body)
      case .float64(let t): return t.scalars.withUnsafeBytes(body)
      case .float16(let t): return t.scalars.withUnsafeBytes(body)
      case .int32(let t): return t.scalars.withUnsafeBytes(body)
      case .int64(let t): return t.scalars.withUnsafeBytes(body)
      case .bool, .bfloat16: break
      }
    #endif
    var bytes: [UInt8] = []
    tensor.appendBytes(to: &bytes)
    bytes.withUnsafeBytes(body)
  }

  /// Writes the file to `path` as ``NPY/write(_:to:)`` does (atomically for a regular file).
  ///
  /// - Throws: ``TensorFileError/cannotWrite(path:reason:)`` naming `path`.
  package func write(to path: String) throws {
    try AtomicFile.write(bytes, to: path)
  }
}
