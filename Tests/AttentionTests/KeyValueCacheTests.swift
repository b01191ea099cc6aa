import AttentionTestSupport
import Testing

@testable import Attention

/// Decoding through a key/value cache against recomputing the whole sequence, the windowed cache
/// against the full one with the same window, growth and errors.
@Suite("Key/value cache: decoding in place")
struct KeyValueCacheTests {
  /// Rows `range` of every head of a `[B, H, N, D]` tensor.
  static func rows(_ t: Tensor<Double>, _ range: Range<Int>) -> Tensor<Double> {
    let (b, h, n, d) = (t.shape[0], t.shape[1], t.shape[2], t.shape[3])
    var scalars: [Double] = []
    for head in 0..<(b * h) {
      scalars +=
        t.scalars[((head * n + range.lowerBound) * d)..<((head * n + range.upperBound) * d)]
    }
    return try! Tensor(shape: [b, h, range.count, d], scalars: scalars)
  }

  /// Steps of a decode: a prefill chunk, then single tokens, then another chunk.
  static let steps = [5, 1, 1, 3, 1, 1, 1, 6, 1, 1]

  @Test(
    "Prefill then token by token equals full causal attention over the sequence, GQA in place",
    arguments: allBackends)
  func decodingEqualsRecomputing(backend: AttentionBackend) throws {
    var data = TestData(seed: 1000)
    let total = Self.steps.reduce(0, +)
    let q: Tensor<Double> = data.normal([2, 6, total, 8])
    let k: Tensor<Double> = data.normal([2, 2, total, 8])
    let v: Tensor<Double> = data.normal([2, 2, total, 5])
    let full = try scaledDotProductAttention(
      query: q, key: k, value: v, causal: .topLeft, softcap: 3, backend: backend)
    var cache = try KeyValueCache<Double>(
      batchCount: 2, headCount: 2, keyDimension: 8, valueDimension: 5, initialCapacity: 4)
    var start = 0
    for n in Self.steps {
      let range = start..<(start + n)
      try cache.append(keys: Self.rows(k, range), values: Self.rows(v, range))
      let out = try cache.attention(query: Self.rows(q, range), softcap: 3, backend: backend)
      expectClose(out, Self.rows(full, range), tolerance: Tolerance.doubleVersusDouble, "\(range)")
      start += n
    }
    #expect(cache.positionCount == total && cache.storedCount == total)
    expectClose(cache.storedKeys, k, tolerance: 0, "every key kept, in order")
    expectClose(cache.storedValues, v, tolerance: 0, "every value kept, in order")
    // Grown by doubling from 4 rows: 4 → 8 → 16 → 32.
    #expect(cache.capacity == 32)
  }

  @Test(
    "A windowed cache equals a full cache with the same sliding window, and stays small",
    arguments: [1, 2, 3, 4, 7])
  func windowedEqualsFull(window: Int) throws {
    var data = TestData(seed: 1001 + UInt64(window))
    let steps = Self.steps + [9, 1, 2, 1]
    let total = steps.reduce(0, +)
    let q: Tensor<Double> = data.normal([1, 4, total, 6])
    let k: Tensor<Double> = data.normal([1, 2, total, 6])
    let v: Tensor<Double> = data.normal([1, 2, total, 3])
    var full = try KeyValueCache<Double>(
      batchCount: 1, headCount: 2, keyDimension: 6, valueDimension: 3)
    var windowed = try KeyValueCache<Double>(
      batchCount: 1, headCount: 2, keyDimension: 6, valueDimension: 3, window: window)
    var start = 0
    var largestChunk = 0
    for n in steps {
      let range = start..<(start + n)
      largestChunk = max(largestChunk, n)
      for cache in [0, 1] {
        if cache == 0 {
          try full.append(keys: Self.rows(k, range), values: Self.rows(v, range))
        } else {
          try windowed.append(keys: Self.rows(k, range), values: Self.rows(v, range))
        }
      }
      let expected = try full.attention(query: Self.rows(q, range), window: .sliding(window))
      let actual = try windowed.attention(query: Self.rows(q, range), alibiSlopes: nil)
      expectClose(actual, expected, tolerance: Tolerance.doubleVersusDouble, "W \(window) \(range)")
      #expect(windowed.storedCount <= window - 1 + n, "holds only what the window sees")
      // The buffer grows only to fit the largest step; it never holds the whole sequence.
      #expect(windowed.capacity <= 2 * max(2 * window, window - 1 + largestChunk))
      start += n
    }
    #expect(windowed.positionCount == total)
  }

  @Test("ALiBi and sinks through the cache equal the direct call")
  func variantsThroughTheCache() throws {
    var data = TestData(seed: 1010)
    let q: Tensor<Double> = data.normal([1, 2, 7, 4])
    let k: Tensor<Double> = data.normal([1, 1, 7, 4])
    let v: Tensor<Double> = data.normal([1, 1, 7, 4])
    var cache = try KeyValueCache<Double>(
      batchCount: 1, headCount: 1, keyDimension: 4, valueDimension: 4, window: 3)
    try cache.append(keys: Self.rows(k, 0..<4), values: Self.rows(v, 0..<4))
    _ = try cache.attention(query: Self.rows(q, 0..<4))
    try cache.append(keys: Self.rows(k, 4..<7), values: Self.rows(v, 4..<7))
    let out = try cache.attention(
      query: Self.rows(q, 4..<7), alibiSlopes: [0.5, 0.1], sinks: [1, -1])
    let direct = try scaledDotProductAttention(
      query: q, key: k, value: v, causal: .bottomRight, window: .sliding(3),
      alibiSlopes: [0.5, 0.1], sinks: [1, -1])
    expectClose(out, Self.rows(direct, 4..<7), tolerance: Tolerance.doubleVersusDouble)
  }

  @Test("Shapes that do not fit, an empty cache and a conflicting window are specific errors")
  func errors() throws {
    var cache = try KeyValueCache<Float>(
      batchCount: 1, headCount: 2, keyDimension: 4, valueDimension: 3, window: 5)
    let q = try Tensor<Float>(zeros: [1, 4, 1, 4])
    #expect(throws: AttentionError.self) { try cache.attention(query: q) }
    let badKeys = try Tensor<Float>(zeros: [1, 3, 1, 4])
    let values = try Tensor<Float>(zeros: [1, 2, 1, 3])
    let error = #expect(throws: AttentionError.self) {
      try cache.append(keys: badKeys, values: values)
    }
    #expect(error?.message.contains("[1, 3, 1, 4]") == true, "\(String(describing: error))")
    try cache.append(keys: try Tensor(zeros: [1, 2, 1, 4]), values: values)
    #expect(throws: AttentionError.self) {
      try cache.attention(query: q, window: .sliding(2))
    }
    #expect(throws: AttentionError.self) {
      try cache.attention(query: try Tensor(zeros: [1, 4, 2, 4]))  // 2 queries, 1 key held
    }
    #expect(throws: AttentionError.self) {
      try KeyValueCache<Float>(batchCount: 0, headCount: 1, keyDimension: 1, valueDimension: 1)
    }
  }
}
