#if canImport(Glibc)
  import Glibc
#endif

/// Keeping resident memory at what the process holds.
enum MemoryReturn {
  /// Makes glibc return every freed block of 1 MiB or more to the system at once.
  ///
  /// Blocks of megabytes (key/value runs, engine results) come and go at every ring step. glibc
  /// serves a large request with `mmap` only below a threshold that rises, after the first large
  /// free, up to 32 MiB, and keeps smaller freed blocks in its heap, where they stay resident;
  /// `mallopt(M_MMAP_THRESHOLD, …)` fixes the threshold. `mallopt` is looked up with `dlsym`
  /// (the Glibc module does not import `<malloc.h>`); on another C library this does nothing.
  static func returnFreedBlocksAtOnce() {
    typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
    let mmapThreshold: Int32 = -3  // M_MMAP_THRESHOLD in <malloc.h>
    guard let process = dlopen(nil, RTLD_NOW), let symbol = dlsym(process, "mallopt") else {
      return
    }
    _ = unsafeBitCast(symbol, to: Mallopt.self)(mmapThreshold, 1 << 20)
  }
}
