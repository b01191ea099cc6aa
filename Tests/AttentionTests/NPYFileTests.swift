import AttentionTestSupport
import Foundation
import Testing

@testable import Attention
@testable import TensorFiles

/// Slices `ranges` of `axis` of a row-major array of `shape`, concatenated: the reference.
private func slices<T>(_ values: [T], shape: [Int], _ ranges: [Range<Int>], along axis: Int)
  -> [T]
{
  let outer = shape[..<axis].reduce(1, *)
  let inner = shape[(axis + 1)...].reduce(1, *)
  var result: [T] = []
  for index in 0..<outer {
    for range in ranges {
      let start = (index * shape[axis] + range.lowerBound) * inner
      result += values[start..<(start + range.count * inner)]
    }
  }
  return result
}

@Suite("NPYFile and NPYAssembly: slices of .npy files without the whole file")
struct NPYFileTests {
  static let slicings: [(axis: Int, ranges: [Range<Int>])] = [
    (2, [0..<2, 5..<7]), (2, [3..<4]), (0, [1..<2]), (3, [0..<5]), (1, [2..<3, 0..<1]),
    (2, []),
  ]

  @Test("slices along any axis equal the same slices of the whole array", arguments: slicings)
  func slicesMatch(axis: Int, ranges: [Range<Int>]) throws {
    let shape = [2, 3, 7, 5]
    var data = TestData(seed: 41)
    let floats = data.normal(shape, as: Float.self)
    let doubles = data.normal(shape, as: Double.self)
    let integers = data.integers(shape, as: Int32.self)
    let directory = try TemporaryDirectory()
    defer { directory.cleanUp() }
    var expectedShape = shape
    expectedShape[axis] = ranges.reduce(0) { $0 + $1.count }

    try NPY.write(.float32(floats), to: directory.file("f.npy"))
    let f = try NPYFile(path: directory.file("f.npy"))
    #expect(f.shape == shape)
    #expect(f.dtypeName == "float32")
    let fSlice = try f.readSlices(ranges, along: axis).floatingPoint(as: Float.self)
    #expect(fSlice.shape == expectedShape)
    #expect(fSlice.scalars == slices(floats.scalars, shape: shape, ranges, along: axis))

    try NPY.write(.float64(doubles), to: directory.file("d.npy"))
    let dSlice = try NPYFile(path: directory.file("d.npy")).readSlices(ranges, along: axis)
    #expect(dSlice.dtypeName == "float64")
    #expect(
      try dSlice.floatingPoint(as: Double.self).scalars
        == slices(doubles.scalars, shape: shape, ranges, along: axis))

    try NPY.write(.int32(integers), to: directory.file("i.npy"))
    guard
      case .int32(let iSlice) = try NPYFile(path: directory.file("i.npy")).readSlices(
        ranges, along: axis)
    else {
      Issue.record("an int32 file read as another type")
      return
    }
    #expect(iSlice.scalars == slices(integers.scalars, shape: shape, ranges, along: axis))
  }

  @Test("an assembly of every part's slices writes the bytes numpy.save would")
  func assemblyMatchesEncode() throws {
    let shape = [2, 3, 10, 4]
    var data = TestData(seed: 42)
    let whole = data.normal(shape, as: Float.self)
    let parts: [[Range<Int>]] = [[0..<2, 8..<10], [2..<5], [5..<8]]
    var assembly = NPYAssembly(shape: shape, elementTypeOf: .float32(whole))
    for ranges in parts.reversed() {
      let rows = ranges.reduce(0) { $0 + $1.count }
      let part = try Tensor(
        shape: [2, 3, rows, 4], scalars: slices(whole.scalars, shape: shape, ranges, along: 2))
      assembly.place(.float32(part), at: ranges, along: 2)
    }
    let directory = try TemporaryDirectory()
    defer { directory.cleanUp() }
    try assembly.write(to: directory.file("o.npy"))
    #expect(try FileContents.read(from: directory.file("o.npy")) == NPY.encode(.float32(whole)))
    #expect(try directory.contents() == ["o.npy"], "no temporary file left behind")
  }

  @Test("missing, truncated, padded and non-regular files are refused when opened")
  func refusals() throws {
    let directory = try TemporaryDirectory()
    defer { directory.cleanUp() }
    let missing = tensorFileError { try NPYFile(path: directory.file("missing.npy")) }
    guard case .cannotOpen(_, let reason)? = missing else {
      Issue.record("missing file: \(String(describing: missing))")
      return
    }
    #expect(reason.contains("No such file"))

    let bytes = NPY.encode(.float32(TensorFileFixtures.floats([3, 4])))
    try Data(bytes.dropLast(4)).write(to: URL(fileURLWithPath: directory.file("short.npy")))
    let short = tensorFileError { try NPYFile(path: directory.file("short.npy")) }
    guard case .truncated? = short else {
      Issue.record("truncated file: \(String(describing: short))")
      return
    }

    try Data(bytes + [0, 0, 0, 0]).write(to: URL(fileURLWithPath: directory.file("long.npy")))
    let long = tensorFileError { try NPYFile(path: directory.file("long.npy")) }
    guard case .sizeMismatch? = long else {
      Issue.record("padded file: \(String(describing: long))")
      return
    }

    try Data(bytes.prefix(9)).write(to: URL(fileURLWithPath: directory.file("stub.npy")))
    #expect(tensorFileError { try NPYFile(path: directory.file("stub.npy")) } != nil)

    let folder = tensorFileError { try NPYFile(path: directory.path) }
    guard case .cannotOpen(_, let folderReason)? = folder else {
      Issue.record("directory: \(String(describing: folder))")
      return
    }
    #expect(folderReason == "Is a directory")
  }
}
