import ArgumentParser
import Attention
import DistributedAttention

#if canImport(Glibc)
  import Glibc
#endif

/// `attention-mpi sdpa`: ring attention on `.npy` tensors, each process reading its own rows.
struct DistributedSDPACommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sdpa",
    abstract: "Scaled dot-product attention, softmax(Q·Kᵀ·scale)·V, sharded along the sequence.",
    discussion: """
      Shapes: query [B, Hq, Nq, Dk], [Hq, Nq, Dk] or [Nq, Dk]; key [.., Hkv, Nk, Dk] and value \
      [.., Hkv, Nk, Dv] in the same rank, all float16, all float32 or all float64 (float16 is \
      computed in float32 and the output rounded to float16). Hq must be a multiple of \
      Hkv. --softcap and --sinks are those of `attention sdpa`. Queries and keys are spread over the processes along Nq and Nk: in one run each \
      without --causal, in an early and a late run each with it (zigzag, which balances the \
      work); each process reads only its own rows (positioned reads), and keys and values \
      travel around the ring of processes. Process 0 gathers the output [.., Hq, Nq, Dv] and \
      writes it atomically; it is the only process that holds the whole output.
      """
  )

  @Option(help: ArgumentHelp("Queries, float16, float32 or float64.", valueName: "q.npy"))
  var query: String

  @Option(help: ArgumentHelp("Keys, in the query's rank and dtype.", valueName: "k.npy"))
  var key: String

  @Option(help: ArgumentHelp("Values, in the query's rank and dtype.", valueName: "v.npy"))
  var value: String

  @Option(help: "Causal mask, aligned top-left (PyTorch is_causal) or bottom-right (KV cache).")
  var causal: CausalAlignment?

  @Option(help: "Factor applied to Q·Kᵀ (default 1/√Dk).")
  var scale: Double?

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp("Logit soft-capping: s ← C·tanh(s / C) (Gemma 2).", valueName: "C"))
  var softcap: Double?

  @Option(
    help: ArgumentHelp(
      "Sink logits [Hq], one per query head: join the softmax denominator only.",
      valueName: "s.npy"))
  var sinks: String?

  @Option(help: ArgumentHelp("Where process 0 writes the output.", valueName: "o.npy"))
  var output: String

  func validate() throws {
    if let scale, !scale.isFinite {
      throw ValidationError("--scale must be a finite number, got \(scale)")
    }
    let inputs =
      [(query, "--query"), (key, "--key"), (value, "--value")]
      + (sinks.map { [($0, "--sinks")] } ?? [])
    for (path, option) in inputs where Self.sameFile(path, output) {
      throw ValidationError(
        "--output \(output) is the input \(path) (\(option)); refusing to overwrite an input")
    }
  }

  func run() throws {
    throw ValidationError("attention-mpi sdpa runs only as a process of mpirun")
  }

  /// Reads this process's rows, runs ring attention with the others, and gathers the output on
  /// process 0, which writes it.
  func run(group: ProcessGroup) throws {
    Self.shareCores()
    let files = try ProcessFailure.agreeing(group) { try openInputs() }
    switch files.dtype {
    case "float64": try compute(Double.self, files, group: group)
    default: try compute(Float.self, files, group: group)  // float16 is computed in Float
    }
  }

  /// The three input files, their headers checked against each other, and the sinks.
  private struct Inputs {
    let query: NPYFile
    let key: NPYFile
    let value: NPYFile
    /// One sink logit per query head, read whole (it is small), as `Double`.
    let sinks: [Double]?
    var dtype: String { query.dtypeName }
    /// The sequence axis: `rank − 2`.
    var axis: Int { query.shape.count - 2 }
  }

  /// Opens the inputs and checks what every process can check alike: dtypes and shapes.
  private func openInputs() throws -> Inputs {
    func open(_ path: String, _ option: String) throws -> NPYFile {
      do {
        return try NPYFile(path: path)
      } catch {
        throw ValidationError("\(error) (\(option))")
      }
    }
    let q = try open(query, "--query")
    let k = try open(key, "--key")
    let v = try open(value, "--value")
    guard ["float16", "float32", "float64"].contains(q.dtypeName) else {
      throw ValidationError(
        "\(query) (--query) has dtype \(q.dtypeName); queries, keys and values must be float16, float32 or float64"
      )
    }
    for (file, option) in [(k, "--key"), (v, "--value")] where file.dtypeName != q.dtypeName {
      throw ValidationError(
        "\(file.path) (\(option)) has dtype \(file.dtypeName) but the query is \(q.dtypeName)")
    }
    let (qs, ks, vs) = (q.shape, k.shape, v.shape)
    guard (2...4).contains(qs.count), ks.count == qs.count, vs.count == qs.count else {
      throw ValidationError(
        "query, key and value must have the same rank, 2 [N, D], 3 [H, N, D] or 4 [B, H, N, D]: query \(qs), key \(ks), value \(vs)"
      )
    }
    func canonical(_ shape: [Int]) -> [Int] { Array(repeating: 1, count: 4 - shape.count) + shape }
    let (q4, k4, v4) = (canonical(qs), canonical(ks), canonical(vs))
    guard !(q4 + k4 + v4).contains(0) else {
      throw ValidationError("empty dimension: query \(qs), key \(ks), value \(vs)")
    }
    guard q4[0] == k4[0], k4[0] == v4[0], k4[1] == v4[1], k4[2] == v4[2], q4[3] == k4[3] else {
      throw ValidationError(
        "shapes do not fit: query \(qs), key \(ks), value \(vs) must agree in batch, key/value heads, Nk (key and value) and Dk (query and key)"
      )
    }
    guard q4[1] % k4[1] == 0 else {
      throw ValidationError(
        "query heads (\(q4[1])) must be a multiple of key/value heads (\(k4[1])): query \(qs), key \(ks)"
      )
    }
    if let softcap, !(softcap.isFinite && softcap > 0) {
      throw ValidationError("--softcap must be finite and positive, got \(softcap)")
    }
    return Inputs(query: q, key: k, value: v, sinks: try readSinks(queryHeads: q4[1], query: qs))
  }

  /// The sink logits of `--sinks`: a float file of shape `[Hq]`, each finite or `-infinity`.
  private func readSinks(queryHeads: Int, query shape: [Int]) throws -> [Double]? {
    guard let sinks else { return nil }
    let tensor: AnyTensor
    do {
      tensor = try NPY.read(from: sinks)
    } catch {
      throw ValidationError("\(error) (--sinks)")
    }
    guard tensor.shape == [queryHeads] else {
      throw ValidationError(
        "\(sinks) (--sinks) has shape \(tensor.shape) but needs one value per query head, [\(queryHeads)] (the query has shape \(shape))"
      )
    }
    let values: [Double]
    do {
      values = try tensor.floatingPoint(as: Double.self).scalars
    } catch {
      throw ValidationError("\(sinks) (--sinks): \(error)")
    }
    if let bad = values.first(where: { $0.isNaN || $0 == .infinity }) {
      throw ValidationError("\(sinks) (--sinks): sinks must be finite or -infinity, got \(bad)")
    }
    return values
  }

  private func compute<Scalar: AttentionScalar>(
    _: Scalar.Type, _ files: Inputs, group: ProcessGroup
  ) throws {
    let axis = files.axis
    let layout = SequenceSharding.balancedLayout(causal: causal)
    let querySharding = SequenceSharding(
      length: files.query.shape[axis], partCount: group.size, layout: layout)
    let keySharding = SequenceSharding(
      length: files.key.shape[axis], partCount: group.size, layout: layout)
    let queryRows = querySharding.ranges(ofPart: group.rank)
    let keyRows = keySharding.ranges(ofPart: group.rank)
    let q = try files.query.readSlices(queryRows, along: axis).floatingPoint(as: Scalar.self)
    let k = try files.key.readSlices(keyRows, along: axis).floatingPoint(as: Scalar.self)
    let v = try files.value.readSlices(keyRows, along: axis).floatingPoint(as: Scalar.self)
    // Consumed: the library releases each process's own keys and values once they have left
    // for the next process, so a process holds its rows once.
    let rows = try ringAttention(
      query: consume q, key: consume k, value: consume v, querySharding: querySharding,
      keySharding: keySharding, group: group, causal: causal, scale: scale.map { Scalar($0) },
      softcap: softcap.map { Scalar($0) }, sinks: files.sinks.map { $0.map { Scalar($0) } })

    var outputShape = files.query.shape
    outputShape[axis + 1] = files.value.shape[axis + 1]
    // float16 files: computed in Float, stored rounded to float16, as `attention sdpa` does.
    func stored(_ tensor: Tensor<Scalar>) -> AnyTensor {
      files.dtype == "float16" ? .float16(tensor.converted(to: Float16.self)) : AnyTensor(tensor)
    }
    var assembly =
      group.rank == 0 ? NPYAssembly(shape: outputShape, elementTypeOf: stored(rows)) : nil
    try group.forEachShard(of: rows, sharding: querySharding) { part, ranges in
      assembly?.place(stored(part), at: ranges, along: axis)
    }
    if let assembly {
      do {
        try assembly.write(to: output)
      } catch {
        throw ValidationError("\(error) (--output)")
      }
    }
  }

  /// Gives each of the processes mpirun started on this machine an equal share of its cores
  /// (``AttentionThreads/maximumCount``), so that P processes on one machine do not run P times
  /// as many threads as it has cores. Open MPI tells each process how many share its machine
  /// (`OMPI_COMM_WORLD_LOCAL_SIZE`). Results do not depend on the thread count.
  private static func shareCores() {
    guard let text = getenv("OMPI_COMM_WORLD_LOCAL_SIZE"), let local = Int(String(cString: text)),
      local > 1
    else { return }
    AttentionThreads.maximumCount = Swift.max(1, AttentionThreads.availableCoreCount / local)
  }

  /// Whether two paths name the same existing file (same device and inode).
  private static func sameFile(_ first: String, _ second: String) -> Bool {
    var a = stat()
    var b = stat()
    guard stat(first, &a) == 0, stat(second, &b) == 0 else { return false }
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino
  }
}
