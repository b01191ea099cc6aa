import AttentionTestSupport
import Foundation
import Testing

@testable import Attention

/// Sliding windows, packed sequences, softcap, ALiBi and sinks, each checked on every backend
/// against an equivalent computation the library already had (an explicit mask, separate calls,
/// an extra key), and all of them combined against the naive kernel with tiles small enough that
/// every window edge and sequence boundary falls inside a tile.
@Suite("Attention variants: windows, packed sequences, softcap, ALiBi, sinks")
struct AttentionVariantsTests {
  static let tolerance = Tolerance.doubleVersusDouble

  /// The window's visibility written out as a boolean mask, from the definition.
  static func windowMask(
    queries nq: Int, keys nk: Int, window: AttentionWindow, causal: CausalAlignment?
  ) -> Tensor<Bool> {
    var allowed: [Bool] = []
    for i in 0..<nq {
      let p = causal == .topLeft ? i : i + nk - nq
      for j in 0..<nk {
        var visible = true
        if causal != nil, j > p { visible = false }
        if let before = window.keysBefore, j < p - before { visible = false }
        if let after = window.keysAfter, j > p + after { visible = false }
        allowed.append(visible)
      }
    }
    return try! Tensor(shape: [nq, nk], scalars: allowed)
  }

  @Test(
    "A window equals the boolean mask of its definition, with either alignment",
    arguments: allBackends)
  func windowIsAMask(backend: AttentionBackend) throws {
    var data = TestData(seed: 900)
    let windows = [
      AttentionWindow.sliding(3), AttentionWindow(keysBefore: 2, keysAfter: 1),
      AttentionWindow(keysBefore: nil, keysAfter: 0),
      AttentionWindow(keysBefore: 0, keysAfter: nil),
      AttentionWindow(keysBefore: 0, keysAfter: 0), AttentionWindow(keysBefore: 50, keysAfter: 50),
    ]
    for (nq, nk) in [(9, 9), (5, 12), (12, 5)] {
      let q: Tensor<Double> = data.normal([2, nq, 4])
      let k: Tensor<Double> = data.normal([2, nk, 4])
      let v: Tensor<Double> = data.normal([2, nk, 3])
      for window in windows {
        for causal in [nil, CausalAlignment.topLeft, .bottomRight] {
          let mask = Self.windowMask(queries: nq, keys: nk, window: window, causal: causal)
          let expected = try scaledDotProductAttention(
            query: q, key: k, value: v, mask: .allow(where: mask),
            causal: causal == .topLeft ? .topLeft : nil, backend: backend, returning: .logSumExp)
          let actual = try scaledDotProductAttention(
            query: q, key: k, value: v, causal: causal, window: window, backend: backend,
            returning: .logSumExp)
          let what = "\(nq)×\(nk) \(window) \(String(describing: causal))"
          expectClose(actual.output, expected.output, tolerance: Self.tolerance, what)
          expectClose(actual.logSumExp!, expected.logSumExp!, tolerance: Self.tolerance, what)
        }
      }
    }
  }

  @Test("ALiBi equals the additive mask −m_h·|p(i) − j|", arguments: allBackends)
  func alibiIsAnAdditiveMask(backend: AttentionBackend) throws {
    var data = TestData(seed: 901)
    let (h, nq, nk) = (3, 4, 7)
    let q: Tensor<Double> = data.normal([h, nq, 5])
    let k: Tensor<Double> = data.normal([h, nk, 5])
    let v: Tensor<Double> = data.normal([h, nk, 2])
    let slopes = [0.5, 0.25, 0.125]
    for causal in [nil, CausalAlignment.topLeft, .bottomRight] {
      var bias = try Tensor<Double>(zeros: [h, nq, nk])
      for head in 0..<h {
        for i in 0..<nq {
          let p = causal == .topLeft ? i : i + nk - nq
          for j in 0..<nk { bias[head, i, j] = -slopes[head] * Double(abs(p - j)) }
        }
      }
      let expected = try scaledDotProductAttention(
        query: q, key: k, value: v, mask: .additive(bias), causal: causal, backend: backend)
      let actual = try scaledDotProductAttention(
        query: q, key: k, value: v, causal: causal, alibiSlopes: slopes, backend: backend)
      expectClose(actual, expected, tolerance: Self.tolerance, "\(String(describing: causal))")
    }
  }

