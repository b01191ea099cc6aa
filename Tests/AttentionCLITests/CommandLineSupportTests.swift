import CommandLineSupport
import Testing

/// The formatting the two executables share: numbers without the locale, padded columns, XML
/// escaping for their SVG files.
@Suite("Command-line support: number formatting, padding, XML escaping")
struct CommandLineSupportTests {
  @Test("fixed decimals round half away from zero, without a sign on zero")
  func fixedDecimals() {
    #expect(formatted(3.14159, digits: 2) == "3.14")
    #expect(formatted(0.07, digits: 2) == "0.07")
    #expect(formatted(1, digits: 2) == "1.00")
    #expect(formatted(-2.25, digits: 1) == "-2.3")
    #expect(formatted(-0.0001, digits: 3) == "0.000")
    #expect(formatted(1234.5, digits: 0) == "1235")
    #expect(formatted(.infinity, digits: 1) == "inf")
  }

  @Test("scientific notation, rates and MiB")
  func otherNumbers() {
    #expect(scientific(3.14e-7) == "3.1e-07")
    #expect(scientific(9.96e3) == "1.0e+04")
    #expect(scientific(0) == "0")
    #expect(rate(412.4) == "412")
    #expect(rate(41.24) == "41.2")
    #expect(rate(0.04123) == "0.041")
    #expect(mebibytes(3 << 19) == "1.5")
  }

  @Test("columns pad to their width and leave longer text as it is")
  func padding() {
    #expect(paddedLeft("ab", to: 5) == "   ab")
    #expect(paddedRight("ab", to: 5) == "ab   ")
    #expect(paddedLeft("abcdef", to: 5) == "abcdef")
    #expect(paddedRight("abcdef", to: 5) == "abcdef")
  }

  @Test("the five XML special characters become entities; other text is unchanged")
  func escaping() {
    #expect(xmlEscaped(#"a < b & "c" > 'd'"#) == "a &lt; b &amp; &quot;c&quot; &gt; &apos;d&apos;")
    #expect(xmlEscaped("Head 1 of 2 → é") == "Head 1 of 2 → é")
  }
}
