import COpenBLAS

#if canImport(Glibc)
  import Glibc
#endif

/// The one door to OpenBLAS: every call into `cblas_*` and `openblas_*` goes through here.
///
/// Dimensions are passed to C as `Int32` (OpenBLAS's `blasint` in Debian's LP64 build); the
/// attention entry points reject larger problems before they reach this file.
enum BLAS {
  /// C = alpha · op(A) · op(B) + beta · C, row-major, for `Float` (sgemm) or `Double` (dgemm).
  ///
  /// `op(X)` is `X` or `Xᵀ`; a transposed operand is read in place (`CblasTrans`), never copied.
  ///
  /// Up to ``matrixVectorRows`` rows of `A` (untransposed), the product is one gemv per row
  /// instead: decoding multiplies one token's row (or a grouped-query group of a few) by a whole
  /// K or V tile or weight matrix, and gemm would first copy that matrix into its packed panel
  /// layout — for so few rows the copy costs as much as the product, while gemv streams the
  /// matrix once per row (the later rows find it in cache when it fits).
  @inline(__always)
  static func gemm<Scalar: AttentionScalar>(
    transposeA: Bool = false, transposeB: Bool = false,
    m: Int, n: Int, k: Int,
    alpha: Scalar,
    a: UnsafePointer<Scalar>, lda: Int,
    b: UnsafePointer<Scalar>, ldb: Int,
    beta: Scalar,
    c: UnsafeMutablePointer<Scalar>, ldc: Int
  ) {
    precondition(
      m <= Int32.max && n <= Int32.max && k <= Int32.max && lda <= Int32.max
        && ldb <= Int32.max && ldc <= Int32.max, "gemm dimension exceeds Int32")
    if m <= matrixVectorRows && !transposeA {
      if transposeB && (beta == 0 || beta == 1) {
        // Rows of B contiguous (x·Wᵀ, q·Kᵀ): the library's own loop, split across cores for
        // large matrices (see matrixVectorWorkers).
        let workers = matrixVectorWorkers(elements: n * k)
        for row in 0..<m {
          VectorKernels.active.matrixVectorProduct(
            rows: n, columns: k, alpha: alpha, a: b, lda: ldb, x: a + row * lda,
            accumulate: beta == 1, y: c + row * ldc, workers: workers)
        }
        return
      }
      for row in 0..<m {
        // C[row] = alpha · op(B)ᵀ·A[row] + beta · C[row]: op(B) = Bᵀ is `B` (n × k) times the
        // row; op(B) = B (k × n) is `Bᵀ` times the row.
        gemv(
          transpose: !transposeB, rows: transposeB ? n : k, columns: transposeB ? k : n,
          alpha: alpha, a: b, lda: ldb, x: a + row * lda, beta: beta, y: c + row * ldc)
      }
      return
    }
    let ta = transposeA ? CblasTrans : CblasNoTrans
    let tb = transposeB ? CblasTrans : CblasNoTrans
    if Scalar.self == Float.self {
      cblas_sgemm(
        CblasRowMajor, ta, tb, Int32(m), Int32(n), Int32(k),
        unsafeBitCast(alpha, to: Float.self),
        UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), Int32(lda),
        UnsafeRawPointer(b).assumingMemoryBound(to: Float.self), Int32(ldb),
        unsafeBitCast(beta, to: Float.self),
        UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), Int32(ldc))
    } else if Scalar.self == Double.self {
      cblas_dgemm(
        CblasRowMajor, ta, tb, Int32(m), Int32(n), Int32(k),
        unsafeBitCast(alpha, to: Double.self),
        UnsafeRawPointer(a).assumingMemoryBound(to: Double.self), Int32(lda),
        UnsafeRawPointer(b).assumingMemoryBound(to: Double.self), Int32(ldb),
        unsafeBitCast(beta, to: Double.self),
        UnsafeMutableRawPointer(c).assumingMemoryBound(to: Double.self), Int32(ldc))
    } else {
      preconditionFailure("gemm supports Float and Double only, not \(Scalar.self)")
    }
  }

  /// y = alpha · op(A) · x + beta · y, row-major `A` (`rows × columns`), for `Float` (sgemv) or
  /// `Double` (dgemv); `op(A)` is `A` or `Aᵀ`, read in place.
  ///
  /// For one query row the attention products are matrix-vector products, and gemv streams the
  /// matrix once where gemm would first copy it into its packed panel layout.
  ///
  /// With `beta` 0, `y` is cleared before the call: BLAS implementations differ in whether
  /// `0 · y` lets a stale NaN or infinity of `y` through, and gemm's `beta = 0` never does.
  @inline(__always)
  static func gemv<Scalar: AttentionScalar>(
    transpose: Bool = false, rows: Int, columns: Int,
    alpha: Scalar, a: UnsafePointer<Scalar>, lda: Int,
    x: UnsafePointer<Scalar>, beta: Scalar, y: UnsafeMutablePointer<Scalar>
  ) {
    precondition(
      rows <= Int32.max && columns <= Int32.max && lda <= Int32.max,
      "gemv dimension exceeds Int32")
    let ta = transpose ? CblasTrans : CblasNoTrans
    if beta == 0 { y.update(repeating: 0, count: transpose ? columns : rows) }
    if Scalar.self == Float.self {
      cblas_sgemv(
        CblasRowMajor, ta, Int32(rows), Int32(columns), unsafeBitCast(alpha, to: Float.self),
        UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), Int32(lda),
        UnsafeRawPointer(x).assumingMemoryBound(to: Float.self), 1,
        unsafeBitCast(beta, to: Float.self),
        UnsafeMutableRawPointer(y).assumingMemoryBound(to: Float.self), 1)
    } else if Scalar.self == Double.self {
      cblas_dgemv(
        CblasRowMajor, ta, Int32(rows), Int32(columns), unsafeBitCast(alpha, to: Double.self),
        UnsafeRawPointer(a).assumingMemoryBound(to: Double.self), Int32(lda),
        UnsafeRawPointer(x).assumingMemoryBound(to: Double.self), 1,
        unsafeBitCast(beta, to: Double.self),
        UnsafeMutableRawPointer(y).assumingMemoryBound(to: Double.self), 1)
    } else {
      preconditionFailure("gemv supports Float and Double only, not \(Scalar.self)")
    }
  }

  /// The dot product x·y of `count` elements (sdot or ddot), unit strides.
  @inline(__always)
  static func dot<Scalar: AttentionScalar>(
    count: Int, _ x: UnsafePointer<Scalar>, _ y: UnsafePointer<Scalar>
  ) -> Scalar {
    precondition(count <= Int32.max, "dot length exceeds Int32")
    if Scalar.self == Float.self {
      let result = cblas_sdot(
        Int32(count), UnsafeRawPointer(x).assumingMemoryBound(to: Float.self), 1,
        UnsafeRawPointer(y).assumingMemoryBound(to: Float.self), 1)
      return unsafeBitCast(result, to: Scalar.self)
    } else if Scalar.self == Double.self {
      let result = cblas_ddot(
        Int32(count), UnsafeRawPointer(x).assumingMemoryBound(to: Double.self), 1,
        UnsafeRawPointer(y).assumingMemoryBound(to: Double.self), 1)
      return unsafeBitCast(result, to: Scalar.self)
    } else {
      preconditionFailure("dot supports Float and Double only, not \(Scalar.self)")
    }
  }

  /// A += alpha · x·yᵀ (rank-one update), row-major `A` (`rows × columns`), for `Float` (sger)
  /// or `Double` (dger).
  @inline(__always)
  static func ger<Scalar: AttentionScalar>(
    rows: Int, columns: Int, alpha: Scalar, x: UnsafePointer<Scalar>, y: UnsafePointer<Scalar>,
    a: UnsafeMutablePointer<Scalar>, lda: Int
  ) {
    precondition(
      rows <= Int32.max && columns <= Int32.max && lda <= Int32.max,
      "ger dimension exceeds Int32")
    if Scalar.self == Float.self {
      cblas_sger(
        CblasRowMajor, Int32(rows), Int32(columns), unsafeBitCast(alpha, to: Float.self),
        UnsafeRawPointer(x).assumingMemoryBound(to: Float.self), 1,
        UnsafeRawPointer(y).assumingMemoryBound(to: Float.self), 1,
        UnsafeMutableRawPointer(a).assumingMemoryBound(to: Float.self), Int32(lda))
    } else if Scalar.self == Double.self {
      cblas_dger(
        CblasRowMajor, Int32(rows), Int32(columns), unsafeBitCast(alpha, to: Double.self),
        UnsafeRawPointer(x).assumingMemoryBound(to: Double.self), 1,
        UnsafeRawPointer(y).assumingMemoryBound(to: Double.self), 1,
        UnsafeMutableRawPointer(a).assumingMemoryBound(to: Double.self), Int32(lda))
    } else {
      preconditionFailure("ger supports Float and Double only, not \(Scalar.self)")
    }
  }

  /// Products with at most this many rows of `A` run as gemv per row (see ``gemm``).
  static let matrixVectorRows = 4

  /// How many threads one row's product with a matrix of `elements` elements uses: one per
  /// ``matrixVectorElementsPerWorker`` elements, at most as many as OpenBLAS may use now (one
  /// inside a region that holds it at one thread: the caller's own workers fill the cores) and
  /// ``AttentionThreads/maximumCount``.
  ///
  /// Why not sgemv for these: decoding streams every weight matrix once per token, so the
  /// product is bound by memory bandwidth. On the SmolLM2-shaped decoder's 121 matrices per token
  /// (AMD EPYC Zen 4, 2 cores) OpenBLAS 0.3.21's threaded sgemv streamed 25 GB/s where the split
  /// loop on helpers that stay awake streams 29 GB/s (the machine's 2-thread read bandwidth is
  /// ~30 GB/s).
  static func matrixVectorWorkers(elements: Int) -> Int {
    let bySize = elements / matrixVectorElementsPerWorker
    guard bySize > 1 else { return 1 }
    return Swift.max(1, Swift.min(bySize, threadCount, AttentionThreads.maximumCount))
  }

  /// The fewest elements of a matrix worth a thread of their own in a matrix-vector product:
  /// 256 KiB of Floats, ~10 µs of streaming.
  static let matrixVectorElementsPerWorker = 65_536

  /// The number of threads OpenBLAS uses for one call (process-wide).
  static var threadCount: Int {
    get { Int(openblas_get_num_threads()) }
    set { openblas_set_num_threads(Int32(newValue)) }
  }

  /// The name of the kernel set ("core") OpenBLAS selected, e.g. `Haswell` or `Cooperlake`.
  static var coreName: String { String(cString: openblas_get_corename()) }

  /// OpenBLAS's build configuration string (version, DYNAMIC_ARCH, threading, max threads).
  static var configuration: String { String(cString: openblas_get_config()) }

  /// Runs `body` with OpenBLAS held at one thread, restoring the previous count afterwards.
  ///
  /// Used around regions that parallelise over heads themselves: two levels of threads on two
  /// cores oversubscribe them (measured up to 7.6× slower, `../shared/NOTES.md`). The count is
  /// process-wide, so this is called around a parallel region, never inside a worker.
  ///
  /// Regions of concurrent calls (many tasks computing attention at once) overlap: the first to
  /// enter lowers the count, the last to leave restores it. Each restoring its own saved count
  /// would hand OpenBLAS its threads back while another region's workers still run.
  static func withSingleThread<R>(_ body: () throws -> R) rethrows -> R {
    singleThreadRegions.withLock { state in
      if state.depth == 0 {
        state.saved = threadCount
        if state.saved != 1 { threadCount = 1 }
      }
      state.depth += 1
    }
    defer {
      singleThreadRegions.withLock { state in
        state.depth -= 1
        if state.depth == 0, state.saved != 1 { threadCount = state.saved }
      }
    }
    return try body()
  }

  /// How many ``withSingleThread(_:)`` regions are running, and the count to restore after them.
  private static let singleThreadRegions = Lock<(depth: Int, saved: Int)>((depth: 0, saved: 1))
}

