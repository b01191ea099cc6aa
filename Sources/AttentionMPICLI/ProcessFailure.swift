import DistributedAttention
import Foundation

/// A failure every process knows about: the processes agreed on it, and `reporter` (the lowest
/// rank that failed) prints its message while the others exit quietly.
struct AgreedFailure: Error {
  let reporter: Int
  /// The reporter's message; on the other processes, a placeholder.
  let message: String
}

/// How a failure reaches the user: one `error: …` line on standard error and a non-zero status.
enum ProcessFailure {
  /// Writes `error: <message>` on one line of standard error.
  static func report(_ message: String) {
    FileHandle.standardError.write(Data("error: \(oneLine(message))\n".utf8))
  }

  /// Writes `error: <message>` on one line and exits with `status`.
  static func exit(message: String, status: Int32) -> Never {
    report(message)
    Foundation.exit(status)
  }

  /// Writes `error: <message>` on one line, then ends every process of `group` (`MPI_Abort`):
  /// for a failure the other processes cannot know about.
  static func abort(_ group: ProcessGroup, message: String) -> Never {
    report(message)
    group.abort(status: 1)
  }

  /// Runs `step` on every process and agrees on its outcome: returns its value when it succeeded
  /// everywhere, else throws an ``AgreedFailure`` on every process.
  static func agreeing<Value>(_ group: ProcessGroup, _ step: () throws -> Value) throws -> Value {
    let outcome = Result(catching: step)
    var failed = false
    var message = ""
    if case .failure(let error) = outcome {
      failed = true
      message = "\(error)"
    }
    if let reporter = group.agreeOnFailure(failed) {
      throw AgreedFailure(
        reporter: reporter, message: reporter == group.rank ? message : "process \(reporter) failed"
      )
    }
    return try outcome.get()
  }

  /// `message` on one line: line breaks become "; ", a leading "Error:" is dropped.
  static func oneLine(_ message: String) -> String {
    var text = message
    for prefix in ["Error: ", "error: "] where text.hasPrefix(prefix) {
      text.removeFirst(prefix.count)
    }
    return text.split(whereSeparator: \.isNewline)
      .map { $0.trimmingCharacters(in: .whitespaces) }
      .filter { !$0.isEmpty }
      .joined(separator: "; ")
  }
}
