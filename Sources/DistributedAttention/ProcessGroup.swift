import Attention

/// The processes `mpirun` started together (MPI's `MPI_COMM_WORLD`), one of which is this one.
///
/// Start MPI once per process with ``initialize()`` before any distributed call, and end it with
/// ``finalize()``. Every collective function of this module (``ringAttention(query:key:value:querySharding:keySharding:group:causal:keyLengths:scale:softcap:sinks:)``,
/// ``forEachShard(of:sharding:root:_:)``, ``agreeOnFailure(_:)``) must be called by every
/// process of the group in the same order, from one thread at a time (MPI is started with
/// `MPI_THREAD_SERIALIZED`).
///
/// ```swift
/// let group = try ProcessGroup.initialize()
/// defer { ProcessGroup.finalize() }
/// print("rank \(group.rank) of \(group.size)")
/// ```
public struct ProcessGroup: Sendable, Hashable {
  /// This process's index in the group, `0..<size` (MPI's rank).
  public let rank: Int
  /// The number of processes in the group.
  public let size: Int

  private init(rank: Int, size: Int) {
    self.rank = rank
    self.size = size
  }

  /// Starts MPI in this process (once; later calls return the same group) and returns the group
  /// of every process started with it.
  ///
  /// A process started without `mpirun` is a group of one.
  ///
  /// - Returns: the world group, with this process's rank.
  /// - Throws: `AttentionError` of kind `invalidArgument` when MPI cannot start, or was already
  ///   finalized in this process.
  public static func initialize() throws -> ProcessGroup {
    guard !MPIBindings.isFinalized else {
      throw AttentionError(.invalidArgument, "MPI was already finalized in this process")
    }
    if !MPIBindings.isInitialized, let failure = MPIBindings.initialize() {
      throw AttentionError(.invalidArgument, failure)
    }
    return ProcessGroup(rank: MPIBindings.rank, size: MPIBindings.size)
  }

  /// Ends MPI in this process (`MPI_Finalize`), a collective call: every process of the group
  /// must make it. Does nothing if MPI is not running.
  public static func finalize() {
    if MPIBindings.isInitialized && !MPIBindings.isFinalized { MPIBindings.finalize() }
  }

  /// Ends every process of the group at once with exit status `status` (`MPI_Abort`): the way
  /// out of a failure on one process that the others cannot know about and would wait for.
  ///
  /// - Parameter status: the exit status, non-zero.
  public func abort(status: Int32 = 1) -> Never {
    MPIBindings.abort(status: status)
  }

  /// Waits until every process of the group has called it (`MPI_Barrier`).
  public func barrier() {
    MPIBindings.barrier()
  }

  /// Tells every process whether any process failed, and which one first: a collective call.
  ///
  /// Use it after a step that may fail on some processes only (reading a file, validating a
  /// shape), so that all of them stop together instead of some waiting for the others forever.
  ///
  /// - Parameter failed: whether this process failed.
  /// - Returns: the lowest rank that failed, or `nil` when none did; the same on every process.
  public func agreeOnFailure(_ failed: Bool) -> Int? {
    let lowest = MPIBindings.allReduce([Int64(failed ? rank : size)], maximum: false)[0]
    return lowest < Int64(size) ? Int(lowest) : nil
  }

  /// Whether every process passed the same `values`: a collective call.
  func agree(on values: [Int]) -> Bool {
    let values = values.map(Int64.init)
    return MPIBindings.allReduce(values, maximum: false) == values
      && MPIBindings.allReduce(values, maximum: true) == values
  }
}
