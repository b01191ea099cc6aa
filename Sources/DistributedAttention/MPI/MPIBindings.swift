import CMPI
import Foundation
import Synchronization

/// The MPI calls the library makes, over `MPI_COMM_WORLD`, with Swift types only.
///
/// The one file that imports `CMPI`: no MPI handle, request or status type leaves it. Messages
/// are byte counts (every rank runs the same build on the same architecture, so a scalar's bytes
/// mean the same everywhere), split into pieces of at most ``largestPiece`` bytes because MPI
/// counts are 32-bit.
enum MPIBindings {
  /// The largest piece a message is sent in: 1 GiB, well inside MPI's `Int32` counts.
  static let largestPiece = 1 << 30

  /// Whether `MPI_Init_thread` has run in this process.
  static var isInitialized: Bool {
    var flag: Int32 = 0
    MPI_Initialized(&flag)
    return flag != 0
  }

  /// Whether `MPI_Finalize` has run in this process.
  static var isFinalized: Bool {
    var flag: Int32 = 0
    MPI_Finalized(&flag)
    return flag != 0
  }

  /// Starts MPI with `MPI_THREAD_SERIALIZED` (any one thread at a time may call MPI).
  ///
  /// - Returns: `nil` on success, else the reason.
  static func initialize() -> String? {
    var provided: Int32 = 0
    let code = MPI_Init_thread(nil, nil, cmpi_thread_serialized(), &provided)
    guard code == cmpi_success() else { return "MPI_Init_thread failed with code \(code)" }
    guard provided >= cmpi_thread_serialized() else {
      return "this MPI provides thread level \(provided), below MPI_THREAD_SERIALIZED"
    }
    return nil
  }

  static func finalize() { MPI_Finalize() }

  static var rank: Int {
    var rank: Int32 = 0
    MPI_Comm_rank(cmpi_comm_world(), &rank)
    return Int(rank)
  }

  static var size: Int {
    var size: Int32 = 0
    MPI_Comm_size(cmpi_comm_world(), &size)
    return Int(size)
  }

  /// Ends every process of the world with `status` (`MPI_Abort`).
  static func abort(status: Int32) -> Never {
    MPI_Abort(cmpi_comm_world(), status)
    fatalError("MPI_Abort returned")  // it does not
  }

  static func barrier() { MPI_Barrier(cmpi_comm_world()) }

  /// The element-wise minimum (or maximum) of `values` over every rank (`MPI_Allreduce`).
  static func allReduce(_ values: [Int64], maximum: Bool) -> [Int64] {
    var result = [Int64](repeating: 0, count: values.count)
    values.withUnsafeBufferPointer { input in
      result.withUnsafeMutableBufferPointer { output in
        _ = MPI_Allreduce(
          input.baseAddress, output.baseAddress, Int32(values.count), cmpi_int64(),
          maximum ? cmpi_op_max() : cmpi_op_min(), cmpi_comm_world())
      }
    }
    return result
  }

  /// Sends `bytes` to `destination` and waits until the buffer may be reused.
  static func send(_ bytes: UnsafeRawBufferPointer, to destination: Int, tag: Int) {
    for piece in pieces(of: bytes.count) {
      _ = MPI_Send(
        bytes.baseAddress.map { $0 + piece.lowerBound }, Int32(piece.count), cmpi_byte(),
        Int32(destination), Int32(tag), cmpi_comm_world())
    }
  }

  /// Receives exactly `bytes.count` bytes from `source`.
  static func receive(into bytes: UnsafeMutableRawBufferPointer, from source: Int, tag: Int) {
    for piece in pieces(of: bytes.count) {
      _ = MPI_Recv(
        bytes.baseAddress.map { $0 + piece.lowerBound }, Int32(piece.count), cmpi_byte(),
        Int32(source), Int32(tag), cmpi_comm_world(), cmpi_status_ignore())
    }
  }

