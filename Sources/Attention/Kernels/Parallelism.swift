import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// How many threads the attention kernels may use.
///
/// Results never depend on this number: every output row is computed by exactly one worker, in
/// the same order of operations whatever the thread count, so one thread and many threads give
/// bit-identical results.
public enum AttentionThreads {
  private static let configured = Atomic<Int>(0)

  /// The number of cores the operating system reported online when the process first asked.
  ///
  /// Read once: glibc answers `sysconf(_SC_NPROCESSORS_ONLN)` by opening and parsing
  /// `/sys/devices/system/cpu/online` on every call, which cost ~5 µs per attention call and
  /// per decoder matrix product (0.6 ms per token of a 30-layer decoder) when asked every time.
  public static var availableCoreCount: Int { onlineCoreCount }

  private static let onlineCoreCount = Swift.max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))

  /// The most threads one attention call uses; by default every online core.
  ///
  /// Set it to 1 to run single-threaded (OpenBLAS then keeps its own thread count); any value
  /// below 1 restores the default.
  public static var maximumCount: Int {
    get {
      let value = configured.load(ordering: .relaxed)
      return value > 0 ? value : availableCoreCount
    }
    set { configured.store(Swift.max(0, newValue), ordering: .relaxed) }
  }
}

/// Spreads independent work items across cores on the ``WorkerPool``.
enum ParallelWork {
  /// Calls `body` once per chunk of `0..<count`, chunks running concurrently on up to
  /// ``AttentionThreads/maximumCount`` threads, each chunk a contiguous range.
  ///
  /// OpenBLAS is held at one thread while chunks run in parallel: two levels of threads on the
  /// same cores oversubscribe them. With a single chunk the call runs inline and OpenBLAS keeps
  /// its own threads, so a lone head still uses every core through BLAS.
  static func forEachChunk(
    count: Int, maximumWorkers: Int = .max, _ body: @Sendable (Range<Int>) -> Void
  ) {
    let workers = Swift.min(count, AttentionThreads.maximumCount, Swift.max(1, maximumWorkers))
    guard workers > 1 else {
      if count > 0 { body(0..<count) }
      return
    }
    BLAS.withSingleThread {
      WorkerPool.run(workers: workers) { worker, workers in
        let start = count * worker / workers
        let end = count * (worker + 1) / workers
        body(start..<end)
      }
    }
  }

  /// Runs up to ``AttentionThreads/maximumCount`` workers that share the items `0..<count`
  /// dynamically: each worker calls `body` once with a `nextItem` function and keeps calling it
  /// until it returns `nil`, so a worker can set up its scratch memory once and reuse it for
  /// every item it takes.
  ///
  /// Items are handed out in increasing order from a shared counter, so uneven items (causal
  /// attention's query blocks) balance across workers; which worker runs an item never changes
  /// the item's result. OpenBLAS is held at one thread for the whole call, also when a single
  /// worker runs: the callers' matrix products are small tiles that threads inside OpenBLAS would
  /// only slow down, and a fixed OpenBLAS thread count keeps results independent of
  /// ``AttentionThreads/maximumCount``.
  ///
  /// - Parameter maximumWorkers: a cap below ``AttentionThreads/maximumCount`` for work too small
  ///   to repay waking other threads.
  static func forEachItem(
    count: Int, maximumWorkers: Int = .max, _ body: @Sendable (_ nextItem: () -> Int?) -> Void
  ) {
    guard count > 0 else { return }
    let workers = Swift.min(count, AttentionThreads.maximumCount, Swift.max(1, maximumWorkers))
    let counter = ItemCounter()
    BLAS.withSingleThread {
      WorkerPool.run(workers: workers) { _, _ in body { counter.next(below: count) } }
    }
  }
}

/// The shared counter behind ``ParallelWork/forEachItem(count:_:)``.
private final class ItemCounter: Sendable {
  private let value = Atomic<Int>(0)

  /// The next unclaimed item, or `nil` once all `count` items are claimed.
  func next(below count: Int) -> Int? {
    let item = value.wrappingAdd(1, ordering: .relaxed).oldValue
    return item < count ? item : nil
  }
}

/// Elementwise work of the model layers (activations, norms, residual additions) split across
/// cores when it is large enough to repay waking another thread, which costs about as much as a
/// few tens of thousands of elements' work.
package enum ElementwiseWork {
  /// The fewest elements worth a worker of their own.
  package static let minimumChunk = 32_768

  /// Calls `body` with contiguous chunks of the items `0..<count` (rows, or single elements) on
  /// as many workers as the work repays: at least ``minimumChunk`` elements (`elementsPerItem`
  /// per item) each, at most ``AttentionThreads/maximumCount``.
  package static func forEachChunk(
    count: Int, elementsPerItem: Int = 1, _ body: @Sendable (Range<Int>) -> Void
  ) {
    let elements = count.multipliedReportingOverflow(by: Swift.max(1, elementsPerItem))
    let workers = elements.overflow ? Int.max : Swift.max(1, elements.partialValue / minimumChunk)
    ParallelWork.forEachChunk(count: count, maximumWorkers: workers, body)
  }
}

/// A buffer's address handed to the workers of ``ElementwiseWork`` or ``ParallelWork``, each of
/// which reads and writes only its own disjoint part: the caller keeps the buffer alive and
/// untouched until the call returns.
package struct DisjointAccess<Element>: @unchecked Sendable {
  package let base: UnsafeMutablePointer<Element>

  package init(_ base: UnsafeMutablePointer<Element>) { self.base = base }
  package init(_ base: UnsafePointer<Element>) { self.base = UnsafeMutablePointer(mutating: base) }
}
