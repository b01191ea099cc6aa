import Attention
import Foundation
import Testing
import TextGeneration

/// Model folders in transformers 4.x spelling, sharded weights, and the loading errors.
struct ModelLoadingTests {
  /// A copy of a fixture model folder in a fresh temporary folder, its `config.json` edited.
  static func copy(_ name: String, editing edit: (inout [String: Any]) -> Void = { _ in }) throws
    -> URL
  {
    let target = FileManager.default.temporaryDirectory
      .appending(path: "decoder-\(name)-\(UUID().uuidString)")
    try FileManager.default.copyItem(at: DecoderModelTests.folder(name), to: target)
    let configURL = target.appending(path: "config.json")
    var config =
      try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as! [String: Any]
    edit(&config)
    try JSONSerialization.data(withJSONObject: config).write(to: configURL)
    return target
  }

  static func prefillLogits(_ folder: URL, _ name: String) throws -> Float {
    let model = try DecoderModel(contentsOf: folder)
    let reference = try DecoderModelTests.Reference(name)
    var cache = try model.makeCache()
    let logits = try model.logits(for: reference.prompt, cache: &cache)
    return DecoderModelTests.relativeDifference(logits, reference.logits(step: 0))
  }

  @Test("transformers 4.x spelling: rope_theta + rope_scaling (llama3), no layer_types (Gemma 2)")
  func transformers4Spelling() throws {
    let llama = try Self.copy("llama") { config in
      var parameters = config.removeValue(forKey: "rope_parameters") as! [String: Any]
      config["rope_theta"] = parameters.removeValue(forKey: "rope_theta")
      parameters["type"] = parameters.removeValue(forKey: "rope_type")
      config["rope_scaling"] = parameters
    }
    defer { try? FileManager.default.removeItem(at: llama) }
    #expect(try Self.prefillLogits(llama, "llama") < 1e-4)

    let gemma = try Self.copy("gemma2") { config in
      config["layer_types"] = nil
      let parameters = config.removeValue(forKey: "rope_parameters") as! [String: Any]
      config["rope_theta"] = parameters["rope_theta"]
    }
    defer { try? FileManager.default.removeItem(at: gemma) }
    let configuration = try ModelConfiguration(contentsOf: gemma)
    #expect(configuration.layerWindows == [8, nil, 8])
    #expect(try Self.prefillLogits(gemma, "gemma2") < 1e-4)
  }

  @Test("sharded weights with model.safetensors.index.json load as the single file does")
  func sharded() throws {
    let folder = try Self.copy("llama")
    defer { try? FileManager.default.removeItem(at: folder) }
    let whole = folder.appending(path: "model.safetensors")
    let file = try SafetensorsFile.read(from: whole.path)
    var shards = [[String: AnyTensor]](repeating: [:], count: 2)
    var map: [String: String] = [:]
    for (index, name) in file.names.sorted().enumerated() {
      shards[index % 2][name] = file[name]!
      map[name] = "model-0000\(index % 2 + 1)-of-00002.safetensors"
    }
    for (index, tensors) in shards.enumerated() {
      try SafetensorsFile(tensors: tensors).write(
        to: folder.appending(path: "model-0000\(index + 1)-of-00002.safetensors").path)
    }
    try FileManager.default.removeItem(at: whole)
    try JSONSerialization.data(withJSONObject: ["metadata": [:], "weight_map": map])
      .write(to: folder.appending(path: "model.safetensors.index.json"))
    #expect(try Self.prefillLogits(folder, "llama") < 1e-4)
  }

  @Test("an unknown architecture is an error naming it and listing the supported ones")
  func unknownArchitecture() throws {
    let folder = try Self.copy("llama") { $0["architectures"] = ["GPT2LMHeadModel"] }
    defer { try? FileManager.default.removeItem(at: folder) }
    #expect {
      try DecoderModel(contentsOf: folder)
    } throws: { error in
      guard let error = error as? TextGenerationError else { return false }
      return error.kind == .unsupportedArchitecture && error.message.contains("GPT2LMHeadModel")
        && ModelConfiguration.Architecture.allCases.allSatisfy {
          error.message.contains($0.rawValue)
        }
    }
  }

  @Test("a missing or mistyped field is an error naming it")
  func badFields() throws {
    for (field, value) in [("hidden_size", nil), ("num_hidden_layers", "three" as Any?)] {
      let folder = try Self.copy("qwen2") { $0[field] = value }
      defer { try? FileManager.default.removeItem(at: folder) }
      #expect {
        try ModelConfiguration(contentsOf: folder)
      } throws: { error in
        let error = error as? TextGenerationError
        return error?.kind == .invalidConfiguration && error?.component == field
          && error!.message.contains(field)
      }
    }
  }

  @Test("a tensor whose shape disagrees with the configuration is named with both shapes")
  func wrongShape() throws {
    let folder = try Self.copy("mistral") { $0["intermediate_size"] = 96 }
    defer { try? FileManager.default.removeItem(at: folder) }
    #expect {
      try DecoderModel(contentsOf: folder)
    } throws: { error in
      let message = (error as? TextGenerationError)?.message ?? ""
      return message.contains("model.layers.0.mlp.gate_proj.weight")
        && message.contains("[128, 64]") && message.contains("[96, 64]")
    }
  }

  @Test("a missing folder or weights file is a missingFile error")
  func missingFiles() throws {
    let folder = try Self.copy("qwen2")
    defer { try? FileManager.default.removeItem(at: folder) }
    try FileManager.default.removeItem(at: folder.appending(path: "model.safetensors"))
    #expect {
      try DecoderModel(contentsOf: folder)
    } throws: { ($0 as? TextGenerationError)?.kind == .missingFile }
    #expect {
      try DecoderModel(contentsOf: folder.appending(path: "absent"))
    } throws: { ($0 as? TextGenerationError)?.kind == .missingFile }
  }
}
