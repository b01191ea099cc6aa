/// GPT-2's reversible map from the 256 byte values to 256 printable characters, which lets a
/// byte-level BPE vocabulary be written as text: printable Latin-1 bytes stand for themselves,
/// the others (controls, space, …) move to U+0100 and up, so the space byte is `Ġ` (U+0120).
enum ByteLevelAlphabet {
  /// The character of each byte, indexed by the byte.
  static let scalars: [Unicode.Scalar] = {
    var printable = Array(UInt32(0x21)...0x7E) + Array(UInt32(0xA1)...0xAC)
    printable += Array(UInt32(0xAE)...0xFF)
    var scalars = [Unicode.Scalar](repeating: " ", count: 256)
    var next: UInt32 = 256
    for byte in 0..<256 {
      if printable.contains(UInt32(byte)) {
        scalars[byte] = Unicode.Scalar(UInt32(byte))!
      } else {
        scalars[byte] = Unicode.Scalar(next)!
        next += 1
      }
    }
    return scalars
  }()

  /// The UTF-8 encoding of each byte's character, indexed by the byte.
  static let utf8: [[UInt8]] = scalars.map { Array(String($0).utf8) }

  /// The byte a character stands for, keyed by the character's scalar value.
  static let bytes: [UInt32: UInt8] = {
    var bytes: [UInt32: UInt8] = [:]
    for (byte, scalar) in scalars.enumerated() { bytes[scalar.value] = UInt8(byte) }
    return bytes
  }()

  /// `text`'s UTF-8 bytes spelled in the alphabet, as UTF-8.
  static func encode(_ text: Substring.UTF8View) -> [UInt8] {
    var output: [UInt8] = []
    output.reserveCapacity(text.count * 2)
    for byte in text { output.append(contentsOf: utf8[Int(byte)]) }
    return output
  }
}
