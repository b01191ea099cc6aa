/// A learned positional encoding: a table `[P, d]` whose row `pos` is the vector of position
/// `pos`, as BERT (`position_embeddings`) and GPT-2 (`wpe`) use.
///
/// Unlike ``SinusoidalPositionalEncoding`` it knows only the `P` positions it was trained on;
/// asking for another is an error.
public struct LearnedPositionalEncoding<Scalar: AttentionScalar>: PositionalEncoding {
  /// The table `[P, d]`, one row per position.
  public let table: Tensor<Scalar>

  /// `P`, the number of positions the table covers (`0..<P`).
  public var maximumPositionCount: Int { table.shape[0] }
  /// `d`, the number of features.
  public var dimension: Int { table.shape[1] }

  /// Creates the encoding from a trained table.
  ///
  /// - Parameter table: `[P, d]` with `P, d > 0` (PyTorch's `nn.Embedding.weight`).
  /// - Throws: `AttentionError` (`invalidShape`) for another rank or an empty dimension.
  public init(table: Tensor<Scalar>) throws {
    guard table.rank == 2, table.shape[0] > 0, table.shape[1] > 0 else {
      throw AttentionError(
        .invalidShape,
        "a learned position table must be [P, d] with P, d > 0, got shape \(table.shape.shapeDescription)"
      )
    }
    self.table = table
  }

  /// Creates a table of independent normal samples, as PyTorch's `nn.Embedding` does by default
  /// (standard deviation 1; BERT uses 0.02).
  ///
  /// - Parameters:
  ///   - maximumPositionCount: `P`, > 0.
  ///   - dimension: `d`, > 0.
  ///   - standardDeviation: the samples' standard deviation.
  ///   - generator: the source of randomness; the same seed gives the same table.
  /// - Throws: `AttentionError` for non-positive sizes.
  public init<G: RandomNumberGenerator>(
    maximumPositionCount: Int, dimension: Int, standardDeviation: Scalar = 1,
    using generator: inout G
  ) throws {
    guard maximumPositionCount > 0, dimension > 0 else {
      throw AttentionError(
        .invalidShape,
        "a learned position table needs P > 0 positions and d > 0 features, got P = \(maximumPositionCount), d = \(dimension)"
      )
    }
    try self.init(
      table: Tensor.randomNormal(
        shape: [maximumPositionCount, dimension], standardDeviation: standardDeviation,
        using: &generator))
  }

  /// The table rows of the given positions, `[positions.count, d]`.
  ///
  /// - Parameter positions: positions in `0..<P`, any order, repeats allowed.
  /// - Throws: `AttentionError` (`invalidArgument`) naming the first position outside `0..<P`.
  /// - Complexity: O(positions.count · d).
  public func encodings(at positions: [Int]) throws -> Tensor<Scalar> {
    let count = maximumPositionCount
    if let bad = positions.first(where: { $0 < 0 || $0 >= count }) {
      throw AttentionError(
        .invalidArgument,
        "position \(bad) is outside the learned table's positions 0..<\(count) (table shape \(table.shape.shapeDescription))"
      )
    }
    let width = dimension
    var scalars = [Scalar]()
    scalars.reserveCapacity(positions.count * width)
    table.withUnsafeBufferPointer { rows in
      for position in positions {
        scalars.append(contentsOf: rows[(position * width)..<((position + 1) * width)])
      }
    }
    return Tensor(uncheckedShape: [positions.count, width], scalars: scalars)
  }
}
