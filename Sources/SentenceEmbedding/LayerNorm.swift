import Attention

/// Layer normalisation over the last dimension, PyTorch's `nn.LayerNorm(H, eps)`:
///
/// ```
/// y[r, i] = (x[r, i] − mean(x[r, :])) / √(var(x[r, :]) + ε) · weight[i] + bias[i]
/// ```
///
/// with the biased variance (divided by `H`, as PyTorch). The mean and variance of each row are
/// accumulated in `Double`, so the only rounding left is Float's in the final multiply-add.
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
    let width = featureCount
    let rowCount = input.count / width
    var output = input.scalars
    output.withUnsafeMutableBufferPointer { y in
      if let residual {
        residual.withUnsafeBufferPointer { r in
          for index in y.indices { y[index] += r[index] }
        }
      }
      weight.withUnsafeBufferPointer { gamma in
        bias.withUnsafeBufferPointer { beta in
          for row in 0..<rowCount {
            let base = row * width
            var sum = 0.0
            for i in 0..<width { sum += Double(y[base + i]) }
            let mean = sum / Double(width)
            var squares = 0.0
            for i in 0..<width {
              let centred = Double(y[base + i]) - mean
              squares += centred * centred
            }
            let scale = 1 / (squares / Double(width) + epsilon).squareRoot()
            for i in 0..<width {
              let normalised = Float((Double(y[base + i]) - mean) * scale)
              y[base + i] = normalised * gamma[i] + beta[i]
            }
          }
        }
      }
    }
    return Tensor(validShape: input.shape, scalars: output)
  }
}
