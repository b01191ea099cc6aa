internal import CAttentionKernels

/// The inner vector loops of the row softmax and the non-finite scan — exp with the running sum,
/// row maximum, scaling, the scan — the small tiles' matrix product, decoding's matrix-vector
/// product (optionally split over the C target's helper threads) and the MLP activations,
/// compiled in C once per instruction set and chosen once per process. The only Swift door to the
/// `CAttentionKernels` module.
///
/// Why C: Swift has no per-function target attribute, so a plain `swift build` compiles Swift
/// SIMD code for the x86-64 baseline (SSE2, no FMA), ~20 % slower on the fused path than a
/// `-target-cpu native` build, and a package's `unsafeFlags` are refused by its dependents. The C
/// target compiles the same loops for AVX-512F, AVX2+FMA and SSE2 with
/// `__attribute__((target(...)))` (and a portable variant for other processors), and picks the
/// widest the CPU supports with `__builtin_cpu_supports` on first use, as PyTorch's CPU
/// capability dispatch and ggml do. `ATTENTION_ISA=avx512|avx2|sse2|portable` in the environment
/// lowers the choice for the whole process.
///
/// Swift keeps the algorithm: ``RowSoftmax``, the fused kernel's online rescaling, masking and
/// the NaN policy call these loops and decide what their results mean.
///
/// Every variant computes exp with the same polynomial and range reduction (relative error below
/// 1e-7 for Float and 4e-16 for Double; exactly 0 below the smallest normal number and for
/// `-infinity`, `+infinity` on overflow and for `+infinity`, NaN for NaN). Variants agree within
/// rounding, not bit for bit: the lane count changes the order of a row's sum, and FMA the
/// rounding of the polynomial. Within one process the results are reproducible.
struct VectorKernels: @unchecked Sendable {  // a pointer to an immutable static C table
  /// The instruction sets the C loops are compiled for, ordered from the narrowest.
  enum Level: Int, CaseIterable, Comparable, Sendable, CustomStringConvertible {
    /// Plain C, one element at a time: non-x86 processors (on x86-64, only for the tests and
    /// `ATTENTION_ISA=portable`).
    case portable
    /// SSE2, 128-bit: the x86-64 baseline.
    case sse2
    /// AVX2 with FMA, 256-bit.
    case avx2
    /// AVX-512F, 512-bit.
    case avx512

    /// The public name of the vector unit this level uses, `nil` for the portable loops.
    var instructionSet: VectorInstructionSet? {
      switch self {
      case .portable: nil
      case .sse2: .sse
      case .avx2: .avx2
      case .avx512: .avx512
      }
    }

    var description: String {
      switch self {
      case .portable: "portable"
      case .sse2: "sse2"
      case .avx2: "avx2"
      case .avx512: "avx512"
      }
    }

    static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    fileprivate init(_ isa: attn_isa) {
      switch isa {
      case ATTN_ISA_SSE2: self = .sse2
      case ATTN_ISA_AVX2: self = .avx2
      case ATTN_ISA_AVX512: self = .avx512
      default: self = .portable
      }
    }

    fileprivate var isa: attn_isa {
      switch self {
      case .portable: ATTN_ISA_PORTABLE
      case .sse2: ATTN_ISA_SSE2
      case .avx2: ATTN_ISA_AVX2
      case .avx512: ATTN_ISA_AVX512
      }
    }
  }

  private let table: UnsafePointer<attn_row_kernels>

  /// The loops this process runs: the widest level the CPU supports, or the one `ATTENTION_ISA`
  /// asks for. Chosen on first use and the same for every thread afterwards.
  static let active = VectorKernels(table: attn_active_kernels())

  /// The widest level this CPU supports, whatever `ATTENTION_ISA` says.
  static var bestLevel: Level { Level(attn_best_isa()) }

  /// Every level this CPU can run, narrowest first (the portable loops run everywhere).
  static var supportedLevels: [Level] { Level.allCases.filter { VectorKernels($0) != nil } }

  private init(table: UnsafePointer<attn_row_kernels>) {
    self.table = table
  }

  /// The loops compiled for `level`, or `nil` when this CPU cannot run them (or, off x86-64,
  /// they are not compiled).
  init?(_ level: Level) {
    guard let table = attn_kernels_for(level.isa) else { return nil }
    self.table = table
  }

  /// The level these loops were compiled for.
  var level: Level { Level(table.pointee.isa) }

