import Foundation
import Testing

@testable import Attention
@testable import TensorFiles

#if canImport(Glibc)
  import Glibc
#endif

@Suite("AtomicFile: writes replace a file whole or not at all, and keep what a path names")
struct AtomicFileTests {
  @Test("a write creates the file, a second write replaces it, and no temporary file remains")
  func createsAndReplaces() throws {
    let directory = try TemporaryDirectory()
    defer { directory.cleanUp() }
    let path = directory.file("out.bin")
    try AtomicFile.write([1, 2, 3], to: path)
    #expect(Array(try Data(contentsOf: URL(fileURLWithPath: path))) == [1, 2, 3])
    try AtomicFile.write(Array(repeating: 7, count: 100_000), to: path)
    #expect(
      Array(try Data(contentsOf: URL(fileURLWithPath: path))) == Array(repeating: 7, count: 100_000)
    )
    try AtomicFile.write([], to: path)
    #expect(try Data(contentsOf: URL(fileURLWithPath: path)).isEmpty)
    #expect(try directory.contents() == ["out.bin"])
  }

  @Test("an existing file keeps its permission bits")
  func keepsPermissions() throws {
    let directory = try TemporaryDirectory()
    defer { directory.cleanUp() }
    let path = directory.file("script.sh")
    try AtomicFile.write([0x23], to: path)
    try FileManager.default.setAttributes([.posixPermissions: 0o750], ofItemAtPath: path)
    try AtomicFile.write([0x23, 0x21], to: path)
    let permissions = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions]
    #expect((permissions as? NSNumber)?.intValue == 0o750)
  }

  @Test("a failed write leaves the destination as it was and removes its temporary file")
  func failureLeavesDestinationIntact() throws {
    let directory = try TemporaryDirectory()
    defer { directory.cleanUp() }
    // The destination is a non-empty directory: the final rename fails after all bytes were
    // written to the temporary file.
    let destination = directory.file("taken")
    try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: false)
    try AtomicFile.write([9], to: destination + "/inside")
    let error = tensorFileError { try AtomicFile.write([1, 2, 3], to: destination) }
    guard case .cannotWrite(destination, _)? = error else {
      Issue.record("expected cannotWrite naming the destination, got \(String(describing: error))")
      return
    }
    #expect(try directory.contents() == ["taken"])
    #expect(try FileManager.default.contentsOfDirectory(atPath: destination) == ["inside"])
  }

  @Test("a path without a file name is refused")
  func refusesDirectoryPaths() {
    #expect(
      tensorFileError { try AtomicFile.write([1], to: "/tmp/") }
        == .cannotWrite(path: "/tmp/", reason: "not a file name"))
  }

  // MARK: Symbolic links

  @Test("through a symbolic link, the target is replaced atomically and the link stays a link")
  func symbolicLinkToFile() throws {
    let directory = try TemporaryDirectory()
    defer { directory.cleanUp() }
    try FileManager.default.createDirectory(
      atPath: directory.file("real"), withIntermediateDirectories: false)
    let target = directory.file("real/out.bin")
    try AtomicFile.write([1], to: target)
    try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: target)
    let link = directory.file("link.bin")
    try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "real/out.bin")

    try AtomicFile.write([4, 5, 6], to: link)
    #expect(fileKind(link) == S_IFLNK)
    #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == "real/out.bin")
    #expect(Array(try Data(contentsOf: URL(fileURLWithPath: target))) == [4, 5, 6])
    let permissions = try FileManager.default.attributesOfItem(atPath: target)[.posixPermissions]
    #expect((permissions as? NSNumber)?.intValue == 0o640)
    #expect(try directory.contents() == ["link.bin", "real"])
    #expect(
      try FileManager.default.contentsOfDirectory(atPath: directory.file("real")) == ["out.bin"])
  }

  @Test("a dangling link, or a chain of links, gets its final target created")
  func danglingLinks() throws {
    let directory = try TemporaryDirectory()
    defer { directory.cleanUp() }
    try FileManager.default.createSymbolicLink(
      atPath: directory.file("first"), withDestinationPath: directory.file("second"))
    try FileManager.default.createSymbolicLink(
      atPath: directory.file("second"), withDestinationPath: "created.bin")
    try AtomicFile.write([7, 8], to: directory.file("first"))
    #expect(fileKind(directory.file("first")) == S_IFLNK)
    #expect(fileKind(directory.file("second")) == S_IFLNK)
    #expect(fileKind(directory.file("created.bin")) == S_IFREG)
    #expect(
      Array(try Data(contentsOf: URL(fileURLWithPath: directory.file("created.bin")))) == [7, 8])
    #expect(try directory.contents() == ["created.bin", "first", "second"])
  }

  @Test("a loop of links is refused with the system's reason, and nothing is created")
  func linkLoop() throws {
    let directory = try TemporaryDirectory()
    defer { directory.cleanUp() }
    try FileManager.default.createSymbolicLink(
      atPath: directory.file("a"), withDestinationPath: "b")
    try FileManager.default.createSymbolicLink(
      atPath: directory.file("b"), withDestinationPath: "a")
    let path = directory.file("a")
    #expect(
      tensorFileError { try AtomicFile.write([1], to: path) }
        == .cannotWrite(path: path, reason: "Too many levels of symbolic links"))
    #expect(try directory.contents() == ["a", "b"])
  }

  // MARK: FIFOs, devices and sockets: written into, never replaced

  @Test("a FIFO is written into (1 MiB, more than a pipe holds) and stays a FIFO")
  func fifo() throws {
    let directory = try TemporaryDirectory()
    defer { directory.cleanUp() }
    let path = directory.file("pipe")
    #expect(mkfifo(path, 0o600) == 0)
    let bytes = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
    let reader = BackgroundReader(openingForReading: path)
    try AtomicFile.write(bytes, to: path)
    #expect(reader.wait() == bytes)
    #expect(fileKind(path) == S_IFIFO)
    #expect(try directory.contents() == ["pipe"])
  }

  @Test("a FIFO whose reader leaves is a Broken pipe error, not a SIGPIPE death")
  func fifoReaderGone() throws {
    let directory = try TemporaryDirectory()
    defer { directory.cleanUp() }
    let path = directory.file("pipe")
    #expect(mkfifo(path, 0o600) == 0)
    let reader = BackgroundReader(openingForReading: path, readingNothing: true)
    let error = tensorFileError {
      try AtomicFile.write([UInt8](repeating: 1, count: 4 << 20), to: path)
    }
    #expect(error == .cannotWrite(path: path, reason: "Broken pipe"))
    _ = reader.wait()
    #expect(fileKind(path) == S_IFIFO)
    var pending = sigset_t()
    sigpending(&pending)
    #expect(sigismember(&pending, SIGPIPE) == 0, "a SIGPIPE was left pending")
  }

  /// Whether this process may create device nodes (root with CAP_MKNOD), tried in a scratch
  /// folder: the tests make their own nodes there and never touch `/dev`.
  static let canMakeDevices: Bool = {
    guard let directory = try? TemporaryDirectory() else { return false }
    defer { directory.cleanUp() }
    return mknod(directory.file("null"), S_IFCHR | 0o666, deviceNumber(major: 1, minor: 3)) == 0
  }()

  @Test(
    "a character device is written into and stays a device; a full one reports ENOSPC",
    .enabled(if: canMakeDevices, "needs permission to create device nodes"))
  func characterDevices() throws {
    let directory = try TemporaryDirectory()
    defer { directory.cleanUp() }
    // The kernel's null (1, 3) and full (1, 7) devices, as nodes in the scratch folder.
    let null = directory.file("null")
    let full = directory.file("full")
    #expect(mknod(null, S_IFCHR | 0o666, deviceNumber(major: 1, minor: 3)) == 0)
    #expect(mknod(full, S_IFCHR | 0o666, deviceNumber(major: 1, minor: 7)) == 0)
    try AtomicFile.write([1, 2, 3], to: null)
    #expect(
      tensorFileError { try AtomicFile.write([1, 2, 3], to: full) }
        == .cannotWrite(path: full, reason: "No space left on device"))
    #expect(fileKind(null) == S_IFCHR && fileKind(full) == S_IFCHR)
    #expect(try directory.contents() == ["full", "null"])
    // Through a symbolic link, too: the device is written into, the link kept.
    try FileManager.default.createSymbolicLink(
      atPath: directory.file("link"), withDestinationPath: "full")
    #expect(
      tensorFileError { try AtomicFile.write([1], to: directory.file("link")) }
        == .cannotWrite(path: directory.file("link"), reason: "No space left on device"))
    #expect(fileKind(directory.file("link")) == S_IFLNK && fileKind(full) == S_IFCHR)
  }

  @Test("a listening Unix socket receives the bytes over a connection and stays a socket")
  func unixSocket() throws {
    let directory = try TemporaryDirectory()
    defer { directory.cleanUp() }
    let path = directory.file("sock")
    let listener = try #require(BackgroundReader(listeningAt: path))
    let bytes = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
    try AtomicFile.write(bytes, to: path)
    #expect(listener.wait() == bytes)
    #expect(fileKind(path) == S_IFSOCK)
    #expect(try directory.contents() == ["sock"])
  }
}

