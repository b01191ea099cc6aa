#if canImport(Glibc)
  import Glibc
#endif

/// What OpenBLAS is and which of its kernel sets ("cores") runs, and a way to choose again.
///
/// A DYNAMIC_ARCH build of OpenBLAS (Debian's, for one) carries kernels for many CPUs and picks
/// one core when the library loads, before `main`: from the `OPENBLAS_CORETYPE` environment
/// variable if set, otherwise by detecting the CPU. A core older than the CPU leaves vector units
/// idle — `Haswell` kernels on an AVX-512 machine run `sgemm` at about half speed — so this type
/// reports the choice and lets a program ask OpenBLAS to choose again (``reselectCore()``).
///
/// Setting `OPENBLAS_CORETYPE` inside a running program changes nothing, since OpenBLAS has
/// already chosen; ``reselectCore()`` re-runs the choice itself.
public enum OpenBLAS {
  /// How the core in use was chosen.
  public enum CoreSelection: Sendable, Equatable, CustomStringConvertible {
    /// OpenBLAS detected the CPU itself (`OPENBLAS_CORETYPE` was not set).
    case detected
    /// `OPENBLAS_CORETYPE` asked for this core (OpenBLAS falls back to detection for a name it
    /// does not know).
    case forcedByEnvironment(String)
    /// ``OpenBLAS/reselectCore()`` re-ran detection; the associated value is the
    /// `OPENBLAS_CORETYPE` value it ignored, if any.
    case redetected(ignoring: String?)
    /// ``OpenBLAS/selectCore(named:)`` chose this core by name.
    case selectedByName(String)

    public var description: String {
      switch self {
      case .detected: "detected by OpenBLAS (OPENBLAS_CORETYPE unset)"
      case .forcedByEnvironment(let name): "forced by OPENBLAS_CORETYPE=\(name)"
      case .redetected(ignoring: nil): "re-detected at run time (OPENBLAS_CORETYPE unset)"
      case .redetected(ignoring: let name?):
        "re-detected at run time, ignoring OPENBLAS_CORETYPE=\(name)"
      case .selectedByName: "selected by name at run time"
      }
    }
  }

  /// The outcome of ``OpenBLAS/reselectCore()`` or ``OpenBLAS/selectCore(named:)``.
  public struct CoreChange: Sendable, Equatable {
    /// Whether this OpenBLAS can choose its core at run time (only DYNAMIC_ARCH builds can);
    /// when `false` nothing changed.
    public var isAvailable: Bool
    /// The core in use before the call.
    public var previousCore: String
    /// The core in use after the call.
    public var currentCore: String
    /// The value of `OPENBLAS_CORETYPE` at the time of the call (left as it was), if set.
    public var environmentCoreType: String?

    /// Whether a different core runs now.
    public var changedCore: Bool { previousCore != currentCore }
  }

  /// The version number parsed from ``configuration`` (e.g. `0.3.21`), if it names one.
  public static var version: String? { version(fromConfiguration: configuration) }

  /// The word after `OpenBLAS` in a configuration string such as
  /// `OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64`.
  static func version(fromConfiguration configuration: String) -> String? {
    let words = configuration.split(separator: " ")
    guard let index = words.firstIndex(of: "OpenBLAS"), index + 1 < words.count else {
      return nil
    }
    return String(words[index + 1])
  }

  /// OpenBLAS's build configuration: version, `DYNAMIC_ARCH`, threading, target, maximum threads.
  public static var configuration: String { BLAS.configuration }

  /// The name of the core whose kernels run now, e.g. `Haswell`, `SkylakeX` or `Cooperlake`.
  public static var coreName: String { BLAS.coreName }

  /// The number of threads one OpenBLAS call uses (process-wide; the attention kernels hold it
  /// at 1 while they parallelise over heads themselves).
  public static var threadCount: Int { BLAS.threadCount }

  /// The value of `OPENBLAS_CORETYPE` in this process's environment, or `nil` if unset.
  public static var environmentCoreType: String? {
    getenv(BLAS.coreTypeVariable).map { String(cString: $0) }
  }

