import AttentionCore

/// The named tensors and string metadata of a `.safetensors` file, read or to be written.
///
/// A `.safetensors` file (the format of Hugging Face model weights) stores several named
/// tensors and a string-to-string metadata dictionary. `SafetensorsFile` behaves like an ordered
/// dictionary from names to ``AnyTensor``:
///
/// ```swift
/// let weights = try SafetensorsFile.read(from: "model.safetensors")
/// let wq = try weights.floatingPoint(named: "q_proj.weight", as: Float.self)
///
/// var output = SafetensorsFile()
/// output["attention"] = .float32(result)
/// output.metadata["format"] = "np"
/// try output.write(to: "out.safetensors")
/// ```
///
/// | dtype | ``AnyTensor`` case |
/// |---|---|
/// | `F16` | ``AnyTensor/float16(_:)`` |
/// | `BF16` | ``AnyTensor/bfloat16(_:)`` |
/// | `F32` | ``AnyTensor/float32(_:)`` |
/// | `F64` | ``AnyTensor/float64(_:)`` |
/// | `I32` | ``AnyTensor/int32(_:)`` |
/// | `I64` | ``AnyTensor/int64(_:)`` |
/// | `BOOL` | ``AnyTensor/bool(_:)`` |
///
/// Tensors are held as the file stores them (a `BF16` checkpoint takes its size on disk);
/// ``floatingPoint(named:as:)`` converts one tensor at a time to `Float` or `Double`, exactly for
/// the half-precision types. Tensors of other dtypes (`U8`, `I16`, `F8_E4M3`, …) do not prevent
/// reading the file: they are listed in ``entries`` and kept as bytes (and written back
/// unchanged), but asking for one with ``tensor(named:)`` throws
/// ``TensorFileError/unsupportedDType(path:tensor:dtype:)`` naming it.
///
/// Reading validates the whole file first, as the reference implementation does: the header is
/// well-formed JSON, every tensor's `data_offsets` lie in the data buffer and span exactly
/// `elements × dtype size` bytes, and the tensors tile the buffer without gaps or overlaps.
/// Writing lays the file out as the reference writer does (tensors sorted by descending dtype
/// width then name, header padded with spaces to a multiple of 8 bytes), so files round-trip
/// byte for byte and `safetensors.numpy.load_file` or `safetensors.torch.load_file` read them.
public struct SafetensorsFile: Sendable, Equatable {
  /// A tensor's name, dtype and shape, as the file's header states them.
  public struct Entry: Sendable, Hashable {
    /// The tensor's name.
    public var name: String
    /// The dtype as the format spells it: `F32`, `F64`, `BOOL`, `F16`, `BF16`, `I64`, ….
    public var dtype: String
    /// The size of each dimension, outermost first.
    public var shape: [Int]
    /// Creates an entry from its parts.
    public init(name: String, dtype: String, shape: [Int]) {
      self.name = name
      self.dtype = dtype
      self.shape = shape
    }

    /// Whether this library decodes the dtype (`F16`, `BF16`, `F32`, `F64`, `I32`, `I64`,
    /// `BOOL`).
    public var isSupported: Bool { SafetensorsLayout.elementType(dtype) != nil }
  }

  /// A tensor as held: decoded, or the bytes of a dtype this library does not decode.
  private enum Stored: Sendable, Equatable {
    case decoded(AnyTensor)
    case undecoded(dtype: String, shape: [Int], bytes: [UInt8])
  }

  private var storage: [String: Stored] = [:]

  /// The tensor names: in header order for a file read, in insertion order otherwise.
  public private(set) var names: [String] = []

  /// The file's `__metadata__`: free-form string pairs (`"format": "pt"` in PyTorch exports).
  public var metadata: [String: String]

  /// The file this value was read from, named in the errors its accessors throw; `nil` for a
  /// value built in memory or decoded from bytes.
  public private(set) var path: String?

  /// An empty file with the given metadata.
  public init(metadata: [String: String] = [:]) {
    self.metadata = metadata
  }

  /// A file holding `tensors`, in the order of their names.
  ///
  /// - Complexity: O(k log k) for k tensors; the tensors' storage is shared, not copied.
  public init(tensors: [String: AnyTensor], metadata: [String: String] = [:]) {
    self.metadata = metadata
    for name in tensors.keys.sorted() { self[name] = tensors[name] }
  }

  /// The number of tensors.
  public var count: Int { names.count }

  /// Whether the file holds no tensors.
  public var isEmpty: Bool { names.isEmpty }

  /// Name, dtype and shape of every tensor, in ``names`` order, including those of unsupported
  /// dtypes.
  public var entries: [Entry] { names.compactMap(entry(named:)) }

