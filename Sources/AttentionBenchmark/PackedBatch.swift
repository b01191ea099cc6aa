import Attention
import CommandLineSupport

/// A batch of sequences of mixed lengths, attended packed (``PackedSequences``: no padding, the
/// work is the sum of each sequence's `L²`) and padded to the longest (`[B, H, Lmax, D]` with key
/// lengths: every padded query row is computed too), timed alternately in one run.
///
/// Geometry of all-MiniLM-L6-v2's attention (12 heads, D = 32), 32 texts whose lengths are
/// drawn from a seeded generator the way sentence-embedding inputs come: mostly short (5–32
/// word pieces), some medium (33–128), a few long (129–256), one of exactly 256.
struct PackedBatch {
  static let headCount = 12
  static let dimension = 32

  var lengths: [Int]

  /// The seeded mix of `count` lengths (`short` of them under 33 tokens).
  static func mixedLengths(count: Int, seed: UInt64) -> [Int] {
    var generator = SplitMix64(seed: seed)
    var lengths = (0..<count).map { _ -> Int in
      let draw = Int(generator.next() % 100)
      let span: ClosedRange<Int> = draw < 70 ? 5...32 : draw < 93 ? 33...128 : 129...256
      return span.lowerBound + Int(generator.next() % UInt64(span.count))
    }
    if !lengths.isEmpty { lengths[0] = 256 }
    return lengths
  }

  /// Both layouts of the batch, alternately (warm-up, then `rounds` rounds of runs each), and
  /// the largest difference between the packed output and the padded output's real rows.
  ///
  /// - Returns: the packed and padded rows (the packed one's operations are the useful work,
  ///   the padded one's the work it does), the maximum difference.
  static func run(count: Int, settings: BenchmarkSettings, seed: UInt64 = 32) throws -> (
    packed: BenchmarkResult, padded: BenchmarkResult, difference: Double
  ) {
    let lengths = mixedLengths(count: count, seed: seed)
    let total = lengths.reduce(0, +)
    let longest = lengths.max() ?? 1
    let (h, d) = (headCount, dimension)
    var generator = SplitMix64(seed: seed + 1)
    let q = try Tensor<Float>.randomNormal(shape: [h, total, d], using: &generator)
    let k = try Tensor<Float>.randomNormal(shape: [h, total, d], using: &generator)
    let v = try Tensor<Float>.randomNormal(shape: [h, total, d], using: &generator)

    // The same rows laid out padded: batch b's tokens at [b, :, 0..<L_b, :], zeros after.
    func padded(_ packed: Tensor<Float>) throws -> Tensor<Float> {
      var scalars = [Float](repeating: 0, count: count * h * longest * d)
      var start = 0
      for (b, length) in lengths.enumerated() {
        for head in 0..<h {
          for t in 0..<length {
            let from = (head * total + start + t) * d
            let to = ((b * h + head) * longest + t) * d
            for c in 0..<d { scalars[to + c] = packed.scalars[from + c] }
          }
        }
        start += length
      }
      return try Tensor(shape: [count, h, longest, d], scalars: scalars)
    }
    let (pq, pk, pv) = (try padded(q), try padded(k), try padded(v))
    let packing = PackedSequences(lengths: lengths)
    func runPacked() throws -> Tensor<Float> {
      try scaledDotProductAttention(query: q, key: k, value: v, packedSequences: packing)
    }
    func runPadded() throws -> Tensor<Float> {
      try scaledDotProductAttention(query: pq, key: pk, value: pv, keyLengths: lengths)
    }

    let packedOutput = try runPacked()
    let paddedOutput = try runPadded()
    var difference = 0.0
    var start = 0
    for (b, length) in lengths.enumerated() {
      for head in 0..<h {
        for t in 0..<length {
          let from = (head * total + start + t) * d
          let to = ((b * h + head) * longest + t) * d
          for c in 0..<d {
            let gap = abs(
              Double(packedOutput.scalars[from + c]) - Double(paddedOutput.scalars[to + c]))
            if !(gap <= difference) { difference = gap.isNaN ? .infinity : gap }
          }
        }
      }
      start += length
    }

    let first = try Timing.measure(warmups: 1, repetitions: 1) {
      Sink.consume(try runPadded().scalars[0])
    }[0]
    let repetitions = Timing.repetitions(
      settings.repetitions, runSeconds: first, minimumSeconds: settings.minimumTimedSeconds,
      budgetSeconds: settings.budgetSeconds, ceiling: Timing.maximumRuns)
    let rounds = Swift.max(1, settings.rounds)
    let perRound = Swift.max(1, (repetitions + rounds - 1) / rounds)
    var packedTimes = [Double]()
    var paddedTimes = [Double]()
    for _ in 0..<rounds {
      packedTimes += try Timing.measure(warmups: 0, repetitions: perRound) {
        Sink.consume(try runPacked().scalars[0])
      }
      paddedTimes += try Timing.measure(warmups: 0, repetitions: perRound) {
        Sink.consume(try runPadded().scalars[0])
      }
    }

    let usefulPairs = lengths.reduce(0.0) { $0 + Double($1) * Double($1) }
    let shortCount = lengths.filter { $0 <= 32 }.count
    let label =
      "\(count) texts, \(total) tokens (\(shortCount) ≤ 32, longest \(longest)), H \(h), D \(d)"
    var packedRow = BenchmarkResult(
      shape: BenchmarkShape(batch: 1, heads: h, queries: total, dimension: d), path: "blas packed",
      times: RunTimes(packedTimes), note: label)
    packedRow.operations = 4 * Double(h) * usefulPairs * Double(d)
    var paddedRow = BenchmarkResult(
      shape: BenchmarkShape(batch: count, heads: h, queries: longest, dimension: d),
      path: "blas padded", times: RunTimes(paddedTimes),
      note: "key lengths; GFLOP/s counts the useful work, as for packed")
    paddedRow.operations = packedRow.operations
    return (packedRow, paddedRow, difference)
  }
}

/// The packed and padded rows of one batch, and how far their outputs differ.
struct PackedComparison: Sendable {
  var packed: BenchmarkResult
  var padded: BenchmarkResult
  var difference: Double

  /// The query–key pairs the padded layout computes over those the packed one does.
  var paddedPairsOverUseful: Double {
    let padded = padded.shape
    let paddedPairs = Double(padded.batchCount) * Double(padded.queryCount * padded.queryCount)
    let usefulPairs =
      packed.countedOperations / (4 * Double(PackedBatch.headCount * PackedBatch.dimension))
    return paddedPairs / usefulPairs
  }

  /// Padded time over packed time: how much the padding costs.
  var paddedOverPacked: Double? {
    guard let packed = packed.medianSeconds, let padded = padded.medianSeconds else { return nil }
    return padded / packed
  }
}
