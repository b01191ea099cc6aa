/// An affine map `y = x·Wᵀ + b` with PyTorch's `nn.Linear` layout.
///
/// The weight is stored `[out, in]` (one row per output feature) and the optional bias `[out]`,
/// exactly as PyTorch stores them, so a state dict's tensors are used as they are. Applying the
/// map is one matrix product over every row of the input at once: OpenBLAS's `gemm` with `W` read
/// transposed in place, or, for Float rows on AVX-512 processors, the engine's own product over
/// panels of `Wᵀ` copied per call (1.1–1.5× OpenBLAS's speed on Zen 4, the
/// bias added in the same pass); one to four rows take a matrix-vector product.
///
/// ```swift
/// let w = try Tensor<Float>(shape: [2, 3], scalars: [1, 0, 0, 0, 1, 1])
/// let layer = try Linear(weight: w, bias: Tensor(shape: [2], scalars: [0, 10]))
/// let y = try layer(Tensor(shape: [1, 3], scalars: [1, 2, 3]))  // [[1, 15]]
/// ```
public struct Linear<Scalar: AttentionScalar>: Sendable {
  /// The weight `[out, in]`.
  public let weight: Tensor<Scalar>
  /// The bias `[out]`, or `nil` for a linear map without bias.
  public let bias: Tensor<Scalar>?
  /// `Wᵀ` in the weight product's panels (``WeightProduct``), copied once by
  /// ``packingWeight()``; `nil` copies the panels each call.
  private let packedWeight: [Scalar]?

  /// The number of features each input row has (`in`, the weight's second dimension).
  public var inputFeatureCount: Int { weight.shape[1] }
  /// The number of features each output row has (`out`, the weight's first dimension).
  public var outputFeatureCount: Int { weight.shape[0] }

  /// Creates a linear map from its weight `[out, in]` and optional bias `[out]`.
  ///
  /// - Parameters:
  ///   - weight: the weight, `[out, in]` (PyTorch's `nn.Linear.weight`).
  ///   - bias: the bias, `[out]`, or `nil`.
  /// - Throws: `AttentionError` if the weight is not rank 2, or the bias is not `[out]`
  ///   (naming both shapes).
  public init(weight: Tensor<Scalar>, bias: Tensor<Scalar>? = nil) throws {
    guard weight.rank == 2 else {
      throw AttentionError(
        .invalidShape,
        "a linear weight must have rank 2 [out, in], got shape \(weight.shape.shapeDescription)")
    }
    if let bias, bias.shape != [weight.shape[0]] {
      throw AttentionError.mismatch(
        "a linear bias must be [out]", "bias", bias.shape, "weight [out, in]", weight.shape)
    }
    self.weight = weight
    self.bias = bias
    self.packedWeight = nil
  }

  private init(weight: Tensor<Scalar>, bias: Tensor<Scalar>?, packedWeight: [Scalar]?) {
    (self.weight, self.bias, self.packedWeight) = (weight, bias, packedWeight)
  }

  /// The same map with `Wᵀ` copied once into the panels of the engine's product, which then
  /// skips its per-call copy (2 % of `attention embed`: MiniLM's weights do not fit in L3, so each
  /// batch read them from memory twice), at the cost of a second copy of the weight's memory.
  /// Only where the product runs (Float, AVX-512); elsewhere the map itself.
  package func packingWeight() -> Linear {
    guard packedWeight == nil, WeightProduct.isPreferred(for: Scalar.self, rows: .max),
      inputFeatureCount > 0, outputFeatureCount > 0
    else { return self }
    let (outCount, inCount) = (outputFeatureCount, inputFeatureCount)
    let panelCount = (outCount + WeightProduct.panelWidth - 1) / WeightProduct.panelWidth
    let count = WeightProduct.packedCount(outCount: outCount, inCount: inCount)
    let packed = [Scalar](unsafeUninitializedCapacity: count) { buffer, initialized in
      // A last partial panel is zeroed first: its padding columns are never read but must be
      // initialised memory of the array.
      let panelSize = WeightProduct.panelWidth * inCount
      if outCount % WeightProduct.panelWidth != 0 {
        (buffer.baseAddress! + (panelCount - 1) * panelSize).initialize(
          repeating: 0, count: panelSize)
      }
      let destination = DisjointAccess(buffer.baseAddress!)
      weight.withUnsafeBufferPointer { w in
        let source = DisjointAccess(w.baseAddress!)
        ElementwiseWork.forEachChunk(count: panelCount, elementsPerItem: panelSize) { panels in
          WeightProduct.pack(
            weight: source.base, outCount: outCount, inCount: inCount, panels: panels,
            into: destination.base + panels.lowerBound * panelSize)
        }
      }
      initialized = count
    }
    return Linear(weight: weight, bias: bias, packedWeight: packed)
  }