  @Test("A sink equals an extra key of logit σ and zero value", arguments: allBackends)
  func sinkIsAnExtraKey(backend: AttentionBackend) throws {
    var data = TestData(seed: 902)
    let (h, nq, nk, d) = (2, 5, 6, 4)
    let q: Tensor<Double> = data.normal([h, nq, d])
    let k: Tensor<Double> = data.normal([h, nk, d])
    let v: Tensor<Double> = data.normal([h, nk, 3])
    let sinks = [0.7, -1.5]
    // Keys and values with one zero row appended: its logit is 0 plus the additive mask σ_h.
    func appendingZeroRow(_ t: Tensor<Double>) -> Tensor<Double> {
      let (n, width) = (t.shape[1], t.shape[2])
      var scalars: [Double] = []
      for head in 0..<h {
        scalars += t.scalars[(head * n * width)..<((head + 1) * n * width)]
        scalars += [Double](repeating: 0, count: width)
      }
      return try! Tensor(shape: [h, n + 1, width], scalars: scalars)
    }
    var bias = try Tensor<Double>(zeros: [h, nq, nk + 1])
    for head in 0..<h { for i in 0..<nq { bias[head, i, nk] = sinks[head] } }
    for causal in [nil, CausalAlignment.bottomRight] {
      // Causal bottom-right on the extended keys would hide the sink key from no row (it is the
      // last key), so compare causal through an explicit mask on the real keys instead.
      if causal != nil {
        let mask = Self.windowMask(
          queries: nq, keys: nk, window: .init(keysBefore: nil, keysAfter: nil), causal: causal)
        for head in 0..<h {
          for i in 0..<nq { for j in 0..<nk where !mask[i, j] { bias[head, i, j] = -.infinity } }
        }
      }
      let expected = try scaledDotProductAttention(
        query: q, key: appendingZeroRow(k), value: appendingZeroRow(v), mask: .additive(bias),
        backend: backend, returning: .logSumExp)
      let actual = try scaledDotProductAttention(
        query: q, key: k, value: v, causal: causal, sinks: sinks, backend: backend,
        returning: .logSumExp)
      let what = "\(String(describing: causal))"
      expectClose(actual.output, expected.output, tolerance: Self.tolerance, what)
      expectClose(actual.logSumExp!, expected.logSumExp!, tolerance: Self.tolerance, what)
    }
  }

  @Test(
    "Rows that see no key get zeros; with a sink their log-sum-exp is the sink",
    arguments: allBackends)
  func sinkOnlyRows(backend: AttentionBackend) throws {
    var data = TestData(seed: 903)
    let q: Tensor<Float> = data.normal([2, 6, 4])
    let k: Tensor<Float> = data.normal([2, 3, 4])
    let v: Tensor<Float> = data.normal([2, 3, 4])
    // Bottom-right causal with Nq > Nk: the first 3 queries see no key.
    let result = try scaledDotProductAttention(
      query: q, key: k, value: v, causal: .bottomRight, sinks: [1.5, -.infinity],
      backend: backend, returning: .logSumExp)
    for i in 0..<3 {
      for e in 0..<4 {
        #expect(result.output[0, i, e] == 0)
        #expect(result.output[1, i, e] == 0)
      }
      #expect(result.logSumExp![0, 0, i] == 1.5, "head 0 row \(i): the sink's logit")
      #expect(result.logSumExp![0, 1, i] == -.infinity, "head 1: a sink of -inf is no sink")
    }
    // Row 3 sees key 0 only: weight e^s / (e^s + e^1.5) on head 0.
    let s = Double((0..<4).map { q[0, 3, $0] * k[0, 0, $0] }.reduce(0, +)) / 2
    let weight = exp(s) / (exp(s) + exp(1.5))
    #expect(abs(Double(result.output[0, 3, 0]) - weight * Double(v[0, 0, 0])) < 1e-5)
  }