  // MARK: Float and Double behind a generic scalar

  /// The largest of `count` values, `-infinity` if `count` is 0. NaNs are skipped: a row of NaNs
  /// and `-infinity` gives `-infinity` (``RowSoftmax/maximum(_:count:using:)`` looks for the NaN).
  @inline(__always)
  func maximum<Scalar: AttentionScalar>(_ row: UnsafePointer<Scalar>, count: Int) -> Scalar {
    if Scalar.self == Float.self {
      let result = table.pointee.max_f32(row.cast(to: Float.self), count)
      return unsafeBitCast(result, to: Scalar.self)
    } else if Scalar.self == Double.self {
      let result = table.pointee.max_f64(row.cast(to: Double.self), count)
      return unsafeBitCast(result, to: Scalar.self)
    }
    preconditionFailure("VectorKernels supports Float and Double only")
  }

  /// Replaces each of `count` values `x` with `exp(x − shift)` and returns their sum.
  ///
  /// - Precondition: `shift` is not `-infinity` (a fully masked row is the caller's case).
  @inline(__always)
  func exponentiate<Scalar: AttentionScalar>(
    _ row: UnsafeMutablePointer<Scalar>, count: Int, subtracting shift: Scalar
  ) -> Scalar {
    if Scalar.self == Float.self {
      let result = table.pointee.exp_sum_f32(
        row.mutableCast(to: Float.self), count, unsafeBitCast(shift, to: Float.self))
      return unsafeBitCast(result, to: Scalar.self)
    } else if Scalar.self == Double.self {
      let result = table.pointee.exp_sum_f64(
        row.mutableCast(to: Double.self), count, unsafeBitCast(shift, to: Double.self))
      return unsafeBitCast(result, to: Scalar.self)
    }
    preconditionFailure("VectorKernels supports Float and Double only")
  }

  /// Multiplies `count` values by `factor`.
  @inline(__always)
  func scale<Scalar: AttentionScalar>(
    _ row: UnsafeMutablePointer<Scalar>, count: Int, by factor: Scalar
  ) {
    if Scalar.self == Float.self {
      table.pointee.scale_f32(
        row.mutableCast(to: Float.self), count, unsafeBitCast(factor, to: Float.self))
    } else if Scalar.self == Double.self {
      table.pointee.scale_f64(
        row.mutableCast(to: Double.self), count, unsafeBitCast(factor, to: Double.self))
    } else {
      preconditionFailure("VectorKernels supports Float and Double only")
    }
  }

  // MARK: Many rows per call

  /// The largest of each of `rowCount` rows of `count` values (`stride` apart) into
  /// `maxima[r]`, as ``maximum(_:count:)`` gives it for each row: one call for a tile's rows.
  @inline(__always)
  func maxima<Scalar: AttentionScalar>(
    _ rows: UnsafePointer<Scalar>, count: Int, rowCount: Int, stride: Int,
    into maxima: UnsafeMutablePointer<Scalar>
  ) {
    if Scalar.self == Float.self {
      table.pointee.max_rows_f32(
        rows.cast(to: Float.self), count, rowCount, stride, maxima.mutableCast(to: Float.self))
    } else if Scalar.self == Double.self {
      table.pointee.max_rows_f64(
        rows.cast(to: Double.self), count, rowCount, stride, maxima.mutableCast(to: Double.self))
    } else {
      preconditionFailure("VectorKernels supports Float and Double only")
    }
  }

  /// ``exponentiate(_:count:subtracting:)`` on each of `rowCount` rows (`stride` apart), row `r`
  /// with `shifts[r]`, its sum into `sums[r]`.
  ///
  /// - Precondition: no shift is `-infinity`.
  @inline(__always)
  func exponentiate<Scalar: AttentionScalar>(
    rows: UnsafeMutablePointer<Scalar>, count: Int, rowCount: Int, stride: Int,
    subtracting shifts: UnsafePointer<Scalar>, sums: UnsafeMutablePointer<Scalar>
  ) {
    if Scalar.self == Float.self {
      table.pointee.exp_sum_rows_f32(
        rows.mutableCast(to: Float.self), count, rowCount, stride, shifts.cast(to: Float.self),
        sums.mutableCast(to: Float.self))
    } else if Scalar.self == Double.self {
      table.pointee.exp_sum_rows_f64(
        rows.mutableCast(to: Double.self), count, rowCount, stride, shifts.cast(to: Double.self),
        sums.mutableCast(to: Double.self))
    } else {
      preconditionFailure("VectorKernels supports Float and Double only")
    }
  }

