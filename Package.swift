// swift-tools-version:6.0
// cribo: CrIBo self-supervised pretraining and dense evaluation for ViTs, on the CPU, in Swift.
// Targets are listed bottom-up: C libraries → Tensor → NN → command line → executables → tools → tests.
import PackageDescription

let package = Package(
    name: "cribo",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "cribo-ingest", targets: ["cribo-ingest"]),
        .executable(name: "cribo-pretrain", targets: ["cribo-pretrain"]),
        .executable(name: "cribo-features", targets: ["cribo-features"]),
        .executable(name: "cribo-evaluate", targets: ["cribo-evaluate"]),
        .executable(name: "cribo-bench", targets: ["cribo-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2")
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
            dependencies: ["COpenBLAS"],
            linkerSettings: [.linkedLibrary("dl"), .linkedLibrary("m")]
        ),

        // MARK: - Libraries
        .target(
            name: "CriboTensor",
            dependencies: ["CCriboShims"],
            swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
        ),
        .target(
            name: "CriboNN",
            dependencies: ["CriboTensor"],
            swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
        ),
        .target(
            name: "CriboCommandLine",
            dependencies: ["CriboNN", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),

        // MARK: - Executables (thin: argument parsing, then one library call)
        .executableTarget(name: "cribo-ingest", dependencies: ["CriboCommandLine"]),
        .executableTarget(name: "cribo-pretrain", dependencies: ["CriboCommandLine"]),
        .executableTarget(name: "cribo-features", dependencies: ["CriboCommandLine", "CriboNN"]),
        .executableTarget(name: "cribo-evaluate", dependencies: ["CriboCommandLine"]),

        // MARK: - Tools
        .executableTarget(
            name: "cribo-bench",
            dependencies: ["CriboNN", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),

        // MARK: - Tests
        .target(
            name: "CriboTestSupport",
            dependencies: ["CriboTensor"],
            path: "Tests/CriboTestSupport",
            exclude: ["Golden"]
        ),
        .testTarget(name: "CriboTensorTests", dependencies: ["CriboTensor", "CriboTestSupport"]),
        .testTarget(name: "CriboNNTests", dependencies: ["CriboNN", "CriboTestSupport"]),
        .testTarget(
            name: "CriboCommandLineTests",
            dependencies: ["CriboCommandLine", "CriboNN", "CriboTestSupport"]
        ),
    ],
    swiftLanguageModes: [.v5]
)
