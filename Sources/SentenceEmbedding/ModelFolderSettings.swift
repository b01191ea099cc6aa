import Attention
import Foundation

/// The optional files of a sentence-transformers model folder that tune the tokenizer, and the
/// weights file.
enum ModelFolderSettings {
  /// `tokenizer_config.json`'s switches (Hugging Face's `BertTokenizer` defaults when absent).
  private struct TokenizerConfig: Decodable {
    var doLowerCase: Bool?
    var stripAccents: Bool?
    var tokenizeChineseChars: Bool?
    enum CodingKeys: String, CodingKey {
      case doLowerCase = "do_lower_case"
      case stripAccents = "strip_accents"
      case tokenizeChineseChars = "tokenize_chinese_chars"
    }
  }

  /// `sentence_bert_config.json`'s sequence limit.
  private struct SentenceBertConfig: Decodable {
    var maxSeqLength: Int?
    enum CodingKeys: String, CodingKey { case maxSeqLength = "max_seq_length" }
  }

  /// The tokenizer options the folder's JSON files ask for.
  ///
  /// - Parameter positionCount: the encoder's `max_position_embeddings`, the limit when
  ///   `sentence_bert_config.json` is absent and the bound `max_seq_length` must respect.
  /// - Throws: ``SentenceEmbeddingError`` naming the file for unreadable JSON or a
  ///   `max_seq_length` outside `2…positionCount`.
  static func tokenizerOptions(in folder: URL, positionCount: Int) throws
    -> WordPieceTokenizer.Options
  {
    var options = WordPieceTokenizer.Options(maximumTokenCount: positionCount)
    if let config = try decodeIfPresent(
      TokenizerConfig.self, from: folder.appending(path: "tokenizer_config.json"))
    {
      options.lowercases = config.doLowerCase ?? true
      options.stripsAccents = config.stripAccents
      options.splitsCJKCharacters = config.tokenizeChineseChars ?? true
    }
    let sentenceBertFile = folder.appending(path: "sentence_bert_config.json")
    if let config = try decodeIfPresent(SentenceBertConfig.self, from: sentenceBertFile),
      let length = config.maxSeqLength
    {
      guard (2...positionCount).contains(length) else {
        throw SentenceEmbeddingError(
          .invalidConfiguration, file: sentenceBertFile.path,
          "\(sentenceBertFile.path): max_seq_length \(length) is outside 2…\(positionCount) (max_position_embeddings)"
        )
      }
      options.maximumTokenCount = length
    }
    return options
  }

  /// Reads the weights file.
  ///
  /// - Throws: ``SentenceEmbeddingError`` naming the file: `missingFile`, or `unreadableFile`
  ///   with the reader's explanation (truncated, malformed header, bad offsets, …).
  static func weights(in file: URL) throws -> SafetensorsFile {
    guard FileManager.default.fileExists(atPath: file.path) else {
      throw SentenceEmbeddingError(
        .missingFile, file: file.path, "weights file \(file.path) does not exist")
    }
    do {
      return try SafetensorsFile.read(from: file.path)
    } catch {
      // The reader's messages start with the path already.
      throw SentenceEmbeddingError(.unreadableFile, file: file.path, "\(error)")
    }
  }

  /// The decoded file, or `nil` when it does not exist.
  private static func decodeIfPresent<T: Decodable>(_ type: T.Type, from file: URL) throws -> T? {
    guard FileManager.default.fileExists(atPath: file.path) else { return nil }
    do {
      return try JSONDecoder().decode(type, from: Data(contentsOf: file))
    } catch {
      throw SentenceEmbeddingError(
        .unreadableFile, file: file.path, "cannot read \(file.path): \(error)")
    }
  }
}
