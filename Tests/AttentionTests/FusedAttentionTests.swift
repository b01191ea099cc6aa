import AttentionTestSupport
import Testing

@testable import Attention

/// The fused kernel against the naive oracle, with tiles small enough that every test crosses
/// several query and key blocks, and with the standard tiles at their boundaries.
@Suite("Fused attention: tiles, masks, causal, GQA, log-sum-exp, threads")
struct FusedAttentionTests {
  /// Small tiles, so shapes of a few dozen rows cross many blocks (the `.blas` backend runs the
  /// standard tiles, which the longer shapes cross too).
  static let blockings: [FusedAttention.Blocking] = [
    .init(queryRows: 7, keyColumns: 16),
    .init(queryRows: 16, keyColumns: 33),
    .init(queryRows: 64, keyColumns: 128),
    // More rows than the diagonal slice (64): causal tiles are processed slice by slice.
    .init(queryRows: 100, keyColumns: 48),
  ]

  /// Runs naive, materialised and fused (with each blocking, its tiles multiplied by BLAS and by
  /// the small product) on one problem and expects the outputs and log-sum-exps to agree with
  /// naive's.
  static func expectAllPathsAgree<S: AttentionScalar>(
    query: Tensor<S>, key: Tensor<S>, value: Tensor<S>,
    mask: AttentionMask<S> = .none, causal: CausalAlignment? = nil, keyLengths: [Int]? = nil,
    blockings: [FusedAttention.Blocking] = blockings,
    tolerance: Double, _ comment: String = "", sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    let naive = try scaledDotProductAttention(
      query: query, key: key, value: value, mask: mask, causal: causal, keyLengths: keyLengths,
      backend: .naive, returning: .logSumExp)
    for backend in [AttentionBackend.blas, .blasMaterialized] {
      let fast = try scaledDotProductAttention(
        query: query, key: key, value: value, mask: mask, causal: causal, keyLengths: keyLengths,
        backend: backend, returning: .logSumExp)
      expectClose(
        fast.output, naive.output, tolerance: tolerance, "\(backend) \(comment)",
        sourceLocation: sourceLocation)
      expectClose(
        fast.logSumExp!, naive.logSumExp!, tolerance: tolerance, "\(backend) lse \(comment)",
        sourceLocation: sourceLocation)
    }
    let problem = try AttentionProblem(
      query: query, key: key, value: value, mask: mask, causal: causal, keyLengths: keyLengths,
      scale: nil)
    for blocking in blockings {
      for smallProducts in [false, true] {
        let fused = FusedAttention.compute(
          problem, query: query.scalars, key: key.scalars, value: value.scalars,
          extras: .logSumExp, blocking: blocking, smallProducts: smallProducts)
        let output = Tensor(uncheckedShape: problem.outputShape, scalars: fused.output)
        let lse = Tensor(uncheckedShape: naive.logSumExp!.shape, scalars: fused.logSumExp!)
        let what = "fused \(blocking) small products \(smallProducts) \(comment)"
        expectClose(
          output, naive.output, tolerance: tolerance, what, sourceLocation: sourceLocation)
        expectClose(
          lse, naive.logSumExp!, tolerance: tolerance, "lse \(what)",
          sourceLocation: sourceLocation)
      }
    }
  }

  @Test(
    "Sequence lengths just below, at and above the tile sizes",
    arguments: [1, 15, 16, 17, 63, 64, 65, 127, 129, 255, 257, 511, 512, 513])
  func blockBoundaries(n: Int) throws {
    // Past 129 the standard tiles of `.blas` are the ones whose boundaries matter; one head and
    // no causal variant keep the debug build fast there.
    let small = n <= 129
    var data = TestData(seed: UInt64(n))
    let heads = small ? 2 : 1
    let q: Tensor<Float> = data.normal([1, heads, n, 8])
    let k: Tensor<Float> = data.normal([1, heads, n, 8])
    let v: Tensor<Float> = data.normal([1, heads, n, 5])
    let blockings = small ? Self.blockings : []
    try Self.expectAllPathsAgree(
      query: q, key: k, value: v, blockings: blockings, tolerance: Tolerance.floatVersusFloat,
      "n \(n)")
    guard small else { return }
    try Self.expectAllPathsAgree(
      query: q, key: k, value: v, causal: .topLeft, tolerance: Tolerance.floatVersusFloat,
      "causal n \(n)")
  }

