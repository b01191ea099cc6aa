import ArgumentParser
import Attention
import Foundation

/// `attention mha`: PyTorch `nn.MultiheadAttention` (batch first, no dropout) on `.npy` inputs
/// with weights from a `.safetensors` state dict.
struct MHACommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "mha",
    abstract: "Multi-head attention with PyTorch nn.MultiheadAttention weights.",
    discussion: """
      Shapes: --input [B, N, E] or [N, E] (batch first); --key [B, Nk, kdim] and --value \
      [B, Nk, vdim] in the input's rank for cross-attention (give both or neither; without them \
      it is self-attention). The output is [B, N, E] in the input's rank.

      Weights: a .safetensors file holding the state dict of torch.nn.MultiheadAttention: \
      in_proj_weight [E + 2·Hkv·E/H, E] (or q_proj_weight, k_proj_weight, v_proj_weight when \
      kdim or vdim differ from E), optional in_proj_bias, out_proj.weight [E, E], optional \
      out_proj.bias. Save it with safetensors.torch.save_file(module.state_dict(), "w.safetensors"). \
      Weights may be F16, BF16, F32 or F64, in any mix; they are converted to the type the input \
      is computed in (exactly, except F64 weights for a float32 or float16 input).

      Dtypes: --input is float16, float32 or float64; --key, --value and a float --mask must have \
      its dtype, and the outputs are written in it. float16 inputs are computed in float32 and \
      the results rounded to float16.

      --kv-heads G gives grouped-query attention: the key and value projections produce G heads \
      (in_proj_weight then has E + 2·G·E/H rows) and query head h reads key/value head \
      h / (H / G).

      Masks: a bool --mask means true = may attend (the opposite of nn.MultiheadAttention's \
      bool attn_mask: pass ~attn_mask); a float mask in the input's dtype is added to the \
      logits. It broadcasts to [B, H, N, Nk]. --key-padding-lengths L1,L2,… says that only keys \
      0..<Lb of batch b are real (the rest is padding), one length per batch.

      --weights-output writes the attention weights averaged over heads, [B, N, Nk] (PyTorch's \
      default need_weights output), or every head's, [B, H, N, Nk], with --per-head-weights; \
      the leading B is dropped for an unbatched input. An output of - goes to standard output \
      (nothing else is printed there). A regular output file is replaced atomically, through a \
      symbolic link (which stays a link); a FIFO or device is written into.
      """
  )

  @Option(
    help: ArgumentHelp("Queries (and keys and values for self-attention).", valueName: "x.npy"))
  var input: String

  @Option(help: ArgumentHelp("Keys for cross-attention, [B, Nk, kdim].", valueName: "k.npy"))
  var key: String?

  @Option(help: ArgumentHelp("Values for cross-attention, [B, Nk, vdim].", valueName: "v.npy"))
  var value: String?

  @Option(help: ArgumentHelp("nn.MultiheadAttention state dict.", valueName: "w.safetensors"))
  var weights: String

  @Option(help: "Number of query heads H (num_heads); must divide E.")
  var heads: Int

  @Option(help: "Number of key/value heads for grouped-query attention; must divide H.")
  var kvHeads: Int?

  @Option(help: "Causal mask, aligned top-left (PyTorch is_causal) or bottom-right (KV cache).")
  var causal: CausalAlignment?

  @Option(
    help: ArgumentHelp(
      "Mask: bool (true = may attend) or additive float in the input's dtype.",
      valueName: "m.npy"))
  var mask: String?

  @Option(
    help: ArgumentHelp(
      "Valid keys per batch, comma-separated (the rest is padding).", valueName: "L,…"),
    transform: { try IntegerList.parse($0, minimum: 0, what: "a non-negative key count") })
  var keyPaddingLengths: [Int]?

  @OptionGroup(title: "Attention variants")
  var variants: VariantOptions

  @Option(help: "Implementation of the attention step; all agree within rounding.")
  var backend: AttentionBackend = .blas

  @Option(
    help: ArgumentHelp("Where to write the output (- for standard output).", valueName: "y.npy"))
  var output: String

  @Option(help: ArgumentHelp("Also write the attention weights.", valueName: "a.npy"))
  var weightsOutput: String?

  @Flag(help: "Write every head's weights [B, H, N, Nk] instead of their mean over heads.")
  var perHeadWeights = false

  @Flag(help: "Refuse NaN or infinite inputs and weights, naming the index.")
  var checkFinite = false

  private var inputFile: FileArgument { FileArgument(input, option: "--input") }
  private var weightsFile: FileArgument { FileArgument(weights, option: "--weights") }
  private var keyFile: FileArgument? { key.map { FileArgument($0, option: "--key") } }
  private var valueFile: FileArgument? { value.map { FileArgument($0, option: "--value") } }
  private var maskFile: FileArgument? { mask.map { FileArgument($0, option: "--mask") } }

  private var inputs: [FileArgument] {
    [inputFile, weightsFile] + [keyFile, valueFile, maskFile].compactMap { $0 } + variants.inputs
  }

  func validate() throws {
    guard (key == nil) == (value == nil) else {
      throw ValidationError("give both --key and --value for cross-attention, or neither")
    }
    guard heads > 0 else { throw ValidationError("--heads must be positive, got \(heads)") }
    if let kvHeads {
      guard kvHeads > 0 else {
        throw ValidationError("--kv-heads must be positive, got \(kvHeads)")
      }
      guard heads % kvHeads == 0 else {
        throw ValidationError(
          "--heads \(heads) is not a multiple of --kv-heads \(kvHeads): each key/value head serves H / Hkv query heads"
        )
      }
    }
    if perHeadWeights && weightsOutput == nil {
      throw ValidationError("--per-head-weights needs --weights-output")
    }
    var outputs = [FileArgument(output, option: "--output")]
    if let weightsOutput { outputs.append(FileArgument(weightsOutput, option: "--weights-output")) }
    try OutputPaths.check(outputs: outputs, inputs: inputs)
  }

  func run() throws {
    let input = try TensorFiles.read(inputFile)
    switch input {
    case .float32(let x): try compute(input: x, dtype: .float32)
    case .float64(let x): try compute(input: x, dtype: .float64)
    case .float16(let x): try compute(input: x.converted(to: Float.self), dtype: .float16)
    default: throw TensorFiles.notFloatingPoint(input, file: inputFile, role: "the input")
    }
  }

  /// Loads the layer (weights converted to the compute type) and the other inputs (which must
  /// have the input's file dtype), runs it, and writes the outputs in the file dtype.
  private func compute<Scalar: AttentionScalar>(input x: Tensor<Scalar>, dtype: FileDType)
    throws
  {
    let stateDict = try TensorFiles.stateDict(weightsFile, Scalar.self)
    // E is out_proj.weight's size; say so in terms of the options before the layer's own check.
    if let outWeight = stateDict["out_proj.weight"], outWeight.rank == 2,
      outWeight.shape[0] > 0, outWeight.shape[0] % heads != 0
    {
      throw CommandLineError(
        "--heads \(heads) does not divide the embedding dimension E = \(outWeight.shape[0]) of \(weightsFile) (out_proj.weight has shape \(outWeight.shape.shapeDescription))"
      )
    }
    let layer = try MultiHeadAttention<Scalar>(
      pyTorchStateDict: stateDict, headCount: heads, keyValueHeadCount: kvHeads)
    var k: Tensor<Scalar>?
    var v: Tensor<Scalar>?
    if let keyFile, let valueFile {
      k = try TensorFiles.floating(
        TensorFiles.read(keyFile), Scalar.self, dtype: dtype, file: keyFile)
      v = try TensorFiles.floating(
        TensorFiles.read(valueFile), Scalar.self, dtype: dtype, file: valueFile)
    }
    try checkKeyPaddingLengths(input: x, key: k)
    // The variants apply to the attention step: per head of the layer, along the tokens N.
    let keys = k ?? x
    let variants = try self.variants.resolve(
      Scalar.self,
      VariantOptions.Geometry(
        batchCount: x.rank == 3 ? x.shape[0] : 1, queryHeadCount: heads,
        queryCount: x.rank >= 2 ? x.shape[x.rank - 2] : 0,
        keyCount: keys.rank >= 2 ? keys.shape[keys.rank - 2] : 0, query: inputFile,
        queryShape: x.shape, key: keyFile ?? inputFile, keyShape: keys.shape))
    var attentionMask = AttentionMask<Scalar>.none
    if let maskFile { attentionMask = try TensorFiles.mask(maskFile, Scalar.self, dtype: dtype) }
    if checkFinite {
      try FiniteCheck.check(x, file: inputFile)
      if let k, let keyFile { try FiniteCheck.check(k, file: keyFile) }
      if let v, let valueFile { try FiniteCheck.check(v, file: valueFile) }
      for (name, tensor) in stateDict.sorted(by: { $0.key < $1.key }) {
        try FiniteCheck.check(
          tensor, file: FileArgument("\(weights) '\(name)'", option: "--weights"))
      }
      if case .additive(let m) = attentionMask, let maskFile {
        try FiniteCheck.check(m, file: maskFile, allowingNegativeInfinity: true)
      }
    }
    let outputFile = FileArgument(output, option: "--output")
    if let weightsOutput {
      let result = try layer(
        x, key: k, value: v, mask: attentionMask, causal: causal, keyLengths: keyPaddingLengths,
        window: variants.window, packedSequences: variants.packedSequences,
        softcap: variants.softcap, alibiSlopes: variants.alibiSlopes, sinks: variants.sinks,
        backend: backend, returningWeights: perHeadWeights ? .perHead : .averagedOverHeads)
      try TensorFiles.write(dtype.storing(result.output), to: outputFile)
      try TensorFiles.write(
        dtype.storing(result.weights), to: FileArgument(weightsOutput, option: "--weights-output"))
    } else {
      let result = try layer(
        x, key: k, value: v, mask: attentionMask, causal: causal, keyLengths: keyPaddingLengths,
        window: variants.window, packedSequences: variants.packedSequences,
        softcap: variants.softcap, alibiSlopes: variants.alibiSlopes, sinks: variants.sinks,
        backend: backend)
      try TensorFiles.write(dtype.storing(result), to: outputFile)
    }
  }
}

extension MHACommand {
  /// Checks `--key-padding-lengths` against the input's batch size and key count, so the
  /// message can name the option rather than the library's parameter. Inputs of a rank the layer
  /// rejects are left to its own message.
  fileprivate func checkKeyPaddingLengths<Scalar: AttentionScalar>(
    input x: Tensor<Scalar>, key k: Tensor<Scalar>?
  ) throws {
    let keys = k ?? x
    guard let lengths = keyPaddingLengths, x.rank == 2 || x.rank == 3, keys.rank == x.rank else {
      return
    }
    let batch = x.rank == 3 ? x.shape[0] : 1
    guard lengths.count == batch else {
      throw CommandLineError(
        "--key-padding-lengths has \(lengths.count) \(lengths.count == 1 ? "entry" : "entries") but the batch size is \(batch) (\(inputFile) has shape \(x.shape.shapeDescription)); give one length per batch"
      )
    }
    let keyCount = keys.shape[keys.rank - 2]
    if let bad = lengths.first(where: { $0 > keyCount }) {
      throw CommandLineError(
        "--key-padding-lengths: \(bad) is more than the \(keyCount) keys (key shape \(keys.shape.shapeDescription))"
      )
    }
  }
}
