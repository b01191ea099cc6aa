// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "Attention",
  products: [
    .library(name: "Attention", targets: ["Attention"]),
    .library(name: "SentenceEmbedding", targets: ["SentenceEmbedding"]),
    .executable(name: "attention", targets: ["AttentionCLI"]),
    .executable(name: "attention-bench", targets: ["AttentionBenchmark"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2")
  ],
  targets: [
    // MARK: - System libraries (C stays behind these two doors)

    .systemLibrary(
      name: "COpenBLAS",
      path: "Modules/COpenBLAS",
      pkgConfig: "openblas",
      providers: [.apt(["libopenblas-dev"])]
    ),
    .systemLibrary(
      name: "CLAPACKE",
      path: "Modules/CLAPACKE",
      pkgConfig: "lapacke",
      providers: [.apt(["liblapacke-dev"])]
    ),

    // MARK: - Public API

    .target(
      name: "Attention",
      dependencies: ["COpenBLAS", "CLAPACKE"],
      swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
    ),

    // MARK: - Models built on the engine

    .target(
      name: "SentenceEmbedding",
      dependencies: ["Attention"],
      swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
    ),

    // MARK: - Executables

    .executableTarget(
      name: "AttentionCLI",
      dependencies: [
        "Attention",
        "SentenceEmbedding",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),

    .executableTarget(
      name: "AttentionBenchmark",
      dependencies: [
        "Attention",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),

    // MARK: - Fuzz targets (libFuzzer entry points; `make fuzz` builds them with sanitizers)

    .executableTarget(
      name: "AttentionFuzz",
      dependencies: ["Attention", "SentenceEmbedding"],
      path: "Tests/Fuzz/AttentionFuzz"
    ),

    // MARK: - Tests

    .testTarget(
      name: "AttentionTests",
      dependencies: ["Attention"]
    ),
    .testTarget(
      name: "SentenceEmbeddingTests",
      dependencies: ["SentenceEmbedding", "Attention"]
    ),
    // End-to-end tests run the built `attention` binary; the dependency on the executable target
    // makes `swift test` build it first. `Attention` is there to compare with direct calls.
    .testTarget(
      name: "AttentionCLITests",
      dependencies: ["AttentionCLI", "Attention"]
    ),
  ],
  swiftLanguageModes: [.v6]
)
