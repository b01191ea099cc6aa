import AttentionTestSupport
import Testing

@testable import Attention

/// The variants once more, each against ``ReferenceAttention`` with the test's own statement of
/// the rule (the suite's other tests compare with equivalent library computations), and all at
/// once against the reference's own reading of the request.
extension AttentionVariantsTests {
  /// Which keys query `i` (of head `h`, batch `b`) sees: `(b, h, i, j) -> Bool`.
  typealias Visibility = (Int, Int, Int, Int) -> Bool

  /// Expects the output and the log-sum-exp of `result` to be those of `reference`.
  func expectReference(
    _ result: AttentionResult<Float>, _ reference: ReferenceAttention, _ label: String,
    sourceLocation: SourceLocation = #_sourceLocation
  ) {
    expectClose(
      result.output, reference.output, tolerance: Tolerance.floatVersusDouble, "\(label) output",
      sourceLocation: sourceLocation)
    guard let logSumExp = result.logSumExp else {
      Issue.record("\(label): no log-sum-exp", sourceLocation: sourceLocation)
      return
    }
    expectClose(
      logSumExp, reference.logSumExp, tolerance: Tolerance.floatVersusDouble,
      "\(label) log-sum-exp", sourceLocation: sourceLocation)
  }

  /// ``expectReference(_:_:_:sourceLocation:)`` with the reference of `q`, `k`, `v` under the
  /// given rules.
  func expectReference(
    _ result: AttentionResult<Float>, q: Tensor<Float>, k: Tensor<Float>, v: Tensor<Float>,
    scale: Double? = nil, softcap: Double? = nil, sinks: [Double]? = nil,
    visible: Visibility = { _, _, _, _ in true },
    bias: (Int, Int, Int, Int) -> Double = { _, _, _, _ in 0 }, _ label: String,
    sourceLocation: SourceLocation = #_sourceLocation
  ) {
    let reference = ReferenceAttention(
      query: q.converted(), key: k.converted(), value: v.converted(), scale: scale,
      softcap: softcap, sinks: sinks, visible: visible, bias: bias)
    expectReference(result, reference, label, sourceLocation: sourceLocation)
  }

  @Test(
    "A window keeps keys p − before … p + after of each query's aligned position p",
    arguments: allBackends)
  func windowsAgainstReference(backend: AttentionBackend) throws {
    var data = TestData(seed: 40)
    let (nq, nk) = (7, 11)
    let q: Tensor<Float> = data.normal([2, 2, nq, 4])
    let k: Tensor<Float> = data.normal([2, 2, nk, 4])
    let v: Tensor<Float> = data.normal([2, 2, nk, 3])
    let cases: [(String, AttentionWindow, CausalAlignment?, Visibility)] = [
      // Mistral's: causal, the query's own position p = i + Nk − Nq and the 2 keys before it.
      ("sliding(3)", .sliding(3), .bottomRight, { _, _, i, j in (i + 2...i + 4).contains(j) }),
      // Without a causal mask, a band on both sides of p = i + Nk − Nq.
      (
        "band (1, 2)", AttentionWindow(keysBefore: 1, keysAfter: 2), nil,
        { _, _, i, j in (i + 3...i + 6).contains(j) }
      ),
      // A top-left causal mask puts p at i.
      (
        "top-left causal, 2 before", AttentionWindow(keysBefore: 2, keysAfter: nil), .topLeft,
        { _, _, i, j in (i - 2...i).contains(j) }
      ),
    ]
    for (label, window, causal, visible) in cases {
      let result = try scaledDotProductAttention(
        query: q, key: k, value: v, causal: causal, window: window, backend: backend,
        returning: .logSumExp)
      expectReference(result, q: q, k: k, v: v, visible: visible, label)
    }
  }

  @Test(
    "Packed sequences see only their own keys, with positions from their own start",
    arguments: allBackends)
  func packedSequencesAgainstReference(backend: AttentionBackend) throws {
    var data = TestData(seed: 41)
    let (queryLengths, keyLengths) = ([3, 1, 4], [2, 5, 4])
    let q: Tensor<Float> = data.normal([2, 8, 4])
    let k: Tensor<Float> = data.normal([2, 11, 4])
    let v: Tensor<Float> = data.normal([2, 11, 5])
    /// The sequence holding row `index` of an axis cut into `lengths`, and the row's position in it.
    func sequence(_ index: Int, _ lengths: [Int]) -> (Int, Int) {
      var (s, start) = (0, 0)
      while index >= start + lengths[s] {
        start += lengths[s]
        s += 1
      }
      return (s, index - start)
    }
    let result = try scaledDotProductAttention(
      query: q, key: k, value: v, causal: .bottomRight,
      packedSequences: PackedSequences(queryLengths: queryLengths, keyLengths: keyLengths),
      backend: backend, returning: .logSumExp)
    expectReference(
      result, q: q, k: k, v: v,
      visible: { _, _, i, j in
        let (querySequence, localQuery) = sequence(i, queryLengths)
        let (keySequence, localKey) = sequence(j, keyLengths)
        return querySequence == keySequence
          && localKey <= localQuery + keyLengths[keySequence] - queryLengths[querySequence]
      }, "packed \(queryLengths) × \(keyLengths), causal")
  }

