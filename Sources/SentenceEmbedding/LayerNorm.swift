import Attention

/// Layer normalisation over the last dimension, PyTorch's `nn.LayerNorm(H, eps)`:
///
/// ```
/// y[r, i] = (x[r, i] − mean(x[r, :])) / √(var(x[r, :]) + ε) · weight[i] + bias[i]
/// ```
///
/// with the biased variance (divided by `H`, as PyTorch). Each row is summed in Float with eight
/// partial sums, in two passes — the mean, then the deviations from it and their squares (the
/// corrected two-pass algorithm) — so a large common offset does not cancel the variance away as
/// the one-pass `E[x²] − E[x]²` would, and the mean's own rounding is removed. Within a few Float
/// roundoffs of the float64 formula (tested at offsets of 1000 standard deviations). Rows are
/// split across cores when there are enough of them.
struct LayerNorm: Sendable {
  /// γ, `[H]`.
  let weight: Tensor<Float>
  /// β, `[H]`.
  let bias: Tensor<Float>
  /// ε, added to the variance.
  let epsilon: Double

  /// `H`, the normalised width.
  var featureCount: Int { weight.count }

  /// Normalises every row of `input`, after adding `residual` to it when one is given:
  /// `LayerNorm(input + residual)`, BERT's post-norm residual in one pass.
  ///
  /// - Precondition: `residual`, if given, has the shape of `input`, whose last dimension is `H`
  ///   (the encoder builds all three, so a mismatch is a bug).
  /// - Complexity: O(rows · H).
  func callAsFunction(_ input: Tensor<Float>, adding residual: Tensor<Float>? = nil)
    -> Tensor<Float>
  {
    precondition(
      input.shape.last == featureCount && (residual?.shape ?? input.shape) == input.shape)
    if input.count == 0 { return input }
    let width = featureCount
    let rowCount = input.count / width
    let epsilon = Float(self.epsilon)
    let output = [Float](unsafeUninitializedCapacity: input.count) { buffer, initialized in
      let y = DisjointAccess(buffer.baseAddress!)
      input.withUnsafeBufferPointer { x in
        let x = DisjointAccess(x.baseAddress!)
        (residual ?? input).withUnsafeBufferPointer { r in
          let r = residual == nil ? nil : DisjointAccess(r.baseAddress!)
          weight.withUnsafeBufferPointer { gamma in
            bias.withUnsafeBufferPointer { beta in
              let (gamma, beta) = (
                DisjointAccess(gamma.baseAddress!), DisjointAccess(beta.baseAddress!)
              )
              ElementwiseWork.forEachChunk(count: rowCount, elementsPerItem: 4 * width) { rows in
                for row in rows {
                  let offset = row * width
                  Self.normalize(
                    x.base + offset, adding: r.map { $0.base + offset }, into: y.base + offset,
                    width: width, gamma: gamma.base, beta: beta.base, epsilon: epsilon)
                }
              }
            }
          }
        }
      }
      initialized = input.count
    }
    return Tensor(validShape: input.shape, scalars: output)
  }

  /// One row: `y = LayerNorm(x + r)` (or of `x` alone), `y` written before it is read.
  private static func normalize(
    _ x: UnsafePointer<Float>, adding r: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>,
    width: Int, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, epsilon: Float
  ) {
    typealias Lanes = SIMD8<Float>
    func load(_ p: UnsafePointer<Float>) -> Lanes {
      UnsafeRawPointer(p).loadUnaligned(as: Lanes.self)
    }
    func store(_ v: Lanes, _ p: UnsafeMutablePointer<Float>) {
      UnsafeMutableRawPointer(p).storeBytes(of: v, as: Lanes.self)
    }
    let vectorEnd = width - width % Lanes.scalarCount
    // Pass 1: y = x (+ r) and its sum.
    var partial = Lanes()
    var i = 0
    while i < vectorEnd {
      var v = load(x + i)
      if let r { v += load(r + i) }
      store(v, y + i)
      partial += v
      i += Lanes.scalarCount
    }
    var sum = partial.sum()
    while i < width {
      let v = x[i] + (r?[i] ?? 0)
      y[i] = v
      sum += v
      i += 1
    }
    let mean = sum / Float(width)
    // Pass 2: the deviations d = y − mean, their sum and their squares. The rounded mean can be
    // off by many of its own ulps after a sum of hundreds of values; Σd/H is that error, and
    // removing it (the corrected two-pass algorithm) leaves results as if the mean had been
    // exact. Each d itself is exact wherever y is within a factor 2 of the mean (Sterbenz).
    var deviations = Lanes()
    partial = Lanes()
    i = 0
    while i < vectorEnd {
      let d = load(y + i) - mean
      deviations += d
      partial += d * d  // not addProduct: without FMA in the build it calls fmaf per lane
      i += Lanes.scalarCount
    }
    var deviationSum = deviations.sum()
    var squares = partial.sum()
    while i < width {
      let d = y[i] - mean
      deviationSum += d
      squares += d * d
      i += 1
    }
    let correction = deviationSum / Float(width)
    let variance = max(0, squares / Float(width) - correction * correction)
    let scale = 1 / (variance + epsilon).squareRoot()
    // Pass 3: normalise, then γ and β.
    i = 0
    while i < vectorEnd {
      let centred = (load(y + i) - mean) - correction
      store(centred * scale * load(gamma + i) + load(beta + i), y + i)
      i += Lanes.scalarCount
    }
    while i < width {
      y[i] = ((y[i] - mean) - correction) * scale * gamma[i] + beta[i]
      i += 1
    }
  }
}
