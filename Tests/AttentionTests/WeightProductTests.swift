import AttentionTestSupport
import Testing

@testable import Attention

/// The engine's product `Y = X·Wᵀ + b` over packed panels of `Wᵀ` (``WeightProduct``, what a Float
/// ``Linear`` map runs on AVX-512): every instruction set against a Double computation, across
/// panel, row-block and vector tails; the same result whatever the number of workers; and
/// non-finite values kept to the rows and columns they belong to.
@Suite("Weight product: packed panels of Wᵀ against Double, any split, non-finite values")
struct WeightProductTests {
  /// `(rows, out, in)`: one of each; out around the 32-column panel (1, 31, 33, 70, 96, 200
  /// columns: partial and whole panels, partial vectors); rows around the 6-row blocks and past
  /// a row block of the L2 blocking (130 rows of 384 features: blocks of 84); short and long sums.
  static let shapes: [(rows: Int, out: Int, in: Int)] = [
    (1, 1, 1), (5, 33, 7), (16, 32, 64), (23, 70, 129), (61, 1, 40), (7, 200, 3),
    (130, 96, 384), (40, 31, 1),
  ]

  /// `rows × in` inputs (row stride `stride`), an `[out, in]` weight scaled like a trained one
  /// (outputs of order 1) and a bias.
  struct Operands<S: AttentionScalar> {
    let x: [S]
    let w: [S]
    let bias: [S]
    let rows: Int, out: Int, inCount: Int, stride: Int

    init(rows: Int, out: Int, in inCount: Int, stride: Int, seed: UInt64) {
      var generator = SplitMix64(seed: seed)
      let scale = 1 / Double(inCount).squareRoot()
      x = (0..<(rows * stride)).map { _ in S(Double.random(in: -2..<2, using: &generator)) }
      w = (0..<(out * inCount)).map { _ in
        S(scale * Double.random(in: -1..<1, using: &generator))
      }
      bias = (0..<out).map { _ in S(Double.random(in: -1..<1, using: &generator)) }
      (self.rows, self.out, self.inCount, self.stride) = (rows, out, inCount, stride)
    }

    /// The product by the engine.
    func product(withBias: Bool, kernels: VectorKernels, maximumWorkers: Int = .max) -> [S] {
      [S](unsafeUninitializedCapacity: rows * out) { y, initialized in
        x.withUnsafeBufferPointer { x in
          w.withUnsafeBufferPointer { w in
            bias.withUnsafeBufferPointer { bias in
              WeightProduct.multiply(
                rows: x.baseAddress!, rowCount: rows, rowStride: stride,
                weight: w.baseAddress!, outCount: out, inCount: inCount,
                bias: withBias ? bias.baseAddress! : nil, into: y.baseAddress!,
                using: kernels, maximumWorkers: maximumWorkers)
            }
          }
        }
        initialized = rows * out
      }
    }

    /// The same formula in Double.
    func reference(withBias: Bool) -> [Double] {
      var y: [Double] = []
      for r in 0..<rows {
        for o in 0..<out {
          var sum = withBias ? Double(bias[o]) : 0
          for i in 0..<inCount { sum += Double(x[r * stride + i]) * Double(w[o * inCount + i]) }
          y.append(sum)
        }
      }
      return y
    }
  }

  @Test(
    "Every instruction set against Double: tails, padded row strides, with and without bias",
    arguments: VectorKernels.supportedLevels)
  func againstDouble(level: VectorKernels.Level) throws {
    let kernels = try #require(VectorKernels(level))
    for (index, shape) in Self.shapes.enumerated() {
      for stride in [shape.in, shape.in + 5] {
        let float = Operands<Float>(
          rows: shape.rows, out: shape.out, in: shape.in, stride: stride, seed: UInt64(index))
        let double = Operands<Double>(
          rows: shape.rows, out: shape.out, in: shape.in, stride: stride, seed: UInt64(index))
        for withBias in [false, true] {
          let label =
            "\(level) \(shape.rows)×\(shape.out)×\(shape.in) stride \(stride) bias \(withBias)"
          expectClose(
            float.product(withBias: withBias, kernels: kernels),
            float.reference(withBias: withBias), tolerance: Tolerance.floatVersusDouble, label)
          expectClose(
            double.product(withBias: withBias, kernels: kernels),
            double.reference(withBias: withBias), tolerance: Tolerance.doubleVersusDouble, label)
        }
      }
    }
  }