  /// Whether this OpenBLAS can choose its core again at run time (a DYNAMIC_ARCH build that
  /// exports `gotoblas_dynamic_init` and `gotoblas_dynamic_quit`).
  public static var canReselectCore: Bool { BLAS.canReselectCore }

  /// How the core in use was chosen.
  public static var coreSelection: CoreSelection {
    state.withLock { selection in
      if let selection { return selection }
      return environmentCoreType.map(CoreSelection.forcedByEnvironment) ?? .detected
    }
  }

  /// Set once a program re-selects the core; `nil` while the load-time choice stands.
  private static let state = Lock<CoreSelection?>(nil)

  /// Asks OpenBLAS to detect the CPU and choose its core again, ignoring `OPENBLAS_CORETYPE`.
  ///
  /// This is an explicit opt-in for programs (benchmarks, long-running services) that want the
  /// kernels matching the CPU even when the environment forces an older core. The environment
  /// variable is left exactly as it was, so other code and child processes still see the user's
  /// setting; ``coreSelection`` records that it was overridden.
  ///
  /// Call it before any computation, or at least while no thread is inside OpenBLAS or an
  /// attention call: OpenBLAS's kernel table is briefly empty during the switch. Calls to this
  /// function and ``selectCore(named:)`` are serialised with each other.
  ///
  /// - Returns: whether re-selection was available and the cores before and after.
  /// - Complexity: a few microseconds (a CPUID query and a table swap).
  @discardableResult
  public static func reselectCore() -> CoreChange {
    state.withLock { selection in
      let environment = environmentCoreType
      let previous = coreName
      let available = BLAS.reselectCore(coreType: nil)
      if available { selection = .redetected(ignoring: environment) }
      return CoreChange(
        isAvailable: available, previousCore: previous, currentCore: coreName,
        environmentCoreType: environment)
    }
  }

  /// Makes OpenBLAS run the named core's kernels, as `OPENBLAS_CORETYPE=name` would at start-up.
  ///
  /// For machines where OpenBLAS's detection falls short — a CPU newer than the OpenBLAS release
  /// is often taken for a generic `Prescott` (SSE3) — while the CPU runs a newer core's
  /// kernels. Same conditions as ``reselectCore()``.
  ///
  /// A build older than the core (SapphireRapids needs OpenBLAS 0.3.22) does not know the name
  /// and falls back to a core of its own choosing: ``CoreChange/currentCore`` tells which runs.
  ///
  /// - Parameter name: a core name OpenBLAS knows, compared case-insensitively (``knownCores``).
  /// - Returns: whether selection was available and the cores before and after.
  /// - Throws: `AttentionError` (`invalidArgument`) for a name not in ``knownCores``, or a core
  ///   whose instructions this CPU (as reported by ``CPUFeatures/current``) lacks — running it
  ///   would stop the process with an illegal-instruction signal.
  @discardableResult
  public static func selectCore(named name: String) throws -> CoreChange {
    try selectCore(named: name, on: .current)
  }

  /// ``selectCore(named:)`` checked against the given CPU features.
  static func selectCore(named name: String, on cpu: CPUFeatures) throws -> CoreChange {
    guard let core = knownCores.first(where: { $0.lowercased() == name.lowercased() }) else {
      throw AttentionError(
        .invalidArgument,
        "unknown OpenBLAS core '\(name)'; known cores: \(knownCores.joined(separator: ", "))")
    }
    if let needed = vectorInstructions(ofCore: core), let offered = cpu.widestVectorInstructions,
      needed > offered
    {
      throw AttentionError(
        .invalidArgument,
        "OpenBLAS core \(core) needs \(needed) but this CPU offers \(offered) at most")
    }
    return state.withLock { selection in
      let environment = environmentCoreType
      let previous = coreName
      let available = BLAS.reselectCore(coreType: core)
      if available { selection = .selectedByName(core) }
      return CoreChange(
        isAvailable: available, previousCore: previous, currentCore: coreName,
        environmentCoreType: environment)
    }
  }
}
