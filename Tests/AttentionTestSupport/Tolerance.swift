/// The tolerances of the test suite, each with the reason it is as large as it is.
///
/// Every one is used with the suite's one comparison rule, |a − e| ≤ tolerance · (1 + |e|)
/// (see `ExpectClose.swift`). Unit-scale data throughout: normal samples of standard deviation 1,
/// head dimensions up to 128, rows of up to a few hundred keys.
package enum Tolerance {
  /// A `Float` result against a `Float` result of another execution path (fused or materialised
  /// BLAS against naive loops, a layer against its parts): both round in `Float` (unit roundoff
  /// 6e-8) but sum in different orders, so dot products of Dk ≤ 128 terms and sums over a few
  /// hundred keys can drift by a few hundred roundoffs.
  package static let floatVersusFloat = 2e-5

  /// A `Float` result against a `Double` computation (the reference, or the library in `Double`)
  /// of the same `Float`-representable inputs: only the `Float` side rounds, so half of
  /// ``floatVersusFloat``.
  package static let floatVersusDouble = 1e-5

  /// A `Double` result against a `Double` computation by another path: the same drift as
  /// ``floatVersusFloat`` at `Double`'s unit roundoff (1.1e-16), with room for the exp and log.
  package static let doubleVersusDouble = 1e-12

  /// A `Float` result of a short computation against the `Double` formula: a handful of
  /// roundings per element (a softmax row: one exp, one sum, one division; a mean and a norm),
  /// without the long dot products of attention, so tighter than ``floatVersusDouble``.
  package static let floatShortComputation = 1e-6

  /// ``floatShortComputation`` in `Double` (the library's vectorised exp is within 1e-15 of
  /// glibc's).
  package static let doubleShortComputation = 1e-14

  /// The same computation on the same values in `Float`, where only the split of work between
  /// threads may differ (the `attention` binary against a direct library call, grouped heads
  /// against repeated ones): a few roundoffs.
  package static let floatSameComputation = 1e-6

  /// ``floatSameComputation`` in `Double`.
  package static let doubleSameComputation = 1e-13

  /// The library in `Double` against PyTorch's `float64` forward pass recorded in a fixture:
  /// both are exact to a few `Double` roundoffs, summed in different orders.
  package static let pyTorchDouble = 1e-12

  /// The library in `Float` against PyTorch's `float32` forward pass (or a `float64` evaluation of
  /// it on `float32` inputs) recorded in a fixture: both round in `Float`, in different orders,
  /// through layer norms and GELU as well as attention (all-MiniLM-L6-v2's hidden states).
  package static let pyTorchFloat = 1e-5

  /// A value stored as `Float16` (11 significant bits: `.npy` `<f2`, safetensors `F16`) against
  /// the `Float` or `Double` value it was rounded from, or a result computed from such inputs:
  /// rounding to `Float16` moves a value by up to half an ulp, 2⁻¹¹ ≈ 4.9e-4 of it; twice that.
  package static let float16Storage = 1e-3
}
