#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// State shared between threads, guarded by a POSIX mutex.
///
/// Why not the standard library's `Synchronization.Mutex`: on Linux it locks with futex system
/// calls made from uninstrumented library code, so ThreadSanitizer sees none of its ordering and
/// reports every access inside `withLock` as a data race (`make sanitize` did, on concurrent
/// attention calls). ThreadSanitizer intercepts `pthread_mutex_lock`, so a pthread mutex keeps the
/// sanitizer's reports meaningful; for the few lock operations per attention call the cost is the
/// same.
final class Lock<State>: @unchecked Sendable {
  // Allocated once and never moved: a pthread mutex must not change address while in use.
  private let mutex: UnsafeMutablePointer<pthread_mutex_t>
  private var state: State

  init(_ initialState: State) {
    state = initialState
    mutex = .allocate(capacity: 1)
    mutex.initialize(to: pthread_mutex_t())
    let status = pthread_mutex_init(mutex, nil)
    precondition(status == 0, "pthread_mutex_init failed with \(status)")
  }

  deinit {
    pthread_mutex_destroy(mutex)
    mutex.deinitialize(count: 1)
    mutex.deallocate()
  }

  /// Runs `body` with exclusive access to the state.
  func withLock<Result>(_ body: (inout State) throws -> Result) rethrows -> Result {
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    return try body(&state)
  }
}