// MARK: - Run-time core selection

extension BLAS {
  /// The environment variable through which a user forces OpenBLAS's kernel set.
  static let coreTypeVariable = "OPENBLAS_CORETYPE"

  /// The two entry points of OpenBLAS's run-time core selection, if this build has them.
  ///
  /// Only DYNAMIC_ARCH builds export `gotoblas_dynamic_quit` and `gotoblas_dynamic_init`, so they
  /// are looked up with `dlsym` instead of being declared: a build without them still links, and
  /// this is `nil`.
  private static let coreSelectionEntryPoints:
    (quit: @convention(c) () -> Void, initialize: @convention(c) () -> Void)? = {
      // `dlopen(nil)` is the global scope: the program and every library it loaded.
      guard let global = dlopen(nil, RTLD_LAZY) else { return nil }
      guard let quit = dlsym(global, "gotoblas_dynamic_quit"),
        let initialize = dlsym(global, "gotoblas_dynamic_init")
      else { return nil }
      typealias Entry = @convention(c) () -> Void
      return (unsafeBitCast(quit, to: Entry.self), unsafeBitCast(initialize, to: Entry.self))
    }()

  /// Whether OpenBLAS can choose its core again at run time (a DYNAMIC_ARCH build).
  static var canReselectCore: Bool { coreSelectionEntryPoints != nil }