  @Test(
    "Causal, both alignments, Nq < Nk, Nq = Nk and Nq > Nk, in Float and Double",
    arguments: [(5, 70), (40, 40), (70, 5), (1, 300), (300, 1), (33, 65)])
  func causal(nq: Int, nk: Int) throws {
    var data = TestData(seed: UInt64(nq * 1000 + nk))
    let q: Tensor<Float> = data.normal([2, 2, nq, 8])
    let k: Tensor<Float> = data.normal([2, 2, nk, 8])
    let v: Tensor<Float> = data.normal([2, 2, nk, 4])
    for alignment in CausalAlignment.allCases {
      try Self.expectAllPathsAgree(
        query: q, key: k, value: v, causal: alignment, tolerance: Tolerance.floatVersusFloat,
        "\(alignment)")
      try Self.expectAllPathsAgree(
        query: q.converted(to: Double.self), key: k.converted(), value: v.converted(),
        causal: alignment, tolerance: Tolerance.doubleVersusDouble, "Double \(alignment)")
    }
  }

  @Test("Key lengths, including 0 and the full length, alone and with causal")
  func keyLengths() throws {
    var data = TestData(seed: 11)
    let (nq, nk) = (37, 53)
    let q: Tensor<Float> = data.normal([4, 2, nq, 8])
    let k: Tensor<Float> = data.normal([4, 2, nk, 8])
    let v: Tensor<Float> = data.normal([4, 2, nk, 6])
    let lengths = [0, 1, 17, nk]
    try Self.expectAllPathsAgree(
      query: q, key: k, value: v, keyLengths: lengths, tolerance: Tolerance.floatVersusFloat)
    for alignment in CausalAlignment.allCases {
      try Self.expectAllPathsAgree(
        query: q, key: k, value: v, causal: alignment, keyLengths: lengths,
        tolerance: Tolerance.floatVersusFloat, "\(alignment)")
    }
    // Length 0: the batch's rows are zero with log-sum-exp -infinity.
    let result = try scaledDotProductAttention(
      query: q, key: k, value: v, keyLengths: lengths, returning: .logSumExp)
    #expect(result.output.scalars[0..<(2 * nq * 6)].allSatisfy { $0 == 0 })
    #expect(result.logSumExp!.scalars[0..<(2 * nq)].allSatisfy { $0 == -.infinity })
  }

  @Test(
    "Every mask kind in every broadcast shape, with and without causal",
    arguments: [[2, 3, 19, 41], [2, 1, 19, 41], [1, 3, 19, 41], [19, 41], [2, 1, 1, 41], [41]])
  func masks(shape: [Int]) throws {
    var data = TestData(seed: UInt64(shape.count * 100 + shape[0]))
    let q: Tensor<Float> = data.normal([2, 3, 19, 8])
    let k: Tensor<Float> = data.normal([2, 3, 41, 8])
    let v: Tensor<Float> = data.normal([2, 3, 41, 7])
    let allowed = data.bools(shape, probability: 0.6)
    var bias: Tensor<Float> = data.normal(shape)
    bias.withUnsafeMutableBufferPointer { b in
      for index in stride(from: 0, to: b.count, by: 3) { b[index] = -.infinity }
    }
    let masks: [(String, AttentionMask<Float>)] = [
      ("allow", .allow(where: allowed)), ("block", .block(where: allowed)),
      ("additive", .additive(bias)),
    ]
    for (name, mask) in masks {
      for causal in [nil, CausalAlignment.topLeft, .bottomRight] {
        try Self.expectAllPathsAgree(
          query: q, key: k, value: v, mask: mask, causal: causal,
          tolerance: Tolerance.floatVersusFloat, "\(name) \(shape) \(String(describing: causal))")
      }
    }
    try Self.expectAllPathsAgree(
      query: q.converted(to: Double.self), key: k.converted(), value: v.converted(),
      mask: .additive(bias.converted()), keyLengths: [41, 20],
      tolerance: Tolerance.doubleVersusDouble, "Double additive \(shape)")
  }

