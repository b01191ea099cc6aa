import Foundation
import Testing

@testable import Attention
@testable import TensorFiles

/// The value of float16 bits from the IEEE 754 binary16 definition, computed in `Double`
/// independently of any conversion routine.
private func float16Value(_ bits: UInt16) -> Double {
  let sign: Double = bits & 0x8000 != 0 ? -1 : 1
  let exponent = Int(bits >> 10 & 0x1F)
  let fraction = Double(bits & 0x3FF)
  switch exponent {
  case 0: return sign * fraction * 0x1p-24
  case 31: return fraction == 0 ? sign * .infinity : .nan
  default:
    return sign * (1 + fraction / 1024)
      * Double(sign: .plus, exponent: exponent - 15, significand: 1)
  }
}

@Suite("Half precision: exact widening, correctly rounded narrowing")
struct HalfPrecisionTests {
  @Test("every float16 widens to the Float and Double its bits define, and narrows back")
  func everyFloat16() throws {
    let all = (0...UInt16.max).map { Float16(bitPattern: $0) }
    let halves = try Tensor(shape: [all.count], scalars: all)
    let singles = halves.converted(to: Float.self)
    let doubles = halves.converted(to: Double.self)
    for (index, bits) in (0...UInt16.max).enumerated() {
      let expected = float16Value(bits)
      let single = singles.scalars[index]
      let double = doubles.scalars[index]
      if expected.isNaN {
        #expect(single.isNaN && double.isNaN, "\(bits)")
        #expect(single.sign == all[index].sign && double.sign == all[index].sign, "\(bits)")
      } else {
        #expect(Double(single) == expected && double == expected, "\(bits)")
        #expect(single.sign == all[index].sign, "the sign of zero, \(bits)")
      }
    }
    for narrowed in [singles.converted(to: Float16.self), doubles.converted(to: Float16.self)] {
      for (back, original) in zip(narrowed.scalars, all) where !original.isNaN {
        #expect(back.bitPattern == original.bitPattern)
      }
      #expect(zip(narrowed.scalars, all).allSatisfy { !$1.isNaN || $0.isNaN })
    }
  }

