import Foundation

/// Multi-head attention computed from scratch in `Double` with plain loops, as PyTorch's
/// `nn.MultiheadAttention` defines it (batch first), independent of the library: the expected
/// values of the `attention mha` tests.
struct MHAReference {
  /// `[E + 2·G·D, E]` stacked input projection (rows: W_Q, then W_K, then W_V).
  var inProjectionWeight: [Double]
  /// `[E + 2·G·D]`, or `nil` for no input bias.
  var inProjectionBias: [Double]?
  /// `[E, E]`.
  var outProjectionWeight: [Double]
  /// `[E]`, or `nil`.
  var outProjectionBias: [Double]?
  let embed: Int
  let heads: Int
  let keyValueHeads: Int

  var headDimension: Int { embed / heads }

  /// `rows × outputs` = `x [rows, inputs] · W[offset..<offset+outputs, :]ᵀ + b`.
  private func project(
    _ x: [Double], rows: Int, weightRowOffset offset: Int, outputs: Int, bias: [Double]?,
    weight: [Double]
  ) -> [Double] {
    var y = [Double](repeating: 0, count: rows * outputs)
    for r in 0..<rows {
      for o in 0..<outputs {
        var sum = bias?[offset + o] ?? 0
        for i in 0..<embed { sum += x[r * embed + i] * weight[(offset + o) * embed + i] }
        y[r * outputs + o] = sum
      }
    }
    return y
  }

  /// The output `[B, N, E]` and the per-head weights `[B, H, N, Nk]` for queries `x [B, N, E]`
  /// and keys/values `[B, Nk, E]`; `allowed(b, h, i, j)` says whether query i may see key j.
  func callAsFunction(
    query x: [Double], key: [Double], value: [Double], batch: Int, queries n: Int, keys nk: Int,
    allowed: (Int, Int, Int, Int) -> Bool
  ) -> (output: [Double], weights: [Double]) {
    let d = headDimension
    let kvWidth = keyValueHeads * d
    let q = project(
      x, rows: batch * n, weightRowOffset: 0, outputs: embed, bias: inProjectionBias,
      weight: inProjectionWeight)
    let k = project(
      key, rows: batch * nk, weightRowOffset: embed, outputs: kvWidth, bias: inProjectionBias,
      weight: inProjectionWeight)
    let v = project(
      value, rows: batch * nk, weightRowOffset: embed + kvWidth, outputs: kvWidth,
      bias: inProjectionBias, weight: inProjectionWeight)
    var attended = [Double](repeating: 0, count: batch * n * embed)
    var weights = [Double](repeating: 0, count: batch * heads * n * nk)
    let group = heads / keyValueHeads
    for b in 0..<batch {
      for h in 0..<heads {
        let g = h / group
        for i in 0..<n {
          var logits = [Double](repeating: -.infinity, count: nk)
          for j in 0..<nk where allowed(b, h, i, j) {
            var dot = 0.0
            for t in 0..<d {
              dot += q[(b * n + i) * embed + h * d + t] * k[(b * nk + j) * kvWidth + g * d + t]
            }
            logits[j] = dot / Double(d).squareRoot()
          }
          let maximum = logits.max()!
          guard maximum > -.infinity else { continue }  // no visible key: zero row
          let exps = logits.map { exp($0 - maximum) }
          let total = exps.reduce(0, +)
          for j in 0..<nk {
            let p = exps[j] / total
            weights[((b * heads + h) * n + i) * nk + j] = p
            for t in 0..<d {
              attended[(b * n + i) * embed + h * d + t] +=
                p * v[(b * nk + j) * kvWidth + g * d + t]
            }
          }
        }
      }
    }
    let output = project(
      attended, rows: batch * n, weightRowOffset: 0, outputs: embed, bias: outProjectionBias,
      weight: outProjectionWeight)
    return (output, weights)
  }
}

/// `[B, H, N, Nk]` → `[B, N, Nk]`, the mean over heads.
func averagedOverHeads(_ weights: [Double], batch: Int, heads: Int, plane: Int) -> [Double] {
  var mean = [Double](repeating: 0, count: batch * plane)
  for b in 0..<batch {
    for h in 0..<heads {
      for index in 0..<plane {
        mean[b * plane + index] += weights[(b * heads + h) * plane + index] / Double(heads)
      }
    }
  }
  return mean
}
