import AttentionTestSupport
import Testing

@testable import Attention

/// One forward-pass configuration.
struct MultiHeadCase: Sendable, CustomTestStringConvertible {
  enum MaskKind: Sendable { case none, allowPerBatch, blockShared, additivePerHead }
  var batch = 2, queryCount = 5, keyCount = 5, embed = 12, heads = 3, keyValueHeads = 3
  var keyDimension = 12, valueDimension = 12
  var selfAttention = true, unbatched = false, bias = true
  var causal: CausalAlignment? = nil
  var keyLengths: [Int]? = nil
  var mask = MaskKind.none
  var testDescription: String {
    "B\(batch) Nq\(queryCount) Nk\(keyCount) E\(embed) H\(heads)/\(keyValueHeads) k\(keyDimension) v\(valueDimension)"
      + "\(selfAttention ? " self" : " cross")\(unbatched ? " unbatched" : "") \(causal?.rawValue ?? "") \(mask)"
  }
}

@Suite("Multi-head attention against a per-head Double reference")
struct MultiHeadAttentionTests {
  static let cases: [MultiHeadCase] = [
    MultiHeadCase(),
    MultiHeadCase(
      batch: 1, queryCount: 7, keyCount: 7, embed: 8, heads: 2, keyValueHeads: 2,
      keyDimension: 8, valueDimension: 8, causal: .topLeft, keyLengths: [5], mask: .additivePerHead),
    MultiHeadCase(
      queryCount: 4, keyCount: 6, heads: 4, keyValueHeads: 4, keyDimension: 5,
      valueDimension: 7, selfAttention: false, mask: .allowPerBatch),
    MultiHeadCase(
      batch: 2, queryCount: 6, keyCount: 6, embed: 16, heads: 4, keyValueHeads: 2,
      keyDimension: 16, valueDimension: 16, bias: false, causal: .bottomRight, keyLengths: [6, 3]),
    MultiHeadCase(
      batch: 3, queryCount: 3, keyCount: 8, embed: 16, heads: 4, keyValueHeads: 1,
      keyDimension: 16, valueDimension: 6, selfAttention: false, causal: .bottomRight,
      mask: .blockShared),
    MultiHeadCase(
      batch: 1, queryCount: 6, keyCount: 4, embed: 6, heads: 2, keyValueHeads: 1,
      keyDimension: 3, valueDimension: 3, selfAttention: false, unbatched: true, causal: .topLeft,
      mask: .blockShared),
  ]

  /// Everything one case needs: the layer, its inputs and the reference's answer.
  struct Fixture {
    let attention: MultiHeadAttention<Double>
    let query: Tensor<Double>
    let key: Tensor<Double>?
    let value: Tensor<Double>?
    let mask: AttentionMask<Double>
    let expectedOutput: Tensor<Double>
    let expectedProbabilities: [Double]

