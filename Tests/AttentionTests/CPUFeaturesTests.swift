import Testing

@testable import Attention

@Suite("CPU features parsed from /proc/cpuinfo text")
struct CPUFeaturesTests {
  /// Two processor entries as Linux prints them (shortened); only the first is read.
  static let intelText = """
    processor\t: 0
    vendor_id\t: GenuineIntel
    model name\t: Intel(R) Xeon(R) Example CPU
    flags\t\t: fpu sse2 ssse3 fma sse4_2 avx avx2 avx512f avx512dq avx512bw avx512vl avx512_bf16 amx_tile
    bugs\t\t: spectre_v1

    processor\t: 1
    model name\t: Another Model
    flags\t\t: fpu sse2

    """

  @Test("model name, flags and the reported subset in their fixed order")
  func parsesFirstEntry() {
    let cpu = CPUFeatures(cpuinfo: Self.intelText)
    #expect(cpu.modelName == "Intel(R) Xeon(R) Example CPU")
    #expect(cpu.flags.contains("avx512_bf16"))
    #expect(!cpu.flags.contains("spectre_v1"))
    #expect(
      cpu.vectorFlags == [
        "sse4_2", "avx", "avx2", "fma", "avx512f", "avx512dq", "avx512bw", "avx512vl",
        "avx512_bf16", "amx_tile",
      ])
    #expect(cpu.widestVectorInstructions == .avx512)
  }

  @Test(
    "widest vector instructions from flag sets",
    arguments: zip(
      [
        ["sse2", "avx", "avx2", "fma", "avx512f", "avx512dq", "avx512bw", "avx512vl"],
        ["sse2", "avx", "avx2", "fma", "avx512f"],  // AVX-512 without BW/DQ/VL (Knights Landing)
        ["sse2", "avx", "avx2", "fma"],
        ["sse2", "avx", "avx2"],  // AVX2 without FMA does not reach the Haswell kernels
        ["sse2", "sse4_2"],
        ["fp", "asimd", "sve"],  // an ARM CPU's "Features"
      ],
      [VectorInstructionSet.avx512, .avx2, .avx2, .avx, .sse, nil]))
  func widestInstructions(flags: [String], expected: VectorInstructionSet?) {
    #expect(CPUFeatures(modelName: nil, flags: Set(flags)).widestVectorInstructions == expected)
  }

  @Test("an ARM Features line and empty text")
  func otherTexts() {
    let arm = CPUFeatures(cpuinfo: "processor : 0\nFeatures : fp asimd sve\n")
    #expect(arm.modelName == nil)
    #expect(arm.flags == ["fp", "asimd", "sve"])
    #expect(CPUFeatures(cpuinfo: "") == CPUFeatures(modelName: nil, flags: []))
  }

  @Test("instruction sets are ordered by capability")
  func ordering() {
    #expect(VectorInstructionSet.sse < .avx && VectorInstructionSet.avx < .avx2)
    #expect(VectorInstructionSet.avx2 < .avx512)
    #expect(VectorInstructionSet.allCases.map(\.registerBits) == [128, 256, 256, 512])
  }

  @Test("/proc files: the whole text despite their zero size, and their kB fields in bytes")
  func procFiles() throws {
    let status = try #require(ProcFileSystem.readText(atPath: "/proc/self/status"))
    #expect(status.contains("VmRSS:"))
    #expect(ProcFileSystem.readText(atPath: "/proc/no-such-file") == nil)
    let meminfo = "MemTotal:       16303972 kB\nMemAvailable:\t 9000 kB\nHugePages_Total:       0\n"
    #expect(ProcFileSystem.bytes(ofField: "MemTotal:", in: meminfo) == 16_303_972 * 1024)
    #expect(ProcFileSystem.bytes(ofField: "MemAvailable:", in: meminfo) == 9000 * 1024)
    #expect(ProcFileSystem.bytes(ofField: "SwapTotal:", in: meminfo) == nil)
    let resident = try #require(
      ProcFileSystem.bytes(ofField: "VmRSS:", inFileAt: "/proc/self/status"))
    #expect(resident > 1 << 20)
  }
}
