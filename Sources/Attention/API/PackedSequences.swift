/// Several sequences of different lengths packed end to end along the query and key axes, so a
/// batch needs no padding (FlashAttention's variable-length attention, `cu_seqlens`).
///
/// The queries `[Nq, D]` (or `[H, Nq, D]`) hold sequence 0's `queryLengths[0]` rows, then
/// sequence 1's, …; the keys and values likewise with `keyLengths`. Sequence `s`'s queries see
/// only sequence `s`'s keys, and every other rule — causal, window, ALiBi, key positions — is
/// applied per sequence, with positions counted from the sequence's start. The work is the sum
/// of the sequences' `queryLength · keyLength`, not the square of the sum.
///
/// ```swift
/// // Three sentences of 5, 2 and 9 tokens in one [H, 16, D] tensor, self-attention.
/// let out = try scaledDotProductAttention(
///   query: q, key: k, value: v, packedSequences: PackedSequences(lengths: [5, 2, 9]))
/// ```
public struct PackedSequences: Sendable, Hashable {
  /// The number of queries of each sequence, in order; they sum to `Nq`.
  public var queryLengths: [Int]
  /// The number of keys (and values) of each sequence, in order; they sum to `Nk`.
  public var keyLengths: [Int]

  /// Sequences with their own query and key counts (cross-attention, or decoding several
  /// sequences at once). The counts are checked when used: as many of each, every one positive,
  /// summing to the tensors' `Nq` and `Nk`.
  public init(queryLengths: [Int], keyLengths: [Int]) {
    self.queryLengths = queryLengths
    self.keyLengths = keyLengths
  }

  /// Self-attention sequences: each has as many keys as queries.
  public init(lengths: [Int]) {
    self.init(queryLengths: lengths, keyLengths: lengths)
  }

  /// The number of sequences.
  public var count: Int { queryLengths.count }
}
