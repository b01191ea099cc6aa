import AttentionTestSupport
import Testing

@testable import Attention

/// Flash-decoding: the fused kernel splits the keys of a few-row problem into ranges computed as
/// separate items and merges them by their log-sum-exps. Each split count against a float64
/// reference written from the definitions (every variant at once) and against the unsplit kernel.
@Suite("Fused attention with split keys (flash-decoding): every variant, every merge edge")
struct KeySplitTests {
  /// Key tiles of 16 keys, so 70 keys make 5 tiles and every split count below cuts between
  /// tiles differently (5 splits: one tile each; 8: three ranges empty).
  static let blocking = FusedAttention.Blocking(queryRows: 4, keyColumns: 16)
  static let splitCounts = [2, 3, 5, 8]

  /// The fused kernel with `splits` key ranges, as `(output, logSumExp)` tensors.
  static func fused(
    _ problem: AttentionProblem<Float>, q: Tensor<Float>, k: Tensor<Float>, v: Tensor<Float>,
    splits: Int
  ) throws -> (output: Tensor<Float>, logSumExp: Tensor<Float>) {
    let plan = AttentionPlan(
      problem, path: .fused, extras: .logSumExp, blocking: blocking, keySplits: splits)
    #expect(plan.keySplits == splits, "the plan must run the requested \(splits) splits")
    let result = FusedAttention.compute(
      problem, query: q.scalars, key: k.scalars, value: v.scalars, extras: .logSumExp,
      blocking: blocking, keySplits: splits)
    let lseShape = Array(problem.outputShape.dropLast())
    return (
      Tensor(uncheckedShape: problem.outputShape, scalars: result.output),
      Tensor(uncheckedShape: lseShape, scalars: result.logSumExp!)
    )
  }

  @Test("The plan splits only few-row problems with few items and long key ranges")
  func planRule() throws {
    func splits(_ q: [Int], _ k: [Int], causal: CausalAlignment? = nil) throws -> Int {
      let problem = try AttentionProblem(
        query: Tensor<Float>(zeros: q), key: Tensor<Float>(zeros: k),
        value: Tensor<Float>(zeros: k), mask: .none, causal: causal, keyLengths: nil, scale: nil)
      return AttentionPlan(problem, path: .fused, extras: []).keySplits
    }
    // 2 heads, 1 query, 4,096 keys: 4 ranges of 1,024 make 8 items.
    #expect(try splits([1, 2, 1, 64], [1, 2, 4096, 64]) == 4)
    // 1 head: 8 items wanted, but no range below 1,024 keys: 3,000 keys give 2.
    #expect(try splits([1, 1, 1, 64], [1, 1, 3000, 64]) == 2)
    #expect(try splits([1, 1, 4, 64], [1, 1, 65536, 64], causal: .bottomRight) == 8)
    // 2 query heads sharing 1 key/value head: grouped (K and V read once), 8 ranges.
    #expect(try splits([1, 2, 1, 64], [1, 1, 65536, 64]) == 8)
    let shared = try AttentionProblem(
      query: Tensor<Float>(zeros: [1, 2, 1, 64]), key: Tensor<Float>(zeros: [1, 1, 65536, 64]),
      value: Tensor<Float>(zeros: [1, 1, 65536, 64]), mask: .none, causal: nil, keyLengths: nil,
      scale: nil)
    #expect(AttentionPlan(shared, path: .fused, extras: []).headGroup == 2)
    // Enough items already, too many rows per item, too few keys: no split.
    #expect(try splits([1, 8, 1, 64], [1, 8, 4096, 64]) == 1)
    #expect(try splits([1, 2, 5, 64], [1, 2, 4096, 64]) == 1)
    #expect(try splits([1, 2, 1, 64], [1, 2, 2047, 64]) == 1)
  }

