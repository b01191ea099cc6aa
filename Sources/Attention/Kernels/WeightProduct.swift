#if canImport(Glibc)
  import Glibc
#endif

/// `Y = X·Wᵀ + b` for many rows `X` and a weight `W` stored `[out, in]` (a ``Linear`` map), with
/// the C loops' product instead of OpenBLAS's sgemm.
///
/// OpenBLAS copies both operands into its panel layout on every call — `sgemm_oncopy` and
/// `sgemm_incopy` were 10 % of `attention embed` on Zen 4 — and its AVX-512 kernel reaches
/// ~100 GFLOP/s per core there, where the C loops' product reaches 112–115. Here only `W` is
/// copied, once per call and `O(out · in)`, into panels of ``panelWidth`` columns of `Wᵀ`
/// (`in × panelWidth` each, contiguous, so every step of the product loads two whole vectors of
/// one panel row); `X` is read in place, a block of rows at a time that stays in L2 while every
/// panel streams past.
///
/// Every element of `Y` is the bias plus its `in` products summed in order (one fused
/// multiply-add each), whichever worker computes it: results do not depend on the thread count.
enum WeightProduct {
  /// The columns of `Wᵀ` per packed panel: a whole number of the product's two-vector blocks at
  /// every instruction set (2 × 16 Floats with AVX-512).
  static let panelWidth = 32

  /// Below this many rows OpenBLAS keeps the product (below 5, decoding's matrix-vector loop).
  /// Measured on Zen 4, two threads: from 16 rows ahead on every MiniLM shape (16 × 384 × 384
  /// 40 µs against 48, 16 × 1536 × 384 142 against 162), at 8 rows behind on 384 × 384 (47
  /// against 34 µs: the panel copy is not repaid).
  static let minimumRows = 16

  /// The fewest multiply-adds worth a worker of their own (~30 µs of one core's work).
  static let minimumWorkPerWorker = 1 << 20

  /// Whether `rows` rows of `Scalar` take this product rather than BLAS in this process: Float
  /// with AVX-512, where the C loops' product beats OpenBLAS's Cooperlake kernel (measured on
  /// Zen 4); elsewhere OpenBLAS's packed kernels stay.
  static func isPreferred<Scalar: AttentionScalar>(for _: Scalar.Type, rows: Int) -> Bool {
    Scalar.self == Float.self && rows >= minimumRows && VectorKernels.active.level >= .avx512
  }

  /// The number of elements of `Wᵀ` packed into panels (the last panel padded to
  /// ``panelWidth`` columns).
  static func packedCount(outCount: Int, inCount: Int) -> Int {
    (outCount + panelWidth - 1) / panelWidth * panelWidth * inCount
  }

  /// Copies the panels `panels` of `Wᵀ` for the weight `w` (`[outCount, inCount]`) to
  /// `destination`: panel `p` holds `Wᵀ`'s columns `p·width ..< p·width + width` (the transpose
  /// of W's rows there), `inCount × width`, row by row. The padding columns of a last partial
  /// panel are left as they are: the product never reads them.
  static func pack<Scalar: AttentionScalar>(
    weight w: UnsafePointer<Scalar>, outCount: Int, inCount: Int, panels: Range<Int>,
    into destination: UnsafeMutablePointer<Scalar>, using kernels: VectorKernels = .active
  ) {
    let width = panelWidth
    for panel in panels {
      let first = panel * width
      kernels.transpose(
        rows: Swift.min(width, outCount - first), columns: inCount, w + first * inCount,
        lds: inCount, into: destination + (panel - panels.lowerBound) * inCount * width,
        ldd: width)
    }
  }

