import AttentionTestSupport
import Testing

@testable import Attention

@Suite("Head split and merge: layout by definition, merge inverts split")
struct TensorHeadsTests {
  @Test(
    "split(x)[b, h, n, d] = x[b, n, h·D + d]; merge(split(x)) = x",
    arguments: [(1, 1, 1, 1), (2, 5, 3, 4), (3, 7, 8, 1), (1, 4, 1, 6)])
  func splitLayout(b: Int, n: Int, h: Int, d: Int) throws {
    var data = TestData(seed: 21)
    let x: Tensor<Float> = data.normal([b, n, h * d])
    let split = try x.splittingHeads(headCount: h)
    #expect(split.shape == [b, h, n, d])
    for bi in 0..<b {
      for hi in 0..<h {
        for ni in 0..<n {
          for di in 0..<d { #expect(split[bi, hi, ni, di] == x[bi, ni, hi * d + di]) }
        }
      }
    }
    #expect(try split.mergingHeads() == x)
  }

  @Test("Unbatched: [N, H·D] ↔ [H, N, D], and merge then split is the identity too")
  func unbatched() throws {
    var data = TestData(seed: 22)
    let x: Tensor<Double> = data.normal([6, 12])
    let split = try x.splittingHeads(headCount: 3)
    #expect(split.shape == [3, 6, 4])
    #expect(split[2, 5, 3] == x[5, 11])
    #expect(split[1, 0, 0] == x[0, 4])
    #expect(try split.mergingHeads() == x)
    let heads: Tensor<Double> = data.normal([2, 4, 5, 3])
    #expect(try heads.mergingHeads().splittingHeads(headCount: 4) == heads)
  }

  @Test("Boolean tensors split too (the operation is a pure re-layout)")
  func booleans() throws {
    let x = try Tensor<Bool>(
      shape: [1, 2, 4], scalars: [true, false, false, true, true, true, false, false])
    let split = try x.splittingHeads(headCount: 2)
    #expect(split.scalars == [true, false, true, true, false, true, false, false])
  }

  @Test("Errors: head count not dividing the features, bad ranks")
  func errors() throws {
    let x = try Tensor<Float>(zeros: [2, 3, 10])
    #expect {
      _ = try x.splittingHeads(headCount: 3)
    } throws: { error in
      let error = error as! AttentionError
      return error.kind == .invalidArgument && error.message.contains("10")
        && error.message.contains("3 heads")
    }
    #expect(throws: AttentionError.self) { try x.splittingHeads(headCount: 0) }
    #expect(throws: AttentionError.self) {
      try Tensor<Float>(zeros: [10]).splittingHeads(headCount: 2)
    }
    #expect(throws: AttentionError.self) { try Tensor<Float>(zeros: [4, 10]).mergingHeads() }
  }
}
