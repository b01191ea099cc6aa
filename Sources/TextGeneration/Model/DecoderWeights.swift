import Attention
import Foundation

/// The tensors of a checkpoint folder (`model.safetensors`, or shards listed by
/// `model.safetensors.index.json`), handed out by name as `Float` and checked against the shapes
/// the configuration implies.
///
/// Each shard is read once and every tensor in it is converted to `Float` as it is taken; a
/// shard's own storage is released before the next one is read, so loading never holds two full
/// copies of the weights (an `F32` tensor is used without a copy).
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
      let file: SafetensorsFile
      do {
        file = try SafetensorsFile.read(from: path)
      } catch {
        throw TextGenerationError(.unreadableFile, file: path, "\(path): \(error)")
      }
      for entry in file.entries {
        do {
          tensors[entry.name] = (try file.floatingPoint(named: entry.name, as: Float.self), path)
        } catch {
          throw TextGenerationError(
            .invalidWeights, file: path, component: entry.name,
            "\(path): tensor '\(entry.name)' (\(entry.dtype)) cannot be used as Float: \(error)")
        }
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