  /// Writes `y = x·wᵀ + bias` (`+ bias` only when given).
  ///
  /// - Parameters:
  ///   - x: `rowCount` rows of `inCount` features, `rowStride` elements apart.
  ///   - w: the weight, `[outCount, inCount]`, contiguous.
  ///   - packed: the same weight already packed by ``pack(weight:outCount:inCount:panels:into:using:)``
  ///     (every panel, ``packedCount(outCount:inCount:)`` elements), or `nil` to pack per call.
  ///   - bias: `outCount` values added to every row, or `nil`.
  ///   - y: `rowCount × outCount`, contiguous; only written.
  ///   - kernels: the C loops to multiply with (the tests run every instruction set).
  ///   - heads: with a head dimension `D` (a multiple of ``panelWidth``, dividing `outCount`)
  ///     and the rows of each sequence `N` (dividing `rowCount`), `y` is written split into heads,
  ///     `[rowCount / N, outCount / D, N, D]` — multi-head attention's
  ///     `Tensor.splittingHeads(headCount:)` of the product, without the copy (every panel lies
  ///     in one head); `nil` writes `[rowCount, outCount]`.
  ///   - maximumWorkers: a cap below ``AttentionThreads/maximumCount`` (the tests' splits).
  /// - Complexity: O(rowCount · inCount · outCount) time, O(inCount · outCount) extra memory.
  static func multiply<Scalar: AttentionScalar>(
    rows x: UnsafePointer<Scalar>, rowCount: Int, rowStride: Int,
    weight w: UnsafePointer<Scalar>, packed: UnsafePointer<Scalar>? = nil, outCount: Int,
    inCount: Int, bias: UnsafePointer<Scalar>?, into y: UnsafeMutablePointer<Scalar>,
    heads: (dimension: Int, rowsPerSequence: Int)? = nil,
    using kernels: VectorKernels = .active, maximumWorkers: Int = .max
  ) {
    if let heads {
      precondition(
        heads.dimension > 0 && heads.dimension % panelWidth == 0
          && outCount % heads.dimension == 0 && heads.rowsPerSequence > 0
          && rowCount % heads.rowsPerSequence == 0, "a head layout the panels do not fit")
    }
    guard rowCount > 0, outCount > 0 else { return }
    guard inCount > 0 else {
      precondition(heads == nil, "an empty product split into heads")
      fillWithBias(y, rows: 0..<rowCount, outCount: outCount, bias: bias)
      return
    }
    let width = panelWidth
    let panelCount = (outCount + width - 1) / width
    let panelSize = inCount * width
    let groupCount = (rowCount + 5) / 6

    // Workers split the panels (each copies and multiplies only its own, so W is copied once in
    // all and no worker waits for another's copy); only when there are fewer panels than
    // workers do they also split the rows, each copying the panels it needs.
    let work = rowCount.multipliedReportingOverflow(by: inCount * outCount)
    let workers = Swift.min(
      AttentionThreads.maximumCount, Swift.max(1, maximumWorkers),
      work.overflow ? Int.max : Swift.max(1, work.partialValue / minimumWorkPerWorker))
    let panelParts = Swift.min(workers, panelCount)
    let rowParts = Swift.min(groupCount, Swift.max(1, workers / panelParts))
    // Rows in blocks whose inCount features fill about an eighth of L2 (1–2 MiB per core on
    // the machines measured), so that a block is read from L2 for every panel; whole blocks of
    // the product's 6 rows.
    let blockRows = Swift.max(6, (1 << 17) / (inCount * MemoryLayout<Scalar>.stride) / 6 * 6)

    let (input, weight, output) = (DisjointAccess(x), DisjointAccess(w), DisjointAccess(y))
    let biasAccess = bias.map { DisjointAccess($0) }
    // One allocation, by the caller: workers allocating their own made glibc's arenas grow and
    // trim the heap on every call (3 brk and 3 futex calls per call at 128 × 384 × 384), which
    // halved the speed of two workers.
    let largestPart = (panelCount + panelParts - 1) / panelParts
    let partSize = largestPart * panelSize
    let buffer = UnsafeMutablePointer<Scalar>.allocate(
      capacity: packed == nil ? panelParts * rowParts * partSize : 0)
    defer { buffer.deallocate() }
    let (scratch, prepacked) = (DisjointAccess(buffer), packed.map { DisjointAccess($0) })
    ParallelWork.forEachChunk(count: panelParts * rowParts) { parts in
      for part in parts {
        let (rowPart, panelPart) = part.quotientAndRemainder(dividingBy: panelParts)
        let panels = panelCount * panelPart / panelParts..<panelCount * (panelPart + 1) / panelParts
        let groups = groupCount * rowPart / rowParts..<groupCount * (rowPart + 1) / rowParts
        // This part's panels, the first at `packed`.
        let packed: UnsafeMutablePointer<Scalar>
        if let prepacked {
          packed = prepacked.base + panels.lowerBound * panelSize
        } else {
          packed = scratch.base + part * partSize
          pack(
            weight: weight.base, outCount: outCount, inCount: inCount, panels: panels,
            into: packed, using: kernels)
        }
        let rows = groups.lowerBound * 6..<Swift.min(rowCount, groups.upperBound * 6)
        var start = rows.lowerBound
        while start < rows.upperBound {
          // Blocks end at a sequence's end when the output is split into heads.
          let sequenceEnd = heads.map { (start / $0.rowsPerSequence + 1) * $0.rowsPerSequence }
          let end = Swift.min(rows.upperBound, start + blockRows, sequenceEnd ?? .max)
          for panel in panels {
            let first = panel * width
            // Row `start`, column `first` of the output and the stride between its rows.
            let (out, ldc): (UnsafeMutablePointer<Scalar>, Int)
            if let heads {
              let (sequence, position) = start.quotientAndRemainder(
                dividingBy: heads.rowsPerSequence)
              let (head, offset) = first.quotientAndRemainder(dividingBy: heads.dimension)
              let headCount = outCount / heads.dimension
              out =
                output.base + ((sequence * headCount + head) * heads.rowsPerSequence + position)
                * heads.dimension + offset
              ldc = heads.dimension
            } else {
              (out, ldc) = (output.base + start * outCount + first, outCount)
            }
            kernels.product(
              m: end - start, n: Swift.min(width, outCount - first), k: inCount, alpha: 1,
              a: input.base + start * rowStride, lda: rowStride,
              b: packed + (panel - panels.lowerBound) * panelSize, ldb: width,
              bias: biasAccess.map { UnsafePointer($0.base + first) }, accumulate: false,
              c: out, ldc: ldc)
          }
          start = end
        }
      }
    }
  }

  /// Rows `rows` of `y` set to the bias, or to zeros without one.
  private static func fillWithBias<Scalar: AttentionScalar>(
    _ y: UnsafeMutablePointer<Scalar>, rows: Range<Int>, outCount: Int,
    bias: UnsafePointer<Scalar>?
  ) {
    for row in rows {
      let out = y + row * outCount
      if let bias {
        out.initialize(from: bias, count: outCount)
      } else {
        out.initialize(repeating: 0, count: outCount)
      }
    }
  }
}
