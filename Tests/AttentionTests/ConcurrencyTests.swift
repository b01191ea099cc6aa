import AttentionTestSupport
import Dispatch
import Testing

@testable import Attention
@testable import TensorFiles

/// Many tasks computing at once on shared inputs must get exactly what sequential runs get: the
/// kernels share nothing mutable between calls, and the OpenBLAS thread count they lower around
/// their parallel regions is process-wide state that concurrent calls must not corrupt.
@Suite("Concurrent calls give bit-identical results")
struct ConcurrencyTests {
  /// Bit patterns, so that -0 vs 0 or a changed NaN payload would count as a difference.
  static func bits(_ tensor: Tensor<Float>) -> [UInt32] {
    tensor.scalars.map(\.bitPattern)
  }

  struct Work: Sendable {
    var query: Tensor<Float>
    var key: Tensor<Float>
    var value: Tensor<Float>
    var mask: AttentionMask<Float>
    var layer: MultiHeadAttention<Float>
    var sequence: Tensor<Float>

    init() throws {
      var data = TestData(seed: 42)
      query = data.normal([2, 4, 33, 16])
      key = data.normal([2, 2, 47, 16])
      value = data.normal([2, 2, 47, 8])
      mask = .allow(where: data.bools([2, 1, 33, 47], probability: 0.8))
      var random = SplitMix64(seed: 7)
      layer = try MultiHeadAttention(embedDimension: 32, headCount: 4, using: &random)
      sequence = data.normal([3, 19, 32])
    }

    /// Every kind of call once: each backend, extras, causal, and multi-head attention.
    func run(_ index: Int) throws -> [[UInt32]] {
      var results: [[UInt32]] = []
      for backend in AttentionBackend.allCases {
        let output = try scaledDotProductAttention(
          query: query, key: key, value: value, mask: mask, causal: .bottomRight,
          backend: backend)
        results.append(bits(output))
      }
      let extras = try scaledDotProductAttention(
        query: query, key: key, value: value, keyLengths: [40, 3],
        returning: [.probabilities, .logSumExp])
      results += [bits(extras.output), bits(extras.probabilities!), bits(extras.logSumExp!)]
      results.append(bits(try layer(sequence, causal: .topLeft)))
      results.append(bits(try layer(sequence, returningWeights: .perHead).weights))
      return results
    }

    func bits(_ tensor: Tensor<Float>) -> [UInt32] { ConcurrencyTests.bits(tensor) }
  }

  @Test("16 tasks at once match sequential runs bit for bit")
  func taskGroup() async throws {
    let work = try Work()
    let sequential = try work.run(0)
    let concurrent = try await withThrowingTaskGroup(of: [[UInt32]].self) { group in
      for index in 0..<16 { group.addTask { try work.run(index) } }
      var all: [[[UInt32]]] = []
      for try await result in group { all.append(result) }
      return all
    }
    #expect(concurrent.count == 16)
    for (index, result) in concurrent.enumerated() {
      #expect(result == sequential, "task \(index) differs from the sequential run")
    }
    #expect(try work.run(0) == sequential, "a sequential run after the concurrent ones differs")
  }

  @Test("Overlapping single-thread regions keep OpenBLAS at one thread until the last one ends")
  func overlappingSingleThreadRegions() {
    // Region A enters, region B enters, A leaves while B still runs: B must still see 1 thread.
    // (Each region used to restore the count it found, so A gave OpenBLAS its threads back.)
    let aEntered = DispatchSemaphore(value: 0)
    let aMayLeave = DispatchSemaphore(value: 0)
    let aLeft = DispatchSemaphore(value: 0)
    DispatchQueue.global().async {
      BLAS.withSingleThread {
        aEntered.signal()
        aMayLeave.wait()
      }
      aLeft.signal()
    }
    aEntered.wait()
    let countInsideB = BLAS.withSingleThread {
      aMayLeave.signal()
      aLeft.wait()
      return BLAS.threadCount
    }
    #expect(countInsideB == 1, "region B ran its workers with \(countInsideB) OpenBLAS threads")
  }

  /// `value`, sent to a detached task and back. Compiles only if `T` is `Sendable`.
  static func sentToAnotherTask<T: Sendable>(_ value: T) async -> T {
    await Task.detached { value }.value
  }

  @Test("Public types are Sendable: sent to another task, values arrive whole and compute the same")
  func publicTypesAreSendable() async throws {
    // The computing types: each is used on a detached task (which compiles only because they
    // are Sendable) and must give there, bit for bit, what it gives here — the same code on the
    // same values.
    var data = TestData(seed: 3)
    let query: Tensor<Float> = data.normal([1, 2, 5, 4])
    let mask = AttentionMask<Float>.allow(where: data.bools([5, 5]))
    var generator = SplitMix64(seed: 4)
    let layer = try MultiHeadAttention<Double>(embedDimension: 8, headCount: 2, using: &generator)
    let linear: Linear<Double> = layer.outputProjection
    let sinusoidal = try SinusoidalPositionalEncoding<Float>(dimension: 4)
    let learned = try LearnedPositionalEncoding<Float>(
      maximumPositionCount: 6, dimension: 4, using: &generator)
    let sequence: Tensor<Double> = data.normal([1, 3, 8])
    let random = generator
    func compute() throws -> [[Double]] {
      var random = random
      let result = try scaledDotProductAttention(
        query: query, key: query, value: query, mask: mask, causal: .topLeft,
        returning: [.probabilities, .logSumExp])
      return [
        result.output.scalars.map(Double.init), result.probabilities!.scalars.map(Double.init),
        result.logSumExp!.scalars.map(Double.init), try layer(sequence).scalars,
        try linear(sequence).scalars, try sinusoidal.encodings(in: 0..<3).scalars.map(Double.init),
        try learned.encodings(at: [5, 0]).scalars.map(Double.init), [Double(random.next())],
      ]
    }
    let here = try compute()
    let there = try await Task.detached { try compute() }.value
    #expect(here.count == 8 && here.allSatisfy { !$0.isEmpty })
    #expect(there.map { $0.map(\.bitPattern) } == here.map { $0.map(\.bitPattern) })

    // The descriptive types: a value sent to another task and back equals the original.
    func expectSentWhole<T: Sendable & Equatable>(
      _ value: T, sourceLocation: SourceLocation = #_sourceLocation
    ) async {
      let received = await Self.sentToAnotherTask(value)
      #expect(received == value, sourceLocation: sourceLocation)
    }
    await expectSentWhole(query)
    await expectSentWhole(data.bools([2, 3]))
    await expectSentWhole(AttentionOutputs.probabilities)
    await expectSentWhole(AttentionBackend.blasMaterialized)
    await expectSentWhole(CausalAlignment.bottomRight)
    await expectSentWhole(AttentionError(.invalidShape, "a message"))
    await expectSentWhole(AttentionWeightsAveraging.perHead)
    await expectSentWhole(WeightInitialization.orthogonal())
    await expectSentWhole(AnyTensor.float32(query))
    await expectSentWhole(SafetensorsFile(tensors: ["q": .float32(query)]))
    await expectSentWhole(TensorFileError.fortranOrder(path: "a.npy"))
    await expectSentWhole(SystemReport.current)
    await expectSentWhole(CPUFeatures.current)
    await expectSentWhole(OpenBLAS.CoreSelection.selectedByName("Haswell"))
    await expectSentWhole(
      OpenBLAS.CoreChange(
        isAvailable: false, previousCore: "Haswell", currentCore: "Haswell",
        environmentCoreType: nil))
  }
}
