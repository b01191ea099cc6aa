#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Rotary position embedding (RoPE, Su et al. 2021): rotates pairs of query and key features by
/// angles proportional to the token's position, so that `q·k` depends on the distance between
/// the two positions only.
///
/// For pair `i` of the first `R` features (the rotary dimension) and position `p`:
///
/// ```
/// θ_i = 1 / base^(2i / R)          (inverse frequencies, then scaled, see Scaling)
/// a   = p · θ_i
/// (x, y) ← (x·cos a − y·sin a, y·cos a + x·sin a) · attentionFactor
/// ```
///
/// Pairs are `(i, i + R/2)` in the ``Layout/halfSplit`` layout (Hugging Face Llama, NeoX:
/// `rotate_half`) or `(2i, 2i + 1)` in the ``Layout/interleaved`` layout (GPT-J, Meta's original
/// Llama). Features from `R` on pass through unchanged (partial rotary). The angles are formed as
/// transformers forms them — inverse frequencies rounded to `Float`, `p · θ_i` multiplied in
/// `Float` — so a checkpoint sees the rotations it was trained with; `cos` and `sin` are then
/// evaluated in `Double`.
public struct RotaryPositionEmbedding: Sendable, Equatable {
  /// Which features form a rotated pair.
  public enum Layout: String, Sendable, CaseIterable {
    /// Feature `i` with feature `i + R/2` (`rotate_half`; Hugging Face Llama, Qwen2, Mistral,
    /// Gemma, GPT-NeoX).
    case halfSplit
    /// Feature `2i` with feature `2i + 1` (GPT-J, Meta's original Llama weights).
    case interleaved
  }

  /// How the inverse frequencies are rescaled for contexts longer than training, as
  /// transformers' `rope_type` does.
  public enum Scaling: Sendable, Equatable {
    /// Plain RoPE (`default`).
    case none
    /// Positions divided by `factor` (`linear`, position interpolation).
    case linear(factor: Double)
    /// NTK-aware scaling whose base grows with the sequence once it passes
    /// `maximumPositionCount` (`dynamic`); the sequence length is an argument of
    /// ``RotaryPositionEmbedding/apply(to:startingAt:sequenceLength:)``.
    case dynamic(factor: Double, maximumPositionCount: Int)
    /// Llama 3.1's smooth interpolation between scaled low and unscaled high frequencies
    /// (`llama3`).
    case llama3(
      factor: Double, lowFrequencyFactor: Double, highFrequencyFactor: Double,
      originalMaximumPositionCount: Int)
    /// YaRN (`yarn`): a ramp between interpolated and extrapolated frequencies and a factor on
    /// `cos`/`sin` (`attentionFactor`, by default `0.1·ln(factor) + 1`, or the ratio of the
    /// `mscale`/`mscaleAllDimensions` forms when both are given).
    case yarn(
      factor: Double, originalMaximumPositionCount: Int, betaFast: Double = 32,
      betaSlow: Double = 1, attentionFactor: Double? = nil, mscale: Double? = nil,
      mscaleAllDimensions: Double? = nil, truncate: Bool = true)
  }

  /// `D`, the features per head.
  public let headDimension: Int
  /// `R ≤ D`, the features rotated (even).
  public let rotaryDimension: Int
  /// `base` (transformers' `rope_theta`).
  public let base: Double
  public let layout: Layout
  public let scaling: Scaling

  /// A rotary embedding.
  ///
  /// - Parameters:
  ///   - headDimension: `D`, the features per head.
  ///   - rotaryDimension: `R`, how many of them rotate (even, at most `D`); `nil` for all.
  ///   - base: the frequency base θ (10,000 in the paper; 500,000 in Llama 3).
  ///   - layout: which features pair up.
  ///   - scaling: the context-extension scaling.
  /// - Throws: `AttentionError` for a non-positive or odd rotary dimension, one above `D`, a
  ///   base or factor that is not finite and positive.
  public init(
    headDimension: Int, rotaryDimension: Int? = nil, base: Double = 10_000,
    layout: Layout = .halfSplit, scaling: Scaling = .none
  ) throws {
    let rotary = rotaryDimension ?? headDimension
    guard headDimension > 0, rotary > 0, rotary % 2 == 0, rotary <= headDimension else {
      throw AttentionError(
        .invalidArgument,
        "the rotary dimension must be even and in 2…\(headDimension) (the head dimension), got \(rotary)"
      )
    }
    guard base.isFinite, base > 1 else {
      throw AttentionError(
        .invalidArgument, "the RoPE base must be finite and above 1, got \(base)")
    }
    let factors: [Double]
    switch scaling {
    case .none: factors = []
    case .linear(let factor), .dynamic(let factor, _): factors = [factor]
    case .llama3(let factor, let low, let high, _): factors = [factor, low, high]
    case .yarn(let factor, _, let fast, let slow, _, _, _, _): factors = [factor, fast, slow]
    }
    if let bad = factors.first(where: { !($0.isFinite && $0 > 0) }) {
      throw AttentionError(
        .invalidArgument, "RoPE scaling factors must be finite and positive, got \(bad)")
    }
    if case .llama3(_, let low, let high, _) = scaling, !(high > low) {
      throw AttentionError(
        .invalidArgument,
        "llama3 RoPE scaling needs highFrequencyFactor > lowFrequencyFactor, got \(high) and \(low)"
      )
    }
    self.headDimension = headDimension
    self.rotaryDimension = rotary
    self.base = base
    self.layout = layout
    self.scaling = scaling
  }

