import Foundation
import Testing

#if canImport(FoundationXML)
  import FoundationXML
#endif

/// `attention demo`: deterministic, every printed row a distribution, a well-formed SVG.
@Suite("attention demo: the worked example as heat maps")
struct DemoCommandTests {
  static let words = ["The", "cat", "sat", "on", "the", "mat"]

  /// The weights printed for each head: the rows that start with a word, numbers parsed.
  func printedHeads(_ output: String) -> [[[Double]]] {
    var heads: [[[Double]]] = []
    for line in output.split(separator: "\n") {
      if line.hasPrefix("Head ") {
        heads.append([])
        continue
      }
      let fields = line.split(separator: " ")
      guard let first = fields.first, Self.words.contains(String(first)), !heads.isEmpty,
        fields.count > Self.words.count
      else { continue }
      heads[heads.count - 1].append(fields.compactMap { Double($0) })
    }
    return heads
  }

  @Test("prints one labelled heat map per head whose rows sum to 1, the same for the same seed")
  func terminalHeatMaps() throws {
    let scratch = try ScratchDirectory()
    let first = try scratch.run(["demo", "--heads", "4", "--seed", "7"])
    try #require(first.status == 0, "\(first)")
    #expect(first.standardError.isEmpty)
    #expect(first.standardOutput.contains("The cat sat on the mat"))
    let heads = printedHeads(first.standardOutput)
    #expect(heads.count == 4)
    for head in heads {
      #expect(head.count == Self.words.count)
      for row in head {
        #expect(row.count == Self.words.count)
        // Six weights printed with two decimals: the sum is 1 within 6 × 0.005.
        #expect(abs(row.reduce(0, +) - 1) <= 0.03, "\(row)")
        #expect(row.allSatisfy { (0...1).contains($0) })
      }
    }
    let again = try scratch.run(["demo", "--heads", "4", "--seed", "7"])
    #expect(again.standardOutput == first.standardOutput)
    let other = try scratch.run(["demo", "--heads", "4", "--seed", "8"])
    #expect(other.standardOutput != first.standardOutput)
  }

  @Test("--svg writes a well-formed SVG: a titled panel per head, a cell per word pair")
  func svgFile() throws {
    let scratch = try ScratchDirectory()
    let result = try scratch.run(["demo", "--svg", "heads.svg"])
    try #require(result.status == 0, "\(result)")
    let data = try Data(contentsOf: scratch.url.appendingPathComponent("heads.svg"))
    let collector = SVGCollector()
    let parser = XMLParser(data: data)
    parser.delegate = collector
    #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
    #expect(collector.rootElement == "svg")
    // Default: 2 heads of 6 × 6 cells, each cell a <rect> with a <title> tooltip "q → k: w".
    let cells = collector.titles.filter { $0.contains("→") }
    #expect(cells.count == 2 * 36)
    #expect(collector.texts.contains("Head 1 of 2"))
    #expect(collector.texts.contains("Head 2 of 2"))
    for word in Self.words { #expect(collector.texts.contains(word)) }
    // The tooltips carry full-precision weights: each query row of each head sums to 1.
    let weights = cells.compactMap { Double($0.split(separator: " ").last ?? "") }
    #expect(weights.count == 72)
    for row in stride(from: 0, to: weights.count, by: 6) {
      #expect(abs(weights[row..<row + 6].reduce(0, +) - 1) < 1e-9)
    }
  }

  @Test("a head count that does not divide d_model = 16 is a usage error")
  func badHeads() throws {
    let scratch = try ScratchDirectory()
    expectOneLineError(
      try scratch.run(["demo", "--heads", "3"]), status: 64,
      containing: ["--heads 3", "d_model = 16"])
    expectOneLineError(
      try scratch.run(["demo", "--heads", "0"]), status: 64, containing: ["--heads"])
  }
}

/// Gathers the root element, the `<title>` texts and the `<text>` texts of an SVG document.
private final class SVGCollector: NSObject, XMLParserDelegate {
  var rootElement: String?
  var titles: [String] = []
  var texts: [String] = []
  private var current: String?
  private var buffer = ""

  func parser(
    _ parser: XMLParser, didStartElement name: String, namespaceURI: String?,
    qualifiedName: String?, attributes: [String: String] = [:]
  ) {
    if rootElement == nil { rootElement = name }
    if name == "title" || name == "text" {
      current = name
      buffer = ""
    }
  }

  func parser(_ parser: XMLParser, foundCharacters string: String) {
    if current != nil { buffer += string }
  }

  func parser(
    _ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?
  ) {
    guard name == current else { return }
    if name == "title" { titles.append(buffer) } else { texts.append(buffer) }
    current = nil
  }
}
