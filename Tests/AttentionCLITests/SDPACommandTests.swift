import Attention
import AttentionTestSupport
import Foundation
import Testing

/// `attention sdpa` end to end: files in, the binary run as a process, files out, compared with
/// the library called directly on the same values.
@Suite("attention sdpa: outputs equal a direct library call")
struct SDPACommandTests {
  /// One run of the command: the input shapes, dtype and options.
  struct Case: CustomTestStringConvertible, Sendable {
    var name: String
    var dtype: NPYArray.DType
    var query: [Int]
    var key: [Int]
    var valueDimension: Int
    var mask: MaskKind = .none
    var causal: CausalAlignment?
    var scale: Double?
    var backend: AttentionBackend = .blas

    enum MaskKind: Sendable { case none, allow([Int]), additive([Int]) }

    var testDescription: String { name }
  }

  static let cases: [Case] = [
    Case(
      name: "rank 4 float32, grouped-query heads, bool mask, bottom-right causal",
      dtype: .float32, query: [2, 4, 5, 8], key: [2, 2, 7, 8], valueDimension: 3,
      mask: .allow([2, 1, 5, 7]), causal: .bottomRight),
    Case(
      name: "rank 3 float64, additive mask, explicit scale, naive backend",
      dtype: .float64, query: [3, 6, 4], key: [3, 6, 4], valueDimension: 5,
      mask: .additive([6, 6]), scale: 0.3, backend: .naive),
    Case(
      name: "rank 2 float32, cross-attention, top-left causal, materialised backend",
      dtype: .float32, query: [6, 16], key: [9, 16], valueDimension: 16,
      causal: .topLeft, backend: .blasMaterialized),
  ]

  /// The files of one run and what the binary wrote.
  struct Run {
    var q, k, v: NPYArray
    var mask: NPYArray?
    var output, weights, logSumExp: NPYArray
  }

  /// Writes random inputs of `testCase`'s shapes and dtype, runs `sdpa` with every output, and
  /// checks the outputs' dtype and shapes.
  private func run(_ testCase: Case) throws -> Run {
    let scratch = try ScratchDirectory()
    var valueShape = testCase.key
    valueShape[valueShape.count - 1] = testCase.valueDimension
    let q = NPYArray.random(testCase.dtype, shape: testCase.query, seed: 1)
    let k = NPYArray.random(testCase.dtype, shape: testCase.key, seed: 2)
    let v = NPYArray.random(testCase.dtype, shape: valueShape, seed: 3)
    try scratch.write(q, to: "q.npy")
    try scratch.write(k, to: "k.npy")
    try scratch.write(v, to: "v.npy")
    var arguments = [
      "sdpa", "--query", "q.npy", "--key", "k.npy", "--value", "v.npy", "--output", "o.npy",
      "--weights-output", "p.npy", "--lse-output", "l.npy", "--backend",
      testCase.backend.rawValue, "--check-finite",
    ]
    var maskFile: NPYArray?
    switch testCase.mask {
    case .none: break
    case .allow(let shape):
      var bools = NPYArray.random(.float64, shape: shape, seed: 4)
      bools.values = bools.values.map { $0 > -0.5 ? 1 : 0 }
      bools.dtype = .bool
      maskFile = bools
    case .additive(let shape):
      var additive = NPYArray.random(testCase.dtype, shape: shape, seed: 5)
      additive.values[1] = -.infinity  // a blocked pair, still allowed by --check-finite
      maskFile = additive
    }
    if let maskFile {
      try scratch.write(maskFile, to: "m.npy")
      arguments += ["--mask", "m.npy"]
    }
    if let causal = testCase.causal { arguments += ["--causal", causal.rawValue] }
    if let scale = testCase.scale { arguments += ["--scale", "\(scale)"] }

    let result = try scratch.run(arguments)
    try #require(result.status == 0, "\(result)")
    #expect(result.standardError.isEmpty)

    let output = try scratch.read("o.npy")
    let weights = try scratch.read("p.npy")
    let logSumExp = try scratch.read("l.npy")
    let leading = Array(testCase.query.dropLast(2))
    let nq = testCase.query[testCase.query.count - 2]
    let nk = testCase.key[testCase.key.count - 2]
    #expect(output.dtype == testCase.dtype && weights.dtype == testCase.dtype)
    #expect(logSumExp.dtype == testCase.dtype)
    #expect(output.shape == leading + [nq, testCase.valueDimension])
    #expect(weights.shape == leading + [nq, nk])
    #expect(logSumExp.shape == leading + [nq])
    return Run(
      q: q, k: k, v: v, mask: maskFile, output: output, weights: weights, logSumExp: logSumExp)
  }

