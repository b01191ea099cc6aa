import AttentionTestSupport
import Testing

@testable import Attention

/// The documented semantics — mask polarity, causal alignments, key padding, fully masked rows,
/// GQA head mapping — checked on every backend against ``ReferenceAttention``, each test stating
/// its rule for which keys a query sees as a closure of its own.
@Suite("Attention semantics on every backend")
struct AttentionSemanticsTests {
  /// Expects `output` to be the reference attention of `q`, `k`, `v` in which query i of head h in
  /// batch b sees key j when `visible(b, h, i, j)`, with `bias(b, h, i, j)` added to its logit.
  func expectReference(
    _ output: Tensor<Float>, q: Tensor<Float>, k: Tensor<Float>, v: Tensor<Float>,
    scale: Double? = nil,
    visible: @escaping (Int, Int, Int, Int) -> Bool = { _, _, _, _ in true },
    bias: @escaping (Int, Int, Int, Int) -> Double = { _, _, _, _ in 0 },
    _ label: String, sourceLocation: SourceLocation = #_sourceLocation
  ) {
    let reference = ReferenceAttention(
      query: q.converted(), key: k.converted(), value: v.converted(), scale: scale,
      visible: visible, bias: bias)
    expectClose(
      output, reference.output, tolerance: Tolerance.floatVersusDouble, label,
      sourceLocation: sourceLocation)
  }

  @Test(
    "allow(where:) keeps exactly the true pairs; block(where:) the false ones",
    arguments: allBackends)
  func maskPolarity(backend: AttentionBackend) throws {
    var data = TestData(seed: 1)
    let (nq, nk, d) = (6, 9, 4)
    let q: Tensor<Float> = data.normal([1, 1, nq, d])
    let k: Tensor<Float> = data.normal([1, 1, nk, d])
    let v: Tensor<Float> = data.normal([1, 1, nk, d])
    let allowed = data.bools([nq, nk], probability: 0.5)
    let blocked = try Tensor(shape: allowed.shape, scalars: allowed.scalars.map { !$0 })
    let visible = { (_: Int, _: Int, i: Int, j: Int) in allowed[i, j] }
    let viaAllow = try scaledDotProductAttention(
      query: q, key: k, value: v, mask: .allow(where: allowed), backend: backend)
    let viaBlock = try scaledDotProductAttention(
      query: q, key: k, value: v, mask: .block(where: blocked), backend: backend)
    expectReference(viaAllow, q: q, k: k, v: v, visible: visible, "allow")
    expectReference(viaBlock, q: q, k: k, v: v, visible: visible, "block")
  }

  @Test("An additive mask is added after scaling; -inf blocks", arguments: allBackends)
  func additiveMask(backend: AttentionBackend) throws {
    var data = TestData(seed: 2)
    let (nq, nk, d) = (5, 7, 3)
    let q: Tensor<Float> = data.normal([1, 1, nq, d])
    let k: Tensor<Float> = data.normal([1, 1, nk, d])
    let v: Tensor<Float> = data.normal([1, 1, nk, 2])
    var bias: Tensor<Float> = data.normal([nq, nk])
    bias[1, 3] = -.infinity
    bias[4, 0] = -.infinity
    let scale: Float = 0.37
    let output = try scaledDotProductAttention(
      query: q, key: k, value: v, mask: .additive(bias), scale: scale, backend: backend)
    expectReference(
      output, q: q, k: k, v: v, scale: Double(scale),
      visible: { _, _, i, j in bias[i, j] != -.infinity },
      bias: { _, _, i, j in Double(bias[i, j]) },
      "additive")
  }

  static let causalCases: [(CausalAlignment, Int, Int)] = [
    (.topLeft, 5, 5), (.bottomRight, 5, 5), (.topLeft, 3, 8), (.bottomRight, 3, 8),
    (.topLeft, 8, 3), (.bottomRight, 8, 3), (.bottomRight, 1, 6),
  ]