  @Test(
    "Softcap C·tanh(s/C) bounds the scaled products; ALiBi subtracts m_h·|p − j|",
    arguments: allBackends)
  func softcapAndALiBiAgainstReference(backend: AttentionBackend) throws {
    var data = TestData(seed: 42)
    let (nq, nk) = (5, 9)
    let q: Tensor<Float> = data.normal([1, 2, nq, 8])
    let k: Tensor<Float> = data.normal([1, 2, nk, 8])
    let v: Tensor<Float> = data.normal([1, 2, nk, 4])
    // A scale of 2 makes products of ±10 and more, well beyond the cap of 3.
    let capped = try scaledDotProductAttention(
      query: q, key: k, value: v, scale: 2, softcap: 3, backend: backend, returning: .logSumExp)
    expectReference(capped, q: q, k: k, v: v, scale: 2, softcap: 3, "softcap 3")
    let slopes: [Float] = [0.5, 0.125]
    let alibi = try scaledDotProductAttention(
      query: q, key: k, value: v, causal: .bottomRight, alibiSlopes: slopes, backend: backend,
      returning: .logSumExp)
    expectReference(
      alibi, q: q, k: k, v: v, visible: { _, _, i, j in j <= i + nk - nq },
      bias: { _, h, i, j in -Double(slopes[h]) * Double(abs(i + nk - nq - j)) }, "ALiBi")
  }

  @Test(
    "A sink joins the denominator only; a row that sees nothing has the sink as log-sum-exp",
    arguments: allBackends)
  func sinksAgainstReference(backend: AttentionBackend) throws {
    var data = TestData(seed: 43)
    let q: Tensor<Float> = data.normal([2, 3, 4, 4])
    let k: Tensor<Float> = data.normal([2, 3, 6, 4])
    let v: Tensor<Float> = data.normal([2, 3, 6, 2])
    let sinks: [Float] = [0.5, -.infinity, 3]
    // Batch 1 has no keys: its rows see nothing.
    let result = try scaledDotProductAttention(
      query: q, key: k, value: v, keyLengths: [6, 0], sinks: sinks, backend: backend,
      returning: .logSumExp)
    let reference = ReferenceAttention(
      query: q.converted(), key: k.converted(), value: v.converted(),
      sinks: sinks.map(Double.init), visible: { b, _, _, _ in b == 0 })
    expectReference(result, reference, "sinks")
    #expect(reference.logSumExp[1, 0, 0] == 0.5 && reference.logSumExp[1, 2, 3] == 3)
    #expect(reference.logSumExp[1, 1, 2] == -.infinity)
  }

  @Test(
    "Everything at once equals the reference's own reading of the request", arguments: allBackends)
  func everythingAgainstReference(backend: AttentionBackend) throws {
    var data = TestData(seed: 44)
    let q: Tensor<Float> = data.normal([4, 13, 8])
    let k: Tensor<Float> = data.normal([2, 15, 8])
    let v: Tensor<Float> = data.normal([2, 15, 3])
    let mask = AttentionMask<Float>.additive(data.normal([13, 15]))
    let packed = PackedSequences(queryLengths: [6, 7], keyLengths: [9, 6])
    let window = AttentionWindow(keysBefore: 4, keysAfter: 1)
    let (softcap, slopes, sinks): (Float, [Float], [Float]) = (
      5, [0.25, 0.5, 0.125, 1], [0, 1, -1, 2]
    )
    let result = try scaledDotProductAttention(
      query: q, key: k, value: v, mask: mask, causal: .bottomRight, window: window,
      packedSequences: packed, softcap: softcap, alibiSlopes: slopes, sinks: sinks,
      backend: backend, returning: .logSumExp)
    let reference = ReferenceAttention(
      query: q, key: k, value: v, mask: mask, causal: .bottomRight, window: window,
      packedSequences: packed, softcap: softcap, alibiSlopes: slopes, sinks: sinks)
    expectReference(result, reference, "everything")
  }

  @Test(
    "A window bound of the key count or more still cuts where the aligned position lies outside the keys",
    arguments: allBackends)
  func windowBoundOfKeyCountOrMore(backend: AttentionBackend) throws {
    var data = TestData(seed: 45)
    let q: Tensor<Float> = data.normal([1, 1, 6, 4])
    let k: Tensor<Float> = data.normal([1, 1, 3, 4])
    let v: Tensor<Float> = data.normal([1, 1, 3, 2])
    let cases: [(String, AttentionWindow, CausalAlignment?, Visibility)] = [
      // Top-left causal, Nq > Nk: query i sits at p = i and sees keys i − 3 … i, so query 5
      // sees key 2 only.
      (
        "top-left, 3 before", AttentionWindow(keysBefore: 3, keysAfter: nil), .topLeft,
        { _, _, i, j in (i - 3...i).contains(j) }
      ),
      // Bottom-right, Nq > Nk: query i sits at p = i − 3 and sees keys j ≤ p + 4 = i + 1, so
      // query 0 sees keys 0 and 1 only.
      (
        "bottom-right, 4 after", AttentionWindow(keysBefore: nil, keysAfter: 4), nil,
        { _, _, i, j in j <= i + 1 }
      ),
    ]
    // Every backend: the fast paths once skipped a bound of at least Nk in their key bands.
    for (label, window, causal, visible) in cases {
      let result = try scaledDotProductAttention(
        query: q, key: k, value: v, causal: causal, window: window, backend: backend,
        returning: .logSumExp)
      expectReference(result, q: q, k: k, v: v, visible: visible, label)
    }
  }
}
