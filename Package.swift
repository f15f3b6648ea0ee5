// swift-tools-version:6.0
// cribo: CrIBo self-supervised pretraining and dense evaluation for ViTs, on the CPU, in Swift.
// Targets are listed bottom-up: C libraries → Tensor → NN → command line → executables → tools → tests.
import PackageDescription

#if arch(x86_64)
// The kernels are written as plain loops for the compiler to vectorise; on x86-64 they are compiled for AVX2+FMA
// (Haswell, 2013, and newer; ~1.7x faster than the SSE2 baseline). CCriboShims refuses to start, with a message,
// on a CPU without them; CRIBO_PORTABLE=1 at build time compiles for the baseline instead.
let vectorFlags: [String] = Context.environment["CRIBO_PORTABLE"] == "1" ? [] : ["-target-cpu", "haswell"]
#else
let vectorFlags: [String] = []
#endif
let portableDefine: [CSetting] = Context.environment["CRIBO_PORTABLE"] == "1" ? [.define("CRIBO_PORTABLE")] : []
/// Settings of every Swift target of the package (cross-module optimisation inlines kernels into their callers,
/// so all targets are compiled for the same CPU).
let kernelSettings: [SwiftSetting] = [
    .unsafeFlags(vectorFlags),
    .unsafeFlags(["-Ounchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "cribo",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "cribo-ingest", targets: ["cribo-ingest"]),
        .executable(name: "cribo-pretrain", targets: ["cribo-pretrain"]),
        .executable(name: "cribo-features", targets: ["cribo-features"]),
        .executable(name: "cribo-evaluate", targets: ["cribo-evaluate"]),
        .executable(name: "cribo-pipeline", targets: ["cribo-pipeline"]),
        .executable(name: "cribo-bench", targets: ["cribo-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        // MARK: - C libraries (one system-library target each; Debian packages named as providers)
        // OpenBLAS is declared for its header only: the library is dlopen'ed by CCriboShims after the
        // core type has been chosen (OPENBLAS_CORETYPE is read by OpenBLAS when it loads).
        .systemLibrary(name: "COpenBLAS", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CJPEG", pkgConfig: "libjpeg", providers: [.apt(["libjpeg-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
        .target(
            name: "CCriboShims",
            dependencies: ["COpenBLAS", "CJPEG", "CPNG"],
            cSettings: [.define("CRIBO_REQUIRE_AVX2", .when(platforms: [.linux]))] + portableDefine,
            linkerSettings: [.linkedLibrary("dl"), .linkedLibrary("m"), .linkedLibrary("jpeg"), .linkedLibrary("png16")]
        ),

        .target(name: "CCriboMPI", dependencies: ["CMPI"]),

        // MARK: - Libraries
        .target(
            name: "CriboTensor",
            dependencies: ["CCriboShims"],
            swiftSettings: kernelSettings
        ),
        .target(
            name: "CriboNN",
            dependencies: ["CriboTensor", "CCriboShims"],
            swiftSettings: kernelSettings
        ),
        .target(
            name: "CriboData",
            dependencies: ["CriboTensor", "CArchive", "CCriboShims", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: kernelSettings
        ),
        .target(
            name: "CriboDistributed",
            dependencies: ["CriboTensor", "CCriboMPI"],
            swiftSettings: kernelSettings
        ),
        .target(
            name: "CriboTraining",
            dependencies: ["CriboNN", "CriboData", "CriboDistributed", "CCriboShims"],
            swiftSettings: kernelSettings
        ),
        .target(
            name: "CriboEval",
            dependencies: ["CriboNN", "CriboData", "CriboDistributed", "CCriboShims"],
            swiftSettings: kernelSettings
        ),
        .target(
            name: "CriboPipeline",
            dependencies: ["CriboData", "CriboEval", .product(name: "Yams", package: "Yams")],
            swiftSettings: kernelSettings
        ),
        .target(
            name: "CriboCommandLine",
            dependencies: ["CriboNN", "CriboData", "CriboDistributed", "CriboEval", "CriboTraining", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: kernelSettings
        ),

        // MARK: - Executables (thin: argument parsing, then one library call)
        .executableTarget(name: "cribo-ingest", dependencies: ["CriboCommandLine", "CriboData"], swiftSettings: kernelSettings),
        .executableTarget(
            name: "cribo-pretrain", dependencies: ["CriboCommandLine", "CriboTraining", "CriboDistributed"], swiftSettings: kernelSettings),
        .executableTarget(
            name: "cribo-features", dependencies: ["CriboCommandLine", "CriboNN", "CriboData", "CriboDistributed", "CriboEval"], swiftSettings: kernelSettings),
        .executableTarget(name: "cribo-evaluate", dependencies: ["CriboCommandLine", "CriboEval"], swiftSettings: kernelSettings),
        .executableTarget(
            name: "cribo-pipeline",
            dependencies: ["CriboPipeline", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: kernelSettings
        ),

        // MARK: - Tools
        .executableTarget(
            name: "cribo-bench",
            dependencies: ["CriboNN", "CriboData", "CriboEval", "CriboTraining", "CriboDistributed", "CriboCommandLine", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: kernelSettings
        ),

        // MARK: - Tests
        .target(
            name: "CriboTestSupport",
            dependencies: ["CriboTensor"],
            path: "Tests/CriboTestSupport",
            exclude: ["Golden"],
            swiftSettings: kernelSettings
        ),
        .testTarget(name: "CriboTensorTests", dependencies: ["CriboTensor", "CriboTestSupport"], swiftSettings: kernelSettings),
        .testTarget(name: "CriboDataTests", dependencies: ["CriboData", "CCriboShims", "CriboTestSupport"], swiftSettings: kernelSettings),
        .testTarget(name: "CriboTrainingTests", dependencies: ["CriboTraining", "CriboTestSupport"], swiftSettings: kernelSettings),
        .testTarget(name: "CriboEvalTests", dependencies: ["CriboEval", "CriboDistributed", "CCriboShims", "CriboTestSupport"], swiftSettings: kernelSettings),
        .testTarget(name: "CriboPipelineTests", dependencies: ["CriboPipeline"], swiftSettings: kernelSettings),
        .testTarget(name: "CriboNNTests", dependencies: ["CriboNN", "CCriboShims", "CriboTestSupport"], swiftSettings: kernelSettings),
        .testTarget(
            name: "CriboCommandLineTests",
            dependencies: ["CriboCommandLine", "CriboNN", "CriboTensor", "CriboData", "CriboEval", "CriboTestSupport"],
            exclude: ["Snapshots"],
            swiftSettings: kernelSettings
        ),
    ],
    swiftLanguageModes: [.v5]
)
