import Attention
import Foundation

/// One random attention request of the differential fuzzer, drawn from a seed so that any failure
/// reproduces from that seed alone.
///
/// The generator aims at the corners where kernels go wrong: sizes of 1 and primes, many queries
/// with a handful of keys and the reverse, `Dv ≠ Dk`, batches, grouped-query head ratios, every
/// mask kind in every broadcast shape, both causal alignments, key lengths including 0, tiny and
/// large scales, logits of magnitude ~1e4, fully masked rows, and NaN/±infinity planted in rows of
/// Q, K, V and the additive mask, both where the query sees them and where it must not; then
/// windows, packed sequences, softcaps, ALiBi slopes and sinks on top.
struct DifferentialFuzzCase<Scalar: AttentionScalar>: CustomStringConvertible {
  let seed: UInt64
  var query: Tensor<Scalar>
  var key: Tensor<Scalar>
  var value: Tensor<Scalar>
  var mask: AttentionMask<Scalar> = .none
  var causal: CausalAlignment?
  var keyLengths: [Int]?
  var scale: Scalar?
  var extras: AttentionOutputs = []
  var window: AttentionWindow?
  var packedSequences: PackedSequences?
  var softcap: Scalar?
  var alibiSlopes: [Scalar]?
  var sinks: [Scalar]?
  /// What was planted where, for the failure message.
  var plantings: [String] = []
  var maskDescription = "none"

  var description: String {
    var parts = [
      "\(Scalar.dtypeName)", "Q \(query.shape)", "K \(key.shape)", "V \(value.shape)",
      "mask \(maskDescription)",
    ]
    if let causal { parts.append("causal \(causal.rawValue)") }
    if let keyLengths { parts.append("keyLengths \(keyLengths)") }
    parts.append("scale \(scale.map { "\($0)" } ?? "default")")
    if !extras.isEmpty { parts.append("extras \(extras.rawValue)") }
    if let window {
      parts.append(
        "window \(window.keysBefore.map(String.init) ?? "nil")…\(window.keysAfter.map(String.init) ?? "nil")"
      )
    }
    if let packedSequences {
      parts.append("packed \(packedSequences.queryLengths) × \(packedSequences.keyLengths)")
    }
    if let softcap { parts.append("softcap \(softcap)") }
    if let alibiSlopes { parts.append("ALiBi \(alibiSlopes)") }
    if let sinks { parts.append("sinks \(sinks)") }
    if !plantings.isEmpty { parts.append("planted \(plantings.joined(separator: ", "))") }
    return parts.joined(separator: "; ")
  }

