import Foundation
import Testing

@testable import Attention
@testable import TensorFiles

/// Fixtures, expected values and helpers shared by the `.npy` and `.safetensors` tests.
enum TensorFileFixtures {
  /// The path of a committed fixture written by `Tests/Fixtures/Files/make_fixtures.py`.
  static func path(_ name: String, filePath: String = #filePath) -> String {
    URL(fileURLWithPath: filePath)
      .deletingLastPathComponent()  // AttentionTests
      .deletingLastPathComponent()  // Tests
      .appendingPathComponent("Fixtures/Files/\(name)").path
  }

  static func bytes(_ name: String) throws -> [UInt8] {
    Array(try Data(contentsOf: URL(fileURLWithPath: path(name))))
  }

  /// The fixture script's formula for floating-point element i: i * 0.25 - 3 (exact in Float).
  static func floats<S: AttentionScalar>(_ shape: [Int], as _: S.Type = S.self) -> Tensor<S> {
    let count = shape.reduce(1, *)
    return try! Tensor(shape: shape, scalars: (0..<count).map { S($0) * 0.25 - 3 })
  }

  /// The fixture script's formula for boolean element i: i % 3 == 0.
  static func bools(_ shape: [Int]) -> Tensor<Bool> {
    let count = shape.reduce(1, *)
    return try! Tensor(shape: shape, scalars: (0..<count).map { $0 % 3 == 0 })
  }
}

/// Little-endian bytes of Float values, written independently of the library's encoder.
func littleEndianBytes(_ values: [Float]) -> [UInt8] {
  values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
}

/// The error `body` throws, or `nil` (recording an issue) if it returns or throws another type.
func tensorFileError<T>(
  sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> T
) -> TensorFileError? {
  do {
    _ = try body()
    Issue.record(
      "expected a TensorFileError, but the call succeeded", sourceLocation: sourceLocation)
    return nil
  } catch let error as TensorFileError {
    return error
  } catch {
    Issue.record("expected a TensorFileError, got \(error)", sourceLocation: sourceLocation)
    return nil
  }
}

/// A fresh empty directory under the system's temporary directory, removed by `cleanUp()`.
struct TemporaryDirectory {
  let path: String

  init() throws {
    let url = FileManager.default.temporaryDirectory
      .appendingPathComponent("attention-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    path = url.path
  }

  func file(_ name: String) -> String { path + "/" + name }

  /// The names in the directory, sorted (to check that no temporary file was left behind).
  func contents() throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: path).sorted()
  }

  func cleanUp() { try? FileManager.default.removeItem(atPath: path) }
}

/// Seeded random corruptions of a valid file, for the never-trap tests: flipped and overwritten
/// bytes, truncations, and bytes inserted or removed, sometimes several at once.
struct ByteMutator {
  var generator: SplitMix64

  init(seed: UInt64) { generator = SplitMix64(seed: seed) }

  mutating func mutate(_ original: [UInt8]) -> [UInt8] {
    var bytes = original
    let mutationCount = Int.random(in: 1...4, using: &generator)
    for _ in 0..<mutationCount {
      let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &generator)
      switch Int.random(in: 0..<6, using: &generator) {
      case 0 where !bytes.isEmpty:
        bytes[position] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &generator)
      case 1 where !bytes.isEmpty:
        bytes[position] = UInt8.random(in: .min ... .max, using: &generator)
      case 2:
        bytes.removeLast(Int.random(in: 0...bytes.count, using: &generator))
      case 3:
        bytes.insert(UInt8.random(in: .min ... .max, using: &generator), at: position)
      case 4 where !bytes.isEmpty:
        bytes.remove(at: position)
      default:
        // Interesting values where sizes and lengths live.
        let interesting: [UInt8] = [0x00, 0xFF, 0x7F, 0x80, 0x30, 0x39, 0x2C, 0x29, 0x5D, 0x22]
        if !bytes.isEmpty {
          bytes[position] = interesting[Int.random(in: 0..<interesting.count, using: &generator)]
        }
      }
    }
    return bytes
  }
}

extension TestData {
  /// Seeded integers spread over the type's whole range.
  mutating func integers<I: FixedWidthInteger & TensorElement>(
    _ shape: [Int], as _: I.Type = I.self
  ) -> Tensor<I> {
    let count = shape.reduce(1, *)
    let values = (0..<count).map { _ in I(truncatingIfNeeded: generator.next()) }
    return try! Tensor(shape: shape, scalars: values)
  }
}
