import AttentionTestSupport
import Testing

@testable import Attention

/// Requests too large for the memory budget, or whose sizes overflow `Int`, are refused with an
/// ``AttentionError`` of kind `.memoryLimit` before anything is allocated — never a trap or an
/// out-of-memory kill.
@Suite("Memory budget and size overflow")
struct MemoryBudgetTests {
  /// 2²⁰ queries and keys of one feature: 4 MiB inputs whose score matrix would be 4 TiB, more
  /// than any machine's budget, so these tests are safe whatever the physical memory.
  static let long = 1 << 20

  func memoryError(_ body: () throws -> Void) -> AttentionError? {
    do {
      try body()
      return nil
    } catch let error as AttentionError {
      return error
    } catch {
      return nil
    }
  }

  @Test("The default budget is half the physical memory; a set budget reads back; 0 restores")
  func budgetSetting() throws {
    let physical = try #require(AttentionMemoryBudget.physicalMemoryBytes)
    #expect(physical > 1 << 20)
    #expect(AttentionMemoryBudget.defaultBytes == physical / 2)
    #expect(AttentionMemoryBudget.bytes == AttentionMemoryBudget.defaultBytes)
    // Raising it cannot disturb tests running meanwhile; lowering it could.
    AttentionMemoryBudget.bytes = physical
    #expect(AttentionMemoryBudget.bytes == physical)
    AttentionMemoryBudget.bytes = 0
    #expect(AttentionMemoryBudget.bytes == AttentionMemoryBudget.defaultBytes)
  }

  @Test("Bytes print in binary units")
  func byteDescriptions() {
    #expect(AttentionMemoryBudget.describe(512) == "512 bytes")
    #expect(AttentionMemoryBudget.describe(1536) == "1.5 KiB")
    #expect(AttentionMemoryBudget.describe(16 << 30) == "16.0 GiB")
    #expect(AttentionMemoryBudget.describe(2_202_009) == "2.1 MiB")
  }

  @Test(
    "Probabilities of 2²⁰ × 2²⁰ are refused on every backend, naming the bytes",
    arguments: allBackends)
  func probabilitiesTooLarge(backend: AttentionBackend) throws {
    let q = try Tensor<Float>(zeros: [1, 1, Self.long, 1])
    let error = memoryError {
      _ = try scaledDotProductAttention(
        query: q, key: q, value: q, backend: backend, returning: .probabilities)
    }
    #expect(error?.kind == .memoryLimit, "\(backend): \(String(describing: error))")
    let message = error?.message ?? ""
    // 2⁴⁰ Float probabilities are exactly 4 TiB.
    #expect(message.contains("probabilities [1, 1, 1048576, 1048576] 4.0 TiB"), "\(message)")
    #expect(message.contains("budget is"), "\(message)")
    // The fused path needs the output and log-sum-exp (4 MiB each) and small tiles (≤ 2 MiB).
    let fusedNeeds = /the fused path \(.blas without probabilities\) needs (8|9|10)\.\d MiB/
    #expect(message.contains(fusedNeeds), "\(message)")
  }

