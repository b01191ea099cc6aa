import Synchronization

/// How large a piece of work one engine call of ring attention takes. Package-visible so the
/// tests can force small pieces; results do not depend on it beyond rounding.
package enum RingAttentionTuning {
  private static let configured = Atomic<Int>(0)

  /// The query scalars (`B·Hq·rows·max(Dk, Dv)`) one engine call takes at most: a process's
  /// query rows are attended in chunks of that many, so that a call's result and its copy of the
  /// queries stay a few MiB however many rows the process holds. Default 2^20 (4 MiB of
  /// `Float`); a value below 1 restores it.
  package static var queryScalarsPerCall: Int {
    get {
      let value = configured.load(ordering: .relaxed)
      return value > 0 ? value : 1 << 20
    }
    set { configured.store(Swift.max(0, newValue), ordering: .relaxed) }
  }
}
