/// The two matrix products of attention on a tile, shared by the materialised and fused paths:
/// the scores `S = scale·Q·Kᵀ` and the weighted values `O (+)= P·V`, each with the one rule for
/// non-finite inputs.
enum TileProducts {
  /// `scores = scale · Q·Kᵀ` for `rows` queries against `keys` keys, K read transposed in place.
  ///
  /// BLAS may skip a product whose alpha is 0 (OpenBLAS does), which would hide a NaN or an
  /// infinity of Q or K; with a zero scale the product is formed with alpha 1 and
  /// ``AttentionRules/prepareLogits(_:keys:band:batch:head:query:position:segmentKeyStart:)``
  /// multiplies it by 0 (`0·∞ = NaN`).
  @inline(__always)
  static func scores<Scalar: AttentionScalar>(
    rows: Int, keys: Int, keyDimension: Int, scale: Scalar,
    query: UnsafePointer<Scalar>, key: UnsafePointer<Scalar>,
    into scores: UnsafeMutablePointer<Scalar>, stride: Int
  ) {
    BLAS.gemm(
      transposeB: true, m: rows, n: keys, k: keyDimension, alpha: scale == 0 ? 1 : scale,
      a: query, lda: keyDimension, b: key, ldb: keyDimension, beta: 0, c: scores, ldc: stride)
  }

  /// `output (+)= weights · values` for `rows` rows of weights over the keys `keys`.
  ///
  /// When the values hold NaN or ±infinity, gemm would multiply the zero weights of masked keys
  /// by them; then masked keys are skipped one by one instead, so non-finite values reach only the
  /// rows that see them (the NaN policy). Rare, so that route asks the rules key by key.
  ///
  /// - Parameters:
  ///   - rowQuery: the query head and query index of each row (for the visibility of the slow
  ///     route).
  ///   - accumulate: add to `output` (the fused kernel's running sum) rather than overwrite it.
  static func addWeightedValues<Scalar: AttentionScalar>(
    problem: AttentionProblem<Scalar>, weights: UnsafePointer<Scalar>, stride: Int, rows: Int,
    rowQuery: (Int) -> (head: Int, query: Int), batch: Int, keys: Range<Int>,
    values: UnsafePointer<Scalar>, valuesAreFinite: Bool,
    into output: UnsafeMutablePointer<Scalar>, accumulate: Bool
  ) {
    let dv = problem.valueDimension
    guard valuesAreFinite else {
      if !accumulate { output.update(repeating: 0, count: rows * dv) }
      for r in 0..<rows {
        let row = weights + r * stride
        let out = output + r * dv
        let (head, query) = rowQuery(r)
        for j in 0..<keys.count
        where problem.rules.isVisible(
          batch: batch, head: head, query: query, key: keys.lowerBound + j)
        {
          for e in 0..<dv { out[e] += row[j] * values[j * dv + e] }
        }
      }
      return
    }
    BLAS.gemm(
      m: rows, n: dv, k: keys.count, alpha: 1, a: weights, lda: stride, b: values, ldb: dv,
      beta: accumulate ? 1 : 0, c: output, ldc: dv)
  }
}

/// Which chunks of V hold NaN or ±infinity, scanned once per call, so the products take the
/// careful route (``TileProducts/addWeightedValues(problem:weights:stride:rows:firstQuery:batch:head:keys:values:valuesAreFinite:into:accumulate:)``)
/// only where needed.
struct NonFiniteValueFlags: Sendable {
  private let flags: [Bool]
  private let chunkSize: Int
  private let chunksPerHead: Int

  /// Scans `value` (`[B, Hkv, Nk, Dv]`) in chunks of `chunkSize` keys per key/value head.
  init<Scalar: AttentionScalar>(problem: AttentionProblem<Scalar>, value: [Scalar], chunkSize: Int)
  {
    let chunksPerHead = (problem.keyCount + chunkSize - 1) / chunkSize
    var flags = [Bool](
      repeating: false, count: problem.batchCount * problem.keyValueHeadCount * chunksPerHead)
    value.withUnsafeBufferPointer { v in
      for kvHead in 0..<(problem.batchCount * problem.keyValueHeadCount) {
        for chunk in 0..<chunksPerHead {
          let first = chunk * chunkSize
          let count = Swift.min(chunkSize, problem.keyCount - first)
          flags[kvHead * chunksPerHead + chunk] = NonFinite.contains(
            v.baseAddress! + problem.keyRow(kvHead: kvHead, key: first) * problem.valueDimension,
            count: count * problem.valueDimension)
        }
      }
    }
    self.flags = flags
    self.chunkSize = chunkSize
    self.chunksPerHead = chunksPerHead
  }

  /// Whether any value row of the keys `keys` of key/value head `kvHead` (batch-major index) is
  /// non-finite.
  func any(kvHead: Int, keys: Range<Int>) -> Bool {
    guard !keys.isEmpty else { return false }
    let base = kvHead * chunksPerHead
    for chunk in (keys.lowerBound / chunkSize)...((keys.upperBound - 1) / chunkSize)
    where flags[base + chunk] {
      return true
    }
    return false
  }
}
