import AttentionTestSupport
import Testing

@testable import Attention

#if canImport(Glibc)
  import Glibc
#endif

@Suite(
  "Positional encodings: the sinusoid formula, table lookup, adding, breaking permutation symmetry")
struct PositionalEncodingTests {
  /// The paper's formula, evaluated here directly for one entry.
  static func formula(position: Int, column: Int, dimension: Int) -> Double {
    let i = column / 2
    let angle = Double(position) / pow(10000, Double(2 * i) / Double(dimension))
    return column % 2 == 0 ? sin(angle) : cos(angle)
  }

  @Test("The first rows, worked by hand (d = 4)")
  func firstRowsByHand() throws {
    let table = try SinusoidalPositionalEncoding<Double>(dimension: 4).encodings(in: 0..<3)
    #expect(table.shape == [3, 4])
    // Position 0: sin 0 = 0, cos 0 = 1.
    #expect(table.scalars[0..<4] == [0, 1, 0, 1])
    // Position 1: angles 1 and 1/100 (10000^(2/4) = 100).
    let row1: [Double] = [
      0.8414709848078965, 0.5403023058681398, 0.009999833334166664, 0.9999500004166653,
    ]
    // Position 2: angles 2 and 2/100.
    let row2: [Double] = [
      0.9092974268256817, -0.4161468365471424, 0.019998666693333080, 0.9998000066665778,
    ]
    for c in 0..<4 {
      #expect(abs(table[1, c] - row1[c]) <= 1e-15)
      #expect(abs(table[2, c] - row2[c]) <= 1e-15)
    }
  }

  @Test(
    "Values equal the formula at many (pos, column), even and odd d",
    arguments: [1, 2, 7, 16, 65])
  func matchesFormula(dimension: Int) throws {
    let positions = [0, 1, 2, 3, 10, 99, 511, 1000]
    let double = try SinusoidalPositionalEncoding<Double>(dimension: dimension)
      .encodings(at: positions)
    let float = try SinusoidalPositionalEncoding<Float>(dimension: dimension)
      .encodings(at: positions)
    let expected = try Tensor(
      shape: [positions.count, dimension],
      scalars: positions.flatMap { position in
        (0..<dimension).map { Self.formula(position: position, column: $0, dimension: dimension) }
      })
    expectClose(double, expected, tolerance: Tolerance.doubleVersusDouble, "Double")
    expectClose(float, expected, tolerance: Tolerance.floatShortComputation, "Float")
    if dimension % 2 == 1 {
      // The unpaired last column is a sine: 0 at position 0.
      #expect(double[0, dimension - 1] == 0)
    }
  }

  @Test("Arbitrary position lists pick the same rows as a range")
  func positionLists() throws {
    let encoding = try SinusoidalPositionalEncoding<Float>(dimension: 6)
    let range = try encoding.encodings(in: 0..<8)
    let picked = try encoding.encodings(at: [7, 0, 3, 3])
    for (row, position) in [7, 0, 3, 3].enumerated() {
      for c in 0..<6 { #expect(picked[row, c] == range[position, c]) }
    }
    #expect(throws: AttentionError.self) { try encoding.encodings(at: [2, -1]) }
    #expect(throws: AttentionError.self) { try SinusoidalPositionalEncoding<Float>(dimension: 0) }
  }

  @Test("Learned table: lookup returns the rows; positions outside 0..<P are errors")
  func learnedLookup() throws {
    let table = try Tensor<Double>(shape: [4, 3], scalars: (0..<12).map(Double.init))
    let learned = try LearnedPositionalEncoding(table: table)
    #expect(learned.maximumPositionCount == 4 && learned.dimension == 3)
    let rows = try learned.encodings(at: [3, 1, 1])
    #expect(rows.scalars == [9, 10, 11, 3, 4, 5, 3, 4, 5])
    #expect {
      _ = try learned.encodings(at: [0, 4])
    } throws: { error in
      let error = error as! AttentionError
      return error.kind == .invalidArgument && error.message.contains("position 4")
        && error.message.contains("0..<4")
    }
    #expect(throws: AttentionError.self) { try learned.encodings(at: [-1]) }
    #expect(throws: AttentionError.self) {
      try LearnedPositionalEncoding(table: Tensor<Double>(zeros: [4]))
    }
    var generator = SplitMix64(seed: 3)
    let random = try LearnedPositionalEncoding<Float>(
      maximumPositionCount: 5, dimension: 2, standardDeviation: 0.02, using: &generator)
    #expect(random.table.shape == [5, 2])
    #expect(random.table.scalars.allSatisfy { abs($0) < 0.2 })
  }

  @Test("Adding to [B, N, d] and [N, d] embeddings, from an offset position")
  func adding() throws {
    var data = TestData(seed: 4)
    let embeddings: Tensor<Double> = data.normal([2, 3, 5])
    let encoding = try SinusoidalPositionalEncoding<Double>(dimension: 5)
    for start in [0, 7] {
      let sum = try encoding.adding(to: embeddings, startingAt: start)
      var expected = embeddings
      for b in 0..<2 {
        for n in 0..<3 {
          for c in 0..<5 {
            expected[b, n, c] += Self.formula(position: start + n, column: c, dimension: 5)
          }
        }
      }
      expectClose(sum, expected, tolerance: Tolerance.doubleVersusDouble, "from \(start)")
    }
    let learned = try LearnedPositionalEncoding(
      table: Tensor<Double>(shape: [4, 5], scalars: (0..<20).map(Double.init)))
    let single: Tensor<Double> = data.normal([2, 5])
    let sum = try learned.adding(to: single, startingAt: 2)
    for n in 0..<2 {
      for c in 0..<5 { #expect(sum[n, c] == single[n, c] + Double((2 + n) * 5 + c)) }
    }
    // Positions 3 and 4: 4 is past the table.
    #expect(throws: AttentionError.self) { try learned.adding(to: single, startingAt: 3) }
    #expect {
      _ = try encoding.adding(to: data.normal([2, 3, 4]))
    } throws: { error in
      let error = error as! AttentionError
      return error.kind == .shapeMismatch && error.message.contains("[2, 3, 4]")
        && error.message.contains("[3, 5]")
    }
    #expect(throws: AttentionError.self) { try encoding.adding(to: embeddings, startingAt: -1) }
  }

  @Test("Self-attention is permutation-equivariant without positions, and not with them")
  func permutationSymmetry() throws {
    let (n, e) = (6, 8)
    var generator = SplitMix64(seed: 8)
    let attention = try MultiHeadAttention<Double>(
      embedDimension: e, headCount: 2, using: &generator)
    var data = TestData(seed: 9)
    let x: Tensor<Double> = data.normal([1, n, e])
    let permutation = [3, 0, 5, 1, 4, 2]
    func permuted(_ t: Tensor<Double>) -> Tensor<Double> {
      var result = t
      for (i, source) in permutation.enumerated() {
        for c in 0..<e { result[0, i, c] = t[0, source, c] }
      }
      return result
    }
    // Without positions: f(P·x) = P·f(x).
    let plain = try attention(x)
    let plainOfPermuted = try attention(permuted(x))
    expectClose(plainOfPermuted, permuted(plain), tolerance: Tolerance.doubleVersusDouble)

    // With positions added after permuting, the outputs are no longer a permutation.
    let positions = try SinusoidalPositionalEncoding<Double>(dimension: e)
    let encoded = try attention(positions.adding(to: x))
    let encodedOfPermuted = try attention(positions.adding(to: permuted(x)))
    #expect(encodedOfPermuted.maxAbsoluteDifference(to: permuted(encoded)) > 1e-2)
  }
}
