import ArgumentParser

/// One attention problem the benchmark times: `[B, Hq, Nq, D]` queries against `[B, Hkv, Nk, D]`
/// keys and values.
struct BenchmarkShape: Hashable, Sendable {
  var batchCount: Int
  var queryHeadCount: Int
  var keyValueHeadCount: Int
  var queryCount: Int
  var keyCount: Int
  var headDimension: Int
  var causal: Bool
  /// A sliding window (``AttentionWindow/sliding(_:)``): each query sees its aligned position
  /// and the `window − 1` keys before it; `nil` for none.
  var window: Int?

  init(
    batch: Int, heads: Int, kvHeads: Int? = nil, queries: Int, keys: Int? = nil, dimension: Int,
    causal: Bool = false, window: Int? = nil
  ) {
    batchCount = batch
    queryHeadCount = heads
    keyValueHeadCount = kvHeads ?? heads
    queryCount = queries
    keyCount = keys ?? queries
    headDimension = dimension
    self.causal = causal
    self.window = window
  }

  /// The (query, key) pairs a row sees, summed over the queries of one head: `Nq·Nk`, about half
  /// with a causal mask (counted as exactly half, as is the custom), and with a sliding window
  /// the exact count of its band.
  var visiblePairCount: Double {
    let full = Double(queryCount) * Double(keyCount)
    guard let window else { return causal ? full / 2 : full }
    // Query i (aligned position p = i + Nk − Nq) sees keys max(0, p − w + 1)…min(p, Nk − 1),
    // or up to p + … without a causal mask (not used by the benchmark: counted as the band).
    var pairs = 0.0
    let offset = keyCount - queryCount
    for i in 0..<queryCount {
      let p = i + offset
      let last = causal ? Swift.min(p, keyCount - 1) : keyCount - 1
      let first = Swift.max(0, p - window + 1)
      if last >= first { pairs += Double(last - first + 1) }
    }
    return pairs
  }

  /// Multiply-adds counted as two operations: `4·B·Hq·Nq·Nk·D` (two products, `Q·Kᵀ` and `P·V`),
  /// half of it with a causal mask. Softmax work is not counted, as is the custom.
  var floatingPointOperations: Double {
    4 * Double(batchCount) * Double(queryHeadCount) * visiblePairCount * Double(headDimension)
  }

  /// Bytes of `Float` keys and values: what a decoding step must read from memory at least.
  var keyValueBytes: Int { 2 * batchCount * keyValueHeadCount * keyCount * headDimension * 4 }

  /// Whether this is a decoding step (one query against a cache of keys).
  var isDecode: Bool { queryCount == 1 && keyCount > 1 }

  /// Elements of the query, key and value tensors together.
  var inputElementCount: Int {
    batchCount * headDimension * (queryHeadCount * queryCount + 2 * keyValueHeadCount * keyCount)
  }

  /// Bytes of the `Float` output `[B, Hq, Nq, D]`.
  var outputBytes: Int { batchCount * queryHeadCount * queryCount * headDimension * 4 }

  /// A short name such as `1×12×2048×64`, `1×32/8×2048×128 GQA causal` or `1×32×1→4096×128`.
  var label: String {
    let heads =
      keyValueHeadCount == queryHeadCount
      ? "\(queryHeadCount)" : "\(queryHeadCount)/\(keyValueHeadCount)"
    let tokens = queryCount == keyCount ? "\(queryCount)" : "\(queryCount)→\(keyCount)"
    var name = "\(batchCount)×\(heads)×\(tokens)×\(headDimension)"
    if keyValueHeadCount != queryHeadCount { name += " GQA" }
    if queryCount == 1 && keyCount > 1 { name += " decode" }
    if causal { name += " causal" }
    if let window { name += " window \(window)" }
    return name
  }

  /// The shapes that differ only in sequence length share a series in the chart.
  var seriesKey: String {
    "B\(batchCount) H\(queryHeadCount)"
      + (keyValueHeadCount == queryHeadCount ? "" : "/\(keyValueHeadCount)")
      + " D\(headDimension)" + (causal ? " causal" : "") + (window.map { " window \($0)" } ?? "")
  }
}

