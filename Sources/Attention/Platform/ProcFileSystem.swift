#if canImport(Glibc)
  import Glibc
#endif

/// Reading Linux's `/proc` files: the processor's flags for ``CPUFeatures``, and the memory
/// figures the benchmark measures with.
package enum ProcFileSystem {
  /// The whole content of a small text file such as `/proc/cpuinfo`, or `nil` if unreadable.
  ///
  /// Read in chunks until end of file: files under `/proc` report a size of 0, so their length is
  /// unknown in advance.
  package static func readText(atPath path: String) -> String? {
    guard let file = fopen(path, "r") else { return nil }
    defer { fclose(file) }
    var bytes = [UInt8]()
    var chunk = [UInt8](repeating: 0, count: 16_384)
    while true {
      let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
      if count == 0 { break }
      bytes.append(contentsOf: chunk[0..<count])
    }
    return String(decoding: bytes, as: UTF8.self)
  }

  /// A `kB` field of a `/proc` file such as `/proc/meminfo` or `/proc/self/status`, in bytes:
  /// `bytes(ofField: "MemAvailable:", in: text)` reads the line `MemAvailable:  123456 kB`.
  package static func bytes(ofField field: String, in text: String) -> Int? {
    for line in text.split(separator: "\n") where line.hasPrefix(field) {
      let number = line.dropFirst(field.count)
        .split(whereSeparator: { $0 == " " || $0 == "\t" }).first
      return number.flatMap { Int($0) }.map { $0 * 1024 }
    }
    return nil
  }

  /// A `kB` field of the file at `path` (see ``bytes(ofField:in:)``), or `nil` if the file or the
  /// field cannot be read.
  package static func bytes(ofField field: String, inFileAt path: String) -> Int? {
    readText(atPath: path).flatMap { bytes(ofField: field, in: $0) }
  }
}
