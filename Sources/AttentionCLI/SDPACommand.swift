import ArgumentParser
import Attention

/// `attention sdpa`: scaled dot-product attention on `.npy` tensors.
struct SDPACommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sdpa",
    abstract: "Scaled dot-product attention, softmax(Q·Kᵀ·scale + mask)·V, on .npy tensors.",
    discussion: """
      Shapes: query [B, Hq, Nq, Dk], [Hq, Nq, Dk] or [Nq, Dk]; key [.., Hkv, Nk, Dk] and value \
      [.., Hkv, Nk, Dv] in the same rank. Hq must be a multiple of Hkv (grouped-query attention: \
      query head h reads key/value head h / (Hq / Hkv)).

      Dtypes: query, key and value must all be float16, all float32 or all float64 (mixed dtypes \
      are refused rather than converted silently); every output is written in that dtype. \
      float16 inputs are computed in float32 and the results rounded to float16 (to nearest, \
      beyond 65504 to infinity). A bool mask means true = may attend; a float mask (same dtype \
      as the query) is added to the scaled logits, -inf blocking. The mask broadcasts to \
      [B, Hq, Nq, Nk] from [Nq, Nk], [Hq, Nq, Nk], [B, 1, Nq, Nk] or any shape with 1s except \
      in Nk.

      Variants: query i's aligned position is p(i) = i + Nk − Nq (bottom-right), or p(i) = i \
      with --causal top-left; --window and --alibi-slopes count positions from it. Logits are \
      s = scale·q·k, then the softcap, then ALiBi, then an additive mask. Packed sequences \
      attend only within themselves, every rule applied per sequence.

      Outputs: --output [.., Hq, Nq, Dv] in the query's rank; --weights-output the attention \
      probabilities [.., Hq, Nq, Nk]; --lse-output the log-sum-exp of each row's logits \
      [.., Hq, Nq]. A query row that may see no key gets zeros (and -inf log-sum-exp), never NaN. \
      An output of - goes to standard output (nothing else is printed there). A regular output \
      file is replaced atomically, through a symbolic link (which stays a link); a FIFO or \
      device is written into.
      """
  )

  @Option(help: ArgumentHelp("Queries, float16, float32 or float64.", valueName: "q.npy"))
  var query: String

  @Option(help: ArgumentHelp("Keys, in the query's rank and dtype.", valueName: "k.npy"))
  var key: String

  @Option(help: ArgumentHelp("Values, in the query's rank and dtype.", valueName: "v.npy"))
  var value: String

  @Option(
    help: ArgumentHelp(
      "Mask: bool (true = may attend) or additive float in the query's dtype.",
      valueName: "m.npy"))
  var mask: String?

  @Option(help: "Causal mask, aligned top-left (PyTorch is_causal) or bottom-right (KV cache).")
  var causal: CausalAlignment?

  @Option(help: "Factor applied to Q·Kᵀ (default 1/√Dk).")
  var scale: Double?

  @Option(help: "Implementation; all agree within rounding.")
  var backend: AttentionBackend = .blas

  @Option(
    help: ArgumentHelp("Where to write the output (- for standard output).", valueName: "o.npy"))
  var output: String

  @Option(help: ArgumentHelp("Also write the attention probabilities.", valueName: "p.npy"))
  var weightsOutput: String?

  @Option(help: ArgumentHelp("Also write each row's log-sum-exp.", valueName: "l.npy"))
  var lseOutput: String?

  @Flag(help: "Refuse NaN or infinite inputs (an additive mask may hold -inf), naming the index.")
  var checkFinite = false

  @OptionGroup(title: "Attention variants")
  var variants: VariantOptions

  private var queryFile: FileArgument { FileArgument(query, option: "--query") }
  private var keyFile: FileArgument { FileArgument(key, option: "--key") }
  private var valueFile: FileArgument { FileArgument(value, option: "--value") }
  private var maskFile: FileArgument? { mask.map { FileArgument($0, option: "--mask") } }

  private var inputs: [FileArgument] {
    [queryFile, keyFile, valueFile] + (maskFile.map { [$0] } ?? []) + variants.inputs
  }

  private var outputs: [FileArgument] {
    [FileArgument(output, option: "--output")]
      + (weightsOutput.map { [FileArgument($0, option: "--weights-output")] } ?? [])
      + (lseOutput.map { [FileArgument($0, option: "--lse-output")] } ?? [])
  }

  func validate() throws {
    if let scale, !scale.isFinite {
      throw ValidationError("--scale must be a finite number, got \(scale)")
    }
    try OutputPaths.check(outputs: outputs, inputs: inputs)
  }

  func run() throws {
    let query = try TensorFiles.read(queryFile)
    switch query {
    case .float32(let q): try compute(query: q, dtype: .float32)
    case .float64(let q): try compute(query: q, dtype: .float64)
    case .float16(let q): try compute(query: q.converted(to: Float.self), dtype: .float16)
    default:
      throw TensorFiles.notFloatingPoint(query, file: queryFile, role: "queries, keys and values")
    }
  }

  /// Reads the other inputs (which must have the query's file dtype) in the compute type,
  /// computes, and writes the outputs in the file dtype.
  private func compute<Scalar: AttentionScalar>(query q: Tensor<Scalar>, dtype: FileDType)
    throws
  {
    let k = try TensorFiles.floating(
      TensorFiles.read(keyFile), Scalar.self, dtype: dtype, file: keyFile)
    let v = try TensorFiles.floating(
      TensorFiles.read(valueFile), Scalar.self, dtype: dtype, file: valueFile)
    var attentionMask = AttentionMask<Scalar>.none
    if let maskFile { attentionMask = try TensorFiles.mask(maskFile, Scalar.self, dtype: dtype) }
    if checkFinite {
      try FiniteCheck.check(q, file: queryFile)
      try FiniteCheck.check(k, file: keyFile)
      try FiniteCheck.check(v, file: valueFile)
      if case .additive(let m) = attentionMask, let maskFile {
        try FiniteCheck.check(m, file: maskFile, allowingNegativeInfinity: true)
      }
    }
    var extras: AttentionOutputs = []
    if weightsOutput != nil { extras.insert(.probabilities) }
    if lseOutput != nil { extras.insert(.logSumExp) }
    let variants = try self.variants.resolve(
      Scalar.self, .attention(query: queryFile, q.shape, key: keyFile, k.shape))
    let result = try scaledDotProductAttention(
      query: q, key: k, value: v, mask: attentionMask, causal: causal,
      window: variants.window, packedSequences: variants.packedSequences,
      scale: scale.map { Scalar($0) }, softcap: variants.softcap,
      alibiSlopes: variants.alibiSlopes, sinks: variants.sinks, backend: backend,
      returning: extras)

    // The library returns the extras in rank 4 and 3; give them the query's rank instead,
    // dropping the leading dimensions of size 1 that a rank-2 or rank-3 query implies.
    let droppedAxes = 4 - q.rank
    try TensorFiles.write(
      dtype.storing(result.output), to: FileArgument(output, option: "--output"))
    if let weightsOutput, let probabilities = result.probabilities {
      try TensorFiles.write(
        dtype.storing(
          probabilities.reshaped(to: Array(probabilities.shape.dropFirst(droppedAxes)))),
        to: FileArgument(weightsOutput, option: "--weights-output"))
    }
    if let lseOutput, let logSumExp = result.logSumExp {
      try TensorFiles.write(
        dtype.storing(logSumExp.reshaped(to: Array(logSumExp.shape.dropFirst(droppedAxes)))),
        to: FileArgument(lseOutput, option: "--lse-output"))
    }
  }
}
