import Attention

/// The floating-point dtype a command's tensor files share: the inputs must all have it, and
/// the outputs are written in it. `float16` files are computed in `Float`.
enum FileDType: String {
  case float16
  case float32
  case float64

  /// The values of `tensor` as this dtype stores them: `Float16` rounds to nearest even
  /// (overflow to infinity), the others are `tensor` as computed.
  func storing<Scalar: AttentionScalar>(_ tensor: Tensor<Scalar>) -> AnyTensor {
    switch self {
    case .float16: .float16(tensor.converted(to: Float16.self))
    case .float32, .float64: AnyTensor(tensor)
    }
  }
}

/// Reading the tool's `.npy` inputs and writing its outputs, with messages that name the file
/// and the option it came from.
enum TensorFiles {
  /// The tensor stored in `file`.
  ///
  /// - Throws: the reader's ``TensorFileError`` message (which starts with the path) followed by
  ///   the option, e.g. `k.npy: cannot open: No such file or directory (--key)`.
  static func read(_ file: FileArgument) throws -> AnyTensor {
    do {
      return try NPY.read(from: file.path)
    } catch {
      throw CommandLineError("\(error) (\(file.option))")
    }
  }

  /// The error for a first input (query, `mha` input) whose dtype cannot be computed with.
  static func notFloatingPoint(_ tensor: AnyTensor, file: FileArgument, role: String)
    -> CommandLineError
  {
    CommandLineError(
      "\(file) has dtype \(tensor.dtypeName); \(role) must be float16, float32 or float64")
  }

  /// `tensor`, which must have the dtype `dtype`, as `Tensor<Scalar>`.
  ///
  /// Mixed dtypes are refused rather than converted: a float64 key silently rounded to float32
  /// (or a float32 key widened, pretending to a precision it lacks) hides a mistaken file.
  ///
  /// - Throws: naming the file, its dtype and the query's.
  static func floating<Scalar: AttentionScalar>(
    _ tensor: AnyTensor, _: Scalar.Type, dtype: FileDType, file: FileArgument
  ) throws -> Tensor<Scalar> {
    guard tensor.dtypeName == dtype.rawValue else {
      throw CommandLineError(
        "\(file) has dtype \(tensor.dtypeName) but the query is \(dtype.rawValue); convert it to the query's dtype (numpy: a.astype(np.\(dtype.rawValue)))"
      )
    }
    return try tensor.floatingPoint(as: Scalar.self)
  }

  /// The mask stored in `file`: a bool tensor is `.allow(where:)` (true = may attend), a float
  /// tensor of the query's dtype is `.additive`.
  static func mask<Scalar: AttentionScalar>(
    _ file: FileArgument, _: Scalar.Type, dtype: FileDType
  ) throws -> AttentionMask<Scalar> {
    let tensor = try read(file)
    if case .bool(let allowed) = tensor { return .allow(where: allowed) }
    return .additive(try floating(tensor, Scalar.self, dtype: dtype, file: file))
  }

  /// Writes `tensor` to `file`: a regular file atomically (a temporary file renamed into place,
  /// through symbolic links), a FIFO or device straight, and `-` to standard output.
  ///
  /// - Throws: the writer's message naming the path (or "standard output"), followed by the
  ///   option.
  static func write(_ tensor: AnyTensor, to file: FileArgument) throws {
    try writeBytes(NPY.encode(tensor), to: file)
  }

  /// Writes `bytes` to `file` as ``write(_:to:)`` writes a tensor (atomically for a regular file).
  static func writeBytes(_ bytes: [UInt8], to file: FileArgument) throws {
    do {
      if file.isStandardOutput {
        try DirectOutput.writeStandardOutput(bytes)
      } else {
        try AtomicFile.write(bytes, to: file.path)
      }
    } catch {
      throw CommandLineError("\(error) (\(file.option))")
    }
  }
}

extension TensorFiles {
  /// Every tensor of the `.safetensors` file `file`, converted to `Scalar`, by name: a PyTorch
  /// state dict as `MultiHeadAttention(pyTorchStateDict:…)` takes it.
  ///
  /// Model weights of any floating-point dtype (F16, BF16, F32, F64) are converted to the
  /// input's compute type, one tensor at a time (exactly, except F64 to `Float`), so one
  /// checkpoint serves every input precision.
  ///
  /// - Throws: the reader's message (naming the path, and the tensor for a bool, integer or
  ///   unsupported dtype) followed by the option.
  static func stateDict<Scalar: AttentionScalar>(
    _ file: FileArgument, _: Scalar.Type
  ) throws -> [String: Tensor<Scalar>] {
    do {
      let contents = try SafetensorsFile.read(from: file.path)
      var tensors: [String: Tensor<Scalar>] = [:]
      for name in contents.names {
        tensors[name] = try contents.floatingPoint(named: name, as: Scalar.self)
      }
      return tensors
    } catch {
      throw CommandLineError("\(error) (\(file.option))")
    }
  }
}
