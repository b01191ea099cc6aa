import Testing

@testable import Attention

@Suite("OpenBLAS core check: which core suits which CPU")
struct OpenBLASCoreCheckTests {
  static let avx512 = CPUFeatures(
    modelName: "AVX-512 CPU",
    flags: ["sse2", "avx", "avx2", "fma", "avx512f", "avx512dq", "avx512bw", "avx512vl"])
  static let avx512BF16 = CPUFeatures(
    modelName: "AVX-512 BF16 CPU", flags: avx512.flags.union(["avx512_bf16"]))
  static let avx2 = CPUFeatures(modelName: "AVX2 CPU", flags: ["sse2", "avx", "avx2", "fma"])
  static let arm = CPUFeatures(modelName: nil, flags: ["fp", "asimd"])

  @Test("core names map to their kernels' instructions, case-insensitively")
  func coreInstructions() {
    #expect(OpenBLAS.vectorInstructions(ofCore: "Haswell") == .avx2)
    #expect(OpenBLAS.vectorInstructions(ofCore: "haswell") == .avx2)
    #expect(OpenBLAS.vectorInstructions(ofCore: "ZEN") == .avx2)
    #expect(OpenBLAS.vectorInstructions(ofCore: "SkylakeX") == .avx512)
    #expect(OpenBLAS.vectorInstructions(ofCore: "Cooperlake") == .avx512)
    #expect(OpenBLAS.vectorInstructions(ofCore: "Sandybridge") == .avx)
    #expect(OpenBLAS.vectorInstructions(ofCore: "Prescott") == .sse)
    #expect(OpenBLAS.vectorInstructions(ofCore: "NEOVERSEN1") == nil)
  }

  @Test(
    "a core older than the CPU's widest vector unit warns; a matching or unknown one does not",
    arguments: [
      ("Haswell", avx512, true), ("Zen", avx512, true), ("Prescott", avx512, true),
      ("Sandybridge", avx2, true), ("Prescott", avx2, true),
      ("SkylakeX", avx512, false), ("Cooperlake", avx512BF16, false), ("Haswell", avx2, false),
      ("Zen", avx2, false), ("SomeFutureCore", avx512, false), ("Haswell", arm, false),
    ])
  func warning(core: String, cpu: CPUFeatures, warns: Bool) {
    let warning = OpenBLAS.idleVectorUnitWarning(coreName: core, cpu: cpu)
    #expect((warning != nil) == warns, "\(core) on \(cpu.modelName ?? "ARM"): \(warning ?? "nil")")
    if let warning { #expect(warning.contains(core)) }
  }

  @Test("the warning names the core that would use the idle unit")
  func warningRecommendation() throws {
    let plain = try #require(OpenBLAS.idleVectorUnitWarning(coreName: "Haswell", cpu: Self.avx512))
    #expect(plain.contains("SkylakeX") && plain.contains("AVX-512"))
    let bf16 = try #require(
      OpenBLAS.idleVectorUnitWarning(coreName: "Haswell", cpu: Self.avx512BF16))
    #expect(bf16.contains("Cooperlake"))
  }

  @Test("recommended cores")
  func recommendations() {
    #expect(OpenBLAS.recommendedCore(for: Self.avx512) == "SkylakeX")
    #expect(OpenBLAS.recommendedCore(for: Self.avx512BF16) == "Cooperlake")
    #expect(OpenBLAS.recommendedCore(for: Self.avx2) == "Haswell")
    #expect(OpenBLAS.recommendedCore(for: Self.arm) == nil)
    // Every recommendation is a core the table knows and runs on the CPU it is made for.
    for cpu in [Self.avx512, Self.avx512BF16, Self.avx2] {
      let core = OpenBLAS.recommendedCore(for: cpu)!
      #expect(OpenBLAS.vectorInstructions(ofCore: core) == cpu.widestVectorInstructions)
    }
  }

  @Test(
    "after detection, a core that leaves the widest unit idle is upgraded; a matching one is kept",
    arguments: [
      ("Prescott", avx512, "SkylakeX"), ("Haswell", avx512BF16, "Cooperlake"),
      ("Sandybridge", avx2, "Haswell"), ("SkylakeX", avx512, nil), ("Zen", avx2, nil),
      ("Cooperlake", avx512BF16, nil), ("SomeFutureCore", avx512, nil), ("Haswell", arm, nil),
    ] as [(String, CPUFeatures, String?)])
  func upgradeAfterDetection(detected: String, cpu: CPUFeatures, upgrade: String?) {
    #expect(OpenBLAS.upgradedCore(afterDetecting: detected, on: cpu) == upgrade)
  }

  @Test("selecting an unknown core or one the CPU cannot run throws before changing anything")
  func selectionRefusals() {
    let before = OpenBLAS.coreName
    #expect(throws: AttentionError.self) {
      try OpenBLAS.selectCore(named: "NoSuchCore", on: Self.avx512)
    }
    do {
      _ = try OpenBLAS.selectCore(named: "SkylakeX", on: Self.avx2)
      Issue.record("SkylakeX accepted on an AVX2-only CPU")
    } catch let error as AttentionError {
      #expect(error.kind == .invalidArgument)
      #expect(error.message.contains("SkylakeX") && error.message.contains("AVX2"))
    } catch {
      Issue.record("unexpected error \(error)")
    }
    #expect(OpenBLAS.coreName == before)
  }

  @Test("version parsed from a configuration string")
  func version() {
    #expect(
      OpenBLAS.version(
        fromConfiguration: "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64")
        == "0.3.21")
    #expect(OpenBLAS.version(fromConfiguration: "something else") == nil)
    #expect(OpenBLAS.version(fromConfiguration: "OpenBLAS") == nil)
  }

  @Test("the system report names the core in use and the thread counts")
  func report() {
    let report = SystemReport.current
    #expect(report.coreName == OpenBLAS.coreName)
    #expect(!report.coreName.isEmpty)
    #expect(report.openBLASThreadCount >= 1)
    let text = report.description
    #expect(text.contains(report.coreName))
    #expect(text.contains("OpenBLAS threads"))
    #expect((report.warning != nil) == text.contains("warning:"))
  }
}
