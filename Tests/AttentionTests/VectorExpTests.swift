import Testing

@testable import Attention

#if canImport(Glibc)
  import Glibc
#endif

@Suite("Vectorised exp against the C library's Double exp")
struct VectorExpTests {
  /// Float results are compared with `exp` in Double, correctly rounded to well below a Float ulp.
  static let floatBound = 2e-7
  /// Double results against glibc's `exp` (itself within an ulp).
  static let doubleBound = 1e-15

  /// Runs the 16-lane exp over `inputs` (padding the last vector) and returns the results.
  static func vectorExp(_ inputs: [Float]) -> [Float] {
    var results = [Float](repeating: 0, count: inputs.count)
    var start = 0
    while start < inputs.count {
      var x = SIMD16<Float>(repeating: 0)
      let n = min(16, inputs.count - start)
      for lane in 0..<n { x[lane] = inputs[start + lane] }
      let e = VectorExp.exp(x)
      for lane in 0..<n { results[start + lane] = e[lane] }
      start += 16
    }
    return results
  }

  static func vectorExp(_ inputs: [Double]) -> [Double] {
    var results = [Double](repeating: 0, count: inputs.count)
    var start = 0
    while start < inputs.count {
      var x = SIMD8<Double>(repeating: 0)
      let n = min(8, inputs.count - start)
      for lane in 0..<n { x[lane] = inputs[start + lane] }
      let e = VectorExp.exp(x)
      for lane in 0..<n { results[start + lane] = e[lane] }
      start += 8
    }
    return results
  }

  /// Checks one Float result: NaN for NaN, exactly 0 where the true value is below the smallest
  /// normal Float (the documented flush), +infinity on overflow, else the relative error bound.
  /// Returns the relative error (0 for special cases) or nil on a violation.
  static func floatError(_ x: Float, _ result: Float) -> Double? {
    if x.isNaN { return result.isNaN ? 0 : nil }
    let reference = Glibc.exp(Double(x))
    if reference < Double(Float.leastNormalMagnitude) { return result == 0 ? 0 : nil }
    if Float(reference) == .infinity { return result == .infinity ? 0 : nil }
    guard result.isFinite else { return nil }
    return abs(Double(result) - reference) / reference
  }

  @Test("Float: relative error ≤ 2e-7 on a dense sweep of every binade from −104 to 88.72")
  func floatSweep() {
    var inputs = [Float]()
    // Every binade of |x| from 2^-40 to 2^7, 12,000 evenly spaced mantissas each, both signs.
    for exponent in -40...6 {
      for step in 0..<12_000 {
        let significand = UInt32(step) * UInt32((1 << 23) / 12_000)
        let magnitude = Float(
          sign: .plus, exponentBitPattern: UInt(127 + exponent), significandBitPattern: significand)
        if magnitude <= 88.72283 { inputs.append(magnitude) }
        if magnitude <= 104 { inputs.append(-magnitude) }
      }
    }
    // And a uniform grid over the whole interval.
    let count = 400_000
    for i in 0...count { inputs.append(-104 + (88.72283 + 104) * Float(i) / Float(count)) }
    #expect(inputs.count >= 1_000_000)
    let results = Self.vectorExp(inputs)
    var worst = 0.0
    var worstInput: Float = 0
    var violations = 0
    for (x, e) in zip(inputs, results) {
      guard let error = Self.floatError(x, e) else {
        violations += 1
        if violations < 5 { Issue.record("exp(\(x)) = \(e), expected \(Glibc.exp(Double(x)))") }
        continue
      }
      if error > worst { (worst, worstInput) = (error, x) }
    }
    #expect(violations == 0)
    #expect(worst <= Self.floatBound, "worst relative error \(worst) at x = \(worstInput)")
  }

  @Test("Float: special values, the overflow and underflow edges")
  func floatSpecialValues() {
    let upper: Float = 88.72283172607422
    let lower: Float = -87.33654022216797
    let inputs: [Float] = [
      0, -0, 1, -1, .infinity, -.infinity, .nan, -.nan, .greatestFiniteMagnitude,
      -.greatestFiniteMagnitude, .leastNormalMagnitude, -.leastNormalMagnitude,
      .leastNonzeroMagnitude, -.leastNonzeroMagnitude, upper, upper.nextUp, upper.nextDown, 89, 100,
      lower, lower.nextUp, lower.nextDown, -87.5, -100, -103.97, -103.98, -104, -150, -1000,
    ]
    let results = Self.vectorExp(inputs)
    for (x, e) in zip(inputs, results) {
      let error = Self.floatError(x, e)
      #expect(error != nil && error! <= Self.floatBound, "exp(\(x)) = \(e)")
    }
    #expect(results[inputs.firstIndex(of: -.infinity)!] == 0)
    #expect(results[inputs.firstIndex(of: .infinity)!] == .infinity)
    #expect(results[6].isNaN && results[7].isNaN)
    #expect(results[inputs.firstIndex(of: upper.nextUp)!] == .infinity)
    // The flush to zero: exactly 0 just below the smallest-normal limit, normal just above.
    #expect(results[inputs.firstIndex(of: lower.nextDown)!] == 0)
    #expect(results[inputs.firstIndex(of: lower)!] >= .leastNormalMagnitude)
    for x: Float in [-103.97, -103.98, -104, -150, -1000] {
      #expect(results[inputs.firstIndex(of: x)!] == 0, "exp(\(x)) must be exactly 0")
    }
  }

  @Test("Float: dense sweep around the flush-to-zero limit")
  func floatNearLowerLimit() {
    var inputs = [Float]()
    var x: Float = -87.4
    while x < -87.2 {
      inputs.append(x)
      x = x.nextUp
    }
    let results = Self.vectorExp(inputs)
    for (x, e) in zip(inputs, results) {
      let error = Self.floatError(x, e)
      #expect(error != nil && error! <= Self.floatBound, "exp(\(x)) = \(e)")
    }
  }

  @Test("Double: relative error ≤ 1e-15 across the range, special values")
  func doubleSweep() {
    var inputs: [Double] = [
      0, -0, 1, -1, .infinity, -.infinity, .nan, 709.782712893384, 709.782712893384.nextUp,
      -708.3964185322641, (-708.3964185322641).nextDown, -745.2, -746, -1e4, 1e4,
    ]
    let count = 200_000
    for i in 0...count { inputs.append(-708.39 + (709.78 + 708.39) * Double(i) / Double(count)) }
    for i in 0...count { inputs.append(-1 + 2 * Double(i) / Double(count)) }
    let results = Self.vectorExp(inputs)
    var worst = 0.0
    var worstInput = 0.0
    for (x, e) in zip(inputs, results) {
      if x.isNaN {
        #expect(e.isNaN)
        continue
      }
      let reference = Glibc.exp(x)
      if reference < Double.leastNormalMagnitude {
        #expect(e == 0, "exp(\(x)) = \(e) must be 0")
      } else if reference == .infinity {
        #expect(e == .infinity, "exp(\(x)) = \(e) must be +infinity")
      } else {
        let error = abs(e - reference) / reference
        if !(error <= worst) { (worst, worstInput) = (error, x) }
      }
    }
    #expect(worst <= Self.doubleBound, "worst relative error \(worst) at x = \(worstInput)")
  }
}
