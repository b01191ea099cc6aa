import AttentionTestSupport
import Testing

@testable import Attention

/// The benchmark's trials of the engine's product choices (`make bench`'s "Product choices on
/// this CPU"): both sides of each choice compute the same product, so the table compares equal
/// work, and the engine's own side is the product it uses.
@Suite("Product choice trials: both sides compute the same product")
struct ProductChoiceTrialsTests {
  /// Tiles of the fused path: the small product (after transposing K) and OpenBLAS both give
  /// `(Q·Kᵀ)·V` within Float rounding of a Double computation. Each output sums `keys` terms of
  /// score × value, each score `dimension` products of values in [-0.5, 0.5): the error of two
  /// Float summation orders stays below 1e-5 of the output's scale (the largest |O|), measured
  /// 2e-7 on an AMD EPYC Zen 4.
  @Test(
    "tile products agree with Double",
    arguments: [(64, 64, 32), (6, 17, 5), (128, 128, 64), (130, 515, 129)])
  func tiles(shape: (Int, Int, Int)) {
    let tile = ProductChoiceTrials.Tile(
      rows: shape.0, keys: shape.1, dimension: shape.2, seed: 77)
    let reference = tile.doubleReference()
    let scale = reference.map(abs).max() ?? 1
    for small in [true, false] {
      tile.run(smallProduct: small)
      let error = zip(tile.output, reference).map { abs(Double($0) - $1) }.max() ?? .infinity
      #expect(
        tile.output.count == reference.count && error <= 1e-5 * scale,
        "\(shape) small product \(small): max error \(error), output scale \(scale)")
    }
  }

  /// `Linear` maps: the panel product and OpenBLAS's both give `X·Wᵀ + b` within Float rounding
  /// of a Double computation (inputs and weights standard normal: `in` products of magnitude ~1,
  /// so the tolerance is relative to √in).
  @Test("Linear products agree with Double", arguments: [(8, 384, 40), (17, 33, 65), (64, 96, 96)])
  func linearMaps(shape: (Int, Int, Int)) throws {
    let map = try ProductChoiceTrials.LinearMap(
      rows: shape.0, inputFeatures: shape.1, outputFeatures: shape.2, seed: 78)
    let reference = map.doubleReference()
    for panels in [true, false] {
      let output = map.run(panels: panels)
      let error = zip(output, reference).map { abs(Double($0) - $1) }.max() ?? .infinity
      let bound = Tolerance.floatVersusDouble * Double(shape.1).squareRoot()
      #expect(
        output.count == reference.count && error <= bound,
        "\(shape) panels \(panels): max error \(error) above \(bound)")
    }
  }
}
