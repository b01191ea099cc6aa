/// The one rule for combining attention computed over disjoint sets of keys: the fused kernel's
/// split key ranges (flash-decoding) and ring attention's blocks of keys from other processes.
///
/// With `(o₁, λ₁)` and `(o₂, λ₂)` the output rows and log-sum-exps over two sets of keys,
///
/// ```
/// λ = log(e^λ₁ + e^λ₂)
/// o = o₁·e^(λ₁ − λ) + o₂·e^(λ₂ − λ)
/// ```
///
/// is attention over their union, exactly in real arithmetic. The library's rules for non-finite
/// values (<doc:NaNAndInfinity>) carry over: a part in which the row sees no key (`λ₂ = −∞`)
/// contributes nothing; a NaN or `+∞` log-sum-exp on either side makes the row NaN, as the
/// engine's softmax does.
package enum LogSumExpMerge {
  /// Merges the part `(part, partLogSumExp)` into the row `(row, logSumExp)` of `count` values.
  /// A row that has no part yet is zeros with log-sum-exp `−∞`.
  @inline(__always)
  package static func add<Scalar: AttentionScalar>(
    _ part: UnsafePointer<Scalar>, logSumExp partLogSumExp: Scalar,
    into row: UnsafeMutablePointer<Scalar>, logSumExp: inout Scalar, count: Int
  ) {
    let current = logSumExp
    if partLogSumExp == -.infinity { return }  // nothing visible has weight here
    if current == -.infinity {
      row.update(from: part, count: count)
      logSumExp = partLogSumExp
      return
    }
    if current.isNaN || partLogSumExp.isNaN || current == .infinity
      || partLogSumExp == .infinity
    {
      row.update(repeating: .nan, count: count)
      logSumExp = .nan
      return
    }
    let merged = logAddExp(current, partLogSumExp)
    let keep = Scalar.exponential(current - merged)
    let add = Scalar.exponential(partLogSumExp - merged)
    for e in 0..<count { row[e] = row[e] * keep + part[e] * add }
    logSumExp = merged
  }

  /// Adds a sink logit `σ` to the row's denominator once: `λ ← log(e^λ + e^σ)`,
  /// `o ← o·e^(λ_old − λ)`. A row that saw no key (`λ = −∞`) keeps its zeros and gets `σ`; a NaN
  /// row stays NaN; a `+∞` log-sum-exp makes the row NaN.
  @inline(__always)
  package static func addSink<Scalar: AttentionScalar>(
    _ sink: Scalar, into row: UnsafeMutablePointer<Scalar>, logSumExp: inout Scalar, count: Int
  ) {
    let current = logSumExp
    if sink == -.infinity || current.isNaN { return }
    if current == -.infinity {
      logSumExp = sink
      return
    }
    if current == .infinity {
      row.update(repeating: .nan, count: count)
      logSumExp = .nan
      return
    }
    let merged = logAddExp(current, sink)
    let keep = Scalar.exponential(current - merged)
    for e in 0..<count { row[e] *= keep }
    logSumExp = merged
  }

  /// `log(e^a + e^b)` for finite or `-infinity` arguments, not both `-infinity` (the callers
  /// settle those cases first).
  @inline(__always)
  static func logAddExp<Scalar: AttentionScalar>(_ a: Scalar, _ b: Scalar) -> Scalar {
    let largest = Swift.max(a, b)
    return largest
      + Scalar.logarithm(Scalar.exponential(a - largest) + Scalar.exponential(b - largest))
  }
}
