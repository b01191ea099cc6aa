import AttentionTestSupport
import Testing

@testable import Attention

@Suite("Linear map y = x·Wᵀ + b against plain loops")
struct LinearTests {
  /// (input shape, out features): ranks 1 to 4, one row, one feature, odd sizes.
  static let cases: [([Int], Int)] = [
    ([5], 3), ([1, 1], 1), ([7, 13], 11), ([2, 3, 16], 9), ([2, 2, 3, 5], 1),
  ]

  @Test("Float and Double agree with the loop reference, with and without bias", arguments: cases)
  func matchesReference(inputShape: [Int], outCount: Int) throws {
    var data = TestData(seed: 11)
    let inCount = inputShape.last!
    let x: Tensor<Double> = data.normal(inputShape)
    let w: Tensor<Double> = data.normal([outCount, inCount])
    let b: Tensor<Double> = data.normal([outCount])
    for bias in [b, nil] {
      let rows = x.count / inCount
      let expected = try Tensor(
        shape: inputShape.dropLast() + [outCount],
        scalars: ReferenceLinear(weight: w, bias: bias)(x.scalars, rows: rows))
      let double = try Linear(weight: w, bias: bias)(x)
      expectClose(double, expected, tolerance: Tolerance.doubleVersusDouble)
      let float = try Linear(weight: w.converted(to: Float.self), bias: bias?.converted())(
        x.converted())
      expectClose(
        float.converted(to: Double.self), expected, tolerance: Tolerance.floatVersusDouble)
    }
  }

  @Test(
    "Rows of a wider matrix (a row stride above in), 1…9 rows (the gemv and gemm products)",
    arguments: [1, 2, 4, 5, 9])
  func stridedRows(rowCount: Int) throws {
    var data = TestData(seed: 12)
    let (inCount, outCount, stride) = (7, 5, 11)
    let wide: Tensor<Float> = data.normal([rowCount, stride])
    let leading = (0..<rowCount).flatMap { wide.scalars[($0 * stride)..<($0 * stride + inCount)] }
    let w: Tensor<Float> = data.normal([outCount, inCount])
    let b: Tensor<Float> = data.normal([outCount])
    for bias in [b, nil] {
      let layer = try Linear(weight: w, bias: bias)
      let expected = try layer(Tensor(shape: [rowCount, inCount], scalars: leading))
      let strided = wide.withUnsafeBufferPointer {
        layer.apply(rows: $0.baseAddress, rowCount: rowCount, rowStride: stride)
      }
      expectClose(
        try Tensor(shape: [rowCount, outCount], scalars: strided), expected,
        tolerance: Tolerance.floatVersusDouble)
    }
  }

  @Test(
    "A decoder-sized product of 1…4 rows, split across threads, matches the loop reference and the unsplit product",
    arguments: [1, 3, 4])
  func largeFewRows(rowCount: Int) throws {
    // 1,037 × 301 = 312k weights: several workers' worth (65,536 each), rows not a multiple of 4.
    var data = TestData(seed: 13)
    let (inCount, outCount) = (301, 1037)
    let x: Tensor<Double> = data.normal([rowCount, inCount])
    let w: Tensor<Double> = data.normal([outCount, inCount])
    let b: Tensor<Double> = data.normal([outCount])
    for bias in [b, nil] {
      let expected = try Tensor(
        shape: [rowCount, outCount],
        scalars: ReferenceLinear(weight: w, bias: bias)(x.scalars, rows: rowCount))
      let layer = try Linear(weight: w.converted(to: Float.self), bias: bias?.converted())
      let input: Tensor<Float> = x.converted()
      let split = try layer(input)
      expectClose(
        split.converted(to: Double.self), expected, tolerance: Tolerance.floatVersusDouble)
      // OpenBLAS held at one thread (as inside the attention workers): one worker, the same
      // loop per row, so the same bits.
      let unsplit = try BLAS.withSingleThread { try layer(input) }
      #expect(split.scalars == unsplit.scalars, "rows \(rowCount), bias \(bias != nil)")
      let double = try Linear(weight: w, bias: bias)(x)
      expectClose(double, expected, tolerance: Tolerance.doubleVersusDouble)
    }
  }

  @Test("A hand-computed example")
  func handExample() throws {
    let w = try Tensor<Float>(shape: [2, 3], scalars: [1, 0, 0, 0, 1, 1])
    let layer = try Linear(weight: w, bias: Tensor(shape: [2], scalars: [0, 10]))
    let y = try layer(Tensor(shape: [1, 3], scalars: [1, 2, 3]))
    #expect(y.shape == [1, 2])
    #expect(y.scalars == [1, 15])
  }

  @Test("Zero rows give an empty output of the right shape")
  func emptyRows() throws {
    let layer = try Linear<Float>(
      weight: Tensor(shape: [2, 3], repeating: 1), bias: Tensor(shape: [2], repeating: 1))
    let y = try layer(Tensor(zeros: [0, 3]))
    #expect(y.shape == [0, 2])
  }

  @Test("Shape errors name both shapes")
  func shapeErrors() throws {
    let weight = try Tensor<Float>(zeros: [4, 3])
    let layer = try Linear(weight: weight)
    let wrongInput = try Tensor<Float>(zeros: [2, 5])
    #expect {
      _ = try layer(wrongInput)
    } throws: { error in
      let error = error as! AttentionError
      return error.kind == .shapeMismatch && error.message.contains("[2, 5]")
        && error.message.contains("[4, 3]")
    }
    #expect {
      _ = try Linear(weight: weight, bias: Tensor(zeros: [3]))
    } throws: { error in
      let error = error as! AttentionError
      return error.kind == .shapeMismatch && error.message.contains("[3]")
        && error.message.contains("[4, 3]")
    }
    #expect(throws: AttentionError.self) { try Linear(weight: Tensor<Float>(zeros: [4])) }
  }

  @Test("Random initialiser: shapes, zero bias, seeded reproducibility")
  func randomInitialiser() throws {
    var first = SplitMix64(seed: 5)
    var second = SplitMix64(seed: 5)
    let a = try Linear<Float>(inputFeatureCount: 6, outputFeatureCount: 4, using: &first)
    let b = try Linear<Float>(inputFeatureCount: 6, outputFeatureCount: 4, using: &second)
    #expect(a.weight.shape == [4, 6])
    #expect(a.bias?.scalars == [0, 0, 0, 0])
    #expect(a.weight == b.weight)
    #expect(a.inputFeatureCount == 6 && a.outputFeatureCount == 4)
  }
}
