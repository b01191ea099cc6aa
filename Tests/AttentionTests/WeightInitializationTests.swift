import AttentionTestSupport
import Testing

@testable import Attention

@Suite("Weight initialisers: orthogonality, bounds, reproducibility")
struct WeightInitializationTests {
  /// `M·Mᵀ` of a row-major `rows × columns` matrix (rows orthonormal ⇔ identity), in Double.
  static func rowGram<S: AttentionScalar>(_ m: [S], rows: Int, columns: Int) -> [Double] {
    var gram = [Double](repeating: 0, count: rows * rows)
    for i in 0..<rows {
      for j in 0..<rows {
        var sum = 0.0
        for c in 0..<columns { sum += Double(m[i * columns + c]) * Double(m[j * columns + c]) }
        gram[i * rows + j] = sum
      }
    }
    return gram
  }

  /// `Mᵀ·M`, the Gram matrix of the columns.
  static func columnGram<S: AttentionScalar>(_ m: [S], rows: Int, columns: Int) -> [Double] {
    var transposed = [S](repeating: 0, count: m.count)
    for i in 0..<rows { for c in 0..<columns { transposed[c * rows + i] = m[i * columns + c] } }
    return rowGram(transposed, rows: columns, columns: rows)
  }

  /// `gain²·I`, `size × size`, row-major: the Gram matrix of orthogonal rows or columns.
  static func scaledIdentity(size: Int, gain: Double) -> [Double] {
    (0..<(size * size)).map { $0 / size == $0 % size ? gain * gain : 0 }
  }

  /// (rows, columns): square, tall, wide, vectors.
  static let shapes: [(Int, Int)] = [(1, 1), (8, 8), (64, 64), (50, 7), (7, 50), (1, 9), (9, 1)]

  @Test("Orthogonal: WᵀW = I (tall, square) or WWᵀ = I (wide)", arguments: shapes)
  func orthogonal(rows: Int, columns: Int) throws {
    var generator = SplitMix64(seed: 2024)
    let float: Tensor<Float> = try WeightInitialization.orthogonal().makeWeight(
      shape: [rows, columns], using: &generator)
    let double: Tensor<Double> = try WeightInitialization.orthogonal().makeWeight(
      shape: [rows, columns], using: &generator)
    #expect(float.shape == [rows, columns] && double.shape == [rows, columns])
    let wide = rows < columns
    let size = min(rows, columns)
    func gram<S: AttentionScalar>(_ t: Tensor<S>) -> [Double] {
      wide
        ? Self.rowGram(t.scalars, rows: rows, columns: columns)
        : Self.columnGram(t.scalars, rows: rows, columns: columns)
    }
    let identity = Self.scaledIdentity(size: size, gain: 1)
    expectClose(gram(float), identity, tolerance: Tolerance.floatVersusDouble, "Float")
    expectClose(gram(double), identity, tolerance: Tolerance.doubleVersusDouble, "Double")
  }

  @Test("Orthogonal with a gain and a rank-3 shape (flattened as PyTorch does)")
  func orthogonalGainAndRank3() throws {
    var generator = SplitMix64(seed: 3)
    let gain = 0.5
    let w: Tensor<Double> = try WeightInitialization.orthogonal(gain: gain).makeWeight(
      shape: [4, 3, 5], using: &generator)
    #expect(w.shape == [4, 3, 5])
    let gram = Self.rowGram(w.scalars, rows: 4, columns: 15)
    expectClose(
      gram, Self.scaledIdentity(size: 4, gain: gain), tolerance: Tolerance.doubleVersusDouble)
  }

  @Test("Orthogonal: the sign fix makes R's diagonal positive (QR of W's Gaussian source)")
  func orthogonalSignConvention() throws {
    // Redraw the same Gaussian matrix the initialiser draws and check that W is its Q factor with
    // a positive-diagonal R: R = Wᵀ·A must be upper triangular with a positive diagonal.
    let (rows, columns) = (6, 4)
    var generator = SplitMix64(seed: 99)
    var replay = generator
    let w: Tensor<Double> = try WeightInitialization.orthogonal().makeWeight(
      shape: [rows, columns], using: &generator)
    let a = try Tensor<Double>.randomNormal(shape: [rows, columns], using: &replay)
    for i in 0..<columns {
      for j in 0..<columns {
        var r = 0.0
        for k in 0..<rows { r += w[k, i] * a[k, j] }
        if i > j { #expect(abs(r) <= 1e-12, "R[\(i), \(j)] = \(r) below the diagonal") }
        if i == j { #expect(r > 0, "R[\(i), \(i)] = \(r) not positive") }
      }
    }
  }

  @Test("Xavier uniform: values within ±√(6/(fanIn+fanOut)), spread to near the bound")
  func xavierBound() throws {
    var generator = SplitMix64(seed: 1)
    for (shape, fanIn, fanOut) in [([30, 20], 20, 30), ([8, 4, 3], 12, 24)] {
      let w: Tensor<Float> = try WeightInitialization.xavierUniform().makeWeight(
        shape: shape, using: &generator)
      let bound = Float((6.0 / Double(fanIn + fanOut)).squareRoot())
      let largest = w.scalars.map(abs).max()!
      #expect(largest <= bound)
      #expect(largest >= 0.9 * bound)
      let w2: Tensor<Double> = try WeightInitialization.xavierUniform(gain: 2).makeWeight(
        shape: shape, using: &generator)
      #expect(w2.scalars.map(abs).max()! <= 2 * Double(bound) * (1 + 1e-6))
    }
  }

  @Test("Kaiming uniform with slope √5 is PyTorch's nn.Linear default ±1/√fanIn")
  func kaimingBound() throws {
    var generator = SplitMix64(seed: 4)
    let w: Tensor<Double> = try WeightInitialization.kaimingUniform(negativeSlope: 5.squareRoot())
      .makeWeight(shape: [40, 25], using: &generator)
    let largest = w.scalars.map(abs).max()!
    #expect(largest <= 1 / 5.0 * (1 + 1e-12))
    #expect(largest >= 0.9 / 5.0)
  }

  @Test("The same seed gives the same weights, another seed different ones")
  func reproducible() throws {
    for initialization in [WeightInitialization.xavierUniform(), .orthogonal(), .kaimingUniform()] {
      var a = SplitMix64(seed: 10)
      var b = SplitMix64(seed: 10)
      var c = SplitMix64(seed: 11)
      let wa: Tensor<Float> = try initialization.makeWeight(shape: [5, 3], using: &a)
      let wb: Tensor<Float> = try initialization.makeWeight(shape: [5, 3], using: &b)
      let wc: Tensor<Float> = try initialization.makeWeight(shape: [5, 3], using: &c)
      #expect(wa == wb)
      #expect(wa != wc)
    }
  }

  @Test("Errors: rank below 2, non-finite gain")
  func errors() throws {
    var generator = SplitMix64(seed: 0)
    #expect {
      let _: Tensor<Float> = try WeightInitialization.orthogonal().makeWeight(
        shape: [5], using: &generator)
    } throws: { ($0 as? AttentionError)?.kind == .invalidShape }
    #expect {
      let _: Tensor<Float> = try WeightInitialization.xavierUniform(gain: .infinity).makeWeight(
        shape: [5, 5], using: &generator)
    } throws: { ($0 as? AttentionError)?.kind == .invalidArgument }
  }
}