    init(_ c: MultiHeadCase, seed: UInt64 = 31) throws {
      var data = TestData(seed: seed)
      let d = c.embed / c.heads
      let kv = c.keyValueHeads * d
      func linear(_ out: Int, _ inCount: Int) -> Linear<Double> {
        let w: Tensor<Double> = data.normal(
          [out, inCount], standardDeviation: 1 / Double(inCount).squareRoot())
        let b: Tensor<Double>? = c.bias ? data.normal([out], standardDeviation: 0.5) : nil
        return try! Linear(weight: w, bias: b)
      }
      attention = try MultiHeadAttention(
        headCount: c.heads, keyValueHeadCount: c.keyValueHeads,
        queryProjection: linear(c.embed, c.embed), keyProjection: linear(kv, c.keyDimension),
        valueProjection: linear(kv, c.valueDimension), outputProjection: linear(c.embed, c.embed))
      func reference(_ layer: Linear<Double>) -> ReferenceLinear {
        ReferenceLinear(weight: layer.weight, bias: layer.bias)
      }
      let reference = ReferenceMultiHeadAttention(
        headCount: c.heads, keyValueHeadCount: c.keyValueHeads,
        queryProjection: reference(attention.queryProjection),
        keyProjection: reference(attention.keyProjection),
        valueProjection: reference(attention.valueProjection),
        outputProjection: reference(attention.outputProjection))

      let (b, nq, nk) = (c.batch, c.queryCount, c.keyCount)
      let lead = c.unbatched ? [] : [b]
      query = data.normal(lead + [nq, c.embed])
      key = c.selfAttention ? nil : data.normal(lead + [nk, c.keyDimension])
      value = c.selfAttention ? nil : data.normal(lead + [nk, c.valueDimension])

      // The mask as a tensor for the layer and as a function for the reference.
      var maskBias: (Int, Int, Int, Int) -> Double = { _, _, _, _ in 0 }
      switch c.mask {
      case .none:
        mask = .none
      case .allowPerBatch:
        let allowed = data.bools([b, 1, nq, nk])
        mask = .allow(where: allowed)
        maskBias = { bi, _, i, j in allowed[bi, 0, i, j] ? 0 : -.infinity }
      case .blockShared:
        let blocked = data.bools([nq, nk], probability: 0.3)
        mask = .block(where: blocked)
        maskBias = { _, _, i, j in blocked[i, j] ? -.infinity : 0 }
      case .additivePerHead:
        var values: Tensor<Double> = data.normal([c.heads, nq, nk])
        values[0, 1, 0] = -.infinity
        mask = .additive(values)
        maskBias = { [values] _, h, i, j in values[h, i, j] }
      }
      let result = reference(
        query: query.scalars, key: (key ?? query).scalars, value: (value ?? key ?? query).scalars,
        batch: b, queryCount: nq, keyCount: nk,
        visible: { bi, _, i, j in
          if let lengths = c.keyLengths, j >= lengths[bi] { return false }
          switch c.causal {
          case .topLeft?: return j <= i
          case .bottomRight?: return j <= i + nk - nq
          case nil: return true
          }
        }, bias: maskBias)
      expectedOutput = try Tensor(shape: lead + [nq, c.embed], scalars: result.output)
      expectedProbabilities = result.weights
    }
  }

  @Test("Double and Float outputs match the reference on every backend", arguments: cases)
  func forwardMatchesReference(c: MultiHeadCase) throws {
    let f = try Fixture(c)
    let floatLayer = try MultiHeadAttention<Float>(
      pyTorchStateDict: f.attention.pyTorchStateDict.mapValues { $0.converted(to: Float.self) },
      headCount: c.heads, keyValueHeadCount: c.keyValueHeads)
    let floatMask: AttentionMask<Float>
    switch f.mask {
    case .none: floatMask = .none
    case .allow(let m): floatMask = .allow(where: m)
    case .block(let m): floatMask = .block(where: m)
    case .additive(let m): floatMask = .additive(m.converted())
    }
    for backend in [AttentionBackend.blas, .naive, .blasMaterialized] {
      let double = try f.attention(
        f.query, key: f.key, value: f.value, mask: f.mask, causal: c.causal,
        keyLengths: c.keyLengths, backend: backend)
      expectClose(double, f.expectedOutput, tolerance: Tolerance.doubleVersusDouble, "\(backend)")
      let float = try floatLayer(
        f.query.converted(), key: f.key?.converted(), value: f.value?.converted(),
        mask: floatMask, causal: c.causal, keyLengths: c.keyLengths, backend: backend)
      expectClose(
        float.converted(to: Double.self), f.expectedOutput, tolerance: Tolerance.floatVersusDouble,
        "\(backend)")
    }
  }

  @Test("Head-averaged and per-head weights match the reference", arguments: cases)
  func weightsMatchReference(c: MultiHeadCase) throws {
    let f = try Fixture(c)
    let plane = c.queryCount * c.keyCount
    let lead = c.unbatched ? [] : [c.batch]
    for backend in [AttentionBackend.blas, .naive] {
      let averaged = try f.attention(
        f.query, key: f.key, value: f.value, mask: f.mask, causal: c.causal,
        keyLengths: c.keyLengths, backend: backend, returningWeights: .averagedOverHeads)
      expectClose(averaged.output, f.expectedOutput, tolerance: Tolerance.doubleVersusDouble)
      let mean = ReferenceMultiHeadAttention.averagedOverHeads(
        f.expectedProbabilities, batch: c.batch, heads: c.heads, plane: plane)
      expectClose(
        averaged.weights, try Tensor(shape: lead + [c.queryCount, c.keyCount], scalars: mean),
        tolerance: Tolerance.doubleVersusDouble, "averaged \(backend)")
      let perHead = try f.attention(
        f.query, key: f.key, value: f.value, mask: f.mask, causal: c.causal,
        keyLengths: c.keyLengths, backend: backend, returningWeights: .perHead)
      expectClose(
        perHead.weights,
        try Tensor(
          shape: lead + [c.heads, c.queryCount, c.keyCount], scalars: f.expectedProbabilities),
        tolerance: Tolerance.doubleVersusDouble, "per head \(backend)")
    }
  }

