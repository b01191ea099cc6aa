import AttentionCore

#if canImport(Glibc)
  import Glibc
#endif

/// Reading a whole file into memory with POSIX calls, reporting failures as
/// ``TensorFileError/cannotOpen(path:reason:)`` with the system's reason.
///
/// Package-visible so the command-line tool reads its inputs the same way.
package enum FileContents {
  /// Reads every byte of the file at `path` (a regular file, a pipe or a device).
  ///
  /// - Throws: ``TensorFileError/cannotOpen(path:reason:)``, e.g. "No such file or directory",
  ///   "Is a directory", "Permission denied".
  /// - Complexity: O(file size); a regular file is read into one allocation of its size.
  package static func read(from path: String) throws(TensorFileError) -> [UInt8] {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { throw .cannotOpen(path: path, reason: systemError()) }
    defer { close(descriptor) }

    var status = stat()
    guard fstat(descriptor, &status) == 0 else {
      throw .cannotOpen(path: path, reason: systemError())
    }
    if status.st_mode & S_IFMT == S_IFDIR {
      throw .cannotOpen(path: path, reason: "Is a directory")
    }
    let isRegular = status.st_mode & S_IFMT == S_IFREG
    let expectedSize = isRegular ? Int(status.st_size) : 0

    var failure: Int32 = 0
    var bytes = [UInt8](unsafeUninitializedCapacity: expectedSize) { buffer, initialized in
      initialized = 0
      while initialized < expectedSize {
        let count = Glibc.read(
          descriptor, buffer.baseAddress! + initialized, expectedSize - initialized)
        if count > 0 {
          initialized += count
        } else if count == 0 {
          break  // the file shrank while being read: keep what is there
        } else if errno != EINTR {
          failure = errno
          break
        }
      }
    }
    // Pipes and devices report no size, and a regular file may have grown: read to the end.
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while failure == 0 {
      let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
      if count > 0 {
        bytes.append(contentsOf: chunk[0..<count])
      } else if count == 0 {
        break
      } else if errno != EINTR {
        failure = errno
      }
    }
    if failure != 0 { throw .cannotOpen(path: path, reason: systemError(failure)) }
    return bytes
  }
}

/// The system's message for `code` ("No such file or directory").
func systemError(_ code: Int32 = errno) -> String {
  String(cString: strerror(code))
}
