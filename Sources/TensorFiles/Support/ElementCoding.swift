import AttentionCore

/// The element types tensor files can hold in this library, and their little-endian byte forms.
///
/// Both `.npy` and `.safetensors` store elements as packed little-endian values (`bool` as one
/// byte, 0 or 1), so one encoder and decoder serves both formats.
enum ElementType: Sendable, Equatable, CaseIterable {
  case float32
  case float64
  case bool
  case float16
  case bfloat16
  case int32
  case int64

  /// Bytes per element in a file.
  var byteWidth: Int {
    switch self {
    case .bool: 1
    case .float16, .bfloat16: 2
    case .float32, .int32: 4
    case .float64, .int64: 8
    }
  }

  /// NumPy's name for the type, used in messages (`bfloat16` as PyTorch and `ml_dtypes` name it).
  var name: String {
    switch self {
    case .float32: "float32"
    case .float64: "float64"
    case .bool: "bool"
    case .float16: "float16"
    case .bfloat16: "bfloat16"
    case .int32: "int32"
    case .int64: "int64"
    }
  }

  /// The number of data bytes a tensor of `shape` needs, or `nil` when the element count or the
  /// byte count overflows `Int` or a dimension is negative.
  func byteCount(of shape: [Int]) -> Int? {
    var count = byteWidth
    for dimension in shape {
      guard dimension >= 0 else { return nil }
      let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
      if overflow { return nil }
      count = product
    }
    return count
  }

  /// Decodes `bytes[range]` as a tensor of `shape`.
  ///
  /// - Precondition: the caller has checked that `range` lies in `bytes` and that
  ///   `range.count == byteCount(of: shape)`; a file's claims are validated before this runs.
  func decode(_ bytes: [UInt8], range: Range<Int>, shape: [Int]) -> AnyTensor {
    precondition(
      range.lowerBound >= 0 && range.upperBound <= bytes.count
        && byteCount(of: shape) == range.count,
      "internal: unvalidated tensor data range")
    let count = range.count / byteWidth
    return bytes.withUnsafeBytes { raw in
      switch self {
      case .float32:
        let scalars = Self.decodePacked(raw, range: range, count: count) { (bits: UInt32) in
          Float(bitPattern: UInt32(littleEndian: bits))
        }
        return .float32(Tensor(uncheckedShape: shape, scalars: scalars))
      case .float64:
        let scalars = Self.decodePacked(raw, range: range, count: count) { (bits: UInt64) in
          Double(bitPattern: UInt64(littleEndian: bits))
        }
        return .float64(Tensor(uncheckedShape: shape, scalars: scalars))
      case .bool:
        // Any non-zero byte is true, as NumPy and PyTorch read a bool buffer.
        let scalars = raw[range].map { $0 != 0 }
        return .bool(Tensor(uncheckedShape: shape, scalars: scalars))
      case .float16:
        let scalars = Self.decodePacked(raw, range: range, count: count) { (bits: UInt16) in
          Float16(bitPattern: UInt16(littleEndian: bits))
        }
        return .float16(Tensor(uncheckedShape: shape, scalars: scalars))
      case .bfloat16:
        let scalars = Self.decodePacked(raw, range: range, count: count) { (bits: UInt16) in
          BFloat16(bitPattern: UInt16(littleEndian: bits))
        }
        return .bfloat16(Tensor(uncheckedShape: shape, scalars: scalars))
      case .int32:
        let scalars = Self.decodePacked(raw, range: range, count: count) { (bits: UInt32) in
          Int32(bitPattern: UInt32(littleEndian: bits))
        }
        return .int32(Tensor(uncheckedShape: shape, scalars: scalars))
      case .int64:
        let scalars = Self.decodePacked(raw, range: range, count: count) { (bits: UInt64) in
          Int64(bitPattern: UInt64(littleEndian: bits))
        }
        return .int64(Tensor(uncheckedShape: shape, scalars: scalars))
      }
    }
  }

  /// Reads `count` packed little-endian values of `Bits` starting at `range.lowerBound`.
  ///
  /// `Scalar` has the size and layout of `Bits` (a number stored as its bit pattern).
  private static func decodePacked<Bits: FixedWidthInteger, Scalar>(
    _ raw: UnsafeRawBufferPointer, range: Range<Int>, count: Int, convert: (Bits) -> Scalar
  ) -> [Scalar] {
    [Scalar](unsafeUninitializedCapacity: count) { buffer, initialized in
      #if _endian(little)
        // The file form already is the in-memory form: one copy.
        precondition(MemoryLayout<Scalar>.size == MemoryLayout<Bits>.size)
        UnsafeMutableRawBufferPointer(buffer).copyMemory(
          from: UnsafeRawBufferPointer(rebasing: raw[range]))
      #else
        let width = MemoryLayout<Bits>.size
        for index in 0..<count {
          let bits = raw.loadUnaligned(
            fromByteOffset: range.lowerBound + index * width, as: Bits.self)
          buffer.initializeElement(at: index, to: convert(bits))
        }
      #endif
      initialized = count
    }
  }
}

extension AnyTensor {
  /// The element type of this tensor in a file.
  var elementType: ElementType {
    switch self {
    case .float32: .float32
    case .float64: .float64
    case .bool: .bool
    case .float16: .float16
    case .bfloat16: .bfloat16
    case .int32: .int32
    case .int64: .int64
    }
  }

  /// The number of data bytes this tensor occupies in a file.
  ///
  /// Cannot overflow: the elements already exist in memory, each at least one byte wide there.
  var byteCount: Int { count * elementType.byteWidth }

  /// Appends the elements as packed little-endian bytes (`bool` as 0 or 1).
  func appendBytes(to output: inout [UInt8]) {
    let start = output.count
    output.append(contentsOf: repeatElement(0, count: byteCount))
    output.withUnsafeMutableBytes { raw in
      let destination = UnsafeMutableRawBufferPointer(rebasing: raw[start...])
      switch self {
      case .float32(let tensor):
        Self.store(tensor.scalars, into: destination) { $0.bitPattern }
      case .float64(let tensor):
        Self.store(tensor.scalars, into: destination) { $0.bitPattern }
      case .bool(let tensor):
        for (index, value) in tensor.scalars.enumerated() where value {
          destination[index] = 1
        }
      case .float16(let tensor):
        Self.store(tensor.scalars, into: destination) { $0.bitPattern }
      case .bfloat16(let tensor):
        Self.store(tensor.scalars, into: destination) { $0.bitPattern }
      case .int32(let tensor):
        Self.store(tensor.scalars, into: destination) { UInt32(bitPattern: $0) }
      case .int64(let tensor):
        Self.store(tensor.scalars, into: destination) { UInt64(bitPattern: $0) }
      }
    }
  }

  /// Stores `values` as the little-endian bytes of their bit patterns.
  private static func store<Value, Bits: FixedWidthInteger>(
    _ values: [Value], into destination: UnsafeMutableRawBufferPointer,
    bitPattern: (Value) -> Bits
  ) {
    #if _endian(little)
      // The in-memory form already is the file form: one copy.
      values.withUnsafeBytes { destination.copyMemory(from: $0) }
    #else
      for (index, value) in values.enumerated() {
        destination.storeBytes(
          of: bitPattern(value).littleEndian, toByteOffset: index * MemoryLayout<Bits>.size,
          as: Bits.self)
      }
    #endif
  }
}
