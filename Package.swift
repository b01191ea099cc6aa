// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "Attention",
  products: [
    .library(name: "Attention", targets: ["Attention"]),
    .library(name: "TensorFiles", targets: ["TensorFiles"]),
    .library(name: "SentenceEmbedding", targets: ["SentenceEmbedding"]),
    .library(name: "TextGeneration", targets: ["TextGeneration"]),
    .executable(name: "attention", targets: ["AttentionCLI"]),
    .executable(name: "attention-bench", targets: ["AttentionBenchmark"]),
    // Needs Open MPI (`libopenmpi-dev`); the products above do not.
    .library(name: "DistributedAttention", targets: ["DistributedAttention"]),
    .executable(name: "attention-mpi", targets: ["AttentionMPICLI"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    // `swift package generate-documentation --target Attention`
    .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    // Tests only: proves `import Attention` and `import Numerics` coexist in one file.
    .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1"),
  ],
  targets: [
    // MARK: - System libraries (C stays behind these doors)

    .systemLibrary(
      name: "COpenBLAS",
      path: "Modules/COpenBLAS",
      pkgConfig: "openblas",
      providers: [.apt(["libopenblas-dev"]), .yum(["openblas-devel"]), .brew(["openblas"])]
    ),
    .systemLibrary(
      name: "CLAPACKE",
      path: "Modules/CLAPACKE",
      pkgConfig: "lapacke",
      providers: [.apt(["liblapacke-dev"]), .yum(["lapack-devel"]), .brew(["lapack"])]
    ),
    // Open MPI, for DistributedAttention only: `Attention` and `attention` never link it.
    .systemLibrary(
      name: "CMPI",
      path: "Modules/CMPI",
      pkgConfig: "ompi-c",
      providers: [.apt(["libopenmpi-dev"]), .yum(["openmpi-devel"]), .brew(["open-mpi"])]
    ),

    // MARK: - Public API

    // The engine: attention, kernels, layers, OpenBLAS. Re-exports AttentionCore and TensorFiles,
    // so `import Attention` is all a user writes.
    .target(
      name: "Attention",
      dependencies: ["AttentionCore", "TensorFiles", "COpenBLAS", "CLAPACKE", "CAttentionKernels"],
      swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
    ),
    // Ring attention across the processes of an MPI job (Open MPI), equal to one engine call.
    .target(
      name: "DistributedAttention",
      dependencies: ["Attention", "CMPI"],
      swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
    ),
    // `.npy` and `.safetensors` reading and writing; usable on its own.
    .target(
      name: "TensorFiles",
      dependencies: ["AttentionCore"],
      swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
    ),

    // MARK: - Implementation details

    // The tensor type, its element protocols, errors and the seeded generator, shared by the
    // engine and the file formats.
    .target(
      name: "AttentionCore",
      swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
    ),
    // The softmax's inner vector loops (exp with the running sum, row maximum, scaling, the
    // non-finite scan) in C, compiled for AVX-512F, AVX2+FMA and SSE2 with per-function target
    // attributes and chosen at run time, so a plain `swift build` runs the CPU's widest vector
    // unit; a portable variant elsewhere. Only `Kernels/VectorKernels.swift` imports it.
    .target(name: "CAttentionKernels"),

    // MARK: - Models built on the engine

    // Sentence embeddings with a BERT encoder (all-MiniLM-L6-v2).
    .target(
      name: "SentenceEmbedding",
      dependencies: ["Attention"],
      swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
    ),
    // Decoder models (Llama, Qwen2, Mistral, Gemma 2, GPT-2 families) and their `tokenizer.json`
    // BPE tokenizers.
    .target(
      name: "TextGeneration",
      dependencies: ["Attention"],
      swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
    ),

    // MARK: - Executables

    // The `attention` command: sdpa, mha, embed, generate, demo, info.
    .executableTarget(
      name: "AttentionCLI",
      dependencies: [
        "Attention",
        "SentenceEmbedding",
        "TextGeneration",
        "CommandLineSupport",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),
    // `attention-bench`: throughput against the sgemm peak, a Markdown table and an SVG chart.
    .executableTarget(
      name: "AttentionBenchmark",
      dependencies: [
        "Attention",
        "CommandLineSupport",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      // The Python peers (PyTorch, ONNX Runtime) the benchmark runs as a child process.
      exclude: ["peers"]
    ),
    // `attention-mpi sdpa`: `attention sdpa` across the processes of `mpirun`.
    .executableTarget(
      name: "AttentionMPICLI",
      dependencies: [
        "DistributedAttention",
        "Attention",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),
    // What only the two executables share: locale-independent number formatting, column
    // padding, XML escaping for their SVG output.
    .target(name: "CommandLineSupport"),

    // MARK: - Fuzz targets (libFuzzer entry points; `make fuzz` builds them with sanitizers)

    // One binary, the reader or loader chosen by ATTENTION_FUZZ_TARGET.
    .executableTarget(
      name: "AttentionFuzz",
      dependencies: ["Attention", "SentenceEmbedding"],
      path: "Tests/Fuzz/AttentionFuzz"
    ),

    // `mpirun -np P RingAttentionCheck` (`make test-mpi`): ring attention against one process.
    .executableTarget(
      name: "RingAttentionCheck",
      dependencies: ["DistributedAttention", "Attention"],
      path: "Tests/RingAttentionCheck"
    ),

    // MARK: - Test support

    // What every test target shares: the one `expectClose`, the tolerance table, the float64
    // reference attention and the seeded test data.
    .target(
      name: "AttentionTestSupport",
      dependencies: ["Attention"],
      path: "Tests/AttentionTestSupport"
    ),

    // MARK: - Tests

    // The engine against the reference and itself, the file formats, the platform reports.
    .testTarget(
      name: "AttentionTests",
      dependencies: ["Attention", "AttentionCore", "TensorFiles", "AttentionTestSupport"]
    ),
    // The BERT pieces, a tiny random BERT, and all-MiniLM-L6-v2 against transformers (skipped
    // without the model, except under CI=true).
    .testTarget(
      name: "SentenceEmbeddingTests",
      dependencies: ["SentenceEmbedding", "Attention", "AttentionTestSupport"]
    ),
    // Reads the tokenizers and the tiny decoder models in Tests/Fixtures/TextGeneration (made by
    // make_tokenizers.py and make_models.py) and compares them with tokenizers and transformers.
    .testTarget(
      name: "TextGenerationTests",
      dependencies: ["TextGeneration"]
    ),
    // Ring attention's pieces without MPI running: the sharding, the causal split of a block,
    // and the log-sum-exp merge of blocks against one call. (`make test-mpi` runs the rest
    // under mpirun.)
    .testTarget(
      name: "DistributedAttentionTests",
      dependencies: ["DistributedAttention", "Attention", "AttentionTestSupport"]
    ),
    // Compiles only if the library adds nothing to Float's namespace that swift-numerics owns.
    .testTarget(
      name: "NumericsCoexistenceTests",
      dependencies: ["Attention", .product(name: "Numerics", package: "swift-numerics")]
    ),
    // End-to-end tests run the built `attention` binary; the dependency on the executable target
    // makes `swift test` build it first. `Attention` is there to compare with direct calls,
    // `CommandLineSupport` to test the executables' shared formatting.
    .testTarget(
      name: "AttentionCLITests",
      dependencies: ["AttentionCLI", "Attention", "CommandLineSupport", "AttentionTestSupport"]
    ),
  ],
  swiftLanguageModes: [.v6]
)