  /// Multiplies each of `rowCount` rows of `count` values (`stride` apart) by `factors[r]`.
  @inline(__always)
  func scale<Scalar: AttentionScalar>(
    rows: UnsafeMutablePointer<Scalar>, count: Int, rowCount: Int, stride: Int,
    by factors: UnsafePointer<Scalar>
  ) {
    if Scalar.self == Float.self {
      table.pointee.scale_rows_f32(
        rows.mutableCast(to: Float.self), count, rowCount, stride, factors.cast(to: Float.self))
    } else if Scalar.self == Double.self {
      table.pointee.scale_rows_f64(
        rows.mutableCast(to: Double.self), count, rowCount, stride, factors.cast(to: Double.self))
    } else {
      preconditionFailure("VectorKernels supports Float and Double only")
    }
  }

  /// Whether any of `count` values is NaN or infinite.
  @inline(__always)
  func containsNonFinite<Scalar: AttentionScalar>(
    _ values: UnsafePointer<Scalar>, count: Int
  ) -> Bool {
    if Scalar.self == Float.self {
      return table.pointee.has_nonfinite_f32(values.cast(to: Float.self), count)
    } else if Scalar.self == Double.self {
      return table.pointee.has_nonfinite_f64(values.cast(to: Double.self), count)
    }
    preconditionFailure("VectorKernels supports Float and Double only")
  }

  /// Reads `count` values in order, bringing them from memory into the caches for a product
  /// that reads them in an order the hardware prefetchers follow less well.
  ///
  /// The non-finite scan's loop: a plain in-order read, limited by the loads alone, is the
  /// quickest way these loops have to stream a tile from memory. Its answer is not needed.
  @inline(__always)
  func streamIntoCache<Scalar: AttentionScalar>(_ values: UnsafePointer<Scalar>, count: Int) {
    _ = containsNonFinite(values, count: count)
  }
}

extension VectorKernels {
  /// `c = alpha·a·b (+ bias) (+ c when accumulate)`, for row-major `a` (`m × k`, row stride
  /// `lda`), `b` (`k × n`, `ldb`) and `c` (`m × n`, `ldc`), read in place: the C loops' unpacked
  /// product for small tiles (``TileProducts/Multiplier``) and `Linear` maps
  /// (``WeightProduct``, whose `bias` holds `n` values added to every row). Without
  /// `accumulate`, `c` is only written, as BLAS's `beta = 0`. With `rowScales`, row `i` is then
  /// multiplied by `rowScales[i]`. With `maxima`, `maxima[i]` also gets the largest value
  /// written to row `i` of `c`, as ``maximum(_:count:)`` of that row would (NaNs skipped,
  /// `-infinity` for none).
  @inline(__always)
  func product<Scalar: AttentionScalar>(
    m: Int, n: Int, k: Int, alpha: Scalar, a: UnsafePointer<Scalar>, lda: Int,
    b: UnsafePointer<Scalar>, ldb: Int, bias: UnsafePointer<Scalar>? = nil, accumulate: Bool,
    c: UnsafeMutablePointer<Scalar>, ldc: Int, rowScales: UnsafePointer<Scalar>? = nil,
    maxima: UnsafeMutablePointer<Scalar>? = nil
  ) {
    if Scalar.self == Float.self {
      table.pointee.product_f32(
        m, n, k, unsafeBitCast(alpha, to: Float.self), a.cast(to: Float.self), lda,
        b.cast(to: Float.self), ldb, bias?.cast(to: Float.self), accumulate,
        c.mutableCast(to: Float.self), ldc, rowScales?.cast(to: Float.self),
        maxima?.mutableCast(to: Float.self))
    } else if Scalar.self == Double.self {
      table.pointee.product_f64(
        m, n, k, unsafeBitCast(alpha, to: Double.self), a.cast(to: Double.self), lda,
        b.cast(to: Double.self), ldb, bias?.cast(to: Double.self), accumulate,
        c.mutableCast(to: Double.self), ldc, rowScales?.cast(to: Double.self),
        maxima?.mutableCast(to: Double.self))
    } else {
      preconditionFailure("VectorKernels supports Float and Double only")
    }
  }