extension BenchmarkShape: ExpressibleByArgument {
  /// Parses `BxHxNxD` with optional `:causal`, `:kv=H`, `:nq=N`, `:nk=N`, `:window=W` suffixes, e.g.
  /// `1x32x2048x128:kv=8:causal` or `1x32x4096x128:nq=1`.
  init?(argument: String) {
    let parts = argument.lowercased().split(separator: ":")
    guard let first = parts.first else { return nil }
    let sizes = first.split(whereSeparator: { $0 == "x" || $0 == "×" }).map { Int($0) }
    guard sizes.count == 4, let b = sizes[0], let h = sizes[1], let n = sizes[2],
      let d = sizes[3], b > 0, h > 0, n > 0, d > 0
    else { return nil }
    self.init(batch: b, heads: h, queries: n, dimension: d)
    for option in parts.dropFirst() {
      if option == "causal" {
        causal = true
        continue
      }
      let pair = option.split(separator: "=")
      guard pair.count == 2, let value = Int(pair[1]), value > 0 else { return nil }
      switch pair[0] {
      case "kv": keyValueHeadCount = value
      case "nq": queryCount = value
      case "nk": keyCount = value
      case "window": window = value
      default: return nil
      }
    }
    guard queryHeadCount % keyValueHeadCount == 0 else { return nil }
  }

  static var defaultCompletionKind: CompletionKind { .default }
}

extension BenchmarkShape {
  /// The default cases: the shapes of issue 8's table (BERT-base and 7B-model layers, causal,
  /// short sequences, a batch of short ones, decoding with and without grouped-query attention),
  /// then a sequence-length sweep at BERT-base geometry, a batch, a causal 7B layer,
  /// grouped-query prefill and a 65,536-key decode step of two query heads sharing one key/value
  /// head (flash-decoding's key split).
  static let standard: [BenchmarkShape] = [
    BenchmarkShape(batch: 1, heads: 12, queries: 2048, dimension: 64),
    BenchmarkShape(batch: 1, heads: 32, queries: 2048, dimension: 128),
    BenchmarkShape(batch: 1, heads: 12, queries: 2048, dimension: 64, causal: true),
    BenchmarkShape(batch: 1, heads: 12, queries: 128, dimension: 64),
    BenchmarkShape(batch: 32, heads: 12, queries: 64, dimension: 32),
    BenchmarkShape(batch: 1, heads: 32, kvHeads: 8, queries: 1, keys: 4096, dimension: 128),
    BenchmarkShape(batch: 1, heads: 32, queries: 1, keys: 4096, dimension: 128),
    BenchmarkShape(batch: 1, heads: 12, queries: 512, dimension: 64),
    BenchmarkShape(batch: 1, heads: 12, queries: 4096, dimension: 64),
    BenchmarkShape(batch: 4, heads: 12, queries: 512, dimension: 64),
    BenchmarkShape(batch: 1, heads: 32, queries: 2048, dimension: 128, causal: true),
    BenchmarkShape(batch: 1, heads: 32, kvHeads: 8, queries: 2048, dimension: 128),
    // A long-context decode step with too few heads to fill the cores: the keys are split.
    BenchmarkShape(batch: 1, heads: 2, kvHeads: 1, queries: 1, keys: 65_536, dimension: 128),
  ]

  /// The same kinds of case, small enough for a smoke run of a few seconds each.
  static let quick: [BenchmarkShape] = [
    BenchmarkShape(batch: 1, heads: 4, queries: 256, dimension: 64),
    BenchmarkShape(batch: 1, heads: 4, queries: 512, dimension: 64),
    BenchmarkShape(batch: 1, heads: 4, queries: 1024, dimension: 64),
    BenchmarkShape(batch: 2, heads: 4, queries: 256, dimension: 64),
    BenchmarkShape(batch: 1, heads: 4, queries: 1024, dimension: 64, causal: true),
    BenchmarkShape(batch: 1, heads: 8, kvHeads: 2, queries: 512, dimension: 128),
    BenchmarkShape(batch: 1, heads: 8, kvHeads: 2, queries: 1, keys: 1024, dimension: 128),
    BenchmarkShape(batch: 1, heads: 8, queries: 1, keys: 1024, dimension: 128),
  ]
}
