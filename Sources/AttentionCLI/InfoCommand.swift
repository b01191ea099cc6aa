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
      about half speed), with the OPENBLAS_CORETYPE value that would use it.
      """
  )

  func run() throws {
    let report = SystemReport.current
    print(report)
    // The way out of the warning. Not "unset the variable": an OpenBLAS older than the CPU may
    // detect a generic SSE core by itself (0.3.21 does on Sapphire Rapids), so name the core.
    if report.warning != nil, let better = OpenBLAS.recommendedCore(for: report.cpu) {
      print(
        "\nhint: start with OPENBLAS_CORETYPE=\(better) to use the CPU's widest vector unit, e.g. "
          + "OPENBLAS_CORETYPE=\(better) attention sdpa …; OpenBLAS reads it only at start-up")
    }
  }
}
