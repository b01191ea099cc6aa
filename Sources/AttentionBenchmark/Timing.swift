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
