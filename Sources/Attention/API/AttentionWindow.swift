/// A band of keys around each query's aligned position: local (sliding-window) attention.
///
/// With `Nq` queries and `Nk` keys, query `i` has the aligned position `p(i) = i + Nk − Nq`
/// (bottom-right, the default, FlashAttention's convention) or `p(i) = i` (when the causal
/// alignment is ``CausalAlignment/topLeft``). A window lets query `i` see key `j` only when
///
/// ```
/// p(i) − keysBefore ≤ j ≤ p(i) + keysAfter
/// ```
///
/// A `nil` bound is unbounded on that side. This is FlashAttention's `window_size = (left, right)`
/// with `nil` for its `-1`. The window intersects with the causal rule, the mask and the key
/// lengths. Mistral's and Gemma's `sliding_window = W` (a query sees itself and the `W − 1` keys
/// before it) is ``sliding(_:)`` together with a causal mask.
///
/// ```swift
/// // Mistral: causal, each token sees itself and the 4,095 before it.
/// let out = try scaledDotProductAttention(
///   query: q, key: k, value: v, causal: .bottomRight, window: .sliding(4096))
/// ```
public struct AttentionWindow: Sendable, Hashable {
  /// How many keys before the aligned position a query may see; `nil` for all of them.
  public var keysBefore: Int?
  /// How many keys after the aligned position a query may see; `nil` for all of them.
  public var keysAfter: Int?

  /// A window of `keysBefore` keys before and `keysAfter` keys after each query's aligned
  /// position (`nil`: unbounded on that side). Negative counts are rejected when the window is
  /// used, with an error naming the value.
  public init(keysBefore: Int?, keysAfter: Int?) {
    self.keysBefore = keysBefore
    self.keysAfter = keysAfter
  }

  /// The sliding window of Mistral, Gemma 2/3 and gpt-oss: the query's own position and the
  /// `size − 1` before it (`keysBefore: size − 1, keysAfter: 0`). Combine with a causal mask.
  ///
  /// - Parameter size: the number of positions a query sees, at least 1 (checked when used).
  public static func sliding(_ size: Int) -> AttentionWindow {
    AttentionWindow(keysBefore: size - 1, keysAfter: 0)
  }
}
