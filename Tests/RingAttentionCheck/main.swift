import Attention
import DistributedAttention

#if canImport(Glibc)
  import Glibc
#endif

// Ring attention under `mpirun -np P` against one single-process call of the engine's fused
// path on the whole problem, which every process computes for itself from the same seeded data.
// Each process compares its own rows; process 0 prints one line per case and the verdict. Exits
// 1 if any case differs on any process by more than the tolerance (|a − e| ≤ tol·(1 + |e|), the
// suite's rule: 1e-5 Float, 1e-12 Double; NaN must meet NaN).

/// One problem: shapes, causal rule, layout, and an optional non-finite value planted in it.
struct Case: CustomStringConvertible {
  var batch = 1
  var queryHeads = 2
  var keyValueHeads = 2
  var queryCount: Int
  var keyCount: Int
  var keyDimension = 8
  var valueDimension = 8
  var rank = 4
  var causal: CausalAlignment?
  var layout: SequenceSharding.Layout
  /// Puts NaN into key row `j` (all heads, batch 0) or +infinity into query row `i`.
  var nanKeyRow: Int?
  var infiniteQueryRow: Int?
  var scale: Double?
  var keyLengths: [Int]?
  var softcap: Double?
  var sinks: [Double]?

  var description: String {
    var text =
      "B=\(batch) Hq=\(queryHeads) Hkv=\(keyValueHeads) Nq=\(queryCount) Nk=\(keyCount) Dk=\(keyDimension) Dv=\(valueDimension) rank \(rank)"
    text += " causal=\(causal?.rawValue ?? "none") \(layout)"
    if let nanKeyRow { text += " NaN in key \(nanKeyRow)" }
    if let infiniteQueryRow { text += " +inf in query \(infiniteQueryRow)" }
    if let scale { text += " scale=\(scale)" }
    if let keyLengths { text += " keyLengths=\(keyLengths)" }
    if let softcap { text += " softcap=\(softcap)" }
    if let sinks { text += " sinks=\(sinks)" }
    return text
  }
}

let cases: [Case] = [
  Case(
    batch: 2, queryHeads: 3, keyValueHeads: 3, queryCount: 37, keyCount: 37, keyDimension: 16,
    valueDimension: 16, layout: .contiguous),
  Case(
    queryHeads: 4, keyValueHeads: 2, queryCount: 50, keyCount: 50, valueDimension: 12,
    causal: .topLeft, layout: .zigzag),
  Case(
    queryHeads: 4, keyValueHeads: 1, queryCount: 45, keyCount: 45, causal: .bottomRight,
    layout: .zigzag),
  Case(queryCount: 29, keyCount: 41, causal: .bottomRight, layout: .zigzag),
  Case(queryCount: 29, keyCount: 41, causal: .topLeft, layout: .zigzag),
  // Nq > Nk, bottom-right: the first 12 queries see no key (zero rows).
  Case(queryCount: 41, keyCount: 29, causal: .bottomRight, layout: .zigzag),
  Case(queryCount: 41, keyCount: 29, causal: .topLeft, layout: .contiguous),
  Case(
    queryHeads: 1, keyValueHeads: 1, queryCount: 33, keyCount: 33, rank: 2, causal: .topLeft,
    layout: .zigzag),
  Case(
    queryHeads: 4, keyValueHeads: 2, queryCount: 31, keyCount: 23, rank: 3, layout: .zigzag,
    scale: 0.3),
  Case(queryCount: 30, keyCount: 30, causal: .topLeft, layout: .contiguous),
  // Fewer rows than processes: some hold none.
  Case(queryCount: 3, keyCount: 3, causal: .topLeft, layout: .zigzag),
  Case(queryCount: 2, keyCount: 5, layout: .contiguous),
  // Non-finite values propagate to exactly the queries that see them.
  Case(queryCount: 40, keyCount: 40, causal: .topLeft, layout: .zigzag, nanKeyRow: 17),
  Case(queryCount: 40, keyCount: 40, causal: .topLeft, layout: .zigzag, infiniteQueryRow: 23),
  // Key lengths (0: a batch entry whose queries see no key), softcap, sinks.
  Case(
    batch: 2, queryCount: 37, keyCount: 37, causal: .topLeft, layout: .zigzag,
    keyLengths: [20, 0]),
  Case(batch: 2, queryCount: 17, keyCount: 29, layout: .contiguous, keyLengths: [5, 29]),
  Case(queryCount: 29, keyCount: 41, causal: .bottomRight, layout: .zigzag, softcap: 2),
  Case(
    queryCount: 41, keyCount: 29, causal: .bottomRight, layout: .zigzag,
    sinks: [0.5, -.infinity]),
  Case(
    batch: 2, queryHeads: 4, keyValueHeads: 2, queryCount: 35, keyCount: 35,
    causal: .topLeft, layout: .zigzag, keyLengths: [30, 11], softcap: 5,
    sinks: [-1, 0, 1, 2]),
]

