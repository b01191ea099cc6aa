import Attention

/// Scaled dot-product attention over a sequence sharded across the processes of a group: ring
/// attention, equal to one call of ``scaledDotProductAttention(query:key:value:mask:causal:keyLengths:window:packedSequences:scale:softcap:alibiSlopes:sinks:backend:)``
/// over the whole sequence.
///
/// Each process passes its own rows (see ``SequenceSharding``) of the queries and of the keys and
/// values. The key/value blocks travel around the ring of processes — process `r` sends to
/// `r + 1` and receives from `r − 1` — in `P − 1` steps; at each step a process attends its
/// queries to the block in hand with the engine (log-sum-exp returned) while the next block is
/// in flight (`MPI_Isend` / `MPI_Irecv`), and merges the partial results exactly by their
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
/// `B`, heads, `Dk`, `Dv`, shardings, `causal` and `scale`.
///
/// - Parameters:
///   - query: this process's query rows, `querySharding.ranges(ofPart: group.rank)` in order.
///   - key: this process's key rows, `keySharding.ranges(ofPart: group.rank)` in order.
///   - value: this process's value rows, the same positions as `key`.
///   - querySharding: how the `Nq` query positions are spread over the group.
///   - keySharding: how the `Nk` key positions are spread over the group.
///   - group: the processes, one part each (`partCount == group.size`).
///   - causal: an optional causal mask and its alignment when `Nq ≠ Nk`.
///   - scale: the factor applied to `Q·Kᵀ`; default `1/√Dk`.
/// - Returns: this process's rows of the output.
/// - Throws: `AttentionError`, on every process alike, when the processes disagree about shapes
///   or shardings, when a process's rows do not match its sharding, or for shapes the engine
///   refuses (ranks, `Hq` not a multiple of `Hkv`, `Dk` differing). An error the engine throws
///   later, on one process only, is thrown there alone: the others then wait for it, so a
///   caller should end the group with ``ProcessGroup/abort(status:)``.
/// - Complexity: O(B·Hq·Nq·Nk·(Dk + Dv) / P) time per process (fewer under a causal mask,
///   balanced by the zigzag sharding); each process sends and receives `P − 1` key/value blocks,
///   `B·Hkv·(Nk/P)·(Dk + Dv)` scalars each. Memory per process: its own rows of Q, K, V and the
///   output, a second key/value block (the one in flight) and the engine's workspace — O(N/P),
///   never the whole sequence.
public func ringAttention<Scalar: AttentionScalar>(
  query: Tensor<Scalar>, key: Tensor<Scalar>, value: Tensor<Scalar>,
  querySharding: SequenceSharding, keySharding: SequenceSharding,
  group: ProcessGroup,
  causal: CausalAlignment? = nil,
  scale: Scalar? = nil
) throws -> Tensor<Scalar> {
  let ring = try RingGeometry(
    query: query.shape, key: key.shape, value: value.shape, querySharding: querySharding,
    keySharding: keySharding, group: group, causal: causal)
  var scaleDescriptor: [Int] = []
  if let scale { scaleDescriptor = [Int(truncatingIfNeeded: Double(scale).bitPattern)] }
  guard group.agree(on: ring.descriptor + scaleDescriptor) else {
    throw AttentionError(
      .invalidArgument,
      "the \(group.size) processes disagree on the shapes, shardings, causal alignment or scale (this process: query \(query.shape), key \(key.shape), value \(value.shape))"
    )
  }
  if let failed = group.agreeOnFailure(ring.localProblem != nil) {
    throw AttentionError(
      .shapeMismatch, ring.localProblem ?? "process \(failed) rejected its rows")
  }
  var state = RunningAttention<Scalar>(
    batchHeads: ring.batchCount * ring.queryHeadCount, rowCount: ring.localQueryCount,
    valueDimension: ring.valueDimension)
  let query4 = Tensor(uncheckedShape: ring.query4, scalars: query.scalars)
  var queryRuns: [(global: Range<Int>, firstRow: Int, rows: Tensor<Scalar>)] = []
  var firstRow = 0
  for run in querySharding.ranges(ofPart: group.rank) {
    queryRuns.append((run, firstRow, query4.sequenceRows(firstRow..<(firstRow + run.count))))
    firstRow += run.count
  }

  var blockKey = Tensor(uncheckedShape: ring.key4, scalars: key.scalars)
  var blockValue = Tensor(uncheckedShape: ring.value4, scalars: value.scalars)
  let size = group.size
  let (right, left) = ((group.rank + 1) % size, (group.rank - 1 + size) % size)
  for step in 0..<size {
    let owner = (group.rank - step + size) % size
    let keyRuns = keySharding.ranges(ofPart: owner)
    let attend = {
      for run in queryRuns {
        try attendRun(
          run.rows, at: run.global, firstRow: run.firstRow, to: blockKey, blockValue,
          at: keyRuns, offset: ring.causalOffset, scale: scale, into: &state)
      }
    }
    guard step < size - 1 else {
      try attend()
      break
    }
    let incoming = keySharding.rowCount(ofPart: (owner - 1 + size) % size)
    var nextKey = uninitialized(Scalar.self, count: ring.keyBlockCount(rows: incoming))
    var nextValue = uninitialized(Scalar.self, count: ring.valueBlockCount(rows: incoming))
    try blockKey.scalars.withUnsafeBytes { sendKey in
      try blockValue.scalars.withUnsafeBytes { sendValue in
        try nextKey.withUnsafeMutableBytes { receiveKey in
          try nextValue.withUnsafeMutableBytes { receiveValue in
            try MPIBindings.exchange(
              send: sendKey, to: right, receive: receiveKey, from: left, tag: 0
            ) {
              try MPIBindings.exchange(
                send: sendValue, to: right, receive: receiveValue, from: left, tag: 1,
                during: attend)
            }
          }
        }
      }
    }
    var shape = ring.key4
    shape[2] = incoming
    blockKey = Tensor(uncheckedShape: shape, scalars: nextKey)
    shape[3] = ring.valueDimension
    blockValue = Tensor(uncheckedShape: shape, scalars: nextValue)
  }
  state.finish()
  let outputShape = [
    ring.batchCount, ring.queryHeadCount, ring.localQueryCount, ring.valueDimension,
  ]
  return Tensor(uncheckedShape: Array(outputShape.suffix(query.rank)), scalars: state.output)
}

