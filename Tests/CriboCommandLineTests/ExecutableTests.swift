// SPDX-License-Identifier: Apache-2.0
// The executables as a user runs them: `--help` output against committed snapshots, stages that are not built
// yet exiting non-zero without output files, and `cribo-features embed` errors that name the file.

import CCriboShims
import CriboTensor
import CriboTestSupport
import Foundation
import Testing

/// Runs a built product of this package (the binaries sit beside the test bundle) and returns (status, output).
func runProduct(_ name: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (Int32, String) {
    let folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    var candidates = [folder.appendingPathComponent(name)]
    candidates.append(folder.deletingLastPathComponent().appendingPathComponent(name))
    guard let executable = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
        throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: candidates[0].path])
    }
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

let snapshotDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Snapshots").path

@Suite struct ExecutableTests {}

extension ExecutableTests {
    @Test(arguments: [
        ("cribo-ingest", ["--help"]), ("cribo-pretrain", ["--help"]), ("cribo-features", ["--help"]),
        ("cribo-features", ["embed", "--help"]), ("cribo-features", ["extract", "--help"]), ("cribo-evaluate", ["--help"]),
        ("cribo-evaluate", ["dense", "--help"]),
    ])
    func helpMatchesSnapshot(product: String, arguments: [String]) throws {
        let (status, output) = try runProduct(product, arguments)
        #expect(status == 0)
        let name = ([product] + arguments.filter { $0 != "--help" }).joined(separator: "-") + ".txt"
        let path = snapshotDirectory + "/" + name
        if ProcessInfo.processInfo.environment["CRIBO_RECORD_SNAPSHOTS"] == "1" {
            try output.write(toFile: path, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOfFile: path, encoding: .utf8)
        #expect(output == expected, "help of \(product) \(arguments) changed; rerun with CRIBO_RECORD_SNAPSHOTS=1 if intended")
    }

    @Test func embedNamesTheMissingOrBadFile() throws {
        let (status, output) = try runProduct("cribo-features", [
            "embed", "--checkpoint", "/nonexistent/w.safetensors", "--input", "/nonexistent/x.safetensors", "--output", "/tmp/y",
        ])
        #expect(status != 0)
        #expect(output.contains("/nonexistent/w.safetensors"), "\(output)")
        let junk = FileManager.default.temporaryDirectory.appendingPathComponent("cribo-junk-\(getpid()).safetensors").path
        try Data("not a tensor file at all".utf8).write(to: URL(fileURLWithPath: junk))
        let (status2, output2) = try runProduct("cribo-features", ["embed", "--checkpoint", junk, "--input", junk, "--output", "/tmp/y"])
        #expect(status2 != 0)
        #expect(output2.contains(junk) && output2.contains("not a valid safetensors file"), "\(output2)")
    }
}

extension ExecutableTests {
    @Test func aCoreTypeSetInTheEnvironmentWins() {
        // Decided on an environment dictionary: the test never sets or unsets OPENBLAS_CORETYPE itself.
        let avx512 = UInt32(CRIBO_CPU_AVX512F | CRIBO_CPU_AVX512BW | CRIBO_CPU_AVX512VL | CRIBO_CPU_AVX512DQ | CRIBO_CPU_AVX2 | CRIBO_CPU_FMA)
        #expect(BLASRuntime.coreTypeToSet(environment: ["OPENBLAS_CORETYPE": "Haswell"], features: avx512) == nil)
        #expect(BLASRuntime.coreTypeToSet(environment: [:], features: avx512) == "SkylakeX")
        #expect(BLASRuntime.coreTypeToSet(environment: ["OPENBLAS_CORETYPE": ""], features: avx512) == "SkylakeX", "empty counts as unset")
        let runtime = BLASRuntime.shared
        if let value = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"], !value.isEmpty {
            #expect(runtime.choice == .environment, "this machine sets OPENBLAS_CORETYPE: it must be used as it is")
        }
    }

    @Test func aKernelThatDisagreesWithTheNaiveGEMMIsReplaced() throws {
        let (status, output) = try runProduct("cribo-bench", ["blas", "--simulate-disagreement"])
        #expect(status == 0)
        if ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"]?.isEmpty == false {
            #expect(output.contains("choice: environment"), "a set OPENBLAS_CORETYPE is never overridden: \(output)")
        } else {
            #expect(output.contains("choice: libraryDetection") && output.contains("disagreed with the naive GEMM"), "\(output)")
        }
    }

    @Test func threadsDefaultToTheCoresSharedByLocalRanks() {
        #expect(ComputeThreads.defaultCount(environment: [:], cores: 8) == 8)
        #expect(ComputeThreads.defaultCount(environment: ["OMPI_COMM_WORLD_LOCAL_SIZE": "8"], cores: 2) == 1)
        #expect(ComputeThreads.defaultCount(environment: ["OMPI_COMM_WORLD_LOCAL_SIZE": "2"], cores: 16) == 8)
        #expect(ComputeThreads.defaultCount(environment: ["CRIBO_THREADS": "3", "OMPI_COMM_WORLD_LOCAL_SIZE": "8"], cores: 2) == 3)
    }
}
