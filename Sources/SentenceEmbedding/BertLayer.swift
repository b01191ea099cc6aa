import Attention

/// One BERT encoder layer (post-norm): self-attention, then a GELU feed-forward block, each
/// followed by a residual connection and layer normalisation.
///
/// ```
/// a = MultiHeadAttention(x)            // Q/K/V/O projections, softmax(QKᵀ/√D)·V, padding masked
/// h = LayerNorm₁(a + x)
/// y = LayerNorm₂(W₂ · gelu(W₁ · h + b₁) + b₂ + h)
/// ```
///
/// Shapes: `x`, `h`, `y` are `[B, N, H]`; the feed-forward block widens to `[B, N, I]`.
public struct BertLayer: Sendable {
  /// The self-attention block: the engine's `MultiHeadAttention` with BERT's query, key,
  /// value and output projections (`attention.self.{query,key,value}`, `attention.output.dense`).
  public let attention: MultiHeadAttention<Float>
  /// `attention.output.LayerNorm`.
  let attentionNorm: LayerNorm
  /// `intermediate.dense`, `[I, H]`.
  let intermediate: Linear<Float>
  /// `output.dense`, `[H, I]`.
  let output: Linear<Float>
  /// `output.LayerNorm`.
  let outputNorm: LayerNorm

  /// Runs the layer on a padded batch.
  ///
  /// - Parameters:
  ///   - hidden: the hidden states `[B, N, H]`.
  ///   - keyLengths: the number of real tokens of each sequence (`B` entries, each in `1…N`);
  ///     attention never looks at the padding after them.
  ///   - backend: which attention kernel runs.
  /// - Returns: the layer's output `[B, N, H]`. Rows past a sequence's length hold values that
  ///   depend only on the real tokens; they are padding and are to be ignored.
  /// - Throws: `AttentionError` when `hidden` is not `[B, N, H]` or the lengths are invalid.
  /// - Complexity: O(B·N·H·(4·H + 2·I) + B·N²·H) time.
  public func callAsFunction(
    _ hidden: Tensor<Float>, keyLengths: [Int], backend: AttentionBackend = .blas
  ) throws -> Tensor<Float> {
    try feedForward(try attention(hidden, keyLengths: keyLengths, backend: backend), hidden)
  }

  /// Runs the layer on sequences packed end to end without padding.
  ///
  /// - Parameters:
  ///   - hidden: the hidden states of every real token, `[T, H]`, sequence after sequence.
  ///   - sequenceLengths: the tokens of each sequence, summing to `T`; each attends only to its
  ///     own tokens.
  ///   - backend: which attention kernel runs.
  /// - Returns: the layer's output `[T, H]`.
  /// - Throws: `AttentionError` when `hidden` is not `[T, H]` or the lengths do not sum to `T`.
  /// - Complexity: O(T·H·(4·H + 2·I) + Σ n_s²·H) time: no padding token in any product.
  public func callAsFunction(
    packed hidden: Tensor<Float>, sequenceLengths: [Int], backend: AttentionBackend = .blas
  ) throws -> Tensor<Float> {
    let attended = try attention(
      hidden, packedSequences: PackedSequences(lengths: sequenceLengths), backend: backend)
    return try feedForward(attended, hidden)
  }

  /// Everything after attention: residual and norm, the GELU block, residual and norm.
  private func feedForward(_ attended: Tensor<Float>, _ hidden: Tensor<Float>) throws
    -> Tensor<Float>
  {
    let normalised = attentionNorm(attended, adding: hidden)
    var widened = try intermediate(normalised)
    GELU.apply(to: &widened)
    return outputNorm(try output(widened), adding: normalised)
  }
}
