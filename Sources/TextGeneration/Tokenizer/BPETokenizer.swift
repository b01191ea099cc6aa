import Foundation

/// A byte-pair-encoding tokenizer read from a Hugging Face `tokenizer.json`, giving the same ids
/// as the `tokenizers` library.
///
/// The pipeline is tokenizers': added tokens are found first (in the raw text, then in each
/// normalized piece), the rest is normalized, split into words by the pre-tokenizer and encoded
/// word by word by the BPE model; the post-processor then adds the special tokens its template
/// names. Decoding maps ids back to tokens and runs the decoder.
///
/// The components read are the ones decoder-model families ship:
///
/// | family | normalizer | pre-tokenizer | decoder |
/// |---|---|---|---|
/// | GPT-2 | — | `ByteLevel` with its regex | `ByteLevel` |
/// | Llama 3, Qwen2 | — / `NFC` | `Split` (regex) + `ByteLevel` without regex | `ByteLevel` |
/// | Llama 2, Mistral | `Prepend("▁")` + `Replace(" ", "▁")` | — or `Metaspace` | `Replace`, `ByteFallback`, `Fuse`, `Strip` |
/// | Gemma 2 | `Replace(" ", "▁")` | — | `Replace`, `ByteFallback`, `Fuse` |
///
/// with `TemplateProcessing` (a BOS token) and `ByteLevel` post-processors. Any other component
/// is refused when the file is read, with an error naming it.
///
/// ```swift
/// let tokenizer = try BPETokenizer(contentsOf: modelFolder)
/// let ids = tokenizer.encode("Hello world")   // [bos, …]
/// let text = tokenizer.decode(ids, skippingSpecialTokens: true)   // "Hello world"
/// ```
public struct BPETokenizer: Sendable {
  let normalizer: Normalizer?
  let preTokenizer: PreTokenizer?
  let model: BytePairModel
  let addedVocabulary: AddedVocabulary
  let postProcessor: PostProcessor?
  let decoder: TokenDecoder?

  /// The id of the beginning-of-sequence token: the token the post-processor's template puts
  /// first, else `bos_token` of `tokenizer_config.json`; `nil` when neither names one (GPT-2,
  /// Qwen2).
  public let bosTokenID: Int?
  /// The id of `eos_token` in the model folder's `tokenizer_config.json`, or `nil` when there is
  /// none. (A model's `generation_config.json` may list further end-of-sequence ids.)
  public let eosTokenID: Int?
  /// The number of ids the tokenizer can produce: its highest id plus one.
  public let vocabularySize: Int
  /// The ids of the special tokens (`<s>`, `<|eot_id|>`, …), which decoding can skip.
  public let specialTokenIDs: Set<Int>

