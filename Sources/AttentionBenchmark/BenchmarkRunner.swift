import Attention
import CommandLineSupport

#if canImport(Glibc)
  import Glibc
#endif

/// One line of the results table: a path on a shape, or why it did not run.
struct BenchmarkResult: Sendable {
  var shape: BenchmarkShape
  /// The backend's name as the command-line tool spells it (`blas`, `blas-materialized`, `naive`).
  var path: String
  /// The timed runs; `nil` when the path was skipped.
  var times: RunTimes?
  /// Peak resident growth during one call, in bytes (output included).
  var peakBytes: Int?
  var differenceFromNaive: Double?
  var differenceFromDouble: Double?
  var speedupOverNaive: Double?
  var note: String?
  /// The contenders timed alternately with this path (the fused path only).
  var contenders: [ContenderResult] = []
  /// The load averages when the case started.
  var loadAverage: LoadAverage? = LoadAverage.current
  /// The floating-point operations the GFLOP/s column counts (the shape's, unless a row such as
  /// a sliding window or packed batch does less work).
  var operations: Double?

  init(
    shape: BenchmarkShape, path: String, times: RunTimes? = nil, peakBytes: Int? = nil,
    differenceFromNaive: Double? = nil, differenceFromDouble: Double? = nil,
    speedupOverNaive: Double? = nil, note: String? = nil
  ) {
    self.shape = shape
    self.path = path
    self.times = times
    self.peakBytes = peakBytes
    self.differenceFromNaive = differenceFromNaive
    self.differenceFromDouble = differenceFromDouble
    self.speedupOverNaive = speedupOverNaive
    self.note = note
  }

  /// Median seconds of the timed runs; `nil` when the path was skipped.
  var medianSeconds: Double? { times?.median }
  var runCount: Int { times?.count ?? 0 }
  var countedOperations: Double { operations ?? shape.floatingPointOperations }
  var gigaflopsPerSecond: Double? { medianSeconds.map { countedOperations / $0 / 1e9 } }
}

/// A contender's figures on one case, timed alternately with the library's fused path.
struct ContenderResult: Sendable {
  /// `native`, `torch` or `onnxruntime`.
  var name: String
  var label: String
  var times: RunTimes?
  /// Largest absolute difference between its output and the library's.
  var maximumDifference: Double?
  var note: String?

  /// The contender's median time over the library's: above 1, the library is faster.
  func speedup(over library: Double?) -> Double? {
    guard let library, let times else { return nil }
    return times.median / library
  }
}

/// What the runner is asked to do, from the command line.
struct BenchmarkSettings: Sendable {
  var warmups: Int
  var repetitions: Int
  /// Timed runs are added for fast cases until they cover this many seconds (at most 50 runs).
  var minimumTimedSeconds: Double
  /// Timed runs are cut (to no fewer than 3) for slow cases that would exceed this many seconds,
  /// and a first warm-up run longer than a tenth of it is the only warm-up.
  var budgetSeconds: Double
  /// The naive path runs only when its estimated time is at most this.
  var naiveLimitSeconds: Double
  var skipsNaive: Bool
  /// The release build's extra compiler flags, as `make bench` passed them (for the report).
  var buildFlags: String
  /// Rounds of alternation between the fused path and its contenders.
  var rounds: Int
}

/// Runs each path of each case: warm-up, one run under the memory probe (whose output is kept
/// for the accuracy columns), then the timed runs.
struct BenchmarkRunner {
  let settings: BenchmarkSettings
  let contenders: Contenders?

  /// Seeded inputs for a case; each tensor owns its storage alone, so nothing in a timed region
  /// can trigger a copy-on-write.
  static func makeInputs(for shape: BenchmarkShape, seed: UInt64) throws -> (
    query: Tensor<Float>, key: Tensor<Float>, value: Tensor<Float>
  ) {
    var generator = SplitMix64(seed: seed)
    let s = shape
    let q = try Tensor<Float>.randomNormal(
      shape: [s.batchCount, s.queryHeadCount, s.queryCount, s.headDimension], using: &generator)
    let k = try Tensor<Float>.randomNormal(
      shape: [s.batchCount, s.keyValueHeadCount, s.keyCount, s.headDimension], using: &generator)
    let v = try Tensor<Float>.randomNormal(
      shape: [s.batchCount, s.keyValueHeadCount, s.keyCount, s.headDimension], using: &generator)
    return (q, k, v)
  }

  /// The library's attention on a case's inputs: its causal mask (bottom-right) and sliding
  /// window, on `backend`.
  static func attention(
    _ shape: BenchmarkShape, query: Tensor<Float>, key: Tensor<Float>, value: Tensor<Float>,
    backend: AttentionBackend = .blas
  ) throws -> Tensor<Float> {
    try scaledDotProductAttention(
      query: query, key: key, value: value, causal: shape.causal ? .bottomRight : nil,
      window: shape.window.map(AttentionWindow.sliding), backend: backend)
  }