  @Test(
    "Every variant at once, GQA, 1–2 queries: each split count equals the float64 reference",
    arguments: [1, 2])
  func everythingAgainstReference(queries: Int) throws {
    var data = TestData(seed: 60 + UInt64(queries))
    // Hq 4 over Hkv 2, 70 keys; an additive mask with a stretch of −∞ that covers whole tiles
    // (a range may see no key of a row that sees keys elsewhere).
    let q: Tensor<Float> = data.normal([1, 4, queries, 8])
    let k: Tensor<Float> = data.normal([1, 2, 70, 8])
    let v: Tensor<Float> = data.normal([1, 2, 70, 3])
    var maskValues: Tensor<Float> = data.normal([queries, 70])
    for i in 0..<queries { for j in 16..<40 { maskValues[i, j] = -.infinity } }
    let mask = AttentionMask<Float>.additive(maskValues)
    let window = AttentionWindow(keysBefore: 60, keysAfter: 0)
    let (softcap, slopes, sinks): (Float, [Float], [Float]) = (
      5, [0.05, 0.1, 0.02, 0], [0, 1, -1, 2]
    )
    let problem = try AttentionProblem(
      query: q, key: k, value: v, mask: mask, causal: .bottomRight, keyLengths: nil, scale: nil,
      window: window, softcap: softcap, alibiSlopes: slopes, sinks: sinks)
    let reference = ReferenceAttention(
      query: q, key: k, value: v, mask: mask, causal: .bottomRight, window: window,
      softcap: softcap, alibiSlopes: slopes, sinks: sinks)
    let unsplit = try Self.fused(problem, q: q, k: k, v: v, splits: 1)
    for splits in Self.splitCounts {
      let split = try Self.fused(problem, q: q, k: k, v: v, splits: splits)
      expectClose(
        split.output, reference.output, tolerance: Tolerance.floatVersusDouble,
        "\(splits) splits output")
      expectClose(
        split.logSumExp, reference.logSumExp, tolerance: Tolerance.floatVersusDouble,
        "\(splits) splits log-sum-exp")
      expectClose(
        split.output, unsplit.output, tolerance: Tolerance.floatVersusFloat,
        "\(splits) splits against unsplit")
    }
  }

