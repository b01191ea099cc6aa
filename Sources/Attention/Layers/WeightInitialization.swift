/// How a random weight tensor is drawn, with the definitions PyTorch's `torch.nn.init` uses.
///
/// Fans follow PyTorch for a weight of shape `[out, in, k₁, k₂, …]`: with the receptive field
/// `r = k₁·k₂·…` (1 for a matrix), `fanIn = in·r` and `fanOut = out·r`.
///
/// ```swift
/// var generator = SplitMix64(seed: 7)
/// let w: Tensor<Float> = try WeightInitialization.orthogonal().makeWeight(
///   shape: [64, 64], using: &generator)
/// ```
public enum WeightInitialization: Sendable, Equatable {
  /// Glorot & Bengio (2010): uniform in `[-a, a]` with `a = gain · √(6 / (fanIn + fanOut))`
  /// (`torch.nn.init.xavier_uniform_`).
  case xavierUniform(gain: Double = 1)
  /// He et al. (2015): uniform in `[-a, a]` with `a = gain · √(3 / fanIn)` and
  /// `gain = √(2 / (1 + negativeSlope²))` (`torch.nn.init.kaiming_uniform_` with the
  /// `leaky_relu` nonlinearity). `negativeSlope: 5.squareRoot()` gives `a = 1/√fanIn`, PyTorch's
  /// default for `nn.Linear` weights.
  case kaimingUniform(negativeSlope: Double = 0)
  /// Saxe et al. (2014): a (semi-)orthogonal matrix times `gain`, drawn as PyTorch's
  /// `torch.nn.init.orthogonal_` does (see ``makeWeight(shape:as:using:)``).
  case orthogonal(gain: Double = 1)

  /// Draws a weight tensor.
  ///
  /// For ``orthogonal(gain:)`` the tensor is viewed as a matrix `rows × columns` with
  /// `rows = shape[0]` and `columns` the product of the other dimensions. A standard Gaussian
  /// matrix is factored `A = Q·R` (LAPACK `?geqrf`/`?orgqr`) and each column of `Q` multiplied by
  /// the sign of `R`'s diagonal entry, which makes the distribution uniform over orthogonal
  /// matrices (Mezzadri 2007). When `rows < columns` the Gaussian matrix is drawn transposed and
  /// the result transposed back, so the rows are orthonormal (`W·Wᵀ = gain²·I`); otherwise the
  /// columns are (`Wᵀ·W = gain²·I`).
  ///
  /// - Parameters:
  ///   - shape: the weight's shape, rank ≥ 2 (`[out, in]` for a linear map).
  ///   - scalar: the element type, usually inferred.
  ///   - generator: the source of randomness; the same seed gives the same weights.
  /// - Returns: a tensor of the given shape.
  /// - Throws: `AttentionError` for a rank below 2 or a negative dimension
  ///   (`invalidShape`), a non-finite gain or slope (`invalidArgument`), or a LAPACK failure
  ///   (`numericalFailure`).
  /// - Complexity: O(n) for the uniform cases; O(rows · columns · min(rows, columns)) for
  ///   ``orthogonal(gain:)``.
  public func makeWeight<Scalar: AttentionScalar, G: RandomNumberGenerator>(
    shape: [Int], as scalar: Scalar.Type = Scalar.self, using generator: inout G
  ) throws -> Tensor<Scalar> {
    guard shape.count >= 2 else {
      throw AttentionError(
        .invalidShape,
        "weight initialisation needs a shape of rank 2 or more (fan in and fan out), got \(shape.shapeDescription)"
      )
    }
    let count = try Tensor<Scalar>.elementCount(of: shape)
    let receptiveField = shape.dropFirst(2).reduce(1, *)
    let fanIn = shape[1] * receptiveField
    let fanOut = shape[0] * receptiveField
    switch self {
    case .xavierUniform(let gain):
      try Self.requireFinite(gain, "gain")
      let bound = gain * (6 / Double(Swift.max(fanIn + fanOut, 1))).squareRoot()
      return try Self.uniform(shape: shape, count: count, bound: bound, using: &generator)
    case .kaimingUniform(let negativeSlope):
      try Self.requireFinite(negativeSlope, "negative slope")
      let gain = (2 / (1 + negativeSlope * negativeSlope)).squareRoot()
      let bound = gain * (3 / Double(Swift.max(fanIn, 1))).squareRoot()
      return try Self.uniform(shape: shape, count: count, bound: bound, using: &generator)
    case .orthogonal(let gain):
      try Self.requireFinite(gain, "gain")
      guard count > 0 else { return try Tensor(zeros: shape) }
      return try Self.orthogonal(shape: shape, gain: gain, using: &generator)
    }
  }

  private static func requireFinite(_ value: Double, _ name: String) throws {
    guard value.isFinite else {
      throw AttentionError(
        .invalidArgument, "the initialiser's \(name) must be finite, got \(value)")
    }
  }

  /// Independent samples uniform in `[-bound, bound]`.
  private static func uniform<Scalar: AttentionScalar, G: RandomNumberGenerator>(
    shape: [Int], count: Int, bound: Double, using generator: inout G
  ) throws -> Tensor<Scalar> {
    let limit = Scalar(abs(bound))
    var scalars = [Scalar]()
    scalars.reserveCapacity(count)
    for _ in 0..<count { scalars.append(Scalar.random(in: -limit...limit, using: &generator)) }
    return Tensor(uncheckedShape: shape, scalars: scalars)
  }

  /// PyTorch's `orthogonal_`: QR of a Gaussian matrix (tall orientation), signs fixed by `R`.
  private static func orthogonal<Scalar: AttentionScalar, G: RandomNumberGenerator>(
    shape: [Int], gain: Double, using generator: inout G
  ) throws -> Tensor<Scalar> {
    let rows = shape[0]
    let columns = shape.dropFirst().reduce(1, *)
    // Factor the tall orientation so that Q has as many orthonormal columns as the short side.
    let wide = rows < columns
    let (m, n) = wide ? (columns, rows) : (rows, columns)
    let gaussian = try Tensor<Scalar>.randomNormal(shape: [m, n], using: &generator)
    let (q, r) = try LAPACK.qrDecomposition(gaussian.scalars, rows: m, columns: n)
    // q is m × n (n ≤ m); r is n × n.
    let scale = Scalar(gain)
    var signs = [Scalar](repeating: 1, count: n)
    for j in 0..<n where r[j * n + j] < 0 { signs[j] = -1 }
    var scalars = [Scalar](repeating: 0, count: rows * columns)
    for i in 0..<m {
      for j in 0..<n {
        let value = q[i * n + j] * signs[j] * scale
        if wide { scalars[j * m + i] = value } else { scalars[i * n + j] = value }
      }
    }
    return Tensor(uncheckedShape: shape, scalars: scalars)
  }
}