  /// `y = alpha·a·x`, or `y += alpha·a·x` when `accumulate`, for row-major `a` (`rows ×
  /// columns`, row stride `lda`), read in place: one row's product with a weight matrix or a key
  /// tile. With `workers` above 1 the rows are split across the worker pool (``WorkerPool``,
  /// whose helper threads stay awake between calls); each
  /// element of `y` is one row's dot product computed by the same loop whatever the split, so
  /// the result does not depend on `workers`.
  @inline(__always)
  func matrixVectorProduct<Scalar: AttentionScalar>(
    rows: Int, columns: Int, alpha: Scalar, a: UnsafePointer<Scalar>, lda: Int,
    x: UnsafePointer<Scalar>, accumulate: Bool, y: UnsafeMutablePointer<Scalar>, workers: Int = 1
  ) {
    if Scalar.self == Float.self {
      let (a, x, y) = (
        a.cast(to: Float.self), x.cast(to: Float.self), y.mutableCast(to: Float.self)
      )
      let alpha = unsafeBitCast(alpha, to: Float.self)
      if workers > 1 {
        attn_parallel_matvec_f32(table, workers, rows, columns, alpha, a, lda, x, accumulate, y)
      } else {
        table.pointee.matvec_f32(rows, columns, alpha, a, lda, x, accumulate, y)
      }
    } else if Scalar.self == Double.self {
      let (a, x) = (a.cast(to: Double.self), x.cast(to: Double.self))
      let (y, alpha) = (y.mutableCast(to: Double.self), unsafeBitCast(alpha, to: Double.self))
      if workers > 1 {
        attn_parallel_matvec_f64(table, workers, rows, columns, alpha, a, lda, x, accumulate, y)
      } else {
        table.pointee.matvec_f64(rows, columns, alpha, a, lda, x, accumulate, y)
      }
    } else {
      preconditionFailure("VectorKernels supports Float and Double only")
    }
  }

  /// Writes the transpose of the row-major `rows × columns` matrix at `source` (row stride
  /// `lds`) into `destination` (`columns × rows`, row stride `ldd`).
  @inline(__always)
  func transpose<Scalar: AttentionScalar>(
    rows: Int, columns: Int, _ source: UnsafePointer<Scalar>, lds: Int,
    into destination: UnsafeMutablePointer<Scalar>, ldd: Int
  ) {
    if Scalar.self == Float.self {
      table.pointee.transpose_f32(
        rows, columns, source.cast(to: Float.self), lds, destination.mutableCast(to: Float.self),
        ldd)
    } else if Scalar.self == Double.self {
      table.pointee.transpose_f64(
        rows, columns, source.cast(to: Double.self), lds,
        destination.mutableCast(to: Double.self), ldd)
    } else {
      preconditionFailure("VectorKernels supports Float and Double only")
    }
  }
}

extension UnsafePointer {
  /// The same address viewed as another scalar type of the same layout (Float or Double behind a
  /// generic `AttentionScalar` the caller has already identified).
  @inline(__always)
  fileprivate func cast<T>(to _: T.Type) -> UnsafePointer<T> {
    UnsafeRawPointer(self).assumingMemoryBound(to: T.self)
  }
}

extension UnsafeMutablePointer {
  /// The same address viewed as another scalar type of the same layout.
  @inline(__always)
  fileprivate func mutableCast<T>(to _: T.Type) -> UnsafeMutablePointer<T> {
    UnsafeMutableRawPointer(self).assumingMemoryBound(to: T.self)
  }
}

extension VectorKernels {
  /// `out[i] = gate[i]·up[i] / (1 + exp(−linear·(gate[i] + cubic·gate[i]³)))` for `count`
  /// elements, i.e. `g·σ(z)·u`: the gated activation of a transformer's MLP (``GatedActivation``).
  /// `out` may be `gate` or `up`.
  @inline(__always)
  func gatedSigmoid(
    gate: UnsafePointer<Float>, up: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
    count: Int, linear: Float, cubic: Float
  ) {
    table.pointee.gated_sigmoid_f32(gate, up, out, count, linear, cubic)
  }
}

extension VectorKernels {
  /// BERT's exact GELU, `x·(1 + erf(x/√2))/2`, of `count` values in place (``GELU``).
  @inline(__always)
  func geluErf(_ values: UnsafeMutablePointer<Float>, count: Int) {
    table.pointee.gelu_erf_f32(values, count)
  }
}
