import Dispatch
import Testing

@testable import Attention

/// The worker pool (`WorkerPool.c`): every share runs exactly once, nested and concurrent calls
/// fall back to one worker instead of deadlocking or losing work, and the parallel helpers of the
/// engine built on it cover every item.
@Suite("Worker pool")
struct WorkerPoolTests {
  /// Each worker index of a call is run once, and all report the same worker count.
  @Test("Every worker index runs once", arguments: [1, 2, 3, 5, 8, 64, 100])
  func everyWorkerOnce(workers: Int) {
    for _ in 0..<50 {
      let runs = Lock<[Int: Int]>([:])
      let reportedCounts = Lock<Set<Int>>([])
      WorkerPool.run(workers: workers) { worker, count in
        runs.withLock { $0[worker, default: 0] += 1 }
        reportedCounts.withLock { _ = $0.insert(count) }
      }
      let counts = reportedCounts.withLock { $0 }
      #expect(counts.count == 1, "workers disagree on the worker count: \(counts)")
      let count = counts.first ?? 0
      #expect(count >= 1 && count <= min(workers, 64), "worker count \(count) for \(workers)")
      let ran = runs.withLock { $0 }
      #expect(
        ran == Dictionary(uniqueKeysWithValues: (0..<count).map { ($0, 1) }),
        "runs per worker \(ran) for a count of \(count)")
    }
  }

  /// A call from inside a share finds the pool busy and runs alone: no deadlock, nothing lost.
  @Test("A nested call runs on one worker")
  func nestedCall() {
    let inner = Lock<[(worker: Int, count: Int)]>([])
    let outerCount = Lock<Int>(0)
    WorkerPool.run(workers: 2) { _, count in
      outerCount.withLock { $0 = count }
      WorkerPool.run(workers: 4) { worker, count in
        inner.withLock { $0.append((worker, count)) }
      }
    }
    let calls = inner.withLock { $0 }
    #expect(calls.count == outerCount.withLock { $0 }, "one inner call per outer worker")
    #expect(
      calls.allSatisfy { $0.worker == 0 && $0.count == 1 },
      "nested calls ran as \(calls)")
  }

  /// Eight threads calling at once: each call covers all its items exactly once, whichever of
  /// them gets the helpers.
  @Test("Concurrent callers each cover their items")
  func concurrentCallers() {
    let itemCount = 1_000
    let failures = Lock<Int>(0)
    DispatchQueue.concurrentPerform(iterations: 8) { _ in
      for _ in 0..<50 {
        let seen = Lock<[Int]>(Array(repeating: 0, count: itemCount))
        ParallelWork.forEachItem(count: itemCount) { nextItem in
          while let item = nextItem() { seen.withLock { $0[item] += 1 } }
        }
        let chunks = Lock<[Int]>(Array(repeating: 0, count: itemCount))
        ParallelWork.forEachChunk(count: itemCount) { range in
          chunks.withLock { for item in range { $0[item] += 1 } }
        }
        let covered =
          seen.withLock { $0.allSatisfy { $0 == 1 } }
          && chunks.withLock { $0.allSatisfy { $0 == 1 } }
        if !covered { failures.withLock { $0 += 1 } }
      }
    }
    #expect(failures.withLock { $0 } == 0, "calls that missed or repeated items")
  }
}
