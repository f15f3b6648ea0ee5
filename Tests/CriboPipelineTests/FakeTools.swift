// SPDX-License-Identifier: Apache-2.0
// A stage executor that plays the four tools without running them: it writes the files each tool's command line
// asks for, with contents derived from its arguments and the files those arguments name (so a changed input
// changes every output downstream), records the calls, and can fail chosen stages after writing partial output.
// Also a temporary pipeline (folders, a micro configuration) for the tests.

import CriboPipeline
import Foundation

/// Plays cribo-ingest, cribo-pretrain, cribo-features and cribo-evaluate.
final class FakeTools: StageExecutor, @unchecked Sendable {
    private let lock = NSLock()
    private var calls: [[String]] = []
    /// Output folders (a substring of `--out`) whose command fails with exit status 3 after writing a partial file.
    var failing: Set<String> = []
    /// Whether cribo-pretrain stops before writing its backbones (as with max_iterations).
    var pretrainStopsEarly = false

    /// The tool name and arguments of each call, in order.
    var invocations: [[String]] { lock.withLock { calls } }

    func reset() { lock.withLock { calls = [] } }

    func run(executable: String, arguments: [String], log: String) throws -> StageTermination {
        let tool = URL(fileURLWithPath: executable).lastPathComponent
        lock.withLock { calls.append([tool] + arguments) }
        try Data("fake \(tool) \(arguments.joined(separator: " "))\n".utf8).write(to: URL(fileURLWithPath: log))
        guard let outIndex = arguments.firstIndex(of: "--out") else { return StageTermination(status: 2) }
        let out = arguments[outIndex + 1]
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let content = Data((tool + " " + arguments.joined(separator: " ") + "\n").utf8) + inputsContent(arguments)
        if failing.contains(where: { out.contains($0) }) {
            try Data("partial".utf8).write(to: URL(fileURLWithPath: out + "/report.json"))
            try Data("partial".utf8).write(to: URL(fileURLWithPath: out + "/partial.txt"))
            return StageTermination(status: 3)
        }
        var files: [String]
        switch (tool, arguments[0]) {
        case ("cribo-ingest", "synthesize"):
            let datasets = arguments[(arguments.firstIndex(of: "--dataset")! + 1)...].prefix { !$0.hasPrefix("--") }
            files = datasets.flatMap { PipelinePlan.archiveNames(dataset: $0) }
        case ("cribo-ingest", let dataset):
            let split = arguments[arguments.firstIndex(of: "--splits")! + 1]
            files = ["\(dataset)/\(split)/manifest.json", "\(dataset)/\(split)/shard-00000.safetensors"]
        case ("cribo-pretrain", _):
            if pretrainStopsEarly {
                try (content + Data("checkpoint".utf8)).write(to: URL(fileURLWithPath: out + "/checkpoint.safetensors"))
                return StageTermination(status: 0)
            }
            files = ["teacher_backbone.safetensors", "initial_backbone.safetensors", "configuration.json"]
        case ("cribo-features", _): files = ["features.json", "features-p0-00000.safetensors"]
        case ("cribo-evaluate", "compare"): files = ["compare.json", "compare.md"]
        case ("cribo-evaluate", _): files = ["report.json", "report.md"]
        default: return StageTermination(status: 2)
        }
        for file in files {
            let path = out + "/" + file
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try (content + Data(file.utf8)).write(to: URL(fileURLWithPath: path))
        }
        return StageTermination(status: 0)
    }

    func interrupt(signal: Int32) {}

    /// The bytes of the files named by the arguments (a folder: its regular files, sorted).
    private func inputsContent(_ arguments: [String]) -> Data {
        var data = Data()
        for (index, argument) in arguments.enumerated() where index == 0 || arguments[index - 1] != "--out" {
            var isFolder: ObjCBool = false
            guard argument.hasPrefix("/"), FileManager.default.fileExists(atPath: argument, isDirectory: &isFolder) else { continue }
            let files = isFolder.boolValue
                ? ((try? FileManager.default.contentsOfDirectory(atPath: argument)) ?? []).sorted().map { argument + "/" + $0 } : [argument]
            for file in files { data += FileManager.default.contents(atPath: file) ?? Data() }
        }
        return data
    }
}

/// A micro pipeline in a fresh temporary folder.
struct TemporaryPipeline {
    let root: String
    let configPath: String

    static let microYAML = """
        name: micro
        synthesize: {datasets: [coco, voc], images_per_split: 4, seed: 0, sides: 32-40}
        ingest: {coco: [train2017], voc: [train, val]}
        pretrain: {data: coco/train2017, config: demo, workers: 2, epochs: 2, lr: 2.0e-3}
        features: {models: [initial_backbone, teacher_backbone], resolution: 32, thumbnails: 2}
        evaluate:
          voc: {dense: {fractions: [1/1]}, linear: {steps: 5}}

        """

    init(yaml: String = Self.microYAML) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("cribo-pipeline-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        configPath = root + "/micro.yaml"
        try Data((yaml + "data_root: \(root)/data\n").utf8).write(to: URL(fileURLWithPath: configPath))
        try FileManager.default.createDirectory(atPath: root + "/bin", withIntermediateDirectories: true)
        for tool in ["cribo-ingest", "cribo-pretrain", "cribo-features", "cribo-evaluate"] {
            _ = FileManager.default.createFile(atPath: root + "/bin/" + tool, contents: Data("#!/bin/sh\nexit 0\n".utf8),
                                           attributes: [.posixPermissions: 0o755])
        }
    }

    /// The configuration, its folders, and a runner over `tools` whose lines are collected in `lines`.
    func runner(_ tools: FakeTools, overrides: [String] = [], lines: LineSink = LineSink()) throws -> PipelineRunner {
        let configuration = try PipelineConfiguration.load(path: configPath, overrides: overrides)
        let runner = PipelineRunner(configuration: configuration, paths: configuration.paths(), toolFolder: root + "/bin",
                                    executor: tools) { lines.append($0) }
        runner.tailLines = 2
        return runner
    }

    /// The folders of the micro configuration.
    var paths: PipelinePaths { PipelinePaths(raw: root + "/data/raw", shards: root + "/data/shards", run: root + "/data/runs/micro") }

    func remove() { try? FileManager.default.removeItem(atPath: root) }
}

/// Collects output lines.
final class LineSink: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    func append(_ line: String) { lock.withLock { stored.append(line) } }
    var lines: [String] { lock.withLock { stored } }
}