  /// Draws a case from `seed`; the budget bounds B·Hq·Nq·Nk·(Dk + Dv) so a run stays fast.
  init(seed: UInt64, workBudget: Int = 120_000) {
    self.seed = seed
    var random = SplitMix64(seed: seed)
    func pick<T>(_ choices: [T]) -> T { choices[Int.random(in: 0..<choices.count, using: &random)] }
    func chance(_ probability: Double) -> Bool {
      Double.random(in: 0..<1, using: &random) < probability
    }

    let rank = pick([2, 3, 4, 4, 4])
    var batches = rank == 4 ? pick([1, 1, 2, 3]) : 1
    var kvHeads = rank >= 3 ? pick([1, 1, 2, 3]) : 1
    var group = rank >= 3 ? pick([1, 1, 2, 3, 4]) : 1
    let small = [1, 2, 3, 5, 7, 11, 13, 17]
    var (nq, nk): (Int, Int)
    switch Int.random(in: 0..<6, using: &random) {
    // The fused kernel tiles queries by 64 and keys by 256: sizes straddle those boundaries.
    case 0: (nq, nk) = (pick([61, 127, 131, 257, 300]), pick([1, 2, 3]))
    case 1: (nq, nk) = (pick([1, 2, 3]), pick([61, 127, 131, 257, 300, 520, 1030]))
    case 2: (nq, nk) = (pick([31, 64, 67, 97, 128, 130]), pick([31, 64, 67, 97, 128, 130]))
    case 3: (nq, nk) = (1, 1)
    default: (nq, nk) = (pick(small), pick(small))
    }
    let dimensions = [1, 2, 3, 4, 5, 8, 13, 16, 32, 64, 67]
    var dk = pick(dimensions)
    var dv = chance(0.3) ? dk : pick(dimensions)
    // Shrink to the budget: feature sizes first, then heads and batches; Nq and Nk stay, since
    // their extremes are the point of the shape kinds.
    func work() -> Int { batches * kvHeads * group * nq * nk * (dk + dv) }
    while work() > workBudget {
      if dk > 8 || dv > 8 {
        dk = max(1, dk / 2)
        dv = max(1, dv / 2)
      } else if group > 1 {
        group -= 1
      } else if kvHeads > 1 {
        kvHeads -= 1
      } else if batches > 1 {
        batches -= 1
      } else if dk > 1 || dv > 1 {
        dk = max(1, dk / 2)
        dv = max(1, dv / 2)
      } else {
        break
      }
    }
    let heads = kvHeads * group
    func shaped(_ full: [Int]) -> [Int] { Array(full.suffix(rank)) }

    // The scale and the data magnitude: logits are about scale·σ²·√Dk.
    let effectiveScale: Double
    switch Int.random(in: 0..<6, using: &random) {
    case 0: scale = Scalar(1e-6)
    case 1: scale = Scalar(pick([8.0, 32.0]))
    case 2: scale = Scalar(Double.random(in: 0.05...2, using: &random))
    case 3: scale = 0
    default: scale = nil
    }
    effectiveScale = scale.map(Double.init) ?? 1 / Double(dk).squareRoot()
    var sigma = 1.0
    if chance(0.2), effectiveScale > 0 {
      // Logits of magnitude ~1e4: the softmax must subtract the row maximum to survive.
      sigma = min(1e5, (1e4 / (effectiveScale * Double(dk).squareRoot())).squareRoot())
    }
    let valueSigma = chance(0.15) ? 1e4 : 1.0
    query = try! .randomNormal(
      shape: shaped([batches, heads, nq, dk]), standardDeviation: Scalar(sigma), using: &random)
    key = try! .randomNormal(
      shape: shaped([batches, kvHeads, nk, dk]), standardDeviation: Scalar(sigma), using: &random)
    value = try! .randomNormal(
      shape: shaped([batches, kvHeads, nk, dv]), standardDeviation: Scalar(valueSigma),
      using: &random)

    // The mask, in one of the broadcast shapes.
    let maskShapes = [
      [nq, nk], [batches, 1, nq, nk], [batches, heads, nq, nk], [batches, 1, 1, nk],
      [heads, nq, nk],
    ]
    let maskShape = pick(maskShapes)
    let maskCount = maskShape.reduce(1, *)
    let maskKind = Int.random(in: 0..<7, using: &random)
    if maskKind == 1 || maskKind == 2 || maskKind == 3 || maskKind == 4 {
      let density = pick([0.05, 0.5, 0.9, 1.0])
      var allowed = (0..<maskCount).map { _ in chance(density) }
      if chance(0.3), let width = maskShape.last {
        // A fully masked row of the mask.
        let row = Int.random(in: 0..<(maskCount / width), using: &random)
        for j in 0..<width { allowed[row * width + j] = false }
      }
      if maskKind <= 2 {
        mask = .allow(where: try! Tensor(shape: maskShape, scalars: allowed))
        maskDescription = "allow \(maskShape) density \(density)"
      } else {
        mask = .block(where: try! Tensor(shape: maskShape, scalars: allowed.map { !$0 }))
        maskDescription = "block \(maskShape) density \(density)"
      }
    } else if maskKind == 5 || maskKind == 6 {
      let blocked = pick([0.0, 0.1, 0.5, 1.0])
      let biasSigma = chance(0.2) ? 1e3 : 1.0
      var bias = try! Tensor<Scalar>.randomNormal(
        shape: maskShape, standardDeviation: Scalar(biasSigma), using: &random)
      bias.withUnsafeMutableBufferPointer { entries in
        for index in entries.indices where chance(blocked) { entries[index] = -.infinity }
      }
      mask = .additive(bias)
      maskDescription = "additive \(maskShape) σ \(biasSigma) -inf fraction \(blocked)"
    }

    if chance(0.5) { causal = pick(CausalAlignment.allCases) }
    if chance(0.4) {
      keyLengths = (0..<batches).map { _ in
        chance(0.3) ? pick([0, nk]) : Int.random(in: 0...nk, using: &random)
      }
    }
    if chance(0.3) { extras = pick([[.logSumExp], [.probabilities, .logSumExp]]) }

    // NaN and ±infinity in random rows; the policy says where they may show up.
    if chance(0.45) {
      for _ in 0..<Int.random(in: 1...3, using: &random) {
        let poison: Scalar = pick([.nan, .infinity, -.infinity])
        let wholeRow = chance(0.15)
        switch Int.random(in: 0..<4, using: &random) {
        case 0: plantings.append(Self.plant(poison, in: &query, wholeRow, "Q", &random))
        case 1: plantings.append(Self.plant(poison, in: &key, wholeRow, "K", &random))
        case 2: plantings.append(Self.plant(poison, in: &value, wholeRow, "V", &random))
        default:
          guard case .additive(var bias) = mask else { continue }
          let poison: Scalar = chance(0.7) ? .nan : .infinity
          plantings.append(Self.plant(poison, in: &bias, false, "mask", &random))
          mask = .additive(bias)
        }
      }
    }

    // The position rules and logit modifications, drawn last so that the draws above stay
    // those of earlier versions of the fuzzer.
    if batches == 1, keyLengths == nil, chance(0.2) {
      // Up to 4 sequences, each with at least one query and one key.
      let count = Int.random(in: 1...min(4, nq, nk), using: &random)
      func lengths(summingTo total: Int) -> [Int] {
        var cuts = Set<Int>()
        while cuts.count < count - 1 { cuts.insert(Int.random(in: 1..<total, using: &random)) }
        let bounds = [0] + cuts.sorted() + [total]
        return (0..<count).map { bounds[$0 + 1] - bounds[$0] }
      }
      packedSequences = PackedSequences(
        queryLengths: lengths(summingTo: nq), keyLengths: lengths(summingTo: nk))
    }
    if chance(0.25) {
      // Bounds up to past every sequence's key count: a bound of Nk or more still cuts where
      // the aligned position lies outside the keys (Nq > Nk).
      let keys = packedSequences?.keyLengths.max() ?? nk
      window = AttentionWindow(
        keysBefore: chance(0.7) ? Int.random(in: 0...(keys + 2), using: &random) : nil,
        keysAfter: chance(0.6) ? Int.random(in: 0...(keys + 2), using: &random) : nil)
    }
    if chance(0.2) { softcap = Scalar(pick([0.5, 5.0, 30.0])) }
    if chance(0.2) { alibiSlopes = (0..<heads).map { _ in Scalar(pick([0, 0.0625, 0.5, 2])) } }
    if chance(0.2) {
      sinks = (0..<heads).map { _ in
        chance(0.2) ? -.infinity : Scalar(Double.random(in: -3...3, using: &random))
      }
    }
  }

  /// Writes `poison` into one element (or a whole last-dimension row) of `tensor` and says where.
  private static func plant(
    _ poison: Scalar, in tensor: inout Tensor<Scalar>, _ wholeRow: Bool, _ name: String,
    _ random: inout SplitMix64
  ) -> String {
    let width = tensor.shape.last!
    let row = Int.random(in: 0..<(tensor.count / width), using: &random)
    let column = Int.random(in: 0..<width, using: &random)
    tensor.withUnsafeMutableBufferPointer { elements in
      if wholeRow {
        for e in 0..<width { elements[row * width + e] = poison }
      } else {
        elements[row * width + column] = poison
      }
    }
    return "\(poison) in \(name) flat row \(row)\(wholeRow ? " (whole row)" : " col \(column)")"
  }
}
