/// Multi-head attention with learned projections, PyTorch's `nn.MultiheadAttention` forward pass
/// (batch first, no dropout), with grouped-query attention as an option.
///
/// With `E` the embedding dimension, `H` query heads of `D = E / H` features and `Hkv` key/value
/// heads (`H` a multiple of `Hkv`; `Hkv = H` is ordinary multi-head attention):
///
/// ```
/// Q = query · W_Qᵀ + b_Q      [B, Nq, E]        → heads [B, H,   Nq, D]
/// K = key   · W_Kᵀ + b_K      [B, Nk, Hkv·D]    → heads [B, Hkv, Nk, D]
/// V = value · W_Vᵀ + b_V      [B, Nk, Hkv·D]    → heads [B, Hkv, Nk, D]
/// O_h = softmax(Q_h · K_{h/g}ᵀ / √D + mask) · V_{h/g}     (g = H / Hkv)
/// output = concat(O_0, …, O_{H-1}) · W_Oᵀ + b_O          [B, Nq, E]
/// ```
///
/// Head `h` uses features `h·D ..< (h+1)·D` of the projections
/// (``AttentionCore/Tensor/splittingHeads(headCount:)``),
/// and with grouped-query attention query head `h` reads key/value head `h / g`. Weights follow
/// PyTorch's convention `y = x·Wᵀ + b`: `W_Q` is `[E, E]`, `W_K` is `[Hkv·D, kdim]`, `W_V` is
/// `[Hkv·D, vdim]` and `W_O` is `[E, E]`, where `kdim` and `vdim` (the key and value inputs'
/// feature counts) may differ from `E` for cross-attention over another model's features.
///
/// ```swift
/// var generator = SplitMix64(seed: 0)
/// let attention = try MultiHeadAttention<Float>(embedDimension: 64, headCount: 8, using: &generator)
/// let x = try Tensor<Float>.randomNormal(shape: [2, 10, 64], using: &generator)
/// let y = try attention(x, causal: .topLeft)  // self-attention, [2, 10, 64]
/// ```
public struct MultiHeadAttention<Scalar: AttentionScalar>: Sendable {
  /// `H`, the number of query heads.
  public let headCount: Int
  /// `Hkv`, the number of key/value heads; equal to ``headCount`` unless grouped-query.
  public let keyValueHeadCount: Int
  /// The query projection, weight `[E, E]`.
  public let queryProjection: Linear<Scalar>
  /// The key projection, weight `[Hkv·D, kdim]`.
  public let keyProjection: Linear<Scalar>
  /// The value projection, weight `[Hkv·D, vdim]`.
  public let valueProjection: Linear<Scalar>
  /// The output projection, weight `[E, E]`.
  public let outputProjection: Linear<Scalar>

  /// `E`, the number of features of the query input and of the output.
  public var embedDimension: Int { queryProjection.outputFeatureCount }
  /// `D = E / H`, the number of features of one head.
  public var headDimension: Int { embedDimension / headCount }
  /// `kdim`, the number of features of the key input.
  public var keyInputDimension: Int { keyProjection.inputFeatureCount }
  /// `vdim`, the number of features of the value input.
  public var valueInputDimension: Int { valueProjection.inputFeatureCount }