  @Test("The materialised path's per-worker scores are counted before allocation")
  func materializedScratchTooLarge() throws {
    let q = try Tensor<Float>(zeros: [Self.long, 1])
    let error = memoryError {
      _ = try scaledDotProductAttention(query: q, key: q, value: q, backend: .blasMaterialized)
    }
    #expect(error?.kind == .memoryLimit)
    #expect(
      error?.message.contains("scores per worker [1, 1048576, 1048576] 4.0 TiB") == true,
      "\(String(describing: error))")
  }

  @Test("Multi-head attention weights too large are refused, not allocated")
  func multiHeadWeightsTooLarge() throws {
    var random = SplitMix64(seed: 1)
    let layer = try MultiHeadAttention<Float>(embedDimension: 2, headCount: 1, using: &random)
    let sequence = try Tensor<Float>(zeros: [Self.long, 2])
    let error = memoryError { _ = try layer(sequence, returningWeights: .perHead) }
    #expect(error?.kind == .memoryLimit, "\(String(describing: error))")
  }

  @Test("A small budget refuses what a large one allows, and names a path that would fit")
  func budgetBoundary() throws {
    var data = TestData(seed: 3)
    let q: Tensor<Float> = data.normal([2, 4, 64, 8])
    let k: Tensor<Float> = data.normal([2, 4, 1024, 8])
    let problem = try AttentionProblem(
      query: q, key: k, value: k, mask: .none, causal: nil, keyLengths: nil, scale: nil)
    let plan = AttentionPlan(problem, path: .materialized, extras: .probabilities)
    let needed = try #require(plan.totalBytes)
    // output 2·4·64·8 + log-sum-exp 2·4·64 + probabilities 2·4·64·1024 Floats (2 MiB).
    #expect(needed == 4 * (2 * 4 * 64 * 8 + 2 * 4 * 64 + 2 * 4 * 64 * 1024))
    _ = try problem.plan(backend: .blasMaterialized, extras: .probabilities, budget: needed)
    let error = memoryError {
      _ = try problem.plan(backend: .blasMaterialized, extras: .probabilities, budget: needed - 1)
    }
    #expect(error?.kind == .memoryLimit)
    let message = error?.message ?? ""
    #expect(message.contains("needs \(AttentionMemoryBudget.describe(needed))"), "\(message)")
    // The fused path needs a few hundred KiB (tiles of 64 × 256 per worker), well within it.
    #expect(message.contains("the fused path (.blas without probabilities) needs"), "\(message)")
    // When even the fused path does not fit, the message says to split the request.
    let tiny = memoryError { _ = try problem.plan(backend: .blas, extras: [], budget: 1024) }
    #expect(tiny?.message.contains("split the request") == true, "\(String(describing: tiny))")
  }

  @Test("The fused plan counts each worker's tiles; no Nq × Nk term")
  func fusedPlanCountsTiles() throws {
    var data = TestData(seed: 4)
    let q: Tensor<Float> = data.normal([2, 4, 300, 8])
    let k: Tensor<Float> = data.normal([2, 2, 700, 8])
    let problem = try AttentionProblem(
      query: q, key: k, value: k, mask: .none, causal: nil, keyLengths: nil, scale: nil)
    let plan = AttentionPlan(problem, path: .fused, extras: [], workers: 2)
    // Tiles: Bq = 256 (the problem has enough work items), Bk = 512 keys; 300 queries make two
    // blocks per head, so both workers are used.
    #expect(plan.blocking == FusedAttention.Blocking(queryRows: 256, keyColumns: 512))
    #expect(plan.workerCount == 2)
    #expect(plan.queryBlocks.map(\.queries) == [0..<256, 256..<300])
    let outputAndLogSumExp = 4 * (2 * 4 * 300 * 8 + 2 * 4 * 300)
    // Per worker: the score tile and five numbers per row (running maximum and sum; a tile's
    // maxima, shifts and sums).
    let tiles = 4 * 2 * (256 * 512 + 5 * 256)
    // Key centring (no softcap, 300 queries per key/value head): each worker's key centre (8),
    // centred key tile (512 × 8) and ones (512), and the Doubles of the row shifts (256) and their
    // workspace ((16 + 1) × 8).
    #expect(plan.centresKeys)
    let centring = 4 * 2 * (8 + 512 * 8 + 512) + 8 * 2 * (256 + 17 * 8)
    // With AVX-512 the 256 × 512 tiles take the small product, which reads each worker's key
    // tile transposed (8 × 512).
    #expect(plan.smallProducts == (TileProducts.smallProductLimit >= 512))
    let transposed = plan.smallProducts ? 4 * 2 * 8 * 512 : 0
    #expect(
      plan.totalBytes == outputAndLogSumExp + tiles + centring + transposed, "\(plan.summary)")
    #expect(AttentionPlan.path(for: .blas, extras: [.logSumExp]) == .fused)
    #expect(AttentionPlan.path(for: .blas, extras: .probabilities) == .materialized)
  }

  @Test("Sizes whose byte count overflows Int are a memoryLimit error, not a trap")
  func overflowingSizes() throws {
    let huge = Int(Int32.max)
    let rules = AttentionRules<Double>(
      segments: [.init(queries: 0..<huge, keys: 0..<huge)], isCausal: false,
      alignment: .bottomRight, keysBefore: nil, keysAfter: nil, keyLengths: nil, mask: .none,
      scale: 1, softcap: nil, alibiSlopes: nil, sinks: nil)
    let problem = AttentionProblem<Double>(
      batchCount: huge, queryHeadCount: huge, keyValueHeadCount: 1, queryCount: huge,
      keyCount: huge, keyDimension: 1, valueDimension: 1, inputRank: 4, keyRowsPerHead: huge,
      firstKeyRow: 0, rules: rules)
    for backend in AttentionBackend.allCases {
      let plan = AttentionPlan(
        problem, path: AttentionPlan.path(for: backend, extras: []), extras: [])
      #expect(plan.totalBytes == nil)
      let error = memoryError {
        _ = try problem.plan(backend: backend, extras: [.probabilities])
      }
      #expect(error?.kind == .memoryLimit)
      #expect(error?.message.contains("overflows Int") == true, "\(String(describing: error))")
    }
    // Tensor shapes whose element count overflows are refused the same way.
    #expect(memoryError { _ = try Tensor<Float>(zeros: [huge, huge, huge]) }?.kind == .memoryLimit)
  }
}
