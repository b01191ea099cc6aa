/// Which positions a query may attend to, given as a tensor broadcastable to `[B, Hq, Nq, Nk]`.
///
/// The case names say the polarity, so a mask cannot be read the wrong way round:
/// `.allow(where: m)` means `true` = may attend (PyTorch's `scaled_dot_product_attention`);
/// `.block(where: m)` means `true` = must not attend (PyTorch's `nn.MultiheadAttention`
/// `attn_mask`/`key_padding_mask`). An additive mask is added to the logits after scaling;
/// `-infinity` blocks a position.
///
/// Accepted mask shapes, right-aligned against `[B, Hq, Nq, Nk]`: `[Nq, Nk]`, `[Hq, Nq, Nk]`,
/// `[B, 1, Nq, Nk]`, `[B, Hq, Nq, Nk]`, and any of these with more dimensions set to 1 (for
/// example `[B, 1, 1, Nk]` for a per-key mask). The last dimension must be `Nk`.
public enum AttentionMask<Scalar: AttentionScalar>: Sendable {
  /// No mask: every key is visible (subject to `causal` and `keyLengths`).
  case none
  /// `true` marks the (query, key) pairs that may attend.
  case allow(where: Tensor<Bool>)
  /// `true` marks the (query, key) pairs that must not attend.
  case block(where: Tensor<Bool>)
  /// Added to the scaled logits; `-infinity` blocks.
  case additive(Tensor<Scalar>)
}

/// How a causal mask lines up queries with keys when their counts differ.
///
/// With `Nq` queries and `Nk` keys, query `i` may attend key `j` when
/// - ``topLeft``: `j ≤ i` (PyTorch's `is_causal`; the mask's diagonal starts at the top-left);
/// - ``bottomRight``: `j ≤ i + Nk − Nq` (FlashAttention and MLX; the last query sees the last key,
///   which is what decoding with a KV cache needs).
///
/// The two agree when `Nq == Nk`. With `Nq > Nk` and ``bottomRight``, the first `Nq − Nk` queries
/// see no key at all and their outputs are zero (see ``scaledDotProductAttention(query:key:value:mask:causal:keyLengths:scale:backend:)``).
public enum CausalAlignment: String, Sendable, CaseIterable {
  /// Query `i` sees keys `0…i`.
  case topLeft = "top-left"
  /// Query `i` sees keys `0…i + Nk − Nq`.
  case bottomRight = "bottom-right"
}

/// Which implementation computes attention. All give the same results within rounding.
public enum AttentionBackend: String, Sendable, CaseIterable {
  /// The default: BLAS matrix products in a fused, tiled kernel whose extra memory does not grow
  /// with `Nq·Nk`. When attention probabilities are requested it runs ``blasMaterialized``.
  case blas
  /// BLAS matrix products on the full `Nq × Nk` score matrix of each head.
  case blasMaterialized = "blas-materialized"
  /// Plain Swift loops without BLAS: slow, simple, the cross-check oracle.
  case naive
}

/// Extra results ``scaledDotProductAttention(query:key:value:mask:causal:keyLengths:scale:backend:returning:)``
/// can return besides the output.
public struct AttentionOutputs: OptionSet, Sendable {
  public let rawValue: Int
  public init(rawValue: Int) { self.rawValue = rawValue }

  /// The attention probabilities, `[B, Hq, Nq, Nk]`.
  public static let probabilities = AttentionOutputs(rawValue: 1 << 0)
  /// The natural-log sum of exponentials of each row's logits, `[B, Hq, Nq]`.
  public static let logSumExp = AttentionOutputs(rawValue: 1 << 1)
}

/// The output of attention and, when requested, its probabilities and row log-sum-exp.
public struct AttentionResult<Scalar: AttentionScalar>: Sendable {
  /// The attention output, in the query's rank: `[B, Hq, Nq, Dv]`, `[Hq, Nq, Dv]` or `[Nq, Dv]`.
  public var output: Tensor<Scalar>
  /// The probabilities `[B, Hq, Nq, Nk]` (always rank 4), if requested; fully masked rows are 0.
  public var probabilities: Tensor<Scalar>?
  /// The log-sum-exp of each row's scaled, masked logits, `[B, Hq, Nq]` (always rank 3), if
  /// requested; `-infinity` for fully masked rows.
  public var logSumExp: Tensor<Scalar>?
}