  @Test(
    "Causal alignments: top-left sees j ≤ i, bottom-right sees j ≤ i + Nk − Nq",
    arguments: causalCases)
  func causalAlignment(alignment: CausalAlignment, nq: Int, nk: Int) throws {
    var data = TestData(seed: 3)
    let d = 4
    let q: Tensor<Float> = data.normal([1, 1, nq, d])
    let k: Tensor<Float> = data.normal([1, 1, nk, d])
    let v: Tensor<Float> = data.normal([1, 1, nk, d])
    let offset = alignment == .topLeft ? 0 : nk - nq
    for backend in allBackends {
      let output = try scaledDotProductAttention(
        query: q, key: k, value: v, causal: alignment, backend: backend)
      expectReference(
        output, q: q, k: k, v: v, visible: { _, _, i, j in j <= i + offset },
        "\(alignment) \(nq)x\(nk) \(backend)")
    }
  }

  @Test("Bottom-right with Nq > Nk: the first Nq − Nk rows see no key and are exactly zero")
  func bottomRightLeadingRowsAreZero() throws {
    var data = TestData(seed: 4)
    let q: Tensor<Float> = data.normal([1, 1, 6, 4])
    let k: Tensor<Float> = data.normal([1, 1, 2, 4])
    let v: Tensor<Float> = data.normal([1, 1, 2, 4])
    for backend in allBackends {
      let result = try scaledDotProductAttention(
        query: q, key: k, value: v, causal: .bottomRight, backend: backend, returning: [.logSumExp])
      #expect(result.output.scalars[0..<16].allSatisfy { $0 == 0 }, "\(backend)")
      #expect(result.output.scalars[16...].contains { $0 != 0 }, "\(backend)")
      #expect(result.logSumExp!.scalars[0..<4].allSatisfy { $0 == -.infinity }, "\(backend)")
    }
  }

  @Test("Fully masked rows give zeros, never NaN, with zero probabilities", arguments: allBackends)
  func fullyMaskedRows(backend: AttentionBackend) throws {
    var data = TestData(seed: 5)
    let q: Tensor<Float> = data.normal([2, 2, 3, 4])
    let k: Tensor<Float> = data.normal([2, 2, 5, 4])
    let v: Tensor<Float> = data.normal([2, 2, 5, 4])
    var allowed = try Tensor<Bool>(shape: [2, 1, 3, 5], repeating: true)
    for j in 0..<5 { allowed[1, 0, 2, j] = false }  // batch 1, every head, query 2
    var bias = try Tensor<Float>(zeros: [3, 5])
    for j in 0..<5 { bias[0, j] = -.infinity }  // query 0 everywhere
    let cases: [(AttentionMask<Float>, [(Int, Int)])] = [
      (.allow(where: allowed), [(1, 2)]),
      (.additive(bias), [(0, 0), (1, 0)]),
    ]
    for (mask, emptyRows) in cases {
      let result = try scaledDotProductAttention(
        query: q, key: k, value: v, mask: mask, backend: backend,
        returning: [.probabilities, .logSumExp])
      #expect(!result.output.scalars.contains { $0.isNaN })
      for (b, i) in emptyRows {
        for h in 0..<2 {
          #expect((0..<4).allSatisfy { result.output[b, h, i, $0] == 0 })
          #expect((0..<5).allSatisfy { result.probabilities![b, h, i, $0] == 0 })
          #expect(result.logSumExp![b, h, i] == -.infinity)
        }
      }
    }
    // Key lengths of zero mask every row of that batch.
    let result = try scaledDotProductAttention(
      query: q, key: k, value: v, keyLengths: [5, 0], backend: backend)
    // Output [2, 2, 3, 4]: batch 1 is the second half, 24 of the 48 elements.
    #expect(result.count == 48)
    #expect(result.scalars[24...].allSatisfy { $0 == 0 })
    #expect(result.scalars[..<24].allSatisfy { $0 != 0 })
  }

