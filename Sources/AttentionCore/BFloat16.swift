/// A bfloat16 ("brain floating point") number: the upper 16 bits of a `Float`.
///
/// bfloat16 keeps `Float`'s sign and 8-bit exponent (so its range, its infinities and NaNs) and
/// 7 of its 23 fraction bits. Swift has no such type; this one exists to hold the `BF16` tensors
/// of model checkpoints as the file stores them, two bytes each, until they are converted to
/// `Float` or `Double` for computation (see ``Tensor``'s `converted(to:)`):
///
/// ```swift
/// let weights = try SafetensorsFile.read(from: "model.safetensors")
/// let w = try weights.floatingPoint(named: "q_proj.weight", as: Float.self)  // BF16 → Float
/// ```
///
/// Holding the raw bits rather than converting on read keeps a loaded checkpoint at its size on
/// disk, and a model converts one tensor at a time straight from those bits, so a full `Float`
/// copy of every weight never coexists with a second one.
///
/// Equality compares values as IEEE 754 does: `-0 == +0`, and a NaN equals nothing.
public struct BFloat16: TensorElement, CustomStringConvertible {
  /// The 16 bits: sign, 8 exponent bits, 7 fraction bits.
  public var bitPattern: UInt16

  /// The number whose bits are `bitPattern`.
  ///
  /// - Complexity: O(1).
  @inlinable public init(bitPattern: UInt16) {
    self.bitPattern = bitPattern
  }

  /// The bfloat16 nearest to `value`, ties to even.
  ///
  /// Values beyond the largest finite bfloat16 (about 3.39e38) by half a unit in the last place
  /// or more round to infinity; NaN stays NaN (quiet, with its sign and the upper payload bits).
  ///
  /// - Complexity: O(1).
  @inlinable public init(_ value: Float) {
    let bits = value.bitPattern
    if value.isNaN {
      // Truncation could clear every payload bit and turn the NaN into an infinity: set the
      // quiet bit, which also keeps it a NaN.
      self.bitPattern = UInt16(truncatingIfNeeded: bits >> 16) | 0x0040
      return
    }
    // Round to nearest, ties to even, on the 16 bits dropped; a carry out of the fraction
    // increments the exponent, which is what rounding up to the next binade (or to infinity)
    // means.
    let roundingBias: UInt32 = 0x7FFF + ((bits >> 16) & 1)
    self.bitPattern = UInt16(truncatingIfNeeded: (bits &+ roundingBias) >> 16)
  }

  /// The bfloat16 nearest to `value`, ties to even, rounded once (not via `Float`).
  ///
  /// Rounding to `Float` first and then to bfloat16 would round twice and can be off by one unit
  /// (when the `Float` lands exactly halfway between two bfloat16 values). Rounding to `Float`
  /// *to odd* first, then to nearest even, gives the correctly rounded result because `Float`
  /// has more than two bits beyond bfloat16's precision.
  ///
  /// - Complexity: O(1).
  @inlinable public init(_ value: Double) {
    var single = Float(value)
    if single.isFinite && Double(single) != value {
      // Inexact: round to odd, i.e. toward zero with the last bit set.
      var bits = single.bitPattern
      if bits & 1 == 0 {
        bits = abs(Double(single)) > abs(value) ? bits - 1 : bits + 1
      }
      single = Float(bitPattern: bits)
    }
    self.init(single)
  }

  /// The value as a `Float`, exactly (every bfloat16 is a `Float`).
  ///
  /// - Complexity: O(1).
  @inlinable public var floatValue: Float {
    Float(bitPattern: UInt32(bitPattern) << 16)
  }

  /// The value as `Float` prints it.
  public var description: String { floatValue.description }

  /// Whether the two values are equal as numbers (IEEE 754 comparison, as `Float`'s `==`).
  @inlinable public static func == (lhs: BFloat16, rhs: BFloat16) -> Bool {
    lhs.floatValue == rhs.floatValue
  }
}
