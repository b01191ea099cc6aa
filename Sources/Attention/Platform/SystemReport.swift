/// A snapshot of what runs the attention kernels on this machine: the OpenBLAS build and core,
/// threads, the CPU's vector features and the instruction set of the softmax's row kernels — what
/// `attention info` prints.
///
/// ```swift
/// print(SystemReport.current)
/// ```
public struct SystemReport: Sendable, Equatable, CustomStringConvertible {
  /// OpenBLAS's version number, if its configuration string names one.
  public var openBLASVersion: String?
  /// OpenBLAS's build configuration string.
  public var openBLASConfiguration: String
  /// The OpenBLAS core whose kernels run.
  public var coreName: String
  /// How that core was chosen (detected, forced by `OPENBLAS_CORETYPE`, re-selected).
  public var coreSelection: OpenBLAS.CoreSelection
  /// Whether this OpenBLAS can choose its core again at run time.
  public var canReselectCore: Bool
  /// Threads one OpenBLAS call uses.
  public var openBLASThreadCount: Int
  /// Threads one attention call uses (``AttentionThreads/maximumCount``).
  public var attentionThreadCount: Int
  /// Cores the operating system reports online.
  public var onlineCoreCount: Int
  /// The processor's model and flags.
  public var cpu: CPUFeatures
  /// The instruction set the softmax's row kernels (exp with the running sum, row maximum,
  /// scaling, the non-finite scan) run with, chosen once per process: the widest this CPU
  /// supports (AVX-512, else AVX2+FMA, else SSE) unless the environment variable
  /// `ATTENTION_ISA` (`avx512`, `avx2`, `sse2` or `portable`) asks for a lower one. `nil` for the
  /// portable C loops, which non-x86 processors run.
  public var rowKernelInstructions: VectorInstructionSet?
  /// The widest instruction set of the row kernels this CPU supports; it differs from
  /// ``rowKernelInstructions`` only when `ATTENTION_ISA` lowered the choice.
  public var widestRowKernelInstructions: VectorInstructionSet?
  /// Set when the core leaves the CPU's widest vector unit idle
  /// (``OpenBLAS/idleVectorUnitWarning(coreName:cpu:)``).
  public var warning: String?

  /// The state of this process now.
  public static var current: SystemReport {
    let cpu = CPUFeatures.current
    let core = OpenBLAS.coreName
    return SystemReport(
      openBLASVersion: OpenBLAS.version, openBLASConfiguration: OpenBLAS.configuration,
      coreName: core, coreSelection: OpenBLAS.coreSelection,
      canReselectCore: OpenBLAS.canReselectCore, openBLASThreadCount: OpenBLAS.threadCount,
      attentionThreadCount: AttentionThreads.maximumCount,
      onlineCoreCount: AttentionThreads.availableCoreCount, cpu: cpu,
      rowKernelInstructions: VectorKernels.active.level.instructionSet,
      widestRowKernelInstructions: VectorKernels.bestLevel.instructionSet,
      warning: OpenBLAS.idleVectorUnitWarning(coreName: core, cpu: cpu))
  }

  /// The report as aligned `name: value` lines, ending with the warning if there is one.
  public var description: String {
    let features = cpu.vectorFlags
    let widest = cpu.widestVectorInstructions.map { "\($0)" } ?? "unknown"
    var rowKernels = rowKernelInstructions.map { "\($0)" } ?? "portable C"
    if rowKernelInstructions != widestRowKernelInstructions {
      let best = widestRowKernelInstructions.map { "\($0)" } ?? "portable C"
      rowKernels += ", lowered by ATTENTION_ISA (the CPU supports \(best))"
    }
    var lines = [
      ("OpenBLAS", openBLASVersion ?? "unknown version"),
      ("configuration", openBLASConfiguration),
      ("core", "\(coreName) (\(coreSelection))"),
      ("core kernels", OpenBLAS.vectorInstructions(ofCore: coreName).map { "\($0)" } ?? "unknown"),
      ("run-time core choice", canReselectCore ? "available (DYNAMIC_ARCH)" : "not available"),
      ("OpenBLAS threads", "\(openBLASThreadCount)"),
      ("attention threads", "\(attentionThreadCount) of \(onlineCoreCount) online cores"),
      ("CPU", cpu.modelName ?? "unknown"),
      ("CPU vector units", widest),
      ("CPU vector flags", features.isEmpty ? "none found" : features.joined(separator: " ")),
      ("softmax row kernels", rowKernels),
    ]
    if let warning { lines.append(("warning", warning)) }
    let width = lines.map(\.0.count).max() ?? 0
    return lines.map { name, value in
      String(repeating: " ", count: width - name.count) + name + ": " + value
    }.joined(separator: "\n")
  }
}
