import Attention

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

  /// `tensor` as `Tensor<Scalar>`, which must already be its dtype.
  ///
  /// Mixed dtypes are refused rather than converted: a float64 key silently rounded to float32
  /// (or a float32 key widened, pretending to a precision it lacks) hides a mistaken file.
  ///
  /// - Throws: naming the file, its dtype and the query's.
  static func floating<Scalar: AttentionScalar>(
    _ tensor: AnyTensor, _: Scalar.Type, file: FileArgument
  ) throws -> Tensor<Scalar> {
    guard tensor.dtypeName == Scalar.dtypeName else {
      throw CommandLineError(
        "\(file) has dtype \(tensor.dtypeName) but the query is \(Scalar.dtypeName); convert it to the query's dtype (numpy: a.astype(np.\(Scalar.dtypeName)))"
      )
    }
    return try tensor.floatingPoint(as: Scalar.self)
  }

  /// The mask stored in `file`: a bool tensor is `.allow(where:)` (true = may attend), a float
  /// tensor of the query's dtype is `.additive`.
  static func mask<Scalar: AttentionScalar>(
    _ file: FileArgument, _: Scalar.Type
  ) throws -> AttentionMask<Scalar> {
    let tensor = try read(file)
    if case .bool(let allowed) = tensor { return .allow(where: allowed) }
    return .additive(try floating(tensor, Scalar.self, file: file))
  }

  /// Writes `tensor` to `file` atomically (a temporary file renamed into place).
  ///
  /// - Throws: the writer's message naming the path, followed by the option.
  static func write(_ tensor: AnyTensor, to file: FileArgument) throws {
    do {
      try NPY.write(tensor, to: file.path)
    } catch {
      throw CommandLineError("\(error) (\(file.option))")
    }
  }
}

extension TensorFiles {
  /// Every tensor of the `.safetensors` file `file`, converted to `Scalar`, by name: a PyTorch
  /// state dict as `MultiHeadAttention(pyTorchStateDict:…)` takes it.
  ///
  /// Model weights are converted to the input's dtype (exact from float32 to float64), so one
  /// float32 checkpoint serves both precisions.
  ///
  /// - Throws: the reader's message (naming the path, and the tensor for a bool or unsupported
  ///   dtype such as F16) followed by the option.
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