/// The largest scaled difference of `actual` from `expected` (infinity when NaN meets a number).
func largestDifference<S: AttentionScalar>(_ actual: [S], _ expected: [S]) -> Double {
  precondition(actual.count == expected.count, "\(actual.count) vs \(expected.count) elements")
  var largest = 0.0
  for (a, e) in zip(actual, expected) {
    if a.isNaN || e.isNaN {
      if a.isNaN != e.isNaN { return .infinity }
      continue
    }
    if a == e { continue }
    largest = max(largest, abs(Double(a) - Double(e)) / (1 + abs(Double(e))))
  }
  return largest
}

/// Runs one case in `S` and returns this process's largest scaled difference.
func run<S: AttentionScalar>(_ c: Case, as _: S.Type, group: ProcessGroup, seed: UInt64) throws
  -> Double
{
  var generator = SplitMix64(seed: seed)
  let qShape = [c.batch, c.queryHeads, c.queryCount, c.keyDimension]
  let kShape = [c.batch, c.keyValueHeads, c.keyCount, c.keyDimension]
  let vShape = [c.batch, c.keyValueHeads, c.keyCount, c.valueDimension]
  var query = try Tensor<S>.randomNormal(shape: qShape, using: &generator)
  var key = try Tensor<S>.randomNormal(shape: kShape, using: &generator)
  let value = try Tensor<S>.randomNormal(shape: vShape, using: &generator)
  if let row = c.nanKeyRow {
    var scalars = key.scalars
    for h in 0..<c.keyValueHeads { scalars[(h * c.keyCount + row) * c.keyDimension] = .nan }
    key = try Tensor(shape: kShape, scalars: scalars)
  }
  if let row = c.infiniteQueryRow {
    var scalars = query.scalars
    scalars[row * c.keyDimension] = .infinity
    query = try Tensor(shape: qShape, scalars: scalars)
  }
  func inRank(_ t: Tensor<S>) throws -> Tensor<S> {
    try t.reshaped(to: Array(t.shape.suffix(c.rank)))
  }
  let scale = c.scale.map { S($0) }
  let softcap = c.softcap.map { S($0) }
  let sinks = c.sinks.map { $0.map { S($0) } }
  let expected = try scaledDotProductAttention(
    query: inRank(query), key: inRank(key), value: inRank(value), causal: c.causal,
    keyLengths: c.keyLengths, scale: scale, softcap: softcap, sinks: sinks)

  let querySharding = SequenceSharding(
    length: c.queryCount, partCount: group.size, layout: c.layout)
  let keySharding = SequenceSharding(length: c.keyCount, partCount: group.size, layout: c.layout)
  func rows(_ t: Tensor<S>, _ ranges: [Range<Int>]) throws -> Tensor<S> {
    let (outer, n, d) = (t.shape[0] * t.shape[1], t.shape[2], t.shape[3])
    var scalars: [S] = []
    for index in 0..<outer {
      for range in ranges {
        scalars +=
          t.scalars[((index * n + range.lowerBound) * d)..<((index * n + range.upperBound) * d)]
      }
    }
    let count = ranges.reduce(0) { $0 + $1.count }
    return try inRank(Tensor(shape: [t.shape[0], t.shape[1], count, d], scalars: scalars))
  }
  let myQueries = querySharding.ranges(ofPart: group.rank)
  let myKeys = keySharding.ranges(ofPart: group.rank)
  let output = try ringAttention(
    query: rows(query, myQueries), key: rows(key, myKeys), value: rows(value, myKeys),
    querySharding: querySharding, keySharding: keySharding, group: group, causal: c.causal,
    keyLengths: c.keyLengths, scale: scale, softcap: softcap, sinks: sinks)
  let expected4 = try expected.reshaped(
    to: [c.batch, c.queryHeads, c.queryCount, c.valueDimension])
  let expectedRows = try rows(expected4, myQueries)
  guard output.shape == expectedRows.shape else {
    print("rank \(group.rank): output shape \(output.shape), expected \(expectedRows.shape)")
    return .infinity
  }
  return largestDifference(output.scalars, expectedRows.scalars)
}

