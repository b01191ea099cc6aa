import Attention

/// Which rows of a sequence (positions along `N`) each of `P` processes holds.
///
/// - ``Layout-swift.enum/contiguous``: part `p` holds one run of rows,
///   `[p·N/P, (p+1)·N/P)` (integer division), so parts differ by at most one row. Balanced for
///   attention without a causal mask.
/// - ``Layout-swift.enum/zigzag``: the sequence is cut into `2P` runs `c = 0..<2P`,
///   `[c·N/(2P), (c+1)·N/(2P))`, and part `p` holds runs `p` and `2P − 1 − p`: one early and one
///   late run, so every part has about the same number of (query, key) pairs under a causal mask
///   (rank 0 does not idle while the last rank works). Parts differ by at most two rows.
///
/// A part's local tensor is its rows in increasing order of position, its runs concatenated along
/// `N`.
///
/// ```swift
/// let sharding = SequenceSharding(length: 10, partCount: 2, layout: .zigzag)
/// sharding.ranges(ofPart: 0)  // [0..<2, 7..<10]
/// sharding.ranges(ofPart: 1)  // [2..<5, 5..<7]  (runs 1 and 2)
/// ```
public struct SequenceSharding: Sendable, Hashable {
  /// How rows are assigned to parts.
  public enum Layout: String, Sendable, Hashable, CaseIterable {
    /// One run of about `N/P` rows per part, in order.
    case contiguous
    /// Runs `p` and `2P − 1 − p` of `2P` for part `p`: balanced under a causal mask.
    case zigzag
  }

  /// The sequence length `N`, at least 1.
  public let length: Int
  /// The number of parts `P`, at least 1.
  public let partCount: Int
  /// How rows are assigned to parts.
  public let layout: Layout

  /// A sharding of `length` rows over `partCount` parts.
  ///
  /// - Parameters:
  ///   - length: the sequence length `N`, at least 1.
  ///   - partCount: the number of parts (processes) `P`, at least 1. `N < P` (or `N < 2P` for
  ///     ``Layout-swift.enum/zigzag``) leaves some parts without rows; that is allowed.
  ///   - layout: how rows are assigned.
  public init(length: Int, partCount: Int, layout: Layout) {
    precondition(length >= 1, "a sharded sequence needs at least one row, got \(length)")
    precondition(partCount >= 1, "a sharding needs at least one part, got \(partCount)")
    self.length = length
    self.partCount = partCount
    self.layout = layout
  }

  /// The layout that balances attention's work: ``Layout-swift.enum/zigzag`` under a causal
  /// mask, ``Layout-swift.enum/contiguous`` without one.
  public static func balancedLayout(causal: CausalAlignment?) -> Layout {
    causal == nil ? .contiguous : .zigzag
  }

  /// The rows part `part` holds, in increasing order, empty runs dropped.
  ///
  /// Adjacent runs (part `P − 1` of a zigzag sharding holds runs `P − 1` and `P`) stay separate:
  /// with the same sharding for queries and keys, every block that crosses the causal diagonal
  /// is then square, and the engine computes it on the runs in place.
  ///
  /// - Parameter part: a part index in `0..<partCount`.
  /// - Returns: disjoint, increasing ranges of positions in `0..<length`.
  public func ranges(ofPart part: Int) -> [Range<Int>] {
    precondition((0..<partCount).contains(part), "part \(part) outside 0..<\(partCount)")
    switch layout {
    case .contiguous:
      return [run(part, of: partCount)].filter { !$0.isEmpty }
    case .zigzag:
      return [run(part, of: 2 * partCount), run(2 * partCount - 1 - part, of: 2 * partCount)]
        .filter { !$0.isEmpty }
    }
  }

  /// The number of rows part `part` holds.
  public func rowCount(ofPart part: Int) -> Int {
    ranges(ofPart: part).reduce(0) { $0 + $1.count }
  }

  /// Run `index` of `count` equal runs of the sequence.
  private func run(_ index: Int, of count: Int) -> Range<Int> {
    (index * length / count)..<((index + 1) * length / count)
  }
}
