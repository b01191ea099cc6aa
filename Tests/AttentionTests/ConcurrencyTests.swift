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

  /// Compiles only if `T` is `Sendable`.
  func requireSendable<T: Sendable>(_: T.Type) {}

  @Test("Public value types are Sendable (a compile-time check)")
  func publicTypesAreSendable() {
    requireSendable(Tensor<Float>.self)
    requireSendable(Tensor<Bool>.self)
    requireSendable(AttentionMask<Double>.self)
    requireSendable(AttentionResult<Float>.self)
    requireSendable(AttentionOutputs.self)
    requireSendable(AttentionBackend.self)
    requireSendable(CausalAlignment.self)
    requireSendable(AttentionError.self)
    requireSendable(MultiHeadAttention<Float>.self)
    requireSendable(AttentionWeightsAveraging.self)
    requireSendable(Linear<Double>.self)
    requireSendable(WeightInitialization.self)
    requireSendable(SinusoidalPositionalEncoding<Float>.self)
    requireSendable(LearnedPositionalEncoding<Float>.self)
    requireSendable(SplitMix64.self)
    requireSendable(AnyTensor.self)
    requireSendable(SafetensorsFile.self)
    requireSendable(TensorFileError.self)
    requireSendable(SystemReport.self)
    requireSendable(CPUFeatures.self)
    requireSendable(OpenBLAS.CoreSelection.self)
  }
}
