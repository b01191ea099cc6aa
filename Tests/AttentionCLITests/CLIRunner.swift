import Foundation
import Testing

/// What one run of the `attention` binary produced.
struct CLIResult: CustomStringConvertible {
  let status: Int32
  let standardOutput: String
  let standardError: String

  /// The non-empty lines written to standard error.
  var errorLines: [String] {
    standardError.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
  }

  var description: String {
    "exit \(status)\n--- stdout\n\(standardOutput)--- stderr\n\(standardError)"
  }
}

/// Runs the built `attention` executable as a child process.
enum CLIRunner {
  /// The `attention` binary SwiftPM built next to this test bundle.
  ///
  /// `swift test` builds the executable first because the test target depends on its target, and
  /// puts it in the same products directory as the test bundle (`.build/<triple>/debug`). The
  /// bundle is the running executable on Linux, so `/proc/self/exe` finds that directory for any
  /// `--scratch-path`. `ATTENTION_BINARY` overrides it.
  static let binary: URL? = {
    let fileManager = FileManager.default
    if let path = ProcessInfo.processInfo.environment["ATTENTION_BINARY"] {
      return URL(fileURLWithPath: path)
    }
    var candidates: [URL] = []
    if let executable = try? fileManager.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
      candidates.append(URL(fileURLWithPath: executable).deletingLastPathComponent())
    }
    // Last resort: the package's default build directory, found from this source file.
    let packageRoot = URL(fileURLWithPath: #filePath)
      .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    candidates.append(packageRoot.appendingPathComponent(".build/debug"))
    return candidates.map { $0.appendingPathComponent("attention") }
      .first { fileManager.isExecutableFile(atPath: $0.path) }
  }()

  /// Runs `attention <arguments>` in `directory` and waits for it to finish.
  ///
  /// Standard output and error go to files rather than pipes, so a chatty child can never block
  /// on a full pipe while the test waits for it.
  static func run(
    _ arguments: [String], in directory: URL, environment: [String: String]? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
  ) throws -> CLIResult {
    let binary = try #require(
      binary, "the attention binary was not found next to the test bundle",
      sourceLocation: sourceLocation)
    return try execute(binary, arguments, in: directory, environment: environment)
  }

  /// Runs any executable with `arguments` in `directory` and waits for it to finish.
  ///
  /// Standard output and error go to files in `captureDirectory` (default: `directory`), not
  /// pipes, so a chatty child can never block on a full pipe while the test waits for it.
  static func execute(
    _ executable: URL, _ arguments: [String], in directory: URL,
    environment: [String: String]? = nil, captureDirectory: URL? = nil
  ) throws -> CLIResult {
    let capture = captureDirectory ?? directory
    let outURL = capture.appendingPathComponent(".stdout-\(UUID().uuidString)")
    let errURL = capture.appendingPathComponent(".stderr-\(UUID().uuidString)")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    defer {
      try? FileManager.default.removeItem(at: outURL)
      try? FileManager.default.removeItem(at: errURL)
    }
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    process.currentDirectoryURL = directory
    if let environment { process.environment = environment }
    let out = try FileHandle(forWritingTo: outURL)
    let err = try FileHandle(forWritingTo: errURL)
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    try out.close()
    try err.close()
    return CLIResult(
      status: process.terminationStatus,
      standardOutput: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
      standardError: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
  }
}

/// A fresh directory for one test's files, removed when the value is released.
final class ScratchDirectory {
  let url: URL

  init() throws {
    url = FileManager.default.temporaryDirectory
      .appendingPathComponent("attention-cli-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  }

  deinit { try? FileManager.default.removeItem(at: url) }

  /// The path of `name` inside the directory.
  func path(_ name: String) -> String { url.appendingPathComponent(name).path }

  /// Writes `array` to `name` and returns the file's name (relative to the directory).
  @discardableResult
  func write(_ array: NPYArray, to name: String) throws -> String {
    try array.encoded().write(to: url.appendingPathComponent(name))
    return name
  }

  /// Reads the `.npy` file `name`.
  func read(_ name: String) throws -> NPYArray {
    try NPYArray(decoding: Data(contentsOf: url.appendingPathComponent(name)))
  }

  /// Runs `attention` with this directory as its working directory.
  func run(
    _ arguments: [String], environment: [String: String]? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
  ) throws -> CLIResult {
    try CLIRunner.run(
      arguments, in: url, environment: environment, sourceLocation: sourceLocation)
  }
}
