import ArgumentParser
import Attention
import CommandLineSupport

#if canImport(Glibc)
  import Glibc
#endif

/// `attention-bench`: times the attention paths against the machine's sgemm peak and writes a
/// Markdown table and an SVG chart to `bench-results/`.
@main
struct AttentionBenchmark: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "attention-bench",
    abstract: "Time the fused, materialised and naive attention paths against the sgemm peak.",
    discussion: """
      Prints the OpenBLAS core the environment asked for and the one that runs, the machine's \
      sgemm peak, then for each case the median time, GFLOP/s (4·B·Hq·Nq·Nk·D, half for causal), \
      the share of the sgemm peak, the speed-up over the naive path, the peak extra memory of one \
      call and the largest difference from the naive result and from a Double computation of \
      sampled rows. Writes the table and a chart to the output directory.

      Shapes: BxHxNxD with optional suffixes :causal, :kv=H (key/value heads), :nq=N, :nk=N; \
      for example --shape 1x32x2048x128:kv=8:causal --shape 1x32x1x128:nk=4096.
      """)

  @Flag(help: "A smoke run of about 20 seconds on small shapes.")
  var quick = false

  @Option(
    name: .customLong("shape"),
    help:
      "A case to run instead of the defaults (repeatable): BxHxNxD[:causal][:kv=H][:nq=N][:nk=N].")
  var shapes: [BenchmarkShape] = []

  @Option(help: "Timed runs per path (more for fast cases, to cover 0.3 s). Default 7, quick 3.")
  var repetitions: Int?

  @Option(
    help:
      "Seconds of timed runs per path above which slow cases get fewer runs (at least 3). Default 8, quick 1."
  )
  var timeBudget: Double?

  @Option(help: "Untimed runs before timing each path. Default 2, quick 1.")
  var warmups: Int?

  @Option(
    help:
      "Skip the naive path when its estimated time exceeds this many seconds. Default 25, quick 2.")
  var naiveLimit: Double?

  @Flag(help: "Never run the naive path (accuracy is then checked against Double rows only).")
  var skipNaive = false

  @Option(help: "Size n of the square sgemm measuring the peak. Default 2048, quick 1024.")
  var sgemmSize: Int?

  @Option(
    help:
      "Sequence length of the long causal one-head row (fused path only); 0 skips it. Default 65536, quick 4096."
  )
  var longLength: Int?

  @Option(
    help: """
      OpenBLAS core: 'auto' (OpenBLAS's own detection, ignoring OPENBLAS_CORETYPE, then the \
      core matching the CPU if detection leaves its widest vector unit idle), 'detect' \
      (OpenBLAS's own detection only), or a core name such as SkylakeX.
      """)
  var core = "auto"

  @Flag(help: "Keep the core OpenBLAS chose at start-up (do not re-select).")
  var keepCore = false

  @Option(help: "Directory for the Markdown table and SVG chart.")
  var outputDirectory = "bench-results"

  @Option(
    help:
      "The compiler flags this binary was built with, recorded in the report (set by make bench).")
  var buildFlags = "unrecorded"

  mutating func validate() throws {
    for (name, value) in [
      ("repetitions", repetitions), ("warmups", warmups), ("sgemm-size", sgemmSize),
    ] {
      if let value, value < (name == "warmups" ? 0 : 1) {
        throw ValidationError(
          "--\(name) must be at least \(name == "warmups" ? 0 : 1), got \(value)")
      }
    }
    if let longLength, longLength < 0 {
      throw ValidationError("--long-length must be 0 (skip) or positive, got \(longLength)")
    }
    if let timeBudget, !(timeBudget > 0) {
      throw ValidationError("--time-budget must be a positive number of seconds, got \(timeBudget)")
    }
    if let naiveLimit, !(naiveLimit >= 0) {
      throw ValidationError(
        "--naive-limit must be a non-negative number of seconds, got \(naiveLimit)")
    }
  }

  func run() throws {
    MemoryProbe.prepareAllocator()
    let started = ContinuousClock.now
    let coreNote = try selectCore()
    let system = SystemReport.current
    print("== Environment ==")
    print("OPENBLAS_CORETYPE: \(OpenBLAS.environmentCoreType ?? "unset")")
    if let coreNote { print("core choice: \(coreNote)") }
    print(system)
    print()

    let settings = BenchmarkSettings(
      warmups: warmups ?? (quick ? 1 : 2), repetitions: repetitions ?? (quick ? 3 : 7),
      minimumTimedSeconds: quick ? 0.1 : 0.3, budgetSeconds: timeBudget ?? (quick ? 1 : 8),
      naiveLimitSeconds: naiveLimit ?? (quick ? 2 : 25),
      skipsNaive: skipNaive, buildFlags: buildFlags)

    let n = sgemmSize ?? (quick ? 1024 : 2048)
    print("== sgemm peak ==")
    let peak = try SgemmPeak.measure(
      size: n, warmups: settings.warmups + 1, repetitions: Swift.max(settings.repetitions, 5))
    print(
      "sgemm n = \(n): median \(formatted(peak.medianSeconds * 1000, digits: 1)) ms, "
        + "\(formatted(peak.gigaflopsPerSecond, digits: 1)) GFLOP/s (\(peak.runCount) runs)")
    print()

    print("== Attention ==")
    print(ProgressLine.header)
    let runner = BenchmarkRunner(settings: settings)
    var results = [BenchmarkResult]()
    let cases = shapes.isEmpty ? (quick ? BenchmarkShape.quick : BenchmarkShape.standard) : shapes
    for (index, shape) in cases.enumerated() {
      results += try runner.run(shape, seed: 1000 + UInt64(index)) { result in
        print(ProgressLine.line(result, peak: peak.gigaflopsPerSecond))
        fflush(nil)
      }
    }

    let length = longLength ?? (quick ? 4096 : 65_536)
    if length > 0 && shapes.isEmpty {
      let long: BenchmarkResult
      do {
        long = try LongSequence.run(length: length, settings: settings)
      } catch let error as AttentionError {
        long = BenchmarkResult(
          shape: BenchmarkShape(batch: 1, heads: 1, queries: length, dimension: 64, causal: true),
          path: AttentionBackend.blas.rawValue, note: "refused: \(error)")
      }
      print(ProgressLine.line(long, peak: peak.gigaflopsPerSecond))
      results.append(long)
    }

    let elapsed = (ContinuousClock.now - started).seconds
    let report = BenchmarkReport(
      system: system, environmentCoreType: OpenBLAS.environmentCoreType, coreNote: coreNote,
      peak: peak, settings: settings, results: results, elapsedSeconds: elapsed)
    print()
    print(report.markdown)
    let files = try report.write(to: outputDirectory)
    print("Wrote \(files.joined(separator: ", "))")
  }

  /// Applies `--core` / `--keep-core` and says what happened (`nil` when nothing was asked).
  private func selectCore() throws -> String? {
    if keepCore { return "kept the core chosen at start-up (--keep-core)" }
    if core.lowercased() != "auto" && core.lowercased() != "detect" {
      let change = try OpenBLAS.selectCore(named: core)
      guard change.isAvailable else {
        return "this OpenBLAS cannot change core at run time; \(change.currentCore) runs"
      }
      return "selected \(change.currentCore) by name (was \(change.previousCore))"
    }
    // 'auto' is the library's policy: OpenBLAS's detection, upgraded when it leaves the CPU's
    // widest vector unit idle; 'detect' is the detection alone.
    let change: OpenBLAS.CoreChange
    var upgrade: OpenBLAS.CoreChange?
    if core.lowercased() == "auto" {
      let reselection = try OpenBLAS.reselectCoreMatchingCPU()
      (change, upgrade) = (reselection.detection, reselection.upgrade)
    } else {
      change = OpenBLAS.reselectCore()
    }
    guard change.isAvailable else {
      return "this OpenBLAS cannot re-select its core at run time; \(change.currentCore) runs"
    }
    var note =
      "OpenBLAS re-detected \(change.currentCore) (start-up core \(change.previousCore)"
      + (change.environmentCoreType.map { ", ignoring OPENBLAS_CORETYPE=\($0)" } ?? "") + ")"
    if let upgrade {
      note +=
        "; it leaves the CPU's widest vector unit idle, so \(upgrade.currentCore) was selected"
        + " (--core detect keeps OpenBLAS's choice)"
    }
    return note
  }
}

