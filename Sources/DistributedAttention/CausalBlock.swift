/// How one run of queries meets one run of keys under a causal rule, in engine calls.
///
/// Query at global position `q` may see the key at global position `k` when `k ≤ q + offset`
/// (`offset` is 0 for ``CausalAlignment/topLeft``, `Nk − Nq` for
/// ``CausalAlignment/bottomRight``). For a query run starting at `qs` and a key run starting at
/// `ks`, local query `i` sees local key `j` when `j ≤ i + d`, `d = qs + offset − ks`, which splits
/// the queries into three consecutive groups:
///
/// ```
/// queries 0..<a      see no key of the run          (i + d < 0): not computed
/// queries a..<b      see keys 0...i + d             : the engine's bottom-right causal mask on
///                                                     queries a..<b and keys 0..<(b + d)
/// queries b..<nq     see every key                  (i + d ≥ nk − 1): no mask
/// ```
///
/// With `nq' = b − a` queries and `nk' = b + d` keys, bottom-right alignment lets local query
/// `i' = i − a` see `j ≤ i' + nk' − nq' = i + d`: exactly the rule. A run entirely in the future
/// has `a = nq` (nothing to compute); one entirely in the past has `b = 0`.
struct CausalBlock: Equatable {
  /// Queries (local rows of the run) that see a prefix of the keys, under a bottom-right mask.
  var maskedQueries: Range<Int>
  /// How many leading keys `maskedQueries` read (`b + d`); 0 when `maskedQueries` is empty.
  var maskedKeyCount: Int
  /// Queries that see every key of the run, unmasked.
  var unmaskedQueries: Range<Int>

  /// Whether no query of the run sees any key of the run.
  var isEmpty: Bool { maskedQueries.isEmpty && unmaskedQueries.isEmpty }

  /// Splits `queryCount` queries from global position `queryStart` against `keyCount` keys from
  /// `keyStart`.
  ///
  /// - Parameter offset: `k ≤ q + offset` is visible; `nil` for no causal rule (every query sees
  ///   every key).
  init(queryStart: Int, queryCount: Int, keyStart: Int, keyCount: Int, offset: Int?) {
    precondition(queryCount >= 0 && keyCount >= 0, "negative run length")
    guard let offset, keyCount > 0 else {
      self.maskedQueries = 0..<0
      self.maskedKeyCount = 0
      self.unmaskedQueries = keyCount > 0 ? 0..<queryCount : 0..<0
      return
    }
    let d = queryStart + offset - keyStart
    let a = Swift.min(Swift.max(-d, 0), queryCount)
    let b = Swift.min(Swift.max(keyCount - d, a), queryCount)
    self.maskedQueries = a..<b
    self.maskedKeyCount = a < b ? b + d : 0
    self.unmaskedQueries = b..<queryCount
    precondition(maskedKeyCount <= keyCount, "a causal prefix longer than its run")
  }
}
