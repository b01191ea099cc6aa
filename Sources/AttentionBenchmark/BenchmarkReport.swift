import Attention
import CommandLineSupport

#if canImport(Glibc)
  import Glibc
#endif

/// The results as a Markdown document (machine, load, OpenBLAS core, bandwidth, sgemm peak,
/// tables, method), a `results.json` for scripts, and the files written to the output directory.
struct BenchmarkReport {
  let system: SystemReport
  let environmentCoreType: String?
  let coreNote: String?
  let peakBefore: SgemmPeak
  let peakAfter: SgemmPeak
  let bandwidth: ReadBandwidth
  let load: (start: LoadAverage?, end: LoadAverage?)
  let settings: BenchmarkSettings
  /// The flags of the native build timed alternately with this one; `nil` when there was none.
  let nativeBuildFlags: String?
  let contenderNotes: [String]
  let contenderVersions: [String: String]
  let results: [BenchmarkResult]
  /// The long causal rows: dense, then with a sliding window.
  let longRows: [BenchmarkResult]
  let packed: PackedComparison?
  /// The engine's product choices timed on this CPU; `nil` when not run (custom shapes).
  let productChoices: ProductChoices?
  let elapsedSeconds: Double
  /// UTC, `2026-11-21 18:40` for the document and `20261121-184000` for file names.
  let date: (display: String, fileStamp: String) = BenchmarkReport.currentDate()

  /// The larger of the two sgemm measurements: a loaded machine only ever lowers it.
  var peak: SgemmPeak {
    peakAfter.gigaflopsPerSecond > peakBefore.gigaflopsPerSecond ? peakAfter : peakBefore
  }

  /// Whether a row ran faster than the sgemm peak allows: the peak was measured while the
  /// machine was busier than during the row, so the comparison is disturbed.
  func isDisturbed(_ result: BenchmarkResult) -> Bool {
    (result.gigaflopsPerSecond ?? 0) > peak.gigaflopsPerSecond
  }

  /// The windowed long row's time over the dense one's.
  var windowOverDense: Double? {
    guard let dense = longRows.first(where: { $0.shape.window == nil })?.medianSeconds,
      let windowed = longRows.first(where: { $0.shape.window != nil })?.medianSeconds
    else { return nil }
    return windowed / dense
  }

  var buildLine: String {
    "swift build -c release" + (settings.buildFlags.isEmpty ? "" : " " + settings.buildFlags)
  }