  @Test("With identity projections it is attention on the split inputs, merged back")
  func identityProjections() throws {
    let (e, h) = (12, 3)
    var identity = try Tensor<Float>(zeros: [e, e])
    for i in 0..<e { identity[i, i] = 1 }
    let eye = try Linear(weight: identity)
    let attention = try MultiHeadAttention(
      headCount: h, queryProjection: eye, keyProjection: eye, valueProjection: eye,
      outputProjection: eye)
    var data = TestData(seed: 5)
    let x: Tensor<Float> = data.normal([2, 6, e])
    let memory: Tensor<Float> = data.normal([2, 9, e])
    for backend in [AttentionBackend.blas, .naive] {
      for causal in [nil, CausalAlignment.bottomRight] {
        let direct = try scaledDotProductAttention(
          query: x.splittingHeads(headCount: h), key: memory.splittingHeads(headCount: h),
          value: memory.splittingHeads(headCount: h), causal: causal, backend: backend
        ).mergingHeads()
        let layered = try attention(x, key: memory, causal: causal, backend: backend)
        expectClose(layered, direct, tolerance: Tolerance.floatVersusFloat, "\(backend)")
      }
    }
  }

  @Test("Grouped-query attention equals full attention with repeated key/value heads")
  func groupedEqualsRepeated() throws {
    let (e, h, hkv) = (16, 8, 2)
    let (d, group) = (e / h, h / hkv)
    var generator = SplitMix64(seed: 77)
    let grouped = try MultiHeadAttention<Float>(
      embedDimension: e, headCount: h, keyValueHeadCount: hkv, keyInputDimension: 5,
      valueInputDimension: 7, initialization: .orthogonal(), using: &generator)
    // Give the kv projections random biases, so that bias splitting is exercised too.
    func withBias(_ linear: Linear<Float>) throws -> Linear<Float> {
      let bias = (0..<(hkv * d)).map { _ in Float.random(in: -1...1, using: &generator) }
      return try Linear(weight: linear.weight, bias: Tensor(shape: [hkv * d], scalars: bias))
    }
    // Query head q reads kv head q / group: repeat each kv head's rows and bias group times.
    func repeated(_ linear: Linear<Float>) throws -> Linear<Float> {
      let width = linear.inputFeatureCount
      var rows: [Float] = []
      var bias: [Float] = []
      for head in 0..<h {
        let source = head / group
        rows += linear.weight.scalars[(source * d * width)..<((source + 1) * d * width)]
        bias += linear.bias!.scalars[(source * d)..<((source + 1) * d)]
      }
      return try Linear(
        weight: Tensor(shape: [h * d, width], scalars: rows),
        bias: Tensor(shape: [h * d], scalars: bias))
    }
    let groupedKey = try withBias(grouped.keyProjection)
    let groupedValue = try withBias(grouped.valueProjection)
    let groupedWithBias = try MultiHeadAttention(
      headCount: h, keyValueHeadCount: hkv, queryProjection: grouped.queryProjection,
      keyProjection: groupedKey, valueProjection: groupedValue,
      outputProjection: grouped.outputProjection)
    let full = try MultiHeadAttention(
      headCount: h, queryProjection: grouped.queryProjection,
      keyProjection: repeated(groupedKey), valueProjection: repeated(groupedValue),
      outputProjection: grouped.outputProjection)
    #expect(full.keyValueHeadCount == h && groupedWithBias.keyValueHeadCount == hkv)
    var data = TestData(seed: 78)
    let query: Tensor<Float> = data.normal([2, 5, e])
    let key: Tensor<Float> = data.normal([2, 9, 5])
    let value: Tensor<Float> = data.normal([2, 9, 7])
    for backend in [AttentionBackend.blas, .naive] {
      let a = try groupedWithBias(
        query, key: key, value: value, causal: .bottomRight, backend: backend)
      let b = try full(query, key: key, value: value, causal: .bottomRight, backend: backend)
      expectClose(a, b, tolerance: Tolerance.floatVersusFloat, "\(backend)")
    }
  }

