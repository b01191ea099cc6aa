import AttentionTestSupport
import Foundation
import Testing

@testable import Attention

/// Differential fuzzing: seeded random requests (``DifferentialFuzzCase``) run on every backend and
/// are compared with each other and with an IEEE Double computation (``ReferenceAttention``),
/// including the exact NaN/infinity policy of ``scaledDotProductAttention(query:key:value:mask:causal:keyLengths:scale:backend:)``.
///
/// `make test` runs a fixed set of 300 cases. `make fuzz` sets `ATTENTION_FUZZ_SECONDS` (and a
/// random `ATTENTION_FUZZ_SEED`) to run for that long. Any failure prints its seed; rerun it alone
/// with `ATTENTION_FUZZ_SEED=<seed> ATTENTION_FUZZ_COUNT=1 swift test --filter DifferentialFuzz`.
@Suite("Differential fuzzing of every backend against an IEEE Double reference")
struct DifferentialFuzzTests {
  /// The run's settings, from the environment when set.
  struct Settings {
    var firstSeed: UInt64 = 0x5EED_0000
    var count = 300
    var seconds: Double?

    static var current: Settings {
      let environment = ProcessInfo.processInfo.environment
      var settings = Settings()
      if let text = environment["ATTENTION_FUZZ_SEED"], let seed = UInt64(text) {
        settings.firstSeed = seed
      }
      if let text = environment["ATTENTION_FUZZ_COUNT"], let count = Int(text) {
        settings.count = count
      }
      if let text = environment["ATTENTION_FUZZ_SECONDS"], let seconds = Double(text) {
        settings.seconds = seconds
        settings.count = .max
      }
      return settings
    }
  }

