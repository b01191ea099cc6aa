/// Which implementation computes attention. All give the same results within rounding.
public enum AttentionBackend: String, Sendable, CaseIterable {
  /// The default: BLAS matrix products in a fused, tiled kernel whose extra memory does not grow
  /// with `Nq·Nk`. When attention probabilities are requested it runs ``blasMaterialized``.
  case blas
  /// BLAS matrix products on the full `Nq × Nk` score matrix of each head.
  case blasMaterialized = "blas-materialized"
  /// Plain Swift loops without BLAS: slow, simple, the cross-check oracle.
  case naive
}