  /// Runs `work` while the buffers `sends` travel, in order, to `destination` and `receives`
  /// fill, in order, from `source` (`MPI_Irecv` / `MPI_Isend` posted before `work`, `MPI_Waitall`
  /// after it). Messages with one tag from one source match in the order they are posted, so
  /// the i-th receive gets the i-th send of the same size.
  ///
  /// The buffers are valid only for the call; MPI reads and writes them while `work` runs, so
  /// `work` must not write `sends` nor touch `receives`.
  static func exchange<Result>(
    sends: [UnsafeRawBufferPointer], to destination: Int,
    receives: [UnsafeMutableRawBufferPointer], from source: Int, tag: Int,
    during work: () throws -> Result
  ) rethrows -> Result {
    var requests: [MPI_Request?] = []
    for receive in receives {
      for piece in pieces(of: receive.count) {
        var request: MPI_Request? = cmpi_request_null()
        _ = MPI_Irecv(
          receive.baseAddress.map { $0 + piece.lowerBound }, Int32(piece.count), cmpi_byte(),
          Int32(source), Int32(tag), cmpi_comm_world(), &request)
        requests.append(request)
      }
    }
    for send in sends {
      for piece in pieces(of: send.count) {
        var request: MPI_Request? = cmpi_request_null()
        _ = MPI_Isend(
          send.baseAddress.map { $0 + piece.lowerBound }, Int32(piece.count), cmpi_byte(),
          Int32(destination), Int32(tag), cmpi_comm_world(), &request)
        requests.append(request)
      }
    }
    // Open MPI moves a large message only while a process is inside an MPI call; `work` makes
    // none, so without help the whole transfer would happen in MPI_Waitall, after `work`. A
    // helper thread polls the requests (MPI_Testall) while `work` runs, so the transfer goes
    // on beside the computation. One thread at a time calls MPI (MPI_THREAD_SERIALIZED): this
    // thread posts the requests, the helper polls them during `work`, which makes no MPI call,
    // and this thread waits for the rest once the helper has stopped.
    let progress = RequestProgress(requests)
    progress.start()
    defer {
      progress.stop()
      progress.waitAll()
    }
    return try work()
  }

  /// `0..<count` in consecutive pieces of at most ``largestPiece``; one empty piece for 0.
  private static func pieces(of count: Int) -> [Range<Int>] {
    guard count > 0 else { return [0..<0] }
    return stride(from: 0, to: count, by: largestPiece).map {
      $0..<Swift.min($0 + largestPiece, count)
    }
  }
}

/// MPI requests polled by a helper thread while the caller computes (see
/// ``MPIBindings/exchange(sends:to:receives:from:tag:during:)``).
private final class RequestProgress: @unchecked Sendable {
  /// Touched by the helper between ``start()`` and ``stop()``, by the caller otherwise.
  private var requests: [MPI_Request?]
  private let stopping = Atomic<Bool>(false)
  private let finished = DispatchSemaphore(value: 0)
  private var running = false

  init(_ requests: [MPI_Request?]) { self.requests = requests }

  /// Starts polling on a helper thread until every request has completed or ``stop()``.
  func start() {
    running = true
    let thread = Thread { [self] in
      while !stopping.load(ordering: .acquiring) {
        var done: Int32 = 0
        requests.withUnsafeMutableBufferPointer {
          _ = MPI_Testall(Int32($0.count), $0.baseAddress, &done, cmpi_statuses_ignore())
        }
        if done != 0 { break }
        usleep(100)
      }
      finished.signal()
    }
    thread.stackSize = 1 << 20
    thread.start()
  }

  /// Stops the helper and waits until it has made its last MPI call.
  func stop() {
    guard running else { return }
    stopping.store(true, ordering: .releasing)
    finished.wait()
    running = false
  }

  /// Waits for the requests not yet complete (`MPI_Waitall`).
  func waitAll() {
    requests.withUnsafeMutableBufferPointer {
      _ = MPI_Waitall(Int32($0.count), $0.baseAddress, cmpi_statuses_ignore())
    }
  }
}