  /// All paths on one shape, the naive one first when it fits the time limit.
  func run(_ shape: BenchmarkShape, seed: UInt64, progress: (BenchmarkResult) -> Void) throws
    -> [BenchmarkResult]
  {
    let (q, k, v) = try Self.makeInputs(for: shape, seed: seed)
    let reference = SampledReference(shape: shape, query: q, key: k, value: v)
    func attention(_ backend: AttentionBackend) throws -> Tensor<Float> {
      try Self.attention(shape, query: q, key: k, value: v, backend: backend)
    }

    var results = [BenchmarkResult]()
    var naiveOutput: Tensor<Float>?
    var naiveSeconds: Double?
    let naive: (result: BenchmarkResult, output: Tensor<Float>?)
    do {
      naive = try runNaive(shape, attention: attention, reference: reference)
    } catch let error as AttentionError {
      naive = (BenchmarkResult(shape: shape, path: "naive", note: "refused: \(error)"), nil)
    }
    naiveOutput = naive.output
    naiveSeconds = naive.result.medianSeconds
    progress(naive.result)

    for backend in [AttentionBackend.blas, .blasMaterialized] {
      let result: BenchmarkResult
      do {
        result = try runFast(
          backend, shape: shape, seed: seed, inputs: (q, k, v), attention: attention,
          reference: reference, naiveOutput: naiveOutput, naiveSeconds: naiveSeconds)
      } catch let error as AttentionError {
        // A refusal (the memory budget, say) is a result for this path, not the end of the run.
        result = BenchmarkResult(shape: shape, path: backend.rawValue, note: "refused: \(error)")
      }
      progress(result)
      results.append(result)
    }
    results.append(naive.result)
    return results
  }

  /// One BLAS path: warm-up (a single run if it is slow), one run under the memory probe, then
  /// the timed runs — on the fused path in rounds, each round the library's runs followed by
  /// each contender's, so that a change in the machine's load falls on all of them alike.
  private func runFast(
    _ backend: AttentionBackend, shape: BenchmarkShape, seed: UInt64,
    inputs: (query: Tensor<Float>, key: Tensor<Float>, value: Tensor<Float>),
    attention: (AttentionBackend) throws -> Tensor<Float>, reference: SampledReference,
    naiveOutput: Tensor<Float>?, naiveSeconds: Double?
  ) throws -> BenchmarkResult {
    var last = 0.0
    for index in 0..<Swift.max(1, settings.warmups) {
      last = try Timing.measure(warmups: 0, repetitions: 1) {
        Sink.consume(try attention(backend).scalars[0])
      }[0]
      if index == 0 && last > settings.budgetSeconds / 10 { break }
    }
    let (output, peak) = try MemoryProbe.measure { try attention(backend) }
    let repetitions = Timing.repetitions(
      settings.repetitions, runSeconds: last, minimumSeconds: settings.minimumTimedSeconds,
      budgetSeconds: settings.budgetSeconds, ceiling: Timing.maximumRuns)

    var rivals = [ContenderResult]()
    var rivalTimes = [String: [Double]]()
    if backend == .blas, let contenders, !contenders.isEmpty {
      let loaded = contenders.load(shape: shape, seed: seed, inputs: inputs)
      for name in contenders.names {
        var rival = ContenderResult(
          name: name, label: contenders.label(of: name), note: loaded.skipped[name])
        if let values = loaded.outputs[name] {
          rival.maximumDifference = Self.maximumDifference(values, output.scalars)
        }
        rivals.append(rival)
      }
    }
    let rounds = rivals.contains { $0.note == nil } ? Swift.max(1, settings.rounds) : 1
    let perRound = Swift.max(1, (repetitions + rounds - 1) / rounds)
    var times = [Double]()
    // Every contender starts each of its turns with untimed runs (Timing.warmUpRuns: ~30 ms,
    // at least one): after the settling pause the cores, caches and thread pools are cold,
    // which weighs on sub-millisecond cases, whichever side runs first.
    for _ in 0..<rounds {
      // Also before the first round: the sgemm peak or the previous case's materialised path
      // may have just run OpenBLAS's threads.
      Timing.settle()
      times += try Timing.measure(
        warmups: Timing.warmUpRuns(runSeconds: last), repetitions: perRound
      ) {
        Sink.consume(try attention(backend).scalars[0])
      }
      for index in rivals.indices where rivals[index].note == nil {
        Timing.settle()
        let name = rivals[index].name
        // A contender much slower than the library gets fewer runs, within the time budget.
        var runs = perRound
        // Its warm-up as long as the library's, from its own run time once known.
        var warmups = Timing.warmUpRuns(runSeconds: last)
        if let seen = rivalTimes[name], !seen.isEmpty {
          let affordable = Int(settings.budgetSeconds / Double(rounds) / Timing.median(seen))
          runs = Swift.max(1, Swift.min(perRound, affordable))
          warmups = Timing.warmUpRuns(runSeconds: Timing.median(seen))
        }
        do {
          rivalTimes[name, default: []] += try contenders!.time(
            name, warmups: warmups, runs: runs)
        } catch {
          rivals[index].note = "\(error)"
        }
      }
    }
    for index in rivals.indices {
      if let seen = rivalTimes[rivals[index].name], !seen.isEmpty {
        rivals[index].times = RunTimes(seen)
      }
    }
    let median = Timing.median(times)
    var result = BenchmarkResult(
      shape: shape, path: backend.rawValue, times: RunTimes(times),
      peakBytes: peak,
      differenceFromNaive: naiveOutput.map { Double(output.maxAbsoluteDifference(to: $0)) },
      differenceFromDouble: reference.maximumDifference(to: output, shape: shape),
      speedupOverNaive: naiveSeconds.map { $0 / median })
    result.contenders = rivals
    return result
  }

