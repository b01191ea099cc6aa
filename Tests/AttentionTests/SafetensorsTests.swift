import AttentionTestSupport
import Foundation
import Testing

@testable import Attention
@testable import TensorFiles

/// A `.safetensors` file assembled by hand: u64 little-endian header length, header, data.
private func safetensorsFile(header: String, data: [UInt8] = []) -> [UInt8] {
  let text = Array(header.utf8)
  return (0..<8).map { UInt8(truncatingIfNeeded: UInt64(text.count) >> (8 * $0)) } + text + data
}

@Suite("Safetensors: reading and writing .safetensors files")
struct SafetensorsTests {
  static let shapes: [[Int]] = [[], [5], [3, 4], [2, 0, 3], [2, 3, 4, 5]]

  @Test("tensors of every dtype and ranks 0 to 4 round-trip with their metadata")
  func roundTrip() throws {
    var data = TestData(seed: 7)
    var file = SafetensorsFile(metadata: ["format": "np", "escapes": "tab\t quote\" é \u{1}"])
    for shape in Self.shapes {
      let suffix = shape.map(String.init).joined(separator: "x")
      file["f32_" + suffix] = .float32(data.normal(shape, as: Float.self))
      file["f64_" + suffix] = .float64(data.normal(shape, as: Double.self))
      file["bool_" + suffix] = .bool(data.bools(shape))
      file["f16_" + suffix] = .float16(
        data.normal(shape, as: Float.self).converted(to: Float16.self))
      file["bf16_" + suffix] = .bfloat16(
        data.normal(shape, as: Float.self).converted(to: BFloat16.self))
      file["i32_" + suffix] = .int32(data.integers(shape))
      file["i64_" + suffix] = .int64(data.integers(shape))
    }
    let bytes = try file.encoded()
    let decoded = try SafetensorsFile.decode(bytes)
    #expect(decoded == file)
    #expect(decoded.count == 35)
    #expect(decoded.metadata == file.metadata)

    let directory = try TemporaryDirectory()
    defer { directory.cleanUp() }
    let path = directory.file("all.safetensors")
    try file.write(to: path)
    let read = try SafetensorsFile.read(from: path)
    #expect(read == file)
    #expect(read.path == path)
    #expect(try directory.contents() == ["all.safetensors"])
  }