  @Test("every bfloat16 widens to the Float of its bits shifted left by 16, and narrows back")
  func everyBFloat16() throws {
    let all = (0...UInt16.max).map { BFloat16(bitPattern: $0) }
    let brains = try Tensor(shape: [all.count], scalars: all)
    let singles = brains.converted(to: Float.self)
    let doubles = brains.converted(to: Double.self)
    for (index, bits) in (0...UInt16.max).enumerated() {
      let expected = Float(bitPattern: UInt32(bits) << 16)
      #expect(singles.scalars[index].bitPattern == expected.bitPattern, "\(bits)")
      #expect(
        expected.isNaN
          ? doubles.scalars[index].isNaN && doubles.scalars[index].sign == expected.sign
          : doubles.scalars[index] == Double(expected)
            && doubles.scalars[index].sign
              == expected.sign,
        "\(bits)")
    }
    for narrowed in [singles.converted(to: BFloat16.self), doubles.converted(to: BFloat16.self)] {
      for (back, original) in zip(narrowed.scalars, all) {
        if original.floatValue.isNaN {
          // A NaN comes back quiet (bit 6 set), with its sign and upper payload.
          #expect(back.bitPattern == original.bitPattern | 0x0040, "\(original.bitPattern)")
        } else {
          #expect(back.bitPattern == original.bitPattern, "\(original.bitPattern)")
        }
      }
    }
  }

  /// Compares library roundings with the fixture's, which the script computed exactly.
  private func expectRoundings<Half>(
    _ actual: [Half], _ expected: [UInt16], inputs: [String], bits: (Half) -> UInt16,
    _ what: String
  ) {
    #expect(actual.count == expected.count && !expected.isEmpty, "\(what)")
    for (index, (value, wanted)) in zip(actual, expected).enumerated() {
      let got = bits(value)
      let wantedIsNaN = wanted & 0x7FFF > (what.contains("bfloat16") ? 0x7F80 : 0x7C00)
      if wantedIsNaN {
        let gotIsNaN = got & 0x7FFF > (what.contains("bfloat16") ? 0x7F80 : 0x7C00)
        #expect(gotIsNaN && got >> 15 == wanted >> 15, "\(what) of \(inputs[index]): NaN")
      } else {
        #expect(
          got == wanted,
          "\(what) of \(inputs[index]): 0x\(String(got, radix: 16)), expected 0x\(String(wanted, radix: 16))"
        )
      }
    }
  }

  @Test(
    "Float and Double round to float16 and bfloat16 as exact arithmetic says: ties to even, overflow to infinity, subnormals, no double rounding"
  )
  func roundingMatchesExactArithmetic() throws {
    let file = try SafetensorsFile.read(from: TensorFileFixtures.path("rounding.safetensors"))
    guard case .float32(let inputs32)? = file["input32"],
      case .float64(let inputs64)? = file["input64"],
      case .float16(let half32)? = file["float16_from32"],
      case .float16(let half64)? = file["float16_from64"],
      case .bfloat16(let brain32)? = file["bfloat16_from32"],
      case .bfloat16(let brain64)? = file["bfloat16_from64"]
    else {
      Issue.record("rounding.safetensors does not hold the expected tensors: \(file.entries)")
      return
    }
    let names32 = inputs32.scalars.map { "0x" + String($0.bitPattern, radix: 16) }
    let names64 = inputs64.scalars.map { "0x" + String($0.bitPattern, radix: 16) }
    expectRoundings(
      inputs32.converted(to: Float16.self).scalars, half32.scalars.map(\.bitPattern),
      inputs: names32, bits: \.bitPattern, "float16 from Float")
    expectRoundings(
      inputs64.converted(to: Float16.self).scalars, half64.scalars.map(\.bitPattern),
      inputs: names64, bits: \.bitPattern, "float16 from Double")
    expectRoundings(
      inputs32.converted(to: BFloat16.self).scalars, brain32.scalars.map(\.bitPattern),
      inputs: names32, bits: \.bitPattern, "bfloat16 from Float")
    expectRoundings(
      inputs64.converted(to: BFloat16.self).scalars, brain64.scalars.map(\.bitPattern),
      inputs: names64, bits: \.bitPattern, "bfloat16 from Double")
  }

  @Test("BFloat16: IEEE equality, Float's description, NaN payload kept in the upper bits")
  func bfloat16Value() throws {
    #expect(BFloat16(bitPattern: 0x8000) == BFloat16(bitPattern: 0x0000))
    #expect(BFloat16(bitPattern: 0x7FC0) != BFloat16(bitPattern: 0x7FC0))
    #expect(BFloat16(Float(1.5)).description == "1.5")
    #expect(BFloat16(Float(bitPattern: 0x7FA1_0000)).bitPattern == 0x7FE1)
    // A signalling NaN whose payload lies only in the dropped bits stays a NaN, not infinity.
    #expect(BFloat16(Float(bitPattern: 0xFF80_0001)).bitPattern == 0xFFC0)
    #expect(BFloat16(-Double.infinity).bitPattern == 0xFF80)
    #expect(try Tensor<BFloat16>(zeros: [2]).scalars.map(\.bitPattern) == [0, 0])
    #expect(try Tensor<Float16>(zeros: [1]).scalars == [0])
    #expect(try Tensor<Int64>(zeros: [1]).scalars == [0])
  }

  @Test("AnyTensor converts every floating-point case and refuses integers and bools")
  func anyTensorConversions() throws {
    let halves = try Tensor<Float16>(shape: [3], scalars: [1.5, -.infinity, 0x1p-24])
    #expect(
      try AnyTensor.float16(halves).floatingPoint(as: Float.self).scalars == [
        1.5, -.infinity, 0x1p-24,
      ]
    )
    let brains = try Tensor(
      shape: [2], scalars: [BFloat16(bitPattern: 0x3FC0), BFloat16(bitPattern: 0x0001)])
    #expect(
      try AnyTensor.bfloat16(brains).floatingPoint(as: Double.self).scalars == [1.5, 0x1p-133])
    let ids = try Tensor<Int32>(shape: [2], scalars: [.max, .min])
    #expect(try AnyTensor.int32(ids).integer().scalars == [Int64(Int32.max), Int64(Int32.min)])
    #expect(
      try AnyTensor.int64(Tensor(shape: [1], scalars: [Int64.min])).integer().scalars == [.min])
    #expect(
      tensorFileError {
        try AnyTensor.int64(Tensor(shape: [1], scalars: [1])).floatingPoint(as: Float.self)
      }
        == .dtypeMismatch(
          path: nil, tensor: nil,
          expected: "floating-point (float16, bfloat16, float32 or float64)",
          actual: "int64"))
    #expect(
      tensorFileError { try AnyTensor.float16(halves).integer() }
        == .dtypeMismatch(
          path: nil, tensor: nil, expected: "integer (int32 or int64)", actual: "float16"))
    #expect(
      [AnyTensor.float16(halves), .bfloat16(brains), .int32(ids)].map(\.dtypeName)
        == ["float16", "bfloat16", "int32"])
    #expect(AnyTensor.float16(halves).isFloatingPoint && !AnyTensor.int32(ids).isFloatingPoint)
  }
}