/// glibc's `makedev` (a C macro, not imported): the device number of major and minor numbers.
private func deviceNumber(major: UInt64, minor: UInt64) -> dev_t {
  dev_t(
    (major & 0xFFF) << 8 | (major & ~0xFFF) << 32 | (minor & 0xFF) | (minor & ~0xFF) << 12)
}

/// The file type bits of what `path` itself is (`lstat`: a link is a link).
private func fileKind(_ path: String) -> mode_t {
  var status = stat()
  guard lstat(path, &status) == 0 else { return 0 }
  return status.st_mode & S_IFMT
}

/// A thread that reads everything from a FIFO (or a connection accepted on a Unix socket) until
/// end of file, so the test can write from its own thread.
private final class BackgroundReader: @unchecked Sendable {
  private let lock = NSLock()
  private let finished = DispatchSemaphore(value: 0)
  private var received: [UInt8] = []

  /// Opens the FIFO at `path` for reading (which waits for a writer) and reads it to the end, or
  /// with `readingNothing` closes it at once.
  init(openingForReading path: String, readingNothing: Bool = false) {
    Thread.detachNewThread { [self] in
      let descriptor = open(path, O_RDONLY | O_CLOEXEC)
      if descriptor >= 0 && !readingNothing { drain(descriptor) }
      if descriptor >= 0 { close(descriptor) }
      finished.signal()
    }
  }

  /// Binds a Unix stream socket at `path`, accepts one connection and reads it to the end.
  init?(listeningAt path: String) {
    let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let pathBytes = Array(path.utf8)
    guard listener >= 0, pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
      return nil
    }
    withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: pathBytes) }
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
      }
    }
    guard bound == 0, listen(listener, 1) == 0 else {
      close(listener)
      return nil
    }
    Thread.detachNewThread { [self] in
      let connection = accept(listener, nil, nil)
      if connection >= 0 {
        drain(connection)
        close(connection)
      }
      close(listener)
      finished.signal()
    }
  }

  private func drain(_ descriptor: Int32) {
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
      let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
      if count > 0 {
        lock.withLock { received += chunk[0..<count] }
      } else if count < 0 && errno == EINTR {
        continue
      } else {
        return
      }
    }
  }

  /// Waits for end of file and returns what was read.
  func wait() -> [UInt8] {
    finished.wait()
    return lock.withLock { received }
  }
}
