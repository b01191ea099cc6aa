/// A value read from `tokenizer.json` together with where it was found, so that every error
/// about it can name the file, the component path (`pre_tokenizer.pretokenizers[1].behavior`)
/// and the value.
struct JSONField: Sendable {
  /// The value itself.
  let node: JSONNode
  /// The file it was read from, for error messages.
  let file: String
  /// The path of the container holding the value; the value's own path is built from it only
  /// when asked for (an error), not for each of the 100,000 merges of a large vocabulary.
  private let parentPath: String
  private let step: Step

  private enum Step: Sendable {
    case root
    case member(String)
    case element(Int)
  }

  /// A field for the whole document.
  init(root node: JSONNode, file: String) {
    self.init(node: node, file: file, parentPath: "", step: .root)
  }

  private init(node: JSONNode, file: String, parentPath: String, step: Step) {
    self.node = node
    self.file = file
    self.parentPath = parentPath
    self.step = step
  }

  /// Its path from the top of the document, as `a.b[2].c`.
  var path: String {
    switch step {
    case .root: return ""
    case .member(let name): return Self.childPath(parentPath, name)
    case .element(let index): return "\(parentPath)[\(index)]"
    }
  }

  private static func childPath(_ path: String, _ name: String) -> String {
    path.isEmpty ? name : path + "." + name
  }

  /// The member `name`, or `nil` when it is absent or `null` (tokenizers treats the two alike).
  func member(_ name: String) -> JSONField? {
    guard let child = node[name] else { return nil }
    if case .null = child { return nil }
    return JSONField(node: child, file: file, parentPath: path, step: .member(name))
  }

  /// The member `name`.
  ///
  /// - Throws: ``TextGenerationError/Kind/invalidTokenizer`` when it is absent or `null`.
  func requiredMember(_ name: String) throws(TextGenerationError) -> JSONField {
    guard let child = member(name) else {
      throw invalid(at: Self.childPath(path, name), "is missing")
    }
    return child
  }

  /// The `type` member of a component: the name of its kind (`"BPE"`, `"ByteLevel"`, …).
  func typeName() throws(TextGenerationError) -> String {
    try requiredMember("type").string()
  }

  func string() throws(TextGenerationError) -> String {
    guard case .string(let text) = node else { throw mismatch("a string") }
    return text
  }

  func integer() throws(TextGenerationError) -> Int {
    guard let value = node.integer else { throw mismatch("an integer") }
    return value
  }

  func boolean() throws(TextGenerationError) -> Bool {
    guard case .boolean(let value) = node else { throw mismatch("true or false") }
    return value
  }

  /// A string holding exactly one Unicode scalar (what Rust's `char` deserializes from).
  func scalar() throws(TextGenerationError) -> Unicode.Scalar {
    let text = try string()
    guard text.unicodeScalars.count == 1, let scalar = text.unicodeScalars.first else {
      throw mismatch("a string of exactly one character")
    }
    return scalar
  }

  func array() throws(TextGenerationError) -> [JSONField] {
    guard case .array(let items) = node else { throw mismatch("an array") }
    let path = path
    return items.enumerated().map { index, item in
      JSONField(node: item, file: file, parentPath: path, step: .element(index))
    }
  }

  /// The members of an object, in file order.
  func members() throws(TextGenerationError) -> [(name: String, value: JSONField)] {
    guard case .object(let members) = node else { throw mismatch("an object") }
    let path = path
    return members.map { member in
      (
        member.name,
        JSONField(node: member.value, file: file, parentPath: path, step: .member(member.name))
      )
    }
  }

  /// The boolean member `name`, or `defaultValue` when it is absent or `null`.
  func boolean(_ name: String, default defaultValue: Bool) throws(TextGenerationError) -> Bool {
    try member(name)?.boolean() ?? defaultValue
  }

  /// An ``TextGenerationError/Kind/invalidTokenizer`` error about this field.
  func invalid(_ problem: String) -> TextGenerationError {
    invalid(at: path, problem)
  }

  private func invalid(at path: String, _ problem: String) -> TextGenerationError {
    TextGenerationError(
      .invalidTokenizer, file: file, component: path, "\(file): \(path) \(problem)")
  }

  private func mismatch(_ expected: String) -> TextGenerationError {
    invalid("should be \(expected), found \(node.summary)")
  }

  /// An ``TextGenerationError/Kind/unsupportedComponent`` error naming this component, its
  /// `type` and what is supported in its place.
  func unsupported(_ role: String, type: String, supported: [String]) -> TextGenerationError {
    TextGenerationError(
      .unsupportedComponent, file: file, component: path,
      "\(file): \(path) has \"type\": \"\(type)\", a \(role) this library does not "
        + "implement (supported: \(supported.joined(separator: ", ")))")
  }
}