  @Test("written layout: header padded to 8 bytes, widest dtypes first, names sorted, aligned")
  func writtenLayout() throws {
    let file = SafetensorsFile(tensors: [
      "b_mask": .bool(TensorFileFixtures.bools([3])),
      "a_mask": .bool(TensorFileFixtures.bools([1])),
      "z": .float32(TensorFileFixtures.floats([2])),
      "y": .float64(TensorFileFixtures.floats([1])),
    ])
    let bytes = try file.encoded()
    let headerLength = bytes[0..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
    #expect(headerLength % 8 == 0)
    let header = String(decoding: bytes[8..<(8 + headerLength)], as: UTF8.self)
    let expected =
      #"{"y":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"#
      + #""z":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},"#
      + #""a_mask":{"dtype":"BOOL","shape":[1],"data_offsets":[16,17]},"#
      + #""b_mask":{"dtype":"BOOL","shape":[3],"data_offsets":[17,20]}}"#
    #expect(header.trimmingCharacters(in: .whitespaces) == expected)
    #expect(bytes.count == 8 + headerLength + 20)
  }

  @Test("a file written by the reference safetensors package decodes to the expected values")
  func readsReferenceFile() throws {
    let path = TensorFileFixtures.path("mixed.safetensors")
    let file = try SafetensorsFile.read(from: path)
    #expect(file.names == ["bias", "scale", "empty", "query", "mask"])
    #expect(file.metadata == ["note": "fixture \"quoted\" é\n"])
    #expect(
      try file.floatingPoint(named: "query", as: Float.self) == TensorFileFixtures.floats([2, 3]))
    #expect(
      try file.floatingPoint(named: "scale", as: Double.self) == TensorFileFixtures.floats([]))
    #expect(
      try file.floatingPoint(named: "bias", as: Double.self) == TensorFileFixtures.floats([4]))
    #expect(
      try file.floatingPoint(named: "empty", as: Float.self) == TensorFileFixtures.floats([0, 5]))
    #expect(try file.boolean(named: "mask") == TensorFileFixtures.bools([3, 4]))
    #expect(
      file.entry(named: "query")
        == SafetensorsFile.Entry(name: "query", dtype: "F32", shape: [2, 3]))
    // Conversion on request: F32 read as Double, F64 as Float.
    #expect(
      try file.floatingPoint(named: "query", as: Double.self) == TensorFileFixtures.floats([2, 3]))
    #expect(try file.floatingPoint(named: "bias", as: Float.self) == TensorFileFixtures.floats([4]))
  }

  @Test("encoding the same tensors gives the reference writer's bytes")
  func encodesLikeReference() throws {
    let file = SafetensorsFile(
      tensors: [
        "query": .float32(TensorFileFixtures.floats([2, 3])),
        "scale": .float64(TensorFileFixtures.floats([])),
        "mask": .bool(TensorFileFixtures.bools([3, 4])),
        "empty": .float32(TensorFileFixtures.floats([0, 5])),
        "bias": .float64(TensorFileFixtures.floats([4])),
      ],
      metadata: ["note": "fixture \"quoted\" é\n"])
    #expect(try file.encoded() == (try TensorFileFixtures.bytes("mixed.safetensors")))
  }

  @Test("F16, I32 and I64 tensors written by the reference package decode exactly")
  func readsReferenceHalfFile() throws {
    let path = TensorFileFixtures.path("half.safetensors")
    let file = try SafetensorsFile.read(from: path)
    #expect(file.names == ["ids64", "single", "ids32", "half"])
    #expect(file.metadata == ["format": "pt"])
    let expected = TensorFileFixtures.floats([2, 3], as: Float.self)
    #expect(file["half"] == .float16(expected.converted(to: Float16.self)))
    #expect(try file.floatingPoint(named: "half", as: Float.self) == expected)
    #expect(
      try file.floatingPoint(named: "half", as: Double.self) == TensorFileFixtures.floats([2, 3]))
    #expect(try file.integer(named: "ids32").scalars == [0, 1, -1, Int64(Int32.max)])
    #expect(try file.integer(named: "ids64").scalars == [0, -1, (1 << 62) + 1, .min])
    #expect(
      file.entries.map { "\($0.name):\($0.dtype):\($0.isSupported)" }
        == ["ids64:I64:true", "single:F32:true", "ids32:I32:true", "half:F16:true"])
    #expect(
      tensorFileError { try file.floatingPoint(named: "ids64", as: Float.self) }
        == .dtypeMismatch(
          path: path, tensor: "ids64", expected: "floating-point (F16, BF16, F32 or F64)",
          actual: "I64"))
    #expect(
      tensorFileError { try file.integer(named: "half") }
        == .dtypeMismatch(
          path: path, tensor: "half", expected: "integer (I32 or I64)", actual: "F16"))
    #expect(
      tensorFileError { try file.boolean(named: "ids32") }
        == .dtypeMismatch(path: path, tensor: "ids32", expected: "BOOL", actual: "I32"))
  }

  @Test("encoding F16, I32 and I64 tensors gives the reference writer's bytes")
  func encodesHalfLikeReference() throws {
    let file = SafetensorsFile(
      tensors: [
        "half": .float16(
          TensorFileFixtures.floats([2, 3], as: Float.self).converted(to: Float16.self)),
        "ids32": .int32(try Tensor(shape: [4], scalars: [0, 1, -1, .max])),
        "ids64": .int64(try Tensor(shape: [4], scalars: [0, -1, (1 << 62) + 1, .min])),
        "single": .float32(TensorFileFixtures.floats([2])),
      ],
      metadata: ["format": "pt"])
    #expect(try file.encoded() == (try TensorFileFixtures.bytes("half.safetensors")))
  }

  @Test("BF16 tensors decode to their bits, widen exactly, and are written back byte for byte")
  func bfloat16Tensors() throws {
    let path = TensorFileFixtures.path("bf16.safetensors")
    let file = try SafetensorsFile.read(from: path)
    #expect(
      file.entry(named: "weight")
        == SafetensorsFile.Entry(name: "weight", dtype: "BF16", shape: [2, 3]))
    #expect(
      try file.floatingPoint(named: "weight", as: Float.self) == TensorFileFixtures.floats([2, 3]))
    guard case .bfloat16(let special)? = file["special"] else {
      Issue.record("'special' is not bfloat16: \(file.entries)")
      return
    }
    let bits: [UInt16] = [
      0x7FC0, 0xFFC0, 0x7F80, 0xFF80, 0x8000, 0x0001, 0x007F, 0x0080, 0x7F7F, 0xFF7F,
    ]
    #expect(special.scalars.map(\.bitPattern) == bits)
    // NaN, ±inf, -0, the smallest and largest subnormal, the smallest normal, ±max: exact.
    let widened = try file.floatingPoint(named: "special", as: Float.self)
    #expect(widened.scalars.map(\.bitPattern) == bits.map { UInt32($0) << 16 })
    #expect(try file.encoded() == (try TensorFileFixtures.bytes("bf16.safetensors")))
    // The same tensors built in memory encode to the same bytes.
    let rebuilt = SafetensorsFile(tensors: [
      "weight": .bfloat16(
        TensorFileFixtures.floats([2, 3], as: Float.self).converted(to: BFloat16.self)),
      "special": .bfloat16(special),
      "bias": .float32(TensorFileFixtures.floats([2])),
    ])
    #expect(try rebuilt.encoded() == (try TensorFileFixtures.bytes("bf16.safetensors")))
  }

  @Test("half-precision and integer tensors whose offsets disagree with their shape are named")
  func halfPrecisionSizeErrors() throws {
    for (dtype, width) in [("F16", 2), ("BF16", 2), ("I32", 4), ("I64", 8)] {
      let header = #"{"h":{"dtype":""# + dtype + #"","shape":[3],"data_offsets":[0,5]}}"#
      #expect(
        tensorFileError {
          try SafetensorsFile.decode(
            safetensorsFile(header: header, data: [UInt8](repeating: 0, count: 5)))
        }
          == .sizeMismatch(
            path: nil, tensor: "h", shape: [3], dtype: dtype, expectedBytes: 3 * width,
            actualBytes: 5))
    }
    // Cut short: the last tensor's offsets reach past the data that is there.
    for name in ["half.safetensors", "bf16.safetensors"] {
      let cut = Array(try TensorFileFixtures.bytes(name).dropLast(1))
      guard
        case .invalidDataOffsets(nil, _, let reason)? = tensorFileError({
          try SafetensorsFile.decode(cut)
        })
      else {
        Issue.record("\(name) cut short: expected invalidDataOffsets")
        continue
      }
      #expect(reason.contains("extend past the end"), "\(reason)")
    }
  }

  @Test("unsupported dtypes are named on access; the others still read; all are written back")
  func unsupportedDTypes() throws {
    let path = TensorFileFixtures.path("unsupported.safetensors")
    let file = try SafetensorsFile.read(from: path)
    #expect(
      try file.floatingPoint(named: "weight", as: Float.self) == TensorFileFixtures.floats([2, 2]))
    let error = tensorFileError { try file.tensor(named: "small") }
    #expect(error == .unsupportedDType(path: path, tensor: "small", dtype: "I16"))
    #expect(error?.description.contains("unsupported dtype I16 for tensor 'small'") == true)
    #expect(
      tensorFileError { try file.tensor(named: "byte") }
        == .unsupportedDType(path: path, tensor: "byte", dtype: "U8"))
    #expect(file["small"] == nil)
    #expect(
      file.entries.map { "\($0.name):\($0.dtype):\($0.isSupported)" }
        == ["weight:F32:true", "small:I16:false", "byte:U8:false"])
    #expect(try file.encoded() == (try TensorFileFixtures.bytes("unsupported.safetensors")))
  }

  @Test("a missing tensor's error names the file, the tensor and what the file holds")
  func missingTensor() throws {
    let path = TensorFileFixtures.path("unsupported.safetensors")
    let file = try SafetensorsFile.read(from: path)
    let error = tensorFileError { try file.tensor(named: "q_proj") }
    #expect(
      error == .missingTensor(path: path, name: "q_proj", available: ["weight", "small", "byte"]))
    #expect(
      error?.description
        == "\(path): no tensor named 'q_proj' (it holds 'weight', 'small', 'byte')")
  }

  @Test("asking for the wrong kind of tensor names it")
  func dtypeMismatch() throws {
    let file = try SafetensorsFile.read(from: TensorFileFixtures.path("mixed.safetensors"))
    let path = file.path
    #expect(
      tensorFileError { try file.floatingPoint(named: "mask", as: Float.self) }
        == .dtypeMismatch(
          path: path, tensor: "mask", expected: "floating-point (F16, BF16, F32 or F64)",
          actual: "BOOL"))
    #expect(
      tensorFileError { try file.boolean(named: "query") }
        == .dtypeMismatch(path: path, tensor: "query", expected: "BOOL", actual: "F32"))
  }

  @Test("the subscript adds, replaces in place, and removes")
  func subscriptEditing() throws {
    var file = SafetensorsFile()
    file["b"] = .bool(TensorFileFixtures.bools([2]))
    file["a"] = .float32(TensorFileFixtures.floats([2]))
    file["b"] = .float64(TensorFileFixtures.floats([3]))
    #expect(file.names == ["b", "a"])
    #expect(file["b"] == .float64(TensorFileFixtures.floats([3])))
    file["b"] = nil
    #expect(file.names == ["a"] && file["b"] == nil && file.count == 1)
    file["__metadata__"] = .bool(TensorFileFixtures.bools([1]))
    guard case .malformedHeader(nil, _)? = tensorFileError({ try file.encoded() }) else {
      Issue.record("a tensor named __metadata__ must be refused")
      return
    }
  }

  // MARK: Malformed files, each with its specific error

  static let tensorA = #""a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}"#

  @Test("a file shorter than the length field is truncated")
  func truncatedLength() {
    #expect(
      tensorFileError { try SafetensorsFile.decode([1, 0, 0]) }
        == .truncated(path: nil, expected: 8, found: 3))
    #expect(
      tensorFileError { try SafetensorsFile.decode([]) }
        == .truncated(path: nil, expected: 8, found: 0))
  }

  @Test(
    "an absurd header length (2^63) or one past the end of the file is refused before allocating")
  func absurdHeaderLength() {
    var bytes = safetensorsFile(header: "{\(Self.tensorA)}", data: [UInt8](repeating: 0, count: 24))
    bytes.replaceSubrange(0..<8, with: [0, 0, 0, 0, 0, 0, 0, 0x80])
    #expect(
      tensorFileError { try SafetensorsFile.decode(bytes) }
        == .headerLengthExceedsFile(path: nil, headerLength: 1 << 63, available: bytes.count - 8))
    bytes.replaceSubrange(0..<8, with: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
    #expect(
      tensorFileError { try SafetensorsFile.decode(bytes) }
        == .headerLengthExceedsFile(path: nil, headerLength: .max, available: bytes.count - 8))
    let cut = Array(safetensorsFile(header: "{\(Self.tensorA)}").prefix(30))
    #expect(
      tensorFileError { try SafetensorsFile.decode(cut) }
        == .headerLengthExceedsFile(
          path: nil, headerLength: UInt64(Self.tensorA.utf8.count + 2), available: 22))
  }

  /// (header, data length, words the malformedHeader reason must contain)
  static let malformedHeaders: [(String, Int, String)] = [
    ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]", 24, "invalid JSON"),
    ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24],}}", 24, "invalid JSON"),
    ("{'a': 1}", 0, "invalid JSON"),
    ("[1, 2]", 0, "not an object"),
    ("{\"a\":[1]}", 0, "tensor 'a' is described by an array"),
    ("{\"a\":{\"shape\":[2,3],\"data_offsets\":[0,24]}}", 24, "has no \"dtype\""),
    ("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,24]}}", 24, "has no \"shape\""),
    ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3]}}", 24, "has no \"data_offsets\""),
    ("{\"a\":{\"dtype\":32,\"shape\":[2,3],\"data_offsets\":[0,24]}}", 24, "dtype"),
    ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,-3],\"data_offsets\":[0,24]}}", 24, "non-negative"),
    ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,24]}}", 24, "non-negative"),
    (
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,24]}}", 24,
      "fits in Int"
    ),
    ("{\"a\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[0]}}", 24, "not [begin, end]"),
    ("{\"__metadata__\":{\"k\":1}}", 0, "not a string"),
    ("{\"__metadata__\":[]}", 0, "not an object of strings"),
    ("{\"__metadata__\":{},\"__metadata__\":{}}", 0, "more than one"),
    ("{\"a\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,2]}}", 2, "whole number of bytes"),
    (String(repeating: "[", count: 200), 0, "nesting"),
    ("{\"a\\ud800\":1}", 0, "surrogate"),
    ("", 0, "end of header"),
  ]

  @Test("malformed headers say what is wrong", arguments: malformedHeaders)
  func malformedHeader(header: String, dataLength: Int, reason: String) {
    let bytes = safetensorsFile(header: header, data: [UInt8](repeating: 0, count: dataLength))
    let error = tensorFileError { try SafetensorsFile.decode(bytes) }
    guard case .malformedHeader(nil, let message)? = error else {
      Issue.record("expected malformedHeader, got \(String(describing: error))")
      return
    }
    #expect(message.contains(reason), "\(message)")
  }

  @Test("a header that is not UTF-8 is malformed")
  func notUTF8() {
    var bytes = safetensorsFile(header: "{\"a\u{E9}\":{}}")
    bytes[11] = 0xFF
    guard
      case .malformedHeader(nil, let reason)? = tensorFileError({
        try SafetensorsFile.decode(bytes)
      })
    else {
      Issue.record("expected malformedHeader")
      return
    }
    #expect(reason.contains("UTF-8"))
  }

  /// (header tensors, data length, offending tensor or nil, words the reason must contain)
  static let badOffsets: [(String, Int, String?, String)] = [
    (
      #""a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,1000]}"#, 24, "a",
      "extend past the end of the 24-byte"
    ),
    (
      #""a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,99999999999999999999]}"#, 24, "a",
      "extend past"
    ),
    (#""a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}"#, 8, "a", "begin after they end"),
    (
      #""a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}"#,
      16, "b", "overlap tensor 'a'"
    ),
    (
      #""a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}"#,
      20, "b", "leave 4 unused bytes"
    ),
    (#""a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}"#, 12, "a", "leave 4 unused bytes"),
    (
      #""a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}"#, 12, nil,
      "cover 8 bytes but the data buffer holds 12"
    ),
  ]

  @Test(
    "data offsets out of range, overlapping, leaving gaps or not covering the buffer",
    arguments: badOffsets)
  func invalidOffsets(tensors: String, dataLength: Int, tensor: String?, reason: String) {
    let bytes = safetensorsFile(
      header: "{\(tensors)}", data: [UInt8](repeating: 0, count: dataLength))
    let error = tensorFileError { try SafetensorsFile.decode(bytes) }
    guard case .invalidDataOffsets(nil, let named, let message)? = error else {
      Issue.record("expected invalidDataOffsets, got \(String(describing: error))")
      return
    }
    #expect(named == tensor)
    #expect(message.contains(reason), "\(message)")
  }

  @Test("offsets that disagree with shape × dtype size are a size mismatch naming the tensor")
  func offsetsNotMatchingShape() {
    let header = #"{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}}"#
    let error = tensorFileError {
      try SafetensorsFile.decode(
        safetensorsFile(header: header, data: [UInt8](repeating: 0, count: 20)))
    }
    #expect(
      error
        == .sizeMismatch(
          path: nil, tensor: "a", shape: [2, 3], dtype: "F32", expectedBytes: 24, actualBytes: 20))
    #expect(
      error?.description
        == "size mismatch for tensor 'a': shape [2, 3] of F32 needs 24 bytes, data has 20")
    // Also checked for dtypes the library does not decode.
    let half = #"{"h":{"dtype":"BF16","shape":[3],"data_offsets":[0,4]}}"#
    #expect(
      tensorFileError {
        try SafetensorsFile.decode(safetensorsFile(header: half, data: [0, 0, 0, 0]))
      }
        == .sizeMismatch(
          path: nil, tensor: "h", shape: [3], dtype: "BF16", expectedBytes: 6, actualBytes: 4))
  }

  @Test("an absurd shape whose size overflows Int is refused")
  func absurdShape() {
    let header =
      #"{"a":{"dtype":"F32","shape":[1000000000000,1000000000000],"data_offsets":[0,4]}}"#
    #expect(
      tensorFileError {
        try SafetensorsFile.decode(safetensorsFile(header: header, data: [0, 0, 0, 0]))
      }
        == .sizeOverflow(
          path: nil, tensor: "a", shape: [1_000_000_000_000, 1_000_000_000_000], dtype: "F32"))
    // Also for a dtype whose size is unknown: its element count must still fit in Int.
    let unknown = #"{"q":{"dtype":"Q9","shape":[4294967296,4294967296],"data_offsets":[0,4]}}"#
    #expect(
      tensorFileError {
        try SafetensorsFile.decode(safetensorsFile(header: unknown, data: [0, 0, 0, 0]))
      }
        == .sizeOverflow(
          path: nil, tensor: "q", shape: [4_294_967_296, 4_294_967_296], dtype: "Q9"))
  }

  @Test("a duplicate tensor name is refused")
  func duplicateName() {
    let header =
      #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
    #expect(
      tensorFileError {
        try SafetensorsFile.decode(
          safetensorsFile(header: header, data: [UInt8](repeating: 0, count: 8)))
      }
        == .duplicateTensorName(path: nil, name: "a"))
  }

  @Test(
    "legal variations are read: whitespace, escapes, field order, unknown fields, unknown dtypes")
  func legalVariations() throws {
    let header =
      " {\n \"w\\u00e9\" : { \"data_offsets\" : [ 0 , 8 ] , \"shape\" : [ 2 ] , \"extra\": null,"
      + " \"dtype\" : \"F32\" } , \"q\": {\"dtype\": \"Q9_X\", \"shape\": [5], \"data_offsets\": [8, 11]},"
      + " \"__metadata__\": {\"k\\/\\\"\": \"\\ud83d\\ude00\"} }\t\r\n  "
    let values: [Float] = [1.5, -2]
    let data = littleEndianBytes(values) + [1, 2, 3]
    let file = try SafetensorsFile.decode(safetensorsFile(header: header, data: data))
    #expect(file.names == ["wé", "q"])
    #expect(file["wé"] == AnyTensor.float32(try Tensor(shape: [2], scalars: values)))
    #expect(file.metadata == ["k/\"": "😀"])
    #expect(
      tensorFileError { try file.tensor(named: "q") }
        == .unsupportedDType(path: nil, tensor: "q", dtype: "Q9_X"))
  }

  @Test("an empty file (no tensors) round-trips")
  func emptyFile() throws {
    let bytes = try SafetensorsFile().encoded()
    #expect(bytes == safetensorsFile(header: "{}      "))
    #expect(try SafetensorsFile.decode(bytes).isEmpty)
  }

  @Test("2,000 seeded random corruptions of valid files each decode or throw, never trap")
  func corruptionsNeverTrap() throws {
    var data = TestData(seed: 99)
    let ours = try SafetensorsFile(
      tensors: [
        "x": .float32(data.normal([3, 2])), "m": .bool(data.bools([4])),
        "d": .float64(data.normal([2])),
      ],
      metadata: ["k": "v"]
    ).encoded()
    let originals = [
      try TensorFileFixtures.bytes("mixed.safetensors"),
      try TensorFileFixtures.bytes("unsupported.safetensors"),
      try TensorFileFixtures.bytes("half.safetensors"),
      try TensorFileFixtures.bytes("bf16.safetensors"), ours,
    ]
    var mutator = ByteMutator(seed: 0x5AFE_7E45)
    var decoded = 0
    var rejected = 0
    for iteration in 0..<2_000 {
      let bytes = mutator.mutate(originals[iteration % originals.count])
      do {
        let file = try SafetensorsFile.decode(bytes)
        for entry in file.entries {
          if let tensor = file[entry.name] { #expect(tensor.count == entry.shape.reduce(1, *)) }
        }
        decoded += 1
      } catch is TensorFileError {
        rejected += 1
      }
    }
    #expect(decoded > 20)
    #expect(rejected > 1_000)
  }
}
