import AttentionCore

#if canImport(Glibc)
  import Glibc
#endif

/// Writing bytes straight into an open file descriptor: the outputs that cannot be replaced
/// atomically (FIFOs, devices, sockets, standard output) and the temporary file of an atomic
/// replacement.
///
/// A reader that goes away makes `write` fail with `EPIPE` and, by default, kills the process
/// with `SIGPIPE` before anything can be reported. While these functions write, `SIGPIPE` is
/// blocked in the calling thread (and one it raised is discarded), so a closed pipe is an error
/// like any other: ``TensorFileError/cannotWrite(path:reason:)`` with "Broken pipe". The
/// process's signal dispositions are left alone.
///
/// Package-visible so the command-line tool writes to standard output the same way.
package enum DirectOutput {
  /// The name errors use for standard output.
  package static let standardOutputName = "standard output"

  /// Writes `bytes` to standard output (file descriptor 1), which stays open.
  ///
  /// - Throws: ``TensorFileError/cannotWrite(path:reason:)`` naming "standard output", e.g.
  ///   "Broken pipe", "No space left on device", "Bad file descriptor" when it is closed.
  /// - Complexity: O(`bytes.count`).
  package static func writeStandardOutput(_ bytes: [UInt8]) throws(TensorFileError) {
    try writeAll(bytes, to: STDOUT_FILENO, path: standardOutputName)
  }

  /// Opens the FIFO or device at `path` for writing (without creating or truncating it) and
  /// writes `bytes` into it. Opening a FIFO waits for a reader, as a shell redirection does.
  ///
  /// - Throws: ``TensorFileError/cannotWrite(path:reason:)`` naming `path`.
  static func writeInPlace(_ bytes: [UInt8], to path: String) throws(TensorFileError) {
    var descriptor: Int32
    repeat {
      descriptor = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC)
    } while descriptor < 0 && errno == EINTR
    guard descriptor >= 0 else { throw .cannotWrite(path: path, reason: systemError()) }
    try finish(bytes, descriptor: descriptor, path: path)
  }

  /// Writes `bytes` to the socket at `path`, whose `stat` is `status`.
  ///
  /// A socket cannot be opened like a file. When it is this process's standard output or error
  /// (`/dev/stdout` run under a service manager that connects output to a socket), the bytes go
  /// to that descriptor; otherwise the path is a listening Unix-domain stream socket and the
  /// bytes are sent over a new connection to it.
  ///
  /// - Throws: ``TensorFileError/cannotWrite(path:reason:)`` naming `path` ("Connection
  ///   refused", "Protocol wrong type for socket" for a datagram socket, …).
  static func writeToSocket(_ bytes: [UInt8], at path: String, status: stat)
    throws(TensorFileError)
  {
    for standard in [STDOUT_FILENO, STDERR_FILENO] {
      var standardStatus = stat()
      if fstat(standard, &standardStatus) == 0, standardStatus.st_dev == status.st_dev,
        standardStatus.st_ino == status.st_ino
      {
        try writeAll(bytes, to: standard, path: path)
        return
      }
    }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let pathBytes = Array(path.utf8)
    let capacity = MemoryLayout.size(ofValue: address.sun_path)
    guard pathBytes.count < capacity else {
      throw .cannotWrite(
        path: path, reason: "a socket path must be shorter than \(capacity) bytes")
    }
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
      raw.copyBytes(from: pathBytes)
    }
    let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard descriptor >= 0 else { throw .cannotWrite(path: path, reason: systemError()) }
    let connected = withUnsafePointer(to: &address) { pointer in
      pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
      }
    }
    guard connected == 0 else {
      let reason = systemError()
      close(descriptor)
      throw .cannotWrite(path: path, reason: reason)
    }
    try finish(bytes, descriptor: descriptor, path: path)
  }

  /// Writes `bytes` to `descriptor` and closes it, reporting the first failure.
  private static func finish(_ bytes: [UInt8], descriptor: Int32, path: String)
    throws(TensorFileError)
  {
    do {
      try writeAll(bytes, to: descriptor, path: path)
    } catch {
      close(descriptor)
      throw error
    }
    guard close(descriptor) == 0 || errno == EINTR else {
      throw .cannotWrite(path: path, reason: systemError())
    }
  }

  /// Writes every byte to `descriptor`, retrying short writes and interrupted calls, with
  /// `SIGPIPE` blocked in this thread (see the type's discussion).
  ///
  /// - Throws: ``TensorFileError/cannotWrite(path:reason:)`` naming `path`.
  static func writeAll(_ bytes: [UInt8], to descriptor: Int32, path: String)
    throws(TensorFileError)
  {
    var pipeSignal = sigset_t()
    sigemptyset(&pipeSignal)
    sigaddset(&pipeSignal, SIGPIPE)
    var pendingBefore = sigset_t()
    sigpending(&pendingBefore)
    let alreadyPending = sigismember(&pendingBefore, SIGPIPE) == 1
    var previousMask = sigset_t()
    pthread_sigmask(SIG_BLOCK, &pipeSignal, &previousMask)

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
    if failure == EPIPE && !alreadyPending {
      // Discard the SIGPIPE this write raised, so unblocking does not deliver it.
      var noWait = timespec(tv_sec: 0, tv_nsec: 0)
      while sigtimedwait(&pipeSignal, nil, &noWait) < 0 && errno == EINTR {}
    }
    pthread_sigmask(SIG_SETMASK, &previousMask, nil)
    if failure != 0 { throw .cannotWrite(path: path, reason: systemError(failure)) }
  }
}
