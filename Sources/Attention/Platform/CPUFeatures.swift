/// The widest family of vector instructions a processor offers, or a kernel set uses.
///
/// Ordered: a later case can run everything an earlier one can. The levels are the steps that
/// change matrix-multiply speed: register width (128, 256, 512 bits) and fused multiply-add.
public enum VectorInstructionSet: Int, Sendable, Comparable, CaseIterable,
  CustomStringConvertible
{
  /// 128-bit SSE registers (SSE2 … SSE4.2), no fused multiply-add.
  case sse = 1
  /// 256-bit AVX registers without fused multiply-add (Sandy Bridge, Ivy Bridge).
  case avx
  /// 256-bit AVX2 with fused multiply-add (Haswell and later, AMD Zen 1–3).
  case avx2
  /// 512-bit AVX-512 (Skylake-X and later Xeons, AMD Zen 4 and 5).
  case avx512

  /// The width of one vector register in bits.
  public var registerBits: Int {
    switch self {
    case .sse: 128
    case .avx, .avx2: 256
    case .avx512: 512
    }
  }

  public var description: String {
    switch self {
    case .sse: "SSE (128-bit)"
    case .avx: "AVX (256-bit, no FMA)"
    case .avx2: "AVX2+FMA (256-bit)"
    case .avx512: "AVX-512 (512-bit)"
    }
  }

  public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// The processor's model and the vector-instruction flags the operating system reports for it.
///
/// On Linux the flags come from `/proc/cpuinfo` (the kernel lists an extension only when the CPU
/// has it *and* the kernel saves its registers, which is what a program needs). Elsewhere, or if
/// the file cannot be read, the model is `nil` and the flag set is empty.
public struct CPUFeatures: Sendable, Equatable {
  /// The vector-related flags worth reporting, in the order they are listed: SIMD width, fused
  /// multiply-add, the AVX-512 subsets OpenBLAS's kernels need, and the matrix (AMX) units.
  public static let reportedFlags = [
    "sse4_2", "avx", "avx2", "fma", "avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl",
    "avx512_vnni", "avx512_bf16", "avx512_fp16", "avx_vnni", "amx_tile", "amx_bf16", "amx_int8",
  ]

  /// The processor's model name (`model name` in `/proc/cpuinfo`), if known.
  public var modelName: String?
  /// Every flag of the first processor entry, lower-case, as the kernel spells them.
  public var flags: Set<String>

  /// Creates a description from a model name and flags (used by tests and for other sources).
  public init(modelName: String?, flags: Set<String>) {
    self.modelName = modelName
    self.flags = flags
  }

  /// Parses the text of `/proc/cpuinfo` (x86 `flags` lines; ARM's `Features` lines also work).
  ///
  /// Only the first processor entry is read: Linux reports the same features for every core of
  /// a machine the library runs on.
  ///
  /// - Complexity: O(n) in the length of the text.
  public init(cpuinfo: String) {
    var modelName: String?
    var flags: Set<String>?
    for line in cpuinfo.split(separator: "\n", omittingEmptySubsequences: false) {
      guard let colon = line.firstIndex(of: ":") else { continue }
      let name = line[..<colon].trimmingSpaces
      let value = line[line.index(after: colon)...].trimmingSpaces
      switch name {
      case "model name" where modelName == nil:
        modelName = String(value)
      case "flags" where flags == nil, "Features" where flags == nil:
        flags = Set(value.split(separator: " ").map { $0.lowercased() })
      default:
        break
      }
      if modelName != nil && flags != nil { break }
    }
    self.init(modelName: modelName, flags: flags ?? [])
  }

  /// The features of the machine running this process, read once.
  public static let current: CPUFeatures = {
    guard let text = ProcFileSystem.readText(atPath: "/proc/cpuinfo") else {
      return CPUFeatures(modelName: nil, flags: [])
    }
    return CPUFeatures(cpuinfo: text)
  }()

  /// The flags of ``reportedFlags`` this processor has, in that order.
  public var vectorFlags: [String] { Self.reportedFlags.filter(flags.contains) }

  /// The widest vector instructions the processor offers, or `nil` for a non-x86 or unknown CPU.
  ///
  /// AVX-512 counts only with the F, BW, DQ and VL subsets that OpenBLAS's AVX-512 kernels need.
  public var widestVectorInstructions: VectorInstructionSet? {
    if ["avx512f", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains) {
      return .avx512
    }
    if flags.contains("avx2") && flags.contains("fma") { return .avx2 }
    if flags.contains("avx") { return .avx }
    if flags.contains("sse2") { return .sse }
    return nil
  }
}

extension Substring {
  fileprivate var trimmingSpaces: Substring {
    var text = self
    while let first = text.first, first == " " || first == "\t" { text = text.dropFirst() }
    while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
    return text
  }
}
