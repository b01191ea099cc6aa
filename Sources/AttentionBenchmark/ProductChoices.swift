import Attention
import CommandLineSupport

/// The engine's two per-CPU product choices, timed on this CPU: for each shape, the engine's own
/// product and OpenBLAS's, alternately, and whether the side the engine takes here is the faster.
///
/// The rules (``ProductChoiceTrials``) were measured on the developers' CPUs; this table says on
/// every `make bench` whether they still hold, so that a CPU favouring the other side (an Intel
/// Xeon, a newer OpenBLAS) shows it at once.
struct ProductChoices: Sendable {
  /// The two sides of one shape.
  struct Comparison: Sendable {
    /// `tile 128×128×64` or `Linear 512 rows 384→1536`.
    var label: String
    var operationCount: Double
    /// The engine's own product (the small product for tiles, the panel product for `Linear`).
    var ownProduct: RunTimes
    var openBLAS: RunTimes
    /// Whether the engine takes its own product for this shape on this CPU.
    var engineTakesOwnProduct: Bool

    /// OpenBLAS's median time ÷ the engine's own product's: above 1, the own product is faster.
    var openBLASOverOwn: Double { openBLAS.median / ownProduct.median }

    /// How much slower the side the engine takes is than the other (0 when it is the faster).
    var choiceLoss: Double {
      let (taken, other) =
        engineTakesOwnProduct
        ? (ownProduct.median, openBLAS.median) : (openBLAS.median, ownProduct.median)
      return Swift.max(0, taken / other - 1)
    }

    /// A loss within this share is noise, not a wrong choice.
    static let tolerance = 0.05

    var verdict: String {
      let loss = choiceLoss
      if loss == 0 { return "the faster" }
      if loss <= Self.tolerance { return "within \(formatted(100 * loss, digits: 0)) %" }
      return "**slower by \(formatted(100 * loss, digits: 0)) %**"
    }

    func gigaflops(_ times: RunTimes) -> Double { operationCount / times.median / 1e9 }
  }

  var instructionSet: String
  var rounds: Int
  var tiles: [Comparison]
  var linearMaps: [Comparison]

  /// Tiles of the fused path (rows × keys × head dimension): a batch of short sentences, N = 128
  /// at D = 64 and 128, and the largest tiles of long sequences.
  static let tileShapes = [
    (64, 64, 32), (128, 128, 64), (128, 128, 128), (256, 512, 64), (256, 512, 128),
  ]

  /// `Linear` maps (rows, in, out): all-MiniLM-L6-v2's projections and MLP at 512 rows (a batch
  /// of sentences), at 16 rows (the engine's threshold) and 8 (below it), and a SmolLM2 MLP map
  /// at a 128-token prompt.
  static let linearShapes = [
    (8, 384, 384), (16, 384, 384), (512, 384, 384), (512, 384, 1536), (512, 1536, 384),
    (128, 576, 1536),
  ]

  /// Times every shape: `rounds` rounds per shape, each one turn per side in alternating order
  /// (a 150 ms pause before each turn, so that OpenBLAS's spinning threads stop, then ~10 ms of
  /// untimed runs and ~`turnSeconds` of timed runs).
  static func measure(rounds: Int, turnSeconds: Double, progress: (Comparison) -> Void) throws
    -> ProductChoices
  {
    var tiles = [Comparison]()
    for (index, (rows, keys, dimension)) in tileShapes.enumerated() {
      let tile = ProductChoiceTrials.Tile(
        rows: rows, keys: keys, dimension: dimension, seed: 500 + UInt64(index))
      let (own, blas) = alternate(rounds: rounds, turnSeconds: turnSeconds) { own in
        Sink.consume(tile.run(smallProduct: own))
      }
      let comparison = Comparison(
        label: "tile \(rows)×\(keys)×\(dimension)", operationCount: tile.operationCount,
        ownProduct: own, openBLAS: blas, engineTakesOwnProduct: tile.engineUsesSmallProduct)
      progress(comparison)
      tiles.append(comparison)
    }
    var maps = [Comparison]()
    for (index, (rows, inputs, outputs)) in linearShapes.enumerated() {
      let map = try ProductChoiceTrials.LinearMap(
        rows: rows, inputFeatures: inputs, outputFeatures: outputs, seed: 600 + UInt64(index))
      let (own, blas) = alternate(rounds: rounds, turnSeconds: turnSeconds) { own in
        Sink.consume(map.run(panels: own)[0])
      }
      let comparison = Comparison(
        label: "Linear \(rows) rows \(inputs)→\(outputs)", operationCount: map.operationCount,
        ownProduct: own, openBLAS: blas, engineTakesOwnProduct: map.engineUsesPanels)
      progress(comparison)
      maps.append(comparison)
    }
    return ProductChoices(
      instructionSet: ProductChoiceTrials.instructionSet, rounds: rounds, tiles: tiles,
      linearMaps: maps)
  }

