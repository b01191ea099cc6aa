import Attention

/// Scaled dot-product attention over a sequence sharded across the processes of a group: ring
/// attention, equal to one call of ``scaledDotProductAttention(query:key:value:mask:causal:keyLengths:window:packedSequences:scale:softcap:alibiSlopes:sinks:backend:)``
/// over the whole sequence.
///
/// Each process passes its own rows (see ``SequenceSharding``) of the queries and of the keys and
/// values; it must be called by every process of `group`. The key/value blocks travel around the ring of processes — process `r` sends to
/// `r + 1` and receives from `r − 1` — in `P − 1` steps; at each step a process attends its
/// queries to the block in hand with the engine (log-sum-exp returned) while the next block is
/// in flight (`MPI_Isend` / `MPI_Irecv`, one message per run of positions, received in place),
/// and merges the partial results exactly by their
/// log-sum-exp:
///
/// ```
/// l ← log(e^l + e^l_b)
/// o ← o · e^(l_old − l) + o_b · e^(l_b − l)
/// ```
///
/// Under a causal mask the rule is that of the global positions (query `i` sees key `j` when
/// `j ≤ i` top-left, `j ≤ i + Nk − Nq` bottom-right); a key run entirely in a query run's future
/// is not computed, one entirely in its past runs unmasked, and the run that crosses the diagonal
/// runs with the engine's bottom-right mask on the exact sub-block (``CausalBlock``). Use
/// ``SequenceSharding/Layout-swift.enum/zigzag`` for causal attention so that every process has
/// about the same work.
///
/// The result follows the engine's rules (<doc:NaNAndInfinity>): a query that sees no key gets a
/// zero row; NaN and infinity propagate to the queries that see them.
///
/// Shapes (letters as in the engine; `n_q`, `n_k` this process's rows):
/// - `query`: `[B, Hq, n_q, Dk]`, or `[Hq, n_q, Dk]`, or `[n_q, Dk]`
/// - `key`: `[B, Hkv, n_k, Dk]` in the same rank; `value`: `[B, Hkv, n_k, Dv]`
/// - result: `[B, Hq, n_q, Dv]`, this process's rows of the output, in the query's rank.
///
/// `Hq` must be a multiple of `Hkv` (grouped-query attention). Every process must pass the same
/// `B`, heads, `Dk`, `Dv`, shardings, `causal`, `keyLengths`, `scale`, `softcap` and `sinks`.
///
/// The variants that do not count positions from a query's aligned position compose: key
/// lengths (each block call gets its share of the valid keys), the softcap (per logit) and sinks
/// (folded in once, after the last block). Windows and ALiBi do not yet.
///
/// - Parameters:
///   - query: this process's query rows, `querySharding.ranges(ofPart: group.rank)` in order.
///   - key: this process's key rows, `keySharding.ranges(ofPart: group.rank)` in order.
///   - value: this process's value rows, the same positions as `key`.
///   - querySharding: how the `Nq` query positions are spread over the group.
///   - keySharding: how the `Nk` key positions are spread over the group.
///   - group: the processes, one part each (`partCount == group.size`).
///   - causal: an optional causal mask and its alignment when `Nq ≠ Nk`.
///   - keyLengths: optional per-batch counts of valid keys (global positions `0..<length`),
///     each in `0…Nk`.
///   - scale: the factor applied to `Q·Kᵀ`; default `1/√Dk`.
///   - softcap: an optional logit cap `C` (`s ← C·tanh(s/C)`), finite and positive.
///   - sinks: optional sink logits `σ_h`, one per query head, that join the softmax denominator
///     only (finite or `-infinity`).
/// - Returns: this process's rows of the output.
/// - Throws: `AttentionError`, on every process alike, when the processes disagree about shapes
///   or shardings, when a process's rows do not match its sharding, or for shapes and arguments
///   the engine refuses (ranks, `Hq` not a multiple of `Hkv`, `Dk` differing, bad key lengths,
///   softcap or sinks). An error the engine throws
///   later, on one process only, is thrown there alone: the others then wait for it, so a
///   caller should end the group with ``ProcessGroup/abort(status:)``.
/// - Complexity: O(B·Hq·Nq·Nk·(Dk + Dv) / P) time per process (fewer under a causal mask,
///   balanced by the zigzag sharding); each process sends and receives `P − 1` key/value blocks,
///   `B·Hkv·(Nk/P)·(Dk + Dv)` scalars each. Memory per process: its own rows of Q and the
///   output, the key/value block in hand and the one in flight, and the engine's workspace —
///   O(N/P), never the whole sequence. The three tensors are consumed: pass them with `consume`
///   (or as temporaries) and a process's own keys and values are released once they have left
///   for the next process, so it never holds them twice.
public func ringAttention<Scalar: AttentionScalar>(
  query: consuming Tensor<Scalar>, key: consuming Tensor<Scalar>, value: consuming Tensor<Scalar>,
  querySharding: SequenceSharding, keySharding: SequenceSharding,
  group: ProcessGroup,
  causal: CausalAlignment? = nil,
  keyLengths: [Int]? = nil,
  scale: Scalar? = nil,
  softcap: Scalar? = nil,
  sinks: [Scalar]? = nil
) throws -> Tensor<Scalar> {
  let ring = try RingGeometry(
    query: query.shape, key: key.shape, value: value.shape, querySharding: querySharding,
    keySharding: keySharding, group: group, causal: causal, keyLengths: keyLengths)
  try RingGeometry.check(softcap: softcap, sinks: sinks, queryHeadCount: ring.queryHeadCount)
  // Every number that must be the same everywhere; scalars by their bit patterns.
  func bits(_ value: Scalar?) -> [Int] {
    value.map { [1, Int(truncatingIfNeeded: Double($0).bitPattern)] } ?? [0]
  }
  let variants =
    bits(scale) + bits(softcap) + (keyLengths.map { [1] + $0 } ?? [0])
    + (sinks.map { [1] + $0.flatMap { bits($0) } } ?? [0])
  guard group.agree(on: ring.descriptor + variants) else {
    throw AttentionError(
      .invalidArgument,
      "the \(group.size) processes disagree on the shapes, shardings, causal alignment, key lengths, scale, softcap or sinks (this process: query \(query.shape), key \(key.shape), value \(value.shape))"
    )
  }
  if let failed = group.agreeOnFailure(ring.localProblem != nil) {
    throw AttentionError(
      .shapeMismatch, ring.localProblem ?? "process \(failed) rejected its rows")
  }
  let outputRank = query.rank
  // The caller's tensors are consumed: once cut into runs (shared when there is one run), the
  // originals are released, and a process holds its rows once.
  let queryRuns = KeyValueRun<Scalar>.queryRuns(
    Tensor(uncheckedShape: ring.query4, scalars: (consume query).scalars),
    at: querySharding.ranges(ofPart: group.rank))
  var block = KeyValueRun.runs(
    key: Tensor(uncheckedShape: ring.key4, scalars: (consume key).scalars),
    value: Tensor(uncheckedShape: ring.value4, scalars: (consume value).scalars),
    at: keySharding.ranges(ofPart: group.rank))
  var state = RunningAttention<Scalar>(
    batchCount: ring.batchCount, headCount: ring.queryHeadCount, rowCount: ring.localQueryCount,
    valueDimension: ring.valueDimension)
  let rules = BlockRules(
    causalOffset: ring.causalOffset, keyLengths: keyLengths, scale: scale, softcap: softcap)
  let queryRowsPerCall = Swift.max(
    1,
    RingAttentionTuning.queryScalarsPerCall
      / (ring.batchCount * ring.queryHeadCount
        * Swift.max(ring.query4[3], ring.valueDimension)))
  let size = group.size
  let (right, left) = ((group.rank + 1) % size, (group.rank - 1 + size) % size)
  for step in 0..<size {
    let attend = { [block] in
      for run in queryRuns {
        // Whole runs by default (see ``RingAttentionTuning``), else chunks of rows.
        for chunk in stride(from: 0, to: run.positions.count, by: queryRowsPerCall) {
          let rows = chunk..<(chunk + Swift.min(queryRowsPerCall, run.positions.count - chunk))
          try attendRun(
            run.rows.sequenceRows(rows),
            at: (run.positions.lowerBound + rows.lowerBound)..<(run.positions.lowerBound
              + rows.upperBound),
            firstRow: run.firstRow + rows.lowerBound, to: block, rules: rules, into: &state)
        }
      }
    }
    guard step < size - 1 else {
      try attend()
      break
    }
    let owner = (group.rank - step - 1 + size) % size  // of the block that arrives
    block = try KeyValueRun.exchange(
      sending: block, to: right, receiving: keySharding.ranges(ofPart: owner),
      shapes: (ring.key4, ring.value4), from: left, during: attend)
  }
  state.finish(sinks: sinks)
  let outputShape = [
    ring.batchCount, ring.queryHeadCount, ring.localQueryCount, ring.valueDimension,
  ]
  return Tensor(uncheckedShape: Array(outputShape.suffix(outputRank)), scalars: state.output)
}