  @Test("Seeded random configurations agree across backends and with IEEE Double; NaN policy exact")
  func randomConfigurations() {
    let settings = Settings.current
    let clock = ContinuousClock()
    let start = clock.now
    var failures = 0
    var run = 0
    var nonFiniteCases = 0
    while run < settings.count {
      if let seconds = settings.seconds, start.duration(to: clock.now) > .seconds(seconds) { break }
      let seed = settings.firstSeed &+ UInt64(run)
      // The seed's lowest bit picks the element type, so a seed alone reproduces a case.
      let problems: [String]
      let planted: Bool
      if seed & 1 == 0 {
        let fuzzCase = DifferentialFuzzCase<Float>(seed: seed)
        planted = !fuzzCase.plantings.isEmpty
        problems = Self.check(fuzzCase)
        if !problems.isEmpty { report(fuzzCase, problems) }
      } else {
        let fuzzCase = DifferentialFuzzCase<Double>(seed: seed)
        planted = !fuzzCase.plantings.isEmpty
        problems = Self.check(fuzzCase)
        if !problems.isEmpty { report(fuzzCase, problems) }
      }
      if planted { nonFiniteCases += 1 }
      run += 1
      if !problems.isEmpty {
        failures += 1
        if failures >= 10 { break }
      }
    }
    let elapsed = start.duration(to: clock.now)
    #expect(
      run > 0, "no configuration ran (ATTENTION_FUZZ_COUNT or ATTENTION_FUZZ_SECONDS too small)")
    print(
      "differential fuzz: \(run) configurations (\(nonFiniteCases) with NaN/Inf planted), seeds \(settings.firstSeed)…\(settings.firstSeed &+ UInt64(max(run, 1) - 1)), \(failures) failing, \(elapsed)"
    )
  }

  /// Seeds beyond the default 300 that once failed (found by `ATTENTION_FUZZ_COUNT=3000`), each
  /// run on every `make test`: sinks with centred keys, where the fused path moved the sink's
  /// logit by the rows' shift in the row's type and lost up to 1e-4 of the log-sum-exp — rows that
  /// see no key (causal bottom-right with more queries than keys, sparse masks, key lengths) and
  /// a large scale.
  static let regressionSeeds: [UInt64] = [
    1_592_590_795, 1_592_591_769, 1_592_592_599, 1_592_592_628, 1_592_592_880,
  ]

  @Test(
    "Seeds that once failed agree across backends and with IEEE Double", arguments: regressionSeeds)
  func regressions(seed: UInt64) {
    let problems: [String]
    if seed & 1 == 0 {
      let fuzzCase = DifferentialFuzzCase<Float>(seed: seed)
      problems = Self.check(fuzzCase)
      if !problems.isEmpty { report(fuzzCase, problems) }
    } else {
      let fuzzCase = DifferentialFuzzCase<Double>(seed: seed)
      problems = Self.check(fuzzCase)
      if !problems.isEmpty { report(fuzzCase, problems) }
    }
    #expect(problems.isEmpty)
  }

  func report<Scalar>(_ fuzzCase: DifferentialFuzzCase<Scalar>, _ problems: [String]) {
    let shown = problems.prefix(6).joined(separator: "\n  ")
    print("differential fuzz FAILURE seed \(fuzzCase.seed): \(fuzzCase)\n  \(shown)")
    Issue.record(
      "seed \(fuzzCase.seed) (rerun: ATTENTION_FUZZ_SEED=\(fuzzCase.seed) ATTENTION_FUZZ_COUNT=1): \(fuzzCase)\n  \(shown)"
    )
  }

  /// Runs `fuzzCase` on every backend and returns what disagrees, empty when all is well.
  static func check<Scalar: AttentionScalar>(_ fuzzCase: DifferentialFuzzCase<Scalar>) -> [String] {
    let reference = ReferenceAttention(
      query: fuzzCase.query, key: fuzzCase.key, value: fuzzCase.value, mask: fuzzCase.mask,
      causal: fuzzCase.causal, keyLengths: fuzzCase.keyLengths, window: fuzzCase.window,
      packedSequences: fuzzCase.packedSequences, scale: fuzzCase.scale, softcap: fuzzCase.softcap,
      alibiSlopes: fuzzCase.alibiSlopes, sinks: fuzzCase.sinks)
    var problems: [String] = []
    var results: [(AttentionBackend, AttentionResult<Scalar>)] = []
    for backend in AttentionBackend.allCases {
      do {
        let result = try scaledDotProductAttention(
          query: fuzzCase.query, key: fuzzCase.key, value: fuzzCase.value, mask: fuzzCase.mask,
          causal: fuzzCase.causal, keyLengths: fuzzCase.keyLengths, window: fuzzCase.window,
          packedSequences: fuzzCase.packedSequences, scale: fuzzCase.scale,
          softcap: fuzzCase.softcap, alibiSlopes: fuzzCase.alibiSlopes, sinks: fuzzCase.sinks,
          backend: backend, returning: fuzzCase.extras)
        results.append((backend, result))
      } catch {
        problems.append("\(backend) threw \(error)")
      }
    }
    for (backend, result) in results {
      problems += compare(result, with: reference, fuzzCase, backend.rawValue)
    }
    // The fused kernel once more with small tiles drawn from the seed, so that every shape
    // crosses many query-block and key-tile boundaries (the standard tiles, up to 256 × 512,
    // cover most fuzzed shapes in one tile).
    if let (blocking, result) = fusedWithSmallTiles(fuzzCase) {
      let name = "fused \(blocking.queryRows)×\(blocking.keyColumns) tiles"
      var withoutProbabilities = fuzzCase
      withoutProbabilities.extras.remove(.probabilities)
      problems += compare(result, with: reference, withoutProbabilities, name)
    }
    // Backends against each other: the same rows are non-finite, finite rows agree.
    if let (firstBackend, first) = results.first {
      for (backend, result) in results.dropFirst() {
        let a = first.output.scalars
        let b = result.output.scalars
        let width = first.output.shape.last!
        for index in a.indices where a[index].isFinite != b[index].isFinite {
          problems.append(
            "\(firstBackend) and \(backend) disagree on finiteness at row \(index / width) element \(index % width): \(a[index]) vs \(b[index])"
          )
          break
        }
        for index in a.indices where a[index].isFinite && b[index].isFinite {
          let allowed = 2 * reference.outputErrorBound(row: index / width, computedIn: Scalar.self)
          if !(abs(Double(a[index]) - Double(b[index])) <= allowed) {
            problems.append(
              "\(firstBackend) and \(backend) differ at row \(index / width) element \(index % width): \(a[index]) vs \(b[index]) (tolerance \(allowed))"
            )
            break
          }
        }
      }
    }
    return problems
  }

  /// The fused kernel run directly with tiles of 1…17 query rows and 1…33 keys (enlarged until
  /// a case has at most 4096 tile pairs, to stay fast), or `nil` if the request is invalid.
  static func fusedWithSmallTiles<Scalar: AttentionScalar>(
    _ fuzzCase: DifferentialFuzzCase<Scalar>
  ) -> (FusedAttention.Blocking, AttentionResult<Scalar>)? {
    guard
      let problem = try? AttentionProblem(
        query: fuzzCase.query, key: fuzzCase.key, value: fuzzCase.value, mask: fuzzCase.mask,
        causal: fuzzCase.causal, keyLengths: fuzzCase.keyLengths, scale: fuzzCase.scale,
        window: fuzzCase.window, packedSequences: fuzzCase.packedSequences,
        softcap: fuzzCase.softcap, alibiSlopes: fuzzCase.alibiSlopes, sinks: fuzzCase.sinks)
    else { return nil }
    var random = SplitMix64(seed: fuzzCase.seed ^ 0xF05E_D71E)
    var blocking = FusedAttention.Blocking(
      queryRows: [1, 2, 3, 5, 8, 17].randomElement(using: &random)!,
      keyColumns: [1, 2, 3, 7, 16, 33].randomElement(using: &random)!)
    func tilePairs() -> Int {
      problem.batchCount * problem.queryHeadCount
        * ((problem.queryCount + blocking.queryRows - 1) / blocking.queryRows)
        * ((problem.keyCount + blocking.keyColumns - 1) / blocking.keyColumns)
    }
    while tilePairs() > 4096 {
      blocking.queryRows *= 2
      blocking.keyColumns *= 2
    }
    let extras = fuzzCase.extras.subtracting(.probabilities)
    let computed = FusedAttention.compute(
      problem, query: fuzzCase.query.scalars, key: fuzzCase.key.scalars,
      value: fuzzCase.value.scalars, extras: extras, blocking: blocking)
    let result = AttentionResult(
      output: Tensor(uncheckedShape: problem.outputShape, scalars: computed.output),
      probabilities: nil,
      logSumExp: computed.logSumExp.map {
        Tensor(
          uncheckedShape: [problem.batchCount, problem.queryHeadCount, problem.queryCount],
          scalars: $0)
      })
    return (blocking, result)
  }

  /// One backend's result against the IEEE reference.
  static func compare<Scalar: AttentionScalar>(
    _ result: AttentionResult<Scalar>, with reference: ReferenceAttention,
    _ fuzzCase: DifferentialFuzzCase<Scalar>, _ name: String
  ) -> [String] {
    var problems: [String] = []
    guard result.output.shape == reference.output.shape else {
      return ["\(name): output shape \(result.output.shape), expected \(reference.output.shape)"]
    }
    let output = result.output.scalars
    let expectedOutput = reference.output.scalars
    let width = result.output.shape.last!
    for row in 0..<(output.count / width) {
      let actual = output[(row * width)..<(row * width + width)]
      let expected = expectedOutput[(row * width)..<(row * width + width)]
      let tolerance = reference.outputErrorBound(row: row, computedIn: Scalar.self)
      // The policy, stated directly: a row that sees no non-finite input is finite.
      if !reference.seesNonFinite[row], !actual.allSatisfy(\.isFinite) {
        problems.append(
          "\(name): row \(row) sees only finite inputs but its output is \(Array(actual.prefix(4))) (policy: non-finite values of masked keys must not leak)"
        )
        continue
      }
      // And exactly as IEEE arithmetic: the same elements are non-finite, the rest agree.
      for (e, (a, x)) in zip(actual, expected).enumerated() {
        if a.isFinite != x.isFinite {
          problems.append(
            "\(name): row \(row) element \(e) is \(a), IEEE reference \(x) (row sees non-finite input: \(reference.seesNonFinite[row]))"
          )
          break
        }
        if x.isFinite, !(abs(Double(a) - x) <= tolerance) {
          problems.append(
            "\(name): row \(row) element \(e) is \(a), reference \(x), difference \(abs(Double(a) - x)) > tolerance \(tolerance)"
          )
          break
        }
      }
      if problems.count > 8 { return problems }
    }
    if fuzzCase.extras.contains(.logSumExp) {
      guard let lse = result.logSumExp, lse.shape == reference.logSumExp.shape else {
        return problems + [
          "\(name): logSumExp \(result.logSumExp?.shape.description ?? "missing"), expected shape \(reference.logSumExp.shape)"
        ]
      }
      for (row, (a, x)) in zip(lse.scalars, reference.logSumExp.scalars).enumerated() {
        let bound =
          4 * reference.logitErrorBound(row: row, computedIn: Scalar.self) + 64
          * Double(Scalar.ulpOfOne) * (1 + abs(x))
        let agrees =
          x.isFinite
          ? abs(Double(a) - x) <= bound
          : (a.isFinite == false && (a == -.infinity) == (x == -.infinity))
        if !agrees {
          problems.append("\(name): logSumExp row \(row) is \(a), reference \(x)")
          break
        }
      }
    }
    if fuzzCase.extras.contains(.probabilities) {
      guard let probabilities = result.probabilities, probabilities.shape == reference.weights.shape
      else {
        return problems + [
          "\(name): probabilities \(result.probabilities?.shape.description ?? "missing"), expected shape \(reference.weights.shape)"
        ]
      }
      let nk = probabilities.shape.last!
      for (index, (a, x)) in zip(probabilities.scalars, reference.weights.scalars).enumerated() {
        let weightBound =
          4 * reference.logitErrorBound(row: index / nk, computedIn: Scalar.self)
          + Double(nk + 16) * Double(Scalar.ulpOfOne)
        let agrees = x.isFinite ? abs(Double(a) - x) <= 2 * weightBound : !a.isFinite
        if !agrees {
          problems.append(
            "\(name): probability row \(index / nk) key \(index % nk) is \(a), reference \(x)")
          break
        }
      }
    }
    return problems
  }
}