  @Test("Softcap bounds the logits: C·tanh(s / C), checked by hand", arguments: allBackends)
  func softcapByHand(backend: AttentionBackend) throws {
    // One query, two keys: logits 30 and 0 (scale 1). Capped at 5: 5·tanh(6) and 0.
    let q = try Tensor<Double>(shape: [1, 1], scalars: [1])
    let k = try Tensor<Double>(shape: [2, 1], scalars: [30, 0])
    let v = try Tensor<Double>(shape: [2, 1], scalars: [1, 0])
    let out = try scaledDotProductAttention(
      query: q, key: k, value: v, scale: 1, softcap: 5, backend: backend)
    let capped = 5 * tanh(6.0)
    #expect(abs(out[0, 0] - exp(capped) / (exp(capped) + 1)) < 1e-12)
    // Infinite logits cap to ±C; a masked key's logit stays out even though tanh(−∞) = −1.
    let kInf = try Tensor<Double>(shape: [2, 1], scalars: [.infinity, 0])
    let outInf = try scaledDotProductAttention(
      query: q, key: kInf, value: v, scale: 1, softcap: 5, backend: backend)
    #expect(abs(outInf[0, 0] - exp(5) / (exp(5) + 1)) < 1e-12)
  }

  @Test(
    "Packed sequences equal separate calls, with every per-sequence rule",
    arguments: allBackends)
  func packedEqualsSeparateCalls(backend: AttentionBackend) throws {
    var data = TestData(seed: 904)
    let (hq, hkv, d) = (4, 2, 5)
    let queryLengths = [3, 1, 7, 2]
    let keyLengths = [5, 1, 7, 9]
    let (nq, nk) = (queryLengths.reduce(0, +), keyLengths.reduce(0, +))
    let q: Tensor<Double> = data.normal([hq, nq, d])
    let k: Tensor<Double> = data.normal([hkv, nk, d])
    let v: Tensor<Double> = data.normal([hkv, nk, 3])
    let slopes = [0.3, 0.2, 0.1, 0.05]
    let sinks: [Double] = [0.1, 2, -1, -.infinity]
    func rows(_ t: Tensor<Double>, _ range: Range<Int>) -> Tensor<Double> {
      let (heads, n, width) = (t.shape[0], t.shape[1], t.shape[2])
      var scalars: [Double] = []
      for head in 0..<heads {
        scalars +=
          t.scalars[
            ((head * n + range.lowerBound) * width)..<((head * n + range.upperBound) * width)]
      }
      return try! Tensor(shape: [heads, range.count, width], scalars: scalars)
    }
    for causal in [nil, CausalAlignment.topLeft, .bottomRight] {
      for window in [nil, AttentionWindow(keysBefore: 2, keysAfter: 1)] {
        let packed = try scaledDotProductAttention(
          query: q, key: k, value: v, causal: causal, window: window,
          packedSequences: PackedSequences(queryLengths: queryLengths, keyLengths: keyLengths),
          softcap: 3, alibiSlopes: slopes, sinks: sinks, backend: backend, returning: .logSumExp)
        var (queryStart, keyStart) = (0, 0)
        for (a, b) in zip(queryLengths, keyLengths) {
          let alone = try scaledDotProductAttention(
            query: rows(q, queryStart..<(queryStart + a)), key: rows(k, keyStart..<(keyStart + b)),
            value: rows(v, keyStart..<(keyStart + b)), causal: causal, window: window,
            softcap: 3, alibiSlopes: slopes, sinks: sinks, backend: backend, returning: .logSumExp)
          let what =
            "sequence at \(queryStart) \(String(describing: causal)) \(String(describing: window))"
          expectClose(
            rows(packed.output, queryStart..<(queryStart + a)), alone.output,
            tolerance: Self.tolerance, what)
          for head in 0..<hq {
            for i in 0..<a {
              let (x, y) = (
                packed.logSumExp![0, head, queryStart + i], alone.logSumExp![0, head, i]
              )
              #expect(x == y || abs(x - y) <= Self.tolerance * (1 + abs(y)), "\(what) lse")
            }
          }
          queryStart += a
          keyStart += b
        }
      }
    }
  }

