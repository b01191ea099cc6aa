import CommandLineSupport

/// One head's attention weights with the words that label its rows (queries) and columns (keys).
struct HeatMap {
  /// A heading such as "Head 1 of 2".
  let title: String
  /// The query words, one per row.
  let rowLabels: [String]
  /// The key words, one per column.
  let columnLabels: [String]
  /// `weights[i][j]`: how much query `i` attends to key `j`; each row sums to 1.
  let weights: [[Double]]

  /// The largest weight, which the shading is relative to (at least a tiny positive number, so
  /// an all-zero map shades as empty rather than dividing by zero).
  let largestWeight: Double

  init(title: String, rowLabels: [String], columnLabels: [String], weights: [[Double]]) {
    self.title = title
    self.rowLabels = rowLabels
    self.columnLabels = columnLabels
    self.weights = weights
    largestWeight = max(weights.joined().max() ?? 0, .leastNormalMagnitude)
  }

  /// `weight` as a fraction of the largest weight, in 0…1.
  func intensity(_ weight: Double) -> Double {
    min(1, max(0, weight / largestWeight))
  }
}

extension HeatMap {
  /// The shades from lightest to darkest; a cell gets the one nearest its intensity.
  static let shades: [Character] = ["·", "░", "▒", "▓", "█"]

  /// The map as text for a terminal: a row per query word, a column per key word, each cell a
  /// shade (relative to the largest weight) and the weight with two decimals.
  ///
  /// ```
  ///               The      cat      sat
  ///      The  ▓▓ 0.41  ░░ 0.12  ██ 0.47
  /// ```
  func terminalText() -> String {
    let labelWidth = rowLabels.map(\.count).max() ?? 0
    let cellWidth = 7  // two shade characters, a space, "0.00"
    var lines = [title]
    var header = String(repeating: " ", count: labelWidth + 2)
    for label in columnLabels { header += "  " + paddedLeft(label, to: cellWidth) }
    lines.append(header)
    for (label, row) in zip(rowLabels, weights) {
      var line = "  " + paddedLeft(label, to: labelWidth)
      for weight in row {
        let level = Int((intensity(weight) * Double(Self.shades.count - 1)).rounded())
        let shade = String(repeating: Self.shades[level], count: 2)
        line += "  " + shade + " " + formatted(weight)
      }
      lines.append(line)
    }
    return lines.joined(separator: "\n")
  }

  /// `weight`, clamped to 0…1, with two decimals ("0.07", "1.00").
  func formatted(_ weight: Double) -> String {
    CommandLineSupport.formatted(min(max(weight, 0), 1), digits: 2)
  }
}
