import Attention

/// A run of consecutive key positions in hand, with its keys and values (rank 4): the unit a
/// key/value block is made of, sent and received as it is, so that the engine reads each run in
/// place.
struct KeyValueRun<Scalar: AttentionScalar> {
  /// The global key positions.
  let positions: Range<Int>
  /// `[B, Hkv, positions.count, Dk]`.
  let key: Tensor<Scalar>
  /// `[B, Hkv, positions.count, Dv]`.
  let value: Tensor<Scalar>

  /// A process's own keys and values `[B, Hkv, n, D]` cut into its runs (copies only when there
  /// are several runs).
  static func runs(key: Tensor<Scalar>, value: Tensor<Scalar>, at runs: [Range<Int>]) -> [Self] {
    var first = 0
    return runs.map { run in
      defer { first += run.count }
      let rows = first..<(first + run.count)
      return KeyValueRun(
        positions: run, key: key.sequenceRows(rows), value: value.sequenceRows(rows))
    }
  }

  /// A process's own queries `[B, Hq, n, Dk]` cut into its runs, with each run's first local row.
  static func queryRuns(_ query: Tensor<Scalar>, at runs: [Range<Int>])
    -> [(positions: Range<Int>, firstRow: Int, rows: Tensor<Scalar>)]
  {
    var first = 0
    return runs.map { run in
      defer { first += run.count }
      return (run, first, query.sequenceRows(first..<(first + run.count)))
    }
  }

  /// Receives the runs `positions` (keys `[B, Hkv, n, Dk]` then values `[B, Hkv, n, Dv]` for
  /// each), running `work` while they arrive and `sending` leaves (see
  /// ``MPIBindings/exchange(sends:to:receives:from:tag:during:)``).
  ///
  /// - Returns: the received runs.
  static func exchange(
    sending block: [Self], to destination: Int,
    receiving positions: [Range<Int>], shapes: (key: [Int], value: [Int]), from source: Int,
    during work: () throws -> Void
  ) throws -> [Self] {
    var counts: [Int] = []
    for run in positions {
      counts.append(shapes.key[0] * shapes.key[1] * run.count * shapes.key[3])
      counts.append(shapes.value[0] * shapes.value[1] * run.count * shapes.value[3])
    }
    let sends = block.flatMap { [$0.key.scalars, $0.value.scalars] }
    let arrays = try withBytes(of: sends) { sendBytes in
      try receiving(counts) { receiveBytes in
        try MPIBindings.exchange(
          sends: sendBytes, to: destination, receives: receiveBytes, from: source, tag: 0,
          during: work)
      }
    }
    return positions.enumerated().map { index, run in
      var keyShape = shapes.key
      keyShape[2] = run.count
      var valueShape = shapes.value
      valueShape[2] = run.count
      return KeyValueRun(
        positions: run, key: Tensor(uncheckedShape: keyShape, scalars: arrays[2 * index]),
        value: Tensor(uncheckedShape: valueShape, scalars: arrays[2 * index + 1]))
    }
  }

  /// Calls `body` with the bytes of every array, all valid at once (nested closures).
  private static func withBytes<Result>(
    of arrays: [[Scalar]], _ body: ([UnsafeRawBufferPointer]) throws -> Result
  ) throws -> Result {
    func nest(_ index: Int, _ buffers: [UnsafeRawBufferPointer]) throws -> Result {
      guard index < arrays.count else { return try body(buffers) }
      return try arrays[index].withUnsafeBytes { try nest(index + 1, buffers + [$0]) }
    }
    return try nest(0, [])
  }

  /// New arrays of `counts` scalars, whose memory `body` hands to MPI to fill: the arrays are
  /// built around the buffers (nested `init(unsafeUninitializedCapacity:)` closures), so the
  /// data is received in place, never copied.
  private static func receiving(
    _ counts: [Int], _ body: ([UnsafeMutableRawBufferPointer]) throws -> Void
  ) throws -> [[Scalar]] {
    var arrays: [[Scalar]] = []
    func nest(_ index: Int, _ buffers: [UnsafeMutableRawBufferPointer]) throws {
      guard index < counts.count else { return try body(buffers) }
      let array = try [Scalar](unsafeUninitializedCapacity: counts[index]) { buffer, initialized in
        try nest(index + 1, buffers + [UnsafeMutableRawBufferPointer(buffer)])
        initialized = counts[index]
      }
      arrays.append(array)  // innermost first
    }
    try nest(0, [])
    return arrays.reversed()
  }
}
