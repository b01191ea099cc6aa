import Attention
import Foundation

/// `results.json`: the run for scripts — machine, CPU, OpenBLAS core, builds, sgemm peaks,
/// bandwidth, load averages, and per case and path the median, min, max, quartiles, runs,
/// GFLOP/s, share of the peak and the contenders' figures. Times are in seconds; a value that
/// was not measured is absent.
struct ResultsFile: Encodable {
  struct Machine: Encodable {
    var cpu: String?
    var onlineCores: Int
    var memoryBytes: Int?
    var vectorFlags: [String]
  }

  struct OpenBLASInfo: Encodable {
    var version: String?
    var configuration: String
    var core: String
    var coreSelection: String
    var environmentCoreType: String?
    var coreNote: String?
    var threads: Int
  }

  struct Builds: Encodable {
    var headline: String
    var native: String?
  }

  struct Sgemm: Encodable {
    var size: Int
    var beforeGigaflopsPerSecond: Double
    var afterGigaflopsPerSecond: Double
    var peakGigaflopsPerSecond: Double
  }

  struct Bandwidth: Encodable {
    var bytes: Int
    var threads: Int
    var gibibytesPerSecond: Double
    var medianSeconds: Double
    var minimumSeconds: Double
    var maximumSeconds: Double
    var runs: Int
  }

  struct Times: Encodable {
    var medianSeconds: Double
    var minimumSeconds: Double
    var maximumSeconds: Double
    var lowerQuartileSeconds: Double
    var upperQuartileSeconds: Double
    var runs: Int

    init(_ times: RunTimes) {
      medianSeconds = times.median
      minimumSeconds = times.minimum
      maximumSeconds = times.maximum
      (lowerQuartileSeconds, upperQuartileSeconds) = times.quartiles
      runs = times.count
    }
  }

  struct Contender: Encodable {
    var name: String
    var label: String
    var timing: Times?
    /// The contender's median time over the library's: above 1, the library is faster.
    var timeOverLibrary: Double?
    var maximumAbsoluteDifference: Double?
    var note: String?
  }

  struct Case: Encodable {
    var label: String
    var batch: Int
    var queryHeads: Int
    var keyValueHeads: Int
    var queries: Int
    var keys: Int
    var headDimension: Int
    var causal: Bool
    var window: Int?
    var path: String
    var timing: Times?
    var gigaflopsPerSecond: Double?
    var percentOfPeak: Double?
    var disturbed: Bool
    var speedupOverNaive: Double?
    var extraBytes: Int?
    var maximumDifferenceFromNaive: Double?
    var maximumDifferenceFromDoubleRows: Double?
    var keyValueBytes: Int?
    var percentOfReadBandwidth: Double?
    var loadAverageOneMinute: Double?
    var note: String?
    var contenders: [Contender]
  }

  struct Packed: Encodable {
    var packed: Case
    var padded: Case
    var paddedOverPacked: Double?
    var maximumDifference: Double?
  }

  struct ProductChoice: Encodable {
    var label: String
    var operations: Double
    var ownProduct: Times
    var openBLAS: Times
    var openBLASOverOwn: Double
    var engineTakesOwnProduct: Bool
    /// How much slower the side the engine takes is than the other (0: it is the faster).
    var choiceLoss: Double
  }

  struct ProductChoicesInfo: Encodable {
    var instructionSet: String
    var rounds: Int
    var tiles: [ProductChoice]
    var linearMaps: [ProductChoice]
    var summary: String
  }

  var date: String
  var machine: Machine
  var openBLAS: OpenBLASInfo
  var builds: Builds
  var sgemm: Sgemm
  var readBandwidth: Bandwidth
  var loadAverageStart: LoadAverage?
  var loadAverageEnd: LoadAverage?
  var contenderNotes: [String]
  var contenderVersions: [String: String]
  /// Per contender, the geometric mean over the fused cases of its time ÷ the library's.
  var contenderTimeOverLibraryGeometricMeans: [String: Double]
  var elapsedSeconds: Double
  var cases: [Case]
  var longSequence: [Case]
  var windowOverDense: Double?
  var packedBatch: Packed?
  var productChoices: ProductChoicesInfo?