// Helpers for Tests/AttentionMPICLITests/run.sh and Scripts/bench-ring.sh, run without mpirun:
//   RingAttentionCheck write-inputs DIR   seeded q/k/v .npy files of the command-line cases
//   RingAttentionCheck write-inputs DIR B H N D   float32 q.npy, k.npy, v.npy of [B, H, N, D]
//   RingAttentionCheck compare A.npy B.npy TOLERANCE   exits 1 if they differ
let arguments = CommandLine.arguments
if arguments.count == 7, arguments[1] == "write-inputs" {
  let shape = arguments[3...].compactMap { Int($0) }
  var generator = SplitMix64(seed: 13)
  for name in ["q", "k", "v"] {
    let tensor = try Tensor<Float>.randomNormal(shape: shape, using: &generator)
    try NPY.write(.float32(tensor), to: arguments[2] + "/" + name + ".npy")
  }
  exit(0)
}
if arguments.count == 3, arguments[1] == "write-inputs" {
  var generator = SplitMix64(seed: 12)
  func write<S: AttentionScalar>(_ name: String, _ shape: [Int], _: S.Type) throws {
    let tensor = try Tensor<S>.randomNormal(shape: shape, using: &generator)
    try NPY.write(AnyTensor(tensor), to: arguments[2] + "/" + name + ".npy")
  }
  // GQA, rank 4, N = 37 not a multiple of 2, 3 or 4.
  try write("q4", [2, 4, 37, 16], Float.self)
  try write("k4", [2, 2, 37, 16], Float.self)
  try write("v4", [2, 2, 37, 12], Float.self)
  try NPY.write(
    .float32(try Tensor(shape: [4], scalars: [0.5, -.infinity, 1, -1])),
    to: arguments[2] + "/s4.npy")
  // float16 files, rank 3 with GQA.
  for (name, shape) in [("q16", [4, 33, 8]), ("k16", [2, 33, 8]), ("v16", [2, 33, 8])] {
    let tensor = try Tensor<Float>.randomNormal(shape: shape, using: &generator)
    try NPY.write(.float16(tensor.converted(to: Float16.self)), to: arguments[2] + "/\(name).npy")
  }
  // Rank 3, Nq = 29 < Nk = 41.
  try write("q3", [3, 29, 8], Float.self)
  try write("k3", [3, 41, 8], Float.self)
  try write("v3", [3, 41, 8], Float.self)
  // Rank 2 in float64, Nq = 45 > Nk = 30 (bottom-right: the first 15 queries see no key).
  try write("q2", [45, 8], Double.self)
  try write("k2", [30, 8], Double.self)
  try write("v2", [30, 8], Double.self)
  exit(0)
}
if arguments.count == 5, arguments[1] == "compare", let tolerance = Double(arguments[4]) {
  let (a, b) = (try NPY.read(from: arguments[2]), try NPY.read(from: arguments[3]))
  guard a.shape == b.shape, a.dtypeName == b.dtypeName else {
    print(
      "compare: \(arguments[2]) is \(a.dtypeName) \(a.shape), \(arguments[3]) is \(b.dtypeName) \(b.shape)"
    )
    exit(1)
  }
  let difference =
    a.dtypeName == "float64"
    ? largestDifference(
      try a.floatingPoint(as: Double.self).scalars, try b.floatingPoint(as: Double.self).scalars)
    : largestDifference(
      try a.floatingPoint(as: Float.self).scalars, try b.floatingPoint(as: Float.self).scalars)
  print("compare: \(arguments[2]) vs \(arguments[3]): largest scaled difference \(difference)")
  exit(difference <= tolerance ? 0 : 1)
}

let group = try ProcessGroup.initialize()
// The processes share this machine's cores, as attention-mpi does.
if let local = getenv("OMPI_COMM_WORLD_LOCAL_SIZE").flatMap({ Int(String(cString: $0)) }),
  local > 1
{
  AttentionThreads.maximumCount = max(1, AttentionThreads.availableCoreCount / local)
}
var failures = 0
for (index, c) in cases.enumerated() {
  // Every other case with engine calls of at most 256 query scalars (a few rows), so that
  // runs are computed in several chunks; the others with the default (whole runs here).
  RingAttentionTuning.queryScalarsPerCall = index % 2 == 0 ? 256 : 0
  for (name, tolerance) in [("Float", 1e-5), ("Double", 1e-12)] {
    let seed = UInt64(1000 + index)
    let difference =
      name == "Float"
      ? try run(c, as: Float.self, group: group, seed: seed)
      : try run(c, as: Double.self, group: group, seed: seed)
    let failed = !(difference <= tolerance)
    if let first = group.agreeOnFailure(failed) {
      failures += 1
      if group.rank == first {
        print(
          "FAIL P=\(group.size) \(name) \(c): rank \(group.rank) differs by \(difference) > \(tolerance)"
        )
      }
    } else if group.rank == 0 {
      print("ok   P=\(group.size) \(name) \(c)")
    }
  }
}
if group.rank == 0 {
  print(
    failures == 0
      ? "ring attention: all \(cases.count * 2) cases agree with one process at P=\(group.size)"
      : "ring attention: \(failures) of \(cases.count * 2) cases differ at P=\(group.size)")
}
ProcessGroup.finalize()
exit(failures == 0 ? 0 : 1)
