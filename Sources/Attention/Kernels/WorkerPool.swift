internal import CAttentionKernels

/// The engine's helper threads (`WorkerPool.c` in `CAttentionKernels`): threads that stay awake
/// for a short while between parallel calls, so that work of tens to hundreds of microseconds —
/// a small attention call, a layer's activation — is shared from its first microsecond.
///
/// Dispatch's `concurrentPerform` wakes its workers on demand, which took ~50 µs on the 2-vCPU
/// machines measured: two 50 µs shares took 100 µs (the caller ran both before the worker woke)
/// and two 300 µs shares 358 µs, where these helpers take ~300 µs.
enum WorkerPool {
  /// Calls `body(worker, workers)` once for every share `worker` in `0..<workers`, and returns
  /// when all have returned: the calling thread and the helpers claim the shares one at a time,
  /// so they run concurrently when the helpers are awake, and one after another on the calling
  /// thread when a helper gets no core (a loaded machine) — the call then loses its parallelism
  /// rather than waiting for the scheduler to run the helper.
  ///
  /// `workers` may come out smaller than asked: at most 64, and 1 when the pool is busy with
  /// another thread's call or when called from inside a `body` (the caller then runs the whole
  /// work alone). So `body` splits its work by the `workers` it is given and never waits for
  /// another share.
  ///
  /// - Parameter body: one worker's share; called from several threads at once.
  static func run(workers: Int, _ body: (_ worker: Int, _ workers: Int) -> Void) {
    guard workers > 1 else {
      body(0, 1)
      return
    }
    withoutActuallyEscaping(body) { body in
      withUnsafePointer(to: body) { pointer in
        _ = attn_pool_run(
          workers,
          { context, worker, workers in
            context!.assumingMemoryBound(to: ((Int, Int) -> Void).self).pointee(
              worker, workers)
          }, UnsafeMutableRawPointer(mutating: pointer))
      }
    }
  }
}
