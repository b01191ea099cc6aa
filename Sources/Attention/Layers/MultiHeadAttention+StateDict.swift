extension MultiHeadAttention {
  /// The parameter names of PyTorch's `nn.MultiheadAttention.state_dict()` this type reads.
  static var pyTorchParameterNames: Set<String> {
    [
      "in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight", "in_proj_bias",
      "out_proj.weight", "out_proj.bias",
    ]
  }

  /// Creates multi-head attention from the tensors of a PyTorch `nn.MultiheadAttention`
  /// `state_dict()`, by name.
  ///
  /// | PyTorch name | shape | becomes |
  /// |---|---|---|
  /// | `in_proj_weight` | `[E + 2·Hkv·D, E]` (`[3E, E]`) | rows `0..<E` → `W_Q`, the next `Hkv·D` → `W_K`, the last `Hkv·D` → `W_V` |
  /// | `q_proj_weight`, `k_proj_weight`, `v_proj_weight` | `[E, E]`, `[Hkv·D, kdim]`, `[Hkv·D, vdim]` | `W_Q`, `W_K`, `W_V` (PyTorch's layout when `kdim` or `vdim` ≠ `E`) |
  /// | `in_proj_bias` (optional) | `[E + 2·Hkv·D]` | split like the rows: `b_Q`, `b_K`, `b_V` |
  /// | `out_proj.weight` | `[E, E]` | `W_O` |
  /// | `out_proj.bias` (optional) | `[E]` | `b_O` |
  ///
  /// `E` is read from `out_proj.weight`. Exactly one of `in_proj_weight` or the three separate
  /// weights must be present. PyTorch itself has no grouped-query attention; `Hkv < H` extends
  /// the same layout with narrower key and value blocks. `bias_k`/`bias_v` (`add_bias_kv=True`)
  /// are not supported and are reported as unknown names.
  ///
  /// - Parameters:
  ///   - stateDict: the tensors by name, converted to `Scalar`.
  ///   - headCount: `H` (PyTorch's `num_heads`; the state dict does not record it).
  ///   - keyValueHeadCount: `Hkv`; `nil` means `H`.
  /// - Throws: `AttentionError`: `invalidArgument` naming a missing or unknown tensor (and the
  ///   names present), `shapeMismatch` naming a tensor, its shape and the expected shape, or the
  ///   errors of ``init(headCount:keyValueHeadCount:queryProjection:keyProjection:valueProjection:outputProjection:)``.
  public init(
    pyTorchStateDict stateDict: [String: Tensor<Scalar>], headCount: Int,
    keyValueHeadCount: Int? = nil
  ) throws {
    let names = stateDict.keys.sorted()
    let unknown = names.filter { !Self.pyTorchParameterNames.contains($0) }
    guard unknown.isEmpty else {
      throw AttentionError(
        .invalidArgument,
        "unknown tensor name(s) \(unknown) in the nn.MultiheadAttention state dict; expected only \(Self.pyTorchParameterNames.sorted()) (add_bias_kv's bias_k/bias_v are not supported)"
      )
    }
    func require(_ name: String, _ expected: String) throws -> Tensor<Scalar> {
      guard let tensor = stateDict[name] else {
        throw AttentionError(
          .invalidArgument,
          "the nn.MultiheadAttention state dict has no tensor '\(name)' (expected shape \(expected)); present: \(names)"
        )
      }
      return tensor
    }
    let outWeight = try require("out_proj.weight", "[E, E]")
    guard outWeight.rank == 2, outWeight.shape[0] == outWeight.shape[1] else {
      throw AttentionError(
        .shapeMismatch,
        "tensor 'out_proj.weight' has shape \(outWeight.shape.shapeDescription) but must be square [E, E]"
      )
    }
    let e = outWeight.shape[0]
    let kvHeads = keyValueHeadCount ?? headCount
    let kv = try Self.keyValueFeatureCount(
      embedDimension: e, headCount: headCount, keyValueHeadCount: kvHeads)

    func check(_ name: String, _ tensor: Tensor<Scalar>, _ expected: [Int]) throws {
      guard tensor.shape == expected else {
        throw AttentionError(
          .shapeMismatch,
          "tensor '\(name)' has shape \(tensor.shape.shapeDescription) but expected \(expected.shapeDescription) (E = \(e), H = \(headCount), Hkv = \(kvHeads))"
        )
      }
    }

    let weights: [Tensor<Scalar>]
    let separateNames = ["q_proj_weight", "k_proj_weight", "v_proj_weight"]
    if let stacked = stateDict["in_proj_weight"] {
      if let both = separateNames.first(where: { stateDict[$0] != nil }) {
        throw AttentionError(
          .invalidArgument,
          "the state dict has both 'in_proj_weight' and '\(both)'; PyTorch stores one or the other")
      }
      try check("in_proj_weight", stacked, [e + 2 * kv, e])
      weights = Self.splitRows(stacked, counts: [e, kv, kv])
    } else if separateNames.contains(where: { stateDict[$0] != nil }) {
      let q = try require("q_proj_weight", "[\(e), \(e)]")
      let k = try require("k_proj_weight", "[\(kv), kdim]")
      let v = try require("v_proj_weight", "[\(kv), vdim]")
      try check("q_proj_weight", q, [e, e])
      try check("k_proj_weight", k, [kv, k.shape.last ?? 0])
      try check("v_proj_weight", v, [kv, v.shape.last ?? 0])
      weights = [q, k, v]
    } else {
      throw AttentionError(
        .invalidArgument,
        "the nn.MultiheadAttention state dict has neither 'in_proj_weight' (expected shape [\(e + 2 * kv), \(e)]) nor 'q_proj_weight', 'k_proj_weight', 'v_proj_weight'; present: \(names)"
      )
    }

    var biases: [Tensor<Scalar>?] = [nil, nil, nil]
    if let stackedBias = stateDict["in_proj_bias"] {
      try check("in_proj_bias", stackedBias, [e + 2 * kv])
      biases = Self.splitRows(stackedBias, counts: [e, kv, kv])
    }
    let outBias = stateDict["out_proj.bias"]
    if let outBias { try check("out_proj.bias", outBias, [e]) }

    try self.init(
      headCount: headCount, keyValueHeadCount: kvHeads,
      queryProjection: Linear(weight: weights[0], bias: biases[0]),
      keyProjection: Linear(weight: weights[1], bias: biases[1]),
      valueProjection: Linear(weight: weights[2], bias: biases[2]),
      outputProjection: Linear(weight: outWeight, bias: outBias))
  }

  /// The weights under PyTorch's `nn.MultiheadAttention.state_dict()` names, the inverse of
  /// ``init(pyTorchStateDict:headCount:keyValueHeadCount:)``.
  ///
  /// When `kdim = vdim = E` the input projections are stacked into `in_proj_weight`, otherwise
  /// they are `q_proj_weight`, `k_proj_weight` and `v_proj_weight`, as PyTorch does. If any input
  /// projection has a bias, `in_proj_bias` holds all three, zeros standing in for a missing one;
  /// `out_proj.bias` is present when the output projection has a bias.
  public var pyTorchStateDict: [String: Tensor<Scalar>] {
    let inputs = [queryProjection, keyProjection, valueProjection]
    var result: [String: Tensor<Scalar>] = ["out_proj.weight": outputProjection.weight]
    if keyInputDimension == embedDimension && valueInputDimension == embedDimension {
      let rows = inputs.reduce(0) { $0 + $1.outputFeatureCount }
      result["in_proj_weight"] = Tensor(
        uncheckedShape: [rows, embedDimension], scalars: inputs.flatMap(\.weight.scalars))
    } else {
      result["q_proj_weight"] = queryProjection.weight
      result["k_proj_weight"] = keyProjection.weight
      result["v_proj_weight"] = valueProjection.weight
    }
    if inputs.contains(where: { $0.bias != nil }) {
      let scalars = inputs.flatMap {
        $0.bias?.scalars ?? [Scalar](repeating: 0, count: $0.outputFeatureCount)
      }
      result["in_proj_bias"] = Tensor(uncheckedShape: [scalars.count], scalars: scalars)
    }
    if let bias = outputProjection.bias { result["out_proj.bias"] = bias }
    return result
  }
}