  @Test("output, weights and log-sum-exp keep the query's rank and dtype", arguments: cases)
  func matchesLibrary(_ testCase: Case) throws {
    let run = try run(testCase)
    if testCase.dtype == .float32 {
      try compare(
        Float.self, testCase, run.q, run.k, run.v, run.mask, run.output, run.weights,
        run.logSumExp)
    } else {
      try compare(
        Double.self, testCase, run.q, run.k, run.v, run.mask, run.output, run.weights,
        run.logSumExp)
    }
  }

  static let float16Cases: [Case] = [
    Case(
      name: "rank 4 float16, grouped-query heads, additive float16 mask with -inf",
      dtype: .float16, query: [2, 4, 5, 8], key: [2, 2, 7, 8], valueDimension: 6,
      mask: .additive([5, 7])),
    Case(
      name: "rank 2 float16, bool mask, bottom-right causal, materialised backend",
      dtype: .float16, query: [6, 16], key: [9, 16], valueDimension: 16, mask: .allow([6, 9]),
      causal: .bottomRight, backend: .blasMaterialized),
    Case(
      name: "rank 3 float16, top-left causal, explicit scale",
      dtype: .float16, query: [3, 33, 8], key: [3, 40, 8], valueDimension: 5, causal: .topLeft,
      scale: 0.5),
  ]

  @Test(
    "float16 inputs give float16 outputs matching a float64 computation (within float16 rounding)",
    arguments: float16Cases)
  func float16MatchesFloat64(_ testCase: Case) throws {
    let run = try run(testCase)
    var mask = AttentionMask<Double>.none
    if let maskFile = run.mask {
      mask =
        maskFile.dtype == .bool
        ? .allow(where: try maskFile.tensor(Bool.self))
        : .additive(try maskFile.tensor(Double.self))
    }
    // The float16 inputs are exact in Double; the reference is the plain-loop Double path.
    let expected = try scaledDotProductAttention(
      query: run.q.tensor(Double.self), key: run.k.tensor(Double.self),
      value: run.v.tensor(Double.self), mask: mask, causal: testCase.causal,
      scale: testCase.scale, backend: .naive, returning: [.probabilities, .logSumExp])
    // Computed in Float, then rounded once to float16: half an ulp is 2^-11 ≈ 4.9e-4 relative.
    expectClose(
      run.output.values, expected.output.scalars, tolerance: Tolerance.float16Storage, "output")
    expectClose(
      run.weights.values, expected.probabilities!.scalars, tolerance: Tolerance.float16Storage,
      "weights")
    expectClose(
      run.logSumExp.values, expected.logSumExp!.scalars, tolerance: Tolerance.float16Storage,
      "log-sum-exp")
    // And no looser than needed: every output is within one float16 ulp of the exact value
    // rounded to float16.
    for (actual, exact) in zip(run.output.values, expected.output.scalars) {
      let rounded = Float16(exact)
      #expect(
        [rounded.nextDown, rounded, rounded.nextUp].contains(Float16(actual)),
        "\(actual) vs \(exact)")
    }
  }

  private func compare<S: AttentionScalar>(
    _: S.Type, _ testCase: Case, _ q: NPYArray, _ k: NPYArray, _ v: NPYArray,
    _ maskFile: NPYArray?, _ output: NPYArray, _ weights: NPYArray, _ logSumExp: NPYArray
  ) throws {
    var mask = AttentionMask<S>.none
    if let maskFile {
      mask =
        maskFile.dtype == .bool
        ? .allow(where: try maskFile.tensor(Bool.self))
        : .additive(try maskFile.tensor(S.self))
    }
    let expected = try scaledDotProductAttention(
      query: q.tensor(S.self), key: k.tensor(S.self), value: v.tensor(S.self), mask: mask,
      causal: testCase.causal, scale: testCase.scale.map { S($0) }, backend: testCase.backend,
      returning: [.probabilities, .logSumExp])
    // The binary runs the same code on the same values: only the thread split can differ.
    let tolerance =
      S.self == Float.self ? Tolerance.floatSameComputation : Tolerance.doubleSameComputation
    expectClose(output.values, expected.output.scalars, tolerance: tolerance, "output")
    expectClose(
      weights.values, expected.probabilities!.scalars, tolerance: tolerance, "weights")
    expectClose(
      logSumExp.values, expected.logSumExp!.scalars, tolerance: tolerance, "log-sum-exp")
  }

  @Test("a successful run leaves no temporary files behind")
  func noTemporaryFiles() throws {
    let scratch = try ScratchDirectory()
    try scratch.write(.random(.float32, shape: [4, 8], seed: 1), to: "q.npy")
    let result = try scratch.run([
      "sdpa", "--query", "q.npy", "--key", "q.npy", "--value", "q.npy", "--output", "o.npy",
    ])
    try #require(result.status == 0, "\(result)")
    let files = try FileManager.default.contentsOfDirectory(atPath: scratch.url.path)
      .filter { !$0.hasPrefix(".std") }
    #expect(Set(files) == ["q.npy", "o.npy"])
  }
}
