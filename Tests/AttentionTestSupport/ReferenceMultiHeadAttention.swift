import Attention

/// A linear map `y = x·Wᵀ + b` in `Double` with plain loops: the definition the layers are
/// checked against.
package struct ReferenceLinear {
  /// `[outputs, inputs]`, row-major.
  package var weight: [Double]
  /// `[outputs]`, or `nil` for no bias.
  package var bias: [Double]?
  package let outputCount: Int

  package var inputCount: Int { weight.count / outputCount }

  package init(weight: [Double], bias: [Double]?, outputCount: Int) {
    precondition(
      outputCount > 0 && weight.count % outputCount == 0
        && (bias?.count ?? outputCount)
          == outputCount,
      "reference: weight of \(weight.count) values, bias of \(bias?.count ?? 0), \(outputCount) outputs"
    )
    self.weight = weight
    self.bias = bias
    self.outputCount = outputCount
  }

  /// A layer's weight tensor `[outputs, inputs]` and bias tensor, in `Double`.
  package init<S: AttentionScalar>(weight: Tensor<S>, bias: Tensor<S>?) {
    self.init(
      weight: weight.scalars.map(Double.init), bias: bias?.scalars.map(Double.init),
      outputCount: weight.shape[0])
  }

  /// `x·Wᵀ + b` for `x` of `rows` rows of ``inputCount`` values, row-major.
  package func callAsFunction(_ x: [Double], rows: Int) -> [Double] {
    precondition(x.count == rows * inputCount, "reference: \(x.count) inputs for \(rows) rows")
    var y = [Double](repeating: 0, count: rows * outputCount)
    for r in 0..<rows {
      for o in 0..<outputCount {
        var sum = bias?[o] ?? 0
        for i in 0..<inputCount { sum += x[r * inputCount + i] * weight[o * inputCount + i] }
        y[r * outputCount + o] = sum
      }
    }
    return y
  }
}

/// Multi-head attention as PyTorch's `nn.MultiheadAttention` defines it (batch first), in
/// `Double`: project, split into heads, ``ReferenceAttention`` on each head (scale `1/√D`), merge,
/// project. Query head `h` reads key/value head `h / (H / Hkv)`.
package struct ReferenceMultiHeadAttention {
  package let headCount: Int
  package let keyValueHeadCount: Int
  package let queryProjection: ReferenceLinear
  package let keyProjection: ReferenceLinear
  package let valueProjection: ReferenceLinear
  package let outputProjection: ReferenceLinear

  package init(
    headCount: Int, keyValueHeadCount: Int, queryProjection: ReferenceLinear,
    keyProjection: ReferenceLinear, valueProjection: ReferenceLinear,
    outputProjection: ReferenceLinear
  ) {
    self.headCount = headCount
    self.keyValueHeadCount = keyValueHeadCount
    self.queryProjection = queryProjection
    self.keyProjection = keyProjection
    self.valueProjection = valueProjection
    self.outputProjection = outputProjection
  }

  /// From PyTorch's state-dict layout: `in_proj_weight [E + 2·Hkv·D, E]` stacks `W_Q`, `W_K` and
  /// `W_V` by rows (likewise `in_proj_bias`); `out_proj.weight [E, E]`.
  package init(
    headCount: Int, keyValueHeadCount: Int, embedDimension e: Int,
    inProjectionWeight: [Double], inProjectionBias: [Double]?, outProjectionWeight: [Double],
    outProjectionBias: [Double]?
  ) {
    let kvWidth = keyValueHeadCount * e / headCount
    func rows(_ range: Range<Int>) -> ReferenceLinear {
      ReferenceLinear(
        weight: Array(inProjectionWeight[(range.lowerBound * e)..<(range.upperBound * e)]),
        bias: inProjectionBias.map { Array($0[range]) }, outputCount: range.count)
    }
    self.init(
      headCount: headCount, keyValueHeadCount: keyValueHeadCount,
      queryProjection: rows(0..<e), keyProjection: rows(e..<(e + kvWidth)),
      valueProjection: rows((e + kvWidth)..<(e + 2 * kvWidth)),
      outputProjection: ReferenceLinear(
        weight: outProjectionWeight, bias: outProjectionBias, outputCount: e))
  }

  /// The output `[B, Nq, E]` and the per-head weights `[B, H, Nq, Nk]` for queries
  /// `[B, Nq, E]` and keys and values `[B, Nk, kdim]`, `[B, Nk, vdim]` (row-major).
  ///
  /// - Parameters:
  ///   - visible: whether query `i` of head `h` in batch `b` may see key `j`.
  ///   - bias: added to the scaled logit (`−∞` hides the key too).
  package func callAsFunction(
    query: [Double], key: [Double], value: [Double], batch: Int, queryCount nq: Int,
    keyCount nk: Int,
    visible: (_ batch: Int, _ head: Int, _ query: Int, _ key: Int) -> Bool = { _, _, _, _ in true },
    bias: (_ batch: Int, _ head: Int, _ query: Int, _ key: Int) -> Double = { _, _, _, _ in 0 }
  ) -> (output: [Double], weights: [Double]) {
    let e = queryProjection.outputCount
    let d = e / headCount
    /// `[B, N, H·D]` → `[B, H, N, D]`.
    func splittingHeads(_ x: [Double], heads: Int, rows n: Int) -> Tensor<Double> {
      var split = [Double](repeating: 0, count: x.count)
      for b in 0..<batch {
        for h in 0..<heads {
          for i in 0..<n {
            for c in 0..<d {
              split[((b * heads + h) * n + i) * d + c] = x[(b * n + i) * heads * d + h * d + c]
            }
          }
        }
      }
      return try! Tensor(shape: [batch, heads, n, d], scalars: split)
    }
    let attention = ReferenceAttention(
      query: splittingHeads(
        queryProjection(query, rows: batch * nq), heads: headCount, rows: nq),
      key: splittingHeads(keyProjection(key, rows: batch * nk), heads: keyValueHeadCount, rows: nk),
      value: splittingHeads(
        valueProjection(value, rows: batch * nk), heads: keyValueHeadCount, rows: nk),
      visible: visible, bias: bias)
    // `[B, H, Nq, D]` → `[B, Nq, H·D]`.
    var merged = [Double](repeating: 0, count: batch * nq * e)
    for b in 0..<batch {
      for h in 0..<headCount {
        for i in 0..<nq {
          for c in 0..<d {
            merged[(b * nq + i) * e + h * d + c] =
              attention.output.scalars[((b * headCount + h) * nq + i) * d + c]
          }
        }
      }
    }
    return (outputProjection(merged, rows: batch * nq), attention.weights.scalars)
  }

  /// Per-head weights `[B, H, Nq, Nk]` averaged over the heads: `[B, Nq, Nk]`.
  package static func averagedOverHeads(
    _ weights: [Double], batch: Int, heads: Int, plane: Int
  ) -> [Double] {
    var mean = [Double](repeating: 0, count: batch * plane)
    for b in 0..<batch {
      for h in 0..<heads {
        for x in 0..<plane {
          mean[b * plane + x] += weights[(b * heads + h) * plane + x] / Double(heads)
        }
      }
    }
    return mean
  }
}
