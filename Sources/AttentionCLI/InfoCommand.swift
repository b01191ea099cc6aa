import ArgumentParser
import Attention

/// `attention info`: what runs the kernels on this machine.
struct InfoCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "info",
    abstract: "Show the OpenBLAS build, the core in use and why, threads, and CPU vector features.",
    discussion: """
      OpenBLAS chooses its kernel set ("core") when it loads: from OPENBLAS_CORETYPE if set, \
      otherwise by detecting the CPU. A warning is printed when the core in use leaves the \
      CPU's widest vector unit idle (e.g. Haswell AVX2 kernels on an AVX-512 CPU run sgemm at \
      about half speed).
      """
  )

  func run() throws {
    let report = SystemReport.current
    print(report)
    if report.warning != nil, case .forcedByEnvironment(let name) = report.coreSelection {
      print(
        "\nhint: OPENBLAS_CORETYPE=\(name) forces this core; run without it "
          + "(env -u OPENBLAS_CORETYPE attention …) to let OpenBLAS detect the CPU")
    }
  }
}
