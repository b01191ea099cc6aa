import Attention
import CommandLineSupport

/// The machine's single-precision matrix-multiply throughput: the ceiling the attention paths
/// are compared with.
struct SgemmPeak: Sendable {
  var size: Int
  var medianSeconds: Double
  var minimumSeconds: Double
  var maximumSeconds: Double
  var runCount: Int

  /// `sgemm n = 2048: median 80.1 ms, 214.5 GFLOP/s (7 runs, 79.8–84.0 ms)`.
  var summary: String {
    "sgemm n = \(size): median \(formatted(medianSeconds * 1000, digits: 1)) ms, "
      + "\(formatted(gigaflopsPerSecond, digits: 1)) GFLOP/s (\(runCount) runs, "
      + "\(formatted(minimumSeconds * 1000, digits: 1))–\(formatted(maximumSeconds * 1000, digits: 1)) ms)"
  }

  var gigaflopsPerSecond: Double {
    2 * Double(size) * Double(size) * Double(size) / medianSeconds / 1e9
  }

  /// Times `C = A·B` for square `n × n` Float matrices through OpenBLAS, writing into one
  /// preallocated, uniquely held `C`, so that the timed region is the sgemm call alone.
  static func measure(size n: Int, warmups: Int, repetitions: Int) throws -> SgemmPeak {
    var generator = SplitMix64(seed: 2048)
    let a = try Tensor<Float>.randomNormal(shape: [n, n], using: &generator)
    let b = try Tensor<Float>.randomNormal(shape: [n, n], using: &generator)
    var c = try Tensor<Float>(zeros: [n, n])
    let times = try Timing.measure(warmups: warmups, repetitions: repetitions) {
      try OpenBLAS.multiply(a, b, into: &c)
    }
    Sink.consume(c.scalars[0])
    return SgemmPeak(
      size: n, medianSeconds: Timing.median(times), minimumSeconds: times.min()!,
      maximumSeconds: times.max()!, runCount: times.count)
  }
}
