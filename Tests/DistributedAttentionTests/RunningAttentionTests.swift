import Attention
import AttentionTestSupport
import Testing

@testable import DistributedAttention

@Suite("RunningAttention: merging blocks of keys by log-sum-exp equals one call")
struct RunningAttentionTests {
  /// Attention of `query` over keys split at `cuts`, each block computed as ring attention
  /// computes it (``CausalBlock`` pieces), merged with ``RunningAttention``.
  func merged<S: AttentionScalar>(
    _ query: Tensor<S>, _ key: Tensor<S>, _ value: Tensor<S>, cuts: [Int],
    causal: CausalAlignment?
  ) throws -> Tensor<S> {
    let (b, h, nq, dv) = (query.shape[0], query.shape[1], query.shape[2], value.shape[3])
    let nk = key.shape[2]
    let offset = causal.map { $0 == .topLeft ? 0 : nk - nq }
    var state = RunningAttention<S>(
      batchCount: b, headCount: h, rowCount: nq, valueDimension: dv)
    let bounds = [0] + cuts + [nk]
    for (start, end) in zip(bounds, bounds.dropFirst()) where start < end {
      let block = CausalBlock(
        queryStart: 0, queryCount: nq, keyStart: start, keyCount: end - start, offset: offset)
      for (rows, keys, mask) in [
        (block.maskedQueries, start..<(start + block.maskedKeyCount), CausalAlignment.bottomRight),
        (block.unmaskedQueries, start..<end, nil),
      ] where !rows.isEmpty {
        let result = try scaledDotProductAttention(
          query: query.sequenceRows(rows), key: key.sequenceRows(keys),
          value: value.sequenceRows(keys), causal: mask, returning: .logSumExp)
        state.merge(result.output, result.logSumExp!, firstRow: rows.lowerBound)
      }
    }
    state.finish()
    return try Tensor(shape: [b, h, nq, dv], scalars: state.output)
  }

  static let problems: [(nq: Int, nk: Int, cuts: [Int], causal: CausalAlignment?)] = [
    (9, 9, [3, 6], nil), (9, 9, [3, 6], .topLeft), (7, 12, [5], .bottomRight),
    (12, 7, [2, 4], .bottomRight), (12, 7, [1], .topLeft), (5, 5, [1, 2, 3, 4], .topLeft),
  ]

  @Test("blocks merged equal one fused call, Float and Double", arguments: problems)
  func equalsOneCall(nq: Int, nk: Int, cuts: [Int], causal: CausalAlignment?) throws {
    var data = TestData(seed: UInt64(nq * 100 + nk))
    let q = data.normal([2, 4, nq, 8], as: Double.self)
    let k = data.normal([2, 2, nk, 8], as: Double.self)
    let v = data.normal([2, 2, nk, 6], as: Double.self)
    let expected = try scaledDotProductAttention(query: q, key: k, value: v, causal: causal)
    let actual = try merged(q, k, v, cuts: cuts, causal: causal)
    expectClose(actual, expected, tolerance: Tolerance.doubleVersusDouble)
    let f = { (t: Tensor<Double>) in t.converted(to: Float.self) }
    let expectedFloat = try scaledDotProductAttention(
      query: f(q), key: f(k), value: f(v), causal: causal)
    expectClose(
      try merged(f(q), f(k), f(v), cuts: cuts, causal: causal), expectedFloat,
      tolerance: Tolerance.floatVersusFloat)
  }

  @Test("rows that see no key stay zero; NaN reaches exactly the queries that see it")
  func nonFinite() throws {
    var data = TestData(seed: 7)
    let q = data.normal([1, 1, 6, 4], as: Double.self)
    var keys = data.normal([1, 1, 4, 4], as: Double.self).scalars
    keys[2 * 4] = .nan  // key 2
    let k = try Tensor(shape: [1, 1, 4, 4], scalars: keys)
    let v = data.normal([1, 1, 4, 3], as: Double.self)
    // Bottom-right, Nq = 6 > Nk = 4: queries 0 and 1 see no key; query i sees keys ≤ i − 2.
    let out = try merged(q, k, v, cuts: [1, 3], causal: .bottomRight)
    let rows = (0..<6).map { Array(out.scalars[($0 * 3)..<($0 * 3 + 3)]) }
    #expect(rows[0] == [0, 0, 0] && rows[1] == [0, 0, 0])
    #expect(rows[2].allSatisfy { !$0.isNaN } && rows[3].allSatisfy { !$0.isNaN })
    #expect(rows[4].allSatisfy(\.isNaN) && rows[5].allSatisfy(\.isNaN))
  }
}