  /// Creates a linear map with random weights and, if requested, a zero bias.
  ///
  /// - Parameters:
  ///   - inputFeatureCount: `in`, the number of input features.
  ///   - outputFeatureCount: `out`, the number of output features.
  ///   - bias: whether the map has a (zero-initialised) bias.
  ///   - initialization: how the weight `[out, in]` is drawn.
  ///   - generator: the source of randomness; the same seed gives the same weights.
  /// - Throws: `AttentionError` for negative sizes or a failing initialiser.
  public init<G: RandomNumberGenerator>(
    inputFeatureCount: Int, outputFeatureCount: Int, bias: Bool = true,
    initialization: WeightInitialization = .xavierUniform(), using generator: inout G
  ) throws {
    let weight: Tensor<Scalar> = try initialization.makeWeight(
      shape: [outputFeatureCount, inputFeatureCount], using: &generator)
    try self.init(weight: weight, bias: bias ? Tensor(zeros: [outputFeatureCount]) : nil)
  }

  /// Applies the map to every row of `input`: `y[…, o] = Σ_i x[…, i] · W[o, i] + b[o]`.
  ///
  /// - Parameter input: `[…, in]`, any rank ≥ 1; all leading dimensions are treated as rows.
  /// - Returns: `[…, out]`, the input's leading dimensions followed by `out`.
  /// - Throws: `AttentionError` if the input's last dimension is not `in` (naming both shapes).
  /// - Complexity: O(rows · in · out), one `gemm`.
  // Specialised here: callers in other modules otherwise run the generic body element by element.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func callAsFunction(_ input: Tensor<Scalar>) throws -> Tensor<Scalar> {
    guard let features = input.shape.last, features == inputFeatureCount else {
      throw AttentionError.mismatch(
        "the input's last dimension must equal the linear map's input features",
        "input", input.shape, "weight [out, in]", weight.shape)
    }
    let inCount = inputFeatureCount
    let outCount = outputFeatureCount
    let outputShape = Array(input.shape.dropLast()) + [outCount]
    _ = try Tensor<Scalar>.elementCount(of: outputShape)  // rejects an output too large to count
    let rowCount = input.shape.dropLast().reduce(1, *)
    for dimension in [rowCount, inCount, outCount] where dimension > Int(Int32.max) {
      throw AttentionError(
        .memoryLimit, "dimension \(dimension) exceeds the BLAS limit of \(Int32.max)")
    }
    let output = input.withUnsafeBufferPointer { x in
      apply(rows: x.baseAddress, rowCount: rowCount, rowStride: inCount)
    }
    return Tensor(uncheckedShape: outputShape, scalars: output)
  }

  /// The map applied to a batch `[B, N, in]`, its output split into heads: `[B, H, N, out / H]`,
  /// equal to `self(input).splittingHeads(headCount: H)` element for element.
  ///
  /// Multi-head attention's projections: where the engine's product runs (Float on AVX-512,
  /// from 16 rows) and each head's dimension is a multiple of its 32-column panels, the product
  /// writes each head's block directly, without the split's copy (1.6 % of `attention embed`);
  /// otherwise the product, then the split.
  ///
  /// - Throws: `AttentionError` as ``callAsFunction(_:)`` and
  ///   ``AttentionCore/Tensor/splittingHeads(headCount:)`` do.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  package func splittingHeads(of input: Tensor<Scalar>, headCount: Int) throws -> Tensor<Scalar> {
    let (inCount, outCount) = (inputFeatureCount, outputFeatureCount)
    guard input.rank == 3, input.shape[2] == inCount, inCount > 0, headCount > 0,
      outCount % headCount == 0, (outCount / headCount) % WeightProduct.panelWidth == 0,
      WeightProduct.isPreferred(for: Scalar.self, rows: input.shape[0] * input.shape[1]),
      input.shape[1] > 0
    else { return try self(input).splittingHeads(headCount: headCount) }
    let (batchCount, tokenCount) = (input.shape[0], input.shape[1])
    let rowCount = batchCount * tokenCount
    let scalars = [Scalar](unsafeUninitializedCapacity: rowCount * outCount) { y, initialized in
      input.withUnsafeBufferPointer { x in
        multiply(
          rows: x.baseAddress!, rowCount: rowCount, rowStride: inCount, into: y.baseAddress!,
          heads: (dimension: outCount / headCount, rowsPerSequence: tokenCount))
      }
      initialized = rowCount * outCount
    }
    return Tensor(
      uncheckedShape: [batchCount, headCount, tokenCount, outCount / headCount], scalars: scalars)
  }

  /// The map applied to `rowCount` input rows of `in` features spaced `rowStride` elements apart
  /// (`rowStride ≥ in`: the leading columns of a wider matrix), `[rowCount, out]`.
  ///
  /// For callers that hold their rows in a buffer of their own (a decoder's fused projections);
  /// dimensions are the caller's to check. `usingPanels` overrides the choice of product (`nil`:
  /// the engine's own product where ``WeightProduct/isPreferred(for:rows:)``, else OpenBLAS's),
  /// for the benchmark's check of that choice (``ProductChoiceTrials``).
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  package func apply(
    rows x: UnsafePointer<Scalar>?, rowCount: Int, rowStride: Int, usingPanels: Bool? = nil
  ) -> [Scalar] {
    let (inCount, outCount) = (inputFeatureCount, outputFeatureCount)
    precondition(rowStride >= inCount, "a row stride below the input features")
    let panels = usingPanels ?? WeightProduct.isPreferred(for: Scalar.self, rows: rowCount)
    return [Scalar](unsafeUninitializedCapacity: rowCount * outCount) { y, initialized in
      initialized = rowCount * outCount
      guard rowCount > 0, outCount > 0 else { return }
      // Float rows on AVX-512 (from WeightProduct.minimumRows): the engine's own product.
      if let x, inCount > 0, panels {
        multiply(rows: x, rowCount: rowCount, rowStride: rowStride, into: y.baseAddress!)
        return
      }
      // With a bias the output starts as the bias broadcast over rows and the product
      // accumulates onto it (beta 1); without, the product overwrites it (beta 0: BLAS never
      // reads the uninitialised memory).
      if let bias {
        bias.withUnsafeBufferPointer { b in
          for row in 0..<rowCount {
            (y.baseAddress! + row * outCount).initialize(from: b.baseAddress!, count: outCount)
          }
        }
      } else if inCount == 0 {
        y.initialize(repeating: 0)
      }
      guard inCount > 0, let x else { return }
      weight.withUnsafeBufferPointer { w in
        BLAS.gemm(
          transposeB: true, m: rowCount, n: outCount, k: inCount,
          alpha: 1, a: x, lda: rowStride, b: w.baseAddress!, ldb: inCount,
          beta: bias == nil ? 0 : 1, c: y.baseAddress!, ldc: outCount)
      }
    }
  }

  /// The engine's product (``WeightProduct``) of `rowCount` rows with this map's weight, packed
  /// once or per call, and its bias; `heads` as ``WeightProduct`` takes it.
  private func multiply(
    rows x: UnsafePointer<Scalar>, rowCount: Int, rowStride: Int,
    into y: UnsafeMutablePointer<Scalar>, heads: (dimension: Int, rowsPerSequence: Int)? = nil
  ) {
    weight.withUnsafeBufferPointer { w in
      func multiply(packed: UnsafePointer<Scalar>?, bias: UnsafePointer<Scalar>?) {
        WeightProduct.multiply(
          rows: x, rowCount: rowCount, rowStride: rowStride, weight: w.baseAddress!,
          packed: packed, outCount: outputFeatureCount, inCount: inputFeatureCount, bias: bias,
          into: y, heads: heads)
      }
      func multiply(packed: UnsafePointer<Scalar>?) {
        if let bias {
          bias.withUnsafeBufferPointer { multiply(packed: packed, bias: $0.baseAddress!) }
        } else {
          multiply(packed: packed, bias: nil)
        }
      }
      if let packedWeight {
        packedWeight.withUnsafeBufferPointer { multiply(packed: $0.baseAddress!) }
      } else {
        multiply(packed: nil)
      }
    }
  }
}
