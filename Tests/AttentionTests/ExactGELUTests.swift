import Foundation
import Testing

@testable import Attention

/// BERT's exact GELU (`ExactGELU`, the C loop `gelu_erf_f32`) at every instruction set this CPU
/// runs against the Double formula, on every tail length and across the clamp at |x/√2| = 4.
@Suite("Exact GELU at every instruction set against ½x(1 + erf(x/√2)) in Double")
struct ExactGELUTests {
  @Test("Within 2.5e-7·max(1, |x|) on −12…12, every length 0…35; limits, infinity and NaN")
  func everyLevel() {
    let grid = (0...48_001).map { Float(-12 + 24 * Double($0) / 48_001) }
    for level in VectorKernels.supportedLevels {
      let kernels = VectorKernels(level)!
      for count in [grid.count] + Array(0...35) {
        let inputs = count == grid.count ? grid : Array(grid[(20_000)..<(20_000 + count)])
        var values = inputs + [.nan]  // a guard element the loop must not touch
        values.withUnsafeMutableBufferPointer { kernels.geluErf($0.baseAddress!, count: count) }
        #expect(values.last!.isNaN, "\(level): wrote past \(count) values")
        for (x, y) in zip(inputs, values) {
          let exact = 0.5 * Double(x) * (1 + erf(Double(x) / 2.0.squareRoot()))
          #expect(
            abs(Double(y) - exact) <= 2.5e-7 * max(1, abs(Double(x))),
            "\(level): gelu(\(x)) = \(y), not \(exact)")
        }
      }
      var special: [Float] = [.infinity, .nan, -100, 100, -5.7, 5.7]
      special.withUnsafeMutableBufferPointer { kernels.geluErf($0.baseAddress!, count: 6) }
      #expect(special[0] == .infinity && special[1].isNaN, "\(level): \(special)")
      #expect(special[2] == 0 && special[3] == 100, "\(level): \(special)")
      #expect(special[4] == 0 && special[5] == 5.7, "\(level): \(special)")
    }
  }
}
