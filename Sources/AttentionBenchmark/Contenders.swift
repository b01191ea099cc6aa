import Attention
import Foundation

/// What the library's fused path is timed against in the same run, alternately with it: this
/// benchmark built for the host CPU (`attention-bench --serve` from `make bench`'s second
/// build), PyTorch's `scaled_dot_product_attention` and ONNX Runtime's `Attention` (opset 23).
///
/// Every contender is optional: a missing one is reported with the reason, never a failure.
final class Contenders {
  /// One contender: its short name in the protocol, its label in the report, and its process.
  struct Entry {
    var name: String
    var label: String
    var process: PeerProcess
  }

  private(set) var entries: [Entry] = []
  /// One line per contender looked for: what was found, or why it is missing.
  private(set) var notes: [String] = []
  /// The versions of what runs (for `results.json`): `torch`, `onnxruntime`, `numpy`, `python`.
  private(set) var versions: [String: String] = [:]
  private var directory: String?
  private var pythonProcess: PeerProcess?

  var isEmpty: Bool { entries.isEmpty }
  var names: [String] { entries.map(\.name) }

  /// The report's name for a contender (`PyTorch 2.15.0 SDPA`), or `name` itself.
  func label(of name: String) -> String {
    entries.first { $0.name == name }?.label ?? name
  }

  /// Starts the native build's server (when `nativeBinary` is given) and the Python peers (when
  /// `usesPython`), and notes what each offers.
  init(
    nativeBinary: String?, nativeArguments: [String], usesPython: Bool, peerScript: String
  ) {
    if let nativeBinary {
      do {
        let process = try PeerProcess(command: [nativeBinary, "--serve"] + nativeArguments)
        let flags = process.hello.versions["build"] ?? "?"
        entries.append(Entry(name: "native", label: "native build", process: process))
        notes.append("native build: \(nativeBinary) (swift build -c release \(flags))")
        versions["native build flags"] = flags
      } catch {
        notes.append("native build: not used (\(error))")
      }
    } else {
      notes.append("native build: not given (make bench passes --native-binary)")
    }
    guard usesPython else {
      notes.append("PyTorch, ONNX Runtime: not looked for (--no-peers)")
      return
    }
    startPython(script: peerScript)
  }

  /// Tries each Python candidate in turn and keeps the first whose peers import.
  private func startPython(script: String) {
    guard FileManager.default.fileExists(atPath: script) else {
      notes.append("PyTorch, ONNX Runtime: peer script \(script) not found; peers skipped")
      return
    }
    var tried = [String]()
    var lastMissing: [String: String] = [:]
    for candidate in Self.pythonCandidates() {
      tried.append(candidate.joined(separator: " "))
      guard let process = try? PeerProcess(command: candidate + ["-u", script]) else { continue }
      lastMissing = process.hello.missing
      let available = process.hello.available
      if available.isEmpty {
        process.close()
        continue
      }
      pythonProcess = process
      let v = process.hello.versions
      versions.merge(v) { first, _ in first }
      versions["python"] = process.hello.executable ?? candidate[0]
      for name in available {
        let label =
          name == "torch"
          ? "PyTorch \(v["torch"] ?? "?") SDPA"
          : "ONNX Runtime \(v["onnxruntime"] ?? "?") Attention"
        entries.append(Entry(name: name, label: label, process: process))
      }
      notes.append(
        "peers: " + available.map { label(of: $0) }.joined(separator: ", ")
          + " (\(process.hello.executable ?? candidate[0]), onnx \(v["onnx"] ?? "–"), "
          + "2 threads)")
      for (name, reason) in process.hello.missing.sorted(by: { $0.key < $1.key })
      where name != "numpy" {
        notes.append("\(name): missing (\(reason)); it is optional")
      }
      return
    }
    let reasons = lastMissing.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
    notes.append(
      "PyTorch, ONNX Runtime: not installed for any of \(tried.joined(separator: "; "))"
        + (reasons.isEmpty ? "" : " (\(reasons.joined(separator: "; ")))")
        + "; the peers are optional, the run goes on without them "
        + "(set ATTENTION_PEERS_PYTHON to a Python that has torch, onnx, onnxruntime)")
  }

  /// `$ATTENTION_PEERS_PYTHON` if set; otherwise `python3` from the path, then
  /// `~/peers/bin/python` if present.
  static func pythonCandidates() -> [[String]] {
    let environment = ProcessInfo.processInfo.environment
    if let chosen = environment["ATTENTION_PEERS_PYTHON"], !chosen.isEmpty {
      return [chosen.hasPrefix("/") ? [chosen] : ["/usr/bin/env", chosen]]
    }
    var candidates = [["/usr/bin/env", "python3"]]
    let home = environment["HOME"] ?? NSHomeDirectory()
    let venv = home + "/peers/bin/python"
    if FileManager.default.isExecutableFile(atPath: venv) { candidates.append([venv]) }
    return candidates
  }

