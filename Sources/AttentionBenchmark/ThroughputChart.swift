import Attention
import CommandLineSupport

#if canImport(Glibc)
  import Glibc
#endif

/// GFLOP/s against sequence length for each path, with the sgemm peak as a horizontal line: a
/// hand-written SVG with no dependencies.
///
/// Plotted: the cases that differ only in `N` (a sweep: same batch, heads, width and masking,
/// `Nq = Nk`), one line per path and sweep, and the long-sequence row as a lone point.
struct ThroughputChart {
  let results: [BenchmarkResult]
  let peak: SgemmPeak
  let system: SystemReport
  let date: String

  private static let width = 800.0
  private static let height = 460.0
  private static let left = 70.0
  private static let right = 250.0
  private static let top = 56.0
  private static let bottom = 56.0

  private static let colors = [
    "blas": "#1f77b4", "blas-materialized": "#ff7f0e", "naive": "#2ca02c",
  ]

  /// (legend label, colour, dashed, points (N, GFLOP/s)) for every plotted line.
  private var series: [(label: String, color: String, dashed: Bool, points: [(Double, Double)])] {
    let square = results.filter {
      $0.shape.queryCount == $0.shape.keyCount && $0.gigaflopsPerSecond != nil
    }
    var sweepKeys = [String]()
    for result in square where !sweepKeys.contains(result.shape.seriesKey) {
      let lengths = Set(
        square.filter { $0.shape.seriesKey == result.shape.seriesKey }.map(\.shape.queryCount))
      if lengths.count >= 2 { sweepKeys.append(result.shape.seriesKey) }
    }
    var lines = [(label: String, color: String, dashed: Bool, points: [(Double, Double)])]()
    for (index, key) in sweepKeys.enumerated() {
      for path in ["blas", "blas-materialized", "naive"] {
        let points = square.filter { $0.shape.seriesKey == key && $0.path == path }
          .map { (Double($0.shape.queryCount), $0.gigaflopsPerSecond!) }
          .sorted { $0.0 < $1.0 }
        guard !points.isEmpty else { continue }
        lines.append(("\(path), \(key)", Self.colors[path] ?? "#444", index % 2 == 1, points))
      }
    }
    // The long-sequence row (the only square case with one head) as its own point.
    for result in square
    where result.shape.queryHeadCount == 1 && !sweepKeys.contains(result.shape.seriesKey) {
      lines.append(
        (
          "\(result.path), \(result.shape.seriesKey)", Self.colors[result.path] ?? "#444", true,
          [(Double(result.shape.queryCount), result.gigaflopsPerSecond!)]
        ))
    }
    return lines
  }

