import Foundation
import Testing

/// `attention info`: the OpenBLAS report, and how the core was chosen.
@Suite("attention info: OpenBLAS and CPU report")
struct InfoCommandTests {
  /// This process's environment without `OPENBLAS_CORETYPE`, plus `extra`.
  func environment(_ extra: [String: String] = [:]) -> [String: String] {
    var environment = ProcessInfo.processInfo.environment
    environment["OPENBLAS_CORETYPE"] = nil
    environment.merge(extra) { $1 }
    return environment
  }

  @Test("reports version, core, threads and CPU vector features")
  func report() throws {
    let scratch = try ScratchDirectory()
    let result = try scratch.run(["info"], environment: environment())
    try #require(result.status == 0, "\(result)")
    #expect(result.standardError.isEmpty)
    for label in ["OpenBLAS:", "core:", "OpenBLAS threads:", "CPU vector units:"] {
      #expect(result.standardOutput.contains(label), "\(result)")
    }
    #expect(result.standardOutput.contains("OPENBLAS_CORETYPE unset"), "\(result)")
  }

  @Test("a core forced by OPENBLAS_CORETYPE is reported as forced; an SSE core gets the warning")
  func forcedCore() throws {
    let scratch = try ScratchDirectory()
    let result = try scratch.run(
      ["info"], environment: environment(["OPENBLAS_CORETYPE": "Prescott"]))
    try #require(result.status == 0, "\(result)")
    #expect(result.standardOutput.contains("forced by OPENBLAS_CORETYPE=Prescott"), "\(result)")
    // Every x86-64 CPU this runs on has vector units wider than Prescott's SSE.
    let cpuHasAVX =
      (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
      .contains(" avx") ?? false
    if cpuHasAVX {
      #expect(result.standardOutput.contains("warning:"), "\(result)")
      #expect(result.standardOutput.contains("hint: start with OPENBLAS_CORETYPE="), "\(result)")
    }
  }
}