  /// The largest absolute difference between two outputs; infinity when their sizes differ or
  /// either holds a NaN where the other does not.
  static func maximumDifference(_ a: [Float], _ b: [Float]) -> Double {
    guard a.count == b.count else { return .infinity }
    var worst = 0.0
    for index in a.indices {
      let difference = abs(Double(a[index]) - Double(b[index]))
      if !(difference <= worst) { worst = difference.isNaN ? .infinity : difference }
    }
    return worst
  }

  /// The naive path, or a skipped row with its estimated time.
  ///
  /// The estimate times the naive kernel on one head with a few queries against all `Nk` keys of
  /// the same width and scales its operations per second to the whole case. Runs within the limit
  /// are each timed (the first also under the memory probe); there is no separate warm-up, as
  /// the naive kernel has no lazily built state and its runs last long enough not to need one.
  private func runNaive(
    _ shape: BenchmarkShape, attention: (AttentionBackend) throws -> Tensor<Float>,
    reference: SampledReference
  ) throws -> (result: BenchmarkResult, output: Tensor<Float>?) {
    var result = BenchmarkResult(shape: shape, path: AttentionBackend.naive.rawValue)
    if settings.skipsNaive {
      result.note = "naive skipped (--skip-naive)"
      return (result, nil)
    }
    let estimate = try Self.estimateNaiveSeconds(shape)
    guard estimate <= settings.naiveLimitSeconds else {
      result.note = "naive skipped: estimated \(Self.formatSeconds(estimate))"
      return (result, nil)
    }
    let runs = Swift.max(
      1,
      Swift.min(settings.repetitions, Int(settings.naiveLimitSeconds / Swift.max(estimate, 1e-9))))
    let clock = ContinuousClock()
    var times = [Double]()
    var output: Tensor<Float>?
    for index in 0..<runs {
      if index == 0 {
        let probed = try MemoryProbe.measure {
          let start = clock.now
          let output = try attention(.naive)
          return (output, (clock.now - start).seconds)
        }
        output = probed.result.0
        times.append(probed.result.1)
        result.peakBytes = probed.peakBytes
      } else {
        times.append(
          try Timing.measure(warmups: 0, repetitions: 1) {
            Sink.consume(try attention(.naive).scalars[0])
          }[0])
      }
    }
    result.times = RunTimes(times)
    result.differenceFromDouble = output.map { reference.maximumDifference(to: $0, shape: shape) }
    return (result, output)
  }

  /// Seconds the naive path would take on `shape`, from a run on one head of it.
  static func estimateNaiveSeconds(_ shape: BenchmarkShape) throws -> Double {
    let probe = BenchmarkShape(
      batch: 1, heads: 1, queries: Swift.min(shape.queryCount, 16), keys: shape.keyCount,
      dimension: shape.headDimension)
    let (q, k, v) = try makeInputs(for: probe, seed: 1)
    let seconds = try Timing.measure(warmups: 0, repetitions: 1) {
      Sink.consume(
        try scaledDotProductAttention(query: q, key: k, value: v, backend: .naive).scalars[0])
    }[0]
    // The naive kernel still walks every key of a causal row to test visibility; count the
    // masked half at a quarter of the cost of a visible key (measured order of magnitude).
    let causalFactor = shape.causal ? 0.625 : 1
    return seconds * Double(shape.batchCount * shape.queryHeadCount * shape.queryCount)
      / Double(probe.queryCount) * causalFactor
  }

  static func formatSeconds(_ seconds: Double) -> String {
    seconds < 100 ? formatted(seconds, digits: 1) + " s" : "\(Int(seconds.rounded())) s"
  }
}
