import Foundation

/// Input the tool rejects after the command line parsed: the message is the line the user sees.
struct CommandLineError: Error, CustomStringConvertible {
  /// One line naming the file, option or values involved.
  let message: String

  init(_ message: String) { self.message = message }

  var description: String { message }
}

/// How a failure reaches the user: exactly one `error: …` line on standard error and an exit
/// status, never a stack trace.
enum ErrorReport {
  /// Writes `error: <message>` on one line of standard error (if there is a message) and exits.
  static func exit(message: String, status: Int32) -> Never {
    let line = oneLine(message)
    if !line.isEmpty {
      FileHandle.standardError.write(Data("error: \(line)\n".utf8))
    }
    // `exit` flushes standard output, so whatever a command printed before failing is kept.
    Foundation.exit(status)
  }

  /// `message` folded onto one line: line breaks become "; ", and a leading "Error:" that some
  /// messages already carry is dropped so the line does not say it twice.
  static func oneLine(_ message: String) -> String {
    var text = message
    for prefix in ["Error: ", "error: "] where text.hasPrefix(prefix) {
      text.removeFirst(prefix.count)
    }
    let lines = text.split(whereSeparator: \.isNewline)
      .map { $0.trimmingCharacters(in: .whitespaces) }
      .filter { !$0.isEmpty }
    return lines.joined(separator: "; ")
  }
}
