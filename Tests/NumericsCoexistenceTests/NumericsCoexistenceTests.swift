import Attention
import Numerics
import Testing

/// A package that imports both `Attention` and swift-numerics must still compile `Float.exp(x)`:
/// the library once made `Float.exp`, `Float.log`, `Double.exp`, `Double.log` public (as
/// requirements of its scalar protocol), and the compiler then rejected every such call as
/// ambiguous. This file is the proof that it no longer does; the checks make sure the calls
/// resolve to swift-numerics' elementary functions and that the library still works beside them.
@Suite("Attention and swift-numerics in one file")
struct NumericsCoexistenceTests {
  @Test("Float.exp, Float.log, Double.exp and Double.log are swift-numerics' functions")
  func elementaryFunctionsResolve() {
    #expect(abs(Float.exp(1) - 2.718_281_8) < 1e-6)
    #expect(abs(Float.log(Float.exp(3)) - 3) < 1e-6)
    #expect(abs(Double.exp(1) - 2.718_281_828_459_045) < 1e-15)
    #expect(abs(Double.log(10) - 2.302_585_092_994_046) < 1e-15)
    // A generic use through swift-numerics' protocol, as its users write it.
    func softplus<T: Real>(_ x: T) -> T { T.log(1 + T.exp(x)) }
    #expect(abs(softplus(0.0) - Double.log(2)) < 1e-15)
  }

  @Test("the library works in the same file, with Numerics computing the expected weights")
  func attentionBesideNumerics() throws {
    let q = try Tensor<Double>(shape: [1, 1], scalars: [1])
    let k = try Tensor<Double>(shape: [2, 1], scalars: [1, 0])
    let v = try Tensor<Double>(shape: [2, 1], scalars: [1, 0])
    let out = try scaledDotProductAttention(query: q, key: k, value: v)
    let expected = Double.exp(1) / (Double.exp(1) + 1)  // softmax([1, 0])[0]
    #expect(abs(out[0, 0] - expected) < 1e-12)
  }
}
