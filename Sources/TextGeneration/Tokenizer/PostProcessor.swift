/// A `tokenizer.json` post-processor: what `encode` adds around the ids when asked to add
/// special tokens.
///
/// Only single sequences are encoded here, so a template's `single` is all that is read.
indirect enum PostProcessor: Sendable {
  /// `TemplateProcessing`: special tokens around the sequence, such as `<s> $A` or
  /// `<|begin_of_text|> $A`.
  case template([TemplateItem])
  /// `ByteLevel`: it only trims offsets, which leaves the ids alone.
  case byteLevel
  case sequence([PostProcessor])

  /// One element of a template.
  enum TemplateItem: Sendable, Equatable {
    /// The ids a special token of the template stands for.
    case specialToken(name: String, ids: [Int])
    /// The encoded text (`$A`).
    case sequence
  }

  static let supportedTypes = ["TemplateProcessing", "ByteLevel", "Sequence"]

  /// Reads a post-processor object.
  ///
  /// - Throws: ``TextGenerationError`` naming the component when its `type` is not supported,
  ///   or the template is malformed or names a special token it does not define.
  init(_ field: JSONField) throws(TextGenerationError) {
    let type = try field.typeName()
    switch type {
    case "ByteLevel":
      self = .byteLevel
    case "Sequence":
      var processors: [PostProcessor] = []
      for item in try field.requiredMember("processors").array() {
        processors.append(try PostProcessor(item))
      }
      self = .sequence(processors)
    case "TemplateProcessing":
      var specialTokens: [String: [Int]] = [:]
      for (name, value) in try field.requiredMember("special_tokens").members() {
        specialTokens[name] = try value.requiredMember("ids").array().map {
          (id) throws(TextGenerationError) in try id.integer()
        }
      }
      var items: [TemplateItem] = []
      for item in try field.requiredMember("single").array() {
        if let special = item.member("SpecialToken") {
          let name = try special.requiredMember("id").string()
          guard let ids = specialTokens[name] else {
            throw special.invalid(
              "names the special token \"\(name)\", which special_tokens does not define")
          }
          items.append(.specialToken(name: name, ids: ids))
        } else if let sequence = item.member("Sequence") {
          let name = try sequence.requiredMember("id").string()
          // A single-sequence template only has `$A`; tokenizers ignores `$B` there.
          if name == "A" { items.append(.sequence) }
        } else {
          throw item.invalid(
            "should be {\"SpecialToken\": …} or {\"Sequence\": …}, found \(item.node.summary)")
        }
      }
      self = .template(items)
    default:
      throw field.unsupported("post-processor", type: type, supported: Self.supportedTypes)
    }
  }

  /// The ids with the template's special tokens added.
  func process(_ ids: [Int]) -> [Int] {
    switch self {
    case .byteLevel:
      return ids
    case .sequence(let processors):
      return processors.reduce(ids) { $1.process($0) }
    case .template(let items):
      var output: [Int] = []
      for item in items {
        switch item {
        case .specialToken(_, let tokenIDs): output += tokenIDs
        case .sequence: output += ids
        }
      }
      return output
    }
  }

  /// The id the template puts first, when it starts with a one-id special token before the
  /// sequence: the BOS token.
  var leadingTokenID: Int? {
    switch self {
    case .byteLevel:
      return nil
    case .sequence(let processors):
      return processors.lazy.compactMap(\.leadingTokenID).first
    case .template(let items):
      guard case .specialToken(_, let ids) = items.first, ids.count == 1 else { return nil }
      return ids[0]
    }
  }
}
