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
      Prints the OpenBLAS core the environment asked for and the one that runs, the load \
      average, the memory read bandwidth and the sgemm peak (measured before and after the \
      cases; the larger is the peak), then for each case the median time with its spread \
      (min–max), GFLOP/s (4·B·Hq·Nq·Nk·D, half for causal), the share of the sgemm peak (a case \
      above 100 % is flagged as disturbed), the speed-up over the naive path, the peak extra \
      memory of one call and the largest difference from the naive result and from a Double \
      computation of sampled rows.

      On the fused path each case alternates, in rounds, between the library and its \
      contenders: this benchmark built for the host CPU (--native-binary, which make bench \
      passes), PyTorch's scaled_dot_product_attention and ONNX Runtime's Attention (opset 23) \
      when a Python with torch / onnx + onnxruntime is found ($ATTENTION_PEERS_PYTHON, else \
      python3, else ~/peers/bin/python). The peers are optional: when missing, the run says so \
      and goes on. Decoding cases are also given as a share of the read bandwidth.

      Then a long causal row (N = 65,536, one head) densely and with a sliding window of 4,096, \
      and a batch of mixed-length texts packed against the same batch padded. Writes the \
      Markdown table, an SVG chart and results.json to the output directory.

      Shapes: BxHxNxD with optional suffixes :causal, :kv=H (key/value heads), :nq=N, :nk=N, \
      :window=W; for example --shape 1x32x2048x128:kv=8:causal --shape 1x32x1x128:nk=4096.
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
      "Skip the naive path when its estimated time exceeds this many seconds. Default 10, quick 2.")
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

  @Option(
    help: ArgumentHelp(
      "Another build of attention-bench (make bench: the -target-cpu native one) timed alternately on the fused path.",
      valueName: "path"))
  var nativeBinary: String?

  @Option(help: "The compiler flags of --native-binary, recorded in the report.")
  var nativeBuildFlags = "unrecorded"

  @Flag(help: "Do not look for the Python peers (PyTorch, ONNX Runtime).")
  var noPeers = false

  @Option(help: ArgumentHelp("The Python peer script.", valueName: "file.py"))
  var peerScript = Contenders.defaultPeerScript

  @Option(
    help: "Rounds of alternation between the fused path and its contenders. Default 3, quick 2.")
  var rounds: Int?

  @Option(
    help: "Sliding window of the long row (0 skips the windowed row). Default 4096, quick 512.")
  var window: Int?

  @Option(help: "Texts in the packed-vs-padded batch (0 skips it). Default 32, quick 16.")
  var packedCount: Int?

  @Flag(
    help: "Serve timings of the fused path to another build's run (JSON lines on stdin/stdout).")
  var serve = false

  mutating func validate() throws {
    for (name, value) in [
      ("repetitions", repetitions), ("warmups", warmups), ("sgemm-size", sgemmSize),
      ("rounds", rounds),
    ] {
      if let value, value < (name == "warmups" ? 0 : 1) {
        throw ValidationError(
          "--\(name) must be at least \(name == "warmups" ? 0 : 1), got \(value)")
      }
    }
    for (name, value) in [
      ("long-length", longLength), ("window", window), ("packed-count", packedCount),
    ] {
      if let value, value < 0 {
        throw ValidationError("--\(name) must be 0 (skip) or positive, got \(value)")
      }
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
    if serve {
      _ = try selectCore()
      ServeMode.run(buildFlags: buildFlags)
      return
    }
    MemoryProbe.useSteadyStateAllocator()
    let started = ContinuousClock.now
    let loadAtStart = LoadAverage.current
    let coreNote = try selectCore()
    let system = SystemReport.current
    print("== Environment ==")
    print("OPENBLAS_CORETYPE: \(OpenBLAS.environmentCoreType ?? "unset")")
    if let coreNote { print("core choice: \(coreNote)") }
    print(system)
    print("load average (1/5/15 min): \(loadAtStart?.description ?? "unknown")")
    print()

    let settings = BenchmarkSettings(
      warmups: warmups ?? (quick ? 1 : 2), repetitions: repetitions ?? (quick ? 3 : 7),
      minimumTimedSeconds: quick ? 0.1 : 0.3, budgetSeconds: timeBudget ?? (quick ? 1 : 8),
      naiveLimitSeconds: naiveLimit ?? (quick ? 2 : 10),
      skipsNaive: skipNaive, buildFlags: buildFlags, rounds: rounds ?? (quick ? 2 : 3))

    print("== Memory read bandwidth ==")
    let bandwidth = ReadBandwidth.measure(
      threads: system.attentionThreadCount, repetitions: quick ? 5 : 11)
    print(
      "\(bandwidth.threadCount)-thread sum over \(bandwidth.bytes >> 20) MiB: "
        + "\(formatted(bandwidth.gibibytesPerSecond, digits: 1)) GiB/s (median of "
        + "\(bandwidth.times.count), \(bandwidth.times.spreadMilliseconds) ms per pass)")
    print()

    let n = sgemmSize ?? (quick ? 1024 : 2048)
    print("== sgemm peak (before the cases) ==")
    let sgemmRepetitions = Swift.max(settings.repetitions, 5)
    let peakBefore = try SgemmPeak.measure(
      size: n, warmups: settings.warmups + 1, repetitions: sgemmRepetitions)
    print(peakBefore.summary)
    print()

    var choices: ProductChoices?
    if shapes.isEmpty {
      print("== Product choices on this CPU (the engine's own product against OpenBLAS's) ==")
      choices = try ProductChoices.measure(
        rounds: quick ? 2 : 3, turnSeconds: quick ? 0.02 : 0.04
      ) { print(ProductChoices.line($0)) }
      print(choices!.summary)
      print()
    }

    print("== Contenders ==")
    let contenders = Contenders(
      nativeBinary: nativeBinary,
      nativeArguments: ["--build-flags=\(nativeBuildFlags)", "--core", core]
        + (keepCore ? ["--keep-core"] : []),
      usesPython: !noPeers, peerScript: peerScript)
    defer { contenders.close() }
    for note in contenders.notes { print(note) }
    print()

    print("== Attention ==")
    print(ProgressLine.header)
    let runner = BenchmarkRunner(settings: settings, contenders: contenders)
    var results = [BenchmarkResult]()
    let cases = shapes.isEmpty ? (quick ? BenchmarkShape.quick : BenchmarkShape.standard) : shapes
    for (index, shape) in cases.enumerated() {
      results += try runner.run(shape, seed: 1000 + UInt64(index)) { result in
        print(ProgressLine.line(result, peak: peakBefore.gigaflopsPerSecond))
        for contender in result.contenders {
          print(ProgressLine.contenderLine(contender, library: result.medianSeconds))
        }
        fflush(nil)
      }
    }

    var longRows = [BenchmarkResult]()
    let length = longLength ?? (quick ? 4096 : 65_536)
    if length > 0 && shapes.isEmpty {
      let windowSize = window ?? (quick ? 512 : 4096)
      for rowWindow in windowSize > 0 && windowSize < length ? [nil, windowSize] : [nil] {
        let row: BenchmarkResult
        do {
          row = try LongSequence.run(length: length, window: rowWindow, settings: settings)
        } catch let error as AttentionError {
          row = BenchmarkResult(
            shape: BenchmarkShape(
              batch: 1, heads: 1, queries: length, dimension: LongSequence.dimension, causal: true,
              window: rowWindow),
            path: AttentionBackend.blas.rawValue, note: "refused: \(error)")
        }
        print(ProgressLine.line(row, peak: peakBefore.gigaflopsPerSecond))
        longRows.append(row)
      }
    }

    var packed: PackedComparison?
    let textCount = packedCount ?? (quick ? 16 : 32)
    if textCount > 0 && shapes.isEmpty {
      let run = try PackedBatch.run(count: textCount, settings: settings)
      packed = PackedComparison(packed: run.packed, padded: run.padded, difference: run.difference)
      print(ProgressLine.line(run.packed, peak: peakBefore.gigaflopsPerSecond))
      print(ProgressLine.line(run.padded, peak: peakBefore.gigaflopsPerSecond))
    }

    print()
    print("== sgemm peak (after the cases) ==")
    let peakAfter = try SgemmPeak.measure(
      size: n, warmups: 1, repetitions: sgemmRepetitions)
    print(peakAfter.summary)
    let loadAtEnd = LoadAverage.current
    print("load average (1/5/15 min): \(loadAtEnd?.description ?? "unknown")")

    let elapsed = (ContinuousClock.now - started).seconds
    let report = BenchmarkReport(
      system: system, environmentCoreType: OpenBLAS.environmentCoreType, coreNote: coreNote,
      peakBefore: peakBefore, peakAfter: peakAfter, bandwidth: bandwidth,
      load: (loadAtStart, loadAtEnd), settings: settings,
      nativeBuildFlags: nativeBinary == nil ? nil : nativeBuildFlags,
      contenderNotes: contenders.notes, contenderVersions: contenders.versions,
      results: results, longRows: longRows, packed: packed, productChoices: choices,
      elapsedSeconds: elapsed)
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
    pad("case", 34) + pad("path", 19) + padLeft("ms", 10) + padLeft("min–max", 18)
    + padLeft("GFLOP/s", 10) + padLeft("% peak", 8) + padLeft("extra MiB", 11) + "  note"

  static func line(_ result: BenchmarkResult, peak: Double) -> String {
    var text = pad(result.shape.label, 34) + pad(result.path, 19)
    if let times = result.times, let gigaflops = result.gigaflopsPerSecond {
      text += padLeft(times.medianMilliseconds, 10)
      text += padLeft(times.spreadMilliseconds, 18)
      text += padLeft(rate(gigaflops), 10)
      text += padLeft(rate(100 * gigaflops / peak), 8)
      text += padLeft(result.peakBytes.map(mebibytes) ?? "n/a", 11)
    } else {
      text += String(repeating: " ", count: 57)
    }
    if let note = result.note { text += "  " + note }
    return text
  }

  /// A contender's figures under the library's row: its times and the library's speed-up.
  static func contenderLine(_ contender: ContenderResult, library: Double?) -> String {
    var text = pad("", 34) + pad("  " + contender.name, 19)
    if let times = contender.times {
      text += padLeft(times.medianMilliseconds, 10) + padLeft(times.spreadMilliseconds, 18)
      if let speedup = contender.speedup(over: library) {
        text += "  time ÷ library's: \(formatted(speedup, digits: 2))"
      }
      if let difference = contender.maximumDifference {
        text += ", max abs diff \(scientific(difference))"
      }
    }
    if let note = contender.note { text += "  " + note }
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