  /// Runs OpenBLAS's core selection again as if `OPENBLAS_CORETYPE` were `coreType` (`nil`:
  /// unset, so OpenBLAS detects the CPU itself), then puts the variable back as it was.
  ///
  /// OpenBLAS reads the variable only inside its selection routine, which normally runs once in
  /// a library constructor before `main`; changing the variable alone has no effect. Quitting and
  /// re-initialising the selection swaps the kernel table (`gotoblas`) and its blocking
  /// parameters; buffers are sized for every core of a DYNAMIC_ARCH build, so nothing else needs
  /// rebuilding. The caller guarantees that no thread is inside OpenBLAS meanwhile (the table is
  /// briefly null).
  ///
  /// - Returns: `false` (and changes nothing) when the build lacks the entry points.
  static func reselectCore(coreType: String?) -> Bool {
    guard let entry = coreSelectionEntryPoints else { return false }
    let saved = getenv(coreTypeVariable).map { String(cString: $0) }
    entry.quit()
    if let coreType {
      setenv(coreTypeVariable, coreType, 1)
    } else {
      unsetenv(coreTypeVariable)
    }
    entry.initialize()
    if let saved {
      setenv(coreTypeVariable, saved, 1)
    } else {
      unsetenv(coreTypeVariable)
    }
    return true
  }
}