/// Attends one run of queries (global positions `queryRun`) to a key/value block made of the
/// runs `keyRuns`, merging each engine call into `state` from local row `firstRow`.
private func attendRun<Scalar: AttentionScalar>(
  _ queries: Tensor<Scalar>, at queryRun: Range<Int>, firstRow: Int,
  to key: Tensor<Scalar>, _ value: Tensor<Scalar>, at keyRuns: [Range<Int>],
  offset: Int?, scale: Scalar?, into state: inout RunningAttention<Scalar>
) throws {
  guard !queryRun.isEmpty, !keyRuns.isEmpty else { return }
  let blocks = keyRuns.map {
    CausalBlock(
      queryStart: queryRun.lowerBound, queryCount: queryRun.count, keyStart: $0.lowerBound,
      keyCount: $0.count, offset: offset)
  }
  func run(_ rows: Range<Int>, keys: Range<Int>, causal: CausalAlignment?) throws {
    let result = try scaledDotProductAttention(
      query: queries.sequenceRows(rows), key: key.sequenceRows(keys),
      value: value.sequenceRows(keys), causal: causal, scale: scale, returning: .logSumExp)
    guard let logSumExp = result.logSumExp else {
      preconditionFailure("the engine returned no log-sum-exp though asked for it")
    }
    state.merge(result.output, logSumExp, firstRow: firstRow + rows.lowerBound)
  }
  // The common case: every query sees every key of the block (no causal mask, or a block
  // wholly in the past): one call over the whole block.
  if blocks.allSatisfy({ $0.maskedQueries.isEmpty && $0.unmaskedQueries.count == queryRun.count }) {
    try run(0..<queryRun.count, keys: 0..<key.shape[2], causal: nil)
    return
  }
  var firstKey = 0
  for (keyRun, block) in zip(keyRuns, blocks) {
    if !block.maskedQueries.isEmpty {
      try run(
        block.maskedQueries, keys: firstKey..<(firstKey + block.maskedKeyCount),
        causal: .bottomRight)
    }
    if !block.unmaskedQueries.isEmpty {
      try run(block.unmaskedQueries, keys: firstKey..<(firstKey + keyRun.count), causal: nil)
    }
    firstKey += keyRun.count
  }
}

/// An array of `count` scalars whose contents are about to be overwritten (by a receive).
private func uninitialized<Scalar: AttentionScalar>(_: Scalar.Type, count: Int) -> [Scalar] {
  [Scalar](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
}
