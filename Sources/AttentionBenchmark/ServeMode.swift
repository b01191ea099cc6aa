import Attention
import Foundation

/// `attention-bench --serve`: this build of the benchmark as a contender of another build's run
/// (`make bench` times the build a dependent package gets against the one compiled for the
/// host CPU, alternating between them).
///
/// Speaks the JSON-lines protocol of `peers/peer_attention.py` on stdin/stdout, offering one
/// peer, `native`: `load` regenerates the case's inputs from its seed (the same generator as the
/// parent, so the inputs are identical), runs the fused path once and writes the output to
/// `dir/out-native.f32`; `time` times the fused path.
enum ServeMode {
  static func run(buildFlags: String) {
    // The same allocator settings as the parent's timed runs.
    MemoryProbe.useSteadyStateAllocator()
    send([
      "hello": "attention-bench", "available": ["native"],
      "versions": ["build": buildFlags, "core": OpenBLAS.coreName], "missing": [String: String](),
      "executable": CommandLine.arguments[0],
    ])
    var loaded: (shape: BenchmarkShape, inputs: (Tensor<Float>, Tensor<Float>, Tensor<Float>))?
    while let line = readLine() {
      guard !line.allSatisfy(\.isWhitespace) else { continue }
      guard let data = line.data(using: .utf8),
        let request = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
      else {
        send(["ok": false, "error": "not a JSON object: \(line.prefix(200))"])
        continue
      }
      do {
        switch request["op"] as? String {
        case "quit":
          return
        case "load":
          let shape = try Self.shape(request["shape"])
          let seed = (request["seed"] as? NSNumber)?.uint64Value ?? 0
          let inputs = try BenchmarkRunner.makeInputs(for: shape, seed: seed)
          loaded = (shape, inputs)
          let output = try attention(shape, inputs)
          var outputs = [String: String]()
          if let folder = request["dir"] as? String {
            try RawFloats.write(output.scalars, to: "\(folder)/out-native.f32")
            outputs["native"] = "\(folder)/out-native.f32"
          }
          send(["ok": true, "outputs": outputs, "skipped": [String: String]()])
        case "time":
          guard let loaded else { throw PeerError("time before load") }
          let warmups = (request["warmups"] as? Int) ?? 1
          let runs = Swift.max(1, (request["runs"] as? Int) ?? 5)
          let times = try Timing.measure(warmups: warmups, repetitions: runs) {
            Sink.consume(try attention(loaded.shape, loaded.inputs).scalars[0])
          }
          send(["ok": true, "times": times])
        case let op:
          throw PeerError("unknown op \(op ?? "none")")
        }
      } catch {
        send(["ok": false, "error": "\(error)"])
      }
    }
  }

  private static func attention(
    _ shape: BenchmarkShape, _ inputs: (Tensor<Float>, Tensor<Float>, Tensor<Float>)
  ) throws -> Tensor<Float> {
    try BenchmarkRunner.attention(shape, query: inputs.0, key: inputs.1, value: inputs.2)
  }

  private static func shape(_ value: Any?) throws -> BenchmarkShape {
    guard let fields = value as? [String: Any] else { throw PeerError("load without a shape") }
    func size(_ key: String) throws -> Int {
      guard let size = fields[key] as? Int, size > 0 else {
        throw PeerError("shape field \(key) missing or not positive")
      }
      return size
    }
    return BenchmarkShape(
      batch: try size("b"), heads: try size("hq"), kvHeads: try size("hkv"),
      queries: try size("nq"), keys: try size("nk"), dimension: try size("d"),
      causal: fields["causal"] as? Bool ?? false, window: fields["window"] as? Int)
  }

  private static func send(_ object: [String: Any]) {
    guard var data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    else { return }
    data.append(0x0A)
    FileHandle.standardOutput.write(data)
  }
}