/// The short line printed as each result arrives.
enum ProgressLine {
  static let header =
    pad("case", 28) + pad("path", 19) + padLeft("ms", 10) + padLeft("GFLOP/s", 10)
    + padLeft("% peak", 8) + padLeft("extra MiB", 11) + "  note"

  static func line(_ result: BenchmarkResult, peak: Double) -> String {
    var text = pad(result.shape.label, 28) + pad(result.path, 19)
    if let median = result.medianSeconds, let gigaflops = result.gigaflopsPerSecond {
      text += padLeft(formatted(median * 1000, digits: 1), 10)
      text += padLeft(rate(gigaflops), 10)
      text += padLeft(rate(100 * gigaflops / peak), 8)
      text += padLeft(result.peakBytes.map(mebibytes) ?? "n/a", 11)
    } else {
      text += String(repeating: " ", count: 39)
    }
    if let note = result.note { text += "  " + note }
    return text
  }

  /// A left-aligned column of `width` characters, followed by at least one space.
  private static func pad(_ text: String, _ width: Int) -> String {
    paddedRight(text + " ", to: width)
  }

  /// A right-aligned column of `width` characters, preceded by at least one space.
  private static func padLeft(_ text: String, _ width: Int) -> String {
    paddedLeft(" " + text, to: width)
  }
}