  /// Creates multi-head attention from its four projections.
  ///
  /// - Parameters:
  ///   - headCount: `H`, which must divide `E`.
  ///   - keyValueHeadCount: `Hkv`, which must divide `H`; `nil` means `H`.
  ///   - queryProjection: weight `[E, E]`, optional bias `[E]`.
  ///   - keyProjection: weight `[Hkv·E/H, kdim]`, optional bias.
  ///   - valueProjection: weight `[Hkv·E/H, vdim]`, optional bias.
  ///   - outputProjection: weight `[E, E]`, optional bias `[E]`.
  /// - Throws: `AttentionError`: `invalidArgument` if `E` is not divisible by `H` or `H` not by
  ///   `Hkv`; `shapeMismatch` naming the weight's shape and the expected one otherwise.
  public init(
    headCount: Int, keyValueHeadCount: Int? = nil,
    queryProjection: Linear<Scalar>, keyProjection: Linear<Scalar>,
    valueProjection: Linear<Scalar>, outputProjection: Linear<Scalar>
  ) throws {
    let e = queryProjection.outputFeatureCount
    let kvHeads = keyValueHeadCount ?? headCount
    let kvFeatures = try Self.keyValueFeatureCount(
      embedDimension: e, headCount: headCount, keyValueHeadCount: kvHeads)
    let expectations: [(String, Linear<Scalar>, [Int])] = [
      ("W_Q (query projection)", queryProjection, [e, e]),
      ("W_K (key projection)", keyProjection, [kvFeatures, keyProjection.inputFeatureCount]),
      ("W_V (value projection)", valueProjection, [kvFeatures, valueProjection.inputFeatureCount]),
      ("W_O (output projection)", outputProjection, [e, e]),
    ]
    for (name, projection, expected) in expectations where projection.weight.shape != expected {
      throw AttentionError(
        .shapeMismatch,
        "\(name) has shape \(projection.weight.shape.shapeDescription) but E = \(e), H = \(headCount), Hkv = \(kvHeads) need \(expected.shapeDescription)"
      )
    }
    self.headCount = headCount
    self.keyValueHeadCount = kvHeads
    self.queryProjection = queryProjection
    self.keyProjection = keyProjection
    self.valueProjection = valueProjection
    self.outputProjection = outputProjection
  }

  /// Creates multi-head attention with random weights and zero biases.
  ///
  /// With ``WeightInitialization/xavierUniform(gain:)`` the weights are drawn as PyTorch's
  /// `nn.MultiheadAttention._reset_parameters` draws them: when `kdim = vdim = E` the three input
  /// projections are one stacked matrix `[E + 2·Hkv·D, E]` given one Xavier bound (PyTorch's
  /// `in_proj_weight`), otherwise each gets its own; the output projection keeps `nn.Linear`'s
  /// default, uniform in `±1/√E` (``WeightInitialization/kaimingUniform(negativeSlope:)`` with
  /// slope `√5`). Any other initialisation is applied to each of the four weights separately.
  ///
  /// - Parameters:
  ///   - embedDimension: `E`.
  ///   - headCount: `H`, which must divide `E`.
  ///   - keyValueHeadCount: `Hkv`, which must divide `H`; `nil` means `H`.
  ///   - keyInputDimension: `kdim`; `nil` means `E`.
  ///   - valueInputDimension: `vdim`; `nil` means `E`.
  ///   - bias: whether the four projections have (zero-initialised) biases.
  ///   - initialization: how the weights are drawn.
  ///   - generator: the source of randomness; the same seed gives the same weights.
  /// - Throws: `AttentionError` for non-positive sizes, `E` not divisible by `H`, `H` not
  ///   divisible by `Hkv`, or a failing initialiser.
  public init<G: RandomNumberGenerator>(
    embedDimension: Int, headCount: Int, keyValueHeadCount: Int? = nil,
    keyInputDimension: Int? = nil, valueInputDimension: Int? = nil, bias: Bool = true,
    initialization: WeightInitialization = .xavierUniform(), using generator: inout G
  ) throws {
    let e = embedDimension
    let kvHeads = keyValueHeadCount ?? headCount
    let kvFeatures = try Self.keyValueFeatureCount(
      embedDimension: e, headCount: headCount, keyValueHeadCount: kvHeads)
    let kdim = keyInputDimension ?? e
    let vdim = valueInputDimension ?? e
    guard kdim > 0, vdim > 0 else {
      throw AttentionError(
        .invalidArgument, "key and value input dimensions must be positive, got \(kdim) and \(vdim)"
      )
    }
    var weights: [Tensor<Scalar>]
    if case .xavierUniform = initialization, kdim == e, vdim == e {
      let stacked: Tensor<Scalar> = try initialization.makeWeight(
        shape: [e + 2 * kvFeatures, e], using: &generator)
      weights = Self.splitRows(stacked, counts: [e, kvFeatures, kvFeatures])
    } else {
      weights = []
      for shape in [[e, e], [kvFeatures, kdim], [kvFeatures, vdim]] {
        weights.append(try initialization.makeWeight(shape: shape, using: &generator))
      }
    }
    if case .xavierUniform = initialization {
      let linearDefault = WeightInitialization.kaimingUniform(negativeSlope: 5.squareRoot())
      weights.append(try linearDefault.makeWeight(shape: [e, e], using: &generator))
    } else {
      weights.append(try initialization.makeWeight(shape: [e, e], using: &generator))
    }
    func zeros(_ count: Int) -> Tensor<Scalar>? {
      bias ? Tensor(uncheckedShape: [count], scalars: [Scalar](repeating: 0, count: count)) : nil
    }
    try self.init(
      headCount: headCount, keyValueHeadCount: kvHeads,
      queryProjection: Linear(weight: weights[0], bias: zeros(e)),
      keyProjection: Linear(weight: weights[1], bias: zeros(kvFeatures)),
      valueProjection: Linear(weight: weights[2], bias: zeros(kvFeatures)),
      outputProjection: Linear(weight: weights[3], bias: zeros(e)))
  }

