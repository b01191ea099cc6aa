import AttentionTestSupport
import Testing

@testable import Attention

#if canImport(Glibc)
  import Glibc
#endif

@Suite("Row softmax against a Double reference")
struct RowSoftmaxTests {
  /// Row lengths around the 16- and 8-lane vector widths, so every tail length is covered.
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
}
