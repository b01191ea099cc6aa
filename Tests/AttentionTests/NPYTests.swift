import AttentionTestSupport
import Foundation
import Testing

@testable import Attention
@testable import TensorFiles

/// A `.npy` file assembled by hand: magic, version, little-endian header length, header, data.
private func npyFile(header: String, data: [UInt8] = [], major: UInt8 = 1) -> [UInt8] {
  let text = Array(header.utf8)
  var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [major, 0]
  let lengthBytes = major == 1 ? 2 : 4
  for index in 0..<lengthBytes {
    bytes.append(UInt8(truncatingIfNeeded: text.count >> (8 * index)))
  }
  return bytes + text + data
}

@Suite("NPY: reading and writing NumPy .npy files")
struct NPYTests {
  static let shapes: [[Int]] = [[], [5], [3, 4], [2, 0, 3], [2, 3, 4, 5]]

  @Test(
    "every dtype round-trips through bytes and files for ranks 0 to 4",
    arguments: shapes)
  func roundTrip(shape: [Int]) throws {
    var data = TestData(seed: UInt64(shape.count * 31 + shape.reduce(1, *)))
    let tensors: [AnyTensor] = [
      .float32(data.normal(shape, as: Float.self)),
      .float64(data.normal(shape, as: Double.self)),
      .bool(data.bools(shape)),
      .float16(data.normal(shape, as: Float.self).converted(to: Float16.self)),
      .int32(data.integers(shape, as: Int32.self)),
      .int64(data.integers(shape, as: Int64.self)),
    ]
    let directory = try TemporaryDirectory()
    defer { directory.cleanUp() }
    for tensor in tensors {
      let bytes = NPY.encode(tensor)
      #expect(bytes.count % 64 == tensor.byteCount % 64, "data starts 64-byte aligned")
      #expect(try NPY.decode(bytes) == tensor, "\(tensor.dtypeName) \(shape)")
      let path = directory.file("\(tensor.dtypeName).npy")
      try NPY.write(tensor, to: path)
      #expect(try NPY.read(from: path) == tensor, "\(tensor.dtypeName) \(shape) via file")
    }
  }

  /// (fixture written by numpy.save, expected tensor from the fixture script's formula)
  static let numpyFixtures: [(String, AnyTensor)] = [
    ("f4_scalar.npy", .float32(TensorFileFixtures.floats([]))),
    ("f4_3.npy", .float32(TensorFileFixtures.floats([3]))),
    ("f8_2x3.npy", .float64(TensorFileFixtures.floats([2, 3]))),
    ("b1_2x3x4.npy", .bool(TensorFileFixtures.bools([2, 3, 4]))),
    ("f4_2x0x3.npy", .float32(TensorFileFixtures.floats([2, 0, 3]))),
    ("f8_2x3x1x2.npy", .float64(TensorFileFixtures.floats([2, 3, 1, 2]))),
    (
      "f2_3.npy",
      .float16(TensorFileFixtures.floats([3], as: Float.self).converted(to: Float16.self))
    ),
    (
      "f2_2x3.npy",
      .float16(TensorFileFixtures.floats([2, 3], as: Float.self).converted(to: Float16.self))
    ),
    ("i8_3.npy", .int64(try! Tensor(shape: [3], scalars: [0, 1, 2]))),
    ("i8_4.npy", .int64(try! Tensor(shape: [4], scalars: [0, -1, (1 << 62) + 1, .min]))),
    (
      "i4_2x3.npy",
      .int32(try! Tensor(shape: [2, 3], scalars: [0, 1, -1, .max, .min, 123_456_789]))
    ),
  ]

  @Test("files written by numpy.save decode to the expected values", arguments: numpyFixtures)
  func readsNumPyFiles(name: String, expected: AnyTensor) throws {
    let path = TensorFileFixtures.path(name)
    #expect(try NPY.read(from: path) == expected)
  }

  @Test("encoding gives the same bytes as numpy.save", arguments: numpyFixtures)
  func encodesLikeNumPy(name: String, tensor: AnyTensor) throws {
    #expect(NPY.encode(tensor) == (try TensorFileFixtures.bytes(name)))
  }

  @Test("special values survive bit for bit: NaN, infinities, -0, subnormal, max")
  func specialValues() throws {
    let tensor = try NPY.read(from: TensorFileFixtures.path("f4_special.npy")).floatingPoint(
      as: Float.self)
    let expected: [Float] = [
      .nan, .infinity, -.infinity, -0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude,
    ]
    #expect(tensor.scalars.map(\.bitPattern) == expected.map(\.bitPattern))
    #expect(NPY.encode(.float32(tensor)) == (try TensorFileFixtures.bytes("f4_special.npy")))
  }