  /// Checks `E`, `H` and `Hkv` and returns `Hkv·E/H`, the key and value projections' width.
  static func keyValueFeatureCount(
    embedDimension e: Int, headCount: Int, keyValueHeadCount kvHeads: Int
  ) throws -> Int {
    guard e > 0, headCount > 0, kvHeads > 0 else {
      throw AttentionError(
        .invalidArgument,
        "embedDimension (\(e)), headCount (\(headCount)) and keyValueHeadCount (\(kvHeads)) must be positive"
      )
    }
    guard e % headCount == 0 else {
      throw AttentionError(
        .invalidArgument,
        "embedDimension \(e) is not divisible by headCount \(headCount): each head needs E / H features"
      )
    }
    guard headCount % kvHeads == 0 else {
      throw AttentionError(
        .invalidArgument,
        "headCount \(headCount) is not a multiple of keyValueHeadCount \(kvHeads): each key/value head must serve the same number of query heads"
      )
    }
    return kvHeads * (e / headCount)
  }

  /// Consecutive row blocks of a matrix, `counts` rows each.
  static func splitRows(_ matrix: Tensor<Scalar>, counts: [Int]) -> [Tensor<Scalar>] {
    let width = matrix.count / Swift.max(matrix.shape[0], 1)
    let trailing = Array(matrix.shape.dropFirst())
    var start = 0
    return counts.map { rows in
      defer { start += rows }
      return Tensor(
        uncheckedShape: [rows] + trailing,
        scalars: Array(matrix.scalars[start * width..<(start + rows) * width]))
    }
  }
}

/// Which attention weights multi-head attention returns alongside its output.
public enum AttentionWeightsAveraging: String, Sendable, CaseIterable {
  /// The mean of the heads' attention probabilities, `[B, Nq, Nk]` (PyTorch's
  /// `need_weights=True, average_attn_weights=True`).
  case averagedOverHeads = "averaged"
  /// Every head's probabilities, `[B, H, Nq, Nk]` (`average_attn_weights=False`).
  case perHead = "per-head"
}