  @Test("Every variant at once, fused with small tiles, matches the naive kernel")
  func everythingCombinedAcrossTiles() throws {
    var data = TestData(seed: 905)
    var random = SplitMix64(seed: 906)
    for round in 0..<40 {
      let packed = round % 2 == 1
      let (hkv, group) = (
        Int.random(in: 1...2, using: &random), Int.random(in: 1...3, using: &random)
      )
      let hq = hkv * group
      let batch = packed ? 1 : Int.random(in: 1...2, using: &random)
      let queryLengths = (0..<(packed ? Int.random(in: 1...4, using: &random) : 1)).map { _ in
        Int.random(in: 1...19, using: &random)
      }
      let keyLengths = queryLengths.map { _ in Int.random(in: 1...23, using: &random) }
      let (nq, nk) = (queryLengths.reduce(0, +), keyLengths.reduce(0, +))
      let q: Tensor<Double> = data.normal([batch, hq, nq, 6])
      let k: Tensor<Double> = data.normal([batch, hkv, nk, 6])
      let v: Tensor<Double> = data.normal([batch, hkv, nk, 4])
      let causal = [nil, CausalAlignment.topLeft, .bottomRight].randomElement(using: &random)!
      let bound = { Bool.random(using: &random) ? nil : Int.random(in: 0...6, using: &random) }
      let window =
        Bool.random(using: &random) ? AttentionWindow(keysBefore: bound(), keysAfter: bound()) : nil
      let mask: AttentionMask<Double> =
        Bool.random(using: &random)
        ? .allow(where: data.bools([batch, 1, nq, nk], probability: 0.8)) : .none
      let lengths = packed ? nil : (0..<batch).map { _ in Int.random(in: 0...nk, using: &random) }
      let softcap: Double? = Bool.random(using: &random) ? 2.5 : nil
      let slopes: [Double]? =
        Bool.random(using: &random) ? (0..<hq).map { 0.5 / Double($0 + 1) } : nil
      let sinks: [Double]? = Bool.random(using: &random) ? (0..<hq).map { Double($0) - 1 } : nil
      let packing =
        packed ? PackedSequences(queryLengths: queryLengths, keyLengths: keyLengths) : nil
      let what =
        "round \(round): B \(batch) Hq \(hq)/\(hkv) \(queryLengths)→\(keyLengths) causal \(String(describing: causal)) \(String(describing: window)) lengths \(String(describing: lengths)) softcap \(String(describing: softcap)) alibi \(slopes != nil) sinks \(String(describing: sinks))"
      let naive = try scaledDotProductAttention(
        query: q, key: k, value: v, mask: mask, causal: causal, keyLengths: lengths, window: window,
        packedSequences: packing, softcap: softcap, alibiSlopes: slopes, sinks: sinks,
        backend: .naive, returning: [.logSumExp, .probabilities])
      for backend in [AttentionBackend.blas, .blasMaterialized] {
        let fast = try scaledDotProductAttention(
          query: q, key: k, value: v, mask: mask, causal: causal, keyLengths: lengths,
          window: window, packedSequences: packing, softcap: softcap, alibiSlopes: slopes,
          sinks: sinks, backend: backend, returning: .logSumExp)
        expectClose(fast.output, naive.output, tolerance: Self.tolerance, "\(backend) \(what)")
        expectClose(
          fast.logSumExp!, naive.logSumExp!, tolerance: Self.tolerance, "\(backend) \(what)")
      }
      let materialised = try scaledDotProductAttention(
        query: q, key: k, value: v, mask: mask, causal: causal, keyLengths: lengths, window: window,
        packedSequences: packing, softcap: softcap, alibiSlopes: slopes, sinks: sinks,
        backend: .blasMaterialized, returning: .probabilities)
      expectClose(
        materialised.probabilities!, naive.probabilities!, tolerance: Self.tolerance,
        "probabilities \(what)")
      let problem = try AttentionProblem(
        query: q, key: k, value: v, mask: mask, causal: causal, keyLengths: lengths, scale: nil,
        window: window, packedSequences: packing, softcap: softcap, alibiSlopes: slopes,
        sinks: sinks)
      // Each tiling with its tiles multiplied by BLAS and by the small product.
      for blocking in [(1, 1), (2, 3), (3, 2), (5, 7), (16, 4)] {
        for smallProducts in [false, true] {
          let fused = FusedAttention.compute(
            problem, query: q.scalars, key: k.scalars, value: v.scalars, extras: .logSumExp,
            blocking: .init(queryRows: blocking.0, keyColumns: blocking.1),
            smallProducts: smallProducts)
          let tiles = "tiles \(blocking) small products \(smallProducts)"
          expectClose(
            try Tensor(shape: naive.output.shape, scalars: fused.output), naive.output,
            tolerance: Self.tolerance, "\(tiles) \(what)")
          expectClose(
            try Tensor(shape: naive.logSumExp!.shape, scalars: fused.logSumExp!),
            naive.logSumExp!, tolerance: Self.tolerance, "\(tiles) lse \(what)")
        }
      }
    }
  }

