import AttentionTestSupport
import Testing

@testable import Attention

/// The variants once more, each against ``ReferenceAttention`` with the test's own statement of
/// the rule (the suite's other tests compare with equivalent library computations), and all at
/// once against the reference's own reading of the request.
extension AttentionVariantsTests {
  /// Expects the output and the log-sum-exp of `result` to be the reference's.
  func expectReferenceResult(
    _ result: AttentionResult<Float>, _ reference: ReferenceAttention, _ label: String,
    sourceLocation: SourceLocation = #_sourceLocation
  ) {
    expectClose(
      result.output, reference.output, tolerance: Tolerance.floatVersusDouble, "\(label) output",
      sourceLocation: sourceLocation)
    if let logSumExp = result.logSumExp {
      expectClose(
        logSumExp, reference.logSumExp, tolerance: Tolerance.floatVersusDouble,
        "\(label) log-sum-exp", sourceLocation: sourceLocation)
    }
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
    // Mistral's sliding window: causal, the query's own position and the 2 keys before it.
    let sliding = try scaledDotProductAttention(
      query: q, key: k, value: v, causal: .bottomRight, window: .sliding(3), backend: backend,
      returning: .logSumExp)
    expectReferenceResult(
      sliding,
      ReferenceAttention(
        query: q.converted(), key: k.converted(), value: v.converted(),
        visible: { _, _, i, j in
          let p = i + nk - nq
          return p - 2 <= j && j <= p
        }),
      "sliding(3), bottom-right")
    // Without a causal mask, a band on both sides; top-left alignment only with a top-left mask.
    let band = try scaledDotProductAttention(
      query: q, key: k, value: v, window: AttentionWindow(keysBefore: 1, keysAfter: 2),
      backend: backend, returning: .logSumExp)
    expectReferenceResult(
      band,
      ReferenceAttention(
        query: q.converted(), key: k.converted(), value: v.converted(),
        visible: { _, _, i, j in
          let p = i + nk - nq
          return p - 1 <= j && j <= p + 2
        }),
      "band (1, 2)")
    let topLeft = try scaledDotProductAttention(
      query: q, key: k, value: v, causal: .topLeft,
      window: AttentionWindow(
        keysBefore: 2, keysAfter: nil), backend: backend, returning: .logSumExp)
    expectReferenceResult(
      topLeft,
      ReferenceAttention(
        query: q.converted(), key: k.converted(), value: v.converted(),
        visible: { _, _, i, j in i - 2 <= j && j <= i }),
      "top-left causal, 2 before")
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
    /// The sequence of query `i` and key `j`, and their positions in it.
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
    expectReferenceResult(
      result,
      ReferenceAttention(
        query: q.converted(), key: k.converted(), value: v.converted(),
        visible: { _, _, i, j in
          let (querySequence, localQuery) = sequence(i, queryLengths)
          let (keySequence, localKey) = sequence(j, keyLengths)
          return querySequence == keySequence
            && localKey <= localQuery + keyLengths[keySequence] - queryLengths[querySequence]
        }),
      "packed \(queryLengths) × \(keyLengths), causal")
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
    expectReferenceResult(
      capped,
      ReferenceAttention(
        query: q.converted(), key: k.converted(), value: v.converted(), scale: 2, softcap: 3),
      "softcap 3")
    let slopes: [Float] = [0.5, 0.125]
    let alibi = try scaledDotProductAttention(
      query: q, key: k, value: v, causal: .bottomRight, alibiSlopes: slopes, backend: backend,
      returning: .logSumExp)
    expectReferenceResult(
      alibi,
      ReferenceAttention(
        query: q.converted(), key: k.converted(), value: v.converted(),
        visible: { _, _, i, j in j <= i + nk - nq },
        bias: { _, h, i, j in -Double(slopes[h]) * Double(abs(i + nk - nq - j)) }),
      "ALiBi")
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
    expectReferenceResult(result, reference, "sinks")
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
    let bias: Tensor<Float> = data.normal([13, 15])
    let request = (
      packed: PackedSequences(queryLengths: [6, 7], keyLengths: [9, 6]),
      window: AttentionWindow(keysBefore: 4, keysAfter: 1), softcap: Float(5),
      slopes: [Float](arrayLiteral: 0.25, 0.5, 0.125, 1), sinks: [Float](arrayLiteral: 0, 1, -1, 2)
    )
    let result = try scaledDotProductAttention(
      query: q, key: k, value: v, mask: .additive(bias), causal: .bottomRight,
      window: request.window, packedSequences: request.packed, softcap: request.softcap,
      alibiSlopes: request.slopes, sinks: request.sinks, backend: backend, returning: .logSumExp)
    expectReferenceResult(
      result,
      ReferenceAttention(
        query: q, key: k, value: v, mask: .additive(bias), causal: .bottomRight,
        window: request.window, packedSequences: request.packed, softcap: request.softcap,
        alibiSlopes: request.slopes, sinks: request.sinks),
      "combined")
  }

  @Test(
    "A window bound of the key count or more still cuts where the aligned position lies outside the keys",
    arguments: allBackends)
  func windowBoundOfKeyCountOrMore(backend: AttentionBackend) throws {
    var data = TestData(seed: 45)
    let q: Tensor<Float> = data.normal([1, 1, 6, 4])
    let k: Tensor<Float> = data.normal([1, 1, 3, 4])
    let v: Tensor<Float> = data.normal([1, 1, 3, 2])
    func check() throws {
      // Top-left causal, Nq > Nk: query i sits at p = i, so query 5 sees only key 2.
      let topLeft = try scaledDotProductAttention(
        query: q, key: k, value: v, causal: .topLeft,
        window: AttentionWindow(keysBefore: 3, keysAfter: nil), backend: backend,
        returning: .logSumExp)
      expectReferenceResult(
        topLeft,
        ReferenceAttention(
          query: q.converted(), key: k.converted(), value: v.converted(),
          visible: { _, _, i, j in i - 3 <= j && j <= i }),
        "top-left, 3 before")
      // Bottom-right, Nq > Nk: query i sits at p = i − 3, so queries 0…1 see no key.
      let bottomRight = try scaledDotProductAttention(
        query: q, key: k, value: v, window: AttentionWindow(keysBefore: nil, keysAfter: 4),
        backend: backend, returning: .logSumExp)
      expectReferenceResult(
        bottomRight,
        ReferenceAttention(
          query: q.converted(), key: k.converted(), value: v.converted(),
          visible: { _, _, i, j in j <= i - 3 + 4 }),
        "bottom-right, 4 after")
    }
    guard backend != .naive else { return try check() }
    // AttentionRules.keyBand skips a window bound that is at least the key count, assuming the
    // aligned position p lies in 0..<Nk; with Nq > Nk it does not (p = i top-left, i + Nk − Nq
    // bottom-right, also per packed sequence). The naive kernel checks each key and is right.
    try withKnownIssue("the fast paths skip window bounds ≥ the key count") { try check() }
  }
}
