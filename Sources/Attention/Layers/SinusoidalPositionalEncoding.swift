#if canImport(Glibc)
  import Glibc
#endif

/// The fixed sinusoidal positional encoding of "Attention Is All You Need" (Vaswani et al. 2017).
///
/// ```
/// PE(pos, 2i)     = sin(pos / base^(2i/d))
/// PE(pos, 2i + 1) = cos(pos / base^(2i/d))        base = 10000
/// ```
///
/// Each pair of columns is a rotation at its own frequency, from one radian per position down to
/// one turn every `2π·base` positions, so `PE(pos + k)` is a linear function of `PE(pos)` for
/// every offset `k`. Position 0 is `[0, 1, 0, 1, …]`. When `d` is odd the last column is a sine
/// without its cosine partner. Values are computed in `Double` and then rounded to `Scalar`, so
/// `Float` encodings of large positions are as accurate as `Float` allows.
public struct SinusoidalPositionalEncoding<Scalar: AttentionScalar>: PositionalEncoding {
  /// `d`, the number of features.
  public let dimension: Int
  /// The wavelength base, 10000 in the paper.
  public let base: Double

  /// Creates the encoding for `dimension` features.
  ///
  /// - Parameters:
  ///   - dimension: `d`, > 0 (odd values allowed).
  ///   - base: the wavelength base, finite and > 0; 10000 as in the paper.
  /// - Throws: `AttentionError` (`invalidArgument`) for a non-positive dimension or a bad base.
  public init(dimension: Int, base: Double = 10000) throws {
    guard dimension > 0 else {
      throw AttentionError(
        .invalidArgument, "the encoding dimension must be positive, got \(dimension)")
    }
    guard base.isFinite, base > 0 else {
      throw AttentionError(
        .invalidArgument, "the wavelength base must be finite and > 0, got \(base)")
    }
    self.dimension = dimension
    self.base = base
  }

  /// The encodings of the given positions, `[positions.count, d]`.
  ///
  /// - Parameter positions: positions ≥ 0, any order.
  /// - Throws: `AttentionError` (`invalidArgument`) naming a negative position.
  /// - Complexity: O(positions.count · d) sines and cosines.
  public func encodings(at positions: [Int]) throws -> Tensor<Scalar> {
    if let bad = positions.first(where: { $0 < 0 }) {
      throw AttentionError(.invalidArgument, "positions must be ≥ 0, got \(bad)")
    }
    // One wavelength divisor per column pair, shared by every position.
    let divisors = (0..<(dimension + 1) / 2).map { pair in
      pow(base, Double(2 * pair) / Double(dimension))
    }
    var scalars = [Scalar]()
    scalars.reserveCapacity(positions.count * dimension)
    for position in positions {
      for column in 0..<dimension {
        let angle = Double(position) / divisors[column / 2]
        scalars.append(Scalar(column % 2 == 0 ? sin(angle) : cos(angle)))
      }
    }
    return Tensor(uncheckedShape: [positions.count, dimension], scalars: scalars)
  }
}