extension MultiHeadAttention {
  /// Runs multi-head attention: self-attention when `key` and `value` are omitted.
  ///
  /// Shapes (`kdim`/`vdim` are ``keyInputDimension`` and ``valueInputDimension``):
  /// - `query`: `[B, Nq, E]`, or `[Nq, E]` for one unbatched sequence;
  /// - `key`: `[B, Nk, kdim]` in the query's rank; omitted, it is the query;
  /// - `value`: `[B, Nk, vdim]`; omitted, it is the key;
  /// - result: `[B, Nq, E]` in the query's rank.
  ///
  /// `mask`, `causal`, `keyLengths` and the variants (`window`, `packedSequences`, `softcap`,
  /// `alibiSlopes`, `sinks`) mean what they mean for
  /// ``scaledDotProductAttention(query:key:value:mask:causal:keyLengths:window:packedSequences:scale:softcap:alibiSlopes:sinks:backend:)``,
  /// applied to the scores `[B, H, Nq, Nk]`: a mask broadcasts against that shape (`[Nq, Nk]`,
  /// `[H, Nq, Nk]`, `[B, 1, Nq, Nk]`, `[B, 1, 1, Nk]` for per-key padding, …). PyTorch's
  /// `attn_mask`/`key_padding_mask` booleans (`true` = ignore) are ``AttentionMask/block(where:)``.
  /// For an unbatched query `B = 1`. Rows that may see no key give the output projection's bias.
  ///
  /// - Parameters:
  ///   - query: the queries `[B, Nq, E]` or `[Nq, E]`.
  ///   - key: the keys `[B, Nk, kdim]`; `nil` for self-attention.
  ///   - value: the values `[B, Nk, vdim]`; `nil` to use the keys.
  ///   - mask: an optional mask over `[B, H, Nq, Nk]`.
  ///   - causal: an optional causal mask and its alignment when `Nq ≠ Nk`.
  ///   - keyLengths: optional per-batch counts of valid keys (`B` entries, each in `0…Nk`).
  ///   - window: an optional band of keys around each query's position (sliding window).
  ///   - packedSequences: several sequences packed end to end along `N` of an unbatched query
  ///     `[N, E]` (or `B = 1`); each attends only to its own keys. The projections run on the
  ///     packed rows, so no padding token costs a multiply.
  ///   - softcap: an optional logit cap `C` (`s ← C·tanh(s/C)`).
  ///   - alibiSlopes: optional ALiBi slopes, one per head.
  ///   - sinks: optional sink logits, one per head.
  ///   - backend: which attention kernel runs; results agree within rounding.
  /// - Returns: the output `[B, Nq, E]` (or `[Nq, E]`).
  /// - Throws: `AttentionError` for ranks other than 2 and 3, feature counts that do not match
  ///   the projections, disagreeing batch or key counts (naming both shapes), empty dimensions,
  ///   or a bad mask or key lengths.
  /// - Complexity: O(B·(Nq·E² + Nk·Hkv·D·(kdim + vdim)) + B·H·Nq·Nk·D) time: four projection
  ///   `gemm`s over all `B·N` rows, then attention.
  public func callAsFunction(
    _ query: Tensor<Scalar>, key: Tensor<Scalar>? = nil, value: Tensor<Scalar>? = nil,
    mask: AttentionMask<Scalar> = .none, causal: CausalAlignment? = nil,
    keyLengths: [Int]? = nil, window: AttentionWindow? = nil,
    packedSequences: PackedSequences? = nil, softcap: Scalar? = nil,
    alibiSlopes: [Scalar]? = nil, sinks: [Scalar]? = nil, backend: AttentionBackend = .blas
  ) throws -> Tensor<Scalar> {
    try forward(
      query, key: key, value: value, mask: mask, causal: causal, keyLengths: keyLengths,
      variants: Variants(
        window: window, packedSequences: packedSequences, softcap: softcap,
        alibiSlopes: alibiSlopes, sinks: sinks),
      backend: backend, weights: nil
    ).output
  }

  /// The attention variants a call passes through to
  /// ``scaledDotProductAttention(query:key:value:mask:causal:keyLengths:window:packedSequences:scale:softcap:alibiSlopes:sinks:backend:)``.
  private struct Variants {
    var window: AttentionWindow?
    var packedSequences: PackedSequences?
    var softcap: Scalar?
    var alibiSlopes: [Scalar]?
    var sinks: [Scalar]?
  }