  @Test("Key lengths equal attention over the first L keys only", arguments: allBackends)
  func keyLengths(backend: AttentionBackend) throws {
    var data = TestData(seed: 6)
    let lengths = [3, 7, 1]
    let q: Tensor<Float> = data.normal([3, 2, 4, 8])
    let k: Tensor<Float> = data.normal([3, 2, 7, 8])
    let v: Tensor<Float> = data.normal([3, 2, 7, 5])
    let output = try scaledDotProductAttention(
      query: q, key: k, value: v, keyLengths: lengths, backend: backend)
    expectReference(
      output, q: q, k: k, v: v, visible: { b, _, _, j in j < lengths[b] }, "key lengths \(lengths)")
  }

  @Test("Causal combined with a mask and key lengths: all rules apply", arguments: allBackends)
  func causalAndMask(backend: AttentionBackend) throws {
    var data = TestData(seed: 7)
    let (nq, nk) = (6, 6)
    let q: Tensor<Float> = data.normal([2, 3, nq, 4])
    let k: Tensor<Float> = data.normal([2, 3, nk, 4])
    let v: Tensor<Float> = data.normal([2, 3, nk, 4])
    let allowed = data.bools([2, 3, nq, nk], probability: 0.6)
    let lengths = [6, 4]
    let output = try scaledDotProductAttention(
      query: q, key: k, value: v, mask: .allow(where: allowed), causal: .bottomRight,
      keyLengths: lengths, backend: backend)
    expectReference(
      output, q: q, k: k, v: v,
      visible: { b, h, i, j in j <= i && j < lengths[b] && allowed[b, h, i, j] },
      "bottom-right causal, allow mask, key lengths")
  }

  @Test(
    "Masks broadcast from [Nq, Nk], [B, 1, Nq, Nk], [Hq, Nq, Nk] and [B, 1, 1, Nk]",
    arguments: allBackends)
  func maskBroadcasting(backend: AttentionBackend) throws {
    var data = TestData(seed: 8)
    let (b, h, nq, nk) = (2, 3, 4, 5)
    let q: Tensor<Float> = data.normal([b, h, nq, 4])
    let k: Tensor<Float> = data.normal([b, h, nk, 4])
    let v: Tensor<Float> = data.normal([b, h, nk, 4])
    let full = data.bools([b, h, nq, nk], probability: 0.6)
    for shape in [[nq, nk], [b, 1, nq, nk], [h, nq, nk], [b, 1, 1, nk], [1, h, 1, nk]] {
      let small = data.bools(shape, probability: 0.6)
      // Expand by hand, independently of the library's stride logic.
      let padded = Array(repeating: 1, count: 4 - shape.count) + shape
      var expanded = full
      for bi in 0..<b {
        for hi in 0..<h {
          for i in 0..<nq {
            for j in 0..<nk {
              let index = [bi, hi, i, j].enumerated().map {
                padded[$0.offset] == 1 ? 0 : $0.element
              }
              expanded[bi, hi, i, j] =
                small.scalars[
                  ((index[0] * padded[1] + index[1]) * padded[2] + index[2]) * padded[3] + index[3]]
            }
          }
        }
      }
      let broadcast = try scaledDotProductAttention(
        query: q, key: k, value: v, mask: .allow(where: small), backend: backend)
      let explicit = try scaledDotProductAttention(
        query: q, key: k, value: v, mask: .allow(where: expanded), backend: .naive)
      expectClose(broadcast, explicit, tolerance: Tolerance.floatVersusFloat, "mask shape \(shape)")
    }
  }

  @Test(
    "GQA: query head h reads kv head h / (Hq / Hkv), equal to explicitly repeated kv heads",
    arguments: allBackends)
  func groupedQueryAttention(backend: AttentionBackend) throws {
    var data = TestData(seed: 9)
    let (b, hq, hkv, n, d) = (2, 6, 2, 5, 4)
    let q: Tensor<Float> = data.normal([b, hq, n, d])
    let k: Tensor<Float> = data.normal([b, hkv, n, d])
    let v: Tensor<Float> = data.normal([b, hkv, n, d])
    func repeated(_ t: Tensor<Float>) -> Tensor<Float> {
      var scalars: [Float] = []
      for bi in 0..<b {
        for h in 0..<hq {
          let base = (bi * hkv + h / (hq / hkv)) * n * d
          scalars += t.scalars[base..<base + n * d]
        }
      }
      return try! Tensor(shape: [b, hq, n, d], scalars: scalars)
    }
    let grouped = try scaledDotProductAttention(
      query: q, key: k, value: v, causal: .topLeft, backend: backend)
    let explicit = try scaledDotProductAttention(
      query: q, key: repeated(k), value: repeated(v), causal: .topLeft, backend: backend)
    expectClose(grouped, explicit, tolerance: Tolerance.floatSameComputation, "grouped vs repeated")
    // The reference maps query head h to kv head h / (Hq / Hkv) = h / 3 by its own definition.
    expectReference(grouped, q: q, k: k, v: v, visible: { _, _, i, j in j <= i }, "grouped")
  }

