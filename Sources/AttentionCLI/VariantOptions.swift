import ArgumentParser
import Attention

/// The attention variants on the command line, shared by `sdpa` and `mha`: a sliding window,
/// a logit softcap, ALiBi slopes, sinks and packed sequences. Each bad value is one error line
/// naming the option and the value: usage errors (status 64) for what the command line alone
/// shows, data errors (status 1) for what only the tensors' shapes reveal.
struct VariantOptions: ParsableArguments {
  // `.unconditional`: the value may start with a minus sign (`--window -1,0`).
  @Option(
    parsing: .unconditional,
    help: ArgumentHelp(
      "Sliding window: query i sees keys p(i) − LEFT … p(i) + RIGHT (-1: unbounded on that side; "
        + "Mistral's sliding_window W with --causal is W-1,0).",
      valueName: "LEFT,RIGHT"))
  var window: String?

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp("Logit soft-capping: s ← C·tanh(s / C) (Gemma 2).", valueName: "C"))
  var softcap: Double?

  @Option(
    help: ArgumentHelp(
      "ALiBi slopes [Hq]: s ← s − m_h·|p(i) − j| (any float dtype).", valueName: "m.npy"))
  var alibiSlopes: String?

  @Option(
    help: ArgumentHelp(
      "Sink logits [Hq], one per query head: join the softmax denominator only.",
      valueName: "s.npy"))
  var sinks: String?

  @Option(
    help: ArgumentHelp(
      "Sequences packed along Nq: their query counts, summing to Nq (rank 2 or 3, or B = 1).",
      valueName: "a,b,…"),
    transform: { try IntegerList.parse($0, minimum: 1, what: "a positive sequence length") })
  var packedQueryLengths: [Int]?

  @Option(
    help: ArgumentHelp(
      "The packed sequences' key counts, summing to Nk (with --packed-query-lengths).",
      valueName: "x,y,…"),
    transform: { try IntegerList.parse($0, minimum: 1, what: "a positive sequence length") })
  var packedKeyLengths: [Int]?

  /// The files these options read, for the output-is-an-input check.
  var inputs: [FileArgument] {
    [
      alibiSlopes.map { FileArgument($0, option: "--alibi-slopes") },
      sinks.map { FileArgument($0, option: "--sinks") },
    ].compactMap { $0 }
  }

  func validate() throws {
    _ = try parsedWindow()
    if let softcap, !(softcap.isFinite && softcap > 0) {
      throw ValidationError("--softcap must be a finite positive number, got \(softcap)")
    }
    switch (packedQueryLengths, packedKeyLengths) {
    case (nil, nil): break
    case (let queries?, let keys?):
      guard queries.count == keys.count else {
        throw ValidationError(
          "--packed-query-lengths gives \(queries.count) sequences but --packed-key-lengths gives \(keys.count); give one query and one key count per sequence"
        )
      }
    case (nil, _?): throw ValidationError("--packed-key-lengths needs --packed-query-lengths")
    case (_?, nil): throw ValidationError("--packed-query-lengths needs --packed-key-lengths")
    }
  }

  /// `LEFT,RIGHT` as a window (`-1` unbounded), or `nil` when not given.
  func parsedWindow() throws -> AttentionWindow? {
    guard let window else { return nil }
    let parts = window.split(separator: ",", omittingEmptySubsequences: false)
    let bounds = parts.map { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard bounds.count == 2, let left = bounds[0], let right = bounds[1], left >= -1, right >= -1
    else {
      throw ValidationError(
        "--window must be LEFT,RIGHT with each an integer ≥ -1 (-1: unbounded), got '\(window)'")
    }
    return AttentionWindow(keysBefore: left < 0 ? nil : left, keysAfter: right < 0 ? nil : right)
  }

  /// The sizes of the attention the variants apply to, and where they come from (for messages).
  struct Geometry {
    var batchCount: Int
    var queryHeadCount: Int
    var queryCount: Int
    var keyCount: Int
    var query: FileArgument
    var queryShape: [Int]
    var key: FileArgument
    var keyShape: [Int]

    /// The geometry of `sdpa`'s tensors: `[B, H, N, D]`, `[H, N, D]` or `[N, D]`.
    static func attention(query: FileArgument, _ q: [Int], key: FileArgument, _ k: [Int])
      -> Geometry
    {
      func size(_ shape: [Int], fromEnd offset: Int) -> Int {
        shape.count >= offset ? shape[shape.count - offset] : 1
      }
      return Geometry(
        batchCount: q.count == 4 ? q[0] : 1, queryHeadCount: size(q, fromEnd: 3),
        queryCount: size(q, fromEnd: 2), keyCount: size(k, fromEnd: 2), query: query,
        queryShape: q, key: key, keyShape: k)
    }
  }

  /// The variants for a computation in `Scalar`, read and checked against `geometry`.
  func resolve<Scalar: AttentionScalar>(_: Scalar.Type, _ geometry: Geometry) throws
    -> AttentionVariants<Scalar>
  {
    let g = geometry
    let (query, queryShape) = (g.query, g.queryShape)
    let queryHeads = g.queryHeadCount
    func perHead(_ path: String?, option: String) throws -> [Scalar]? {
      guard let path else { return nil }
      let file = FileArgument(path, option: option)
      let tensor = try TensorFiles.read(file)
      guard tensor.shape == [queryHeads] else {
        throw CommandLineError(
          "\(file) has shape \(tensor.shape.shapeDescription) but needs one value per query head, [\(queryHeads)] (\(query) has shape \(queryShape.shapeDescription))"
        )
      }
      do {
        return try tensor.floatingPoint(as: Scalar.self).scalars
      } catch {
        throw CommandLineError("\(file): \(error)")
      }
    }
    var packed: PackedSequences?
    if let queryLengths = packedQueryLengths, let keyLengths = packedKeyLengths {
      if g.batchCount != 1 {
        throw CommandLineError(
          "--packed-query-lengths needs a batch of 1: \(query) has shape \(queryShape.shapeDescription) (pack the batch's sequences along N instead)"
        )
      }
      for (option, lengths, count, shape, file) in [
        ("--packed-query-lengths", queryLengths, g.queryCount, queryShape, query),
        ("--packed-key-lengths", keyLengths, g.keyCount, g.keyShape, g.key),
      ] {
        let sum = lengths.reduce(0, +)
        guard sum == count else {
          throw CommandLineError(
            "\(option) \(lengths.map(String.init).joined(separator: ",")) sum to \(sum) but \(file) has \(count) rows along N (shape \(shape.shapeDescription))"
          )
        }
      }
      packed = PackedSequences(queryLengths: queryLengths, keyLengths: keyLengths)
    }
    return AttentionVariants(
      window: try parsedWindow(), packedSequences: packed, softcap: softcap.map { Scalar($0) },
      alibiSlopes: try perHead(alibiSlopes, option: "--alibi-slopes"),
      sinks: try perHead(sinks, option: "--sinks"))
  }
}

/// The variants of one computation, ready for the library.
struct AttentionVariants<Scalar: AttentionScalar> {
  var window: AttentionWindow?
  var packedSequences: PackedSequences?
  var softcap: Scalar?
  var alibiSlopes: [Scalar]?
  var sinks: [Scalar]?
}

/// Parsing comma-separated integer lists such as `--key-padding-lengths 5,3,7`.
enum IntegerList {
  /// The comma-separated integers in `text`, each at least `minimum`.
  ///
  /// - Throws: a `ValidationError` (a usage error, status 64) naming the entry that is not
  ///   `what`; ArgumentParser prefixes the option and the whole value.
  @Sendable
  static func parse(_ text: String, minimum: Int, what: String) throws -> [Int] {
    let entries = text.split(separator: ",", omittingEmptySubsequences: false)
    return try entries.map { entry in
      let trimmed = entry.trimmingCharacters(in: .whitespaces)
      guard let value = Int(trimmed), value >= minimum else {
        throw ValidationError("'\(trimmed)' is not \(what), in '\(text)'")
      }
      return value
    }
  }
}
