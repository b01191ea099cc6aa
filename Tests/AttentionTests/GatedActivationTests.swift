import AttentionTestSupport
import Foundation
import Testing

@testable import Attention

/// The MLP's gated activation (`GatedActivation`, the C loop `gated_sigmoid_f32`) at every
/// instruction set this CPU runs, against Double references of the definitions transformers uses:
/// SiLU `g·σ(g)·u` and the tanh GELU `0.5·g·(1 + tanh(√(2/π)·(g + 0.044715·g³)))·u`; on every
/// tail length, in place, and far outside the sigmoid's transition.
@Suite("Gated activation (SiLU, tanh GELU) at every instruction set against Double references")
struct GatedActivationTests {
  static func reference(_ activation: GatedActivation, _ g: Double, _ u: Double) -> Double {
    switch activation {
    case .silu: return g / (1 + Foundation.exp(-g)) * u
    case .geluTanh:
      let y = (2 / Double.pi).squareRoot() * (g + 0.044715 * g * g * g)
      return 0.5 * g * (1 + Foundation.tanh(y)) * u
    }
  }

  static func run(
    _ activation: GatedActivation, level: VectorKernels.Level, gate: [Float], up: [Float]
  ) -> [Float] {
    let (linear, cubic): (Float, Float) =
      activation == .silu ? (1, 0) : (2 * (2 / Float.pi).squareRoot(), 0.044715)
    var out = [Float](repeating: .nan, count: gate.count + 1)  // one guard element
    out.withUnsafeMutableBufferPointer { out in
      VectorKernels(level)!.gatedSigmoid(
        gate: gate, up: up, into: out.baseAddress!, count: gate.count, linear: linear,
        cubic: cubic)
    }
    #expect(out.last!.isNaN, "\(level): wrote past the end")
    return Array(out.dropLast())
  }

  @Test(
    "Every length 0…67 and typical values: error ≤ 4 ulp-scale of |g·u| + 1e-6·|u|",
    arguments: [GatedActivation.silu, .geluTanh])
  func matchesReference(activation: GatedActivation) {
    var generator = SplitMix64(seed: 17)
    for level in VectorKernels.supportedLevels {
      for count in 0...67 {
        let gate = (0..<count).map { _ in Float(Double.random(in: -8...8, using: &generator)) }
        let up = (0..<count).map { _ in Float(Double.random(in: -3...3, using: &generator)) }
        let result = Self.run(activation, level: level, gate: gate, up: up)
        for i in 0..<count {
          let expected = Self.reference(activation, Double(gate[i]), Double(up[i]))
          let bound = 4e-7 * abs(Double(gate[i]) * Double(up[i])) + 1e-6 * abs(Double(up[i]))
          #expect(
            abs(Double(result[i]) - expected) <= bound,
            "\(level) \(activation) g \(gate[i]) u \(up[i]): \(result[i]) vs \(expected)")
        }
      }
    }
  }

  @Test("Far outside the transition: the limits g·u and ±0, never NaN; NaN propagates")
  func limits() {
    let gate: [Float] = [200, -200, 1e20, -1e20, 90, -90, 0, .nan, 3]
    let up: [Float] = [2, 2, 1, 1, 1, 1, 5, 1, .nan]
    for level in VectorKernels.supportedLevels {
      for activation in [GatedActivation.silu, .geluTanh] {
        let r = Self.run(activation, level: level, gate: gate, up: up)
        #expect(r[0] == 400, "\(level) \(activation): \(r[0])")
        #expect(r[1] == 0, "\(level) \(activation): \(r[1])")
        #expect(r[2] == 1e20, "\(level) \(activation): \(r[2])")
        #expect(r[3] == 0, "\(level) \(activation): \(r[3])")
        #expect(abs(r[4] - 90) <= 1e-5, "\(level) \(activation): \(r[4])")
        #expect(abs(r[5]) <= 1e-30, "\(level) \(activation): \(r[5])")
        #expect(r[6] == 0, "\(level) \(activation): \(r[6])")
        #expect(r[7].isNaN && r[8].isNaN, "\(level) \(activation): \(r[7]), \(r[8])")
      }
    }
  }

  @Test("In place over the gate gives the same as a separate output")
  func inPlace() {
    var generator = SplitMix64(seed: 5)
    let gate = (0..<37).map { _ in Float(Double.random(in: -6...6, using: &generator)) }
    let up = (0..<37).map { _ in Float(Double.random(in: -2...2, using: &generator)) }
    var inPlace = gate
    let separate = [Float](unsafeUninitializedCapacity: 37) { out, initialized in
      GatedActivation.silu.apply(gate: gate, up: up, into: out.baseAddress!, count: 37)
      initialized = 37
    }
    inPlace.withUnsafeMutableBufferPointer { g in
      GatedActivation.silu.apply(gate: g.baseAddress!, up: up, into: g.baseAddress!, count: 37)
    }
    #expect(inPlace == separate)
  }
}
