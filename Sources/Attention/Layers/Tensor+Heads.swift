extension Tensor {
  /// The features of each token split into `headCount` heads, heads moved before tokens:
  /// `[B, N, H·D] → [B, H, N, D]` (or `[N, H·D] → [H, N, D]`).
  ///
  /// Head `h` takes the features `h·D ..< (h+1)·D` of every token, the layout PyTorch's
  /// `nn.MultiheadAttention` uses (`x.view(B, N, H, D).transpose(1, 2)`):
  ///
  /// ```
  /// result[b, h, n, d] = self[b, n, h·D + d]
  /// ```
  ///
  /// - Parameter headCount: `H`, which must divide the last dimension.
  /// - Returns: a new contiguous tensor `[B, H, N, D]` (rank 4), or `[H, N, D]` for a rank-2 input.
  /// - Throws: `AttentionError` if the rank is not 2 or 3, `headCount` is not positive, or it
  ///   does not divide the last dimension.
  /// - Complexity: O(n) for n elements (one copy).
  public func splittingHeads(headCount: Int) throws -> Tensor {
    guard rank == 2 || rank == 3 else {
      throw AttentionError(
        .invalidShape,
        "splitting heads needs a tensor [B, N, H·D] or [N, H·D], got shape \(shape.shapeDescription)"
      )
    }
    let features = shape[rank - 1]
    guard headCount > 0, features % headCount == 0 else {
      throw AttentionError(
        .invalidArgument,
        "cannot split \(features) features into \(headCount) heads (shape \(shape.shapeDescription)): the head count must be positive and divide the last dimension"
      )
    }
    let batchCount = rank == 3 ? shape[0] : 1
    let tokenCount = shape[rank - 2]
    let headDimension = features / headCount
    let resultShape =
      (rank == 3 ? [batchCount] : []) + [headCount, tokenCount, headDimension]
    return Tensor(
      uncheckedShape: resultShape,
      scalars: Self.swappingMiddleAxes(
        scalars, outer: batchCount, first: tokenCount, second: headCount, inner: headDimension))
  }

  /// The heads of each token concatenated back into one feature vector, the inverse of
  /// ``splittingHeads(headCount:)``: `[B, H, N, D] → [B, N, H·D]` (or `[H, N, D] → [N, H·D]`).
  ///
  /// ```
  /// result[b, n, h·D + d] = self[b, h, n, d]
  /// ```
  ///
  /// - Returns: a new contiguous tensor `[B, N, H·D]`, or `[N, H·D]` for a rank-3 input.
  /// - Throws: `AttentionError` if the rank is not 3 or 4.
  /// - Complexity: O(n) for n elements (one copy).
  public func mergingHeads() throws -> Tensor {
    guard rank == 3 || rank == 4 else {
      throw AttentionError(
        .invalidShape,
        "merging heads needs a tensor [B, H, N, D] or [H, N, D], got shape \(shape.shapeDescription)"
      )
    }
    let batchCount = rank == 4 ? shape[0] : 1
    let (headCount, tokenCount, headDimension) = (shape[rank - 3], shape[rank - 2], shape[rank - 1])
    let resultShape =
      (rank == 4 ? [batchCount] : []) + [tokenCount, headCount * headDimension]
    return Tensor(
      uncheckedShape: resultShape,
      scalars: Self.swappingMiddleAxes(
        scalars, outer: batchCount, first: headCount, second: tokenCount, inner: headDimension))
  }

  /// `[outer, first, second, inner] → [outer, second, first, inner]`, copying `inner`-long runs.
  ///
  /// Split across cores (``ElementwiseWork``) by rows of the result, each run of plain values
  /// copied as bytes: generic element-by-element copies on one thread made multi-head
  /// attention's head splits and merges (runs of 32 Floats) 3 % of `attention embed`, all of it
  /// on the calling thread while the others waited.
  private static func swappingMiddleAxes(
    _ source: [Element], outer: Int, first: Int, second: Int, inner: Int
  ) -> [Element] {
    guard !source.isEmpty else { return [] }
    let isPlain = _isPOD(Element.self)
    let runBytes = inner * MemoryLayout<Element>.stride
    return [Element](unsafeUninitializedCapacity: source.count) { destination, initialized in
      source.withUnsafeBufferPointer { from in
        let (base, target) = (
          DisjointAccess(from.baseAddress!), DisjointAccess(destination.baseAddress!)
        )
        ElementwiseWork.forEachChunk(count: outer * second, elementsPerItem: first * inner) {
          rows in
          for row in rows {
            let (o, s) = row.quotientAndRemainder(dividingBy: second)
            let block = o * first * second * inner
            for f in 0..<first {
              let from = base.base + block + (f * second + s) * inner
              let to = target.base + block + (s * first + f) * inner
              if isPlain {
                UnsafeMutableRawPointer(to).copyMemory(from: from, byteCount: runBytes)
              } else {
                to.initialize(from: from, count: inner)
              }
            }
          }
        }
      }
      initialized = source.count
    }
  }
}
