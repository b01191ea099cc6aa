import Attention

/// A reader under fuzzing and the contract it must keep on every input: any byte sequence either
/// decodes or throws the reader's own error type (never traps, never reads out of bounds, never
/// allocates more than the input justifies), and what decodes survives a round trip.
///
/// A broken contract traps (`precondition`), which libFuzzer reports as a crash and saves.
enum FuzzTarget: String, CaseIterable {
  /// ``NPY/decode(_:)``.
  case npy
  /// ``SafetensorsFile/decode(_:)``.
  case safetensors
  /// The BERT model loader (`BertEncoder(configuration:weights:)`) on a checkpoint's bytes.
  case bert
  /// The BERT `config.json` reader and its checks.
  case bertConfiguration = "bert-config"
  /// The WordPiece tokenizer on arbitrary text.
  case tokenizer

  func check(_ bytes: [UInt8]) {
    switch self {
    case .npy: checkNPY(bytes)
    case .safetensors: checkSafetensors(bytes)
    case .bert: checkBert(bytes)
    case .bertConfiguration: checkBertConfiguration(bytes)
    case .tokenizer: checkTokenizer(bytes)
    }
  }
}