  /// Prepares every contender for a case and returns each one's output (for the accuracy
  /// column) or why it does not run this case.
  func load(
    shape: BenchmarkShape, seed: UInt64,
    inputs: (query: Tensor<Float>, key: Tensor<Float>, value: Tensor<Float>)
  ) -> (outputs: [String: [Float]], skipped: [String: String]) {
    var outputs = [String: [Float]]()
    var skipped = [String: String]()
    guard !entries.isEmpty else { return (outputs, skipped) }
    let folder: String
    do {
      folder = try workingDirectory()
      if pythonProcess != nil {
        for (name, tensor) in [("q", inputs.query), ("k", inputs.key), ("v", inputs.value)] {
          try RawFloats.write(tensor.scalars, to: "\(folder)/\(name).f32")
        }
      }
    } catch {
      for entry in entries { skipped[entry.name] = "\(error)" }
      return (outputs, skipped)
    }
    let message: [String: Any] = [
      "op": "load", "dir": folder, "seed": seed,
      "shape": [
        "b": shape.batchCount, "hq": shape.queryHeadCount, "hkv": shape.keyValueHeadCount,
        "nq": shape.queryCount, "nk": shape.keyCount, "d": shape.headDimension,
        "causal": shape.causal,
      ],
    ]
    var asked = Set<ObjectIdentifier>()
    for entry in entries where !asked.contains(ObjectIdentifier(entry.process)) {
      asked.insert(ObjectIdentifier(entry.process))
      let served = entries.filter { $0.process === entry.process }.map(\.name)
      do {
        let answer = try entry.process.request(message)
        for (name, path) in answer["outputs"] as? [String: String] ?? [:] {
          outputs[name] = try RawFloats.read(from: path)
        }
        for (name, reason) in answer["skipped"] as? [String: String] ?? [:] {
          skipped[name] = reason
        }
      } catch {
        for name in served { skipped[name] = "\(error)" }
      }
    }
    for name in names where outputs[name] == nil && skipped[name] == nil {
      skipped[name] = "gave no output"
    }
    return (outputs, skipped)
  }

  /// Times a contender on the loaded case.
  ///
  /// - Throws: ``PeerError`` when its process fails.
  func time(_ name: String, warmups: Int, runs: Int) throws -> [Double] {
    guard let entry = entries.first(where: { $0.name == name }) else {
      throw PeerError("no contender \(name)")
    }
    let answer = try entry.process.request([
      "op": "time", "peer": name, "warmups": warmups, "runs": runs,
    ])
    guard let times = answer["times"] as? [Double], !times.isEmpty else {
      throw PeerError("\(name) answered no times")
    }
    return times
  }

  /// Ends the child processes and removes the working directory.
  func close() {
    var closed = Set<ObjectIdentifier>()
    for entry in entries where !closed.contains(ObjectIdentifier(entry.process)) {
      closed.insert(ObjectIdentifier(entry.process))
      entry.process.close()
    }
    if let directory { try? FileManager.default.removeItem(atPath: directory) }
    directory = nil
  }

  private func workingDirectory() throws -> String {
    if let directory { return directory }
    var template = Array((NSTemporaryDirectory() + "/attention-bench-XXXXXX").utf8CString)
    let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    guard let created else { throw PeerError("cannot create a temporary directory") }
    directory = String(cString: created)
    return directory!
  }

  /// The peer script beside this source file (`peers/peer_attention.py`): the benchmark runs
  /// where it was built.
  static var defaultPeerScript: String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("peers/peer_attention.py").path
  }
}

/// Little-endian `Float` arrays as raw files, the exchange format with the peers.
enum RawFloats {
  static func write(_ values: [Float], to path: String) throws {
    let data = values.withUnsafeBufferPointer { Data(buffer: $0) }
    do {
      try data.write(to: URL(fileURLWithPath: path))
    } catch {
      throw PeerError("cannot write \(path): \(error)")
    }
  }

  static func read(from path: String) throws -> [Float] {
    let data: Data
    do {
      data = try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
      throw PeerError("cannot read \(path): \(error)")
    }
    try? FileManager.default.removeItem(atPath: path)
    return data.withUnsafeBytes { raw in
      (0..<(raw.count / 4)).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) }
    }
  }
}
