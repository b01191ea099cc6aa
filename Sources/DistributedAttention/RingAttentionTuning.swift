import Synchronization

/// How large a piece of work one engine call of ring attention takes. Package-visible so the
/// tests can force small pieces; results do not depend on it beyond rounding.
package enum RingAttentionTuning {
  private static let configured = Atomic<Int>(0)

  /// The query scalars (`B·Hq·rows·max(Dk, Dv)`) one engine call takes at most: a process's
  /// query runs are attended in chunks of that many rows. By default (and for a value below 1)
  /// unlimited, whole runs: a chunk that crosses the causal diagonal reads a prefix of a key
  /// run, which the engine needs as a copy (measured: +255 MiB at P = 1 on 128 MiB tensors with
  /// 2^20), while whole runs of a sharding shared by queries and keys meet in square blocks,
  /// computed in place. The tests set small values to check the chunked computation.
  package static var queryScalarsPerCall: Int {
    get {
      let value = configured.load(ordering: .relaxed)
      return value > 0 ? value : .max
    }
    set { configured.store(Swift.max(0, newValue), ordering: .relaxed) }
  }
}
