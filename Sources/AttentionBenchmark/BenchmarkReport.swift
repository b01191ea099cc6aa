import Attention
import CommandLineSupport

#if canImport(Glibc)
  import Glibc
#endif

/// The results as a Markdown document (machine, OpenBLAS core, sgemm peak, table, method) and the
/// files written to the output directory.
struct BenchmarkReport {
  let system: SystemReport
  let environmentCoreType: String?
  let coreNote: String?
  let peak: SgemmPeak
  let settings: BenchmarkSettings
  let results: [BenchmarkResult]
  let elapsedSeconds: Double
  /// UTC, `2026-11-21 18:40` for the document and `20261121-184000` for file names.
  let date: (display: String, fileStamp: String) = BenchmarkReport.currentDate()

  var markdown: String {
    var lines = ["# Attention benchmark, \(date.display) UTC", ""]
    let memory =
      AttentionMemoryBudget.physicalMemoryBytes.map(AttentionMemoryBudget.describe)
      ?? "unknown memory"
    let threads =
      "OpenBLAS \(system.openBLASThreadCount), attention \(system.attentionThreadCount)"
    lines += [
      "| | |", "|---|---|",
      "| Machine | \(system.cpu.modelName ?? "unknown CPU"), \(system.onlineCoreCount) online cores, \(memory) |",
      "| OpenBLAS | \(system.openBLASVersion ?? "?") (`\(system.openBLASConfiguration)`) |",
      "| OPENBLAS_CORETYPE | \(environmentCoreType.map { "`\($0)`" } ?? "unset") |",
      "| Core in use | \(system.coreName): \(system.coreSelection) |",
    ]
    if let coreNote { lines.append("| Core choice | \(coreNote) |") }
    if let warning = system.warning { lines.append("| Warning | \(warning) |") }
    lines += [
      "| Build | `swift build -c release \(settings.buildFlags.isEmpty ? "" : settings.buildFlags)` |",
      "| Threads | \(threads) |",
      "| CPU vector flags | \(system.cpu.vectorFlags.joined(separator: " ")) |",
      "| sgemm peak | **\(formatted(peak.gigaflopsPerSecond, digits: 1)) GFLOP/s** (n = \(peak.size), median of \(peak.runCount)) |",
      "| Runs | median of \(settings.repetitions) timed runs per path after \(settings.warmups) warm-up (up to 50 runs for cases under \(formatted(settings.minimumTimedSeconds, digits: 1)) s in all, down to 3 beyond \(BenchmarkRunner.formatSeconds(settings.budgetSeconds))); naive skipped beyond an estimated \(BenchmarkRunner.formatSeconds(settings.naiveLimitSeconds)); whole run \(BenchmarkRunner.formatSeconds(elapsedSeconds)) |",
      "",
      "| case | path | ms | runs | GFLOP/s | % of sgemm peak | speed-up vs naive | extra MiB | output MiB | max abs diff vs naive | max abs diff vs Double rows | note |",
      "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for result in results { lines.append(row(result)) }
    lines += ["", Self.method]
    return lines.joined(separator: "\n")
  }

  private func row(_ r: BenchmarkResult) -> String {
    let dash = "–"
    let cells: [String] = [
      r.shape.label, "`\(r.path)`",
      r.medianSeconds.map { formatted($0 * 1000, digits: $0 < 0.01 ? 2 : 1) } ?? dash,
      r.medianSeconds == nil ? dash : "\(r.runCount)",
      r.gigaflopsPerSecond.map(rate) ?? dash,
      r.gigaflopsPerSecond.map { rate(100 * $0 / peak.gigaflopsPerSecond) } ?? dash,
      r.speedupOverNaive.map { formatted($0, digits: $0 < 10 ? 1 : 0) + "×" } ?? dash,
      r.peakBytes.map(mebibytes) ?? dash,
      mebibytes(r.shape.outputBytes),
      r.differenceFromNaive.map(scientific) ?? dash,
      r.differenceFromDouble.map(scientific) ?? dash,
      r.note ?? "",
    ]
    return "| " + cells.joined(separator: " | ") + " |"
  }

  static let method = """
    Cases are `B×Hq×N×D` (`Hq/Hkv` for grouped-query attention, `1→Nk` for one decoding query \
    against `Nk` cached keys), Float32, inputs drawn from a seeded normal generator. \
    `blas` is the default path, `blas-materialized` forms each head's full score matrix, \
    `naive` is plain loops. **ms**: median wall time of one call after warm-up. **GFLOP/s**: \
    4·B·Hq·Nq·Nk·D (half for causal) per second; softmax work is not counted. \
    **extra MiB**: peak resident-set growth during one call (`VmHWM` after resetting it through \
    `/proc/self/clear_refs`, minus `VmRSS` before; glibc's mmap threshold fixed at 128 KiB so \
    every large buffer is a fresh mapping), which includes the output tensor (**output MiB**) \
    and every worker's scratch. **max abs diff vs naive**: over the whole output; \
    **vs Double rows**: against attention recomputed in Double for 18 rows spread over the \
    first, a middle and the last head (first, middle and last queries). Naive runs are skipped \
    when a one-head probe predicts they would exceed the limit.
    """

  /// Writes `attention-bench-<stamp>.md` and `.svg` and copies named `latest.md`/`latest.svg`.
  ///
  /// - Returns: the paths written.
  /// - Throws: `ValidationError`-style errors when the directory cannot be created or written.
  func write(to directory: String) throws -> [String] {
    if mkdir(directory, 0o755) != 0 && errno != EEXIST {
      throw ReportError("cannot create directory \(directory): \(String(cString: strerror(errno)))")
    }
    let chart = ThroughputChart(results: results, peak: peak, system: system, date: date.display)
    let stem = "\(directory)/attention-bench-\(date.fileStamp)"
    var written = [String]()
    for (path, text) in [
      (
        stem + ".md", markdown + "\n\n![GFLOP/s against N](attention-bench-\(date.fileStamp).svg)\n"
      ),
      (stem + ".svg", chart.svg),
      ("\(directory)/latest.md", markdown + "\n\n![GFLOP/s against N](latest.svg)\n"),
      ("\(directory)/latest.svg", chart.svg),
    ] {
      try Self.writeText(text, to: path)
      written.append(path)
    }
    return written
  }

  private static func writeText(_ text: String, to path: String) throws {
    guard let file = fopen(path, "w") else {
      throw ReportError("cannot open \(path): \(String(cString: strerror(errno)))")
    }
    let bytes = Array(text.utf8)
    let count = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
    guard fclose(file) == 0, count == bytes.count else {
      throw ReportError("cannot write \(path): \(String(cString: strerror(errno)))")
    }
  }

  private static func currentDate() -> (display: String, fileStamp: String) {
    var now = time(nil)
    var parts = tm()
    gmtime_r(&now, &parts)
    func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
    let day = "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))"
    let display = "\(day) \(two(parts.tm_hour)):\(two(parts.tm_min))"
    let stamp =
      "\(parts.tm_year + 1900)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))-"
      + "\(two(parts.tm_hour))\(two(parts.tm_min))\(two(parts.tm_sec))"
    return (display, stamp)
  }
}

/// A report file could not be written.
struct ReportError: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}
