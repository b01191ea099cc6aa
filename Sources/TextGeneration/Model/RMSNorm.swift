import Attention

/// Root-mean-square normalisation with a learned gain, `x / rms(x) · (offset + w)` per row, as
/// transformers computes it in float32 (`offset` 1 for Gemma's `1 + w`, else 0).
struct RMSNorm: Sendable {
  /// `offset + w`, added once at load (as Gemma's `1.0 + weight.float()`).
  let gain: [Float]
  let epsilon: Float

  /// The row width.
  var width: Int { gain.count }

  init(weight: [Float], epsilon: Float, offset: Float) {
    gain = weight.map { offset + $0 }
    self.epsilon = epsilon
  }

  /// Normalises each row of `width` features of `input` into `output` (which may be `input`).
  func callAsFunction(
    _ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>, rowCount: Int
  ) {
    let width = self.width
    let (input, output) = (DisjointAccess(input), DisjointAccess(output))
    gain.withUnsafeBufferPointer { gain in
      let gain = DisjointAccess(gain.baseAddress!)
      ElementwiseWork.forEachChunk(count: rowCount, elementsPerItem: 3 * width) { rows in
        for row in rows {
          normalize(input.base + row * width, into: output.base + row * width, gain: gain.base)
        }
      }
    }
  }

  /// One row.
  private func normalize(
    _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, gain: UnsafePointer<Float>
  ) {
    // Eight partial sums: independent additions the compiler keeps in vector registers.
    var partial = SIMD8<Float>()
    var i = 0
    while i + 8 <= width {
      let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
      partial += v * v  // not addProduct: without FMA in the build it calls fmaf per lane
      i += 8
    }
    var sum = partial.sum()
    while i < width {
      sum += x[i] * x[i]
      i += 1
    }
    let inverse = 1 / (sum / Float(width) + epsilon).squareRoot()
    for i in 0..<width { y[i] = x[i] * inverse * gain[i] }
  }

  /// The normalised rows of `rows` (a whole number of rows of `width`).
  func callAsFunction(_ rows: [Float]) -> [Float] {
    [Float](unsafeUninitializedCapacity: rows.count) { output, initialized in
      rows.withUnsafeBufferPointer { input in
        if let source = input.baseAddress {
          self(source, into: output.baseAddress!, rowCount: rows.count / width)
        }
      }
      initialized = rows.count
    }
  }
}
