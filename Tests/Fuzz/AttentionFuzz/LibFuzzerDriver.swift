#if LIBFUZZER
  #if canImport(Glibc)
    import Glibc
  #endif

  /// libFuzzer's documented entry point for programs that keep their own `main`
  /// (`LLVMFuzzerRunDriver`, compiler-rt `FuzzerInterface.h`).
  ///
  /// SwiftPM renames an executable's `main` to `<Module>_main` and defines `main` as that symbol
  /// at link time, so libFuzzer's own `main` (which would call `LLVMFuzzerTestOneInput`) is never
  /// linked in; the Swift `main` hands libFuzzer the callback instead.
  @_silgen_name("LLVMFuzzerRunDriver")
  func llvmFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
  ) -> Int32

  /// Runs libFuzzer with this process's command-line arguments and exits with its status.
  func runLibFuzzer(_ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(llvmFuzzerRunDriver(&argc, &argv, callback))
  }
#endif