  /// The name, dtype and shape of the named tensor, or `nil` if there is none.
  public func entry(named name: String) -> Entry? {
    switch storage[name] {
    case .decoded(let tensor)?:
      Entry(
        name: name, dtype: SafetensorsLayout.dtypeName(tensor.elementType), shape: tensor.shape)
    case .undecoded(let dtype, let shape, _)?:
      Entry(name: name, dtype: dtype, shape: shape)
    case nil:
      nil
    }
  }

  /// The named tensor, or `nil` if there is none or its dtype is not one this library decodes.
  ///
  /// Setting a tensor adds it after the existing names or replaces the one of that name in
  /// place; setting `nil` removes it.
  ///
  /// Use ``tensor(named:)`` to learn why a tensor is unavailable.
  public subscript(name: String) -> AnyTensor? {
    get {
      guard case .decoded(let tensor)? = storage[name] else { return nil }
      return tensor
    }
    set {
      if let newValue {
        if storage.updateValue(.decoded(newValue), forKey: name) == nil { names.append(name) }
      } else if storage.removeValue(forKey: name) != nil {
        names.removeAll { $0 == name }
      }
    }
  }

  /// The named tensor.
  ///
  /// - Throws: ``TensorFileError/missingTensor(path:name:available:)`` listing the names the
  ///   file does hold, or ``TensorFileError/unsupportedDType(path:tensor:dtype:)`` for a tensor
  ///   of a dtype this library does not decode; both name ``path``.
  /// - Complexity: O(1).
  public func tensor(named name: String) throws -> AnyTensor {
    switch storage[name] {
    case .decoded(let tensor)?:
      return tensor
    case .undecoded(let dtype, _, _)?:
      throw TensorFileError.unsupportedDType(path: path, tensor: name, dtype: dtype)
    case nil:
      throw TensorFileError.missingTensor(path: path, name: name, available: names)
    }
  }

  /// The named tensor as a floating-point tensor of the requested type, converted from any of
  /// `F16`, `BF16`, `F32` and `F64` as needed.
  ///
  /// The conversion goes straight from the stored elements to `Scalar`, one tensor at a time:
  /// `F16` and `BF16` widen exactly, `F64` to `Float` rounds to nearest (see
  /// ``AnyTensor/floatingPoint(as:)``).
  ///
  /// - Parameters:
  ///   - name: the tensor's name.
  ///   - type: `Float.self` or `Double.self`.
  /// - Throws: the errors of ``tensor(named:)``, and
  ///   ``TensorFileError/dtypeMismatch(path:tensor:expected:actual:)`` naming the tensor for a
  ///   `BOOL`, `I32` or `I64` tensor.
  /// - Complexity: O(1) without conversion, O(n) with.
  public func floatingPoint<Scalar: AttentionScalar>(
    named name: String, as type: Scalar.Type = Scalar.self
  ) throws -> Tensor<Scalar> {
    let tensor = try self.tensor(named: name)
    guard tensor.isFloatingPoint else {
      throw TensorFileError.dtypeMismatch(
        path: path, tensor: name, expected: "floating-point (F16, BF16, F32 or F64)",
        actual: SafetensorsLayout.dtypeName(tensor.elementType))
    }
    return try tensor.floatingPoint(as: type)
  }

  /// The named tensor as 64-bit integers (token ids, positions), widened from `I32` as needed.
  ///
  /// - Parameter name: the tensor's name.
  /// - Throws: the errors of ``tensor(named:)``, and
  ///   ``TensorFileError/dtypeMismatch(path:tensor:expected:actual:)`` naming the tensor for a
  ///   floating-point or `BOOL` tensor.
  /// - Complexity: O(1) for `I64`, O(n) for `I32`.
  public func integer(named name: String) throws -> Tensor<Int64> {
    let tensor = try self.tensor(named: name)
    switch tensor {
    case .int32, .int64:
      return try tensor.integer()
    default:
      throw TensorFileError.dtypeMismatch(
        path: path, tensor: name, expected: "integer (I32 or I64)",
        actual: SafetensorsLayout.dtypeName(tensor.elementType))
    }
  }

  /// The named tensor as a boolean tensor.
  ///
  /// - Parameter name: the tensor's name.
  /// - Throws: the errors of ``tensor(named:)``, and
  ///   ``TensorFileError/dtypeMismatch(path:tensor:expected:actual:)`` naming the tensor for a
  ///   numeric tensor.
  public func boolean(named name: String) throws -> Tensor<Bool> {
    let tensor = try self.tensor(named: name)
    guard case .bool(let mask) = tensor else {
      throw TensorFileError.dtypeMismatch(
        path: path, tensor: name, expected: "BOOL",
        actual: SafetensorsLayout.dtypeName(tensor.elementType))
    }
    return mask
  }

