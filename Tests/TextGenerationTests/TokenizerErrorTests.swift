import Foundation
import Testing
import TextGeneration

/// Every missing, malformed or unsupported file gives a specific ``TextGenerationError`` that
/// names the file, the component and the offending value.
struct TokenizerErrorTests {
  /// A small valid tokenizer.json, with parts replaced by the caller's JSON text.
  static func document(
    addedTokens: String = "[]",
    normalizer: String = "null",
    preTokenizer: String = "null",
    postProcessor: String = "null",
    decoder: String = "null",
    model: String? = nil,
    extra: String = #""truncation": null, "padding": null"#
  ) -> String {
    let bpe =
      model ?? """
        {"type": "BPE", "dropout": null, "unk_token": null, "fuse_unk": false,
         "byte_fallback": false, "vocab": {"a": 0, "b": 1, "ab": 2, "<s>": 3}, "merges": ["a b"]}
        """
    return """
      {"version": "1.0", \(extra), "added_tokens": \(addedTokens),
       "normalizer": \(normalizer), "pre_tokenizer": \(preTokenizer),
       "post_processor": \(postProcessor), "decoder": \(decoder), "model": \(bpe)}
      """
  }

  /// Writes `contents` to a fresh temporary `tokenizer.json` and returns its URL.
  static func write(_ contents: String, name: String = "tokenizer.json") throws -> URL {
    try write(Data(contents.utf8), name: name)
  }

  static func write(_ data: Data, name: String = "tokenizer.json") throws -> URL {
    let folder = FileManager.default.temporaryDirectory
      .appending(path: "TextGenerationTests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let file = folder.appending(path: name)
    try data.write(to: file)
    return file
  }

  /// Loads `contents` and returns the error it throws.
  private func error(loading contents: String) throws -> TextGenerationError {
    let file = try Self.write(contents)
    defer { try? FileManager.default.removeItem(at: file.deletingLastPathComponent()) }
    let e = try #require(throws: TextGenerationError.self) {
      try BPETokenizer(contentsOf: file)
    }
    print("MSG", e.kind, e.message)
    return e
  }

  @Test("the small valid document loads and encodes")
  func validDocument() throws {
    let file = try Self.write(Self.document())
    let tokenizer = try BPETokenizer(contentsOf: file)
    #expect(tokenizer.encode("abba") == [2, 1, 0])
    #expect(tokenizer.decode([2, 1, 0]) == "ab b a")  // no decoder: tokens joined by spaces
    #expect(tokenizer.bosTokenID == nil && tokenizer.eosTokenID == nil)
  }

  @Test("a missing file, and a folder without tokenizer.json, are missingFile errors")
  func missingFiles() throws {
    let path = "/nonexistent/folder/tokenizer.json"
    let missing = try #require(throws: TextGenerationError.self) {
      try BPETokenizer(contentsOf: URL(fileURLWithPath: path))
    }
    #expect(missing.kind == .missingFile)
    #expect(missing.file == path && missing.message.contains(path))

