import Attention
import Foundation

/// An independent statement of attention's semantics for tests, in Double, written straight from
/// the definition and sharing no code with the library: one head, explicit rules for which keys a
/// query may see, explicit additive biases.
enum ReferenceAttention {
  /// `softmax_j∈visible(i)(scale·q_i·k_j + bias(i, j)) · V`; a row that sees nothing is zero.
  static func attend(
    query: [[Double]], key: [[Double]], value: [[Double]], scale: Double,
    visible: (Int, Int) -> Bool = { _, _ in true },
    bias: (Int, Int) -> Double = { _, _ in 0 }
  ) -> [[Double]] {
    query.indices.map { i in
      let keys = key.indices.filter { visible(i, $0) }
      let logits = keys.map { j in
        scale * zip(query[i], key[j]).map { $0 * $1 }.reduce(0, +) + bias(i, j)
      }
      guard let maximum = logits.max(), maximum > -.infinity else {
        return [Double](repeating: 0, count: value[0].count)
      }
      let weights = logits.map { exp($0 - maximum) }
      let total = weights.reduce(0, +)
      var row = [Double](repeating: 0, count: value[0].count)
      for (weight, j) in zip(weights, keys) {
        for d in row.indices { row[d] += weight / total * value[j][d] }
      }
      return row
    }
  }

  /// Rows `[n][d]` of head (b, h) of a rank-4 tensor, in Double.
  static func rows<S: AttentionScalar>(_ t: Tensor<S>, batch b: Int, head h: Int) -> [[Double]] {
    let (heads, n, d) = (t.shape[1], t.shape[2], t.shape[3])
    let base = (b * heads + h) * n * d
    return (0..<n).map { i in (0..<d).map { Double(t.scalars[base + i * d + $0]) } }
  }
}

/// Every execution path, so each semantic test runs on all of them.
let allBackends = AttentionBackend.allCases
