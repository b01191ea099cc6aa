#if canImport(Glibc)
  import Glibc
#endif

/// A small, fast, seedable random number generator (SplitMix64, Steele, Lea & Flood 2014).
///
/// Used wherever the library needs reproducible randomness: weight initialisers, tests and
/// benchmarks. The same seed gives the same sequence on every platform.
public struct SplitMix64: RandomNumberGenerator, Sendable {
  @usableFromInline var state: UInt64

  /// Creates a generator whose sequence is determined by `seed`.
  public init(seed: UInt64) { state = seed }

  @inlinable
  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A standard normal sample (Box–Muller), computed in `Double`.
  public mutating func nextGaussian() -> Double {
    // 1 - u keeps the logarithm's argument in (0, 1].
    let u1 = 1 - Double.random(in: 0..<1, using: &self)
    let u2 = Double.random(in: 0..<1, using: &self)
    return (-2 * Glibc.log(u1)).squareRoot() * Glibc.cos(2 * Double.pi * u2)
  }
}
