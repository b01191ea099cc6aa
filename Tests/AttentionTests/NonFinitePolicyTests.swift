import AttentionTestSupport
import Testing

@testable import Attention

/// Regression tests for the NaN/infinity policy bugs the differential fuzzer found; each case is a
/// small hand-checked instance, on every backend.
@Suite("NaN and infinity go exactly where IEEE arithmetic sends them")
struct NonFinitePolicyTests {
  /// Q `[1, 2]`, K `[2, 2]`, V `[2, 1]` = [[10], [20]], with the given planted values.
  func attend(
    query: [Float] = [1, 0], key: [Float] = [1, 0, 0, 1], value: [Float] = [10, 20],
    mask: AttentionMask<Float> = .none, scale: Float? = nil, backend: AttentionBackend
  ) throws -> AttentionResult<Float> {
    try scaledDotProductAttention(
      query: Tensor(shape: [1, 2], scalars: query), key: Tensor(shape: [2, 2], scalars: key),
      value: Tensor(shape: [2, 1], scalars: value), mask: mask, scale: scale, backend: backend,
      returning: [.probabilities, .logSumExp])
  }

  @Test(
    "A NaN key the query sees makes its row NaN even when a masked key follows",
    arguments: allBackends)
  func nanThenMaskedKey(backend: AttentionBackend) throws {
    // Key 0 is visible and its logit NaN; key 1 is masked (-inf). The softmax maximum used to be
    // overwritten by the masked key's -inf, making the row look fully masked: zeros, not NaN.
    let mask = AttentionMask<Float>.allow(
      where: try Tensor(shape: [1, 2], scalars: [true, false]))
    let result = try attend(key: [.nan, 0, 0, 1], mask: mask, backend: backend)
    #expect(result.output.scalars[0].isNaN, "\(backend): \(result.output)")
    #expect(result.logSumExp!.scalars[0].isNaN, "\(backend)")
    #expect(result.probabilities!.scalars[0].isNaN, "\(backend): the visible key's weight")
    #expect(result.probabilities!.scalars[1] == 0, "\(backend): a masked key's weight stays 0")
  }

  @Test("softmax of [NaN, -inf] is NaN, not a fully masked row")
  func softmaxNaNThenMinusInfinity() throws {
    let p = softmax(try Tensor<Double>(shape: [1, 2], scalars: [.nan, -.infinity]))
    #expect(p.scalars.allSatisfy { $0.isNaN }, "\(p)")
  }

  @Test(
    "Visible keys whose logits are all -inf give NaN, not the zeros of a masked row",
    arguments: allBackends)
  func allLogitsMinusInfinity(backend: AttentionBackend) throws {
    // q = [-inf, 0]·k: both keys have k0 = 1, so both logits are -inf + 0·k1 = -inf; IEEE gives
    // exp(-inf - (-inf)) = NaN. Only a row that sees no key at all is zero.
    let result = try attend(query: [-.infinity, 0], key: [1, 0, 1, 1], backend: backend)
    #expect(result.output.scalars[0].isNaN, "\(backend): \(result.output)")
    #expect(result.logSumExp!.scalars[0].isNaN, "\(backend)")
  }

  @Test("A zero scale still propagates an infinite query (0·inf = NaN)", arguments: allBackends)
  func zeroScaleInfiniteQuery(backend: AttentionBackend) throws {
    // BLAS skips the product when alpha is 0, which used to turn this row into a finite mean.
    let poisoned = try attend(query: [.infinity, 1], scale: 0, backend: backend)
    #expect(poisoned.output.scalars[0].isNaN, "\(backend): \(poisoned.output)")
    let clean = try attend(query: [5, 1], scale: 0, backend: backend)
    #expect(clean.output.scalars[0] == 15, "\(backend): a zero scale averages the values")
  }

  @Test("In a NaN row masked keys keep probability 0", arguments: allBackends)
  func maskedProbabilityInNaNRow(backend: AttentionBackend) throws {
    let bias = try Tensor<Float>(shape: [1, 2], scalars: [0, -.infinity])
    let result = try attend(query: [.nan, 0], mask: .additive(bias), backend: backend)
    #expect(result.output.scalars[0].isNaN, "\(backend)")
    #expect(result.probabilities!.scalars[0].isNaN, "\(backend)")
    #expect(result.probabilities!.scalars[1] == 0, "\(backend): \(result.probabilities!)")
  }
}
