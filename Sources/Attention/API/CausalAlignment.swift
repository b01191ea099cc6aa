/// How a causal mask lines up queries with keys when their counts differ.
///
/// With `Nq` queries and `Nk` keys, query `i` may attend key `j` when
/// - ``topLeft``: `j ≤ i` (PyTorch's `is_causal`; the mask's diagonal starts at the top-left);
/// - ``bottomRight``: `j ≤ i + Nk − Nq` (FlashAttention and MLX; the last query sees the last key,
///   which is what decoding with a KV cache needs).
///
/// The two agree when `Nq == Nk`. With `Nq > Nk` and ``bottomRight``, the first `Nq − Nk` queries
/// see no key at all and their outputs are zero (see <doc:NaNAndInfinity>).
public enum CausalAlignment: String, Sendable, CaseIterable {
  /// Query `i` sees keys `0…i`.
  case topLeft = "top-left"
  /// Query `i` sees keys `0…i + Nk − Nq`.
  case bottomRight = "bottom-right"
}
