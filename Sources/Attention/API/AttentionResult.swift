/// Extra results
/// ``scaledDotProductAttention(query:key:value:mask:causal:keyLengths:window:packedSequences:scale:softcap:alibiSlopes:sinks:backend:returning:)``
/// can return besides the output.
public struct AttentionOutputs: OptionSet, Sendable {
  public let rawValue: Int
  public init(rawValue: Int) { self.rawValue = rawValue }

  /// The attention probabilities, `[B, Hq, Nq, Nk]`.
  public static let probabilities = AttentionOutputs(rawValue: 1 << 0)
  /// The natural-log sum of exponentials of each row's logits, `[B, Hq, Nq]`.
  public static let logSumExp = AttentionOutputs(rawValue: 1 << 1)
}

/// The output of attention and, when requested, its probabilities and row log-sum-exp.
public struct AttentionResult<Scalar: AttentionScalar>: Sendable {
  /// The attention output, in the query's rank: `[B, Hq, Nq, Dv]`, `[Hq, Nq, Dv]` or `[Nq, Dv]`.
  public var output: Tensor<Scalar>
  /// The probabilities `[B, Hq, Nq, Nk]` (always rank 4), if requested; fully masked rows are 0.
  public var probabilities: Tensor<Scalar>?
  /// The log-sum-exp of each row's scaled, masked logits (and sink), `[B, Hq, Nq]` (always
  /// rank 3), if requested; `-infinity` (or the sink's logit) for fully masked rows.
  public var logSumExp: Tensor<Scalar>?
}
