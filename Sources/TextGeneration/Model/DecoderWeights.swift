import Attention
import Foundation

/// The tensors of a checkpoint folder (`model.safetensors`, or shards listed by
/// `model.safetensors.index.json`), handed out by name as `Float` and checked against the shapes
/// the configuration implies.
///
/// Each tensor is read from its file on its own and converted to `Float` at once, so loading
/// holds the `Float` weights plus one tensor's bytes, never two full copies of the weights.
struct DecoderWeights {
  /// The folder, for messages.
  let folder: String
  /// Converted tensors not yet taken, by name, with the file each came from.
  private var tensors: [String: (tensor: Tensor<Float>, file: String)] = [:]

  init(folder: URL) throws {
    self.folder = folder.path
    let index = folder.appendingPathComponent("model.safetensors.index.json")
    var files: [String]
    if let object = try ModelConfiguration.readObject(index, required: false) {
      guard let map = object["weight_map"] as? [String: String] else {
        throw TextGenerationError(
          .invalidWeights, file: index.path, component: "weight_map",
          "\(index.path): field 'weight_map' is missing or not an object of file names")
      }
      files = Array(Set(map.values)).sorted()
    } else {
      files = ["model.safetensors"]
    }
    for name in files {
      let path = folder.appendingPathComponent(name).path
      guard FileManager.default.fileExists(atPath: path) else {
        throw TextGenerationError(.missingFile, file: path, "\(path): no such weights file")
      }
      let reader = try SafetensorsTensorReader(path: path)
      for entry in reader.entries {
        tensors[entry.name] = (try reader.floats(entry), path)
      }
    }
  }

  /// Whether a tensor named `name` is present and not yet taken.
  func contains(_ name: String) -> Bool { tensors[name] != nil }

  /// Takes the tensor `name`, which must have `shape`.
  mutating func take(_ name: String, shape: [Int]) throws -> Tensor<Float> {
    guard let (tensor, file) = tensors.removeValue(forKey: name) else {
      throw TextGenerationError(
        .invalidWeights, file: folder, component: name,
        "\(folder): no tensor named '\(name)' (expected shape \(shape))")
    }
    guard tensor.shape == shape else {
      throw TextGenerationError(
        .invalidWeights, file: file, component: name,
        "\(file): tensor '\(name)' has shape \(tensor.shape) but the configuration implies \(shape)"
      )
    }
    return tensor
  }

  /// Drops a tensor that is present but unused (a tied checkpoint's `lm_head.weight`).
  mutating func discard(_ name: String) { tensors[name] = nil }
}