  init(report r: BenchmarkReport) {
    date = r.date.display + " UTC"
    machine = Machine(
      cpu: r.system.cpu.modelName, onlineCores: r.system.onlineCoreCount,
      memoryBytes: AttentionMemoryBudget.physicalMemoryBytes,
      vectorFlags: r.system.cpu.vectorFlags)
    openBLAS = OpenBLASInfo(
      version: r.system.openBLASVersion, configuration: r.system.openBLASConfiguration,
      core: r.system.coreName, coreSelection: "\(r.system.coreSelection)",
      environmentCoreType: r.environmentCoreType, coreNote: r.coreNote,
      threads: r.system.openBLASThreadCount)
    builds = Builds(
      headline: r.buildLine,
      native: r.nativeBuildFlags.map { "swift build -c release --scratch-path .build-native \($0)" }
    )
    sgemm = Sgemm(
      size: r.peak.size, beforeGigaflopsPerSecond: r.peakBefore.gigaflopsPerSecond,
      afterGigaflopsPerSecond: r.peakAfter.gigaflopsPerSecond,
      peakGigaflopsPerSecond: r.peak.gigaflopsPerSecond)
    let b = r.bandwidth
    readBandwidth = Bandwidth(
      bytes: b.bytes, threads: b.threadCount, gibibytesPerSecond: b.gibibytesPerSecond,
      medianSeconds: b.times.median, minimumSeconds: b.times.minimum,
      maximumSeconds: b.times.maximum, runs: b.times.count)
    loadAverageStart = r.load.start
    loadAverageEnd = r.load.end
    contenderNotes = r.contenderNotes
    contenderVersions = r.contenderVersions
    contenderTimeOverLibraryGeometricMeans = r.contenderGeometricMeans.mapValues(\.ratio)
    elapsedSeconds = r.elapsedSeconds
    cases = r.results.map { Self.makeCase($0, report: r) }
    longSequence = r.longRows.map { Self.makeCase($0, report: r) }
    windowOverDense = r.windowOverDense
    packedBatch = r.packed.map {
      Packed(
        packed: Self.makeCase($0.packed, report: r), padded: Self.makeCase($0.padded, report: r),
        paddedOverPacked: $0.paddedOverPacked, maximumDifference: Self.finite($0.difference))
    }
    productChoices = r.productChoices.map { choices in
      func entry(_ c: ProductChoices.Comparison) -> ProductChoice {
        ProductChoice(
          label: c.label, operations: c.operationCount, ownProduct: Times(c.ownProduct),
          openBLAS: Times(c.openBLAS), openBLASOverOwn: c.openBLASOverOwn,
          engineTakesOwnProduct: c.engineTakesOwnProduct, choiceLoss: c.choiceLoss)
      }
      return ProductChoicesInfo(
        instructionSet: choices.instructionSet, rounds: choices.rounds,
        tiles: choices.tiles.map(entry), linearMaps: choices.linearMaps.map(entry),
        summary: choices.summary)
    }
  }

  static func makeCase(_ result: BenchmarkResult, report: BenchmarkReport) -> Case {
    let s = result.shape
    let decode = s.isDecode && result.times != nil
    return Case(
      label: s.label, batch: s.batchCount, queryHeads: s.queryHeadCount,
      keyValueHeads: s.keyValueHeadCount, queries: s.queryCount, keys: s.keyCount,
      headDimension: s.headDimension, causal: s.causal, window: s.window, path: result.path,
      timing: result.times.map(Times.init), gigaflopsPerSecond: result.gigaflopsPerSecond,
      percentOfPeak: result.gigaflopsPerSecond.map { 100 * $0 / report.peak.gigaflopsPerSecond },
      disturbed: report.isDisturbed(result), speedupOverNaive: result.speedupOverNaive,
      extraBytes: result.peakBytes,
      maximumDifferenceFromNaive: result.differenceFromNaive.flatMap(finite),
      maximumDifferenceFromDoubleRows: result.differenceFromDouble.flatMap(finite),
      keyValueBytes: decode ? s.keyValueBytes : nil,
      percentOfReadBandwidth: decode
        ? 100 * Double(s.keyValueBytes) / result.times!.median / report.bandwidth.bytesPerSecond
        : nil,
      loadAverageOneMinute: result.loadAverage?.oneMinute, note: result.note,
      contenders: result.contenders.map { contender in
        Contender(
          name: contender.name, label: contender.label, timing: contender.times.map(Times.init),
          timeOverLibrary: contender.speedup(over: result.medianSeconds),
          maximumAbsoluteDifference: contender.maximumDifference.flatMap(finite),
          note: contender.note)
      })
  }

  /// `value` when finite (JSON has no infinity or NaN), else `nil`.
  static func finite(_ value: Double) -> Double? { value.isFinite ? value : nil }

  /// Pretty-printed JSON with sorted keys.
  func encoded() throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(
      positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
  }
}
