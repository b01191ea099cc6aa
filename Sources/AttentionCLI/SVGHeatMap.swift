/// Attention heat maps as a hand-written SVG document: one panel per head, side by side, each a
/// grid of cells whose fill opacity is the weight relative to the head's largest weight, with
/// the words as row (query) and column (key) labels and the weight printed in each cell.
enum SVGHeatMap {
  private static let cellSize = 46
  private static let characterWidth = 8  // a generous average for 13 px sans-serif
  private static let panelGap = 36
  private static let margin = 20
  private static let gridTop = 112
  private static let fillColor = "#1d4ed8"

  /// The SVG document for `maps`, under `title` and a one-line `caption`.
  static func document(_ maps: [HeatMap], title: String, caption: String) -> String {
    let labelWidth =
      (maps.flatMap(\.rowLabels).map(\.count).max() ?? 0) * characterWidth + 14
    let columns = maps.map(\.columnLabels.count).max() ?? 0
    let rows = maps.map(\.rowLabels.count).max() ?? 0
    let panelWidth = labelWidth + columns * cellSize
    let width = max(
      2 * margin + maps.count * panelWidth + max(0, maps.count - 1) * panelGap,
      2 * margin + max(title.count, caption.count) * 7)
    let height = gridTop + rows * cellSize + margin
    var svg = [
      #"<svg xmlns="http://www.w3.org/2000/svg" width="\#(width)" height="\#(height)" "#
        + #"viewBox="0 0 \#(width) \#(height)" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">"#,
      #"<rect width="100%" height="100%" fill="white"/>"#,
      #"<text x="\#(margin)" y="30" font-size="18" font-weight="bold" fill="#111">\#(escaped(title))</text>"#,
      #"<text x="\#(margin)" y="52" font-size="12" fill="#555">\#(escaped(caption))</text>"#,
    ]
    for (index, map) in maps.enumerated() {
      let left = margin + index * (panelWidth + panelGap)
      svg += panel(map, left: left, labelWidth: labelWidth)
    }
    svg.append("</svg>")
    return svg.joined(separator: "\n") + "\n"
  }

  /// One head: its title, the key words above the columns, the query words left of the rows,
  /// and the cells.
  private static func panel(_ map: HeatMap, left: Int, labelWidth: Int) -> [String] {
    let gridLeft = left + labelWidth
    var svg = [
      #"<g aria-label="\#(escaped(map.title))">"#,
      #"<text x="\#(gridLeft)" y="78" font-size="15" font-weight="bold" fill="#111">\#(escaped(map.title))</text>"#,
    ]
    for (column, label) in map.columnLabels.enumerated() {
      let x = gridLeft + column * cellSize + cellSize / 2
      svg.append(
        #"<text x="\#(x)" y="\#(gridTop - 8)" font-size="13" text-anchor="middle" fill="#222">\#(escaped(label))</text>"#
      )
    }
    for (row, label) in map.rowLabels.enumerated() {
      let y = gridTop + row * cellSize + cellSize / 2 + 5
      svg.append(
        #"<text x="\#(gridLeft - 8)" y="\#(y)" font-size="13" text-anchor="end" fill="#222">\#(escaped(label))</text>"#
      )
    }
    for (row, weights) in map.weights.enumerated() {
      for (column, weight) in weights.enumerated() {
        let x = gridLeft + column * cellSize
        let y = gridTop + row * cellSize
        let intensity = map.intensity(weight)
        let opacity = (intensity * 1000).rounded() / 1000
        let ink = intensity > 0.55 ? "white" : "#222"
        svg.append(
          #"<rect x="\#(x)" y="\#(y)" width="\#(cellSize)" height="\#(cellSize)" fill="\#(fillColor)" "#
            + #"fill-opacity="\#(opacity)" stroke="#d0d5dd" stroke-width="1"><title>\#(escaped(map.rowLabels[row])) → \#(escaped(map.columnLabels[column])): \#(weight)</title></rect>"#
        )
        svg.append(
          #"<text x="\#(x + cellSize / 2)" y="\#(y + cellSize / 2 + 4)" font-size="11" text-anchor="middle" fill="\#(ink)">\#(map.formatted(weight))</text>"#
        )
      }
    }
    svg.append("</g>")
    return svg
  }

  /// `text` with the five XML special characters replaced by entities.
  static func escaped(_ text: String) -> String {
    var result = ""
    for character in text {
      switch character {
      case "&": result += "&amp;"
      case "<": result += "&lt;"
      case ">": result += "&gt;"
      case "\"": result += "&quot;"
      case "'": result += "&apos;"
      default: result.append(character)
      }
    }
    return result
  }
}
