import Foundation
import Testing

@testable import Attention
@testable import TensorFiles

/// The libFuzzer seed corpora (`Tests/Fuzz/Corpus`) and the inputs that once crashed a reader
/// (`Tests/Fuzz/Regressions`), replayed on every `make test`: each file must decode or throw the
/// reader's own error, never trap; and a valid seed must decode.
@Suite("Fuzz corpora replay through the file readers")
struct FuzzCorpusTests {
  /// The files of `Tests/Fuzz/<folder>/<kind>`, sorted by name (empty if the folder is missing).
  static func files(_ folder: String, _ kind: String, filePath: String = #filePath) -> [URL] {
    let directory = URL(fileURLWithPath: filePath)
      .deletingLastPathComponent()  // AttentionTests
      .deletingLastPathComponent()  // Tests
      .appendingPathComponent("Fuzz/\(folder)/\(kind)")
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
    return names.sorted().map { directory.appendingPathComponent($0) }
  }

  /// Seeds whose names start with one of these decode successfully; the rest break one rule.
  static let validPrefixes = ["f2_", "f4_", "f8_", "b1_", "i4_", "i8_"]

  @Test(".npy seeds and regressions decode or throw TensorFileError")
  func npy() throws {
    let corpus = Self.files("Corpus", "npy")
    #expect(corpus.count >= 10, "the seed corpus is missing")
    for url in corpus + Self.files("Regressions", "npy") {
      let name = url.lastPathComponent
      // Seeds say by their name whether they are valid; regressions may be either.
      let valid: Bool? =
        corpus.contains(url) ? Self.validPrefixes.contains { name.hasPrefix($0) } : nil
      do {
        let tensor = try NPY.decode(Array(try Data(contentsOf: url)))
        #expect(valid != false, "\(name) decoded: \(tensor.shape)")
        #expect(try NPY.decode(NPY.encode(tensor)).shape == tensor.shape, "\(name) round trip")
      } catch let error as TensorFileError {
        #expect(valid != true, "\(name): \(error)")
      }
    }
  }

  /// The safetensors seeds that are valid files (`unsupported_dtype` holds a U16 tensor, which
  /// a file may hold: it is listed, not decoded).
  static let validSafetensors: Set = [
    "one_f32.safetensors", "mixed.safetensors", "empty.safetensors",
    "unsupported_dtype.safetensors", "half.safetensors",
  ]

  @Test(".safetensors seeds and regressions decode or throw TensorFileError")
  func safetensors() throws {
    let corpus = Self.files("Corpus", "safetensors")
    #expect(corpus.count >= 10, "the seed corpus is missing")
    for url in corpus + Self.files("Regressions", "safetensors") {
      let name = url.lastPathComponent
      let valid: Bool? = corpus.contains(url) ? Self.validSafetensors.contains(name) : nil
      do {
        let file = try SafetensorsFile.decode(Array(try Data(contentsOf: url)))
        #expect(valid != false, "\(name) decoded: \(file.entries)")
        let again = try SafetensorsFile.decode(try file.encoded())
        #expect(Set(again.entries) == Set(file.entries), "\(name) round trip")
      } catch let error as TensorFileError {
        #expect(valid != true, "\(name): \(error)")
      }
    }
  }
}