  @Test("Ranks 2 and 3 give the same numbers as rank 4, in the query's rank")
  func lowerRanks() throws {
    var data = TestData(seed: 10)
    let q: Tensor<Float> = data.normal([3, 5, 4])
    let k: Tensor<Float> = data.normal([3, 6, 4])
    let v: Tensor<Float> = data.normal([3, 6, 2])
    let rank3 = try scaledDotProductAttention(query: q, key: k, value: v)
    let rank4 = try scaledDotProductAttention(
      query: q.reshaped(to: [1, 3, 5, 4]), key: k.reshaped(to: [1, 3, 6, 4]),
      value: v.reshaped(to: [1, 3, 6, 2]))
    #expect(rank3.shape == [3, 5, 2])
    // Bit for bit on purpose: rank 3 is rank 4 with B = 1 inside the library, the same code path.
    #expect(rank3.scalars == rank4.scalars)
    let (q2, k2, v2) = try (
      q.reshaped(to: [15, 4]), k.reshaped(to: [18, 4]), v.reshaped(to: [18, 2])
    )
    let rank2 = try scaledDotProductAttention(query: q2, key: k2, value: v2)
    let rank2As4 = try scaledDotProductAttention(
      query: q2.reshaped(to: [1, 1, 15, 4]), key: k2.reshaped(to: [1, 1, 18, 4]),
      value: v2.reshaped(to: [1, 1, 18, 2]))
    #expect(rank2.shape == [15, 2])
    // Likewise: rank 2 is rank 4 with B = H = 1.
    #expect(rank2.scalars == rank2As4.scalars)
  }

  @Test("Returned probabilities and log-sum-exp agree across backends and reproduce the output")
  func probabilitiesAndLogSumExp() throws {
    var data = TestData(seed: 11)
    let q: Tensor<Double> = data.normal([2, 2, 4, 3])
    let k: Tensor<Double> = data.normal([2, 2, 6, 3])
    let v: Tensor<Double> = data.normal([2, 2, 6, 2])
    let naive = try scaledDotProductAttention(
      query: q, key: k, value: v, causal: .bottomRight, backend: .naive,
      returning: [.probabilities, .logSumExp])
    for backend in allBackends {
      let result = try scaledDotProductAttention(
        query: q, key: k, value: v, causal: .bottomRight, backend: backend,
        returning: [.probabilities, .logSumExp])
      let tolerance = Tolerance.doubleVersusDouble
      expectClose(result.probabilities!, naive.probabilities!, tolerance: tolerance, "\(backend)")
      expectClose(result.logSumExp!, naive.logSumExp!, tolerance: tolerance, "\(backend)")
      expectClose(result.output, naive.output, tolerance: tolerance, "\(backend)")
    }
    // Rows sum to 1 and P·V is the output, computed here without the library.
    let p = naive.probabilities!
    var product = naive.output
    for b in 0..<2 {
      for h in 0..<2 {
        for i in 0..<4 {
          let row = (0..<6).map { p[b, h, i, $0] }
          #expect(abs(row.reduce(0, +) - 1) < 1e-12)
          for e in 0..<2 {
            product[b, h, i, e] = (0..<6).map { row[$0] * v[b, h, $0, e] }.reduce(0, +)
          }
        }
      }
    }
    expectClose(naive.output, product, tolerance: Tolerance.doubleVersusDouble, "P·V")
  }
}
