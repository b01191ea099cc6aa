/// An error thrown while loading a text-generation model or its tokenizer.
///
/// Every error carries a ``kind`` to match on, the ``file`` and, where one is involved, the
/// ``component`` it is about (a path into the file such as `pre_tokenizer.pretokenizers[1]`),
/// and a ``message`` for a person that names them and the offending value.
public struct TextGenerationError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The broad class of problem.
  public enum Kind: String, Sendable, Equatable {
    /// A file or folder that is needed does not exist.
    case missingFile
    /// A file exists but cannot be read or parsed (I/O error, invalid UTF-8, malformed JSON).
    case unreadableFile
    /// A well-formed file does not describe a valid tokenizer: a required field is missing or
    /// has the wrong type, a merge names a token the vocabulary lacks, a template names an
    /// unknown special token.
    case invalidTokenizer
    /// The file asks for a component this library does not implement: a model other than BPE,
    /// or a normalizer, pre-tokenizer, post-processor or decoder of an unknown `type`.
    case unsupportedComponent
    /// A model's `config.json` (or `generation_config.json`) lacks a field the model needs, or a
    /// field has the wrong type or an invalid value.
    case invalidConfiguration
    /// The configuration names an architecture (or activation, RoPE type) this library does not
    /// implement.
    case unsupportedArchitecture
    /// A weight the configuration implies is missing from the checkpoint, has the wrong shape
    /// or is not floating-point.
    case invalidWeights
    /// A request the model cannot serve: more positions than `max_position_embeddings`, a token
    /// id outside the vocabulary, an invalid sampling parameter.
    case invalidRequest
  }

  /// The broad class of problem.
  public let kind: Kind
  /// The path of the file involved, if any.
  public let file: String?
  /// Where in the file the problem is (`model`, `normalizer.normalizers[0]`, …), if anywhere.
  public let component: String?
  /// A one-line description naming the file, the component and the values involved.
  public let message: String

  /// Creates an error; the message should name `file` and `component` itself.
  public init(_ kind: Kind, file: String? = nil, component: String? = nil, _ message: String) {
    self.kind = kind
    self.file = file
    self.component = component
    self.message = message
  }

  /// The message.
  public var description: String { message }
}