  /// Both sides of `body` (`true`: the engine's own product), turn by turn, the side that starts
  /// swapping each round; each side's timed runs of every round together.
  private static func alternate(
    rounds: Int, turnSeconds: Double, _ body: (_ own: Bool) -> Void
  ) -> (own: RunTimes, openBLAS: RunTimes) {
    var times: [Bool: [Double]] = [true: [], false: []]
    // One run of each side first, untimed: sizes the turns and pays first-touch costs.
    let probe = Timing.measure(warmups: 0, repetitions: 1) { body(true) }[0]
    _ = Timing.measure(warmups: 0, repetitions: 1) { body(false) }
    let runs = Swift.max(
      3, Swift.min(Timing.maximumRuns, Int(turnSeconds / Swift.max(probe, 1e-7))))
    for round in 0..<rounds {
      for own in round % 2 == 0 ? [true, false] : [false, true] {
        Timing.settle()
        times[own]! += Timing.measure(
          warmups: Swift.max(1, Timing.warmUpRuns(runSeconds: probe) / 3), repetitions: runs
        ) { body(own) }
      }
    }
    return (RunTimes(times[true]!), RunTimes(times[false]!))
  }

  /// The progress line of one comparison.
  static func line(_ c: Comparison) -> String {
    paddedRight(c.label + " ", to: 30)
      + "own \(c.ownProduct.medianMilliseconds) ms (\(rate(c.gigaflops(c.ownProduct))) GFLOP/s), "
      + "OpenBLAS \(c.openBLAS.medianMilliseconds) ms (\(rate(c.gigaflops(c.openBLAS))) GFLOP/s): "
      + "OpenBLAS ÷ own \(formatted(c.openBLASOverOwn, digits: 2)); the engine takes "
      + (c.engineTakesOwnProduct ? "its own" : "OpenBLAS")
      + ", \(c.verdict.replacingOccurrences(of: "**", with: ""))"
  }

  /// The comparisons whose chosen side loses by more than ``Comparison/tolerance``.
  var wrongChoices: [Comparison] {
    (tiles + linearMaps).filter { $0.choiceLoss > Comparison.tolerance }
  }

  /// One sentence: whether every choice takes the faster side on this CPU.
  var summary: String {
    let wrong = wrongChoices
    guard !wrong.isEmpty else {
      return "Every choice takes the faster product on this CPU, or one within "
        + "\(formatted(100 * Comparison.tolerance, digits: 0)) % of it."
    }
    return "\(wrong.count) of \(tiles.count + linearMaps.count) choices take a product more than "
      + "\(formatted(100 * Comparison.tolerance, digits: 0)) % slower than the other on this CPU ("
      + wrong.map(\.label).joined(separator: ", ")
      + "): the rules are `TileProducts.smallProductLimit` (tiles) and "
      + "`WeightProduct.isPreferred` (Linear), in Sources/Attention/Kernels."
  }

  var markdown: [String] {
    var lines = [
      "", "## Product choices on this CPU", "",
      "The engine multiplies small attention tiles and `Linear` maps with its own product (C "
        + "loops, `\(instructionSet)` here) or with OpenBLAS's sgemm, by rules measured on other "
        + "CPUs (`TileProducts.smallProductLimit`, `WeightProduct.isPreferred`). Both sides here, "
        + "alternately (\(rounds) rounds): tiles on one thread as the fused path's workers run "
        + "them (scores Q·Kᵀ, the small product after transposing K, then P·V: 4·rows·keys·D "
        + "operations), `Linear` maps on every thread (Y = X·Wᵀ + b, the panels of Wᵀ copied "
        + "per call). \(summary)",
      "",
      "| product | own ms (GFLOP/s) | OpenBLAS ms (GFLOP/s) | OpenBLAS ÷ own | the engine takes | its choice here |",
      "|---|--:|--:|--:|---|---|",
    ]
    for c in tiles + linearMaps {
      lines.append(
        "| \(c.label) | \(c.ownProduct.medianMilliseconds) (\(rate(c.gigaflops(c.ownProduct)))) | "
          + "\(c.openBLAS.medianMilliseconds) (\(rate(c.gigaflops(c.openBLAS)))) | "
          + "\(formatted(c.openBLASOverOwn, digits: 2)) | "
          + (c.engineTakesOwnProduct ? "own" : "OpenBLAS") + " | \(c.verdict) |")
    }
    return lines
  }
}