  /// Reads a tokenizer from a model folder or from a `tokenizer.json` file.
  ///
  /// From a folder, `tokenizer.json` is read, and `tokenizer_config.json` too when present, for
  /// the names of the BOS and EOS tokens. From a file, only that file is read.
  ///
  /// - Parameter url: a model folder or a `tokenizer.json` file.
  /// - Throws: ``TextGenerationError``: ``TextGenerationError/Kind/missingFile`` when the
  ///   file or folder does not exist, ``TextGenerationError/Kind/unreadableFile`` when it
  ///   cannot be read or is not well-formed JSON, ``TextGenerationError/Kind/invalidTokenizer``
  ///   when a field is missing or wrong, and
  ///   ``TextGenerationError/Kind/unsupportedComponent`` when the model is not BPE or a
  ///   normalizer, pre-tokenizer, post-processor or decoder has a `type` this library does not
  ///   implement. Every message names the file and the component.
  /// - Complexity: O(size of the file).
  public init(contentsOf url: URL) throws {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
      throw TextGenerationError(
        .missingFile, file: url.path, "tokenizer file or model folder \(url.path) does not exist")
    }
    var configuration: JSONField?
    let tokenizerURL: URL
    if isDirectory.boolValue {
      tokenizerURL = url.appending(path: "tokenizer.json")
      guard FileManager.default.fileExists(atPath: tokenizerURL.path) else {
        throw TextGenerationError(
          .missingFile, file: tokenizerURL.path,
          "model folder \(url.path) has no tokenizer.json (\(tokenizerURL.path) does not exist)")
      }
      let configurationURL = url.appending(path: "tokenizer_config.json")
      if FileManager.default.fileExists(atPath: configurationURL.path) {
        configuration = try Self.readJSON(configurationURL)
      }
    } else {
      tokenizerURL = url
    }
    try self.init(document: Self.readJSON(tokenizerURL), configuration: configuration)
  }

  /// Reads and parses a JSON file whose top level is an object.
  private static func readJSON(_ url: URL) throws(TextGenerationError) -> JSONField {
    let path = url.path
    let data: Data
    do {
      data = try Data(contentsOf: url)
    } catch {
      throw TextGenerationError(.unreadableFile, file: path, "cannot read \(path): \(error)")
    }
    let node: JSONNode
    do {
      node = try JSONNode.parse([UInt8](data))
    } catch {
      throw TextGenerationError(
        .unreadableFile, file: path,
        "\(path) is not valid JSON: \(error.reason) at byte \(error.offset)")
    }
    guard case .object = node else {
      throw TextGenerationError(
        .unreadableFile, file: path, "\(path) should hold a JSON object, found \(node.summary)")
    }
    return JSONField(root: node, file: path)
  }

  /// Builds the tokenizer from a parsed `tokenizer.json` and, optionally, a parsed
  /// `tokenizer_config.json`.
  init(document: JSONField, configuration: JSONField?) throws(TextGenerationError) {
    // Truncation would cut prompts, and fixed padding would lengthen them: refuse both rather
    // than give different ids. Padding to the longest of a batch changes nothing for one text.
    if let truncation = document.member("truncation") {
      throw TextGenerationError(
        .unsupportedComponent, file: document.file, component: truncation.path,
        "\(document.file): truncation is set (\(truncation.node.summary)); truncating encodings "
          + "is not supported")
    }
    if let padding = document.member("padding"),
      padding.member("strategy").map({ (strategy) -> Bool in
        if case .string("BatchLongest") = strategy.node { return false }
        return true
      }) ?? false
    {
      throw TextGenerationError(
        .unsupportedComponent, file: document.file, component: padding.path,
        "\(document.file): padding to a fixed length is set; padding encodings is not supported")
    }

    let normalizer = try document.member("normalizer").map {
      (field) throws(TextGenerationError) in try Normalizer(field)
    }
    self.normalizer = normalizer
    preTokenizer = try document.member("pre_tokenizer").map {
      (field) throws(TextGenerationError) in try PreTokenizer(field)
    }
    model = try BytePairModel(document.requiredMember("model"))
    addedVocabulary = try AddedVocabulary(
      document.member("added_tokens"), normalizer: normalizer)
    let postProcessor = try document.member("post_processor").map {
      (field) throws(TextGenerationError) in try PostProcessor(field)
    }
    self.postProcessor = postProcessor
    decoder = try document.member("decoder").map {
      (field) throws(TextGenerationError) in try TokenDecoder(field)
    }

    vocabularySize = max(model.idCount, (addedVocabulary.tokens.map(\.id).max() ?? -1) + 1)
    specialTokenIDs = Set(addedVocabulary.tokens.filter(\.isSpecial).map(\.id))

    // The names in tokenizer_config.json, as a string or as {"content": …}.
    var configured: [String: Int] = [:]
    for role in ["bos_token", "eos_token"] {
      guard let field = configuration?.member(role) else { continue }
      let name = try (field.member("content") ?? field).string()
      guard let id = addedVocabulary.id(forContent: name) ?? model.id(forToken: name) else {
        throw field.invalid("names \"\(name)\", which is not a token of tokenizer.json")
      }
      configured[role] = id
    }
    bosTokenID = postProcessor?.leadingTokenID ?? configured["bos_token"]
    eosTokenID = configured["eos_token"]
  }

  /// The ids of `text`.
  ///
  /// - Parameters:
  ///   - text: the text; special tokens written in it (`<|eot_id|>`) become their ids.
  ///   - addingSpecialTokens: whether the post-processor adds its tokens (a BOS token).
  /// - Returns: the ids, identical to `tokenizers`' `encode(text, add_special_tokens=…).ids`.
  /// - Complexity: about O(n log n) in the length of the text.
  public func encode(_ text: String, addingSpecialTokens: Bool = true) -> [Int] {
    var ids: [Int] = []
    for segment in addedVocabulary.split(text, normalized: false) {
      guard case .text(let raw, let rawOffset) = segment else {
        if case .token(let id) = segment { ids.append(id) }
        continue
      }
      let normalized = normalizer?.normalize(raw) ?? raw
      for piece in addedVocabulary.split(normalized, normalized: true) {
        switch piece {
        case .token(let id):
          ids.append(id)
        case .text(let text, let offset):
          let pieces = [TextPiece(text: text, startsInput: rawOffset == 0 && offset == 0)]
          for word in preTokenizer?.preTokenize(pieces) ?? pieces {
            model.encode(Array(word.text.utf8)[...], into: &ids)
          }
        }
      }
    }
    if addingSpecialTokens, let postProcessor { ids = postProcessor.process(ids) }
    return ids
  }

  /// The text of `ids`.
  ///
  /// - Parameters:
  ///   - ids: token ids; an id no token has is skipped, as tokenizers skips it.
  ///   - skippingSpecialTokens: whether special tokens are left out.
  /// - Returns: the text, identical to `tokenizers`' `decode(ids, skip_special_tokens=…)`;
  ///   bytes that do not form UTF-8 become U+FFFD.
  /// - Complexity: O(total length of the tokens).
  public func decode(_ ids: [Int], skippingSpecialTokens: Bool = false) -> String {
    var tokens: [String] = []
    tokens.reserveCapacity(ids.count)
    for id in ids {
      guard let token = addedVocabulary.decodedContent(forID: id) ?? model.token(forID: id) else {
        continue
      }
      if skippingSpecialTokens && addedVocabulary.isSpecial(token) { continue }
      tokens.append(token)
    }
    guard let decoder else { return tokens.joined(separator: " ") }
    return decoder.decodeChain(tokens).joined()
  }

  /// The id of a token (an added token or one of the model's), matched exactly, scalar by
  /// scalar; `nil` when there is none.
  public func id(forToken token: String) -> Int? {
    addedVocabulary.id(forContent: token) ?? model.id(forToken: token)
  }

  /// The token of an id, as written in the vocabulary (`Ġworld`, `▁world`, `<0x0A>`); `nil`
  /// when no token has it. A normalized added token gives its normalized content, as
  /// tokenizers' `id_to_token` does.
  public func token(forID id: Int) -> String? {
    addedVocabulary.decodedContent(forID: id) ?? model.token(forID: id)
  }
}
