import Attention
import DistributedAttention
import Testing

@Suite("SequenceSharding: which rows each process holds")
struct SequenceShardingTests {
  static let sizes: [(length: Int, parts: Int)] = [
    (10, 2), (37, 3), (37, 4), (3, 4), (1, 1), (8, 4), (1000, 7),
  ]

  @Test("every row belongs to exactly one part, in increasing runs", arguments: sizes)
  func partition(length: Int, parts: Int) {
    for layout in SequenceSharding.Layout.allCases {
      let sharding = SequenceSharding(length: length, partCount: parts, layout: layout)
      var owners = [Int](repeating: -1, count: length)
      for part in 0..<parts {
        let ranges = sharding.ranges(ofPart: part)
        #expect(ranges.allSatisfy { !$0.isEmpty })
        #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound <= $1.lowerBound })
        #expect(sharding.rowCount(ofPart: part) == ranges.reduce(0) { $0 + $1.count })
        for row in ranges.joined() {
          #expect(owners[row] == -1, "row \(row) held twice")
          owners[row] = part
        }
      }
      #expect(!owners.contains(-1), "\(layout): every row has an owner")
    }
  }

  @Test("parts differ by at most one row (contiguous) or two (zigzag)", arguments: sizes)
  func balance(length: Int, parts: Int) {
    for (layout, spread) in [(SequenceSharding.Layout.contiguous, 1), (.zigzag, 2)] {
      let sharding = SequenceSharding(length: length, partCount: parts, layout: layout)
      let counts = (0..<parts).map { sharding.rowCount(ofPart: $0) }
      #expect(counts.max()! - counts.min()! <= spread, "\(layout) \(counts)")
    }
  }

  @Test("zigzag gives part p runs p and 2P − 1 − p, so causal work is balanced")
  func zigzag() {
    let sharding = SequenceSharding(length: 16, partCount: 4, layout: .zigzag)
    #expect(sharding.ranges(ofPart: 0) == [0..<2, 14..<16])
    #expect(sharding.ranges(ofPart: 3) == [6..<8, 8..<10])
    // Causal (query, key) pairs per part: Σ over its rows i of (i + 1).
    let work = (0..<4).map { part in
      sharding.ranges(ofPart: part).joined().reduce(0) { $0 + $1 + 1 }
    }
    #expect(work.allSatisfy { $0 == work[0] }, "\(work)")
    #expect(
      SequenceSharding(length: 10, partCount: 2, layout: .zigzag).ranges(ofPart: 1)
        == [2..<5, 5..<7])
    #expect(SequenceSharding.balancedLayout(causal: .topLeft) == .zigzag)
    #expect(SequenceSharding.balancedLayout(causal: nil) == .contiguous)
  }
}
