import AttentionCore

#if canImport(Glibc)
  import Glibc
#endif

/// Replacing a file's contents all at once: readers see either the old file or the complete new
/// one, never a partly written file.
///
/// The bytes are written to a new temporary file in the destination's directory (same file
/// system, so the final `rename` is atomic), flushed to disk with `fsync`, and renamed over the
/// destination. On any error the temporary file is removed and the destination is untouched. If
/// the process is killed mid-write, the destination is likewise untouched; only a hidden
/// `.<name>.tmp-…` file may remain beside it.
///
/// An existing destination keeps its permission bits; a new file gets the default mode
/// (0666 minus the umask), as a plain `open` would. A destination that is a symbolic link is
/// replaced by a regular file.
///
/// Package-visible so the command-line tool writes its outputs the same way.
package enum AtomicFile {
  /// Writes `bytes` to `path` atomically.
  ///
  /// - Throws: ``TensorFileError/cannotWrite(path:reason:)`` with the system's reason (missing
  ///   directory, no permission, disk full, destination is a directory, …).
  /// - Complexity: O(`bytes.count`), plus one `fsync`.
  package static func write(_ bytes: [UInt8], to path: String) throws(TensorFileError) {
    let (directory, name) = split(path)
    guard !name.isEmpty, name != ".", name != ".." else {
      throw .cannotWrite(path: path, reason: "not a file name")
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
    guard descriptor >= 0 else { throw .cannotWrite(path: path, reason: systemError()) }

    var finished = false
    defer {
      if !finished {
        if descriptor >= 0 { close(descriptor) }
        unlink(temporaryPath)
      }
    }
    var existing = stat()
    if stat(path, &existing) == 0 && existing.st_mode & S_IFMT == S_IFREG {
      _ = fchmod(descriptor, existing.st_mode & 0o7777)
    }
    try writeAll(bytes, to: descriptor, path: path)
    guard fsync(descriptor) == 0 else { throw .cannotWrite(path: path, reason: systemError()) }
    let closed = close(descriptor)
    descriptor = -1
    guard closed == 0 else { throw .cannotWrite(path: path, reason: systemError()) }
    guard rename(temporaryPath, path) == 0 else {
      throw .cannotWrite(path: path, reason: systemError())
    }
    finished = true
    // Make the rename itself durable; a failure here loses nothing already visible.
    let directoryDescriptor = open(directory.isEmpty ? "." : directory, O_RDONLY | O_CLOEXEC)
    if directoryDescriptor >= 0 {
      _ = fsync(directoryDescriptor)
      close(directoryDescriptor)
    }
  }

  /// Writes every byte, retrying short writes and interrupted calls.
  private static func writeAll(_ bytes: [UInt8], to descriptor: Int32, path: String)
    throws(TensorFileError)
  {
    var failure: Int32 = 0
    bytes.withUnsafeBytes { raw in
      var offset = 0
      while offset < raw.count {
        let count = Glibc.write(descriptor, raw.baseAddress! + offset, raw.count - offset)
        if count > 0 {
          offset += count
        } else if count < 0 && errno == EINTR {
          continue
        } else {
          failure = count < 0 ? errno : EIO
          return
        }
      }
    }
    if failure != 0 { throw .cannotWrite(path: path, reason: systemError(failure)) }
  }

  /// `"dir/sub/"` and `"name"` for `"dir/sub/name"`; `""` and `"name"` for `"name"`.
  private static func split(_ path: String) -> (directory: String, name: String) {
    guard let slash = path.lastIndex(of: "/") else { return ("", path) }
    return (String(path[...slash]), String(path[path.index(after: slash)...]))
  }
}
