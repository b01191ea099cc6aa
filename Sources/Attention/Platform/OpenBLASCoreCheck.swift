/// What each OpenBLAS x86-64 core's kernels use, and whether the core in use suits the CPU.
extension OpenBLAS {
  /// The x86-64 core names of a DYNAMIC_ARCH OpenBLAS (0.3.x), with the widest vector
  /// instructions their single-precision kernels use.
  ///
  /// From OpenBLAS's `kernel/x86_64/KERNEL.<CORE>` files: the SkylakeX and Cooperlake sgemm
  /// kernels are AVX-512; Haswell, Zen and the later Bulldozer family use 256-bit FMA;
  /// Sandybridge uses 256-bit AVX without FMA; the rest are SSE.
  private static let coreInstructions: [(name: String, instructions: VectorInstructionSet)] = [
    ("SapphireRapids", .avx512), ("Cooperlake", .avx512), ("SkylakeX", .avx512),
    ("Haswell", .avx2), ("Zen", .avx2), ("Excavator", .avx2), ("Steamroller", .avx2),
    ("Piledriver", .avx2), ("Bulldozer", .avx), ("Sandybridge", .avx),
    ("Nehalem", .sse), ("Dunnington", .sse), ("Penryn", .sse), ("Core2", .sse),
    ("Atom", .sse), ("Nano", .sse), ("Bobcat", .sse), ("Barcelona", .sse),
    ("Opteron_SSE3", .sse), ("Opteron", .sse), ("Prescott", .sse), ("Athlon", .sse),
    ("Northwood", .sse), ("Banias", .sse), ("Coppermine", .sse), ("Katmai", .sse),
  ]

  /// The x86-64 core names OpenBLAS 0.3.x can be told to use (``selectCore(named:)``); a given
  /// build knows a subset (SapphireRapids arrived in 0.3.22).
  public static var knownCores: [String] { coreInstructions.map(\.name) }

  /// The widest vector instructions the named core's kernels use, or `nil` for a name not in
  /// ``knownCores`` (compared case-insensitively).
  public static func vectorInstructions(ofCore name: String) -> VectorInstructionSet? {
    let lowered = name.lowercased()
    return coreInstructions.first { $0.name.lowercased() == lowered }?.instructions
  }

  /// The core whose kernels make full use of a CPU with these features, or `nil` when the
  /// features say nothing (a non-x86 CPU).
  ///
  /// Mirrors OpenBLAS's own detection on CPUs it knows: Cooperlake when AVX-512 has BF16,
  /// SkylakeX for other AVX-512 CPUs, Haswell for AVX2 with FMA, Sandybridge for AVX.
  public static func recommendedCore(for cpu: CPUFeatures) -> String? {
    switch cpu.widestVectorInstructions {
    case .avx512: cpu.flags.contains("avx512_bf16") ? "Cooperlake" : "SkylakeX"
    case .avx2: "Haswell"
    case .avx: "Sandybridge"
    case .sse: "Prescott"
    case nil: nil
    }
  }

  /// A warning when the named core leaves the CPU's widest vector unit idle, else `nil`.
  ///
  /// For example `Haswell` (or `Zen`, or a generic `Prescott` chosen for a CPU newer than the
  /// OpenBLAS release) on an AVX-512 CPU runs `sgemm` at roughly half of what `SkylakeX` kernels
  /// reach. An unknown core name or a CPU without known features gives no warning.
  ///
  /// - Parameters:
  ///   - coreName: the core in use, as ``coreName`` reports it.
  ///   - cpu: the processor's features.
  /// - Returns: one sentence naming the core, the idle instructions and the recommended core.
  public static func idleVectorUnitWarning(coreName: String, cpu: CPUFeatures) -> String? {
    guard let used = vectorInstructions(ofCore: coreName),
      let offered = cpu.widestVectorInstructions, used < offered
    else { return nil }
    var warning =
      "OpenBLAS core \(coreName) uses \(used) kernels but this CPU has \(offered): "
      + "matrix products run well below the CPU's peak"
    if let better = recommendedCore(for: cpu) {
      warning += "; the \(better) core would use them"
    }
    return warning
  }

  /// ``idleVectorUnitWarning(coreName:cpu:)`` for the core in use on this machine.
  public static var idleVectorUnitWarning: String? {
    idleVectorUnitWarning(coreName: coreName, cpu: .current)
  }

  /// The core to select after OpenBLAS's own detection chose `detectedCore`: the
  /// ``recommendedCore(for:)`` when the detected core leaves the CPU's widest vector unit idle
  /// (``idleVectorUnitWarning(coreName:cpu:)``) and differs from it, else `nil` (keep the
  /// detected core).
  ///
  /// The policy of the benchmarks (`attention-bench --core auto`, `attention embed --benchmark`):
  /// trust OpenBLAS's detection unless it is plainly behind the CPU, as a release older than the
  /// CPU often is (0.3.21 takes Sapphire Rapids for an SSE-only Prescott).
  package static func upgradedCore(afterDetecting detectedCore: String, on cpu: CPUFeatures)
    -> String?
  {
    guard idleVectorUnitWarning(coreName: detectedCore, cpu: cpu) != nil,
      let better = recommendedCore(for: cpu), better != detectedCore
    else { return nil }
    return better
  }

  /// What ``reselectCoreMatchingCPU()`` did: OpenBLAS's detection, then the upgrade if one was
  /// selected.
  package struct CoreReselection: Sendable, Equatable {
    /// The outcome of ``reselectCore()``.
    package var detection: CoreChange
    /// The outcome of ``selectCore(named:)`` with ``upgradedCore(afterDetecting:on:)``, if the
    /// detected core left the CPU's widest vector unit idle.
    package var upgrade: CoreChange?

    /// The core that runs now.
    package var currentCore: String { upgrade?.currentCore ?? detection.currentCore }
  }

  /// Lets OpenBLAS detect the CPU again (``reselectCore()``, ignoring `OPENBLAS_CORETYPE`), then,
  /// when the detected core leaves the CPU's widest vector unit idle, selects the recommended
  /// core (``upgradedCore(afterDetecting:on:)``). Nothing is upgraded when this OpenBLAS cannot
  /// choose its core at run time.
  ///
  /// Same conditions as ``reselectCore()``: call it before any computation.
  ///
  /// - Throws: `AttentionError` if the recommended core cannot be selected (it is one this CPU
  ///   runs, so only a broken OpenBLAS would refuse it).
  package static func reselectCoreMatchingCPU() throws -> CoreReselection {
    let detection = reselectCore()
    guard detection.isAvailable,
      let better = upgradedCore(afterDetecting: detection.currentCore, on: .current)
    else { return CoreReselection(detection: detection, upgrade: nil) }
    return CoreReselection(detection: detection, upgrade: try selectCore(named: better))
  }
}
