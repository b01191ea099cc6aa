/// An error thrown while loading a sentence-embedding model or encoding sentences with it.
///
/// Every error carries a ``kind`` to match on, the ``file`` and, where one is involved, the
/// ``tensor`` it is about, and a ``message`` for a person that names them (and, for a shape or
/// type mismatch, both the expected and the found value).
public struct SentenceEmbeddingError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The broad class of problem.
  public enum Kind: String, Sendable, Equatable {
    /// A file or folder the model needs does not exist.
    case missingFile
    /// A file exists but cannot be read or parsed (I/O error, bad UTF-8, bad JSON, corrupt
    /// safetensors).
    case unreadableFile
    /// A configuration value is missing, out of range, or describes a model this library does
    /// not implement.
    case invalidConfiguration
    /// The vocabulary lacks a token the tokenizer needs (`[CLS]`, `[SEP]`, `[UNK]`, `[PAD]`).
    case invalidVocabulary
    /// A tensor the model needs is not in the weights file.
    case missingTensor
    /// The weights file holds a tensor the model does not know.
    case unexpectedTensor
    /// A tensor has a shape other than the one the configuration implies.
    case wrongShape
    /// A tensor has an element type the model cannot use.
    case wrongDataType
    /// An argument is out of range (an empty batch, a zero batch size, …).
    case invalidArgument
  }

  /// The broad class of problem.
  public let kind: Kind
  /// The path of the file involved, if any.
  public let file: String?
  /// The name of the tensor involved, if any.
  public let tensor: String?
  /// A one-line description naming the file, the tensor and the values involved.
  public let message: String

  /// Creates an error; the message should name `file` and `tensor` itself.
  public init(_ kind: Kind, file: String? = nil, tensor: String? = nil, _ message: String) {
    self.kind = kind
    self.file = file
    self.tensor = tensor
    self.message = message
  }

  public var description: String { message }
}
