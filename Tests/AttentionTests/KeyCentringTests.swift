import AttentionTestSupport
import Foundation
import Testing

@testable import Attention

/// The fused path centres the keys each block of queries sees (``KeyCentring``): exact in real
/// arithmetic, and far more accurate when the keys share a large common component. These tests
/// check that it is more accurate where it applies, equal to the definition everywhere, and off
/// exactly where the documentation says.
@Suite("Key centring: accuracy on keys with a large common component")
struct KeyCentringTests {
  /// Q ~ N(0, 1), V ~ N(0, 1), K = N(0, 1) + a common vector 100·N(0, 1) per key/value head:
  /// every logit is near −90 (for d = 64) and only their differences of about 1 matter.
  static func illConditioned(
    seed: UInt64, batch: Int = 1, heads: Int, kvHeads: Int, queries: Int, keys: Int,
    dimension: Int = 64
  ) -> (query: Tensor<Float>, key: Tensor<Float>, value: Tensor<Float>) {
    var data = TestData(seed: seed)
    let query: Tensor<Float> = data.normal([batch, heads, queries, dimension])
    let value: Tensor<Float> = data.normal([batch, kvHeads, keys, dimension])
    let noise: Tensor<Float> = data.normal([batch, kvHeads, keys, dimension])
    let common: Tensor<Float> = data.normal([batch, kvHeads, 1, dimension])
    var key = noise.scalars
    for (index, _) in key.enumerated() {
      let head = index / (keys * dimension)
      key[index] += 100 * common.scalars[head * dimension + index % dimension]
    }
    return (query, try! Tensor(shape: noise.shape, scalars: key), value)
  }

  static func largestAbsoluteError(_ actual: Tensor<Float>, _ expected: Tensor<Double>) -> Double {
    zip(actual.scalars, expected.scalars).map { abs(Double($0) - $1) }.max() ?? .infinity
  }

  @Test(
    "On PyTorch's ill-conditioned fixtures the Float error is no larger than PyTorch float32's",
    arguments: ["noncausal", "causal"])
  func pyTorchFixtures(name: String) throws {
    let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("Fixtures/IllConditioned")
    func load(_ part: String) throws -> AnyTensor {
      try NPY.read(from: folder.appendingPathComponent("\(name)_\(part).npy").path)
    }
    guard case .float32(let q) = try load("q"), case .float32(let k) = try load("k"),
      case .float32(let v) = try load("v"), case .float32(let torchOutput) = try load("torch"),
      case .float64(let reference) = try load("reference")
    else {
      Issue.record("unexpected fixture dtypes in \(folder.path)")
      return
    }
    let output = try scaledDotProductAttention(
      query: q, key: k, value: v, causal: name == "causal" ? .bottomRight : nil)
    let ours = Self.largestAbsoluteError(output, reference)
    let pyTorch = Self.largestAbsoluteError(torchOutput, reference)
    // Measured on AMD EPYC Zen 3: 1.7e-5 (PyTorch) against 3e-7 (centred) non-causal.
    #expect(ours <= pyTorch, "library \(ours), PyTorch \(pyTorch)")
    #expect(ours < 1e-5, "library \(ours)")
  }

  @Test(
    "Centred, the fused path is several times more accurate than the uncentred materialised one",
    arguments: [(nil, 1), (CausalAlignment.bottomRight, 1), (CausalAlignment.topLeft, 4)])
  func moreAccurate(causal: CausalAlignment?, group: Int) throws {
    let (q, k, v) = Self.illConditioned(
      seed: 11, heads: 2 * group, kvHeads: 2, queries: 96, keys: 700)
    let reference = ReferenceAttention(query: q, key: k, value: v, causal: causal)
    let fused = try scaledDotProductAttention(
      query: q, key: k, value: v, causal: causal, backend: .blas, returning: .logSumExp)
    let materialized = try scaledDotProductAttention(
      query: q, key: k, value: v, causal: causal, backend: .blasMaterialized)
    let centred = Self.largestAbsoluteError(fused.output, reference.output)
    let uncentred = Self.largestAbsoluteError(materialized, reference.output)
    #expect(centred * 8 < uncentred, "centred \(centred), uncentred \(uncentred)")
    // The log-sum-exp gets each row's shift back, computed in Double: at least as accurate as
    // the uncentred one.
    let uncentredLogSumExp = try scaledDotProductAttention(
      query: q, key: k, value: v, causal: causal, backend: .blasMaterialized,
      returning: .logSumExp
    ).logSumExp!
    func logSumExpError(_ actual: Tensor<Float>) -> Double {
      zip(actual.scalars, reference.logSumExp.scalars).map { abs(Double($0) - $1) }.max()!
    }
    let error = logSumExpError(fused.logSumExp!)
    let uncentredError = logSumExpError(uncentredLogSumExp)
    #expect(error <= uncentredError, "centred \(error), uncentred \(uncentredError)")
  }

