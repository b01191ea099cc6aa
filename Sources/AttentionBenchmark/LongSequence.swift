import Attention
import CommandLineSupport

/// The long-sequence rows: one head, `N` queries and keys, `D = 64`, causal, fused path only —
/// a size at which the materialised path's `N × N` scores would not fit in memory
/// (`4·N²` bytes: 16 GiB at N = 65,536) — densely and with a sliding window (Mistral's 4,096),
/// whose time should be about the window's share of the dense causal work (0.12 at 65,536).
enum LongSequence {
  static let dimension = 64

  /// Runs the row, or returns it skipped with the reason.
  ///
  /// Before committing to a size above 4096, one run at N = 4096 measures the `.blas` path's time and
  /// peak memory; both are extrapolated to `length` assuming they grow as N² (the worst case,
  /// which is exactly the materialised path's). If the extrapolated memory exceeds half of the
  /// memory available, `.blas` is not the fused kernel and the row is skipped. The number of
  /// timed runs (at most 3, the first also under the memory probe; the N = 4096 run warmed the
  /// code) is cut so that the row takes at most about a minute after the first.
  static func run(length: Int, window: Int? = nil, settings: BenchmarkSettings) throws
    -> BenchmarkResult
  {
    let shape = BenchmarkShape(
      batch: 1, heads: 1, queries: length, dimension: dimension, causal: true, window: window)
    var result = BenchmarkResult(shape: shape, path: AttentionBackend.blas.rawValue)
    let scoreBytes = 4 * Double(length) * Double(length)
    let scoreNote = "materialised scores would need \(formatBytes(scoreBytes))"

    let clock = ContinuousClock()
    let probeLength = 4096
    if length > probeLength && window == nil {
      let probeShape = BenchmarkShape(
        batch: 1, heads: 1, queries: probeLength, dimension: dimension, causal: true)
      let (pq, pk, pv) = try BenchmarkRunner.makeInputs(for: probeShape, seed: 77)
      func probeRun() throws -> Tensor<Float> {
        try scaledDotProductAttention(query: pq, key: pk, value: pv, causal: .bottomRight)
      }
      Sink.consume(try probeRun().scalars[0])  // warm-up
      let probe = try MemoryProbe.measure {
        let start = clock.now
        Sink.consume(try probeRun().scalars[0])
        return (clock.now - start).seconds
      }
      let growth = Double(length) / Double(probeLength)
      if let probeBytes = probe.peakBytes, let available = MemoryProbe.availableBytes {
        let scratch = Double(Swift.max(0, probeBytes - probeShape.outputBytes))
        let estimatedBytes = Double(shape.outputBytes) + scratch * growth * growth
        if estimatedBytes > Double(available) / 2 {
          result.note =
            "skipped: .blas used \(mebibytes(probeBytes)) MiB at N = \(probeLength); growing as "
            + "N² that is ~\(formatBytes(estimatedBytes)) at N = \(length), over half the "
            + "available \(formatBytes(Double(available))) (\(scoreNote))"
          return result
        }
      }
      let estimatedSeconds = probe.result * growth * growth
      guard estimatedSeconds <= 600 else {
        result.note =
          "skipped: estimated \(BenchmarkRunner.formatSeconds(estimatedSeconds)) per run from "
          + "N = \(probeLength) (\(scoreNote))"
        return result
      }
      print(
        "long row: about \(BenchmarkRunner.formatSeconds(estimatedSeconds)) per run "
          + "(from N = \(probeLength))")
    }

    let (q, k, v) = try BenchmarkRunner.makeInputs(for: shape, seed: 65_536)
    let reference = SampledReference(shape: shape, query: q, key: k, value: v)
    func attention() throws -> Tensor<Float> {
      try BenchmarkRunner.attention(shape, query: q, key: k, value: v)
    }
    if window != nil { Sink.consume(try attention().scalars[0]) }  // warm-up
    let measured = try MemoryProbe.measure {
      let start = clock.now
      let output = try attention()
      return (output, (clock.now - start).seconds)
    }
    var times = [measured.result.1]
    let more = Swift.min(settings.repetitions, window == nil ? 3 : 5) - 1
    let affordable = Int(60 / Swift.max(measured.result.1, 1e-9))
    if more > 0 && affordable > 1 {
      times += try Timing.measure(warmups: 0, repetitions: Swift.min(more, affordable - 1)) {
        Sink.consume(try attention().scalars[0])
      }
    }
    result.times = RunTimes(times)
    result.peakBytes = measured.peakBytes
    result.differenceFromDouble = reference.maximumDifference(to: measured.result.0, shape: shape)
    result.note = window == nil ? "fused only; \(scoreNote)" : "fused only"
    return result
  }

  /// Bytes (an estimate, hence `Double`) in binary units with one decimal, as the library's
  /// memory-limit errors give them.
  static func formatBytes(_ bytes: Double) -> String {
    AttentionMemoryBudget.describe(Int(Swift.min(bytes.rounded(), 1e18)))
  }
}