  var markdown: String {
    var lines = ["# Attention benchmark, \(date.display) UTC", ""]
    let memory =
      AttentionMemoryBudget.physicalMemoryBytes.map(AttentionMemoryBudget.describe)
      ?? "unknown memory"
    let threads =
      "OpenBLAS \(system.openBLASThreadCount), attention \(system.attentionThreadCount)"
    let loadLine =
      "\(load.start?.description ?? "?") at the start, \(load.end?.description ?? "?") at the end "
      + "(1/5/15 min; above \(system.onlineCoreCount) the cores were shared and the figures are "
      + "indicative only)"
    lines += [
      "| | |", "|---|---|",
      "| Machine | \(system.cpu.modelName ?? "unknown CPU"), \(system.onlineCoreCount) online cores, \(memory) |",
      "| Load average | \(loadLine) |",
      "| OpenBLAS | \(system.openBLASVersion ?? "?") (`\(system.openBLASConfiguration)`) |",
      "| OPENBLAS_CORETYPE | \(environmentCoreType.map { "`\($0)`" } ?? "unset") |",
      "| Core in use | \(system.coreName): \(system.coreSelection) |",
    ]
    if let coreNote { lines.append("| Core choice | \(coreNote) |") }
    if let warning = system.warning { lines.append("| Warning | \(warning) |") }
    lines += [
      "| Build (headline figures) | `\(buildLine)` |",
      "| Native build | \(nativeBuildFlags.map { "`swift build -c release --scratch-path .build-native \($0)`, timed alternately on the fused path" } ?? "not run") |",
      "| Threads | \(threads) |",
      "| CPU vector flags | \(system.cpu.vectorFlags.joined(separator: " ")) |",
      "| Read bandwidth | **\(formatted(bandwidth.gibibytesPerSecond, digits: 1)) GiB/s** (\(bandwidth.threadCount)-thread sum over \(bandwidth.bytes >> 20) MiB, median of \(bandwidth.times.count), \(bandwidth.times.spreadMilliseconds) ms per pass) |",
      "| sgemm peak | **\(formatted(peak.gigaflopsPerSecond, digits: 1)) GFLOP/s**, the larger of \(formatted(peakBefore.gigaflopsPerSecond, digits: 1)) before and \(formatted(peakAfter.gigaflopsPerSecond, digits: 1)) after the cases (n = \(peak.size), medians of \(peak.runCount)) |",
      "| Contenders | \(contenderNotes.joined(separator: "; ")) |",
      "| Runs | median of \(settings.repetitions) timed runs per path after \(settings.warmups) warm-up (up to \(Timing.maximumRuns) runs for cases under \(formatted(settings.minimumTimedSeconds, digits: 1)) s in all, down to 3 beyond \(BenchmarkRunner.formatSeconds(settings.budgetSeconds))), on the fused path in \(settings.rounds) rounds alternating with the contenders, each turn after a 150 ms pause (other thread pools stop spinning) and \(formatted(Timing.turnWarmUpSeconds * 1000, digits: 0)) ms of untimed runs (at least one); naive skipped beyond an estimated \(BenchmarkRunner.formatSeconds(settings.naiveLimitSeconds)); whole run \(BenchmarkRunner.formatSeconds(elapsedSeconds)) |",
      "",
      "| case | path | ms | min–max ms | runs | GFLOP/s | % of sgemm peak | speed-up vs naive | extra MiB | output MiB | max abs diff vs naive | max abs diff vs Double rows | note |",
      "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for result in results + longRows { lines.append(row(result)) }
    lines += contenderTable()
    lines += decodeTable()
    lines += longTable()
    lines += packedTable()
    lines += productChoices?.markdown ?? []
    lines += ["", Self.method]
    return lines.joined(separator: "\n")
  }

  private func row(_ r: BenchmarkResult) -> String {
    let dash = "–"
    var note = r.note ?? ""
    if isDisturbed(r) {
      note = "**disturbed** (above the sgemm peak)" + (note.isEmpty ? "" : "; " + note)
    }
    let cells: [String] = [
      r.shape.label, "`\(r.path)`",
      r.times?.medianMilliseconds ?? dash,
      r.times?.spreadMilliseconds ?? dash,
      r.times == nil ? dash : "\(r.runCount)",
      r.gigaflopsPerSecond.map(rate) ?? dash,
      r.gigaflopsPerSecond.map { rate(100 * $0 / peak.gigaflopsPerSecond) } ?? dash,
      r.speedupOverNaive.map { formatted($0, digits: $0 < 10 ? 1 : 0) + "×" } ?? dash,
      r.peakBytes.map(mebibytes) ?? dash,
      mebibytes(r.shape.outputBytes),
      r.differenceFromNaive.map(scientific) ?? dash,
      r.differenceFromDouble.map(scientific) ?? dash,
      note,
    ]
    return "| " + cells.joined(separator: " | ") + " |"
  }

  /// The fused path against its contenders, case by case: each one's median and spread, and its
  /// time over the library's (above 1: the library is faster).
  private func contenderTable() -> [String] {
    let fused = results.filter { $0.path == AttentionBackend.blas.rawValue && $0.times != nil }
    let names = fused.flatMap { $0.contenders.map(\.name) }.reduce(into: [String]()) {
      if !$0.contains($1) { $0.append($1) }
    }
    guard !names.isEmpty else { return [] }
    let labels = Dictionary(
      fused.flatMap { $0.contenders.map { ($0.name, $0.label) } }, uniquingKeysWith: { a, _ in a })
    var lines = [
      "", "## Fused path against its contenders (alternating, same run)", "",
      "Each cell: median ms (min–max) and the contender's time ÷ the library's (plain build): "
        + "above 1, the library is faster. The library's outputs are compared with each "
        + "contender's (max abs diff).",
      "",
      "| case | library, plain build | "
        + names.map { "\(labels[$0] ?? $0) | ÷ library" }.joined(separator: " | ")
        + " | max abs diff |",
      "|---|--:|" + names.map { _ in "--:|--:|" }.joined() + "---|",
    ]
    for result in fused {
      var cells = [
        result.shape.label,
        "\(result.times!.medianMilliseconds) (\(result.times!.spreadMilliseconds))",
      ]
      var differences = [String]()
      for name in names {
        guard let contender = result.contenders.first(where: { $0.name == name }) else {
          cells += ["–", "–"]
          continue
        }
        if let times = contender.times {
          cells.append("\(times.medianMilliseconds) (\(times.spreadMilliseconds))")
          cells.append(
            contender.speedup(over: result.medianSeconds).map {
              "**" + formatted($0, digits: 2) + "**"
            } ?? "–")
        } else {
          cells += ["–", contender.note.map { "n/a: \($0)" } ?? "–"]
        }
        if let difference = contender.maximumDifference {
          differences.append("\(name) \(scientific(difference))")
        }
      }
      cells.append(differences.joined(separator: ", "))
      lines.append("| " + cells.joined(separator: " | ") + " |")
    }
    let means = contenderGeometricMeans
    var summary = ["geometric mean", ""]
    for name in names {
      summary += [
        "",
        means[name].map { "**\(formatted($0.ratio, digits: 2))** (\($0.cases) cases)" } ?? "–",
      ]
    }
    lines.append("| " + (summary + [""]).joined(separator: " | ") + " |")
    return lines
  }

  /// Per contender, the geometric mean over the fused cases of its time ÷ the library's.
  var contenderGeometricMeans: [String: (ratio: Double, cases: Int)] {
    var ratios = [String: [Double]]()
    for result in results where result.path == AttentionBackend.blas.rawValue {
      for contender in result.contenders {
        if let ratio = contender.speedup(over: result.medianSeconds) {
          ratios[contender.name, default: []].append(ratio)
        }
      }
    }
    return ratios.mapValues { (Self.geometricMean($0), $0.count) }
  }

  /// The geometric mean of positive ratios.
  static func geometricMean(_ values: [Double]) -> Double {
    exp(values.reduce(0) { $0 + log($1) } / Double(values.count))
  }

  /// Decoding steps as a share of the read bandwidth: K and V must each be read once.
  private func decodeTable() -> [String] {
    let decodes = results.filter {
      $0.shape.isDecode && $0.path == AttentionBackend.blas.rawValue && $0.times != nil
    }
    guard !decodes.isEmpty else { return [] }
    var lines = [
      "", "## Decoding against the memory read bandwidth", "",
      "K and V bytes ÷ median time, as a share of the measured "
        + "\(formatted(bandwidth.gibibytesPerSecond, digits: 1)) GiB/s (a decoding step cannot "
        + "beat reading its cache once; caches of 32 MiB or less may be served partly from L3).",
      "",
      "| case | path | K+V MiB | ms | GiB/s | % of read bandwidth |",
      "|---|---|--:|--:|--:|--:|",
    ]
    for result in decodes {
      let bytes = Double(result.shape.keyValueBytes)
      var rows = [(result.path, result.times!)]
      for contender in result.contenders {
        if let times = contender.times { rows.append((contender.label, times)) }
      }
      for (path, times) in rows {
        let rate = bytes / times.median
        lines.append(
          "| \(result.shape.label) | \(path) | \(mebibytes(result.shape.keyValueBytes)) | "
            + "\(times.medianMilliseconds) | \(formatted(rate / 1_073_741_824, digits: 1)) | "
            + "**\(formatted(100 * rate / bandwidth.bytesPerSecond, digits: 0)) %** |")
      }
    }
    return lines
  }

  private func longTable() -> [String] {
    guard let ratio = windowOverDense else { return [] }
    let window = longRows.first { $0.shape.window != nil }!
    let dense = longRows.first { $0.shape.window == nil }!
    let ideal = window.shape.visiblePairCount / dense.shape.visiblePairCount
    return [
      "", "## Sliding window against dense causal", "",
      "\(window.shape.label): **\(formatted(ratio, digits: 3))** of the dense causal time at the "
        + "same N (\(window.times!.medianMilliseconds) ms against \(dense.times!.medianMilliseconds) "
        + "ms); the window's share of the causal work is \(formatted(ideal, digits: 3)) "
        + "(target: at most 0.2).",
    ]
  }

  private func packedTable() -> [String] {
    guard let packed, let ratio = packed.paddedOverPacked else { return [] }
    return [
      "", "## Packed against padded", "",
      "\(packed.packed.note ?? ""): packed \(packed.packed.times!.medianMilliseconds) ms "
        + "(\(packed.packed.times!.spreadMilliseconds)), padded to the longest with key lengths "
        + "\(packed.padded.times!.medianMilliseconds) ms (\(packed.padded.times!.spreadMilliseconds)): "
        + "padded ÷ packed **\(formatted(ratio, digits: 2))**; the padded batch computes "
        + "\(formatted(packed.paddedPairsOverUseful, digits: 2))× "
        + "the query–key pairs; outputs agree within \(scientific(packed.difference)).",
    ]
  }

  static let method = """
    Cases are `B×Hq×N×D` (`Hq/Hkv` for grouped-query attention, `1→Nk` for one decoding query \
    against `Nk` cached keys), Float32, inputs drawn from a seeded normal generator. \
    `blas` is the default path, `blas-materialized` forms each head's full score matrix, \
    `naive` is plain loops. **ms**: median wall time of one call after warm-up; **min–max**: \
    the fastest and slowest timed run. **GFLOP/s**: 4·B·Hq·Nq·Nk·D (half for causal, the band \
    for a sliding window, the sum of L² for a packed batch) per second; softmax work is not \
    counted. **% of sgemm peak** uses the larger of the two sgemm measurements; a row above \
    100 % ran while the machine was quieter than during both, and is marked disturbed. \
    **extra MiB**: peak resident-set growth during one call (`VmHWM` after resetting it through \
    `/proc/self/clear_refs`, minus `VmRSS` before; glibc's mmap threshold fixed at 128 KiB so \
    every large buffer is a fresh mapping), which includes the output tensor (**output MiB**) \
    and every worker's scratch. **max abs diff vs naive**: over the whole output; \
    **vs Double rows**: against attention recomputed in Double for 18 rows spread over the \
    first, a middle and the last head (first, middle and last queries). Naive runs are skipped \
    when a one-head probe predicts they would exceed the limit.
    """

  /// Writes `attention-bench-<stamp>.md`, `.svg` and `.json`, and copies named `latest.md`,
  /// `latest.svg` and `results.json`.
  ///
  /// - Returns: the paths written.
  /// - Throws: `ValidationError`-style errors when the directory cannot be created or written.
  func write(to directory: String) throws -> [String] {
    if mkdir(directory, 0o755) != 0 && errno != EEXIST {
      throw ReportError("cannot create directory \(directory): \(String(cString: strerror(errno)))")
    }
    let chart = ThroughputChart(
      results: results + longRows, peak: peak, system: system, date: date.display)
    let json = try ResultsFile(report: self).encoded()
    let stem = "\(directory)/attention-bench-\(date.fileStamp)"
    var written = [String]()
    for (path, text) in [
      (
        stem + ".md", markdown + "\n\n![GFLOP/s against N](attention-bench-\(date.fileStamp).svg)\n"
      ),
      (stem + ".svg", chart.svg),
      ("\(directory)/latest.md", markdown + "\n\n![GFLOP/s against N](latest.svg)\n"),
      ("\(directory)/latest.svg", chart.svg),
      (stem + ".json", json),
      ("\(directory)/results.json", json),
    ] {
      try Self.writeText(text, to: path)
      written.append(path)
    }
    return written
  }

  static func writeText(_ text: String, to path: String) throws {
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
