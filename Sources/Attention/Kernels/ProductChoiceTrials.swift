/// The engine's two per-CPU choices between its own matrix product and OpenBLAS's, set up so that
/// the package's benchmark can time both sides of each on the CPU it runs on (`make bench`'s
/// "Product choices on this CPU").
///
/// Both choices were measured on the CPUs the developers had (Zen 3 for AVX2, Zen 4 for
/// AVX-512): which product multiplies a fused tile (``TileProducts/smallProductLimit``) and which
/// one multiplies a ``Linear`` map's rows (``WeightProduct/isPreferred(for:rows:)``). A CPU with a
/// different balance of vector units, caches and OpenBLAS kernels — an Intel Xeon with two
/// 512-bit FMA ports, say — may favour the other side; the benchmark's table then shows it
/// instead of leaving it to be guessed. Not public API: the package's own targets only.
package enum ProductChoiceTrials {
  /// The instruction set of the engine's product in this process (`avx512`, `avx2`, `sse2` or
  /// `portable`).
  package static var instructionSet: String { VectorKernels.active.level.description }

  /// Both matrix products of one fused tile, Float, on the calling thread: the scores
  /// `S = Q·Kᵀ` (`rows × keys`, inner dimension `dimension`) and the weighted values `O = S·V`
  /// (`rows × dimension`, inner dimension `keys`), by either multiplier. `4·rows·keys·dimension`
  /// operations.
  package final class Tile {
    package let rows: Int
    package let keys: Int
    package let dimension: Int
    private let query: [Float]
    private let key: [Float]
    private let value: [Float]
    private var transposedKey: [Float]
    private var scores: [Float]
    /// The last run's weighted values `O` (`rows × dimension`, row-major).
    package private(set) var output: [Float]

    /// A tile of seeded random queries, keys and values (one `SplitMix64` stream from `seed`).
    package init(rows: Int, keys: Int, dimension: Int, seed: UInt64) {
      precondition(rows > 0 && keys > 0 && dimension > 0, "a tile trial needs positive sizes")
      (self.rows, self.keys, self.dimension) = (rows, keys, dimension)
      var generator = SplitMix64(seed: seed)
      func draw(_ count: Int) -> [Float] {
        (0..<count).map { _ in Float(generator.next() >> 40) / Float(1 << 24) - 0.5 }
      }
      query = draw(rows * dimension)
      key = draw(keys * dimension)
      value = draw(keys * dimension)
      transposedKey = [Float](repeating: 0, count: keys * dimension)
      scores = [Float](repeating: 0, count: rows * keys)
      output = [Float](repeating: 0, count: rows * dimension)
    }

    /// `O = (Q·Kᵀ)·V` in Double from the same Float inputs, `rows × dimension`: the reference
    /// both multipliers are tested against.
    package func doubleReference() -> [Double] {
      var o = [Double](repeating: 0, count: rows * dimension)
      for r in 0..<rows {
        for j in 0..<keys {
          var s = 0.0
          for c in 0..<dimension {
            s += Double(query[r * dimension + c]) * Double(key[j * dimension + c])
          }
          for c in 0..<dimension { o[r * dimension + c] += s * Double(value[j * dimension + c]) }
        }
      }
      return o
    }

    /// The operations of both products: `4·rows·keys·dimension`.
    package var operationCount: Double { 4 * Double(rows) * Double(keys) * Double(dimension) }

    /// Whether the fused path multiplies a tile of this size with the engine's small product in
    /// this process (``TileProducts/fitSmallProduct(rows:keys:keyDimension:valueDimension:)``),
    /// rather than OpenBLAS's `sgemm`.
    package var engineUsesSmallProduct: Bool {
      TileProducts.fitSmallProduct(
        rows: rows, keys: keys, keyDimension: dimension, valueDimension: dimension)
    }

    /// Computes both products once, as the fused path does with that multiplier: the small
    /// product transposes the keys first (its scores read `Kᵀ` row by row); OpenBLAS reads `K`
    /// transposed in place and runs on one thread (the fused path's workers call it inside
    /// ``BLAS/withSingleThread(_:)``).
    ///
    /// - Returns: one element of the output, for the caller to keep alive.
    @discardableResult
    package func run(smallProduct: Bool) -> Float {
      let (rows, keys, dimension) = (self.rows, self.keys, self.dimension)
      let kernels = VectorKernels.active
      query.withUnsafeBufferPointer { q in
        key.withUnsafeBufferPointer { k in
          value.withUnsafeBufferPointer { v in
            transposedKey.withUnsafeMutableBufferPointer { kT in
              scores.withUnsafeMutableBufferPointer { s in
                output.withUnsafeMutableBufferPointer { o in
                  if smallProduct {
                    TileProducts.transposeKeys(
                      k.baseAddress!, count: keys, dimension: dimension, into: kT.baseAddress!,
                      using: kernels)
                  }
                  BLAS.withSingleThread {
                    _ = TileProducts.scores(
                      rows: rows, keys: keys, keyDimension: dimension, scale: 1,
                      query: q.baseAddress!, key: k.baseAddress!,
                      transposedKey: smallProduct ? UnsafePointer(kT.baseAddress!) : nil,
                      transposedKeyStride: keys, into: s.baseAddress!, stride: keys,
                      multiplier: smallProduct ? .small(kernels) : .blas)
                    if smallProduct {
                      kernels.product(
                        m: rows, n: dimension, k: keys, alpha: 1, a: s.baseAddress!, lda: keys,
                        b: v.baseAddress!, ldb: dimension, accumulate: false, c: o.baseAddress!,
                        ldc: dimension)
                    } else {
                      BLAS.gemm(
                        m: rows, n: dimension, k: keys, alpha: 1, a: s.baseAddress!, lda: keys,
                        b: v.baseAddress!, ldb: dimension, beta: 0, c: o.baseAddress!,
                        ldc: dimension)
                    }
                  }
                }
              }
            }
          }
        }
      }
      return output[0]
    }
  }

  /// A ``Linear`` map's product `Y = X·Wᵀ + b` for `rows` rows, Float, with every thread the
  /// engine uses, by either product: the engine's over panels of `Wᵀ` copied per call, or
  /// OpenBLAS's `sgemm`. `2·rows·in·out` operations.
  package final class LinearMap {
    package let rows: Int
    private let layer: Linear<Float>
    private let input: [Float]

    /// A map `in → out` with seeded random weight, bias and `rows` input rows.
    package init(rows: Int, inputFeatures: Int, outputFeatures: Int, seed: UInt64) throws {
      precondition(rows > 0, "a linear trial needs rows")
      var generator = SplitMix64(seed: seed)
      layer = try Linear(
        weight: Tensor<Float>.randomNormal(
          shape: [outputFeatures, inputFeatures], using: &generator),
        bias: Tensor<Float>.randomNormal(shape: [outputFeatures], using: &generator))
      input = try Tensor<Float>.randomNormal(shape: [rows, inputFeatures], using: &generator)
        .scalars
      self.rows = rows
    }

    package var inputFeatures: Int { layer.inputFeatureCount }
    package var outputFeatures: Int { layer.outputFeatureCount }

    /// The operations of the product: `2·rows·in·out`.
    package var operationCount: Double {
      2 * Double(rows) * Double(inputFeatures) * Double(outputFeatures)
    }

    /// Whether ``Linear`` multiplies this many rows with the engine's product in this process.
    package var engineUsesPanels: Bool { WeightProduct.isPreferred(for: Float.self, rows: rows) }

    /// Applies the map once with the engine's product (`panels`) or OpenBLAS's.
    ///
    /// - Returns: the output rows (`rows × out`, row-major).
    @discardableResult
    package func run(panels: Bool) -> [Float] {
      input.withUnsafeBufferPointer { x in
        layer.apply(
          rows: x.baseAddress!, rowCount: rows, rowStride: inputFeatures, usingPanels: panels)
      }
    }

    /// The map in Double from the same Float weight, bias and rows, `rows × out`: the reference
    /// both products are tested against.
    package func doubleReference() -> [Double] {
      let (inCount, outCount) = (inputFeatures, outputFeatures)
      let w = layer.weight.scalars
      let b = layer.bias!.scalars
      var y = [Double](repeating: 0, count: rows * outCount)
      for r in 0..<rows {
        for o in 0..<outCount {
          var sum = Double(b[o])
          for i in 0..<inCount {
            sum += Double(input[r * inCount + i]) * Double(w[o * inCount + i])
          }
          y[r * outCount + o] = sum
        }
      }
      return y
    }
  }
}
