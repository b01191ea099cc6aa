import AttentionCore

#if canImport(Glibc)
  import Glibc
#endif

/// Writing an output file so that readers see either the old file or the complete new one,
/// never a partly written file — and so that what the path names keeps its kind.
///
/// What happens depends on what `path` names:
///
/// - **A regular file, or nothing yet**: the bytes are written to a new temporary file in the
///   destination's directory (same file system, so the final `rename` is atomic), flushed to disk
///   with `fsync`, and renamed over the destination. On any error the temporary file is removed
///   and the destination is untouched. If the process is killed mid-write, the destination is
///   likewise untouched; only a hidden `.<name>.tmp-…` file may remain beside it. An existing
///   file keeps its permission bits; a new file gets the default mode (0666 minus the umask), as
///   a plain `open` would.
/// - **A symbolic link**: the link is followed (through any chain of links, dangling or not) and
///   its target replaced as above; the link stays a link.
/// - **A FIFO, a character or block device, or a socket** (`/dev/null`, a named pipe another
///   process reads, `/dev/stdout` when it is a pipe): there is nothing to replace, so the bytes
///   are written straight into it (see ``DirectOutput``). Replacing such a node with a regular
///   file, as a rename would, breaks the pipe or the device for everyone else.
///
/// Package-visible so the command-line tool writes its outputs the same way.
package enum AtomicFile {
  /// Writes `bytes` to `path`: atomically for a regular file (through symbolic links), straight
  /// into a FIFO, device or socket.
  ///
  /// - Throws: ``TensorFileError/cannotWrite(path:reason:)`` naming `path`, with the system's
  ///   reason (missing directory, no permission, disk full, destination is a directory, broken
  ///   pipe, …).
  /// - Complexity: O(`bytes.count`), plus one `fsync` for a regular file.
  package static func write(_ bytes: [UInt8], to path: String) throws(TensorFileError) {
    let name = split(path).name
    guard !name.isEmpty, name != ".", name != ".." else {
      throw .cannotWrite(path: path, reason: "not a file name")
    }
    var status = stat()
    if stat(path, &status) == 0 {
      switch status.st_mode & S_IFMT {
      case S_IFREG, S_IFDIR:
        // A directory takes the atomic path too: the final rename refuses it ("Is a
        // directory") and the temporary file is removed, as for any failed write.
        try replace(resolvingExisting(path), with: bytes, reportingAs: path)
      case S_IFSOCK:
        try DirectOutput.writeToSocket(bytes, at: path, status: status)
      default:
        try DirectOutput.writeInPlace(bytes, to: path)
      }
    } else if errno == ENOENT {
      try replace(resolvingDangling(path), with: bytes, reportingAs: path)
    } else {
      throw .cannotWrite(path: path, reason: systemError())
    }
  }

  /// The path of the file an existing `path` leads to: `path` itself unless its last component
  /// is a symbolic link, else the link's target with every link resolved.
  private static func resolvingExisting(_ path: String) throws(TensorFileError) -> String {
    var status = stat()
    guard lstat(path, &status) == 0, status.st_mode & S_IFMT == S_IFLNK else { return path }
    guard let resolved = realpath(path, nil) else {
      throw .cannotWrite(path: path, reason: systemError())
    }
    defer { free(resolved) }
    return String(cString: resolved)
  }

  /// The path a new file should be created at so that `path`, which does not lead to an existing
  /// file, names it: `path` itself, or the end of its chain of dangling symbolic links.
  private static func resolvingDangling(_ path: String) throws(TensorFileError) -> String {
    var current = path
    for _ in 0..<40 {  // the kernel's own limit on links followed (ELOOP)
      var status = stat()
      guard lstat(current, &status) == 0, status.st_mode & S_IFMT == S_IFLNK else {
        return current
      }
      var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
      let length = readlink(current, &buffer, buffer.count - 1)
      guard length >= 0 else { throw .cannotWrite(path: path, reason: systemError()) }
      let target = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
      current = target.hasPrefix("/") ? target : split(current).directory + target
    }
    throw .cannotWrite(path: path, reason: systemError(ELOOP))
  }

  /// Replaces the file at `target` with `bytes` through a temporary file and a rename; errors
  /// name `reportedPath`, the path the caller gave.
  private static func replace(
    _ target: String, with bytes: [UInt8], reportingAs reportedPath: String
  ) throws(TensorFileError) {
    let (directory, name) = split(target)
    guard !name.isEmpty, name != ".", name != ".." else {
      throw .cannotWrite(path: reportedPath, reason: "not a file name")
    }
    // Keep the temporary name within NAME_MAX even for a long destination name.
    let stem = String(decoding: name.utf8.prefix(200), as: UTF8.self)
    var temporaryPath = ""
    var descriptor: Int32 = -1
    for _ in 0..<16 {
      let suffix = String(UInt64.random(in: .min ... .max), radix: 36)
      temporaryPath = directory + "." + stem + ".tmp-" + suffix
      descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
      if descriptor >= 0 || errno != EEXIST { break }
    }
    guard descriptor >= 0 else { throw .cannotWrite(path: reportedPath, reason: systemError()) }

    var finished = false
    defer {
      if !finished {
        if descriptor >= 0 { close(descriptor) }
        unlink(temporaryPath)
      }
    }
    var existing = stat()
    if stat(target, &existing) == 0 && existing.st_mode & S_IFMT == S_IFREG {
      _ = fchmod(descriptor, existing.st_mode & 0o7777)
    }
    try DirectOutput.writeAll(bytes, to: descriptor, path: reportedPath)
    guard fsync(descriptor) == 0 else {
      throw .cannotWrite(path: reportedPath, reason: systemError())
    }
    let closed = close(descriptor)
    descriptor = -1
    guard closed == 0 else { throw .cannotWrite(path: reportedPath, reason: systemError()) }
    guard rename(temporaryPath, target) == 0 else {
      throw .cannotWrite(path: reportedPath, reason: systemError())
    }
    finished = true
    // Make the rename itself durable; a failure here loses nothing already visible.
    let directoryDescriptor = open(directory.isEmpty ? "." : directory, O_RDONLY | O_CLOEXEC)
    if directoryDescriptor >= 0 {
      _ = fsync(directoryDescriptor)
      close(directoryDescriptor)
    }
  }

  /// `"dir/sub/"` and `"name"` for `"dir/sub/name"`; `""` and `"name"` for `"name"`.
  private static func split(_ path: String) -> (directory: String, name: String) {
    guard let slash = path.lastIndex(of: "/") else { return ("", path) }
    return (String(path[...slash]), String(path[path.index(after: slash)...]))
  }
}
