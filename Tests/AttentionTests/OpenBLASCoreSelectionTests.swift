import AttentionTestSupport
import Testing

@testable import Attention

#if canImport(Glibc)
  import Glibc
#endif

/// Re-selecting OpenBLAS's core changes process-wide state that every BLAS call reads, so each
/// test runs in its own child process (an exit test): nothing else computes there meanwhile.
@Suite("OpenBLAS run-time core selection, in child processes")
struct OpenBLASCoreSelectionTests {
  @Test("re-detection ignores OPENBLAS_CORETYPE, leaves it set, and sgemm stays correct")
  func reselectionRoundTrip() async {
    let result = await #expect(processExitsWith: .success, observing: [\.standardOutputContent]) {
      func check(_ condition: Bool, _ message: String) {
        // Failures are reported in the output (the parent reads it) and end the child normally:
        // a failed exit test returns no output to show.
        if !condition {
          print("FAILED: \(message)")
          exit(0)
        }
      }
      func checkProduct(_ label: String) {
        var data = TestData(seed: 11)
        let a: Tensor<Float> = data.normal([130, 70])
        let b: Tensor<Float> = data.normal([70, 90])
        // The measure `expectClose` checks; a child process cannot record issues itself.
        let error = largestScaledDifference(
          try! OpenBLAS.matrixProduct(a, b).scalars, referenceProduct(a, b).scalars)
        check(
          error <= Tolerance.floatVersusDouble * 70,  // k = 70 terms, as in the product tests
          "\(label): sgemm error \(error) on core \(OpenBLAS.coreName)")
      }

      unsetenv("OPENBLAS_CORETYPE")
      let detected = OpenBLAS.reselectCore()
      check(!detected.currentCore.isEmpty, "empty core name")
      check(OpenBLAS.environmentCoreType == nil, "variable appeared")
      guard detected.isAvailable else {
        check(!OpenBLAS.canReselectCore, "unavailable but canReselectCore")
        check(detected.currentCore == detected.previousCore, "core changed without support")
        checkProduct("no reselection")
        print("DONE")
        exit(0)
      }
      check(OpenBLAS.coreSelection == .redetected(ignoring: nil), "\(OpenBLAS.coreSelection)")
      checkProduct("re-detected \(detected.currentCore)")

      // A named SSE4.2 core every x86-64 CPU of the last fifteen years runs, and that detection
      // does not pick on them.
      guard CPUFeatures.current.flags.contains("sse4_2") else {
        print("DONE")
        exit(0)
      }
      let named = try! OpenBLAS.selectCore(named: "nehalem")
      check(named.previousCore == detected.currentCore, "previous \(named.previousCore)")
      check(named.currentCore == "Nehalem", "selected \(named.currentCore)")
      check(OpenBLAS.coreSelection == .selectedByName("Nehalem"), "\(OpenBLAS.coreSelection)")
      check(OpenBLAS.environmentCoreType == nil, "variable left set after selection")
      checkProduct("Nehalem")

      // The user's setting is ignored by re-detection and still there afterwards.
      setenv("OPENBLAS_CORETYPE", "Nehalem", 1)
      let again = OpenBLAS.reselectCore()
      check(
        again.environmentCoreType == "Nehalem",
        "reported \(String(describing: again.environmentCoreType))")
      check(again.previousCore == "Nehalem", "previous \(again.previousCore)")
      check(again.currentCore == detected.currentCore, "re-detected \(again.currentCore)")
      check(OpenBLAS.environmentCoreType == "Nehalem", "variable not restored")
      check(OpenBLAS.coreSelection == .redetected(ignoring: "Nehalem"), "\(OpenBLAS.coreSelection)")
      checkProduct("re-detected again")
      print("DONE")
      exit(0)
    }
    guard let result else { return }  // the child crashed: already recorded
    let output = String(decoding: result.standardOutputContent, as: UTF8.self)
    #expect(output.contains("DONE") && !output.contains("FAILED"), "child output: \(output)")
  }
}