/// What every engine call of a ring attention applies, whichever block it computes.
private struct BlockRules<Scalar: AttentionScalar> {
  /// Query `q` sees key `k` when `k ≤ q + causalOffset`; `nil` without a causal mask.
  let causalOffset: Int?
  /// Per batch entry, the number of valid keys from position 0 (global positions).
  let keyLengths: [Int]?
  let scale: Scalar?
  let softcap: Scalar?

  /// The key lengths of a call on keys `keyStart..<keyStart + keyCount` (global positions).
  func keyLengths(keyStart: Int, keyCount: Int) -> [Int]? {
    keyLengths?.map { Swift.min(Swift.max($0 - keyStart, 0), keyCount) }
  }
}

/// Attends one run of queries (global positions `queryRun`) to a key/value block, merging each
/// engine call into `state` from local row `firstRow`: whole runs of keys in place, and only
/// where a causal block splits (``CausalBlock``) copies of the rows involved.
private func attendRun<Scalar: AttentionScalar>(
  _ queries: Tensor<Scalar>, at queryRun: Range<Int>, firstRow: Int,
  to block: [KeyValueRun<Scalar>], rules: BlockRules<Scalar>,
  into state: inout RunningAttention<Scalar>
) throws {
  /// One engine call: queries `rows` of the run against the first `keyCount` keys of `run`.
  func attend(
    _ rows: Range<Int>, _ run: KeyValueRun<Scalar>, keyCount: Int, causal: CausalAlignment?
  ) throws {
    let lengths = rules.keyLengths(keyStart: run.positions.lowerBound, keyCount: keyCount)
    let seesKeys = lengths?.map { $0 > 0 }
    // Key lengths may leave no key of the run to any batch entry: nothing to compute.
    if let seesKeys, !seesKeys.contains(true) { return }
    let keys = 0..<keyCount
    let result = try scaledDotProductAttention(
      query: queries.sequenceRows(rows), key: run.key.sequenceRows(keys),
      value: run.value.sequenceRows(keys), causal: causal, keyLengths: lengths,
      scale: rules.scale, softcap: rules.softcap, returning: .logSumExp)
    state.merge(result, firstRow: firstRow + rows.lowerBound, batchSeesKeys: seesKeys)
  }
  for run in block where !queryRun.isEmpty && !run.positions.isEmpty {
    let split = CausalBlock(
      queryStart: queryRun.lowerBound, queryCount: queryRun.count,
      keyStart: run.positions.lowerBound, keyCount: run.positions.count,
      offset: rules.causalOffset)
    if !split.maskedQueries.isEmpty {
      try attend(split.maskedQueries, run, keyCount: split.maskedKeyCount, causal: .bottomRight)
    }
    if !split.unmaskedQueries.isEmpty {
      try attend(split.unmaskedQueries, run, keyCount: run.positions.count, causal: nil)
    }
  }
}
