import Testing

@testable import Attention

@Suite("Bad input gives a specific error")
struct AttentionErrorTests {
  func error(_ body: () throws -> Tensor<Float>) -> AttentionError? {
    do {
      _ = try body()
      return nil
    } catch let error as AttentionError {
      return error
    } catch {
      return nil
    }
  }

  let q = try! Tensor<Float>(zeros: [2, 4, 5, 8])
  let k = try! Tensor<Float>(zeros: [2, 2, 6, 8])
  let v = try! Tensor<Float>(zeros: [2, 2, 6, 3])

  @Test("Shape mismatches name both shapes")
  func shapeMismatch() throws {
    let badKey = try Tensor<Float>(zeros: [2, 2, 6, 7])
    let e = error { try scaledDotProductAttention(query: q, key: badKey, value: v) }
    #expect(e?.kind == .shapeMismatch)
    #expect(
      e?.message.contains("[2, 4, 5, 8]") == true && e?.message.contains("[2, 2, 6, 7]") == true,
      "\(String(describing: e))")
    let badValue = try Tensor<Float>(zeros: [2, 2, 5, 3])
    let e2 = error { try scaledDotProductAttention(query: q, key: k, value: badValue) }
    #expect(
      e2?.message.contains("[2, 2, 6, 8]") == true && e2?.message.contains("[2, 2, 5, 3]") == true)
    let otherBatch = try Tensor<Float>(zeros: [3, 2, 6, 8])
    #expect(
      error { try scaledDotProductAttention(query: q, key: otherBatch, value: v) }?.kind
        == .shapeMismatch)
    let otherRank = try Tensor<Float>(zeros: [2, 6, 8])
    #expect(
      error { try scaledDotProductAttention(query: q, key: otherRank, value: v) }?.kind
        == .shapeMismatch)
  }

  @Test("Hq must be a multiple of Hkv")
  func headGrouping() throws {
    let q3 = try Tensor<Float>(zeros: [2, 3, 5, 8])
    let e = error { try scaledDotProductAttention(query: q3, key: k, value: v) }
    #expect(e?.kind == .shapeMismatch)
    #expect(
      e?.message.contains("multiple") == true && e?.message.contains("(3)") == true
        && e?.message.contains("(2)") == true)
  }

  @Test("Ranks outside 2…4 and empty dimensions are rejected")
  func ranksAndEmptyDimensions() throws {
    let rank1 = try Tensor<Float>(zeros: [8])
    #expect(
      error { try scaledDotProductAttention(query: rank1, key: rank1, value: rank1) }?.kind
        == .invalidShape)
    let empty = try Tensor<Float>(zeros: [0, 8])
    let e = error {
      try scaledDotProductAttention(
        query: empty, key: try Tensor(zeros: [3, 8]), value: try Tensor(zeros: [3, 8]))
    }
    #expect(e?.kind == .invalidShape)
    #expect(e?.message.contains("[0, 8]") == true)
  }

  @Test("Masks that do not broadcast, bad key lengths and a non-finite scale are rejected")
  func badOptions() throws {
    let mask = try Tensor<Bool>(shape: [5, 5], repeating: true)
    let e = error {
      try scaledDotProductAttention(query: q, key: k, value: v, mask: .allow(where: mask))
    }
    #expect(e?.kind == .shapeMismatch)
    #expect(e?.message.contains("[5, 5]") == true && e?.message.contains("[2, 4, 5, 6]") == true)
    let wrongBatchMask = try Tensor<Float>(zeros: [3, 1, 5, 6])
    #expect(
      error {
        try scaledDotProductAttention(query: q, key: k, value: v, mask: .additive(wrongBatchMask))
      }?.kind == .shapeMismatch)
    #expect(
      error { try scaledDotProductAttention(query: q, key: k, value: v, keyLengths: [1]) }?.kind
        == .invalidArgument)
    #expect(
      error { try scaledDotProductAttention(query: q, key: k, value: v, keyLengths: [1, 7]) }?
        .message.contains("7") == true)
    #expect(
      error { try scaledDotProductAttention(query: q, key: k, value: v, keyLengths: [-1, 2]) }?.kind
        == .invalidArgument)
    #expect(
      error { try scaledDotProductAttention(query: q, key: k, value: v, scale: .infinity) }?.kind
        == .invalidArgument)
  }

  @Test("Tensor construction checks counts, negative dimensions and overflow")
  func tensorConstruction() {
    #expect(throws: AttentionError.self) { try Tensor<Float>(shape: [2, 3], scalars: [1, 2]) }
    #expect(throws: AttentionError.self) { try Tensor<Float>(shape: [-1, 3], repeating: 0) }
    do {
      _ = try Tensor<Float>(shape: [1 << 40, 1 << 40], repeating: 0)
      Issue.record("expected an overflow error")
    } catch let error as AttentionError {
      #expect(error.kind == .memoryLimit)
    } catch {
      Issue.record("unexpected \(error)")
    }
  }
}
