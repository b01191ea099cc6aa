import Attention

#if canImport(Glibc)
  import Glibc
#endif

/// Scaled dot-product attention in `Double`, written straight from its definition with plain loops
/// and sharing no code with the library beyond the ``Tensor`` container: the one reference the
/// attention tests compare with.
///
/// For query head `h` of batch `b`, with `G = Hq / Hkv` query heads reading key/value head `h / G`:
///
/// ```
/// sees(i)       = { j : visible(b, h, i, j) and bias(b, h, i, j) ≠ −∞ }
/// s(i, j)       = scale · Σ_d Q[b, h, i, d] · K[b, h / G, j, d]
/// logit(i, j)   = s(i, j) + bias(b, h, i, j),  or  C · tanh(s(i, j) / C) + bias(b, h, i, j)
///                 with a softcap C
/// m(i)          = max of logit(i, j) over j ∈ sees(i), and of the sink σ_h if there is one
/// Z(i)          = Σ_{j ∈ sees(i)} exp(logit(i, j) − m(i))  (+ exp(σ_h − m(i)) with a sink)
/// P[b, h, i, j] = exp(logit(i, j) − m(i)) / Z(i) for j ∈ sees(i), 0 elsewhere
/// O[b, h, i, e] = Σ_{j ∈ sees(i)} P[b, h, i, j] · V[b, h / G, j, e]
/// L[b, h, i]    = m(i) + log Z(i)
/// ```
///
/// A row that sees no key is zero, with weights zero and log-sum-exp −∞ (the sink's logit if it
/// has one). Keys a row does not see are skipped, so a NaN or an infinity in their key, value or
/// bias cannot reach it; everything a row sees enters IEEE arithmetic as it is, so NaN and
/// infinity go exactly where IEEE sends them (a NaN logit makes the maximum NaN, logits all −∞
/// give −∞ − (−∞) = NaN, a weight times an infinite value is infinite). That is the library's
/// documented non-finite policy.
package struct ReferenceAttention {
  /// `[B, Hq, Nq, Dv]`, in the query's rank.
  package private(set) var output: Tensor<Double>
  /// The attention weights `P`, `[B, Hq, Nq, Nk]`.
  package let weights: Tensor<Double>
  /// `[B, Hq, Nq]`.
  package let logSumExp: Tensor<Double>
  /// Per query row (b, h, i), flattened: whether the row sees a non-finite input (its query, a
  /// seen key or value row, or a seen bias).
  package private(set) var seesNonFinite: [Bool] = []
  /// Per query row: `scale · max_j Σ_d |Q·K| + |bias|` over finite seen logits, the size the
  /// rounding error of a logit scales with.
  private var logitMagnitude: [Double] = []
  /// Per query row: the largest finite |V| among the seen keys.
  private var valueMagnitude: [Double] = []
  private let keyDimension: Int
  private let keyCount: Int

  /// Attention of `query [B, Hq, Nq, Dk]`, `key [B, Hkv, Nk, Dk]`, `value [B, Hkv, Nk, Dv]`, or
  /// of rank 3 (`[H, N, D]`, B = 1) or 2 (`[N, D]`, B = H = 1); the output has the query's rank.
  ///
  /// - Parameters:
  ///   - scale: the logit scale; `nil` for `1/√Dk`.
  ///   - softcap: `C` in `C · tanh(s / C)`, applied to the scaled product before the bias.
  ///   - sinks: per query head, a logit `σ_h` that joins the softmax's denominator only (`−∞`:
  ///     none).
  ///   - visible: whether query `i` of head `h` in batch `b` may see key `j`.
  ///   - bias: what is added to the logit (`−∞` hides the key too).
  package init(
    query: Tensor<Double>, key: Tensor<Double>, value: Tensor<Double>, scale: Double? = nil,
    softcap: Double? = nil, sinks: [Double]? = nil,
    visible: (_ batch: Int, _ head: Int, _ query: Int, _ key: Int) -> Bool = { _, _, _, _ in true },
    bias: (_ batch: Int, _ head: Int, _ query: Int, _ key: Int) -> Double = { _, _, _, _ in 0 }
  ) {
    func rank4(_ tensor: Tensor<Double>) -> Tensor<Double> {
      precondition((2...4).contains(tensor.rank), "reference: rank 2, 3 or 4, got \(tensor.shape)")
      return try! tensor.reshaped(to: Array(repeating: 1, count: 4 - tensor.rank) + tensor.shape)
    }
    self.init(
      rank4: rank4(query), key: rank4(key), value: rank4(value), scale: scale, softcap: softcap,
      sinks: sinks, visible: visible, bias: bias)
    output = try! output.reshaped(to: query.shape.dropLast() + [output.shape[3]])
  }

  private init(
    rank4 query: Tensor<Double>, key: Tensor<Double>, value: Tensor<Double>, scale: Double?,
    softcap: Double?, sinks: [Double]?, visible: (Int, Int, Int, Int) -> Bool,
    bias: (Int, Int, Int, Int) -> Double
  ) {
    let (batches, heads, nq, dk) = (query.shape[0], query.shape[1], query.shape[2], query.shape[3])
    let (kvHeads, nk, dv) = (key.shape[1], key.shape[2], value.shape[3])
    precondition(
      key.shape == [batches, kvHeads, nk, dk] && value.shape == [batches, kvHeads, nk, dv]
        && heads % kvHeads == 0 && (sinks?.count ?? heads) == heads,
      "reference: shapes \(query.shape), \(key.shape), \(value.shape) do not fit together")
    let group = heads / kvHeads
    let scale = scale ?? 1 / Double(dk).squareRoot()
    let (q, k, v) = (query.scalars, key.scalars, value.scalars)
    keyDimension = dk
    keyCount = nk

    var output = [Double](repeating: 0, count: batches * heads * nq * dv)
    var weights = [Double](repeating: 0, count: batches * heads * nq * nk)
    var logSumExp = [Double](repeating: -.infinity, count: batches * heads * nq)
    for b in 0..<batches {
      for h in 0..<heads {
        let kvHead = b * kvHeads + h / group
        // A sink of −∞ weighs e^(−∞) = 0: no sink.
        let sink = sinks.map { $0[h] }.flatMap { $0 == -.infinity ? nil : $0 }
        for i in 0..<nq {
          let row = (b * heads + h) * nq + i
          let queryRow = q[(row * dk)..<(row * dk + dk)]
          var sees = queryRow.contains { !$0.isFinite }
          var seen: [Int] = []
          var logits: [Double] = []
          var largestLogit = 0.0
          var largestValue = 0.0
          for j in 0..<nk where visible(b, h, i, j) {
            let added = bias(b, h, i, j)
            if added == -.infinity { continue }
            let keyRow = k[((kvHead * nk + j) * dk)..<((kvHead * nk + j) * dk + dk)]
            let valueRow = v[((kvHead * nk + j) * dv)..<((kvHead * nk + j) * dv + dv)]
            sees =
              sees || !added.isFinite || keyRow.contains { !$0.isFinite }
              || valueRow.contains { !$0.isFinite }
            var dot = 0.0
            var magnitude = 0.0
            for (x, y) in zip(queryRow, keyRow) {
              dot += x * y
              magnitude += abs(x * y)
            }
            let product = scale * dot
            seen.append(j)
            logits.append((softcap.map { $0 * tanh(product / $0) } ?? product) + added)
            let logitSize = abs(scale) * magnitude + abs(added)
            if logitSize.isFinite { largestLogit = max(largestLogit, logitSize) }
            for x in valueRow where x.isFinite { largestValue = max(largestValue, abs(x)) }
          }
          seesNonFinite.append(sees)
          logitMagnitude.append(largestLogit)
          valueMagnitude.append(largestValue)
          guard !seen.isEmpty else {  // sees no key: zeros
            logSumExp[row] = sink ?? -.infinity
            continue
          }
          // The IEEE maximum: a NaN anywhere makes it NaN (Swift's `max()` would skip it).
          let candidates = logits + (sink.map { [$0] } ?? [])
          let maximum = candidates.contains { $0.isNaN } ? .nan : candidates.max()!
          let exponentials = logits.map { exp($0 - maximum) }
          let sum = exponentials.reduce(0, +) + (sink.map { exp($0 - maximum) } ?? 0)
          for (position, j) in seen.enumerated() {
            let weight = exponentials[position] / sum
            weights[row * nk + j] = weight
            let valueBase = (kvHead * nk + j) * dv
            for e in 0..<dv { output[row * dv + e] += weight * v[valueBase + e] }
          }
          logSumExp[row] = maximum + log(sum)
        }
      }
    }
    self.output = try! Tensor(shape: [batches, heads, nq, dv], scalars: output)
    self.weights = try! Tensor(shape: [batches, heads, nq, nk], scalars: weights)
    self.logSumExp = try! Tensor(shape: [batches, heads, nq], scalars: logSumExp)
  }

  /// What `scaledDotProductAttention` must return for this request, with the reference's own
  /// reading of every rule of its documentation:
  ///
  /// - Packed sequences split the query and key axes into sequences; a query sees only its own
  ///   sequence's keys, and every position below counts from its sequence's start (with
  ///   `nq`, `nk` the sequence's counts; without packing, one sequence of all the rows).
  /// - A query `i`'s aligned position is `p = i` under a top-left causal mask, else
  ///   `p = i + nk − nq`.
  /// - Key lengths hide keys `j ≥ keyLengths[b]`; a causal mask hides `j > p`; a window hides
  ///   `j < p − keysBefore` and `j > p + keysAfter`.
  /// - `allow(where:)` hides the false entries, `block(where:)` the true ones; masks broadcast
  ///   from their own shape, right-aligned to `[B, H, Nq, Nk]`.
  /// - The logit of a seen key is the softcapped product, minus ALiBi's `m_h · |p − j|`, plus the
  ///   additive mask's entry (`−∞` hides the key).
  ///
  /// Inputs of rank 2 (`[N, D]`), 3 (`[H, N, D]`) or 4, as the library takes them.
  package init<S: AttentionScalar>(
    query: Tensor<S>, key: Tensor<S>, value: Tensor<S>, mask: AttentionMask<S> = .none,
    causal: CausalAlignment? = nil, keyLengths: [Int]? = nil, window: AttentionWindow? = nil,
    packedSequences: PackedSequences? = nil, scale: S? = nil, softcap: S? = nil,
    alibiSlopes: [S]? = nil, sinks: [S]? = nil
  ) {
    let (nq, nk) = (query.shape[query.rank - 2], key.shape[key.rank - 2])
    // Each sequence's first query, first key, query count and key count.
    var sequences: [(query: Int, key: Int, queries: Int, keys: Int)] = []
    if let packedSequences {
      var (firstQuery, firstKey) = (0, 0)
      for (queries, keys) in zip(packedSequences.queryLengths, packedSequences.keyLengths) {
        sequences.append((firstQuery, firstKey, queries, keys))
        (firstQuery, firstKey) = (firstQuery + queries, firstKey + keys)
      }
    } else {
      sequences = [(0, 0, nq, nk)]
    }
    /// Query `i`'s sequence, its aligned position, and key `j`'s position in that sequence
    /// (`nil` when `j` is in another sequence).
    func positions(_ i: Int, _ j: Int) -> (query: Int, key: Int)? {
      let s = sequences.last { $0.query <= i }!
      guard (s.key..<(s.key + s.keys)).contains(j) else { return nil }
      let local = i - s.query
      return (causal == .topLeft ? local : local + s.keys - s.queries, j - s.key)
    }
    /// The flat index of entry (b, h, i, j) of a mask of the given shape, by broadcasting.
    func maskIndex(_ shape: [Int], _ position: [Int]) -> Int {
      let padded = Array(repeating: 1, count: 4 - shape.count) + shape
      var index = 0
      for (size, coordinate) in zip(padded, position) {
        index = index * size + (size == 1 ? 0 : coordinate)
      }
      return index
    }
    self.init(
      query: query.converted(), key: key.converted(), value: value.converted(),
      scale: scale.map(Double.init), softcap: softcap.map(Double.init),
      sinks: sinks?.map(Double.init),
      visible: { b, h, i, j in
        guard let (p, keyPosition) = positions(i, j) else { return false }
        if let keyLengths, keyPosition >= keyLengths[b] { return false }
        if causal != nil, keyPosition > p { return false }
        if let before = window?.keysBefore, keyPosition < p - before { return false }
        if let after = window?.keysAfter, keyPosition > p + after { return false }
        switch mask {
        case .allow(let allowed): return allowed.scalars[maskIndex(allowed.shape, [b, h, i, j])]
        case .block(let blocked): return !blocked.scalars[maskIndex(blocked.shape, [b, h, i, j])]
        case .none, .additive: return true
        }
      },
      bias: { b, h, i, j in
        var bias = 0.0
        if let alibiSlopes, let (p, keyPosition) = positions(i, j) {
          bias -= Double(alibiSlopes[h]) * Double(abs(p - keyPosition))
        }
        if case .additive(let additive) = mask {
          bias += Double(additive.scalars[maskIndex(additive.shape, [b, h, i, j])])
        }
        return bias
      })
  }

  /// A bound on the rounding error of row `row`'s logits (rows counted over `B·Hq·Nq`) when
  /// computed in `S`: each is a dot product of Dk terms, scaled, plus a bias, so it is off by at
  /// most `(Dk + 4)·ε·(scale·Σ|q·k| + |bias|)`.
  package func logitErrorBound<S: AttentionScalar>(row: Int, computedIn _: S.Type) -> Double {
    Double(keyDimension + 4) * Double(S.ulpOfOne) * logitMagnitude[row]
  }

  /// A bound on the absolute rounding error of row `row`'s outputs when computed in `S`: a
  /// weight's relative error is about twice its logits' error plus `(Nk + Dk + 8)·ε` for the
  /// exponential, the sum and the division; an output adds its own sum's rounding. Doubled, plus
  /// a margin for subnormal results.
  package func outputErrorBound<S: AttentionScalar>(row: Int, computedIn _: S.Type) -> Double {
    let weightError =
      2 * logitErrorBound(row: row, computedIn: S.self)
      + Double(keyCount + keyDimension + 8) * Double(S.ulpOfOne)
    return 2 * (2 * weightError) * valueMagnitude[row] + 1e3 * Double.leastNormalMagnitude
  }
}