  /// Two files are equal when they hold the same tensors under the same names and the same
  /// metadata; order of names and ``path`` do not matter.
  public static func == (lhs: SafetensorsFile, rhs: SafetensorsFile) -> Bool {
    lhs.storage == rhs.storage && lhs.metadata == rhs.metadata
  }

  // MARK: Reading

  /// Reads and validates a `.safetensors` file, decoding its tensors of the dtypes in the table
  /// above.
  ///
  /// - Parameter path: the file's path.
  /// - Throws: ``TensorFileError``: `cannotOpen`; `truncated` (shorter than the 8-byte length),
  ///   `headerLengthExceedsFile`, `malformedHeader` (not UTF-8, invalid JSON, a missing or
  ///   mistyped field), `duplicateTensorName`, `invalidDataOffsets` (out of range, overlapping,
  ///   gaps, buffer not covered), `sizeMismatch` (offsets disagree with shape × dtype size),
  ///   `sizeOverflow`. Each names `path` and, where one is at fault, the tensor.
  /// - Complexity: O(file size); no allocation is sized by a number from the header before that
  ///   number has been checked against the file.
  public static func read(from path: String) throws -> SafetensorsFile {
    try decode(FileContents.read(from: path), path: path)
  }

  /// Decodes the bytes of a `.safetensors` file.
  ///
  /// - Throws: ``TensorFileError`` as ``read(from:)`` does, with no path.
  /// - Complexity: O(`bytes.count`).
  public static func decode(_ bytes: [UInt8]) throws -> SafetensorsFile {
    try decode(bytes, path: nil)
  }

  static func decode(_ bytes: [UInt8], path: String?) throws(TensorFileError) -> SafetensorsFile {
    let parsed = try SafetensorsLayout.parse(bytes, path: path)
    var file = SafetensorsFile(metadata: parsed.metadata)
    file.path = path
    for entry in parsed.entries {
      let range =
        (parsed.dataStart + entry.range.lowerBound)..<(parsed.dataStart + entry.range.upperBound)
      if let type = SafetensorsLayout.elementType(entry.dtype) {
        file.storage[entry.name] = .decoded(type.decode(bytes, range: range, shape: entry.shape))
      } else {
        file.storage[entry.name] = .undecoded(
          dtype: entry.dtype, shape: entry.shape, bytes: Array(bytes[range]))
      }
      file.names.append(entry.name)
    }
    return file
  }

  // MARK: Writing

  /// The bytes of the file, laid out as the reference writer does.
  ///
  /// - Throws: ``TensorFileError/malformedHeader(path:reason:)`` if a tensor is named
  ///   `__metadata__`, which the format reserves.
  /// - Complexity: O(total size).
  public func encoded() throws -> [UInt8] {
    if storage[SafetensorsLayout.metadataKey] != nil {
      throw TensorFileError.malformedHeader(
        path: nil, reason: "'__metadata__' is reserved for metadata and cannot name a tensor")
    }
    let outgoing = names.compactMap { name -> SafetensorsLayout.Outgoing? in
      switch storage[name] {
      case .decoded(let tensor)?:
        SafetensorsLayout.Outgoing(
          name: name, dtype: SafetensorsLayout.dtypeName(tensor.elementType),
          shape: tensor.shape, byteCount: tensor.byteCount, appendBytes: tensor.appendBytes)
      case .undecoded(let dtype, let shape, let bytes)?:
        SafetensorsLayout.Outgoing(
          name: name, dtype: dtype, shape: shape, byteCount: bytes.count,
          appendBytes: { $0 += bytes })
      case nil:
        nil
      }
    }
    return SafetensorsLayout.encode(outgoing, metadata: metadata)
  }

  /// Writes the file to `path`, replacing it atomically.
  ///
  /// The bytes go to a temporary file in the same directory which is then renamed over `path`,
  /// so a failure or an interruption never leaves a partly written file at `path`. A symbolic
  /// link at `path` stays a link: its target is replaced. A FIFO, a device or a socket at `path`
  /// is written into directly (there is no file to replace), so `/dev/null`, a named pipe or
  /// `/dev/stdout` work as destinations.
  ///
  /// - Throws: ``TensorFileError/cannotWrite(path:reason:)`` naming `path`, or the error of
  ///   ``encoded()``.
  /// - Complexity: O(total size).
  public func write(to path: String) throws {
    do {
      try AtomicFile.write(try encoded(), to: path)
    } catch .malformedHeader(nil, let reason) as TensorFileError {
      throw TensorFileError.malformedHeader(path: path, reason: reason)
    }
  }
}
