import Attention

/// One transformer block: attention through the layer's key/value cache, then the gated MLP.
///
/// The query, key and value projections are one matrix product (their weights stacked at load),
/// and so are the MLP's gate and up projections: one pass over the input and, when decoding, one
/// matrix-vector product streaming the weights instead of three or two.
struct DecoderLayer: Sendable {
  /// `[q_proj; k_proj; v_proj]`: `[(Hq + 2·Hkv)·D, hidden]`, with the biases stacked likewise.
  let queryKeyValue: Linear<Float>
  let output: Linear<Float>
  /// `[gate_proj; up_proj]`: `[2·intermediate, hidden]`.
  let gateUp: Linear<Float>
  let down: Linear<Float>
  let inputNorm: RMSNorm
  /// Llama's `post_attention_layernorm` (the norm before the MLP); Gemma 2's norm of the
  /// attention output.
  let postAttentionNorm: RMSNorm
  /// Gemma 2 only: the norms before and after the MLP.
  let preFeedforwardNorm: RMSNorm?
  let postFeedforwardNorm: RMSNorm?
  let activation: GatedActivation

  init(index: Int, configuration c: ModelConfiguration, weights: inout DecoderWeights) throws {
    let prefix = "model.layers.\(index)."
    let (h, d) = (c.hiddenSize, c.headDimension)
    func weight(_ name: String, out: Int, in inCount: Int) throws -> Tensor<Float> {
      try weights.take(prefix + name + ".weight", shape: [out, inCount])
    }
    func bias(_ name: String, out: Int) throws -> Tensor<Float> {
      try weights.take(prefix + name + ".bias", shape: [out])
    }
    let (qOut, kvOut) = (c.headCount * d, c.keyValueHeadCount * d)
    let projections = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"]
    let outCounts = [qOut, kvOut, kvOut]
    queryKeyValue = try Linear(
      weight: stacked(zip(projections, outCounts).map { try weight($0, out: $1, in: h) }),
      bias: c.hasAttentionBias
        ? stacked(zip(projections, outCounts).map { try bias($0, out: $1) }) : nil)
    output = try Linear(
      weight: weight("self_attn.o_proj", out: h, in: qOut),
      bias: c.architecture != .qwen2 && c.hasAttentionBias
        ? bias("self_attn.o_proj", out: h) : nil)
    let i = c.intermediateSize
    gateUp = try Linear(
      weight: stacked([
        weight("mlp.gate_proj", out: i, in: h), weight("mlp.up_proj", out: i, in: h),
      ]))
    down = try Linear(weight: weight("mlp.down_proj", out: h, in: i))
    func norm(_ name: String) throws -> RMSNorm {
      RMSNorm(
        weight: try weights.take(prefix + name + ".weight", shape: [h]).scalars,
        epsilon: c.normEpsilon, offset: c.normOffset)
    }
    inputNorm = try norm("input_layernorm")
    postAttentionNorm = try norm("post_attention_layernorm")
    if c.architecture == .gemma2 {
      preFeedforwardNorm = try norm("pre_feedforward_layernorm")
      postFeedforwardNorm = try norm("post_feedforward_layernorm")
    } else {
      preFeedforwardNorm = nil
      postFeedforwardNorm = nil
    }
    activation = c.activation == .silu ? .silu : .geluTanh
  }

  /// The block applied to `states` (`[n, hidden]`, updated in place), whose rows are the
  /// positions of `rotations`; their keys and values are appended to `cache`.
  func callAsFunction(
    _ states: inout [Float], rotations: RotaryPositionEmbedding.Angles,
    cache: inout KeyValueCache<Float>, configuration c: ModelConfiguration
  ) throws {
    let h = c.hiddenSize
    let n = states.count / h
    let normed = try Tensor(shape: [n, h], scalars: inputNorm(states))
    let qkv = try queryKeyValue(normed)
    let d = c.headDimension
    let (qWidth, kvWidth) = (c.headCount * d, c.keyValueHeadCount * d)
    var q = qkv.heads(columns: 0, count: c.headCount, dimension: d)
    var k = qkv.heads(columns: qWidth, count: c.keyValueHeadCount, dimension: d)
    let v = qkv.heads(columns: qWidth + kvWidth, count: c.keyValueHeadCount, dimension: d)
    try c.rotaryEmbedding.apply(rotations, to: &q)
    try c.rotaryEmbedding.apply(rotations, to: &k)
    try cache.append(keys: k, values: v)
    let attended = try cache.attention(
      query: q, scale: c.attentionScale, softcap: c.attentionSoftcap
    ).mergingHeads()
    var attention = try output(attended).scalars
    if c.architecture == .gemma2 { attention = postAttentionNorm(attention) }
    add(attention, to: &states)

    let mlpNorm = preFeedforwardNorm ?? postAttentionNorm
    let i = c.intermediateSize
    var gated = try gateUp(Tensor(shape: [n, h], scalars: mlpNorm(states))).scalars
    // Each row holds gate then up; the activation overwrites the gate half in place, and the
    // down projection reads it with a row stride of 2·intermediate.
    gated.withUnsafeMutableBufferPointer { buffer in
      let rows = DisjointAccess(buffer.baseAddress!)
      ElementwiseWork.forEachChunk(count: n, elementsPerItem: 8 * i) { chunk in
        for row in chunk {
          let gate = rows.base + row * 2 * i
          activation.apply(gate: gate, up: gate + i, into: gate, count: i)
        }
      }
    }
    var mlp = gated.withUnsafeBufferPointer {
      down.apply(rows: $0.baseAddress, rowCount: n, rowStride: 2 * i)
    }
    if let postFeedforwardNorm { mlp = postFeedforwardNorm(mlp) }
    add(mlp, to: &states)
  }
}

/// `states += delta`, element by element.
private func add(_ delta: [Float], to states: inout [Float]) {
  precondition(delta.count == states.count)
  delta.withUnsafeBufferPointer { delta in
    states.withUnsafeMutableBufferPointer { states in
      for i in 0..<states.count { states[i] += delta[i] }
    }
  }
}

/// Matrices with the same columns stacked row-wise: `[a₀ + a₁ + …, columns]` (or vectors
/// concatenated). Each part is released as soon as the result holds it.
private func stacked(_ parts: [Tensor<Float>]) throws -> Tensor<Float> {
  var scalars = [Float]()
  scalars.reserveCapacity(parts.reduce(0) { $0 + $1.count })
  for part in parts { scalars.append(contentsOf: part.scalars) }
  let rows = parts.reduce(0) { $0 + $1.shape[0] }
  return try Tensor(shape: [rows] + parts[0].shape.dropFirst(), scalars: scalars)
}

extension Tensor where Element == Float {
  /// `count` heads of `dimension` features starting at column `columns` of every row of this
  /// `[n, width]` matrix, as `[1, count, n, dimension]`.
  fileprivate func heads(columns: Int, count: Int, dimension: Int) -> Tensor<Float> {
    let (n, width) = (shape[0], shape[1])
    let scalars = [Float](unsafeUninitializedCapacity: count * n * dimension) {
      buffer, initialized in
      withUnsafeBufferPointer { source in
        for head in 0..<count {
          for row in 0..<n {
            (buffer.baseAddress! + (head * n + row) * dimension).initialize(
              from: source.baseAddress! + row * width + columns + head * dimension,
              count: dimension)
          }
        }
      }
      initialized = count * n * dimension
    }
    return Tensor(uncheckedShape: [1, count, n, dimension], scalars: scalars)
  }
}
