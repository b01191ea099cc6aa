import Foundation

/// A long-lived child process that times attention on request, speaking JSON lines: the Python
/// peers (`peers/peer_attention.py`: PyTorch and ONNX Runtime) or this benchmark built another
/// way (`attention-bench --serve`).
///
/// The child prints a hello line naming what it can run (`available`), their versions, and what
/// is missing and why; then it answers one line per request (`load` a case, `time` one of its
/// peers on it). The protocol is described in `peers/peer_attention.py`. A child that dies or
/// answers nonsense is closed and its peers reported missing; the run goes on.
final class PeerProcess {
  /// What the hello line said.
  struct Hello {
    var available: [String]
    var versions: [String: String]
    var missing: [String: String]
    var executable: String?
  }

  let command: [String]
  let hello: Hello
  private let process: Process
  private let input: FileHandle
  private let output: FileHandle
  private var buffer = Data()
  private(set) var isClosed = false

  /// Starts `command` (an executable path and its arguments) and reads its hello line.
  ///
  /// - Throws: ``PeerError`` when the process cannot start or its first line is not a hello.
  init(command: [String], environment: [String: String]? = nil) throws {
    self.command = command
    process = Process()
    process.executableURL = URL(fileURLWithPath: command[0])
    process.arguments = Array(command.dropFirst())
    if let environment { process.environment = environment }
    let inputPipe = Pipe()
    let outputPipe = Pipe()
    process.standardInput = inputPipe
    process.standardOutput = outputPipe
    input = inputPipe.fileHandleForWriting
    output = outputPipe.fileHandleForReading
    do {
      try process.run()
    } catch {
      throw PeerError("cannot start \(command.joined(separator: " ")): \(error)")
    }
    var first: [String: Any] = [:]
    var reader = LineReader(handle: output)
    do {
      first = try reader.nextObject()
    } catch {
      process.terminate()
      throw PeerError("\(command.joined(separator: " ")) gave no hello line: \(error)")
    }
    buffer = reader.buffer
    hello = Hello(
      available: first["available"] as? [String] ?? [],
      versions: first["versions"] as? [String: String] ?? [:],
      missing: first["missing"] as? [String: String] ?? [:],
      executable: first["executable"] as? String)
  }

  /// Sends one request and returns the answer; an answer with `"ok": false` throws its error.
  ///
  /// - Throws: ``PeerError`` when the child has gone, answers no JSON object, or reports an
  ///   error. A child that failed to answer is closed.
  func request(_ message: [String: Any]) throws -> [String: Any] {
    guard !isClosed else { throw PeerError("the peer process has ended") }
    let answer: [String: Any]
    do {
      var line = try JSONSerialization.data(withJSONObject: message, options: [.sortedKeys])
      line.append(0x0A)
      try input.write(contentsOf: line)
      var reader = LineReader(handle: output, buffer: buffer)
      answer = try reader.nextObject()
      buffer = reader.buffer
    } catch {
      close()
      throw PeerError("the peer process stopped answering: \(error)")
    }
    if answer["ok"] as? Bool != true {
      throw PeerError(answer["error"] as? String ?? "the peer answered without ok")
    }
    return answer
  }

  /// Asks the child to quit and waits for it (briefly; then terminates it).
  func close() {
    guard !isClosed else { return }
    isClosed = true
    try? input.write(contentsOf: Data("{\"op\": \"quit\"}\n".utf8))
    try? input.close()
    let deadline = Date().addingTimeInterval(5)
    while process.isRunning && Date() < deadline { usleep(10_000) }
    if process.isRunning { process.terminate() }
  }

  deinit { close() }
}

/// Reads newline-terminated JSON objects from a pipe.
private struct LineReader {
  let handle: FileHandle
  var buffer = Data()

  mutating func nextObject() throws -> [String: Any] {
    while true {
      if let newline = buffer.firstIndex(of: 0x0A) {
        let line = buffer[buffer.startIndex..<newline]
        buffer = Data(buffer[(newline + 1)...])
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D }) { continue }
        guard let object = try? JSONSerialization.jsonObject(with: line) as? [String: Any] else {
          throw PeerError("not a JSON object: \(String(decoding: line.prefix(200), as: UTF8.self))")
        }
        return object
      }
      let chunk = handle.availableData
      guard !chunk.isEmpty else { throw PeerError("end of output") }
      buffer.append(chunk)
    }
  }
}

/// A peer process could not be started or used.
struct PeerError: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}