  /// Runs multi-head attention and also returns its attention weights.
  ///
  /// Identical to
  /// ``callAsFunction(_:key:value:mask:causal:keyLengths:window:packedSequences:softcap:alibiSlopes:sinks:backend:)``
  /// otherwise. The
  /// weights are the softmax probabilities (zero where masked), `[B, Nq, Nk]` averaged over heads
  /// or `[B, H, Nq, Nk]` per head; for an unbatched query the leading `B` is dropped, as PyTorch
  /// does. With the `.blas` backend, asking for weights runs the materialised kernel.
  ///
  /// - Parameters:
  ///   - query: the queries `[B, Nq, E]` or `[Nq, E]`.
  ///   - key: the keys `[B, Nk, kdim]`; `nil` for self-attention.
  ///   - value: the values `[B, Nk, vdim]`; `nil` to use the keys.
  ///   - mask: an optional mask over `[B, H, Nq, Nk]`.
  ///   - causal: an optional causal mask and its alignment when `Nq ≠ Nk`.
  ///   - keyLengths: optional per-batch counts of valid keys (`B` entries, each in `0…Nk`).
  ///   - window: an optional band of keys around each query's position (sliding window).
  ///   - packedSequences: several sequences packed end to end along `N` of an unbatched query.
  ///   - softcap: an optional logit cap `C` (`s ← C·tanh(s/C)`).
  ///   - alibiSlopes: optional ALiBi slopes, one per head.
  ///   - sinks: optional sink logits, one per head.
  ///   - backend: which attention kernel runs.
  ///   - averaging: whether to average the weights over heads.
  /// - Returns: the output and the attention weights.
  /// - Throws: `AttentionError` as the plain form does.
  public func callAsFunction(
    _ query: Tensor<Scalar>, key: Tensor<Scalar>? = nil, value: Tensor<Scalar>? = nil,
    mask: AttentionMask<Scalar> = .none, causal: CausalAlignment? = nil,
    keyLengths: [Int]? = nil, window: AttentionWindow? = nil,
    packedSequences: PackedSequences? = nil, softcap: Scalar? = nil,
    alibiSlopes: [Scalar]? = nil, sinks: [Scalar]? = nil, backend: AttentionBackend = .blas,
    returningWeights averaging: AttentionWeightsAveraging
  ) throws -> (output: Tensor<Scalar>, weights: Tensor<Scalar>) {
    let result = try forward(
      query, key: key, value: value, mask: mask, causal: causal, keyLengths: keyLengths,
      variants: Variants(
        window: window, packedSequences: packedSequences, softcap: softcap,
        alibiSlopes: alibiSlopes, sinks: sinks),
      backend: backend, weights: averaging)
    return (result.output, result.weights!)
  }

  /// Validates the inputs, then: projections, head split, attention, head merge, output projection.
  private func forward(
    _ query: Tensor<Scalar>, key: Tensor<Scalar>?, value: Tensor<Scalar>?,
    mask: AttentionMask<Scalar>, causal: CausalAlignment?, keyLengths: [Int]?,
    variants: Variants, backend: AttentionBackend, weights averaging: AttentionWeightsAveraging?
  ) throws -> (output: Tensor<Scalar>, weights: Tensor<Scalar>?) {
    if key == nil && value != nil {
      throw AttentionError(
        .invalidArgument, "a value tensor was given without a key tensor; pass both, or neither")
    }
    let key = key ?? query
    let value = value ?? key
    try validate(query: query, key: key, value: value)
    let batched = query.rank == 3
    func batch(_ tensor: Tensor<Scalar>) -> Tensor<Scalar> {
      batched ? tensor : Tensor(uncheckedShape: [1] + tensor.shape, scalars: tensor.scalars)
    }
    // One product per projection over all B·N rows, written split into heads (a re-layout, not
    // a computation: where it can, the product writes each head's block directly).
    let q = try queryProjection.splittingHeads(of: batch(query), headCount: headCount)
    let k = try keyProjection.splittingHeads(of: batch(key), headCount: keyValueHeadCount)
    let v = try valueProjection.splittingHeads(of: batch(value), headCount: keyValueHeadCount)
    let attended = try scaledDotProductAttention(
      query: q, key: k, value: v, mask: mask, causal: causal, keyLengths: keyLengths,
      window: variants.window, packedSequences: variants.packedSequences,
      softcap: variants.softcap, alibiSlopes: variants.alibiSlopes, sinks: variants.sinks,
      backend: backend, returning: averaging == nil ? [] : .probabilities)
    var output = try outputProjection(attended.output.mergingHeads())
    if !batched { output = Tensor(uncheckedShape: query.shape, scalars: output.scalars) }
    guard let averaging, let probabilities = attended.probabilities else { return (output, nil) }
    var weights =
      averaging == .averagedOverHeads ? Self.averagedOverHeads(probabilities) : probabilities
    if !batched {
      weights = Tensor(uncheckedShape: Array(weights.shape.dropFirst()), scalars: weights.scalars)
    }
    return (output, weights)
  }

