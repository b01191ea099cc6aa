import Attention
import Testing

@testable import DistributedAttention

@Suite("CausalBlock: a run of queries against a run of keys under the global causal rule")
struct CausalBlockTests {
  @Test("the pieces see exactly the keys the global rule allows")
  func exhaustive() {
    for offset in [-9, -3, 0, 2, 7] {
      for queryStart in 0..<8 {
        for queryCount in 0..<6 {
          for keyStart in 0..<8 {
            for keyCount in 0..<6 {
              let block = CausalBlock(
                queryStart: queryStart, queryCount: queryCount, keyStart: keyStart,
                keyCount: keyCount, offset: offset)
              #expect(block.maskedKeyCount <= keyCount)
              for i in 0..<queryCount {
                for j in 0..<keyCount {
                  let visible = keyStart + j <= queryStart + i + offset
                  var computed = block.unmaskedQueries.contains(i)
                  if block.maskedQueries.contains(i) {
                    // Bottom-right on maskedQueries × the first maskedKeyCount keys.
                    let local = i - block.maskedQueries.lowerBound
                    computed =
                      j < block.maskedKeyCount
                      && j <= local + block.maskedKeyCount - block.maskedQueries.count
                  }
                  #expect(
                    computed == visible,
                    "q \(queryStart)+\(i), k \(keyStart)+\(j), offset \(offset): \(block)")
                }
              }
              // A query in a computed piece sees at least one key of it.
              for i in block.maskedQueries {
                #expect(
                  i - block.maskedQueries.lowerBound + block.maskedKeyCount
                    - block.maskedQueries.count >= 0)
              }
            }
          }
        }
      }
    }
  }

  @Test("no causal rule: every query sees every key")
  func noRule() {
    let block = CausalBlock(queryStart: 5, queryCount: 4, keyStart: 100, keyCount: 3, offset: nil)
    #expect(block.maskedQueries.isEmpty && block.maskedKeyCount == 0)
    #expect(block.unmaskedQueries == 0..<4)
  }
}
