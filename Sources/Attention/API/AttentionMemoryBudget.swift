import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// The most memory one attention call may allocate for its own buffers.
///
/// Before allocating anything,
/// ``scaledDotProductAttention(query:key:value:mask:causal:keyLengths:window:packedSequences:scale:softcap:alibiSlopes:sinks:backend:)``
/// (and everything built on it, such as ``MultiHeadAttention``) adds up the buffers the chosen
/// path needs — the output, the log-sum-exp, the probabilities when requested, and the path's
/// scratch memory (per worker `Nq × Nk` scores for the materialised path) — and throws
/// `AttentionError` of kind `AttentionError.Kind.memoryLimit` when the sum exceeds this
/// budget or overflows `Int`. The message names the bytes needed, the budget, and a path that
/// would fit, so a request too large for the machine fails with an explanation instead of being
/// killed by the operating system:
///
/// ```
/// the materialised path needs 16.0 GiB (scores [1, 65536, 65536] per worker 16.0 GiB, …);
/// budget is 12.0 GiB (AttentionMemoryBudget.bytes); the fused path (.blas without
/// probabilities) needs 256.6 KiB
/// ```
///
/// The inputs themselves are the caller's and are not counted.
public enum AttentionMemoryBudget {
  private static let configured = Atomic<Int>(0)

  /// The machine's physical memory in bytes (`sysconf(_SC_PHYS_PAGES) × page size`), or `nil`
  /// if the system does not say.
  public static var physicalMemoryBytes: Int? {
    let pages = sysconf(Int32(_SC_PHYS_PAGES))
    let pageSize = sysconf(Int32(_SC_PAGESIZE))
    guard pages > 0, pageSize > 0 else { return nil }
    let (bytes, overflow) = pages.multipliedReportingOverflow(by: pageSize)
    return overflow ? Int.max : bytes
  }

  /// The default budget: half the physical memory (8 GiB if the system does not report it).
  public static var defaultBytes: Int {
    physicalMemoryBytes.map { $0 / 2 } ?? 8 << 30
  }

  /// The budget in bytes that one attention call's buffers may take; by default
  /// ``defaultBytes``.
  ///
  /// Process-wide. Set a positive number of bytes to change it; any value below 1 restores the
  /// default.
  public static var bytes: Int {
    get {
      let value = configured.load(ordering: .relaxed)
      return value > 0 ? value : defaultBytes
    }
    set { configured.store(Swift.max(0, newValue), ordering: .relaxed) }
  }

  /// `bytes` for a person: `512 bytes`, `2.1 MiB`, `16.0 GiB` (also the executables' byte
  /// formatting).
  package static func describe(_ bytes: Int) -> String {
    let units = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    guard bytes >= 1024 else { return "\(bytes) bytes" }
    var value = Double(bytes) / 1024
    var unit = 0
    while value >= 1024, unit < units.count - 1 {
      value /= 1024
      unit += 1
    }
    let tenths = (value * 10).rounded()
    return "\(Int(tenths) / 10).\(Int(tenths) % 10) \(units[unit])"
  }
}