  @Test("One worker and every worker give bit-identical results (the same loops per element)")
  func independentOfWorkers() {
    // 200 × 300 × 64: 10 panels split across workers; 130 × 20 × 384: one panel, rows split.
    for (rows, out, inCount) in [(200, 300, 64), (130, 20, 384)] {
      let operands = Operands<Float>(rows: rows, out: out, in: inCount, stride: inCount, seed: 5)
      let alone = operands.product(withBias: true, kernels: .active, maximumWorkers: 1)
      for workers in 2...Swift.max(2, AttentionThreads.availableCoreCount) {
        let split = operands.product(withBias: true, kernels: .active, maximumWorkers: workers)
        #expect(
          split.elementsEqual(alone, by: { $0.bitPattern == $1.bitPattern }),
          "\(rows)×\(out)×\(inCount) with \(workers) workers")
      }
    }
  }

  @Test("A NaN input row and an infinite weight reach only their own row and column")
  func nonFiniteValuesStayLocal() {
    let (rows, out, inCount) = (40, 70, 50)
    let operands = Operands<Float>(rows: rows, out: out, in: inCount, stride: inCount, seed: 9)
    var x = operands.x
    var w = operands.w
    x[7 * inCount + 3] = .nan  // row 7
    w[45 * inCount + 11] = .infinity  // column 45
    let poisoned = Operands<Float>(
      x: x, w: w, bias: operands.bias, rows: rows, out: out, inCount: inCount, stride: inCount)
    let y = poisoned.product(withBias: true, kernels: .active)
    let expected = operands.reference(withBias: true)
    for r in 0..<rows {
      for o in 0..<out {
        let value = y[r * out + o]
        if r == 7 || o == 45 {
          #expect(!value.isFinite, "row \(r) column \(o) should be non-finite, got \(value)")
        } else {
          #expect(
            abs(Double(value) - expected[r * out + o]) <= 1e-5 * (1 + abs(expected[r * out + o])),
            "row \(r) column \(o): \(value) against \(expected[r * out + o])")
        }
      }
    }
  }

  @Test("Linear maps of 16 to 300 rows (the weight product on AVX-512) match Double")
  func linearRows() throws {
    var data = TestData(seed: 31)
    for (rows, out, inCount) in [(16, 40, 24), (37, 96, 64), (300, 33, 129)] {
      let x: Tensor<Double> = data.normal([rows, inCount])
      let w: Tensor<Double> = data.normal([out, inCount])
      let b: Tensor<Double> = data.normal([out])
      let expected = try Tensor(
        shape: [rows, out], scalars: ReferenceLinear(weight: w, bias: b)(x.scalars, rows: rows))
      let float = try Linear(weight: w.converted(to: Float.self), bias: b.converted())(
        x.converted())
      expectClose(
        float.converted(to: Double.self), expected, tolerance: Tolerance.floatVersusDouble,
        "\(rows)×\(out)×\(inCount), weight product \(WeightProduct.isPreferred(for: Float.self, rows: rows))"
      )
    }
  }
}

