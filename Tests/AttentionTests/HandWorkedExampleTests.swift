import AttentionTestSupport
import Testing

@testable import Attention

/// Two tokens, d = 2, worked by hand:
///
/// Q = K = I, V = [[1, 2], [3, 4]], scale 1/√2.
/// Row 0 logits: [1/√2, 0] = [0.70710678, 0]; e^0.70710678 = 2.02811498, so
/// p = [2.02811498, 1] / 3.02811498 = [0.66976155, 0.33023845];
/// out₀ = 0.66976155·[1, 2] + 0.33023845·[3, 4] = [1.66047690, 2.66047690];
/// log-sum-exp₀ = ln 3.02811498 = 1.10794031.
/// Row 1 is the mirror image: p = [0.33023845, 0.66976155], out₁ = [2.33952310, 3.33952310].
@Suite("A tiny example worked by hand")
struct HandWorkedExampleTests {
  static let query = try! Tensor<Double>(shape: [2, 2], scalars: [1, 0, 0, 1])
  static let value = try! Tensor<Double>(shape: [2, 2], scalars: [1, 2, 3, 4])

  /// Expects the output `[2, 2]`, the weights `[1, 1, 2, 2]` and the log-sum-exp `[1, 1, 2]`
  /// worked out above, to their eight decimals (good to 5e-9).
  static func expectHandWorked(
    output: Tensor<Double>, weights: Tensor<Double>, logSumExp: Tensor<Double>, _ label: String,
    sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    let eightDecimals = 5e-9
    expectClose(
      output,
      try Tensor(shape: [2, 2], scalars: [1.66047690, 2.66047690, 2.33952310, 3.33952310]),
      tolerance: eightDecimals, "\(label) output", sourceLocation: sourceLocation)
    expectClose(
      weights,
      try Tensor(shape: [1, 1, 2, 2], scalars: [0.66976155, 0.33023845, 0.33023845, 0.66976155]),
      tolerance: eightDecimals, "\(label) weights", sourceLocation: sourceLocation)
    expectClose(
      logSumExp, try Tensor(shape: [1, 1, 2], scalars: [1.10794031, 1.10794031]),
      tolerance: eightDecimals, "\(label) log-sum-exp", sourceLocation: sourceLocation)
  }

  @Test("2 tokens, d = 2, digit by digit", arguments: allBackends)
  func twoTokens(backend: AttentionBackend) throws {
    let result = try scaledDotProductAttention(
      query: Self.query, key: Self.query, value: Self.value, backend: backend,
      returning: [.probabilities, .logSumExp])
    try Self.expectHandWorked(
      output: result.output, weights: result.probabilities!, logSumExp: result.logSumExp!,
      "\(backend)")
  }

  @Test("The float64 reference attention gives the same digits")
  func reference() throws {
    let reference = ReferenceAttention(query: Self.query, key: Self.query, value: Self.value)
    try Self.expectHandWorked(
      output: reference.output, weights: reference.weights, logSumExp: reference.logSumExp,
      "reference")
  }
}