  @Test("With sinks, ALiBi, a window and key lengths the centred result equals the definition")
  func composesWithVariants() throws {
    let (q, k, v) = Self.illConditioned(seed: 12, heads: 4, kvHeads: 2, queries: 64, keys: 300)
    // Sinks near the rows' logits (about −90 here), so they weigh as much as the keys.
    let sinks: [Float] = [-90, -85, -95, -88]
    let slopes: [Float] = [0.5, 0.25, 0.125, 0.0625]
    let window = AttentionWindow(keysBefore: 100, keysAfter: 20)
    let keyLengths = [250]
    let reference = ReferenceAttention(
      query: q, key: k, value: v, causal: .bottomRight, keyLengths: keyLengths, window: window,
      alibiSlopes: slopes, sinks: sinks)
    let fused = try scaledDotProductAttention(
      query: q, key: k, value: v, causal: .bottomRight, keyLengths: keyLengths, window: window,
      alibiSlopes: slopes, sinks: sinks, returning: .logSumExp)
    expectClose(fused.output, reference.output, tolerance: Tolerance.floatVersusDouble, "output")
    expectClose(
      fused.logSumExp!, reference.logSumExp, tolerance: Tolerance.floatVersusDouble,
      "log-sum-exp")
  }

  @Test("Not applied under a softcap, with a zero scale or when decoding; applied otherwise")
  func whereItApplies() throws {
    let (q, k, v) = Self.illConditioned(seed: 13, heads: 4, kvHeads: 2, queries: 8, keys: 64)
    func centres(
      _ query: Tensor<Float>, scale: Float? = nil, softcap: Float? = nil
    ) throws -> Bool {
      let problem = try AttentionProblem(
        query: query, key: k, value: v, mask: .none, causal: nil, keyLengths: nil, scale: scale,
        softcap: softcap)
      return AttentionPlan(problem, path: .fused, extras: []).centresKeys
    }
    #expect(try centres(q))
    #expect(try !centres(q, softcap: 30))
    #expect(try !centres(q, scale: 0))
    // One query per head and 2 heads per key/value head: 2 rows, the gemv route of decoding.
    let decodeQuery = try Tensor(
      shape: [1, 4, 1, 64], scalars: Array(q.scalars[0..<(4 * 64)]))
    #expect(try !centres(decodeQuery))
    // Under the softcap the uncentred result still equals the definition.
    let reference = ReferenceAttention(query: q, key: k, value: v, softcap: 30)
    let output = try scaledDotProductAttention(query: q, key: k, value: v, softcap: 30)
    expectClose(output, reference.output, tolerance: Tolerance.floatVersusDouble, "softcap")
  }

  @Test("Keys without a large common part are not centred; keys with one are")
  func onlyWorthwhileBlocks() throws {
    var data = TestData(seed: 15)
    let plain: Tensor<Float> = data.normal([200, 64])
    let (_, biased, _) = Self.illConditioned(seed: 15, heads: 1, kvHeads: 1, queries: 1, keys: 200)
    let ones = [Float](repeating: 1, count: 64)
    // Both ways of forming the sums: BLAS's gemv and the small product's one-row product.
    for multiplier in [TileProducts.Multiplier.blas, .small(.active)] {
      var centre = [Float](repeating: .nan, count: 64)
      func worthCentring(_ keys: Tensor<Float>) -> Bool {
        keys.scalars.withUnsafeBufferPointer { k in
          ones.withUnsafeBufferPointer { o in
            KeyCentring.mean(
              ofKeys: k.baseAddress!, count: 200, dimension: 64, ones: o, into: &centre,
              using: multiplier)
          }
        }
      }
      #expect(!worthCentring(plain), "\(multiplier)")
      #expect(worthCentring(biased), "\(multiplier)")
      // The mean is still written either way (tiles of 64 keys: several chunks).
      let expected = (0..<64).map { d in
        (0..<200).map { Double(biased.scalars[$0 * 64 + d]) }.reduce(0, +) / 200
      }
      expectClose(centre, expected, tolerance: Tolerance.floatVersusDouble, "mean \(multiplier)")
    }
  }

  @Test("A non-finite or huge key or query turns centring off for its head: the NaN policy holds")
  func nonFiniteInputs() throws {
    for (element, value) in [(0, Float.infinity), (1, .nan), (2, 0x1p70)] {
      var (q, k, v) = Self.illConditioned(seed: 14, heads: 2, kvHeads: 2, queries: 16, keys: 40)
      var keys = k.scalars
      var queries = q.scalars
      if element == 2 {
        queries[5 * 64 + 3] = value  // head 0, query 5
      } else {
        keys[(40 + 7) * 64 + 3] = value  // head 1, key 7
      }
      k = try Tensor(shape: k.shape, scalars: keys)
      q = try Tensor(shape: q.shape, scalars: queries)
      let fused = try scaledDotProductAttention(query: q, key: k, value: v)
      let naive = try scaledDotProductAttention(query: q, key: k, value: v, backend: .naive)
      expectClose(fused, naive, tolerance: Tolerance.floatVersusFloat, "element \(value)")
    }
  }
}
