import CommandLineSupport

/// Attention heat maps as a hand-written SVG document: one panel per head, up to four side by
/// side per row of panels, each a grid of cells whose fill opacity is the weight relative to the head's largest weight, with
/// the words as row (query) and column (key) labels and the weight printed in each cell.
enum SVGHeatMap {
  private static let cellSize = 46
  private static let characterWidth = 8  // a generous average for 13 px sans-serif
  private static let panelGap = 36
  private static let margin = 20
  private static let captionLineHeight = 16
  private static let fillColor = "#1d4ed8"
  /// Panels per row, so that 8 or 16 heads wrap instead of making a very wide image.
  private static let panelsPerRow = 4
  /// From a panel's top to its grid: the head's title, then the key words.
  private static let panelHeader = 52

  /// The SVG document for `maps`, under `title` and the lines of `caption`.
  static func document(_ maps: [HeatMap], title: String, caption: [String]) -> String {
    let firstPanelTop = 52 + caption.count * captionLineHeight
    let labelWidth = (maps.flatMap(\.rowLabels).map(\.count).max() ?? 0) * characterWidth + 14
    let columns = maps.map(\.columnLabels.count).max() ?? 0
    let rows = maps.map(\.rowLabels.count).max() ?? 0
    let panelWidth = labelWidth + columns * cellSize
    let panelHeight = panelHeader + rows * cellSize
    let across = min(maps.count, panelsPerRow)
    let down = (maps.count + panelsPerRow - 1) / panelsPerRow
    let width = max(
      2 * margin + across * panelWidth + max(0, across - 1) * panelGap,
      2 * margin + max(title.count * 10, (caption.map(\.count).max() ?? 0) * 7))
    let height = firstPanelTop + down * panelHeight + max(0, down - 1) * panelGap + margin
    var lines = [
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
      tag(
        "svg",
        [
          ("xmlns", "http://www.w3.org/2000/svg"), ("width", "\(width)"), ("height", "\(height)"),
          ("viewBox", "0 0 \(width) \(height)"),
          ("font-family", "DejaVu Sans, Helvetica, Arial, sans-serif"),
        ], close: false),
      tag("rect", [("width", "100%"), ("height", "100%"), ("fill", "white")]),
      tag(
        "text", [("x", "\(margin)"), ("y", "30"), ("font-size", "18"), ("font-weight", "bold")],
        text: title),
    ]
    for (index, line) in caption.enumerated() {
      let y = 30 + (index + 1) * captionLineHeight + 4
      lines.append(
        tag(
          "text", [("x", "\(margin)"), ("y", "\(y)"), ("font-size", "12"), ("fill", "#555")],
          text: line))
    }
    for (index, map) in maps.enumerated() {
      let left = margin + (index % panelsPerRow) * (panelWidth + panelGap)
      let top = firstPanelTop + (index / panelsPerRow) * (panelHeight + panelGap)
      lines += panel(map, left: left, top: top, labelWidth: labelWidth)
    }
    lines.append("</svg>")
    return lines.joined(separator: "\n") + "\n"
  }

  /// One head: its title, the key words above the columns, the query words left of the rows,
  /// and the cells, each with a tooltip giving the exact weight.
  private static func panel(_ map: HeatMap, left: Int, top: Int, labelWidth: Int) -> [String] {
    let gridLeft = left + labelWidth
    let gridTop = top + panelHeader
    var lines = [
      tag("g", [("aria-label", map.title)], close: false),
      tag(
        "text",
        [("x", "\(gridLeft)"), ("y", "\(top + 18)"), ("font-size", "15"), ("font-weight", "bold")],
        text: map.title),
    ]
    for (column, label) in map.columnLabels.enumerated() {
      let x = gridLeft + column * cellSize + cellSize / 2
      lines.append(
        tag(
          "text",
          [("x", "\(x)"), ("y", "\(gridTop - 8)"), ("font-size", "13"), ("text-anchor", "middle")],
          text: label))
    }
    for (row, label) in map.rowLabels.enumerated() {
      let y = gridTop + row * cellSize + cellSize / 2 + 5
      lines.append(
        tag(
          "text",
          [("x", "\(gridLeft - 8)"), ("y", "\(y)"), ("font-size", "13"), ("text-anchor", "end")],
          text: label))
    }
    for (row, weights) in map.weights.enumerated() {
      for (column, weight) in weights.enumerated() {
        let x = gridLeft + column * cellSize
        let y = gridTop + row * cellSize
        let intensity = map.intensity(weight)
        let tooltip = tag(
          "title", [], text: "\(map.rowLabels[row]) → \(map.columnLabels[column]): \(weight)")
        lines.append(
          tag(
            "rect",
            [
              ("x", "\(x)"), ("y", "\(y)"), ("width", "\(cellSize)"), ("height", "\(cellSize)"),
              ("fill", fillColor), ("fill-opacity", "\((intensity * 1000).rounded() / 1000)"),
              ("stroke", "#d0d5dd"),
            ], inner: tooltip))
        // Dark cells get white numbers so the weight stays readable on them.
        lines.append(
          tag(
            "text",
            [
              ("x", "\(x + cellSize / 2)"), ("y", "\(y + cellSize / 2 + 4)"), ("font-size", "11"),
              ("text-anchor", "middle"), ("fill", intensity > 0.55 ? "white" : "#222"),
            ], text: map.formatted(weight)))
      }
    }
    lines.append("</g>")
    return lines
  }

  /// An element with its attributes (values escaped) and either escaped `text`, already-built
  /// `inner` markup, nothing (self-closing), or, with `close: false`, only its opening tag.
  private static func tag(
    _ name: String, _ attributes: [(String, String)], text: String? = nil, inner: String? = nil,
    close: Bool = true
  ) -> String {
    let opening =
      "<"
      + ([name] + attributes.map { "\($0.0)=\"\(xmlEscaped($0.1))\"" })
      .joined(separator: " ")
    if !close { return opening + ">" }
    if let content = text.map(xmlEscaped) ?? inner { return opening + ">" + content + "</\(name)>" }
    return opening + "/>"
  }

}
