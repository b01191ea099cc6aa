import Attention

/// The output and log-sum-exp of a run of queries over the keys seen so far, merged exactly one
/// block of keys at a time.
///
/// Attention over keys split into blocks `K = K₁ ∪ K₂` is a weighted sum of the blocks' own
/// attentions: with `(o₁, l₁)` and `(o₂, l₂)` the outputs and log-sum-exps over each block,
///
/// ```
/// l = log(e^l₁ + e^l₂)
/// o = o₁·e^(l₁ − l) + o₂·e^(l₂ − l)
/// ```
///
/// A block in which a query sees no key has `l₂ = −∞` and contributes nothing. The engine's rules
/// for non-finite values (<doc:NaNAndInfinity>) carry over: a query that sees no key in any block
/// keeps a zero row; a query whose visible logits are all `-infinity` in every block it sees
/// (an infinite query) gets NaN, as one call over all keys gives; a NaN or `+infinity` log-sum-exp
/// makes the row NaN, as the engine's softmax does.
struct RunningAttention<Scalar: AttentionScalar> {
  let batchHeads: Int
  /// Query heads per batch entry, `Hq`: row block `bh` belongs to batch `bh / Hq`, head `bh % Hq`.
  let headCount: Int
  let rowCount: Int
  let valueDimension: Int
  /// `[B·Hq, rows, Dv]`, zeros until a block contributes.
  private(set) var output: [Scalar]
  /// `[B·Hq, rows]`, `-infinity` until a block contributes.
  private(set) var logSumExp: [Scalar]
  /// Whether a row saw at least one key (even with a `-infinity` logit).
  private var sawKey: [Bool]

  init(batchCount: Int, headCount: Int, rowCount: Int, valueDimension: Int) {
    let batchHeads = batchCount * headCount
    self.batchHeads = batchHeads
    self.headCount = headCount
    self.rowCount = rowCount
    self.valueDimension = valueDimension
    output = [Scalar](repeating: 0, count: batchHeads * rowCount * valueDimension)
    logSumExp = [Scalar](repeating: -.infinity, count: batchHeads * rowCount)
    sawKey = [Bool](repeating: false, count: batchHeads * rowCount)
  }

  /// Merges the engine's result for rows `firstRow..<firstRow + m`, every one of which saw at
  /// least one key of the block (in the batch entries `batchSeesKeys` marks, all when `nil`).
  ///
  /// - Parameters:
  ///   - blockOutput: `[B, Hq, m, Dv]`.
  ///   - blockLogSumExp: `[B, Hq, m]`.
  ///   - batchSeesKeys: per batch entry, whether its rows saw a key of the block (key lengths
  ///     can leave a batch entry none); `nil` for all.
  mutating func merge(
    _ blockOutput: Tensor<Scalar>, _ blockLogSumExp: Tensor<Scalar>, firstRow: Int,
    batchSeesKeys: [Bool]? = nil
  ) {
    let m = blockLogSumExp.shape[2]
    let dv = valueDimension
    precondition(
      blockOutput.shape == [blockOutput.shape[0], blockOutput.shape[1], m, dv]
        && blockOutput.shape[0] * blockOutput.shape[1] == batchHeads
        && firstRow >= 0 && firstRow + m <= rowCount,
      "block result \(blockOutput.shape) does not fit rows \(firstRow)..<\(firstRow + m)")
    blockOutput.scalars.withUnsafeBufferPointer { partial in
      blockLogSumExp.scalars.withUnsafeBufferPointer { partialLSE in
        output.withUnsafeMutableBufferPointer { out in
          logSumExp.withUnsafeMutableBufferPointer { lse in
            for bh in 0..<batchHeads where batchSeesKeys?[bh / headCount] ?? true {
              for i in 0..<m {
                let row = bh * rowCount + firstRow + i
                sawKey[row] = true
                LogSumExpMerge.add(
                  partial.baseAddress! + (bh * m + i) * dv, logSumExp: partialLSE[bh * m + i],
                  into: out.baseAddress! + row * dv, logSumExp: &lse[row], count: dv)
              }
            }
          }
        }
      }
    }
  }

  /// Merges an engine result (output and log-sum-exp) for rows `firstRow...`.
  mutating func merge(
    _ result: AttentionResult<Scalar>, firstRow: Int, batchSeesKeys: [Bool]? = nil
  ) {
    guard let logSumExp = result.logSumExp else {
      preconditionFailure("the engine returned no log-sum-exp though asked for it")
    }
    merge(result.output, logSumExp, firstRow: firstRow, batchSeesKeys: batchSeesKeys)
  }

  /// Applies the final rules, as one engine call over every key would: a sink logit `σ_h`
  /// joins each row's denominator once, `l ← log(e^l + e^σ)`, `o ← o·e^(l_old − l)` (a row that
  /// saw no key keeps zeros, with log-sum-exp `σ`); without a sink, a row that saw keys whose
  /// logits were all `-infinity` is NaN.
  ///
  /// - Parameter sinks: one sink logit per query head (`-infinity`: none), or `nil`.
  mutating func finish(sinks: [Scalar]? = nil) {
    let dv = valueDimension
    for row in 0..<(batchHeads * rowCount) {
      let sink = sinks?[(row / rowCount) % headCount] ?? -.infinity
      let current = logSumExp[row]
      if sink == -.infinity {
        if sawKey[row] && current == -.infinity {
          for e in 0..<dv { output[row * dv + e] = .nan }
          logSumExp[row] = .nan
        }
        continue
      }
      output.withUnsafeMutableBufferPointer { out in
        LogSumExpMerge.addSink(
          sink, into: out.baseAddress! + row * dv, logSumExp: &logSumExp[row], count: dv)
      }
    }
  }
}
