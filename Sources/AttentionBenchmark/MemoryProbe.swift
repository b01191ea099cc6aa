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
/// 128 KiB: larger allocations are then always fresh mappings, returned to the kernel when freed.
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
    typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
    let mmapThresholdParameter: Int32 = -3
    guard let global = dlopen(nil, RTLD_LAZY), let symbol = dlsym(global, "mallopt") else {
      return false
    }
    return unsafeBitCast(symbol, to: Mallopt.self)(mmapThresholdParameter, 128 * 1024) == 1
  }

  /// Runs `body` once and returns its result and the peak resident growth in bytes (`nil` when
  /// the probe is unavailable).
  static func measure<R>(_ body: () throws -> R) rethrows -> (result: R, peakBytes: Int?) {
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