    let folder = try Self.write("{}", name: "config.json").deletingLastPathComponent()
    let empty = try #require(throws: TextGenerationError.self) {
      try BPETokenizer(contentsOf: folder)
    }
    #expect(empty.kind == .missingFile)
    #expect(empty.message.contains("tokenizer.json") && empty.message.contains(folder.path))
  }

  @Test(
    "malformed JSON, invalid UTF-8, a non-object and deep nesting are unreadableFile errors",
    arguments: [
      ("{\"model\": {\"type\": \"BPE\"", "unexpected end of file"),
      ("{\"model\": [1, 2,]}", "unexpected ']'"),
      ("[1, 2, 3]", "should hold a JSON object"),
      ("{\"a\": \"\\ud800\"}", "lone high surrogate"),
      (String(repeating: "[", count: 500) + String(repeating: "]", count: 500), "nesting"),
      ("{\"a\": 01}", "leading zero"),
      ("", "unexpected end of file"),
    ])
  func malformedJSON(contents: String, reason: String) throws {
    let error = try error(loading: contents)
    #expect(error.kind == .unreadableFile)
    #expect(error.message.contains(reason), "\(error.message)")
    #expect(error.message.contains(try #require(error.file)))
  }

  @Test("bytes that are not UTF-8 inside a string are an unreadableFile error")
  func invalidUTF8() throws {
    var bytes = Array(#"{"model": ""#.utf8)
    bytes += [0xFF, 0xFE]
    bytes += Array(#""}"#.utf8)
    let file = try Self.write(Data(bytes))
    let error = try #require(throws: TextGenerationError.self) {
      try BPETokenizer(contentsOf: file)
    }
    #expect(error.kind == .unreadableFile)
    #expect(error.message.contains("not valid UTF-8"))
  }

  @Test(
    "an unsupported component is named with its type and where it is",
    arguments: [
      (
        Self.document(model: #"{"type": "WordPiece", "vocab": {}}"#), "model", "WordPiece"
      ),
      (Self.document(model: #"{"type": "Unigram", "vocab": []}"#), "model", "Unigram"),
      (Self.document(normalizer: #"{"type": "Lowercase"}"#), "normalizer", "Lowercase"),
      (
        Self.document(
          normalizer:
            #"{"type": "Sequence", "normalizers": [{"type": "NFC"}, {"type": "Precompiled"}]}"#
        ),
        "normalizer.normalizers[1]", "Precompiled"
      ),
      (Self.document(preTokenizer: #"{"type": "Whitespace"}"#), "pre_tokenizer", "Whitespace"),
      (
        Self.document(
          preTokenizer: #"{"type": "Sequence", "pretokenizers": [{"type": "Digits"}]}"#),
        "pre_tokenizer.pretokenizers[0]", "Digits"
      ),
      (
        Self.document(postProcessor: #"{"type": "RobertaProcessing"}"#), "post_processor",
        "RobertaProcessing"
      ),
      (
        Self.document(
          postProcessor: #"{"type": "Sequence", "processors": [{"type": "BertProcessing"}]}"#),
        "post_processor.processors[0]", "BertProcessing"
      ),
      (Self.document(decoder: #"{"type": "WordPiece"}"#), "decoder", "WordPiece"),
      (
        Self.document(decoder: #"{"type": "Sequence", "decoders": [{"type": "CTC"}]}"#),
        "decoder.decoders[0]", "CTC"
      ),
    ])
  func unsupportedComponent(contents: String, component: String, type: String) throws {
    let error = try error(loading: contents)
    #expect(error.kind == .unsupportedComponent)
    #expect(error.component == component)
    #expect(error.message.contains("\"\(type)\""), "\(error.message)")
    #expect(error.message.contains(component))
    #expect(error.message.contains(try #require(error.file)))
  }

  @Test(
    "options that would change the ids are refused: dropout, truncation, fixed padding",
    arguments: [
      (
        Self.document(
          model: #"{"type": "BPE", "dropout": 0.1, "vocab": {"a": 0}, "merges": []}"#),
        "model.dropout"
      ),
      (
        Self.document(extra: #""truncation": {"max_length": 8}, "padding": null"#),
        "truncation"
      ),
      (
        Self.document(extra: #""truncation": null, "padding": {"strategy": {"Fixed": 8}}"#),
        "padding"
      ),
    ])
  func refusedOptions(contents: String, component: String) throws {
    let error = try error(loading: contents)
    #expect(error.kind == .unsupportedComponent)
    #expect(error.component == component, "\(error.message)")
  }

  @Test("padding to the longest of a batch changes nothing for one text and is accepted")
  func batchLongestPadding() throws {
    let file = try Self.write(
      Self.document(extra: #""truncation": null, "padding": {"strategy": "BatchLongest"}"#))
    #expect(try BPETokenizer(contentsOf: file).encode("ab") == [2])
  }

  @Test(
    "an invalid tokenizer names the field and the value",
    arguments: [
      (Self.document(model: "null"), "model", "is missing"),
      (
        Self.document(model: #"{"type": "BPE", "vocab": [], "merges": []}"#), "model.vocab",
        "should be an object"
      ),
      (
        Self.document(model: #"{"type": "BPE", "vocab": {"a": "x"}, "merges": []}"#),
        "model.vocab.a", "should be an integer"
      ),
      (
        Self.document(model: #"{"type": "BPE", "vocab": {"a": 0, "ab": 1}, "merges": ["a b"]}"#),
        "model.merges[0]", "\"b\" is not in the vocabulary"
      ),
      (
        Self.document(
          model: #"{"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": [["a", "b"]]}"#),
        "model.merges[0]", "\"ab\" is not in the vocabulary"
      ),
      (
        Self.document(model: #"{"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b c"]}"#),
        "model.merges[0]", "two tokens separated by one space"
      ),
      (
        Self.document(
          model: #"{"type": "BPE", "unk_token": "<unk>", "vocab": {"a": 0}, "merges": []}"#),
        "model.unk_token", "\"<unk>\", which is not in the vocabulary"
      ),
      (
        Self.document(
          preTokenizer: #"{"type": "Split", "pattern": {"String": " "}, "behavior": "Sideways"}"#),
        "pre_tokenizer.behavior", "found \"Sideways\""
      ),
      (
        Self.document(
          preTokenizer:
            #"{"type": "Split", "pattern": {"Regex": "(unclosed"}, "behavior": "Isolated"}"#
        ),
        "pre_tokenizer.pattern.Regex", "does not compile"
      ),
      (
        Self.document(preTokenizer: #"{"type": "Split", "pattern": 3, "behavior": "Isolated"}"#),
        "pre_tokenizer.pattern", "{\"String\": …} or {\"Regex\": …}"
      ),
      (
        Self.document(preTokenizer: #"{"type": "Metaspace", "replacement": "__"}"#),
        "pre_tokenizer.replacement", "exactly one character"
      ),
      (
        Self.document(
          preTokenizer: #"{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "twice"}"#),
        "pre_tokenizer.prepend_scheme", "\"twice\""
      ),
      (
        Self.document(
          postProcessor: #"""
            {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<bos>", "type_id": 0}},
             {"Sequence": {"id": "A", "type_id": 0}}], "special_tokens": {}}
            """#),
        "post_processor.single[0].SpecialToken", "\"<bos>\""
      ),
      (
        Self.document(addedTokens: #"[{"content": "<s>", "special": true}]"#),
        "added_tokens[0].id", "is missing"
      ),
      (Self.document(normalizer: #"{"kind": "NFC"}"#), "normalizer.type", "is missing"),
      (
        Self.document(decoder: #"{"type": "Strip", "content": " ", "start": -1, "stop": 0}"#),
        "decoder.start", "negative"
      ),
    ])
  func invalidTokenizer(contents: String, component: String, problem: String) throws {
    let error = try error(loading: contents)
    #expect(error.kind == .invalidTokenizer, "\(error.message)")
    #expect(error.component == component, "\(error.message)")
    #expect(error.message.contains(problem), "\(error.message)")
    #expect(error.message.contains(try #require(error.file)))
  }

  @Test("tokenizer_config.json naming a token tokenizer.json lacks is an invalidTokenizer error")
  func unknownConfiguredToken() throws {
    let file = try Self.write(Self.document())
    let folder = file.deletingLastPathComponent()
    try Data(#"{"eos_token": {"content": "</s>"}}"#.utf8)
      .write(to: folder.appending(path: "tokenizer_config.json"))
    let error = try #require(throws: TextGenerationError.self) {
      try BPETokenizer(contentsOf: folder)
    }
    #expect(error.kind == .invalidTokenizer)
    #expect(error.component == "eos_token")
    #expect(error.message.contains("\"</s>\"") && error.message.contains("tokenizer_config.json"))

    try Data(#"{"eos_token": {"content": "<s>"}, "bos_token": "<s>"}"#.utf8)
      .write(to: folder.appending(path: "tokenizer_config.json"))
    let tokenizer = try BPETokenizer(contentsOf: folder)
    #expect(tokenizer.eosTokenID == 3 && tokenizer.bosTokenID == 3)
  }
}
