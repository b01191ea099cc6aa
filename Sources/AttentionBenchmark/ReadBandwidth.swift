import Attention
import Dispatch

/// The machine's memory read bandwidth: what a decoding step, which reads every cached key and
/// value once, is bound by.
///
/// Method: a `Float` buffer of 256 MiB (eight times the largest L3 of the machines this runs
/// on), initialised so that every page is resident, summed by as many threads as an attention
/// call uses, each over its own contiguous part with eight independent SIMD accumulators. The
/// figure is bytes read ÷ median wall time.
struct ReadBandwidth: Sendable {
  var bytes: Int
  var threadCount: Int
  var times: RunTimes

  /// GiB/s at the median run.
  var gibibytesPerSecond: Double { Double(bytes) / times.median / 1_073_741_824 }
  /// Bytes per second at the median run.
  var bytesPerSecond: Double { Double(bytes) / times.median }

  /// Sums `bytes` of initialised memory `repetitions` times (after one warm-up pass).
  static func measure(bytes: Int = 256 << 20, threads: Int, repetitions: Int) -> ReadBandwidth {
    let count = bytes / MemoryLayout<Float>.stride
    let threadCount = Swift.max(1, threads)
    let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
    defer { buffer.deallocate() }
    for index in 0..<count { buffer[index] = Float(index & 1023) * 0.001 }
    let partials = UnsafeMutableBufferPointer<Float>.allocate(capacity: threadCount)
    defer { partials.deallocate() }
    partials.initialize(repeating: 0)
    // Each thread reads its own part and writes its own slot: no shared mutation.
    nonisolated(unsafe) let base = UnsafePointer(buffer.baseAddress!)
    nonisolated(unsafe) let sums = partials.baseAddress!

    func pass() {
      DispatchQueue.concurrentPerform(iterations: threadCount) { thread in
        let chunk = (count / threadCount) & ~63
        let start = thread * chunk
        let end = thread == threadCount - 1 ? count : start + chunk
        sums[thread] = sum(base + start, count: end - start)
      }
    }
    pass()
    let times = Timing.measure(warmups: 0, repetitions: repetitions) { pass() }
    var total: Float = 0
    for thread in 0..<threadCount { total += sums[thread] }
    Sink.consume(total)
    return ReadBandwidth(bytes: count * 4, threadCount: threadCount, times: RunTimes(times))
  }

  /// The sum of `count` floats with eight `SIMD8` accumulators (enough independent additions to
  /// keep loads, not addition latency, the limit).
  private static func sum(_ pointer: UnsafePointer<Float>, count: Int) -> Float {
    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
    var a4 = SIMD8<Float>(), a5 = SIMD8<Float>(), a6 = SIMD8<Float>(), a7 = SIMD8<Float>()
    let raw = UnsafeRawPointer(pointer)
    var index = 0
    while index + 64 <= count {
      let p = raw + index * 4
      a0 += p.loadUnaligned(as: SIMD8<Float>.self)
      a1 += p.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
      a2 += p.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self)
      a3 += p.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self)
      a4 += p.loadUnaligned(fromByteOffset: 128, as: SIMD8<Float>.self)
      a5 += p.loadUnaligned(fromByteOffset: 160, as: SIMD8<Float>.self)
      a6 += p.loadUnaligned(fromByteOffset: 192, as: SIMD8<Float>.self)
      a7 += p.loadUnaligned(fromByteOffset: 224, as: SIMD8<Float>.self)
      index += 64
    }
    var total = ((a0 + a1) + (a2 + a3) + ((a4 + a5) + (a6 + a7))).sum()
    while index < count {
      total += pointer[index]
      index += 1
    }
    return total
  }
}