  @Test("A query row that sees no key outputs the output projection's bias")
  func fullyMaskedRow() throws {
    var generator = SplitMix64(seed: 9)
    let base = try MultiHeadAttention<Double>(embedDimension: 4, headCount: 2, using: &generator)
    let outBias = try Tensor<Double>(shape: [4], scalars: [1, -2, 3, 0.5])
    let attention = try MultiHeadAttention(
      headCount: 2, queryProjection: base.queryProjection, keyProjection: base.keyProjection,
      valueProjection: base.valueProjection,
      outputProjection: Linear(weight: base.outputProjection.weight, bias: outBias))
    var data = TestData(seed: 10)
    let x: Tensor<Double> = data.normal([1, 3, 4])
    let y = try attention(x, keyLengths: [0])
    for i in 0..<3 { for c in 0..<4 { #expect(y[0, i, c] == outBias[c]) } }
  }

  @Test("Random initialisation: PyTorch's scheme for Xavier, orthogonal weights otherwise")
  func randomInitialisation() throws {
    let e = 16
    var generator = SplitMix64(seed: 12)
    let xavier = try MultiHeadAttention<Double>(embedDimension: e, headCount: 4, using: &generator)
    let stackedBound = (6.0 / Double(e + 3 * e)).squareRoot()
    for projection in [xavier.queryProjection, xavier.keyProjection, xavier.valueProjection] {
      #expect(projection.weight.scalars.allSatisfy { abs($0) <= stackedBound })
      #expect(projection.weight.scalars.map(abs).max()! > 0.8 * stackedBound)
      #expect(projection.bias!.scalars.allSatisfy { $0 == 0 })
    }
    #expect(
      xavier.outputProjection.weight.scalars.allSatisfy { abs($0) <= 1 / Double(e).squareRoot() })
    #expect(xavier.outputProjection.bias!.scalars.allSatisfy { $0 == 0 })

    var again = SplitMix64(seed: 12)
    let replay = try MultiHeadAttention<Double>(embedDimension: e, headCount: 4, using: &again)
    #expect(replay.pyTorchStateDict == xavier.pyTorchStateDict)

    let orthogonal = try MultiHeadAttention<Double>(
      embedDimension: e, headCount: 4, keyValueHeadCount: 2, bias: false,
      initialization: .orthogonal(), using: &generator)
    #expect(orthogonal.queryProjection.bias == nil)
    // W_K is [8, 16], wide: its rows are orthonormal.
    let w = orthogonal.keyProjection.weight
    #expect(w.shape == [8, 16])
    expectClose(
      WeightInitializationTests.rowGram(w.scalars, rows: 8, columns: 16),
      WeightInitializationTests.scaledIdentity(size: 8, gain: 1),
      tolerance: Tolerance.doubleVersusDouble, "W_K·W_Kᵀ")
  }

  @Test("Errors: E not divisible by H, H not a multiple of Hkv, wrong projection shapes")
  func configurationErrors() throws {
    var generator = SplitMix64(seed: 0)
    #expect {
      _ = try MultiHeadAttention<Float>(embedDimension: 10, headCount: 3, using: &generator)
    } throws: { error in
      let error = error as! AttentionError
      return error.kind == .invalidArgument && error.message.contains("10")
        && error.message.contains("not divisible by headCount 3")
    }
    #expect {
      _ = try MultiHeadAttention<Float>(
        embedDimension: 12, headCount: 6, keyValueHeadCount: 4, using: &generator)
    } throws: { error in
      let error = error as! AttentionError
      return error.kind == .invalidArgument && error.message.contains("headCount 6")
        && error.message.contains("keyValueHeadCount 4")
    }
    let square = try Linear<Float>(weight: Tensor(zeros: [8, 8]))
    let narrow = try Linear<Float>(weight: Tensor(zeros: [4, 8]))
    #expect {
      _ = try MultiHeadAttention(
        headCount: 2, queryProjection: square, keyProjection: narrow, valueProjection: square,
        outputProjection: square)
    } throws: { error in
      let error = error as! AttentionError
      return error.kind == .shapeMismatch && error.message.contains("W_K")
        && error.message.contains("[4, 8]") && error.message.contains("[8, 8]")
    }
    // The same narrow projections are right for two kv heads of four.
    let grouped = try MultiHeadAttention(
      headCount: 4, keyValueHeadCount: 2, queryProjection: square, keyProjection: narrow,
      valueProjection: narrow, outputProjection: square)
    #expect(grouped.headDimension == 2 && grouped.keyInputDimension == 8)
  }

  @Test("Errors: input shapes are checked before any work, naming both shapes")
  func inputErrors() throws {
    var generator = SplitMix64(seed: 1)
    let attention = try MultiHeadAttention<Float>(
      embedDimension: 8, headCount: 2, keyInputDimension: 3, valueInputDimension: 5,
      using: &generator)
    let query = try Tensor<Float>(zeros: [2, 4, 8])
    let key = try Tensor<Float>(zeros: [2, 6, 3])
    let value = try Tensor<Float>(zeros: [2, 6, 5])
    func expectMismatch(_ shapes: [String], _ body: () throws -> Tensor<Float>) {
      #expect {
        _ = try body()
      } throws: { error in
        let error = error as! AttentionError
        return shapes.allSatisfy { error.message.contains($0) }
      }
    }
    expectMismatch(["[2, 4, 7]", "[8, 8]"]) {
      try attention(Tensor(zeros: [2, 4, 7]), key: key, value: value)
    }
    expectMismatch(["[2, 6, 8]", "[8, 3]"]) {
      try attention(query, key: Tensor(zeros: [2, 6, 8]), value: value)
    }
    expectMismatch(["[2, 4, 8]", "[3, 6, 3]"]) {
      try attention(query, key: Tensor(zeros: [3, 6, 3]), value: Tensor(zeros: [3, 6, 5]))
    }
    expectMismatch(["[2, 6, 3]", "[2, 7, 5]"]) {
      try attention(query, key: key, value: Tensor(zeros: [2, 7, 5]))
    }
    expectMismatch(["[1, 2, 4, 8]"]) { try attention(Tensor(zeros: [1, 2, 4, 8])) }
    expectMismatch(["value", "key"]) { try attention(query, value: value) }
    // Self-attention needs kdim = vdim = E.
    expectMismatch(["[2, 4, 8]", "[8, 3]"]) { try attention(query) }
    #expect(try attention(query, key: key, value: value).shape == [2, 4, 8])
  }
}