  var svg: String {
    let lines = series
    let (w, h) = (Self.width, Self.height)
    let plotWidth = w - Self.left - Self.right
    let plotHeight = h - Self.top - Self.bottom
    let lengths = lines.flatMap { $0.points.map(\.0) }
    let minimumN = (lengths.min() ?? 512) / 1.5
    let maximumN = (lengths.max() ?? 4096) * 1.5
    let axis = YAxis(values: lines.flatMap { $0.points.map(\.1) } + [peak.gigaflopsPerSecond])
    func x(_ n: Double) -> Double {
      Self.left + plotWidth * (log2(n) - log2(minimumN)) / (log2(maximumN) - log2(minimumN))
    }
    func y(_ rate: Double) -> Double { Self.top + plotHeight * (1 - axis.fraction(rate)) }
    func number(_ value: Double) -> String { formatted(value, digits: 1) }

    var svg = [
      ##"<svg xmlns="http://www.w3.org/2000/svg" width="\##(Int(w))" height="\##(Int(h))" viewBox="0 0 \##(Int(w)) \##(Int(h))" font-family="sans-serif" font-size="12">"##,
      ##"<rect width="100%" height="100%" fill="white"/>"##,
      ##"<text x="\##(number(Self.left))" y="22" font-size="15" font-weight="bold">Attention throughput against sequence length (Float32)</text>"##,
      ##"<text x="\##(number(Self.left))" y="40" fill="#555">\##(xmlEscaped("\(system.cpu.modelName ?? "unknown CPU"), \(system.onlineCoreCount) cores, OpenBLAS core \(system.coreName), \(date) UTC"))</text>"##,
    ]
    // Grid and y axis.
    for tick in axis.ticks {
      let color = tick.label.isEmpty ? "#f3f3f3" : "#e0e0e0"
      svg.append(
        ##"<line x1="\##(number(Self.left))" x2="\##(number(Self.left + plotWidth))" y1="\##(number(y(tick.value)))" y2="\##(number(y(tick.value)))" stroke="\##(color)"/>"##
      )
      guard !tick.label.isEmpty else { continue }
      svg.append(
        ##"<text x="\##(number(Self.left - 8))" y="\##(number(y(tick.value) + 4))" text-anchor="end">\##(tick.label)</text>"##
      )
    }
    // x axis: powers of two.
    var power = 1.0
    while power < minimumN { power *= 2 }
    while power <= maximumN {
      svg.append(
        ##"<line x1="\##(number(x(power)))" x2="\##(number(x(power)))" y1="\##(number(Self.top))" y2="\##(number(Self.top + plotHeight))" stroke="#f0f0f0"/>"##
      )
      svg.append(
        ##"<text x="\##(number(x(power)))" y="\##(number(Self.top + plotHeight + 18))" text-anchor="middle">\##(Self.lengthLabel(power))</text>"##
      )
      power *= 2
    }
    svg.append(
      ##"<rect x="\##(number(Self.left))" y="\##(number(Self.top))" width="\##(number(plotWidth))" height="\##(number(plotHeight))" fill="none" stroke="#333"/>"##
    )
    svg.append(
      ##"<text x="\##(number(Self.left + plotWidth / 2))" y="\##(number(h - 14))" text-anchor="middle">sequence length N (Nq = Nk, log scale)</text>"##
    )
    svg.append(
      ##"<text transform="translate(18 \##(number(Self.top + plotHeight / 2))) rotate(-90)" text-anchor="middle">GFLOP/s (4·B·H·N²·D, half if causal)\##(axis.isLogarithmic ? ", log scale" : "")</text>"##
    )
    // The sgemm peak.
    let peakY = y(peak.gigaflopsPerSecond)
    svg.append(
      ##"<line x1="\##(number(Self.left))" x2="\##(number(Self.left + plotWidth))" y1="\##(number(peakY))" y2="\##(number(peakY))" stroke="#d62728" stroke-width="1.5" stroke-dasharray="6 4"/>"##
    )
    svg.append(
      ##"<text x="\##(number(Self.left + 6))" y="\##(number(peakY - 6))" fill="#d62728">sgemm peak \##(number(peak.gigaflopsPerSecond)) GFLOP/s (n = \##(peak.size))</text>"##
    )
    // The series and the legend.
    for (index, line) in lines.enumerated() {
      let points = line.points.map { "\(number(x($0.0))),\(number(y($0.1)))" }
      let dash = line.dashed ? ##" stroke-dasharray="4 3""## : ""
      if points.count > 1 {
        svg.append(
          ##"<polyline points="\##(points.joined(separator: " "))" fill="none" stroke="\##(line.color)" stroke-width="2"\##(dash)/>"##
        )
      }
      for point in line.points {
        svg.append(
          ##"<circle cx="\##(number(x(point.0)))" cy="\##(number(y(point.1)))" r="3.5" fill="\##(line.color)"><title>\##(xmlEscaped(line.label)): N = \##(Int(point.0)), \##(number(point.1)) GFLOP/s</title></circle>"##
        )
      }
      let legendY = Self.top + 10 + Double(index) * 20
      let legendX = Self.left + plotWidth + 16
      svg.append(
        ##"<line x1="\##(number(legendX))" x2="\##(number(legendX + 22))" y1="\##(number(legendY))" y2="\##(number(legendY))" stroke="\##(line.color)" stroke-width="2"\##(dash)/>"##
      )
      svg.append(
        ##"<text x="\##(number(legendX + 28))" y="\##(number(legendY + 4))">\##(xmlEscaped(line.label))</text>"##
      )
    }
    svg.append("</svg>")
    return svg.joined(separator: "\n") + "\n"
  }

  /// `512`, `2K`, `64K`.
  static func lengthLabel(_ n: Double) -> String {
    n >= 1024 ? "\(Int(n) / 1024)K" : "\(Int(n))"
  }
}

/// The GFLOP/s axis: linear from zero, or logarithmic by decades when the values span more than
/// a factor of 30 (the naive path is hundreds of times slower than BLAS and would sit on zero).
struct YAxis {
  let isLogarithmic: Bool
  /// Linear: 0…upper. Logarithmic: 10^lower…10^upper.
  let lower: Double
  let upper: Double
  let step: Double

  init(values: [Double]) {
    let positive = values.filter { $0 > 0 && $0.isFinite }
    let highest = positive.max() ?? 1
    let lowest = positive.min() ?? 1
    if highest / lowest > 30 {
      isLogarithmic = true
      lower = log10(lowest).rounded(.down)
      upper = log10(highest * 1.1).rounded(.up)
      step = 1
    } else {
      isLogarithmic = false
      let rough = highest * 1.08 / 5
      let magnitude = pow(10, log10(rough).rounded(.down))
      step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= rough } ?? 10 * magnitude
      lower = 0
      upper = (highest * 1.08 / step).rounded(.up) * step
    }
  }

  /// Where `value` sits between the bottom (0) and the top (1) of the plot.
  func fraction(_ value: Double) -> Double {
    isLogarithmic
      ? (log10(Swift.max(value, 1e-300)) - lower) / (upper - lower) : value / upper
  }

  /// Grid lines: labelled major ticks, and unlabelled ×2 and ×5 minor ticks on a log axis.
  var ticks: [(value: Double, label: String)] {
    var ticks = [(value: Double, label: String)]()
    if isLogarithmic {
      var exponent = lower
      while exponent <= upper {
        let decade = pow(10, exponent)
        ticks.append((decade, Self.label(decade)))
        if exponent < upper { ticks += [(2 * decade, ""), (5 * decade, "")] }
        exponent += 1
      }
    } else {
      var value = 0.0
      while value <= upper + step / 2 {
        ticks.append((value, Self.label(value)))
        value += step
      }
    }
    return ticks
  }

  private static func label(_ value: Double) -> String {
    if value >= 1 || value == 0 { return "\(Int(value.rounded()))" }
    var digits = 0
    var scaled = value
    while scaled < 0.99 {
      scaled *= 10
      digits += 1
    }
    return formatted(value, digits: digits)
  }
}