  /// Checks ranks, feature counts, batch and key counts before any work, naming both shapes.
  private func validate(query: Tensor<Scalar>, key: Tensor<Scalar>, value: Tensor<Scalar>) throws {
    guard query.rank == 2 || query.rank == 3 else {
      throw AttentionError(
        .invalidShape,
        "multi-head attention needs a query [B, N, E] or [N, E], got shape \(query.shape.shapeDescription)"
      )
    }
    guard key.rank == query.rank else {
      throw AttentionError.mismatch(
        "query and key must have the same rank", "query", query.shape, "key", key.shape)
    }
    guard value.rank == query.rank else {
      throw AttentionError.mismatch(
        "query and value must have the same rank", "query", query.shape, "value", value.shape)
    }
    let checks: [(String, Tensor<Scalar>, String, Linear<Scalar>)] = [
      ("query", query, "W_Q (query projection)", queryProjection),
      ("key", key, "W_K (key projection)", keyProjection),
      ("value", value, "W_V (value projection)", valueProjection),
    ]
    for (name, tensor, weightName, projection) in checks
    where tensor.shape.last != projection.inputFeatureCount {
      throw AttentionError.mismatch(
        "the \(name)'s last dimension must equal the projection's input features",
        name, tensor.shape, weightName, projection.weight.shape)
    }
    if query.rank == 3 && key.shape[0] != query.shape[0] {
      throw AttentionError.mismatch(
        "query and key batch sizes differ", "query", query.shape, "key", key.shape)
    }
    guard key.shape.dropLast() == value.shape.dropLast() else {
      throw AttentionError.mismatch(
        "key and value must agree in batch size and key count", "key", key.shape, "value",
        value.shape)
    }
    for (name, tensor) in [("query", query), ("key", key), ("value", value)]
    where tensor.shape.contains(0) {
      throw AttentionError(
        .invalidShape, "\(name) has an empty dimension: shape \(tensor.shape.shapeDescription)")
    }
  }

  /// `[B, H, Nq, Nk] → [B, Nq, Nk]`, the mean over heads.
  static func averagedOverHeads(_ probabilities: Tensor<Scalar>) -> Tensor<Scalar> {
    let (b, h, nq, nk) = (
      probabilities.shape[0], probabilities.shape[1], probabilities.shape[2],
      probabilities.shape[3]
    )
    let plane = nq * nk
    var mean = [Scalar](repeating: 0, count: b * plane)
    let reciprocal = 1 / Scalar(h)
    probabilities.withUnsafeBufferPointer { p in
      mean.withUnsafeMutableBufferPointer { m in
        for batch in 0..<b {
          for head in 0..<h {
            let source = (batch * h + head) * plane
            for index in 0..<plane { m[batch * plane + index] += p[source + index] }
          }
          for index in 0..<plane { m[batch * plane + index] *= reciprocal }
        }
      }
    }
    return Tensor(uncheckedShape: [b, nq, nk], scalars: mean)
  }
}