@Suite("Multi-head attention with attention variants")
struct MultiHeadAttentionVariantsTests {
  @Test("Packed sequences equal one call per sequence, with causal, window, softcap, ALiBi, sinks")
  func packedEqualsSeparateCalls() throws {
    var rng = SplitMix64(seed: 77)
    let mha = try MultiHeadAttention<Double>(
      embedDimension: 8, headCount: 4, keyValueHeadCount: 2, using: &rng)
    var data = TestData(seed: 78)
    let lengths = [3, 1, 6]
    let x: Tensor<Double> = data.normal([10, 8])
    let slopes = [0.5, 0.25, 0.125, 0.0625]
    let sinks = [0.0, 1, -1, 2]
    let packed = try mha(
      x, causal: .bottomRight, window: .sliding(3),
      packedSequences: PackedSequences(lengths: lengths), softcap: 4, alibiSlopes: slopes,
      sinks: sinks)
    var start = 0
    for length in lengths {
      let rows = try Tensor(
        shape: [length, 8], scalars: Array(x.scalars[(start * 8)..<((start + length) * 8)]))
      let alone = try mha(
        rows, causal: .bottomRight, window: .sliding(3), softcap: 4, alibiSlopes: slopes,
        sinks: sinks)
      let part = try Tensor(
        shape: [length, 8], scalars: Array(packed.scalars[(start * 8)..<((start + length) * 8)]))
      expectClose(part, alone, tolerance: Tolerance.doubleVersusDouble, "sequence at \(start)")
      start += length
    }
  }
}
