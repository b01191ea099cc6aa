import AttentionTestSupport
import Testing

@testable import Attention

#if canImport(Glibc)
  import Glibc
#endif

@Suite("Row softmax against a Double reference")
struct RowSoftmaxTests {
  /// Row lengths around the 2-, 4-, 8- and 16-lane vector widths of the row kernels. The public
  /// `softmax` runs the process's instruction set; ``everyInstructionSet(level:)`` runs each.
  static let widths = [1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 100, 257]

  /// softmax in Double with the C library's exp, summed in order.
  static func reference(_ row: [Double]) -> [Double] {
    let maximum = row.max()!
    if maximum == -.infinity { return row.map { _ in 0 } }
    let e = row.map { Glibc.exp($0 - maximum) }
    let sum = e.reduce(0, +)
    return e.map { $0 / sum }
  }

  @Test("Float and Double rows match the Double reference and sum to 1", arguments: widths)
  func matchesReference(width: Int) throws {
    var data = TestData(seed: UInt64(width))
    let logits: Tensor<Float> = data.normal([3, width])
    let result = softmax(logits)
    let expected = try Tensor(
      shape: [3, width],
      scalars: (0..<3).flatMap { r in
        Self.reference(logits.scalars[r * width..<(r + 1) * width].map { Double($0) * 3 }).map {
          $0
        }
      })
    let scaled = softmax(try Tensor(shape: [3, width], scalars: logits.scalars.map { $0 * 3 }))
    expectClose(scaled, expected, tolerance: Tolerance.floatShortComputation)
    let double = softmax(
      try Tensor(shape: [3, width], scalars: logits.scalars.map { Double($0) * 3 }))
    expectClose(double, expected, tolerance: Tolerance.doubleShortComputation)
    for r in 0..<3 {
      let sum = result.scalars[r * width..<(r + 1) * width].reduce(0, +)
      #expect(abs(sum - 1) <= 1e-5, "row \(r) sums to \(sum)")
    }
  }

  @Test("Adding a constant to a row does not change it; ±1e4 logits stay finite", arguments: widths)
  func shiftInvariance(width: Int) throws {
    var data = TestData(seed: 7 + UInt64(width))
    let logits: Tensor<Float> = data.normal([1, width])
    let base = softmax(logits)
    for shift: Float in [1e4, -1e4, 80, -80] {
      let shifted = softmax(
        try Tensor(shape: [1, width], scalars: logits.scalars.map { $0 + shift }))
      // Adding 1e4 rounds each logit to a multiple of 2^-10, hence the looser bound there.
      expectClose(shifted, base, tolerance: abs(shift) > 100 ? 2e-3 : 1e-5, "shift \(shift)")
      #expect(shifted.scalars.allSatisfy { $0.isFinite })
    }
    let huge = softmax(
      try Tensor<Double>(shape: [1, width], scalars: logits.scalars.map { Double($0) * 1e4 }))
    #expect(huge.scalars.allSatisfy { $0.isFinite })
    #expect(abs(huge.scalars.reduce(0, +) - 1) <= 1e-12)
  }

  @Test("Fully masked rows become zeros; a NaN poisons exactly its row", arguments: widths)
  func maskedAndNaNRows(width: Int) throws {
    var scalars = [Float](repeating: -.infinity, count: 3 * width)
    for j in 0..<width { scalars[width + j] = Float(j % 5) }  // row 1 ordinary
    for j in 0..<width { scalars[2 * width + j] = Float(j) }
    scalars[2 * width + width / 2] = .nan  // row 2 poisoned
    let result = softmax(try Tensor(shape: [3, width], scalars: scalars))
    #expect(result.scalars[0..<width].allSatisfy { $0 == 0 })
    #expect(result.scalars[width..<(2 * width)].allSatisfy { $0.isFinite })
    #expect(result.scalars[(2 * width)...].allSatisfy { $0.isNaN })
    // Partly masked: the masked entries are exactly 0, the rest match the reference.
    var partly = [Double](repeating: -.infinity, count: width)
    for j in stride(from: 0, to: width, by: 2) { partly[j] = Double(j) / 7 }
    let row = softmax(try Tensor(shape: [width], scalars: partly))
    expectClose(
      row, try Tensor(shape: [width], scalars: Self.reference(partly)),
      tolerance: Tolerance.doubleShortComputation)
    var lse = partly
    let value = lse.withUnsafeMutableBufferPointer {
      RowSoftmax.normalize($0.baseAddress!, count: width)
    }
    let maximum = partly.max()!
    let expected = maximum + Glibc.log(partly.map { Glibc.exp($0 - maximum) }.reduce(0, +))
    #expect(abs(value - expected) <= 1e-13)
  }

