import Attention

#if canImport(Glibc)
  import Glibc
#endif

/// Measures the peak extra memory one call touches: the growth of the resident set's high-water
/// mark over the resident set at the start.
///
/// Method (Linux): write `5` to `/proc/self/clear_refs`, which resets the kernel's peak-RSS
/// counter (`VmHWM`) to the current resident set; read `VmRSS`; run the call; read `VmHWM`. The
/// difference is the most memory the call had resident at any instant — its buffers, the output,
/// and the scratch of every worker thread — whether or not it was freed before returning.
///
/// For this to see every large buffer, ``prepareAllocator()`` fixes glibc's mmap threshold at
/// 128 KiB during the probed call: larger allocations are then always fresh mappings, returned to
/// the kernel when freed. (Timed runs do not pay for those page faults: after the probe the
/// thresholds return to the values glibc's own policy would reach.)
/// (By default glibc raises the threshold after each large free, so a repeated call would reuse
/// pages already resident and show no growth.) Allocations below 128 KiB may reuse resident heap
/// and go unseen; they are below the resolution the table reports.
enum MemoryProbe {
  /// Whether the peak can be reset and read (Linux ≥ 4.0 with `/proc` mounted).
  static let isAvailable: Bool = {
    guard resetPeak() else { return false }
    return readStatus("VmHWM:") != nil && readStatus("VmRSS:") != nil
  }()

  /// Fixes glibc's mmap threshold (see the type's documentation); call once before measuring.
  ///
  /// `mallopt` is declared in `<malloc.h>`, which Swift's Glibc module does not include, so it
  /// is looked up with `dlsym`; `M_MMAP_THRESHOLD` is glibc's constant −3. Without glibc the
  /// call does nothing and the peaks may read low.
  ///
  /// - Returns: whether the threshold was set.
  @discardableResult
  static func prepareAllocator() -> Bool {
    setAllocator(mmapThreshold: 128 * 1024, trimThreshold: 128 * 1024)
  }

  /// Sets glibc's thresholds to the values its dynamic policy settles at in a process that
  /// allocates and frees the same large buffers over and over (mmap threshold 32 MiB, trim
  /// threshold twice that): buffers are then reused from the heap, as they are in any program
  /// that calls attention repeatedly. Timed runs use this; only the probed run uses the fixed
  /// 128 KiB threshold, whose fresh mappings cost page faults on every call.
  @discardableResult
  static func useSteadyStateAllocator() -> Bool {
    setAllocator(mmapThreshold: 32 << 20, trimThreshold: 64 << 20)
  }

  /// Returns the heap's free memory to the kernel (glibc's `malloc_trim(0)`), so that buffers
  /// the timed runs left in the heap are neither counted before the probed call nor reused by it.
  private static func releaseFreeMemory() {
    typealias MallocTrim = @convention(c) (Int) -> Int32
    guard let global = dlopen(nil, RTLD_LAZY), let symbol = dlsym(global, "malloc_trim") else {
      return
    }
    _ = unsafeBitCast(symbol, to: MallocTrim.self)(0)
  }

  private static func setAllocator(mmapThreshold: Int32, trimThreshold: Int32) -> Bool {
    typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
    let (trimParameter, mmapParameter): (Int32, Int32) = (-1, -3)
    guard let global = dlopen(nil, RTLD_LAZY), let symbol = dlsym(global, "mallopt") else {
      return false
    }
    let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
    return mallopt(mmapParameter, mmapThreshold) == 1 && mallopt(trimParameter, trimThreshold) == 1
  }

  /// Runs `body` once and returns its result and the peak resident growth in bytes (`nil` when
  /// the probe is unavailable), with the fixed 128 KiB mmap threshold during the call and the
  /// steady-state thresholds (``useSteadyStateAllocator()``) after it.
  static func measure<R>(_ body: () throws -> R) rethrows -> (result: R, peakBytes: Int?) {
    prepareAllocator()
    releaseFreeMemory()
    defer { useSteadyStateAllocator() }
    guard isAvailable, resetPeak(), let before = readStatus("VmRSS:") else {
      return (try body(), nil)
    }
    let result = try body()
    guard let peak = readStatus("VmHWM:") else { return (result, nil) }
    return (result, Swift.max(0, peak - before))
  }

  /// Memory the kernel says can be allocated without swapping, in bytes (`MemAvailable`).
  static var availableBytes: Int? {
    ProcFileSystem.bytes(ofField: "MemAvailable:", inFileAt: "/proc/meminfo")
  }

  private static func resetPeak() -> Bool {
    guard let file = fopen("/proc/self/clear_refs", "w") else { return false }
    let written = fputs("5", file) >= 0
    return fclose(file) == 0 && written
  }

  /// A `kB` field of `/proc/self/status`, in bytes.
  private static func readStatus(_ field: String) -> Int? {
    ProcFileSystem.bytes(ofField: field, inFileAt: "/proc/self/status")
  }
}