  @Test("Grouped-query and multi-query attention read the shared kv head in place")
  func groupedQuery() throws {
    var data = TestData(seed: 5)
    for kvHeads in [1, 2, 4] {
      let q: Tensor<Float> = data.normal([2, 4, 45, 16])
      let k: Tensor<Float> = data.normal([2, kvHeads, 50, 16])
      let v: Tensor<Float> = data.normal([2, kvHeads, 50, 12])
      try Self.expectAllPathsAgree(
        query: q, key: k, value: v, causal: .bottomRight,
        tolerance: Tolerance.floatVersusFloat, "Hkv \(kvHeads)")
    }
  }

  /// Shapes just inside and just outside the small product's limits
  /// (``TileProducts/fitSmallProduct(rows:keys:keyDimension:valueDimension:)``): more than 4 rows
  /// per tile, at most ``TileProducts/smallProductLimit`` rows and keys per tile (128 with AVX2
  /// or narrower, 512 — every Float tile — with AVX-512) and 128 in each head dimension.
  static let smallProductCases: [SmallProductCase] = [
    .init(batches: 1, heads: 2, keyValueHeads: 2, queries: 5, keys: 40, dk: 8, dv: 8, small: true),
    .init(batches: 1, heads: 2, keyValueHeads: 2, queries: 4, keys: 40, dk: 8, dv: 8, small: false),
    .init(
      batches: 1, heads: 2, keyValueHeads: 2, queries: 128, keys: 128, dk: 16, dv: 16, small: true),
    .init(
      batches: 1, heads: 2, keyValueHeads: 2, queries: 128, keys: 129, dk: 16, dv: 16,
      small: TileProducts.smallProductLimit >= 129),
    // The standard Float tile, 256 × 512: the small product's only with AVX-512.
    .init(
      batches: 1, heads: 2, keyValueHeads: 2, queries: 300, keys: 600, dk: 64, dv: 64,
      small: TileProducts.smallProductLimit >= 512),
    .init(
      batches: 1, heads: 2, keyValueHeads: 1, queries: 40, keys: 60, dk: 128, dv: 128, small: true),
    .init(
      batches: 1, heads: 2, keyValueHeads: 2, queries: 40, keys: 60, dk: 129, dv: 8, small: false),
    .init(
      batches: 1, heads: 2, keyValueHeads: 2, queries: 40, keys: 60, dk: 8, dv: 129, small: false),
    // Grouped-query heads computed together (8 key/value heads in all): 2 heads × 3 queries are
    // 6 rows per tile, 2 × 2 are 4.
    .init(batches: 4, heads: 4, keyValueHeads: 2, queries: 3, keys: 50, dk: 8, dv: 8, small: true),
    .init(batches: 4, heads: 4, keyValueHeads: 2, queries: 2, keys: 50, dk: 8, dv: 8, small: false),
  ]

  struct SmallProductCase: Sendable, CustomStringConvertible {
    var batches: Int
    var heads: Int
    var keyValueHeads: Int
    var queries: Int
    var keys: Int
    var dk: Int
    var dv: Int
    var small: Bool

    var description: String {
      "\(batches)×\(heads)/\(keyValueHeads)×\(queries)→\(keys)×\(dk)/\(dv) small \(small)"
    }
  }