  /// The factor `cos` and `sin` are multiplied by: YaRN's attention factor, else 1.
  public var attentionFactor: Double {
    guard case .yarn(let factor, _, _, _, let given, let mscale, let allDimensions, _) = scaling
    else { return 1 }
    if let given { return given }
    func scale(_ factor: Double, _ m: Double) -> Double {
      factor <= 1 ? 1 : 0.1 * m * log(factor) + 1
    }
    if let mscale, let allDimensions, mscale != 0, allDimensions != 0 {
      return scale(factor, mscale) / scale(factor, allDimensions)
    }
    return scale(factor, 1)
  }

  /// The `R/2` inverse frequencies, scaled, as `Float` (as transformers stores them).
  ///
  /// - Parameter sequenceLength: the length the dynamic scaling sees (ignored by the others).
  public func inverseFrequencies(sequenceLength: Int = 0) -> [Float] {
    let r = Double(rotaryDimension)
    let half = rotaryDimension / 2
    // `base^(2i/R)` as transformers computes it: the exponent and the power in float32 (the
    // positions reach 10⁴ and more, so one ulp of a frequency is a visible angle).
    func power(_ base: Double, _ i: Int) -> Float {
      powf(Float(base), Float(2 * i) / Float(rotaryDimension))
    }
    func plain(_ base: Double) -> [Double] { (0..<half).map { Double(1 / power(base, $0)) } }
    switch scaling {
    case .none:
      return plain(base).map { Float($0) }
    case .linear(let factor):
      return plain(base).map { Float($0) / Float(factor) }
    case .dynamic(let factor, let maximum):
      let length = Double(Swift.max(sequenceLength, maximum))
      let grown =
        base * pow((factor * length / Double(maximum)) - (factor - 1), r / (r - 2))
      return plain(grown).map { Float($0) }
    case .llama3(let factor, let low, let high, let original):
      let context = Double(original)
      let lowWavelength = context / low
      let highWavelength = context / high
      return plain(base).map { frequency in
        let wavelength = 2 * Double.pi / frequency
        if wavelength < highWavelength { return Float(frequency) }
        if wavelength > lowWavelength { return Float(frequency / factor) }
        let smooth = (context / wavelength - low) / (high - low)
        return Float((1 - smooth) * frequency / factor + smooth * frequency)
      }
    case .yarn(let factor, let original, let fast, let slow, _, _, _, let truncate):
      func correctionDimension(_ rotations: Double) -> Double {
        (r * log(Double(original) / (rotations * 2 * Double.pi)))
          / (2 * log(base))
      }
      var low = correctionDimension(fast)
      var high = correctionDimension(slow)
      if truncate {
        low = low.rounded(.down)
        high = high.rounded(.up)
      }
      low = Swift.max(low, 0)
      high = Swift.min(high, r - 1)
      if low == high { high += 0.001 }  // as transformers: no division by zero
      // In float32 throughout, operation for operation, as transformers blends them.
      let (lowBound, span) = (Float(low), Float(high - low))
      return (0..<half).map { i in
        let positionFrequency = power(base, i)
        let extrapolation: Float = 1 / positionFrequency
        let interpolation: Float = 1 / (Float(factor) * positionFrequency)
        let ramp = Swift.min(Swift.max((Float(i) - lowBound) / span, 0), 1)
        let extrapolationWeight: Float = 1 - ramp
        let interpolated: Float = interpolation * (1 - extrapolationWeight)
        return interpolated + extrapolation * extrapolationWeight
      }
    }
  }

  /// Rotates every row of `tensor` (`[…, N, D]`): row `n` is at position `start + n`.
  ///
  /// - Parameters:
  ///   - tensor: queries or keys, last dimension `D`, e.g. `[B, H, N, D]`; rotated in place.
  ///   - start: the position of row 0 (the tokens already in a key/value cache when decoding).
  ///   - sequenceLength: the length the dynamic scaling sees; `nil` for `start + N`.
  /// - Throws: `AttentionError` when the last dimension is not `D`, the rank is below 2, or a
  ///   position is negative.
  /// - Complexity: O(count) time; O(N·R) for the angles.
  public func apply<Scalar: AttentionScalar>(
    to tensor: inout Tensor<Scalar>, startingAt start: Int = 0, sequenceLength: Int? = nil
  ) throws {
    guard tensor.rank >= 2, tensor.shape[tensor.rank - 1] == headDimension else {
      throw AttentionError(
        .shapeMismatch,
        "RoPE needs a tensor [..., N, D] with D = \(headDimension), got shape \(tensor.shape.shapeDescription)"
      )
    }
    guard start >= 0 else {
      throw AttentionError(.invalidArgument, "RoPE positions must be ≥ 0, got start \(start)")
    }
    let rows = tensor.shape[tensor.rank - 2]
    try apply(
      to: &tensor, positions: Array(start..<(start + rows)),
      sequenceLength: sequenceLength ?? start + rows)
  }