  @Test("Merge edges: a NaN key in one range, rows that see no key, sink-only rows")
  func mergeEdges() throws {
    var data = TestData(seed: 66)
    var q: Tensor<Float> = data.normal([1, 3, 1, 4])
    var k: Tensor<Float> = data.normal([1, 3, 70, 4])
    var v: Tensor<Float> = data.normal([1, 3, 70, 2])
    k[0, 0, 50, 1] = .nan  // head 0: a NaN logit in the fourth tile poisons the row
    v[0, 1, 5, 0] = .infinity  // head 1: an infinite value in the first range
    q[0, 2, 0, 0] = 0  // head 2: finite, for contrast
    for keyLengths in [[70], [0]] {
      // Key length 0: no row sees a key (zeros, −∞), or with sinks only the sink (zeros, σ).
      for sinks in [nil, [Float](arrayLiteral: 0.5, -1, 3)] {
        let problem = try AttentionProblem(
          query: q, key: k, value: v, mask: .none, causal: nil, keyLengths: keyLengths,
          scale: nil, sinks: sinks)
        let naive = try scaledDotProductAttention(
          query: q, key: k, value: v, keyLengths: keyLengths, sinks: sinks, backend: .naive,
          returning: .logSumExp)
        for splits in Self.splitCounts {
          let split = try Self.fused(problem, q: q, k: k, v: v, splits: splits)
          let what = "\(splits) splits, key lengths \(keyLengths), sinks \(sinks ?? [])"
          for head in 0..<3 {
            let row = (0..<2).map { split.output[0, head, 0, $0] }
            let expected = (0..<2).map { naive.output[0, head, 0, $0] }
            let lse = split.logSumExp[0, head, 0]
            let expectedLSE = naive.logSumExp![0, head, 0]
            if keyLengths == [0] {
              #expect(row == [0, 0], "\(what) head \(head): \(row)")
              #expect(lse == (sinks.map { $0[head] } ?? -.infinity), "\(what) head \(head)")
            } else if head == 0 {
              #expect(row.allSatisfy(\.isNaN) && lse.isNaN, "\(what): \(row), \(lse)")
            } else {
              // Same non-finite pattern as naive's, finite parts close.
              #expect(
                zip(row, expected).allSatisfy {
                  $0.isFinite == $1.isFinite && ($0.isFinite || $0 == $1)
                }, "\(what) head \(head): \(row) vs \(expected)")
              expectClose(
                row.filter(\.isFinite), expected.filter(\.isFinite),
                tolerance: Tolerance.floatVersusFloat, "\(what) head \(head)")
              expectClose(
                [lse], [expectedLSE], tolerance: Tolerance.floatVersusFloat,
                "\(what) head \(head) lse")
            }
          }
        }
      }
    }
  }

  @Test("The public call splits a long decode step and matches the materialised path")
  func publicCall() throws {
    var data = TestData(seed: 67)
    let q: Tensor<Float> = data.normal([1, 2, 1, 32])
    let k: Tensor<Float> = data.normal([1, 2, 5000, 32])
    let v: Tensor<Float> = data.normal([1, 2, 5000, 16])
    let problem = try AttentionProblem(
      query: q, key: k, value: v, mask: .none, causal: .bottomRight, keyLengths: nil, scale: nil)
    #expect(AttentionPlan(problem, path: .fused, extras: []).keySplits == 4)
    let fused = try scaledDotProductAttention(
      query: q, key: k, value: v, causal: .bottomRight, backend: .blas, returning: .logSumExp)
    let materialized = try scaledDotProductAttention(
      query: q, key: k, value: v, causal: .bottomRight, backend: .blasMaterialized,
      returning: .logSumExp)
    expectClose(fused.output, materialized.output, tolerance: Tolerance.floatVersusFloat)
    expectClose(fused.logSumExp!, materialized.logSumExp!, tolerance: Tolerance.floatVersusFloat)
  }

  @Test("Four query heads on one key/value head: grouped and split, every variant, vs float64")
  func groupedAndSplit() throws {
    var data = TestData(seed: 68)
    let q: Tensor<Float> = data.normal([1, 4, 1, 16])
    let k: Tensor<Float> = data.normal([1, 1, 5000, 16])
    let v: Tensor<Float> = data.normal([1, 1, 5000, 8])
    let window = AttentionWindow(keysBefore: 4500, keysAfter: 0)
    let (softcap, slopes, sinks): (Float, [Float], [Float]) = (
      20, [0.001, 0.002, 0, 0.0005], [1, -1, 3, 0]
    )
    let problem = try AttentionProblem(
      query: q, key: k, value: v, mask: .none, causal: .bottomRight, keyLengths: nil, scale: nil,
      window: window, softcap: softcap, alibiSlopes: slopes, sinks: sinks)
    let plan = AttentionPlan(problem, path: .fused, extras: .logSumExp)
    #expect(
      plan.headGroup == 4 && plan.keySplits == 4,
      "group \(plan.headGroup), splits \(plan.keySplits)")
    let result = try scaledDotProductAttention(
      query: q, key: k, value: v, causal: .bottomRight, window: window, softcap: softcap,
      alibiSlopes: slopes, sinks: sinks, backend: .blas, returning: .logSumExp)
    let reference = ReferenceAttention(
      query: q, key: k, value: v, causal: .bottomRight, window: window, softcap: softcap,
      alibiSlopes: slopes, sinks: sinks)
    expectClose(result.output, reference.output, tolerance: Tolerance.floatVersusDouble)
    expectClose(result.logSumExp!, reference.logSumExp, tolerance: Tolerance.floatVersusDouble)
  }
}
