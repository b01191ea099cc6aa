import Foundation
import Testing
import TextGeneration

/// The tokenizers trained by `Tests/Fixtures/TextGeneration/make_tokenizers.py` and what the
/// `tokenizers` package gave for each test string (see the script's header).
enum TokenizerFixtures {
  /// `Tests/Fixtures/TextGeneration`.
  static let folder = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent()
    .appending(path: "Fixtures").appending(path: "TextGeneration")

  /// Every style the script trains, one model folder each.
  static let styles = [
    "gpt2", "gpt2-prefix-space", "llama3", "qwen2", "mistral", "llama2-metaspace",
    "sentencepiece-unk", "gemma2",
  ]

  /// The GPT-2 vocabulary under the split behaviors, inversion, Metaspace splitting and
  /// normalizers no family uses (folders under `variants/`).
  static let variants = [
    "split-removed", "split-merged-with-previous", "split-merged-with-next", "split-contiguous",
    "split-inverted", "metaspace-split", "metaspace-legacy-field", "bytelevel-without-regex",
    "nfkc-regex-replace", "nfd", "unk-not-fused", "subword-affixes",
  ].map { "variants/" + $0 }

  /// One test string and tokenizers' results for it.
  struct Case: Decodable {
    var text: String
    var ids: [Int]
    var tokens: [String]
    var idsWithoutSpecialTokens: [Int]
    var decoded: String
    var decodedSkippingSpecialTokens: String
    /// `decode(ids[..<k])` without special tokens for k = 1…n, for non-ASCII texts.
    var prefixDecodings: [String]?
  }

  /// An id sequence no encoding gives, and its decodings.
  struct Decoding: Decodable {
    var ids: [Int]
    var decoded: String
    var decodedSkippingSpecialTokens: String
  }

  /// A style's `expected.json`.
  struct Expected: Decodable {
    var tokenizers: String
    var style: String
    var cases: [Case]
    var decodings: [Decoding]
  }

  /// A style's folder; `style` may be `variants/<name>`.
  static func modelFolder(_ style: String) -> URL {
    folder.appending(path: style)
  }

  static func tokenizer(_ style: String) throws -> BPETokenizer {
    try BPETokenizer(contentsOf: modelFolder(style))
  }

  static func expected(_ style: String) throws -> Expected {
    let data = try Data(contentsOf: modelFolder(style).appending(path: "expected.json"))
    return try JSONDecoder().decode(Expected.self, from: data)
  }
}

/// Scalar-by-scalar equality: `String`'s `==` is canonical equivalence, which would call
/// `"cafe\u{301}"` and `"café"` equal when a normalizer's output is what is being checked.
func sameScalars(_ a: String, _ b: String) -> Bool {
  a.unicodeScalars.elementsEqual(b.unicodeScalars)
}

/// A string with its invisible characters spelled out, for failure messages.
func visible(_ text: String) -> String {
  text.unicodeScalars.map { scalar in
    scalar.isASCII && scalar.value >= 0x20 && scalar.value < 0x7F
      ? String(scalar) : "\\u{\(String(scalar.value, radix: 16))}"
  }.joined()
}

/// Where two strings first differ, scalar by scalar, with a little context, for failure
/// messages about long decodings.
func firstDifference(_ a: String, _ b: String) -> String {
  let left = Array(a.unicodeScalars)
  let right = Array(b.unicodeScalars)
  let index =
    zip(left, right).enumerated().first { $0.element.0 != $0.element.1 }?.offset
    ?? min(left.count, right.count)
  func excerpt(_ scalars: [Unicode.Scalar]) -> String {
    var view = String.UnicodeScalarView()
    view.append(contentsOf: scalars[max(0, index - 10)..<min(scalars.count, index + 20)])
    return visible(String(view))
  }
  return
    "scalar \(index) of \(left.count)/\(right.count): \"\(excerpt(left))\" vs \"\(excerpt(right))\""
}
