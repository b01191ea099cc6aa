import Attention
import Testing

// The one comparison rule of the test suite, and the one `expectClose` built on it.
//
// An element `a` matches its expected value `e` when
//
//     |a − e| ≤ tolerance · (1 + |e|)
//
// (absolute near zero, relative for large values); a NaN matches only a NaN, and an infinity only
// the same infinity. A comparison of nothing — an empty result, or a count or shape that differs
// from the expectation — fails: a test that compares nothing shows nothing.

/// How far `actual` is from `expected` under the suite's comparison rule: `|a − e| / (1 + |e|)`,
/// 0 for two NaNs or two equal infinities, and +infinity when one is NaN or infinite and the
/// other is not the same.
///
/// An element matches when this is at most the tolerance.
package func scaledDifference(_ actual: Double, _ expected: Double) -> Double {
  if actual.isNaN || expected.isNaN { return actual.isNaN && expected.isNaN ? 0 : .infinity }
  if actual.isInfinite || expected.isInfinite { return actual == expected ? 0 : .infinity }
  return abs(actual - expected) / (1 + abs(expected))
}

/// The largest ``scaledDifference(_:_:)`` over paired elements, or +infinity when the counts
/// differ or there is nothing to compare: the measure ``expectClose(_:_:tolerance:_:sourceLocation:)-(C1,C2,_,_,_)``
/// checks, for code that cannot record issues (a child process of an exit test).
package func largestScaledDifference<A: BinaryFloatingPoint, E: BinaryFloatingPoint>(
  _ actual: some Collection<A>, _ expected: some Collection<E>
) -> Double {
  guard actual.count == expected.count, !actual.isEmpty else { return .infinity }
  var worst = 0.0
  for (a, e) in zip(actual, expected) {
    let difference = scaledDifference(Double(a), Double(e))
    if difference > worst { worst = difference }
  }
  return worst
}

/// Expects `actual` to match `expected` element for element under the suite's comparison rule
/// (see the top of this file); records one issue naming the first and the worst mismatch.
///
/// Fails when the counts differ or both are empty.
///
/// - Returns: the largest scaled difference (+infinity on a count mismatch, an empty comparison
///   or a NaN or infinity out of place), for tests that also print it.
@discardableResult
package func expectClose<A: BinaryFloatingPoint, E: BinaryFloatingPoint>(
  _ actual: some Collection<A>, _ expected: some Collection<E>, tolerance: Double,
  _ comment: @autoclosure () -> String = "", sourceLocation: SourceLocation = #_sourceLocation
) -> Double {
  guard actual.count == expected.count else {
    Issue.record(
      "\(comment()): \(actual.count) elements, expected \(expected.count)",
      sourceLocation: sourceLocation)
    return .infinity
  }
  guard !actual.isEmpty else {
    Issue.record(
      "\(comment()): nothing to compare (both are empty)", sourceLocation: sourceLocation)
    return .infinity
  }
  var worst = 0.0
  var worstIndex = 0
  var firstMismatch: Int?
  var mismatchCount = 0
  for (index, (a, e)) in zip(actual, expected).enumerated() {
    let difference = scaledDifference(Double(a), Double(e))
    if !(difference <= tolerance) {
      mismatchCount += 1
      if firstMismatch == nil { firstMismatch = index }
    }
    if difference > worst || index == 0 { (worst, worstIndex) = (difference, index) }
  }
  if let firstMismatch {
    let actualValues = Array(actual)
    let expectedValues = Array(expected)
    func pair(_ index: Int) -> String {
      "element \(index) is \(actualValues[index]), expected \(expectedValues[index])"
    }
    Issue.record(
      """
      \(comment()): \(mismatchCount) of \(actual.count) elements differ beyond \
      |a − e| ≤ \(tolerance)·(1 + |e|); first: \(pair(firstMismatch)); \
      worst: \(pair(worstIndex)) (scaled difference \(worst))
      """,
      sourceLocation: sourceLocation)
  }
  return worst
}

/// Expects `actual` to have `expected`'s shape and to match it element for element under the
/// suite's comparison rule (see the top of this file). The element types may differ: a `Float`
/// result is compared with a `Double` reference directly.
///
/// Fails when the shapes differ or the tensors are empty.
///
/// - Returns: the largest scaled difference (see ``scaledDifference(_:_:)``).
@discardableResult
package func expectClose<A: AttentionScalar, E: AttentionScalar>(
  _ actual: Tensor<A>, _ expected: Tensor<E>, tolerance: Double,
  _ comment: @autoclosure () -> String = "", sourceLocation: SourceLocation = #_sourceLocation
) -> Double {
  guard actual.shape == expected.shape else {
    Issue.record(
      "\(comment()): shape \(actual.shape), expected \(expected.shape)",
      sourceLocation: sourceLocation)
    return .infinity
  }
  return expectClose(
    actual.scalars, expected.scalars, tolerance: tolerance, comment(),
    sourceLocation: sourceLocation)
}
