import Foundation
import Testing

@testable import Attention
@testable import TensorFiles

@Suite("AtomicFile: writes replace a file whole or not at all")
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
}
