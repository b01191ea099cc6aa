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