extension WeightProductTests {
  @Test("A map with its weight packed once gives the per-call packing's results, bit for bit")
  func packedOnce() throws {
    var data = TestData(seed: 41)
    for (rows, out, inCount) in [(3, 40, 24), (16, 33, 7), (100, 96, 64), (57, 200, 129)] {
      let x: Tensor<Float> = data.normal([rows, inCount])
      let map = try Linear<Float>(weight: data.normal([out, inCount]), bias: data.normal([out]))
      let perCall = try map(x)
      let packed = try map.packingWeight()(x)
      #expect(
        packed.scalars.elementsEqual(perCall.scalars, by: { $0.bitPattern == $1.bitPattern }),
        "\(rows)×\(out)×\(inCount)")
    }
  }
}

extension WeightProductTests {
  @Test(
    "Written split into heads: every instruction set gives the row layout's values, re-laid",
    arguments: VectorKernels.supportedLevels)
  func headLayout(level: VectorKernels.Level) throws {
    let kernels = try #require(VectorKernels(level))
    // (sequences, tokens, heads, head dimension, in): blocks of 84 rows cut at sequence ends,
    // panels of 32 within heads of 32 and 64 columns.
    for (sequences, tokens, heads, dimension, inCount) in [
      (1, 40, 12, 32, 384), (3, 37, 2, 64, 50), (2, 100, 3, 32, 384),
    ] {
      let out = heads * dimension
      let operands = Operands<Float>(
        rows: sequences * tokens, out: out, in: inCount, stride: inCount, seed: 17)
      let rowLayout = operands.product(withBias: true, kernels: kernels)
      let split = [Float](unsafeUninitializedCapacity: rowLayout.count) { y, initialized in
        operands.x.withUnsafeBufferPointer { x in
          operands.w.withUnsafeBufferPointer { w in
            operands.bias.withUnsafeBufferPointer { bias in
              WeightProduct.multiply(
                rows: x.baseAddress!, rowCount: sequences * tokens, rowStride: inCount,
                weight: w.baseAddress!, outCount: out, inCount: inCount,
                bias: bias.baseAddress!, into: y.baseAddress!,
                heads: (dimension: dimension, rowsPerSequence: tokens), using: kernels)
            }
          }
        }
        initialized = rowLayout.count
      }
      let expected = try Tensor(shape: [sequences, tokens, out], scalars: rowLayout)
        .splittingHeads(headCount: heads)
      #expect(
        split.elementsEqual(expected.scalars, by: { $0.bitPattern == $1.bitPattern }),
        "\(level) \(sequences)×\(tokens), \(heads) heads of \(dimension)")
    }
  }

  @Test("Linear.splittingHeads equals the map followed by the split, bit for bit")
  func linearSplittingHeads() throws {
    var data = TestData(seed: 43)
    // Heads of 32 and 64 (the direct write on AVX-512), of 16 (always the split), few rows.
    for (batch, tokens, heads, dimension, inCount) in [
      (1, 40, 12, 32, 384), (2, 30, 2, 64, 24), (2, 20, 4, 16, 8), (1, 5, 2, 32, 16),
    ] {
      let x: Tensor<Float> = data.normal([batch, tokens, inCount])
      let map = try Linear<Float>(
        weight: data.normal([heads * dimension, inCount]), bias: data.normal([heads * dimension]))
      for candidate in [map, map.packingWeight()] {
        let direct = try candidate.splittingHeads(of: x, headCount: heads)
        let twoSteps = try candidate(x).splittingHeads(headCount: heads)
        #expect(direct.shape == twoSteps.shape)
        #expect(
          direct.scalars.elementsEqual(twoSteps.scalars, by: { $0.bitPattern == $1.bitPattern }),
          "\(batch)×\(tokens)×\(inCount), \(heads) heads of \(dimension)")
      }
    }
  }
}

extension WeightProductTests.Operands {
  /// Operands with given values.
  init(x: [S], w: [S], bias: [S], rows: Int, out: Int, inCount: Int, stride: Int) {
    (self.x, self.w, self.bias) = (x, w, bias)
    (self.rows, self.out, self.inCount, self.stride) = (rows, out, inCount, stride)
  }
}
