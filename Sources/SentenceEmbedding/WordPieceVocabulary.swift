import Foundation

/// The tokens of a WordPiece model and their ids, as listed in BERT's `vocab.txt`.
///
/// Line `i` (from 0) of `vocab.txt` is the token with id `i`. A token starting with `##`
/// continues a word; any other token starts one.
///
/// Tokens are compared by their Unicode scalars, never as `String`s: Swift's `String` equality is
/// canonical equivalence, so `"é"` (one scalar) would equal `"e\u{301}"` (two), while WordPiece
/// matches the exact code points (a decomposed Hangul syllable must find its jamo pieces, not the
/// precomposed syllable).
public struct WordPieceVocabulary: Sendable {
  /// The tokens in id order.
  public let tokens: [String]
  /// Word-initial lookups: a token's scalars → its id.
  private let ids: [ArraySlice<UInt32>: Int]
  /// Continuation lookups: the scalars after `##` → the id of `##…`.
  private let continuationIDs: [ArraySlice<UInt32>: Int]

  /// The marker that starts a continuation token.
  static let continuationPrefix: [UInt32] = [35, 35]  // "##"

  /// Creates a vocabulary from its tokens in id order.
  ///
  /// When a token occurs twice, the later id wins, as in the reference implementations.
  ///
  /// - Complexity: O(total token length).
  public init(tokens: [String]) {
    self.tokens = tokens
    var ids = [ArraySlice<UInt32>: Int](minimumCapacity: tokens.count)
    var continuationIDs = [ArraySlice<UInt32>: Int]()
    for (id, token) in tokens.enumerated() {
      let scalars = token.unicodeScalars.map(\.value)
      ids[scalars[...]] = id
      if scalars.starts(with: Self.continuationPrefix) {
        continuationIDs[scalars.dropFirst(Self.continuationPrefix.count)] = id
      }
    }
    self.ids = ids
    self.continuationIDs = continuationIDs
  }

  /// Reads a `vocab.txt`: one token per line, UTF-8, `\n` or `\r\n` line ends.
  ///
  /// - Parameter file: the vocabulary file.
  /// - Throws: ``SentenceEmbeddingError`` naming the file when it does not exist, cannot be read,
  ///   is not UTF-8 (naming the line) or holds no token.
  /// - Complexity: O(file size).
  public init(contentsOf file: URL) throws {
    let path = file.path
    guard FileManager.default.fileExists(atPath: path) else {
      throw SentenceEmbeddingError(
        .missingFile, file: path, "vocabulary file \(path) does not exist")
    }
    let data: Data
    do {
      data = try Data(contentsOf: file)
    } catch {
      throw SentenceEmbeddingError(
        .unreadableFile, file: path, "cannot read vocabulary file \(path): \(error)")
    }
    var tokens = [String]()
    var lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
    if lines.last?.isEmpty == true { lines.removeLast() }  // the newline ending the last line
    tokens.reserveCapacity(lines.count)
    for (index, line) in lines.enumerated() {
      let bytes = line.last == UInt8(ascii: "\r") ? line.dropLast() : line
      guard let token = String(validating: bytes, as: UTF8.self) else {
        throw SentenceEmbeddingError(
          .unreadableFile, file: path,
          "vocabulary file \(path): line \(index + 1) is not valid UTF-8")
      }
      tokens.append(token)
    }
    guard !tokens.isEmpty else {
      throw SentenceEmbeddingError(
        .invalidVocabulary, file: path, "vocabulary file \(path) holds no token")
    }
    self.init(tokens: tokens)
  }

  /// The number of tokens (the largest id plus one).
  public var count: Int { tokens.count }

  /// The id of `token`, matched scalar for scalar, or `nil` if the vocabulary lacks it.
  public func id(for token: String) -> Int? {
    ids[token.unicodeScalars.map(\.value)[...]]
  }

  /// The token with the given id, or `nil` when the id is out of range.
  public func token(for id: Int) -> String? {
    tokens.indices.contains(id) ? tokens[id] : nil
  }

  /// The id of the piece `scalars`, looked up as `##scalars` when it continues a word.
  func pieceID(_ scalars: ArraySlice<UInt32>, continuing: Bool) -> Int? {
    continuing ? continuationIDs[scalars] : ids[scalars]
  }
}
