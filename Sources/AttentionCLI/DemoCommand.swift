import ArgumentParser
import Attention

/// `attention demo`: the worked example of the project's notes, "The cat sat on the mat",
/// through one multi-head self-attention layer, with every head's weights drawn as a heat map.
struct DemoCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "demo",
    abstract: "Self-attention over \"The cat sat on the mat\", each head drawn as a heat map.",
    discussion: """
      Each word gets a toy embedding: a vector of normal samples seeded by the word itself \
      (lower-cased, so "The" and "the" share one) and by --seed, to which the sinusoidal \
      encoding of its position is added, so the two "the"s still differ. One multi-head \
      self-attention layer with Xavier-uniform weights drawn from --seed (as PyTorch's \
      nn.MultiheadAttention initialises them) attends over the sentence. Every head's attention \
      weights are printed as a table: a row per query word, a column per key word, each row \
      summing to 1, shaded ·░▒▓█ relative to the head's largest weight. Nothing is trained, so \
      the patterns are those of random projections: the demo shows the mechanics, not meaning.
      """
  )

  /// `d_model`, small enough to read, divisible by 1, 2, 4, 8 and 16 heads.
  static let embedDimension = 16

  @Option(help: "The words to attend over, separated by spaces.")
  var sentence = "The cat sat on the mat"

  @Option(help: "Number of attention heads; must divide d_model = \(Self.embedDimension).")
  var heads = 2

  @Option(help: "Seed of the word vectors and the layer's weights.")
  var seed: UInt64 = 1

  @Option(help: ArgumentHelp("Also write every head as an SVG heat map.", valueName: "file.svg"))
  var svg: String?

  func validate() throws {
    guard !words.isEmpty else { throw ValidationError("--sentence has no words") }
    guard heads > 0 else { throw ValidationError("--heads must be positive, got \(heads)") }
    guard Self.embedDimension % heads == 0 else {
      throw ValidationError(
        "--heads \(heads) does not divide d_model = \(Self.embedDimension); use 1, 2, 4, 8 or 16")
    }
  }

  private var words: [String] {
    sentence.split(whereSeparator: \.isWhitespace).map(String.init)
  }

  func run() throws {
    let words = words
    let d = Self.embedDimension
    let embeddings = try Tensor<Double>(
      shape: [words.count, d], scalars: words.flatMap { Self.wordVector($0, seed: seed) })
    let x = try SinusoidalPositionalEncoding<Double>(dimension: d).adding(to: embeddings)
    var generator = SplitMix64(seed: seed)
    let layer = try MultiHeadAttention<Double>(
      embedDimension: d, headCount: heads, using: &generator)
    // An unbatched [N, E] input gives per-head weights [H, N, N].
    let weights = try layer(x, returningWeights: .perHead).weights
    let n = words.count
    let maps = (0..<heads).map { head in
      HeatMap(
        title: "Head \(head + 1) of \(heads)", rowLabels: words, columnLabels: words,
        weights: (0..<n).map { row in
          Array(weights.scalars[(head * n + row) * n..<(head * n + row + 1) * n])
        })
    }

    print("Self-attention over \"\(words.joined(separator: " "))\"")
    print(
      "\(n) words · d_model = \(d) · \(heads) head\(heads == 1 ? "" : "s") of "
        + "\(d / heads) features · seed \(seed)")
    print("rows: query word · columns: key word · each row sums to 1 · shade ∝ weight")
    for map in maps { print("\n" + map.terminalText()) }

    if let svg {
      let document = SVGHeatMap.document(
        maps, title: "Self-attention weights: \u{201C}\(words.joined(separator: " "))\u{201D}",
        caption: [
          "Toy word vectors + sinusoidal positions, one self-attention layer with Xavier weights: "
            + "d_model = \(d), \(heads) head\(heads == 1 ? "" : "s"), seed \(seed).",
          "Rows: query word; columns: key word; each row sums to 1; "
            + "colour opacity ∝ weight / the head's largest weight.",
        ])
      do {
        try AtomicFile.write(Array(document.utf8), to: svg)
      } catch {
        throw CommandLineError("\(error) (--svg)")
      }
      print("\nwrote \(svg)")
    }
  }

  /// The toy embedding of `word`: `d_model` standard normal samples from a generator seeded by
  /// the lower-cased word (FNV-1a) and the demo's seed, so a word always gets the same vector.
  static func wordVector(_ word: String, seed: UInt64) -> [Double] {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in word.lowercased().utf8 {
      hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
    }
    var generator = SplitMix64(seed: hash ^ seed)
    return (0..<embedDimension).map { _ in generator.nextGaussian() }
  }
}
