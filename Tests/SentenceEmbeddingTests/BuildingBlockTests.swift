import Attention
import AttentionTestSupport
import Foundation
import Testing

@testable import SentenceEmbedding

/// GELU, layer normalisation and mean pooling against float64 formulas.
@Suite struct BuildingBlockTests {
  @Test(
    "GELU is within 2.5e-7 · max(1, |x|) (about 2 ulp) of ½x(1 + erf(x/√2)) in Double, from −12 to 12"
  )
  func geluAccuracy() throws {
    // 240,001 points (not a multiple of 8, so the tail path runs too), plus the edges.
    var inputs = (0...240_000).map { Float(-12 + 24 * Double($0) / 240_000) }
    inputs += [0, -0.0, 1e-30, -1e-30, 5.6, -5.6, 5.7, -5.7, .infinity, .nan]
    var tensor = try Tensor(shape: [inputs.count], scalars: inputs)
    GELU.apply(to: &tensor)
    try #require(tensor.count == inputs.count)
    for (x, y) in zip(inputs, tensor.scalars) where x.isFinite {
      let exact = 0.5 * Double(x) * (1 + erf(Double(x) / 2.0.squareRoot()))
      #expect(
        abs(Double(y) - exact) <= 2.5e-7 * max(1, abs(Double(x))), "gelu(\(x)) = \(y), not \(exact)"
      )
    }
    // Beyond |x/√2| = 4 erf is exactly ±1: GELU is exactly 0 below and exactly x above.
    for (x, y) in zip(inputs, tensor.scalars) where x.isFinite && abs(x) > 5.66 {
      #expect(y == (x < 0 ? 0 : x), "gelu(\(x)) = \(y)")
    }
    #expect(tensor.scalars[inputs.count - 2] == .infinity)
    #expect(tensor.scalars[inputs.count - 1].isNaN)
  }

  @Test("layer norm with a residual matches the float64 formula")
  func layerNorm() throws {
    var generator = SplitMix64(seed: 11)
    let x = try Tensor<Float>.randomNormal(
      shape: [3, 5, 16], mean: 3, standardDeviation: 2, using: &generator)
    let r = try Tensor<Float>.randomNormal(shape: [3, 5, 16], using: &generator)
    let gamma = try Tensor<Float>.randomNormal(
      shape: [16], mean: 1, standardDeviation: 0.2, using: &generator)
    let beta = try Tensor<Float>.randomNormal(shape: [16], using: &generator)
    let norm = LayerNorm(weight: gamma, bias: beta, epsilon: 1e-12)
    let y = norm(x, adding: r)
    var expected = [Double]()
    for row in 0..<15 {
      let values = (0..<16).map { Double(x.scalars[row * 16 + $0] + r.scalars[row * 16 + $0]) }
      let mean = values.reduce(0, +) / 16
      let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 16
      for i in 0..<16 {
        expected.append(
          (values[i] - mean) / (variance + 1e-12).squareRoot() * Double(gamma.scalars[i])
            + Double(beta.scalars[i]))
      }
    }
    expectClose(y.scalars, expected, tolerance: Tolerance.floatShortComputation)
  }

  @Test(
    "layer norm of wide rows with a large common offset matches the float64 formula",
    arguments: [
      (width: 389, residual: true), (width: 384, residual: false), (width: 7, residual: true),
    ])
  func layerNormLargeOffset(width: Int, residual: Bool) throws {
    // 90 rows: enough elements to split across workers; widths with and without a vector tail.
    // Mean 2000, standard deviation 2: a Float sum of the row rounds by far more than the spread
    // of the values, so only the corrected two-pass algorithm stays this close.
    var generator = SplitMix64(seed: UInt64(width))
    let rows = 90
    let x = try Tensor<Float>.randomNormal(
      shape: [rows, width], mean: 2000, standardDeviation: 2, using: &generator)
    let r = try Tensor<Float>.randomNormal(shape: [rows, width], using: &generator)
    let gamma = try Tensor<Float>.randomNormal(
      shape: [width], mean: 1, standardDeviation: 0.2, using: &generator)
    let beta = try Tensor<Float>.randomNormal(shape: [width], using: &generator)
    let y = LayerNorm(weight: gamma, bias: beta, epsilon: 1e-12)(x, adding: residual ? r : nil)
    var expected = [Double]()
    for row in 0..<rows {
      let values = (0..<width).map { i in
        let index = row * width + i
        return Double(residual ? x.scalars[index] + r.scalars[index] : x.scalars[index])
      }
      let mean = values.reduce(0, +) / Double(width)
      let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(width)
      for i in 0..<width {
        expected.append(
          (values[i] - mean) / (variance + 1e-12).squareRoot() * Double(gamma.scalars[i])
            + Double(beta.scalars[i]))
      }
    }
    expectClose(y.scalars, expected, tolerance: Tolerance.floatShortComputation)
  }

  @Test("mean pooling averages only the real tokens and normalises to unit length")
  func meanPooling() throws {
    // Two sequences of 3 positions, width 2; the second has one real token.
    let hidden = try Tensor<Float>(
      shape: [2, 3, 2], scalars: [3, 0, 1, 2, 2, 1, 0, -5, 100, 100, 100, 100])
    let pooled = MeanPooling.normalizedMeans(of: hidden, lengths: [3, 1])
    // Means (2, 1) and (0, -5), normalised.
    let expected = try Tensor(
      shape: [2, 2], scalars: [2 / 5.0.squareRoot(), 1 / 5.0.squareRoot(), 0, -1])
    expectClose(pooled, expected, tolerance: Tolerance.floatShortComputation)
  }

  @Test("a token batch pads to the longest sequence and keeps each length")
  func tokenBatch() throws {
    let batch = try TokenBatch(
      sequences: [[101, 5, 102], [101, 102], [101, 7, 8, 102]], paddingID: 0)
    #expect(batch.sequenceLength == 4)
    #expect(batch.lengths == [3, 2, 4])
    #expect(batch.ids == [101, 5, 102, 0, 101, 102, 0, 0, 101, 7, 8, 102])
    #expect(Array(batch.sequence(1)) == [101, 102])
  }
}