  @Test("float16 special values survive bit for bit and widen exactly")
  func float16SpecialValues() throws {
    let tensor = try NPY.read(from: TensorFileFixtures.path("f2_special.npy"))
    guard case .float16(let halves) = tensor else {
      Issue.record("f2_special.npy decoded as \(tensor.dtypeName)")
      return
    }
    // nan, inf, -inf, -0, smallest subnormal, largest subnormal, smallest normal, ±max, 1/3.
    #expect(
      halves.scalars.map(\.bitPattern)
        == [0x7E00, 0x7C00, 0xFC00, 0x8000, 0x0001, 0x03FF, 0x0400, 0x7BFF, 0xFBFF, 0x3555])
    let singles = try tensor.floatingPoint(as: Float.self).scalars
    #expect(singles[0].isNaN)
    #expect(
      Array(singles.dropFirst())
        == [
          .infinity, -.infinity, -0.0, 0x1p-24, 0x1p-14 - 0x1p-24, 0x1p-14, 65504, -65504,
          Float(0x1.554p-2),
        ])
    #expect(singles[3].sign == .minus)
    #expect(NPY.encode(tensor) == (try TensorFileFixtures.bytes("f2_special.npy")))
  }

  @Test("a bfloat16 tensor, which NumPy lacks, is written as float32, exactly")
  func bfloat16WrittenAsFloat32() throws {
    let brains = try Tensor(
      shape: [3], scalars: [0x3FC0, 0xFF80, 0x0001].map { BFloat16(bitPattern: $0) })
    let bytes = NPY.encode(.bfloat16(brains))
    #expect(
      bytes == NPY.encode(.float32(try Tensor(shape: [3], scalars: [1.5, -.infinity, 0x1p-133]))))
    #expect(
      try NPY.decode(bytes).floatingPoint(as: Float.self).converted(to: BFloat16.self) == brains)
  }

  @Test("format versions 2.0 and 3.0 written by numpy are read")
  func laterVersions() throws {
    let version2 = try TensorFileFixtures.bytes("f4_2x3_v2.npy")
    #expect(version2[6] == 2)
    #expect(try NPY.decode(version2) == .float32(TensorFileFixtures.floats([2, 3])))
    let version3 = try TensorFileFixtures.bytes("f8_3_v3.npy")
    #expect(version3[6] == 3)
    #expect(try NPY.decode(version3) == .float64(TensorFileFixtures.floats([3])))
  }

  @Test("a header too long for version 1.0 is written as version 2.0 and read back")
  func writesVersion2WhenNeeded() throws {
    // 22,001 dimensions take 3 bytes each (", 1") in the header: over version 1.0's 65,535.
    let shape = [Int](repeating: 1, count: 22_000) + [2]
    let tensor = AnyTensor.float32(try Tensor(shape: shape, scalars: [1.5, -2]))
    let bytes = NPY.encode(tensor)
    #expect(bytes[6] == 2 && bytes[7] == 0)
    let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16
    #expect((12 + headerLength) % 64 == 0)
    #expect(try NPY.decode(bytes) == tensor)
  }

  static let unusualHeaders: [String] = [
    "{\"shape\": (2, 3), \"fortran_order\": False, \"descr\": \"<f4\"}",
    "{'descr':'<f4','fortran_order':False,'shape':(2,3)}",
    "{ 'descr' : '<f4' ,\n  'fortran_order' : False ,\t'shape' : ( 2 , 3 , ) , }   \n",
    "{'descr': u'<f4', 'fortran_order': False, 'shape': (2L, 3L), }",
    "{'fortran_order': False, 'shape': (2, 3), 'descr': '=f4', }",
    "{'fortran_order': False, 'shape': (2, 3), 'descr': 'f4', }",
    "{'fortran_order': False, 'shape': (2, 3), 'descr': 'float32', }",
    "{'fortran_order': False, 'shape': (2, +3), 'descr': '|f4', }",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (0_2, 3)}",
  ]

  @Test("headers in unusual but legal Python spellings are read", arguments: unusualHeaders)
  func unusualHeader(header: String) throws {
    let values: [Float] = [1, 2, 3, 4, 5, -6]
    let bytes = npyFile(header: header, data: littleEndianBytes(values))
    #expect(try NPY.decode(bytes) == .float32(try Tensor(shape: [2, 3], scalars: values)))
  }

  /// (descr, element type name, bytes per element)
  static let halfAndIntegerSpellings: [(String, String, Int)] = [
    ("<f2", "float16", 2), ("f2", "float16", 2), ("=f2", "float16", 2), ("e", "float16", 2),
    ("float16", "float16", 2), ("half", "float16", 2), ("<i4", "int32", 4), ("i4", "int32", 4),
    ("i", "int32", 4), ("int32", "int32", 4), ("<i8", "int64", 8), ("i8", "int64", 8),
    ("q", "int64", 8), ("int64", "int64", 8),
  ]

  @Test(
    "every half-precision and integer spelling numpy accepts is read",
    arguments: halfAndIntegerSpellings)
  func numericSpellings(descriptor: String, dtype: String, width: Int) throws {
    let header = "{'descr': '\(descriptor)', 'fortran_order': False, 'shape': (2,), }"
    let tensor = try NPY.decode(
      npyFile(header: header, data: [UInt8](repeating: 0, count: 2 * width)))
    #expect(tensor.dtypeName == dtype && tensor.shape == [2])
  }

  @Test(
    "every bool spelling numpy accepts is read",
    arguments: ["|b1", "<b1", "b1", "?", "|?", "=?", "bool", ">b1"])
  func boolSpellings(descriptor: String) throws {
    let header = "{'descr': '\(descriptor)', 'fortran_order': False, 'shape': (4,), }"
    let bytes = npyFile(header: header, data: [1, 0, 0, 7])
    #expect(
      try NPY.decode(bytes) == .bool(try Tensor(shape: [4], scalars: [true, false, false, true])))
  }

  // MARK: Malformed files, each with its specific error

  @Test("truncated data: expected and found byte counts, and the path in the message")
  func truncatedData() throws {
    let valid = try TensorFileFixtures.bytes("f8_2x3.npy")
    let cut = Array(valid.dropLast(5))
    #expect(
      tensorFileError { try NPY.decode(cut) }
        == .truncated(path: nil, expected: valid.count, found: valid.count - 5))
    let directory = try TemporaryDirectory()
    defer { directory.cleanUp() }
    let path = directory.file("cut.npy")
    try Data(cut).write(to: URL(fileURLWithPath: path))
    let error = tensorFileError { try NPY.read(from: path) }
    #expect(error == .truncated(path: path, expected: 176, found: 171))
    #expect(error?.description == "\(path): truncated file: expected 176 bytes, found 171")
  }

  @Test("a file cut inside the preamble is truncated; inside the header, the length exceeds it")
  func truncatedHeader() throws {
    let valid = try TensorFileFixtures.bytes("f4_3.npy")
    #expect(
      tensorFileError { try NPY.decode(Array(valid.prefix(9))) }
        == .truncated(path: nil, expected: 10, found: 9))
    #expect(
      tensorFileError { try NPY.decode(Array(valid.prefix(7))) }
        == .truncated(path: nil, expected: 8, found: 7))
    #expect(tensorFileError { try NPY.decode([]) } == .truncated(path: nil, expected: 8, found: 0))
    #expect(
      tensorFileError { try NPY.decode(Array(valid.prefix(50))) }
        == .headerLengthExceedsFile(path: nil, headerLength: 118, available: 40))
  }

  @Test("a header length field larger than the file is rejected before any allocation")
  func headerLengthLargerThanFile() {
    var bytes = npyFile(
      header: "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", major: 2)
    bytes.replaceSubrange(8..<12, with: [0xF0, 0xFF, 0xFF, 0xFF])
    #expect(
      tensorFileError { try NPY.decode(bytes) }
        == .headerLengthExceedsFile(
          path: nil, headerLength: 0xFFFF_FFF0, available: bytes.count - 12))
  }

  @Test("bad magic bytes are reported with the bytes found")
  func badMagic() {
    let zip: [UInt8] = [0x50, 0x4B, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x08, 0x00]
    let error = tensorFileError { try NPY.decode(zip) }
    #expect(error == .badMagic(path: nil, found: [0x50, 0x4B, 0x03, 0x04, 0x14, 0x00]))
    #expect(error?.description.contains("50 4B 03 04 14 00") == true)
    #expect(
      tensorFileError { try NPY.decode([0x93, 0x4E, 0x55, 0x4D]) }
        == .truncated(path: nil, expected: 8, found: 4))
    #expect(
      tensorFileError { try NPY.decode([0x93, 0x4E, 0x00]) }
        == .badMagic(path: nil, found: [0x93, 0x4E, 0x00]))
  }

  @Test("an unknown format version is named", arguments: [(UInt8(4), UInt8(0)), (1, 1), (0, 0)])
  func badVersion(major: UInt8, minor: UInt8) {
    var bytes = npyFile(
      header: "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", data: [0, 0, 0, 0])
    bytes[6] = major
    bytes[7] = minor
    #expect(
      tensorFileError { try NPY.decode(bytes) }
        == .unsupportedVersion(path: nil, major: Int(major), minor: Int(minor)))
  }

  /// (header, words the reason must contain)
  static let malformedHeaders: [(String, String)] = [
    ("[1, 2]", "not a dictionary"),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), ", "not a Python literal"),
    ("{'descr': '<f4', 'fortran_order': False}", "missing key 'shape'"),
    ("{'descr': '<f4', 'shape': (3,)}", "missing key 'fortran_order'"),
    (
      "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'extra': 1}",
      "unexpected key 'extra'"
    ),
    (
      "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'shape': (3,)}",
      "duplicate key 'shape'"
    ),
    ("{'descr': '<f4', 'fortran_order': 0, 'shape': (3,)}", "fortran_order"),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': [3]}", "tuple"),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (3)}", "tuple"),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (3.0,)}", "decimal integers"),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (-3,)}", "negative"),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (True,)}", "tuple"),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", "does not fit"),
    ("{1: '<f4'}", "not a string"),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (3,)} junk", "after the value"),
    (String(repeating: "(", count: 100), "nesting"),
    ("{'descr': '<f4\n', 'fortran_order': False, 'shape': (3,)}", "newline"),
    ("", "end of header"),
  ]

  @Test("malformed headers say what is wrong", arguments: malformedHeaders)
  func malformedHeader(header: String, reason: String) {
    let error = tensorFileError { try NPY.decode(npyFile(header: header, data: [0, 0, 0, 0])) }
    guard case .malformedHeader(nil, let message)? = error else {
      Issue.record("expected malformedHeader, got \(String(describing: error))")
      return
    }
    #expect(message.contains(reason), "\(message)")
  }

  @Test(
    "unsupported dtypes written by numpy are named",
    arguments: [("u2_3.npy", "<u2"), ("c8_2.npy", "<c8")])
  func unsupportedDType(name: String, dtype: String) throws {
    let path = TensorFileFixtures.path(name)
    let error = tensorFileError { try NPY.read(from: path) }
    #expect(error == .unsupportedDType(path: path, tensor: nil, dtype: dtype))
    #expect(error?.description.contains("unsupported dtype \(dtype)") == true)
  }

  @Test("structured and non-string dtypes are unsupported, not malformed")
  func structuredDType() {
    let header = "{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (1,)}"
    let error = tensorFileError {
      try NPY.decode(npyFile(header: header, data: [UInt8](repeating: 0, count: 8)))
    }
    #expect(
      error == .unsupportedDType(path: nil, tensor: nil, dtype: "[('a', '<f4'), ('b', '<i4')]"))
  }

  @Test(
    "big-endian data written by numpy is rejected with its dtype",
    arguments: [("f4_big_endian.npy", ">f4"), ("f2_big_endian.npy", ">f2")])
  func bigEndian(name: String, dtype: String) throws {
    let path = TensorFileFixtures.path(name)
    #expect(tensorFileError { try NPY.read(from: path) } == .bigEndian(path: path, dtype: dtype))
    for descriptor in [">i4", ">i8", ">e"] {
      let header = "{'descr': '\(descriptor)', 'fortran_order': False, 'shape': (1,), }"
      #expect(
        tensorFileError { try NPY.decode(npyFile(header: header, data: [0, 0, 0, 0, 0, 0, 0, 0])) }
          == .bigEndian(path: nil, dtype: descriptor))
    }
  }

  @Test("half-precision and integer data cut short, or longer than the shape needs, is named")
  func halfPrecisionSizes() throws {
    for name in ["f2_2x3.npy", "i4_2x3.npy", "i8_4.npy"] {
      let valid = try TensorFileFixtures.bytes(name)
      #expect(
        tensorFileError { try NPY.decode(Array(valid.dropLast(1))) }
          == .truncated(path: nil, expected: valid.count, found: valid.count - 1), "\(name)")
    }
    // An odd number of bytes for float16 elements, and one element too many.
    let header = "{'descr': '<f2', 'fortran_order': False, 'shape': (2, 2), }"
    let error = tensorFileError {
      try NPY.decode(npyFile(header: header, data: [UInt8](repeating: 0, count: 9)))
    }
    #expect(
      error
        == .sizeMismatch(
          path: nil, tensor: nil, shape: [2, 2], dtype: "float16", expectedBytes: 8,
          actualBytes: 9))
    #expect(
      error?.description == "size mismatch: shape [2, 2] of float16 needs 8 bytes, data has 9")
    let overflowing =
      "{'descr': '<i8', 'fortran_order': False, 'shape': (3000000000000000000,), }"
    #expect(
      tensorFileError { try NPY.decode(npyFile(header: overflowing)) }
        == .sizeOverflow(
          path: nil, tensor: nil, shape: [3_000_000_000_000_000_000], dtype: "int64"))
  }

  @Test("a Fortran-ordered array written by numpy is rejected")
  func fortranOrder() throws {
    let path = TensorFileFixtures.path("f4_2x3_fortran.npy")
    #expect(tensorFileError { try NPY.read(from: path) } == .fortranOrder(path: path))
  }

  @Test("data longer than the shape needs is a size mismatch")
  func shapeSizeMismatch() {
    let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }"
    let bytes = npyFile(header: header, data: littleEndianBytes([1, 2, 3, 4, 5, 6]))
    let error = tensorFileError { try NPY.decode(bytes) }
    #expect(
      error
        == .sizeMismatch(
          path: nil, tensor: nil, shape: [2, 2], dtype: "float32", expectedBytes: 16,
          actualBytes: 24))
    #expect(
      error?.description == "size mismatch: shape [2, 2] of float32 needs 16 bytes, data has 24")
  }

  @Test("a shape whose size overflows Int is absurd; a huge one that fits is truncated")
  func absurdShape() throws {
    let overflowing =
      "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000, 1000000000000), }"
    #expect(
      tensorFileError { try NPY.decode(npyFile(header: overflowing, data: [0, 0, 0, 0])) }
        == .sizeOverflow(
          path: nil, tensor: nil, shape: [1_000_000_000_000, 1_000_000_000_000], dtype: "float32"))
    // 3e18 elements fit in Int, their 2.4e19 bytes do not.
    let bytesOverflow =
      "{'descr': '<f8', 'fortran_order': False, 'shape': (3000000000000000000,), }"
    #expect(
      tensorFileError { try NPY.decode(npyFile(header: bytesOverflow)) }
        == .sizeOverflow(
          path: nil, tensor: nil, shape: [3_000_000_000_000_000_000], dtype: "float64"))
    // An empty dimension first makes the count 0 however large the rest (as Tensor counts).
    let emptyFirst =
      "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 1000000000000, 1000000000000), }"
    #expect(
      try NPY.decode(npyFile(header: emptyFirst)).shape == [
        0, 1_000_000_000_000, 1_000_000_000_000,
      ])
    let huge = "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000, 1000000000), }"
    let bytes = npyFile(header: huge, data: [0, 0, 0, 0])
    #expect(
      tensorFileError { try NPY.decode(bytes) }
        == .truncated(
          path: nil, expected: bytes.count - 4 + 4_000_000_000_000_000_000, found: bytes.count))
  }

  @Test("a missing file, a directory and an unwritable destination name the path and the reason")
  func inputOutputErrors() throws {
    let directory = try TemporaryDirectory()
    defer { directory.cleanUp() }
    let missing = directory.file("missing.npy")
    #expect(
      tensorFileError { try NPY.read(from: missing) }
        == .cannotOpen(path: missing, reason: "No such file or directory"))
    #expect(
      tensorFileError { try NPY.read(from: directory.path) }
        == .cannotOpen(path: directory.path, reason: "Is a directory"))
    let nowhere = directory.file("no/such/dir/out.npy")
    let error = tensorFileError {
      try NPY.write(.bool(try Tensor(shape: [1], scalars: [true])), to: nowhere)
    }
    #expect(error == .cannotWrite(path: nowhere, reason: "No such file or directory"))
    #expect(error?.description == "\(nowhere): cannot write: No such file or directory")
  }

  @Test("2,000 seeded random corruptions of valid files each decode or throw, never trap")
  func corruptionsNeverTrap() throws {
    let originals = try [
      "f4_scalar.npy", "f8_2x3.npy", "b1_2x3x4.npy", "f4_2x0x3.npy", "f4_2x3_v2.npy", "f8_3_v3.npy",
      "f2_special.npy", "i4_2x3.npy",
    ].map(TensorFileFixtures.bytes)
    var mutator = ByteMutator(seed: 0x5EED_0F_0A1A)
    var decoded = 0
    var rejected = 0
    for iteration in 0..<2_000 {
      let bytes = mutator.mutate(originals[iteration % originals.count])
      do {
        let tensor = try NPY.decode(bytes)
        #expect(tensor.count == tensor.shape.reduce(1, *))
        decoded += 1
      } catch is TensorFileError {
        rejected += 1
      }
    }
    // The mutations must exercise both outcomes, or the test shows nothing.
    #expect(decoded > 20)
    #expect(rejected > 1_000)
  }
}