  @Test(
    "The standard plan takes the small product exactly within its limits; both sides match naive",
    arguments: smallProductCases)
  func smallProductLimits(shape: SmallProductCase) throws {
    var data = TestData(seed: UInt64(shape.queries * 1000 + shape.keys + shape.dk + shape.dv))
    var q: Tensor<Float> = data.normal([shape.batches, shape.heads, shape.queries, shape.dk])
    let k: Tensor<Float> = data.normal([shape.batches, shape.keyValueHeads, shape.keys, shape.dk])
    let v: Tensor<Float> = data.normal([shape.batches, shape.keyValueHeads, shape.keys, shape.dv])
    let problem = try AttentionProblem(
      query: q, key: k, value: v, mask: .none, causal: nil, keyLengths: nil, scale: nil)
    let plan = AttentionPlan(problem, path: .fused, extras: [])
    #expect(plan.smallProducts == shape.small, "\(shape): \(plan.blocking)")
    let tolerance = Tolerance.floatVersusFloat
    try Self.expectAllPathsAgree(
      query: q, key: k, value: v, blockings: [], tolerance: tolerance, "\(shape)")
    try Self.expectAllPathsAgree(
      query: q, key: k, value: v, causal: .bottomRight, blockings: [], tolerance: tolerance,
      "causal \(shape)")
    let lengths = (0..<shape.batches).map { [0, 1, shape.keys / 2, shape.keys][$0 % 4] }
    try Self.expectAllPathsAgree(
      query: q, key: k, value: v, keyLengths: lengths, blockings: [], tolerance: tolerance,
      "key lengths \(shape)")
    let allowed = data.bools([shape.queries, shape.keys], probability: 0.7)
    try Self.expectAllPathsAgree(
      query: q, key: k, value: v, mask: .allow(where: allowed), causal: .topLeft, blockings: [],
      tolerance: tolerance, "mask \(shape)")
    // A NaN query element makes its row NaN and no other.
    q[0, 0, shape.queries - 1, 0] = .nan
    let result = try scaledDotProductAttention(query: q, key: k, value: v, returning: .logSumExp)
    let naive = try scaledDotProductAttention(
      query: q, key: k, value: v, backend: .naive, returning: .logSumExp)
    expectClose(result.output, naive.output, tolerance: tolerance, "NaN \(shape)")
    for row in 0..<shape.queries {
      let values = (0..<shape.dv).map { result.output[0, 0, row, $0] }
      #expect(
        values.allSatisfy { row == shape.queries - 1 ? $0.isNaN : $0.isFinite },
        "NaN query, row \(row), \(shape)")
    }
  }

  @Test("NaN logits poison exactly their row; masked NaN keys and values leak nowhere")
  func nonFinite() throws {
    var data = TestData(seed: 9)
    var q: Tensor<Float> = data.normal([1, 1, 40, 8])
    var k: Tensor<Float> = data.normal([1, 1, 70, 8])
    var v: Tensor<Float> = data.normal([1, 1, 70, 4])
    q[0, 0, 3, 2] = .nan  // row 3 is NaN wherever it attends
    k[0, 0, 69, 0] = .nan  // the last key: only visible to rows ≥ 39 under top-left causal
    v[0, 0, 68, 1] = .infinity  // visible to rows ≥ 38
    let naive = try scaledDotProductAttention(
      query: q, key: k, value: v, causal: .topLeft, backend: .naive, returning: .logSumExp)
    let problem = try AttentionProblem(
      query: q, key: k, value: v, mask: .none, causal: .topLeft, keyLengths: nil, scale: nil)
    for blocking in Self.blockings {
      for smallProducts in [false, true] {
        let fused = FusedAttention.compute(
          problem, query: q.scalars, key: k.scalars, value: v.scalars, extras: .logSumExp,
          blocking: blocking, smallProducts: smallProducts)
        let output = Tensor(uncheckedShape: problem.outputShape, scalars: fused.output)
        let what = "\(blocking) small products \(smallProducts)"
        expectClose(output, naive.output, tolerance: Tolerance.floatVersusFloat, what)
        for row in 0..<40 {
          let values = (0..<4).map { output[0, 0, row, $0] }
          if row == 3 {
            #expect(values.allSatisfy { $0.isNaN }, "row 3 must be NaN, \(what)")
          } else if row < 38 {
            #expect(
              values.allSatisfy { $0.isFinite }, "row \(row) must be finite: \(values), \(what)")
          }
        }
        #expect(fused.logSumExp![3].isNaN, "\(what)")
      }
    }
  }

  @Test(
    "With nothing masked, NaN and infinite values reach every row as the sums of the definition do, on small and large value tiles"
  )
  func nonFiniteValuesUnmasked() throws {
    var data = TestData(seed: 12)
    // 40 keys × 4 values: small tiles, which skip the non-finite scan when every row sees them
    // whole; 300 keys × 32 values: tiles above L1's size, which are scanned anyway.
    for (keys, dv) in [(40, 4), (300, 32)] {
      let q: Tensor<Float> = data.normal([1, 2, 24, 8])
      let k: Tensor<Float> = data.normal([1, 2, keys, 8])
      var v: Tensor<Float> = data.normal([1, 2, keys, dv])
      v[0, 0, 5, 1] = .infinity
      v[0, 1, keys - 1, 2] = .nan
      v[0, 1, 0, 3] = -.infinity
      try Self.expectAllPathsAgree(
        query: q, key: k, value: v,
        blockings: Self.blockings + [.init(queryRows: 24, keyColumns: 512)],
        tolerance: Tolerance.floatVersusFloat, "\(keys) keys, dv \(dv)")
      let output = try scaledDotProductAttention(query: q, key: k, value: v)
      for row in 0..<24 {
        #expect(output[0, 0, row, 1] == .infinity, "head 0 row \(row)")
        #expect(output[0, 1, row, 2].isNaN, "head 1 row \(row)")
        #expect(output[0, 1, row, 3] == -.infinity, "head 1 row \(row)")
        #expect(output[0, 0, row, 0].isFinite, "head 0 row \(row)")
      }
    }
  }

  @Test(
    "A tile's kind from its first and last queries' bands equals the kind from every query's band"
  )
  func tileKinds() throws {
    var data = TestData(seed: 21)
    let q: Tensor<Float> = data.normal([2, 1, 37, 4])
    let k: Tensor<Float> = data.normal([2, 1, 29, 4])
    let v: Tensor<Float> = data.normal([2, 1, 29, 4])
    var checked = 0
    for causal in [nil, CausalAlignment.topLeft, .bottomRight] {
      for window in [nil, AttentionWindow.sliding(5), AttentionWindow(keysBefore: 3, keysAfter: 7)]
      {
        for keyLengths in [nil, [29, 11]] {
          let problem = try AttentionProblem(
            query: q, key: k, value: v, mask: .none, causal: causal, keyLengths: keyLengths,
            scale: nil, window: window)
          let rules = problem.rules
          let segment = rules.segments[0]
          for batch in 0..<2 {
            for first in stride(from: 0, to: 37, by: 5) {
              for last in [first, first + 3, first + 12, 36] where last >= first && last < 37 {
                for keyStart in stride(from: 0, to: 29, by: 4) {
                  for keyEnd in [keyStart + 1, keyStart + 6, 29] where keyEnd <= 29 {
                    let queries = first..<(last + 1)
                    let keys = keyStart..<keyEnd
                    let bands = queries.map {
                      rules.keyBand(batch: batch, query: $0, in: segment)
                    }
                    let seesSome = bands.contains {
                      $0.lowerBound < keys.upperBound && keys.lowerBound < $0.upperBound
                    }
                    let seesAll = bands.allSatisfy {
                      $0.lowerBound <= keys.lowerBound && $0.upperBound >= keys.upperBound
                    }
                    let expected: AttentionRules<Float>.TileKind =
                      !seesSome ? .empty : seesAll ? .full : .partial
                    let kind = rules.tileKind(
                      batch: batch, queries: queries, keys: keys, in: segment)
                    #expect(
                      kind == expected,
                      "causal \(String(describing: causal)) window \(String(describing: window)) lengths \(String(describing: keyLengths)) batch \(batch) queries \(queries) keys \(keys)"
                    )
                    checked += 1
                  }
                }
              }
            }
          }
        }
      }
    }
    #expect(checked > 10_000)
  }

  @Test("Results are bit-identical with 1, 2 and 3 threads")
  func threadCountIndependence() throws {
    var data = TestData(seed: 13)
    let q: Tensor<Float> = data.normal([2, 3, 150, 32])
    let k: Tensor<Float> = data.normal([2, 3, 170, 32])
    let v: Tensor<Float> = data.normal([2, 3, 170, 32])
    let saved = AttentionThreads.maximumCount
    defer { AttentionThreads.maximumCount = saved }
    var results: [AttentionResult<Float>] = []
    for threads in [1, 2, 3] {
      AttentionThreads.maximumCount = threads
      results.append(
        try scaledDotProductAttention(
          query: q, key: k, value: v, causal: .bottomRight, returning: .logSumExp))
    }
    for (threads, result) in zip([2, 3], results.dropFirst()) {
      // `==` on the scalars: the same bits, not merely close (the difference is reported).
      #expect(
        result.output.scalars == results[0].output.scalars,
        "\(threads) threads: max difference \(result.output.maxAbsoluteDifference(to: results[0].output))"
      )
      #expect(
        result.logSumExp!.scalars == results[0].logSumExp!.scalars,
        "\(threads) threads: max difference \(result.logSumExp!.maxAbsoluteDifference(to: results[0].logSumExp!))"
      )
    }
  }

  @Test("The last 256 queries of an 8192-key causal sequence match the materialised path")
  func longSequence() throws {
    // 8192 keys (16 standard key tiles) in a debug build: a few seconds.
    var data = TestData(seed: 17)
    let (nq, nk) = (256, 8192)
    let q: Tensor<Float> = data.normal([1, 1, nq, 16])
    let k: Tensor<Float> = data.normal([1, 1, nk, 16])
    let v: Tensor<Float> = data.normal([1, 1, nk, 16])
    let fused = try scaledDotProductAttention(
      query: q, key: k, value: v, causal: .bottomRight, returning: .logSumExp)
    let materialised = try scaledDotProductAttention(
      query: q, key: k, value: v, causal: .bottomRight, backend: .blasMaterialized,
      returning: .logSumExp)
    expectClose(fused.output, materialised.output, tolerance: Tolerance.floatVersusFloat)
    expectClose(fused.logSumExp!, materialised.logSumExp!, tolerance: Tolerance.floatVersusFloat)
  }

  @Test("Extra memory is O(threads · tiles): 64 MiB or less at N = 65,536 single head")
  func extraMemory() throws {
    let q = try Tensor<Float>(zeros: [1, 1, 65_536, 64])
    let problem = try AttentionProblem(
      query: q, key: q, value: q, mask: .none, causal: .topLeft, keyLengths: nil, scale: nil)
    let workers = AttentionThreads.availableCoreCount
    let plan = AttentionPlan(problem, path: .fused, extras: [], workers: workers)
    let output = 65_536 * 64 * 4 + 65_536 * 4  // output and log-sum-exp
    let bytes = try #require(plan.totalBytes) - output
    #expect(bytes <= 64 << 20, "\(plan.summary)")
    // And it does not grow with Nq·Nk: doubling N adds only the per-key-chunk flags.
    let q2 = try Tensor<Float>(zeros: [1, 1, 131_072, 64])
    let problem2 = try AttentionProblem(
      query: q2, key: q2, value: q2, mask: .none, causal: .topLeft, keyLengths: nil, scale: nil)
    let plan2 = AttentionPlan(problem2, path: .fused, extras: [], workers: workers)
    let bytes2 = try #require(plan2.totalBytes) - 2 * output
    #expect(bytes2 - bytes <= 65_536)
  }
}
