import Attention

#if canImport(Glibc)
  import Glibc
#endif

/// Attention recomputed in `Double` for a few output rows, to check a path whose naive run would
/// take too long.
///
/// Written independently of the library's kernels: one row is a loop over keys with the maximum
/// subtracted, in Double, from the same `Float` inputs. The rows are spread over the first, a
/// middle and the last (batch, head) pair, and within each over the first, middle and last
/// queries, so causal rows that see one key and rows that see all keys are both checked.
struct SampledReference {
  /// (batch, query head, query) of each checked row.
  let rows: [(batch: Int, head: Int, query: Int)]
  /// The Double output rows, `D` values each, in the order of ``rows``.
  let outputs: [[Double]]

  init(
    shape: BenchmarkShape, query: Tensor<Float>, key: Tensor<Float>, value: Tensor<Float>
  ) {
    let s = shape
    let headPairs = Set([
      0, (s.batchCount * s.queryHeadCount) / 2, s.batchCount * s.queryHeadCount - 1,
    ])
    let queries = Set([
      0, 1, s.queryCount / 3, s.queryCount / 2, s.queryCount - 2, s.queryCount - 1,
    ])
    .filter { $0 >= 0 && $0 < s.queryCount }
    var rows = [(batch: Int, head: Int, query: Int)]()
    for pair in headPairs.sorted() {
      for i in queries.sorted() {
        rows.append((pair / s.queryHeadCount, pair % s.queryHeadCount, i))
      }
    }
    self.rows = rows
    outputs = rows.map { row in
      Self.attentionRow(shape: s, row: row, query: query, key: key, value: value)
    }
  }

  /// One output row in Double. Causal alignment is bottom-right (query `i` sees keys
  /// `0…i + Nk − Nq`), the same as top-left for the square causal cases; a sliding window of `w`
  /// keeps keys from `i + Nk − Nq − w + 1` on.
  static func attentionRow(
    shape s: BenchmarkShape, row: (batch: Int, head: Int, query: Int),
    query: Tensor<Float>, key: Tensor<Float>, value: Tensor<Float>
  ) -> [Double] {
    let d = s.headDimension
    let group = s.queryHeadCount / s.keyValueHeadCount
    let kvBase = (row.batch * s.keyValueHeadCount + row.head / group) * s.keyCount
    let queryBase = ((row.batch * s.queryHeadCount + row.head) * s.queryCount + row.query) * d
    let aligned = row.query + s.keyCount - s.queryCount
    let end = s.causal ? Swift.min(s.keyCount, Swift.max(0, aligned + 1)) : s.keyCount
    let first = s.window.map { Swift.max(0, aligned - $0 + 1) } ?? 0
    let visible = end - first
    guard visible > 0 else { return [Double](repeating: 0, count: d) }
    let scale = 1 / Double(d).squareRoot()
    let q = query.scalars
    let k = key.scalars
    let v = value.scalars
    var logits = [Double](repeating: 0, count: visible)
    for j in 0..<visible {
      var dot = 0.0
      for c in 0..<d {
        dot += Double(q[queryBase + c]) * Double(k[(kvBase + first + j) * d + c])
      }
      logits[j] = dot * scale
    }
    let maximum = logits.max()!
    var total = 0.0
    for j in 0..<visible {
      logits[j] = exp(logits[j] - maximum)
      total += logits[j]
    }
    var output = [Double](repeating: 0, count: d)
    for j in 0..<visible {
      let weight = logits[j] / total
      for c in 0..<d { output[c] += weight * Double(v[(kvBase + first + j) * d + c]) }
    }
    return output
  }

  /// The largest absolute difference between `output` (`[B, Hq, Nq, D]`) and the sampled rows.
  func maximumDifference(to output: Tensor<Float>, shape s: BenchmarkShape) -> Double {
    var worst = 0.0
    for (row, expected) in zip(rows, outputs) {
      let base =
        ((row.batch * s.queryHeadCount + row.head) * s.queryCount + row.query) * s.headDimension
      for c in 0..<s.headDimension {
        let difference = abs(Double(output.scalars[base + c]) - expected[c])
        if !(difference <= worst) { worst = difference }  // a NaN becomes the worst
      }
    }
    return worst
  }
}
