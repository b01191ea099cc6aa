/// Token-id sequences of different lengths, padded into one rectangular batch.
///
/// `ids` holds `batchCount × sequenceLength` ids row by row; row `b` has `lengths[b]` real
/// tokens followed by the padding id. The lengths become the attention's key-padding lengths and
/// the mean pooling's token counts.
public struct TokenBatch: Sendable, Equatable {
  /// The padded ids, `[B, N]` row-major.
  public let ids: [Int]
  /// The real tokens of each row, each in `1…N`.
  public let lengths: [Int]
  /// `N`, the length of the longest sequence.
  public let sequenceLength: Int

  /// `B`, the number of sequences.
  public var batchCount: Int { lengths.count }

  /// Pads `sequences` to the longest of them with `paddingID`.
  ///
  /// - Parameters:
  ///   - sequences: one id sequence per sentence, each with at least one id.
  ///   - paddingID: the id that fills short rows (`[PAD]`, 0 in BERT).
  /// - Throws: ``SentenceEmbeddingError`` (`invalidArgument`) for an empty batch or an empty
  ///   sequence (naming its index).
  /// - Complexity: O(B·N).
  public init(sequences: [[Int]], paddingID: Int) throws {
    guard !sequences.isEmpty else {
      throw SentenceEmbeddingError(.invalidArgument, "a token batch needs at least one sequence")
    }
    if let empty = sequences.firstIndex(where: \.isEmpty) {
      throw SentenceEmbeddingError(
        .invalidArgument, "sequence \(empty) of the batch has no token; each needs at least one")
    }
    let length = sequences.map(\.count).max()!
    var ids = [Int]()
    ids.reserveCapacity(sequences.count * length)
    for sequence in sequences {
      ids.append(contentsOf: sequence)
      ids.append(contentsOf: repeatElement(paddingID, count: length - sequence.count))
    }
    self.ids = ids
    self.lengths = sequences.map(\.count)
    self.sequenceLength = length
  }

  /// The real ids of every row, end to end without padding (`Σ lengths` ids): the layout of
  /// ``BertEncoder/packedHiddenStates(of:backend:)``.
  public var packedIDs: [Int] {
    (0..<batchCount).flatMap { sequence($0) }
  }

  /// The real (unpadded) ids of row `index`.
  public func sequence(_ index: Int) -> ArraySlice<Int> {
    ids[(index * sequenceLength)..<(index * sequenceLength + lengths[index])]
  }
}
