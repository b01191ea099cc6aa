/// Scaled dot-product attention: `softmax(Q·Kᵀ · scale + mask) · V`.
///
/// ```
/// scores[b, h, i, j] = scale · Σ_d query[b, h, i, d] · key[b, h / g, j, d]   (g = Hq / Hkv)
/// weights[b, h, i, :] = softmax over the keys j that row i may see
/// output[b, h, i, :]  = Σ_j weights[b, h, i, j] · value[b, h / g, j, :]
/// ```
///
/// Shapes (letters as in the rest of the library):
/// - `query`: `[B, Hq, Nq, Dk]`, or `[Hq, Nq, Dk]`, or `[Nq, Dk]`
/// - `key`: `[B, Hkv, Nk, Dk]` in the same rank; `value`: `[B, Hkv, Nk, Dv]`
/// - result: `[B, Hq, Nq, Dv]` in the query's rank.
///
/// Cross-attention (`Nq ≠ Nk`) and `Dv ≠ Dk` are supported. Grouped-query and multi-query
/// attention: `Hq` must be a multiple of `Hkv`, and query head `h` reads key/value head
/// `h / (Hq / Hkv)` (consecutive groups, as PyTorch, FlashAttention and ggml); K and V are read
/// in place, never repeated.
///
/// Which keys a query row may see is the intersection of the packed sequence it belongs to,
/// `keyLengths` (keys `0..<keyLengths[b]` are real, the rest padding), `causal` (see
/// ``CausalAlignment``), `window` and `mask`; `softcap`, `alibiSlopes` and `sinks` change how its
/// logits and softmax are formed (<doc:AttentionVariants>). The softmax subtracts each row's
/// maximum, so logits of magnitude 1e4 and beyond are exact.
///
/// **Non-finite values.** A row that may see no key has an all-zero output row (and zero
/// probabilities, and a log-sum-exp of `-infinity`, or the sink's logit), never NaN. Masked keys
/// never leak NaN or infinity from `key` or `value`; a NaN or infinity a query does see
/// propagates to exactly that query's output, as IEEE arithmetic does. Every backend follows the
/// same rules; see <doc:NaNAndInfinity>.
///
/// - Parameters:
///   - query: queries `[B, Hq, Nq, Dk]` (or rank 3 or 2, see above).
///   - key: keys `[B, Hkv, Nk, Dk]`.
///   - value: values `[B, Hkv, Nk, Dv]`.
///   - mask: an optional mask whose case names its polarity (``AttentionMask``).
///   - causal: an optional causal mask and its alignment when `Nq ≠ Nk`.
///   - keyLengths: optional per-batch counts of valid keys, each in `0…Nk`.
///   - window: an optional band of keys around each query's aligned position
///     (``AttentionWindow``, sliding-window attention).
///   - packedSequences: several sequences packed end to end along `Nq` and `Nk` of a batch of 1
///     (``PackedSequences``); each attends only to its own keys.
///   - scale: the factor applied to `Q·Kᵀ`; default `1/√Dk`.
///   - softcap: an optional logit cap `C` (`s ← C·tanh(s/C)`), finite and positive.
///   - alibiSlopes: optional ALiBi slopes `m_h`, one per query head (`s ← s − m_h·|p(i) − j|`).
///   - sinks: optional sink logits `σ_h`, one per query head, that join the softmax denominator
///     only.
///   - backend: which implementation runs (``AttentionBackend``); results agree within rounding.
/// - Returns: the output `[B, Hq, Nq, Dv]` in the query's rank.
/// - Throws: `AttentionError` for ranks other than 2…4, disagreeing shapes (naming both), `Hq`
///   not a multiple of `Hkv`, empty dimensions, a mask that does not broadcast, bad key lengths
///   or a non-finite scale; of kind `AttentionError.Kind.memoryLimit` when the buffers the
///   call would allocate exceed ``AttentionMemoryBudget/bytes`` (the message names the bytes and
///   a path that fits).
/// - Complexity: O(B·Hq·Nq·Nk·(Dk + Dv)) time. Extra memory: O(threads · blocks) for the
///   default fused path; O(threads · Nq · Nk) for ``AttentionBackend/blasMaterialized``.
public func scaledDotProductAttention<Scalar: AttentionScalar>(
  query: Tensor<Scalar>, key: Tensor<Scalar>, value: Tensor<Scalar>,
  mask: AttentionMask<Scalar> = .none,
  causal: CausalAlignment? = nil,
  keyLengths: [Int]? = nil,
  window: AttentionWindow? = nil,
  packedSequences: PackedSequences? = nil,
  scale: Scalar? = nil,
  softcap: Scalar? = nil,
  alibiSlopes: [Scalar]? = nil,
  sinks: [Scalar]? = nil,
  backend: AttentionBackend = .blas
) throws -> Tensor<Scalar> {
  try scaledDotProductAttention(
    query: query, key: key, value: value, mask: mask, causal: causal, keyLengths: keyLengths,
    window: window, packedSequences: packedSequences, scale: scale, softcap: softcap,
    alibiSlopes: alibiSlopes, sinks: sinks, backend: backend, returning: []
  ).output
}

