import CommandLineSupport

#if canImport(Glibc)
  import Glibc
#endif

/// Wall-clock timing with warm-up and medians.
enum Timing {
  /// Runs `body` `warmups` times untimed, then `repetitions` times timed, and returns the timed
  /// durations in seconds.
  ///
  /// A warm-up pays for first-touch page faults, lazy symbol binding and OpenBLAS's thread start;
  /// the median of the timed runs ignores the occasional run a neighbouring process slowed down.
  static func measure(warmups: Int, repetitions: Int, _ body: () throws -> Void) rethrows
    -> [Double]
  {
    for _ in 0..<warmups { try body() }
    var seconds = [Double]()
    seconds.reserveCapacity(repetitions)
    let clock = ContinuousClock()
    for _ in 0..<repetitions {
      let start = clock.now
      try body()
      seconds.append((clock.now - start).seconds)
    }
    return seconds
  }

  /// Sleeps 150 ms: between two contenders' runs, the thread pools of the one that just ran
  /// (OpenBLAS's, OpenMP's, ONNX Runtime's) stop spinning before the other starts.
  ///
  /// OpenBLAS's workers spin for 2^28 time-stamp-counter ticks after each threaded call (70–110 ms
  /// at 2.5–3.7 GHz) unless `OPENBLAS_THREAD_TIMEOUT` shortens it; on 2 cores a spinning worker
  /// takes half of the core the library's second worker runs on. Measured on Zen 4: 1×12×128×64
  /// ran at 0.56 ms per call for the first ~85 ms after a threaded sgemm, 0.28 ms after.
  static func settle() {
    usleep(150_000)
  }

  /// The untimed runs that start a contender's turn: enough to fill ``turnWarmUpSeconds`` (at
  /// least one, at most 200) at `runSeconds` per run.
  ///
  /// One run was not enough for sub-millisecond cases: after the settling pause the next ten
  /// or so calls of 1×12×128×64 took 1.1–1.6× the steady time (clock and caches warming up, for
  /// every contender alike), so a turn of 17 timed runs measured mostly the warm-up.
  static func warmUpRuns(runSeconds: Double) -> Int {
    guard runSeconds > 0 else { return 1 }
    return Swift.max(1, Swift.min(200, Int(turnWarmUpSeconds / runSeconds)))
  }

  /// The untimed time at the start of each contender's turn (``warmUpRuns(runSeconds:)``).
  static let turnWarmUpSeconds = 0.03

  /// The most timed runs of one path: fast cases get up to this many, until they cover the
  /// minimum timed seconds.
  static let maximumRuns = 200

  /// The middle value (the mean of the two middle values for an even count).
  static func median(_ values: [Double]) -> Double {
    precondition(!values.isEmpty, "median of no values")
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
  }

  /// How many timed runs to make, given one run's duration: `repetitions`, more (up to
  /// `ceiling`) until fast runs cover `minimumSeconds` together, fewer (down to 3) when slow runs
  /// would exceed `budgetSeconds`.
  static func repetitions(
    _ repetitions: Int, runSeconds: Double, minimumSeconds: Double, budgetSeconds: Double,
    ceiling: Int
  ) -> Int {
    guard runSeconds > 0 else { return ceiling }
    let needed = Int((minimumSeconds / runSeconds).rounded(.up))
    let affordable = Int(budgetSeconds / runSeconds)
    let floor = Swift.min(repetitions, 3)
    return Swift.max(
      floor, Swift.min(Swift.max(repetitions, Swift.min(ceiling, needed)), affordable))
  }
}

extension Duration {
  /// The duration in seconds as a `Double`.
  var seconds: Double {
    let (whole, attoseconds) = components
    return Double(whole) + Double(attoseconds) * 1e-18
  }
}

/// Keeps results alive so the optimiser cannot drop a computation whose result is unused.
enum Sink {
  nonisolated(unsafe) static var value: Float = 0

  @inline(never)
  static func consume(_ x: Float) { value += x }
}

/// The timed runs of one measurement, summarised: the median and the spread around it.
struct RunTimes: Sendable, Codable {
  /// Every timed run, in seconds, in the order run.
  var seconds: [Double]

  init(_ seconds: [Double]) {
    precondition(!seconds.isEmpty, "RunTimes of no run")
    self.seconds = seconds
  }

  var count: Int { seconds.count }
  var median: Double { Timing.median(seconds) }
  var minimum: Double { seconds.min()! }
  var maximum: Double { seconds.max()! }

  /// The first and third quartiles (medians of the lower and upper halves).
  var quartiles: (lower: Double, upper: Double) {
    let sorted = seconds.sorted()
    let half = sorted.count / 2
    guard half > 0 else { return (sorted[0], sorted[0]) }
    return (
      Timing.median(Array(sorted[..<half])),
      Timing.median(Array(sorted[(sorted.count - half)...]))
    )
  }

  /// `12.3–14.0` in milliseconds with the digits the median gets.
  var spreadMilliseconds: String {
    let digits = Self.digits(forMilliseconds: median * 1000)
    return formatted(minimum * 1000, digits: digits) + "–"
      + formatted(maximum * 1000, digits: digits)
  }

  /// The median in milliseconds with digits that suit its size.
  var medianMilliseconds: String {
    formatted(median * 1000, digits: Self.digits(forMilliseconds: median * 1000))
  }

  static func digits(forMilliseconds value: Double) -> Int {
    value < 1 ? 3 : value < 10 ? 2 : 1
  }

  /// Times summed with `other`'s (both sides of an alternation that belong to one path).
  func appending(_ other: [Double]) -> RunTimes { RunTimes(seconds + other) }
}
