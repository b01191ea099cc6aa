import AttentionTestSupport
import Testing

@testable import Attention

#if canImport(Glibc)
  import Glibc
#endif

/// The C row loops of every instruction set this CPU runs — row maximum, exp with the running
/// sum, scaling, the non-finite scan — against scalar references (Double for the exponentials),
/// on row lengths 0…67 (every tail of 2-, 4-, 8- and 16-lane vectors, and a few whole vectors)
/// starting at unaligned addresses; then the variants against each other, and the choice the
/// process made.
@Suite("Vector kernels: every instruction set against scalar references and each other")
struct VectorKernelsTests {
  static let levels = VectorKernels.supportedLevels
  static let lengths = Array(0...67)
  /// Element offsets of the row's start in its buffer: 0 is 64-byte aligned, the others are not.
  static let offsets = [0, 1, 3, 5]
  /// Guard elements before and after the row, which no kernel may read into its result or write.
  static let guardCount = 20

  /// Relative error of one exponential against Double's exp, as in ``VectorExpTests``.
  static let floatBound = 1e-7
  static let doubleBound = 4e-16 + 2.3e-16  // against glibc's Double exp (≤ 1 ulp itself)

  /// A row of `count` values in a buffer of guard elements, starting `offset` elements past a
  /// 64-byte boundary. `body` gets the row; the guard elements (`sentinel`) are checked after.
  static func withRow<S: AttentionScalar, R>(
    _ values: [S], offset: Int, sentinel: S, level: VectorKernels.Level,
    _ body: (UnsafeMutablePointer<S>) -> R,
    sourceLocation: SourceLocation = #_sourceLocation
  ) -> (result: R, row: [S]) {
    let total = offset + guardCount + values.count + guardCount
    let buffer = UnsafeMutableRawPointer.allocate(
      byteCount: total * MemoryLayout<S>.stride, alignment: 64
    ).bindMemory(to: S.self, capacity: total)
    defer { buffer.deallocate() }
    buffer.initialize(repeating: sentinel, count: total)
    let row = buffer + offset + guardCount
    for (j, x) in values.enumerated() { row[j] = x }
    let result = body(row)
    // Bit patterns, so that NaN sentinels compare too.
    let same = { (x: S) in x == sentinel || (x.isNaN && sentinel.isNaN) }
    let before = (0..<(offset + guardCount)).allSatisfy { same(buffer[$0]) }
    let after = (0..<guardCount).allSatisfy { same(row[values.count + $0]) }
    #expect(
      before && after, "\(level): a kernel wrote outside a row of \(values.count)",
      sourceLocation: sourceLocation)
    return (result, (0..<values.count).map { row[$0] })
  }

  /// Seeded logits: normal values times 4, some -infinity (masked keys).
  static func logits<S: AttentionScalar>(_ count: Int, seed: UInt64, as _: S.Type) -> [S] {
    var generator = SplitMix64(seed: seed)
    return (0..<count).map { _ in
      let u = Double.random(in: 0..<1, using: &generator)
      if u < 0.1 { return -S.infinity }
      return S(Double.random(in: -4..<4, using: &generator) * u * 4)
    }
  }

  @Test(
    "Row maximum equals the scalar maximum; guard values past the row never count",
    arguments: levels)
  func maximum(level: VectorKernels.Level) throws {
    let kernels = try #require(VectorKernels(level))
    for count in Self.lengths {
      for offset in Self.offsets {
        let values = Self.logits(count, seed: UInt64(count * 10 + offset), as: Float.self)
        // The maximum selects one of the values: it is exact, so equality is the right test.
        let expected = values.max() ?? -.infinity
        // Guards larger than every value: reading past the row would change the result.
        let float = Self.withRow(values, offset: offset, sentinel: 1e30, level: level) {
          kernels.maximum($0, count: count)
        }
        #expect(float.result == expected, "\(level) count \(count) offset \(offset)")
        let doubles = values.map(Double.init)
        let double = Self.withRow(doubles, offset: offset, sentinel: 1e300, level: level) {
          kernels.maximum($0, count: count)
        }
        #expect(double.result == Double(expected), "\(level) count \(count) offset \(offset)")
      }
    }
  }

  @Test(
    "Row maximum skips NaN; RowSoftmax.maximum then returns a NaN only when all else is -inf",
    arguments: levels)
  func maximumWithNaN(level: VectorKernels.Level) throws {
    let kernels = try #require(VectorKernels(level))
    for count in 1...40 {
      for position in 0..<count {
        var values = [Float](repeating: -.infinity, count: count)
        values[position] = .nan
        values.withUnsafeMutableBufferPointer { row in
          #expect(kernels.maximum(row.baseAddress!, count: count) == -.infinity)
          #expect(RowSoftmax.maximum(row.baseAddress!, count: count, using: kernels).isNaN)
        }
        values[(position + 1) % count] = 2.5
        if count > 1 {
          values.withUnsafeMutableBufferPointer { row in
            #expect(kernels.maximum(row.baseAddress!, count: count) == 2.5)
            #expect(RowSoftmax.maximum(row.baseAddress!, count: count, using: kernels) == 2.5)
          }
        }
      }
    }
  }

  @Test("exp(x − shift) in place and the sum, against Double's exp", arguments: levels)
  func exponentiate(level: VectorKernels.Level) throws {
    let kernels = try #require(VectorKernels(level))
    for count in Self.lengths {
      for offset in Self.offsets {
        let values = Self.logits(count, seed: UInt64(1000 + count * 10 + offset), as: Float.self)
        let shift = values.max().map { $0 == -.infinity ? 0 : $0 } ?? 0
        // The kernels exponentiate the difference rounded to the row's type (as the Swift
        // code before them did): the reference takes the same Float difference, in Double.
        let expected = values.map { Glibc.exp(Double($0 - shift)) }
        let expectedSum = expected.reduce(0, +)
        let float = Self.withRow(values, offset: offset, sentinel: 7, level: level) {
          kernels.exponentiate($0, count: count, subtracting: shift)
        }
        for (e, reference) in zip(float.row, expected) {
          #expect(
            abs(Double(e) - reference) <= Self.floatBound * reference,
            "\(level) count \(count) offset \(offset): \(e) vs \(reference)")
        }
        // The Float sum adds ≤ 67 roundings of terms ≤ 1: 1e-7 relative each, and the sum's own.
        #expect(
          abs(Double(float.result) - expectedSum) <= 1e-6 * expectedSum,
          "\(level) count \(count) offset \(offset): sum \(float.result) vs \(expectedSum)")

        let doubles = values.map { Double($0) }
        let expectedDoubles = doubles.map { Glibc.exp($0 - Double(shift)) }
        let expectedDoubleSum = expectedDoubles.reduce(0, +)
        let double = Self.withRow(doubles, offset: offset, sentinel: 7, level: level) {
          kernels.exponentiate($0, count: count, subtracting: Double(shift))
        }
        for (e, reference) in zip(double.row, expectedDoubles) {
          #expect(
            abs(e - reference) <= Self.doubleBound * reference,
            "\(level) count \(count) offset \(offset): \(e) vs \(reference)")
        }
        #expect(
          abs(double.result - expectedDoubleSum) <= 1e-14 * expectedDoubleSum,
          "\(level) count \(count) offset \(offset): sum \(double.result) vs \(expectedDoubleSum)")
      }
    }
  }

  @Test(
    "A NaN or +infinity in the row makes the sum NaN or +infinity; -infinity adds 0",
    arguments: levels)
  func exponentiateSpecialValues(level: VectorKernels.Level) throws {
    let kernels = try #require(VectorKernels(level))
    for count in [1, 3, 8, 17, 33] {
      for position in [0, count / 2, count - 1] {
        for (special, isNaN) in [(Float.nan, true), (Float.infinity, false)] {
          var row = [Float](repeating: 0.5, count: count)
          row[position] = special
          let sum = row.withUnsafeMutableBufferPointer {
            kernels.exponentiate($0.baseAddress!, count: count, subtracting: 0)
          }
          #expect(isNaN ? sum.isNaN : sum == .infinity, "\(level) \(special) at \(position)")
        }
        var row = [Double](repeating: 0.5, count: count)
        row[position] = -.infinity
        let sum = row.withUnsafeMutableBufferPointer {
          kernels.exponentiate($0.baseAddress!, count: count, subtracting: 0.5)
        }
        #expect(sum == Double(count - 1), "\(level): exp(0) = 1 for each other entry")
        #expect(row[position] == 0)
      }
    }
  }

  @Test(
    "exp's contract at its edges: 0 below the smallest normal result (and for -infinity), +infinity from overflow on, NaN for every NaN",
    arguments: levels)
  func exponentialEdges(level: VectorKernels.Level) throws {
    let kernels = try #require(VectorKernels(level))
    func check<S: AttentionScalar>(
      _ inputs: [S], lower: S, upper: S, bound: Double, as _: S.Type
    ) {
      var row = inputs
      _ = row.withUnsafeMutableBufferPointer {
        kernels.exponentiate($0.baseAddress!, count: $0.count, subtracting: 0)
      }
      for (x, e) in zip(inputs, row) {
        if x.isNaN {
          #expect(e.isNaN, "\(level) \(S.self) exp(NaN) = \(e)")
        } else if x < lower {
          #expect(e == 0, "\(level) \(S.self) exp(\(x)) = \(e), expected 0")
        } else if x > upper {
          #expect(e == .infinity, "\(level) \(S.self) exp(\(x)) = \(e), expected +infinity")
        } else {
          let reference = Glibc.exp(Double(x))
          #expect(
            abs(Double(e) - reference) <= bound * reference,
            "\(level) \(S.self) exp(\(x)) = \(e) against \(reference)")
        }
      }
    }
    let floats: [Float] = [
      -.infinity, -1e30, -200, -104, -103.9, -100, -90, -87.4, -87.33655, -87.33654, -87.3, -50,
      -1, -0.0, 0, 1e-30, 0.5, 1, 10, 50, 88, 88.72283, 88.7229, 88.8, 89, 95, 99.9, 100, 100.1,
      150, 1e30, .infinity, .nan, Float(bitPattern: 0x7FC0_0001), Float(bitPattern: 0x7FFF_FFFF),
      Float(bitPattern: 0xFFC0_0000), Float(bitPattern: 0x7F80_0001),
    ]
    // Every length from 1 to all of them, so that each value also lands in a vector's tail.
    for count in 1...floats.count {
      check(
        Array(floats.suffix(count)), lower: -87.33654, upper: 88.72283172607422,
        bound: Self.floatBound, as: Float.self)
    }
    let doubles: [Double] = [
      -.infinity, -1e300, -2000, -745, -709, -708.4, -708.3964185322641, -708.3, -100, -1, 0, 1,
      100, 709, 709.78, 709.7827128933840, 709.79, 710, 800, 999, 1000, 1000.5, 5000, 1e300,
      .infinity, .nan, Double(bitPattern: 0x7FF8_0000_0000_0001),
      Double(bitPattern: 0xFFF8_0000_0000_0000),
    ]
    for count in 1...doubles.count {
      check(
        Array(doubles.suffix(count)), lower: -708.3964185322641, upper: 709.782712893383973096,
        bound: Self.doubleBound, as: Double.self)
    }
  }

  @Test("Scaling is one rounded product per element", arguments: levels)
  func scale(level: VectorKernels.Level) throws {
    let kernels = try #require(VectorKernels(level))
    for count in Self.lengths {
      for offset in Self.offsets {
        let values = Self.logits(count, seed: UInt64(2000 + count * 10 + offset), as: Float.self)
        let factor: Float = 0.377
        // x · factor rounded once is the same number on every instruction set: exact equality
        // (infinities and zeros included).
        let float = Self.withRow(values, offset: offset, sentinel: 3, level: level) {
          kernels.scale($0, count: count, by: factor)
        }
        #expect(float.row == values.map { $0 * factor }, "\(level) count \(count) offset \(offset)")
        let doubles = values.map { Double($0) }
        let double = Self.withRow(doubles, offset: offset, sentinel: 3, level: level) {
          kernels.scale($0, count: count, by: 1 / 3)
        }
        #expect(
          double.row == doubles.map { $0 * (1 / 3) }, "\(level) count \(count) offset \(offset)")
      }
    }
  }

  @Test(
    "The non-finite scan finds one NaN or infinity at any position, and none past the end",
    arguments: levels)
  func nonFinite(level: VectorKernels.Level) throws {
    let kernels = try #require(VectorKernels(level))
    for count in Self.lengths {
      for offset in Self.offsets {
        let finite = (0..<count).map { Float($0 % 7) * 4e37 - 1e38 }  // large but finite
        // NaN guards: a scan that read past either end would report them.
        let clean = Self.withRow(finite, offset: offset, sentinel: .nan, level: level) {
          kernels.containsNonFinite(UnsafePointer($0), count: count)
        }
        #expect(!clean.result, "\(level) count \(count) offset \(offset)")
        let cleanDouble = Self.withRow(
          finite.map { Double($0) * 1e270 }, offset: offset, sentinel: .infinity, level: level
        ) {
          kernels.containsNonFinite(UnsafePointer($0), count: count)
        }
        #expect(!cleanDouble.result, "\(level) count \(count) offset \(offset)")
        for position in 0..<count {
          for special in [Float.nan, .infinity, -.infinity] {
            var values = finite
            values[position] = special
            let found = Self.withRow(values, offset: offset, sentinel: 0, level: level) {
              kernels.containsNonFinite(UnsafePointer($0), count: count)
            }
            #expect(found.result, "\(level) \(special) at \(position) of \(count)")
          }
          var doubles = finite.map { Double($0) }
          doubles[position] = position % 2 == 0 ? .nan : -.infinity
          let found = Self.withRow(doubles, offset: offset, sentinel: 0, level: level) {
            kernels.containsNonFinite(UnsafePointer($0), count: count)
          }
          #expect(found.result, "\(level) Double at \(position) of \(count)")
        }
      }
    }
  }

  // MARK: The small matrix product and the transpose

  /// `m × n × k` shapes crossing every tail: 0–5 rows past blocks of 6, columns around 1, 2 and
  /// 3 vectors of 2, 4, 8 and 16 lanes, and empty and short sums.
  static let productShapes: [(m: Int, n: Int, k: Int)] = {
    var shapes: [(m: Int, n: Int, k: Int)] = []
    for m in [1, 2, 3, 4, 5, 6, 9, 13] {
      for n in [1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 40] {
        for k in [0, 1, 5, 32] { shapes.append((m, n, k)) }
      }
    }
    return shapes
  }()

  /// The tolerance of a product's result against Double: a `Float` sum of up to 100 products
  /// (``Tolerance/floatVersusDouble``), or in `Double` a short computation.
  static func productTolerance<S: AttentionScalar>(_: S.Type) -> Double {
    S.self == Float.self ? Tolerance.floatVersusDouble : Tolerance.doubleShortComputation
  }

  /// `count` values drawn uniformly from [-1, 1).
  static func uniform<S: AttentionScalar>(_ count: Int, using generator: inout SplitMix64) -> [S] {
    (0..<count).map { _ in S(Double.random(in: -1..<1, using: &generator)) }
  }

  /// The small product on arrays: `c` (row stride `ldc`) updated in place; an empty `bias` or
  /// `rowScales` is none, and `maxima` receives the rows' maxima unless it is empty.
  static func runProduct<S: AttentionScalar>(
    _ kernels: VectorKernels, m: Int, n: Int, k: Int, alpha: S, a: [S], lda: Int, b: [S],
    ldb: Int, bias: [S] = [], accumulate: Bool, c: inout [S], ldc: Int, rowScales: [S] = [],
    maxima: inout [S]
  ) {
    a.withUnsafeBufferPointer { a in
      b.withUnsafeBufferPointer { b in
        bias.withUnsafeBufferPointer { bias in
          rowScales.withUnsafeBufferPointer { rowScales in
            c.withUnsafeMutableBufferPointer { c in
              maxima.withUnsafeMutableBufferPointer { maxima in
                kernels.product(
                  m: m, n: n, k: k, alpha: alpha, a: a.baseAddress!, lda: lda,
                  b: b.baseAddress!, ldb: ldb, bias: bias.isEmpty ? nil : bias.baseAddress,
                  accumulate: accumulate, c: c.baseAddress!, ldc: ldc,
                  rowScales: rowScales.isEmpty ? nil : rowScales.baseAddress,
                  maxima: maxima.isEmpty ? nil : maxima.baseAddress)
              }
            }
          }
        }
      }
    }
  }

  /// Runs the small product on `m × k` and `k × n` operands stored with padded row strides into a
  /// `C` whose padding holds a sentinel, against a Double computation of the same formula.
  static func expectProduct<S: AttentionScalar>(
    _ kernels: VectorKernels, m: Int, n: Int, k: Int, accumulate: Bool, withBias: Bool,
    as _: S.Type, generator: inout SplitMix64
  ) {
    let (lda, ldb, ldc) = (k + 3, n + 2, n + 5)
    let bias = (0..<n).map { _ in S(Double.random(in: -4..<4, using: &generator)) }
    let a: [S] = uniform(m * lda, using: &generator)
    let b: [S] = uniform(k * ldb, using: &generator)
    let initial: [S] = uniform(m * ldc, using: &generator)
    let alpha = S(0.75)
    var c = initial
    if !accumulate {
      // Without accumulate C is only written: NaN there must not reach the result.
      for i in 0..<m { for j in 0..<n { c[i * ldc + j] = .nan } }
    }
    var noMaxima: [S] = []
    runProduct(
      kernels, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
      bias: withBias ? bias : [], accumulate: accumulate, c: &c, ldc: ldc, maxima: &noMaxima)
    var actual: [S] = []
    var expected: [Double] = []
    for i in 0..<m {
      for j in 0..<n {
        var sum = 0.0
        for p in 0..<k { sum += Double(a[i * lda + p]) * Double(b[p * ldb + j]) }
        actual.append(c[i * ldc + j])
        expected.append(
          Double(alpha) * sum + (withBias ? Double(bias[j]) : 0)
            + (accumulate ? Double(initial[i * ldc + j]) : 0))
      }
      // The padding between rows is never written.
      for j in n..<ldc where i * ldc + j < c.count {
        #expect(
          c[i * ldc + j] == initial[i * ldc + j],
          "\(kernels.level) \(S.self) \(m)×\(n)×\(k) wrote column \(j) of row \(i)")
      }
    }
    expectClose(
      actual, expected,
      tolerance: productTolerance(S.self),
      "\(kernels.level) \(S.self) \(m)×\(n)×\(k) accumulate \(accumulate) bias \(withBias)")
  }

  @Test(
    "The small product against Double: every tail, padded strides, with and without accumulate and a bias",
    arguments: levels)
  func smallProduct(level: VectorKernels.Level) throws {
    let kernels = try #require(VectorKernels(level))
    var generator = SplitMix64(seed: 99)
    for (m, n, k) in Self.productShapes {
      for (accumulate, withBias) in [(false, false), (true, false), (false, true), (true, true)] {
        Self.expectProduct(
          kernels, m: m, n: n, k: k, accumulate: accumulate, withBias: withBias, as: Float.self,
          generator: &generator)
        Self.expectProduct(
          kernels, m: m, n: n, k: k, accumulate: accumulate, withBias: withBias, as: Double.self,
          generator: &generator)
      }
    }
  }

  @Test(
    "The small product's row scales: the product, then each row times its factor (with and without accumulate, a NaN factor)",
    arguments: levels)
  func smallProductRowScales(level: VectorKernels.Level) throws {
    let kernels = try #require(VectorKernels(level))
    var generator = SplitMix64(seed: 17)
    func check<S: AttentionScalar>(_: S.Type, m: Int, n: Int, k: Int, accumulate: Bool) {
      let (lda, ldb, ldc) = (k + 2, n + 1, n + 3)
      let a: [S] = Self.uniform(m * lda, using: &generator)
      let b: [S] = Self.uniform(k * ldb, using: &generator)
      let initial: [S] = Self.uniform(m * ldc, using: &generator)
      var scales = (0..<m).map { _ in S(Double.random(in: 0.01..<3, using: &generator)) }
      if m > 2 { scales[2] = .nan }
      var (plain, scaled, noMaxima) = (initial, initial, [S]())
      Self.runProduct(
        kernels, m: m, n: n, k: k, alpha: S(0.75), a: a, lda: lda, b: b, ldb: ldb,
        accumulate: accumulate, c: &plain, ldc: ldc, maxima: &noMaxima)
      Self.runProduct(
        kernels, m: m, n: n, k: k, alpha: S(0.75), a: a, lda: lda, b: b, ldb: ldb,
        accumulate: accumulate, c: &scaled, ldc: ldc, rowScales: scales, maxima: &noMaxima)
      // The product then a multiplication per element: the same two roundings by design, but
      // compiled as two loops, so compared with the suite's same-computation tolerance.
      var actual: [S] = []
      var expected: [S] = []
      for i in 0..<m {
        for j in 0..<ldc where i * ldc + j < plain.count {
          if j < n {
            actual.append(scaled[i * ldc + j])
            expected.append(plain[i * ldc + j] * scales[i])
          } else {
            #expect(
              scaled[i * ldc + j] == initial[i * ldc + j],
              "\(level) \(S.self) \(m)×\(n)×\(k) wrote column \(j) of row \(i)")
          }
        }
      }
      expectClose(
        actual, expected,
        tolerance: S.self == Float.self
          ? Tolerance.floatSameComputation : Tolerance.doubleSameComputation,
        "\(level) \(S.self) \(m)×\(n)×\(k) accumulate \(accumulate)")
    }
    for (m, n, k) in Self.productShapes {
      for accumulate in [false, true] {
        check(Float.self, m: m, n: n, k: k, accumulate: accumulate)
        check(Double.self, m: m, n: n, k: k, accumulate: accumulate)
      }
    }
  }

  @Test(
    "The small product's row maxima are those of the rows it wrote: every tail, NaN skipped, -infinity rows",
    arguments: levels)
  func smallProductRowMaxima(level: VectorKernels.Level) throws {
    let kernels = try #require(VectorKernels(level))
    var generator = SplitMix64(seed: 7)
    func check<S: AttentionScalar>(_: S.Type, m: Int, n: Int, k: Int) {
      let (lda, ldb, ldc) = (k + 1, n + 3, n + 2)
      let a: [S] = Self.uniform(m * lda, using: &generator)
      let b: [S] = Self.uniform(k * ldb, using: &generator)
      // Accumulated onto C, whose rows bring the special values: row 1 a NaN among numbers,
      // row 2 only -infinity, row 3 a NaN among -infinities, row 4 +infinity at its last column.
      var c: [S] = Self.uniform(m * ldc, using: &generator)
      if m > 1 { c[ldc + n / 2] = .nan }
      if m > 2 { for j in 0..<n { c[2 * ldc + j] = -.infinity } }
      if m > 3 {
        for j in 0..<n { c[3 * ldc + j] = -.infinity }
        c[3 * ldc] = .nan
      }
      if m > 4 { c[4 * ldc + n - 1] = .infinity }
      var maxima = [S](repeating: 42, count: m + 1)
      Self.runProduct(
        kernels, m: m, n: n, k: k, alpha: 1, a: a, lda: lda, b: b, ldb: ldb, accumulate: true,
        c: &c, ldc: ldc, maxima: &maxima)
      for i in 0..<m {
        var expected = -S.infinity
        for j in 0..<n where c[i * ldc + j] > expected { expected = c[i * ldc + j] }
        #expect(
          maxima[i] == expected,
          "\(level) \(S.self) \(m)×\(n)×\(k) row \(i): \(maxima[i]), expected \(expected)")
      }
      #expect(maxima[m] == 42, "\(level) \(S.self) \(m)×\(n)×\(k) wrote past the last row")
    }
    for (m, n, k) in Self.productShapes {
      check(Float.self, m: m, n: n, k: k)
      check(Double.self, m: m, n: n, k: k)
    }
  }

  /// Runs the matrix-vector product on a `rows × columns` matrix with a padded row stride, into a
  /// `y` with sentinels after it, against a Double computation of the same formula.
  static func expectMatrixVectorProduct<S: AttentionScalar>(
    _ kernels: VectorKernels, rows: Int, columns: Int, accumulate: Bool, workers: Int = 1,
    as _: S.Type, generator: inout SplitMix64
  ) {
    let lda = columns + 3
    let a = (0..<(rows * lda)).map { _ in S(Double.random(in: -1..<1, using: &generator)) }
    let x = (0..<columns).map { _ in S(Double.random(in: -1..<1, using: &generator)) }
    let initial = (0..<rows).map { _ in S(Double.random(in: -1..<1, using: &generator)) }
    let sentinel = S(-7)
    let alpha = S(0.75)
    // Without accumulate y is only written: NaN there must not reach the result.
    var y = (accumulate ? initial : [S](repeating: .nan, count: rows)) + [sentinel, sentinel]
    a.withUnsafeBufferPointer { a in
      x.withUnsafeBufferPointer { x in
        y.withUnsafeMutableBufferPointer { y in
          kernels.matrixVectorProduct(
            rows: rows, columns: columns, alpha: alpha, a: a.baseAddress!, lda: lda,
            x: x.baseAddress ?? a.baseAddress!, accumulate: accumulate, y: y.baseAddress!,
            workers: workers)
        }
      }
    }
    let expected = (0..<rows).map { r in
      var sum = 0.0
      for c in 0..<columns { sum += Double(a[r * lda + c]) * Double(x[c]) }
      return Double(alpha) * sum + (accumulate ? Double(initial[r]) : 0)
    }
    #expect(
      y[rows...].allSatisfy { $0 == sentinel },
      "\(kernels.level) \(S.self) \(rows)×\(columns) wrote past y")
    expectClose(
      Array(y[..<rows]), expected,
      tolerance: productTolerance(S.self),
      "\(kernels.level) \(S.self) \(rows)×\(columns) accumulate \(accumulate) workers \(workers)")
  }

  @Test(
    "The matrix-vector product against Double: blocks of 4 rows and their tails, every column tail",
    arguments: levels)
  func matrixVectorProduct(level: VectorKernels.Level) throws {
    let kernels = try #require(VectorKernels(level))
    var generator = SplitMix64(seed: 101)
    for rows in [1, 2, 3, 4, 5, 7, 8, 9, 13] {
      // Columns around 1, 2 and 3 vectors of 2, 4, 8 and 16 lanes (the loop takes 2 at a time).
      for columns in [0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 48, 49, 64, 65, 100] {
        for accumulate in [false, true] {
          Self.expectMatrixVectorProduct(
            kernels, rows: rows, columns: columns, accumulate: accumulate, as: Float.self,
            generator: &generator)
          Self.expectMatrixVectorProduct(
            kernels, rows: rows, columns: columns, accumulate: accumulate, as: Double.self,
            generator: &generator)
        }
      }
    }
  }

  @Test(
    "The matrix-vector product split over helper threads: every worker count, from concurrent callers",
    arguments: levels)
  func parallelMatrixVectorProduct(level: VectorKernels.Level) async throws {
    let kernels = try #require(VectorKernels(level))
    // Row counts below, at and above the workers' blocks of 4 rows; one worker has no rows when
    // there are fewer blocks than workers.
    var generator = SplitMix64(seed: 102)
    for workers in [2, 3, 4, 16, 40] {
      for rows in [1, 5, 8, 37, 260] {
        for accumulate in [false, true] {
          Self.expectMatrixVectorProduct(
            kernels, rows: rows, columns: 70, accumulate: accumulate, workers: workers,
            as: Float.self, generator: &generator)
          Self.expectMatrixVectorProduct(
            kernels, rows: rows, columns: 33, accumulate: accumulate, workers: workers,
            as: Double.self, generator: &generator)
        }
      }
    }
    // Eight callers at once: one holds the helpers, the others compute alone; every result is
    // the same bits as the one-thread loop's (each element is one row's dot product).
    let (rows, columns) = (517, 129)
    let a = (0..<(rows * columns)).map { Float(($0 * 37) % 101) / 50 - 1 }
    let x = (0..<columns).map { Float(($0 * 11) % 23) / 11 - 1 }
    func product(workers: Int) -> [Float] {
      [Float](unsafeUninitializedCapacity: rows) { y, initialized in
        kernels.matrixVectorProduct(
          rows: rows, columns: columns, alpha: 1, a: a, lda: columns, x: x, accumulate: false,
          y: y.baseAddress!, workers: workers)
        initialized = rows
      }
    }
    let alone = product(workers: 1)
    let results = await withTaskGroup(of: [Float].self) { group in
      for caller in 0..<8 {
        group.addTask { (0..<20).map { _ in product(workers: 2 + caller % 3) }.last! }
      }
      return await group.reduce(into: [[Float]]()) { $0.append($1) }
    }
    #expect(results.count == 8)
    #expect(results.allSatisfy { $0 == alone }, "\(level): a concurrent split product differs")
  }

  /// The many-row loops run each row through the single-row loop's code: same results, bit for
  /// bit (one code path), on strided rows whose padding between them is never touched.
  static func expectRowsMatchSingleRows<S: AttentionScalar>(
    _: S.Type, level: VectorKernels.Level, count: Int, rowCount: Int
  ) {
    let kernels = VectorKernels(level)!
    let stride = count + 3
    let sentinel = S(12345)
    var data = (0..<(rowCount * stride)).map { _ in sentinel }
    for r in 0..<rowCount {
      let row = logits(count, seed: UInt64(100 * count + r), as: S.self)
      for j in 0..<count { data[r * stride + j] = row[j] }
    }
    if rowCount > 2, count > 0 {
      data[stride + count / 2] = .nan  // row 1 holds a NaN
      for j in 0..<count { data[2 * stride + j] = -.infinity }  // row 2 is fully masked
    }
    let shifts = (0..<rowCount).map { S($0 % 3) - 1 }
    let factors = (0..<rowCount).map { S(0.5 + Double($0) * 0.25) }
    var single = data
    var maxima1 = [S](repeating: 0, count: rowCount)
    var sums1 = maxima1
    single.withUnsafeMutableBufferPointer { b in
      for r in 0..<rowCount {
        let row = b.baseAddress! + r * stride
        maxima1[r] = kernels.maximum(row, count: count)
        sums1[r] = kernels.exponentiate(row, count: count, subtracting: shifts[r])
        kernels.scale(row, count: count, by: factors[r])
      }
    }
    var many = data
    var maxima2 = [S](repeating: 0, count: rowCount)
    var sums2 = maxima2
    many.withUnsafeMutableBufferPointer { b in
      kernels.maxima(
        b.baseAddress!, count: count, rowCount: rowCount, stride: stride, into: &maxima2)
      kernels.exponentiate(
        rows: b.baseAddress!, count: count, rowCount: rowCount, stride: stride,
        subtracting: shifts, sums: &sums2)
      kernels.scale(
        rows: b.baseAddress!, count: count, rowCount: rowCount, stride: stride, by: factors)
    }
    let same = { (x: S, y: S) in x == y || (x.isNaN && y.isNaN) }
    #expect(
      zip(maxima1, maxima2).allSatisfy(same), "\(level) \(count)×\(rowCount): maxima differ")
    #expect(zip(sums1, sums2).allSatisfy(same), "\(level) \(count)×\(rowCount): sums differ")
    #expect(zip(single, many).allSatisfy(same), "\(level) \(count)×\(rowCount): rows differ")
  }

  @Test(
    "The many-row maximum, exp-sum and scale give each row the single-row loop's result",
    arguments: levels)
  func manyRows(level: VectorKernels.Level) {
    for count in [0, 1, 7, 16, 33, 64, 67] {
      for rowCount in [0, 1, 3, 5] {
        Self.expectRowsMatchSingleRows(Float.self, level: level, count: count, rowCount: rowCount)
        Self.expectRowsMatchSingleRows(Double.self, level: level, count: count, rowCount: rowCount)
      }
    }
  }

  @Test(
    "The transpose moves every element, whole register tiles and edges, padded strides",
    arguments: levels)
  func transpose(level: VectorKernels.Level) throws {
    let kernels = try #require(VectorKernels(level))
    for rows in [1, 3, 4, 5, 8, 9, 16, 17, 40] {
      for columns in [1, 2, 4, 7, 8, 9, 16, 33] {
        let (lds, ldd) = (columns + 3, rows + 2)
        let source = (0..<(rows * lds)).map { Float($0) }
        let sentinel: Float = -1
        var destination = [Float](repeating: sentinel, count: columns * ldd)
        source.withUnsafeBufferPointer { s in
          destination.withUnsafeMutableBufferPointer { d in
            kernels.transpose(
              rows: rows, columns: columns, s.baseAddress!, lds: lds, into: d.baseAddress!,
              ldd: ldd)
          }
        }
        // Copies of exactly representable integers: compared exactly.
        let moved = (0..<columns).allSatisfy { j in
          (0..<ldd).allSatisfy { i in
            destination[j * ldd + i] == (i < rows ? source[i * lds + j] : sentinel)
          }
        }
        #expect(moved, "\(level) \(rows)×\(columns)")
        var doubles = [Double](repeating: -1, count: columns * ldd)
        source.map(Double.init).withUnsafeBufferPointer { s in
          doubles.withUnsafeMutableBufferPointer { d in
            kernels.transpose(
              rows: rows, columns: columns, s.baseAddress!, lds: lds, into: d.baseAddress!,
              ldd: ldd)
          }
        }
        #expect(
          doubles.map(Float.init) == destination, "\(level) Double \(rows)×\(columns)")
      }
    }
  }

  @Test("The instruction sets agree with each other within rounding, not bit for bit")
  func variantsAgree() throws {
    let variants = Self.levels.compactMap(VectorKernels.init)
    try #require(variants.count >= 1)
    for count in Self.lengths + [512, 1000] {
      let values = Self.logits(count, seed: UInt64(3000 + count), as: Float.self)
      let shift = values.max().map { $0 == -.infinity ? 0 : $0 } ?? 0
      var rows = [[Float]]()
      var sums = [Float]()
      for kernels in variants {
        var row = values
        sums.append(
          row.withUnsafeMutableBufferPointer {
            kernels.exponentiate($0.baseAddress!, count: count, subtracting: shift)
          })
        rows.append(row)
      }
      for (index, kernels) in variants.enumerated().dropFirst() {
        // Each is within 1e-7 of the true value, so two are within 2e-7 of each other.
        for (a, b) in zip(rows[index], rows[0]) {
          #expect(
            abs(a - b) <= 2e-7 * max(a, b), "\(kernels.level) vs \(variants[0].level): \(a), \(b)")
        }
        #expect(abs(sums[index] - sums[0]) <= 2e-6 * sums[0], "\(kernels.level) count \(count)")
      }
    }
  }

  @Test("The process runs the widest level the CPU supports, as the CPU's flags say")
  func activeLevel() {
    let best = VectorKernels.bestLevel
    let flags = CPUFeatures.current.flags
    #if arch(x86_64)
      // __builtin_cpu_supports and /proc/cpuinfo agree (both include the OS's register support).
      let expected: VectorKernels.Level =
        flags.contains("avx512f")
        ? .avx512 : flags.contains("avx2") && flags.contains("fma") ? .avx2 : .sse2
      #expect(best == expected, "flags \(CPUFeatures.current.vectorFlags)")
    #else
      #expect(best == .portable)
    #endif
    #expect(VectorKernels.supportedLevels.last == best)
    #expect(VectorKernels.supportedLevels.first == .portable)
    #expect(VectorKernels(best)?.level == best)
    let requested = getenv("ATTENTION_ISA").map { String(cString: $0) }
    if requested == nil {
      #expect(VectorKernels.active.level == best)
    } else {
      #expect(VectorKernels.active.level <= best)
    }
    let report = SystemReport.current
    #expect(report.rowKernelInstructions == VectorKernels.active.level.instructionSet)
    #expect(report.widestRowKernelInstructions == best.instructionSet)
    #expect(report.description.contains("softmax row kernels"))
  }

  @Test(
    "The fused kernel at every level matches the naive path, NaN policy included",
    arguments: levels)
  func fusedAttention(level: VectorKernels.Level) throws {
    let kernels = try #require(VectorKernels(level))
    var data = TestData(seed: 41)
    let q: Tensor<Float> = data.normal([1, 2, 45, 8])
    let k: Tensor<Float> = data.normal([1, 2, 45, 8])
    var v: Tensor<Float> = data.normal([1, 2, 45, 5])
    // One value row with an infinity (taken by the careful path of its tile only) and one
    // query with a NaN (its row, and only its row, becomes NaN).
    var vScalars = v.scalars
    vScalars[(45 + 30) * 5 + 2] = .infinity
    v = try Tensor(shape: v.shape, scalars: vScalars)
    var qScalars = q.scalars
    qScalars[7 * 8 + 3] = .nan
    let query = try Tensor(shape: q.shape, scalars: qScalars)
    for causal in [nil, CausalAlignment.topLeft] {
      let naive = try scaledDotProductAttention(
        query: query, key: k, value: v, causal: causal, backend: .naive, returning: .logSumExp)
      let problem = try AttentionProblem(
        query: query, key: k, value: v, mask: .none, causal: causal, keyLengths: nil, scale: nil)
      for blocking in [
        FusedAttention.Blocking(queryRows: 7, keyColumns: 16), .init(queryRows: 64, keyColumns: 33),
      ] {
        let fused = FusedAttention.compute(
          problem, query: query.scalars, key: k.scalars, value: v.scalars, extras: .logSumExp,
          blocking: blocking, kernels: kernels)
        let output = Tensor(uncheckedShape: problem.outputShape, scalars: fused.output)
        let lse = Tensor(uncheckedShape: naive.logSumExp!.shape, scalars: fused.logSumExp!)
        let comment = "\(level) \(blocking) causal \(causal.map { "\($0)" } ?? "none")"
        expectClose(output, naive.output, tolerance: Tolerance.floatVersusFloat, comment)
        expectClose(lse, naive.logSumExp!, tolerance: Tolerance.floatVersusFloat, comment)
      }
    }
  }

  // MARK: ATTENTION_ISA, read once per process: each value in its own child process

  /// In a child process: sets `ATTENTION_ISA` to `value` before anything chose the loops, then
  /// expects the widest supported level at or below `ceiling`, the report to say so, and a
  /// softmax and a fused attention at that level to match the naive path. Prints `DONE`, or
  /// `FAILED: …` (a failed exit test returns no output to show).
  static func checkEnvironment(_ value: String, ceiling: VectorKernels.Level) -> Never {
    func check(_ condition: Bool, _ message: @autoclosure () -> String) {
      if !condition {
        print("FAILED: \(message())")
        exit(0)
      }
    }
    setenv("ATTENTION_ISA", value, 1)
    let expected = VectorKernels.supportedLevels.last { $0 <= ceiling }!
    let active = VectorKernels.active.level
    check(active == expected, "ATTENTION_ISA=\(value): \(active), expected \(expected)")
    let report = SystemReport.current
    check(report.rowKernelInstructions == expected.instructionSet, "report \(report)")
    check(
      report.description.contains("lowered by ATTENTION_ISA")
        == (expected < VectorKernels.bestLevel),
      "report \(report)")
    var data = TestData(seed: 5)
    let q: Tensor<Float> = data.normal([1, 2, 70, 16])
    let k: Tensor<Float> = data.normal([1, 2, 70, 16])
    let v: Tensor<Float> = data.normal([1, 2, 70, 16])
    for causal in [nil, CausalAlignment.topLeft] {
      let naive = try! scaledDotProductAttention(
        query: q, key: k, value: v, causal: causal, backend: .naive)
      for backend in [AttentionBackend.blas, .blasMaterialized] {
        let fast = try! scaledDotProductAttention(
          query: q, key: k, value: v, causal: causal, backend: backend)
        let difference = zip(fast.scalars, naive.scalars).map { abs($0 - $1) }.max()!
        check(difference < 1e-5, "\(backend) causal \(String(describing: causal)): \(difference)")
      }
    }
    print("DONE")
    exit(0)
  }

  @Test("ATTENTION_ISA=sse2 runs the SSE2 loops (the portable ones off x86-64)")
  func environmentSSE2() async {
    let result = await #expect(processExitsWith: .success, observing: [\.standardOutputContent]) {
      Self.checkEnvironment("sse2", ceiling: .sse2)
    }
    guard let result else { return }
    let output = String(decoding: result.standardOutputContent, as: UTF8.self)
    #expect(output.contains("DONE") && !output.contains("FAILED"), "child output: \(output)")
  }

  @Test("ATTENTION_ISA=portable runs the portable C loops")
  func environmentPortable() async {
    let result = await #expect(processExitsWith: .success, observing: [\.standardOutputContent]) {
      Self.checkEnvironment("portable", ceiling: .portable)
    }
    guard let result else { return }
    let output = String(decoding: result.standardOutputContent, as: UTF8.self)
    #expect(output.contains("DONE") && !output.contains("FAILED"), "child output: \(output)")
  }

  @Test("ATTENTION_ISA=avx512 caps at the widest level the CPU has; an unknown name is ignored")
  func environmentCeilingAndUnknownName() async {
    // Exit tests capture nothing: each value is its own closure's literal.
    let ceiling = await #expect(processExitsWith: .success, observing: [\.standardOutputContent]) {
      Self.checkEnvironment("avx512", ceiling: .avx512)
    }
    let unknown = await #expect(processExitsWith: .success, observing: [\.standardOutputContent]) {
      Self.checkEnvironment("AVX2 ", ceiling: .avx512)
    }
    for result in [ceiling, unknown] {
      guard let result else { continue }
      let output = String(decoding: result.standardOutputContent, as: UTF8.self)
      #expect(output.contains("DONE") && !output.contains("FAILED"), "child output: \(output)")
    }
  }
}