  @Test(
    "Every instruction set: rows of 0…67 match the Double reference; masked and NaN rows",
    arguments: VectorKernels.supportedLevels)
  func everyInstructionSet(level: VectorKernels.Level) throws {
    let kernels = try #require(VectorKernels(level))
    var empty: Float = 42
    #expect(RowSoftmax.normalize(&empty, count: 0, using: kernels) == -.infinity)
    #expect(empty == 42)
    for width in 1...67 {
      var generator = SplitMix64(seed: 500 + UInt64(width))
      var logits = (0..<width).map { _ in Float.random(in: -12..<12, using: &generator) }
      if width > 2 { logits[width / 3] = -.infinity }  // a masked key
      let expected = Self.reference(logits.map(Double.init))
      let maximum = Double(logits.max()!)
      let expectedLSE =
        maximum + Glibc.log(logits.map { Glibc.exp(Double($0) - maximum) }.reduce(0, +))

      var float = logits
      let floatLSE = float.withUnsafeMutableBufferPointer {
        RowSoftmax.normalize($0.baseAddress!, count: width, using: kernels)
      }
      for (p, e) in zip(float, expected) {
        #expect(abs(Double(p) - e) <= 1e-6 * e + 1e-12, "\(level) width \(width): \(p) vs \(e)")
      }
      #expect(abs(Double(floatLSE) - expectedLSE) <= 1e-6 * (1 + abs(expectedLSE)))

      var double = logits.map(Double.init)
      let doubleLSE = double.withUnsafeMutableBufferPointer {
        RowSoftmax.normalize($0.baseAddress!, count: width, using: kernels)
      }
      for (p, e) in zip(double, expected) {
        #expect(abs(p - e) <= 1e-14 * e + 1e-300, "\(level) width \(width): \(p) vs \(e)")
      }
      #expect(abs(doubleLSE - expectedLSE) <= 1e-14 * (1 + abs(expectedLSE)))

      // Fully masked: zeros and -infinity. A NaN with -infinity elsewhere: all NaN.
      var masked = [Float](repeating: -.infinity, count: width)
      let maskedLSE = masked.withUnsafeMutableBufferPointer {
        RowSoftmax.normalize($0.baseAddress!, count: width, using: kernels)
      }
      #expect(maskedLSE == -.infinity && masked.allSatisfy { $0 == 0 }, "\(level) width \(width)")
      masked[width - 1] = .nan
      let nanLSE = masked.withUnsafeMutableBufferPointer {
        RowSoftmax.normalize($0.baseAddress!, count: width, using: kernels)
      }
      #expect(nanLSE.isNaN && masked.allSatisfy(\.isNaN), "\(level) width \(width)")
      // A NaN among numbers poisons the row too.
      var poisoned = logits
      poisoned[width / 2] = .nan
      let poisonedLSE = poisoned.withUnsafeMutableBufferPointer {
        RowSoftmax.normalize($0.baseAddress!, count: width, using: kernels)
      }
      #expect(poisonedLSE.isNaN && poisoned.allSatisfy(\.isNaN), "\(level) width \(width)")
    }
  }
}
