import Testing

@testable import Attention

#if canImport(Glibc)
  import Glibc
#endif

/// The exp of the row kernels (``VectorKernels/exponentiate(_:count:subtracting:)`` with a shift
/// of 0), for every instruction set this CPU runs, against the C library's exp in higher
/// precision.
@Suite("Vectorised exp of every instruction set against a higher-precision exp")
struct VectorExpTests {
  /// Float results against `exp` in Double, correctly rounded to well below a Float ulp.
  /// (Measured: 8.05e-8 for every variant.)
  static let floatBound = 1e-7
  /// Double results against `exp` in Float80 where it exists (x86-64): the bound is the
  /// kernels' own error (measured: 3.5e-16 for every variant). Elsewhere the reference is
  /// glibc's Double `exp`, whose own error (below one ulp, 2.2e-16) is added.
  #if arch(x86_64)
    static let doubleBound = 4e-16
  #else
    static let doubleBound = 4e-16 + 2.3e-16
  #endif

  /// The levels this CPU can run: the portable loops, SSE2 on x86-64, and AVX2 or AVX-512 when
  /// the CPU has them.
  static let levels = VectorKernels.supportedLevels

  /// exp of every input with `kernels`, the whole array as one row (so every tail is covered).
  static func exp<S: AttentionScalar>(_ inputs: [S], using kernels: VectorKernels) -> [S] {
    var results = inputs
    results.withUnsafeMutableBufferPointer { row in
      _ = kernels.exponentiate(row.baseAddress!, count: row.count, subtracting: 0)
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

  /// The same for Double.
  static func doubleError(_ x: Double, _ result: Double) -> Double? {
    if x.isNaN { return result.isNaN ? 0 : nil }
    #if arch(x86_64)
      let reference = Glibc.exp(Float80(x))
      if reference < Float80(Double.leastNormalMagnitude) { return result == 0 ? 0 : nil }
      if Double(reference) == .infinity { return result == .infinity ? 0 : nil }
      guard result.isFinite else { return nil }
      return Double(abs(Float80(result) - reference) / reference)
    #else
      let reference = Glibc.exp(x)
      if reference < Double.leastNormalMagnitude { return result == 0 ? 0 : nil }
      if reference == .infinity { return result == .infinity ? 0 : nil }
      guard result.isFinite else { return nil }
      return abs(result - reference) / reference
    #endif
  }

  /// Inputs covering every binade of |x| from 2^-40 to 2^6, 12,000 evenly spaced mantissas each,
  /// both signs, within [−104, 88.72283]; then a uniform grid over that interval.
  static let floatSweepInputs: [Float] = {
    var inputs = [Float]()
    for exponent in -40...6 {
      for step in 0..<12_000 {
        let significand = UInt32(step) * UInt32((1 << 23) / 12_000)
        let magnitude = Float(
          sign: .plus, exponentBitPattern: UInt(127 + exponent), significandBitPattern: significand)
        if magnitude <= 88.72283 { inputs.append(magnitude) }
        if magnitude <= 104 { inputs.append(-magnitude) }
      }
    }
    let count = 400_000
    for i in 0...count { inputs.append(-104 + (88.72283 + 104) * Float(i) / Float(count)) }
    return inputs
  }()

  @Test(
    "Float: relative error ≤ 1e-7 on a dense sweep of every binade from −104 to 88.72",
    arguments: levels)
  func floatSweep(level: VectorKernels.Level) throws {
    let kernels = try #require(VectorKernels(level))
    let inputs = Self.floatSweepInputs
    #expect(inputs.count >= 1_000_000)
    let results = Self.exp(inputs, using: kernels)
    var worst = 0.0
    var worstInput: Float = 0
    var violations = 0
    for (x, e) in zip(inputs, results) {
      guard let error = Self.floatError(x, e) else {
        violations += 1
        if violations < 5 { Issue.record("\(level): exp(\(x)) = \(e)") }
        continue
      }
      if error > worst { (worst, worstInput) = (error, x) }
    }
    #expect(violations == 0)
    #expect(
      worst <= Self.floatBound, "\(level): worst relative error \(worst) at x = \(worstInput)")
  }

  @Test("Float: special values, the overflow and underflow edges", arguments: levels)
  func floatSpecialValues(level: VectorKernels.Level) throws {
    let kernels = try #require(VectorKernels(level))
    let upper: Float = 88.72283172607422
    let lower: Float = -87.33654022216797
    let inputs: [Float] = [
      0, -0, 1, -1, .infinity, -.infinity, .nan, -.nan, .greatestFiniteMagnitude,
      -.greatestFiniteMagnitude, .leastNormalMagnitude, -.leastNormalMagnitude,
      .leastNonzeroMagnitude, -.leastNonzeroMagnitude, upper, upper.nextUp, upper.nextDown, 89, 100,
      lower, lower.nextUp, lower.nextDown, -87.5, -100, -103.97, -103.98, -104, -150, -1000,
      .signalingNaN,
    ]
    let results = Self.exp(inputs, using: kernels)
    for (x, e) in zip(inputs, results) {
      let error = Self.floatError(x, e)
      #expect(error != nil && error! <= Self.floatBound, "\(level): exp(\(x)) = \(e)")
    }
    #expect(results[inputs.firstIndex(of: 0)!] == 1)
    #expect(results[inputs.firstIndex(of: -.infinity)!] == 0)
    #expect(results[inputs.firstIndex(of: .infinity)!] == .infinity)
    #expect(results[6].isNaN && results[7].isNaN && results.last!.isNaN)
    #expect(results[inputs.firstIndex(of: upper)!].isFinite)
    #expect(results[inputs.firstIndex(of: upper.nextUp)!] == .infinity)
    // The flush to zero: exactly 0 just below the smallest-normal limit, normal just above.
    #expect(results[inputs.firstIndex(of: lower.nextDown)!] == 0)
    #expect(results[inputs.firstIndex(of: lower)!] >= .leastNormalMagnitude)
    for x: Float in [-103.97, -103.98, -104, -150, -1000] {
      #expect(results[inputs.firstIndex(of: x)!] == 0, "\(level): exp(\(x)) must be exactly 0")
    }
  }

  @Test("Float: every Float around the flush-to-zero limit", arguments: levels)
  func floatNearLowerLimit(level: VectorKernels.Level) throws {
    let kernels = try #require(VectorKernels(level))
    var inputs = [Float]()
    var x: Float = -87.4
    while x < -87.2 {
      inputs.append(x)
      x = x.nextUp
    }
    let results = Self.exp(inputs, using: kernels)
    for (x, e) in zip(inputs, results) {
      let error = Self.floatError(x, e)
      #expect(error != nil && error! <= Self.floatBound, "\(level): exp(\(x)) = \(e)")
    }
  }

  @Test(
    "Double: relative error ≤ 4e-16 on every binade from 2^-60 to 2^9, special values",
    arguments: levels)
  func doubleSweep(level: VectorKernels.Level) throws {
    let kernels = try #require(VectorKernels(level))
    let upper = 709.782712893384
    let lower = -708.3964185322641
    var inputs: [Double] = [
      0, -0, 1, -1, .infinity, -.infinity, .nan, .signalingNaN, upper, upper.nextUp,
      upper.nextDown, lower, lower.nextDown, lower.nextUp, -745.2, -746, -1e4, 1e4,
      .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .leastNormalMagnitude,
      .leastNonzeroMagnitude,
    ]
    // Every binade of |x| from 2^-60 to 2^9, 4,000 evenly spaced mantissas each, both signs.
    for exponent in -60...9 {
      for step in 0..<4_000 {
        let significand = UInt64(step) * UInt64((1 << 52) / 4_000)
        let magnitude = Double(
          sign: .plus, exponentBitPattern: UInt(1023 + exponent),
          significandBitPattern: significand)
        if magnitude <= 710 { inputs.append(magnitude) }
        if magnitude <= 746 { inputs.append(-magnitude) }
      }
    }
    let count = 200_000
    for i in 0...count { inputs.append(-708.39 + (709.78 + 708.39) * Double(i) / Double(count)) }
    let results = Self.exp(inputs, using: kernels)
    var worst = 0.0
    var worstInput = 0.0
    var violations = 0
    for (x, e) in zip(inputs, results) {
      guard let error = Self.doubleError(x, e) else {
        violations += 1
        if violations < 5 { Issue.record("\(level): exp(\(x)) = \(e)") }
        continue
      }
      if error > worst { (worst, worstInput) = (error, x) }
    }
    #expect(violations == 0)
    #expect(results[0] == 1 && results[5] == 0 && results[4] == .infinity)
    #expect(results[6].isNaN && results[7].isNaN)
    #expect(results[9] == .infinity && results[12] == 0)
    #expect(
      worst <= Self.doubleBound, "\(level): worst relative error \(worst) at x = \(worstInput)")
  }
}