/// Scaled dot-product attention that also returns the attention probabilities and/or the row
/// log-sum-exp.
///
/// Identical to
/// ``scaledDotProductAttention(query:key:value:mask:causal:keyLengths:window:packedSequences:scale:softcap:alibiSlopes:sinks:backend:)``
/// otherwise. Asking for ``AttentionOutputs/probabilities`` makes the `.blas` backend run the
/// materialised path, since the probabilities are the full `[B, Hq, Nq, Nk]` matrix.
///
/// - Parameters:
///   - query: queries `[B, Hq, Nq, Dk]` (or rank 3 or 2).
///   - key: keys `[B, Hkv, Nk, Dk]`.
///   - value: values `[B, Hkv, Nk, Dv]`.
///   - mask: an optional mask whose case names its polarity (``AttentionMask``).
///   - causal: an optional causal mask and its alignment when `Nq ≠ Nk`.
///   - keyLengths: optional per-batch counts of valid keys, each in `0…Nk`.
///   - window: an optional band of keys around each query's aligned position.
///   - packedSequences: several sequences packed end to end along `Nq` and `Nk`.
///   - scale: the factor applied to `Q·Kᵀ`; default `1/√Dk`.
///   - softcap: an optional logit cap `C` (`s ← C·tanh(s/C)`).
///   - alibiSlopes: optional ALiBi slopes, one per query head.
///   - sinks: optional sink logits, one per query head.
///   - backend: which implementation runs (``AttentionBackend``).
///   - extras: which of the probabilities `[B, Hq, Nq, Nk]` and log-sum-exp `[B, Hq, Nq]` to
///     return (always rank 4 and 3, whatever the query's rank).
/// - Returns: the output and the requested extras.
/// - Throws: `AttentionError` as the plain form does.
public func scaledDotProductAttention<Scalar: AttentionScalar>(
  query: Tensor<Scalar>, key: Tensor<Scalar>, value: Tensor<Scalar>,
  mask: AttentionMask<Scalar> = .none,
  causal: CausalAlignment? = nil,
  keyLengths: [Int]? = nil,
  window: AttentionWindow? = nil,
  packedSequences: PackedSequences? = nil,
  scale: Scalar? = nil,
  softcap: Scalar? = nil,
  alibiSlopes: [Scalar]? = nil,
  sinks: [Scalar]? = nil,
  backend: AttentionBackend = .blas,
  returning extras: AttentionOutputs
) throws -> AttentionResult<Scalar> {
  try AttentionProblem(
    query: query, key: key, value: value, mask: mask, causal: causal, keyLengths: keyLengths,
    scale: scale, window: window, packedSequences: packedSequences, softcap: softcap,
    alibiSlopes: alibiSlopes, sinks: sinks
  ).run(query: query, key: key, value: value, backend: backend, extras: extras)
}

extension AttentionProblem {
  /// Plans, checks the memory budget, computes and shapes the results: every public entry point
  /// ends here once it has validated its inputs into a problem.
  func run(
    query: Tensor<Scalar>, key: Tensor<Scalar>, value: Tensor<Scalar>,
    backend: AttentionBackend, extras: AttentionOutputs
  ) throws -> AttentionResult<Scalar> {
    // One plan: the path, tiles, workers and buffers; refused before anything is allocated when
    // its buffers exceed the memory budget.
    let plan = try plan(backend: backend, extras: extras)
    let result = compute(
      plan: plan, query: query.scalars, key: key.scalars, value: value.scalars, extras: extras)
    return AttentionResult(
      output: Tensor(uncheckedShape: outputShape, scalars: result.output),
      probabilities: result.probabilities.map {
        Tensor(uncheckedShape: [batchCount, queryHeadCount, queryCount, keyCount], scalars: $0)
      },
      logSumExp: result.logSumExp.map {
        Tensor(uncheckedShape: [batchCount, queryHeadCount, queryCount], scalars: $0)
      })
  }

  /// Runs `plan`'s path.
  func compute(
    plan: AttentionPlan, query: [Scalar], key: [Scalar], value: [Scalar], extras: AttentionOutputs
  ) -> (output: [Scalar], probabilities: [Scalar]?, logSumExp: [Scalar]?) {
    switch plan.path {
    case .naive:
      NaiveAttention.compute(self, query: query, key: key, value: value, extras: extras)
    case .fused:
      FusedAttention.compute(
        self, plan: plan, query: query, key: key, value: value, extras: extras)
    case .materialized:
      MaterializedAttention.compute(
        self, plan: plan, query: query, key: key, value: value, extras: extras)
    }
  }
}