  /// Rotates every row of `tensor` (`[…, N, D]`): row `n` is at position `positions[n]` (packed
  /// sequences restart their positions at each sequence).
  ///
  /// - Throws: `AttentionError` when the shape does not fit, `positions` does not have `N`
  ///   entries, or one is negative.
  public func apply<Scalar: AttentionScalar>(
    to tensor: inout Tensor<Scalar>, positions: [Int], sequenceLength: Int? = nil
  ) throws {
    try apply(angles(positions: positions, sequenceLength: sequenceLength), to: &tensor)
  }

  /// The rotations of a run of positions, worked out once and applied to any number of tensors
  /// (a decoder's queries and keys in every layer) with ``apply(_:to:)``.
  ///
  /// - Parameters:
  ///   - positions: the position of each row the rotations will be applied to.
  ///   - sequenceLength: the length the dynamic scaling sees; `nil` for the largest position + 1.
  /// - Throws: `AttentionError` when a position is negative.
  /// - Complexity: O(N·R) `cos` and `sin` evaluations for `N` positions.
  public func angles(positions: [Int], sequenceLength: Int? = nil) throws -> Angles {
    if let bad = positions.first(where: { $0 < 0 }) {
      throw AttentionError(.invalidArgument, "RoPE positions must be ≥ 0, got \(bad)")
    }
    let frequencies = inverseFrequencies(
      sequenceLength: sequenceLength ?? (positions.max() ?? 0) + 1)
    let half = rotaryDimension / 2
    let factor = attentionFactor
    // cos and sin per (row, pair), rounded to Float as transformers' tables are.
    var cosines = [Float](repeating: 0, count: positions.count * half)
    var sines = [Float](repeating: 0, count: positions.count * half)
    for (n, position) in positions.enumerated() {
      for i in 0..<half {
        let angle = Double(Float(position) * frequencies[i])
        cosines[n * half + i] = Float(cos(angle) * factor)
        sines[n * half + i] = Float(sin(angle) * factor)
      }
    }
    return Angles(
      embedding: self, positions: positions, cosines: cosines, sines: sines)
  }

  /// Rotates every row of `tensor` (`[…, N, D]`) by the angles of `angles`' `N` positions.
  ///
  /// - Throws: `AttentionError` when `angles` was made by a different embedding, or the shape
  ///   does not fit (not `[…, N, D]` with this embedding's `D` and the angles' `N`).
  /// - Complexity: O(count).
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func apply<Scalar: AttentionScalar>(_ angles: Angles, to tensor: inout Tensor<Scalar>)
    throws
  {
    guard angles.embedding == self else {
      throw AttentionError(
        .invalidArgument, "these RoPE angles were made by a different rotary embedding")
    }
    let rows = angles.positions.count
    guard tensor.rank >= 2, tensor.shape[tensor.rank - 1] == headDimension,
      tensor.shape[tensor.rank - 2] == rows
    else {
      throw AttentionError(
        .shapeMismatch,
        "RoPE needs a tensor [..., N, D] with D = \(headDimension) and N = \(rows) positions, got shape \(tensor.shape.shapeDescription)"
      )
    }
    let (half, d) = (rotaryDimension / 2, headDimension)
    // Pair i is (i, i + R/2) or (2i, 2i + 1): a stride between a pair's members and between pairs.
    let (partner, step) = layout == .halfSplit ? (half, 1) : (1, 2)
    angles.cosines.withUnsafeBufferPointer { cosines in
      angles.sines.withUnsafeBufferPointer { sines in
        tensor.withUnsafeMutableBufferPointer { buffer in
          guard let base = buffer.baseAddress, rows > 0 else { return }
          for block in 0..<(buffer.count / (rows * d)) {
            for n in 0..<rows {
              let row = base + (block * rows + n) * d
              let (c, s) = (cosines.baseAddress! + n * half, sines.baseAddress! + n * half)
              for i in 0..<half {
                let (cosine, sine) = (Scalar(c[i]), Scalar(s[i]))
                let (x, y) = (row[i * step], row[i * step + partner])
                row[i * step] = x * cosine - y * sine
                row[i * step + partner] = y * cosine + x * sine
              }
              // Features from R on pass through unchanged; YaRN's factor scales only the rotated.
            }
          }
        }
      }
    }
  }

  /// The cosines and sines of the rotations of a run of positions (``angles(positions:sequenceLength:)``),
  /// for applying one set of positions to several tensors without recomputing them.
  public struct Angles: Sendable {
    /// The embedding whose frequencies these are.
    let embedding: RotaryPositionEmbedding
    /// The position of each row.
    public let positions: [Int]
    /// `cos(p·θ_i)·factor` and `sin(p·θ_i)·factor` per (row, pair), rounded to `Float`.
    let cosines: [Float]
    let sines: [Float]
  }
}
