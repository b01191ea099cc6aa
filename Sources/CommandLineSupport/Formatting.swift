#if canImport(Glibc)
  import Glibc
#endif

// Number formatting for the executables' tables and messages, without Foundation's formatters
// (whose output depends on the locale) or `String(format:)`.

/// `value` with `digits` decimals: `formatted(3.14159, digits: 2)` is `3.14`; `-0.001` with one
/// decimal is `0.0` (no sign on a zero).
package func formatted(_ value: Double, digits: Int) -> String {
  guard value.isFinite else { return "\(value)" }
  var scale = 1.0
  for _ in 0..<digits { scale *= 10 }
  let rounded = (abs(value) * scale).rounded()
  let whole = Int(rounded / scale)
  let fraction = Int(rounded - Double(whole) * scale)
  var text = "\(whole)"
  if digits > 0 {
    let digitsText = String(fraction)
    text += "." + String(repeating: "0", count: digits - digitsText.count) + digitsText
  }
  return (value < 0 && rounded != 0 ? "-" : "") + text
}

/// `value` in scientific notation with two significant decimals, e.g. `3.1e-07`.
package func scientific(_ value: Double) -> String {
  guard value.isFinite else { return "\(value)" }
  guard value != 0 else { return "0" }
  var exponent = Int(log10(abs(value)).rounded(.down))
  var mantissa = value / pow(10, Double(exponent))
  if abs(mantissa) >= 9.95 {
    mantissa /= 10
    exponent += 1
  }
  let sign = exponent < 0 ? "-" : "+"
  let digits = abs(exponent) < 10 ? "0\(abs(exponent))" : "\(abs(exponent))"
  return formatted(mantissa, digits: 1) + "e" + sign + digits
}

/// Bytes as MiB with one decimal, without the unit (for a column headed "MiB").
package func mebibytes(_ bytes: Int) -> String {
  formatted(Double(bytes) / 1_048_576, digits: 1)
}

/// A rate or percentage with digits that suit its size: `412`, `41.2`, `4.1`, `0.041`.
package func rate(_ value: Double) -> String {
  if value >= 100 { return formatted(value, digits: 0) }
  if value >= 1 { return formatted(value, digits: 1) }
  return value == 0 ? "0" : formatted(value, digits: 3)
}

/// `text` followed by spaces up to `width` characters (a left-aligned column); unchanged when it
/// is as long already.
package func paddedRight(_ text: String, to width: Int) -> String {
  text + String(repeating: " ", count: max(0, width - text.count))
}

/// `text` after spaces up to `width` characters (a right-aligned column); unchanged when it is
/// as long already.
package func paddedLeft(_ text: String, to width: Int) -> String {
  String(repeating: " ", count: max(0, width - text.count)) + text
}