  @Test("Bad variant arguments are specific errors naming the values")
  func badArguments() throws {
    let q = try Tensor<Float>(zeros: [2, 5, 4])
    let k = try Tensor<Float>(zeros: [2, 6, 4])
    func message(_ body: () throws -> Tensor<Float>) -> String {
      do {
        _ = try body()
        return "no error"
      } catch let error as AttentionError {
        return error.message
      } catch {
        return "\(error)"
      }
    }
    let cases: [(String, () throws -> Tensor<Float>, [String])] = [
      (
        "window",
        {
          try scaledDotProductAttention(
            query: q, key: k, value: k, window: .init(keysBefore: -2, keysAfter: 0))
        },
        ["keysBefore", "-2"]
      ),
      (
        "softcap 0", { try scaledDotProductAttention(query: q, key: k, value: k, softcap: 0) },
        ["softcap", "0.0"]
      ),
      (
        "softcap nan", { try scaledDotProductAttention(query: q, key: k, value: k, softcap: .nan) },
        ["softcap", "nan"]
      ),
      (
        "slopes",
        { try scaledDotProductAttention(query: q, key: k, value: k, alibiSlopes: [1, 2, 3]) },
        ["alibiSlopes", "[3]", "[2]", "[2, 5, 4]"]
      ),
      (
        "sinks nan",
        { try scaledDotProductAttention(query: q, key: k, value: k, sinks: [0, .nan]) },
        ["sinks[1]", "nan"]
      ),
      (
        "packed sum",
        {
          try scaledDotProductAttention(
            query: q, key: k, value: k,
            packedSequences: .init(queryLengths: [2, 2], keyLengths: [3, 3]))
        }, ["sum to 4", "Nq = 5", "[2, 5, 4]"]
      ),
      (
        "packed key sum",
        {
          try scaledDotProductAttention(
            query: q, key: k, value: k,
            packedSequences: .init(queryLengths: [2, 3], keyLengths: [3, 4]))
        }, ["sum to 7", "Nk = 6", "[2, 6, 4]"]
      ),
      (
        "packed zero",
        {
          try scaledDotProductAttention(
            query: q, key: k, value: k,
            packedSequences: .init(queryLengths: [0, 5], keyLengths: [3, 3]))
        }, ["positive", "0"]
      ),
      (
        "packed counts",
        {
          try scaledDotProductAttention(
            query: q, key: k, value: k,
            packedSequences: .init(queryLengths: [5], keyLengths: [3, 3]))
        }, ["1 query lengths", "2 key lengths"]
      ),
      (
        "packed batch",
        {
          try scaledDotProductAttention(
            query: q.reshaped(to: [2, 1, 5, 4]), key: k.reshaped(to: [2, 1, 6, 4]),
            value: k.reshaped(to: [2, 1, 6, 4]), packedSequences: .init(lengths: [5]))
        }, ["batch of 1", "[2, 1, 5, 4]"]
      ),
    ]
    for (name, body, fragments) in cases {
      let text = message(body)
      for fragment in fragments { #expect(text.contains(fragment), "\(name): \(text)") }
    }
  }
}

@Suite("Fused kernel: query heads grouped by their shared key/value head")
struct GroupedHeadsTests {
  @Test("GQA with few queries runs grouped and matches the naive kernel with every variant")
  func groupedMatchesNaive() throws {
    var data = TestData(seed: 950)
    for (nq, nk) in [(1, 700), (3, 41), (5, 5)] {
      let q: Tensor<Double> = data.normal([2, 16, nq, 8])
      let k: Tensor<Double> = data.normal([2, 4, nk, 8])
      let v: Tensor<Double> = data.normal([2, 4, nk, 6])
      let problem = try AttentionProblem(
        query: q, key: k, value: v, mask: .none, causal: .bottomRight, keyLengths: nil, scale: nil)
      #expect(AttentionPlan(problem, path: .fused, extras: []).headGroup == 4)
      let mask = data.bools([2, 16, nq, nk], probability: 0.9)
      let sinks = (0..<16).map { Double($0 % 3) - 1 }
      let slopes = (0..<16).map { 0.1 / Double($0 + 1) }
      for window in [nil, AttentionWindow.sliding(4)] {
        let arguments = (mask: AttentionMask<Double>.allow(where: mask), window: window)
        let naive = try scaledDotProductAttention(
          query: q, key: k, value: v, mask: arguments.mask, causal: .bottomRight,
          keyLengths: [nk, nk - 1], window: arguments.window, softcap: 3, alibiSlopes: slopes,
          sinks: sinks, backend: .naive, returning: .logSumExp)
        let fused = try scaledDotProductAttention(
          query: q, key: k, value: v, mask: arguments.mask, causal: .bottomRight,
          keyLengths: [nk, nk - 1], window: arguments.window, softcap: 3, alibiSlopes: slopes,
          sinks: sinks, returning: .logSumExp)
        let what = "\(nq)→\(nk) \(String(describing: window))"
        expectClose(fused.output, naive.output, tolerance: Tolerance.doubleVersusDouble, what)
        expectClose(
          fused.logSumExp!, naive.logSumExp!, tolerance: Tolerance.doubleVersusDouble, what)
      }
    }
  }

  @Test("NaN values and an infinite query stay in their own heads and rows when grouped")
  func groupedNaNPolicy() throws {
    var data = TestData(seed: 951)
    var q: Tensor<Float> = data.normal([1, 16, 2, 8])
    let k: Tensor<Float> = data.normal([1, 8, 30, 8])
    var v: Tensor<Float> = data.normal([1, 8, 30, 8])
    q[0, 5, 1, 0] = .infinity
    v[0, 3, 29, 2] = .nan  // the last key: only row 1 of heads 6 and 7 see it under causal
    let naive = try scaledDotProductAttention(
      query: q, key: k, value: v, causal: .bottomRight, backend: .naive)
    let fused = try scaledDotProductAttention(query: q, key: k, value: v, causal: .bottomRight)
    expectClose(fused, naive, tolerance: Tolerance.floatVersusFloat)
  }
}
