import ArgumentParser
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A path given on the command line together with the option that named it, so every message
/// can say both: `k.npy (--key)`.
struct FileArgument: CustomStringConvertible {
  let path: String
  let option: String

  init(_ path: String, option: String) {
    self.path = path
    self.option = option
  }

  /// Whether the path is `-`, standard output (for an output; inputs have no such spelling).
  var isStandardOutput: Bool { path == "-" }

  var description: String {
    isStandardOutput ? "standard output (\(option))" : "\(path) (\(option))"
  }
}

/// The rule that no output overwrites an input or another output, checked on the command line
/// before anything is read or computed.
enum OutputPaths {
  /// Throws a `ValidationError` (exit status 64) when an output names the same file as an input
  /// (the same inode, so `./x.npy`, a symbolic link or a hard link to it all count; for `-`,
  /// standard output redirected to it) or when two outputs name the same path.
  static func check(outputs: [FileArgument], inputs: [FileArgument]) throws {
    for (index, output) in outputs.enumerated() {
      if let identity = output.isStandardOutput
        ? standardOutputIdentity() : fileIdentity(output.path),
        let input = inputs.first(where: { fileIdentity($0.path) == identity })
      {
        throw ValidationError(
          "\(output.option) \(output.path) is the input \(input); refusing to overwrite an input")
      }
      for other in outputs[..<index] where canonicalPath(other.path) == canonicalPath(output.path) {
        throw ValidationError(
          "\(output.option) and \(other.option) both name \(output.path); give each output its own file"
        )
      }
    }
  }

  /// Device and inode of an existing file, or `nil` when it does not exist yet.
  private static func fileIdentity(_ path: String) -> [UInt64]? {
    var status = stat()
    guard stat(path, &status) == 0 else { return nil }
    return [UInt64(status.st_dev), UInt64(status.st_ino)]
  }

  /// Device and inode of what standard output is open on.
  private static func standardOutputIdentity() -> [UInt64]? {
    var status = stat()
    guard fstat(STDOUT_FILENO, &status) == 0 else { return nil }
    return [UInt64(status.st_dev), UInt64(status.st_ino)]
  }

  /// The absolute path with the directory's symbolic links resolved (the file may not exist).
  private static func canonicalPath(_ path: String) -> String {
    let url = URL(fileURLWithPath: path).standardizedFileURL
    let directory = url.deletingLastPathComponent().resolvingSymlinksInPath()
    return directory.appendingPathComponent(url.lastPathComponent).path
  }
}
