// SPDX-License-Identifier: Apache-2.0
// `cribo-pipeline run` with the real tools on a micro demo (16 synthetic images per split, 8 MPI ranks, 6
// iterations of a 32-pixel ViT, features and both evaluations, the comparison): a second run is a no-op; kill -9
// of everything during pretraining and a rerun end with the weights and metrics of an uninterrupted run; a
// truncated archive fails its ingest stage with a message naming it and damages no earlier shard or report; a
// second run started while one runs exits 75 at once; a missing input or configuration is one line naming it.

import Foundation
import Testing

@Suite(.serialized) struct PipelineEndToEndTests {}

/// Whether Open MPI's launcher is installed (pretraining runs 8 ranks under it).
private let hasMPI = FileManager.default.isExecutableFile(atPath: "/usr/bin/mpirun")

/// How a `cribo-pipeline` command ended.
private struct Finished {
    var status: Int32
    /// Standard output and error together.
    var output: String
    var seconds: Double
    var lines: [String] { output.split(separator: "\n").map(String.init) }
}

/// A micro version of pipelines/demo.yaml in its own temporary folder, which every process of its runs (runner,
/// mpirun, ranks, tools) has in its command line.
private struct MicroPipeline {
    /// The temporary folder (config, data root, captured output).
    let root: String
    /// The archive folder.
    let raw: String
    var config: String { root + "/micro.yaml" }
    var shards: String { root + "/data/shards" }
    var run: String { root + "/data/runs/micro" }
    var teacher: String { run + "/pretrain/teacher_backbone.safetensors" }
    /// A pattern that matches the command line of every process of this pipeline and of no other.
    var processPattern: String { root + "/" }

    /// 1 synthesize + 3 ingest + 1 pretrain + 2 backbones × (2 feature splits + 2 protocols) + 1 compare.
    static let stageCount = 14

    /// - Parameters:
    ///   - synthesize: whether the pipeline synthesizes its archives (else they are expected in `<root>/archives`).
    init(_ label: String, synthesize: Bool = true) throws {
        let unique = UUID().uuidString.prefix(8)
        root = FileManager.default.temporaryDirectory.appendingPathComponent("cribo-e2e-\(label)-\(getpid())-\(unique)").path
        raw = synthesize ? root + "/data/raw" : root + "/archives"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        // 16 images / (8 ranks × 1) = 2 iterations per epoch, 3 epochs: 6 iterations, a checkpoint after each.
        let yaml = """
            name: micro
            data_root: \(root)/data
            raw: \(raw)
            \(synthesize ? "synthesize: {datasets: [coco, voc], images_per_split: 16, seed: 0, sides: 40-56}" : "")
            ingest: {coco: [train2017], voc: [train, val]}
            pretrain: {data: coco/train2017, config: demo, workers: 8, epochs: 3, batch_size: 1, image_size: 32, clusters: 4,
                       queue_size: 16, checkpoint_every: 1, threads: 1}
            features: {models: [initial_backbone, teacher_backbone], resolution: 32}
            evaluate:
              voc: {train: train, val: val, dense: {fractions: [1/1]}, linear: {steps: 20}}
            compare: true

            """
        try Data(yaml.utf8).write(to: URL(fileURLWithPath: config))
    }

    /// Kills whatever of this pipeline still runs (after a failed expectation) and deletes its folder.
    func remove() {
        _ = try? utility("pkill", ["-KILL", "-f", processPattern])
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Waits for `process`, at most `seconds`: past that, kills every process of this pipeline and records an
    /// issue, so that a hang fails the test instead of stalling CI.
    func wait(_ process: Process, seconds: Double = 300) {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        guard process.isRunning else { return }
        Issue.record("\(process.arguments ?? []) still ran after \(seconds) s; killed")
        _ = try? utility("pkill", ["-KILL", "-f", processPattern])
        process.waitUntilExit()
    }

    /// Starts `cribo-pipeline run` on this configuration, its output going to `<root>/<name>.out`.
    func start(_ name: String) throws -> Process {
        try launch("cribo-pipeline", ["run", config], output: root + "/" + name + ".out")
    }

    /// Runs `cribo-pipeline` with `arguments` (default: `run` on this configuration) and waits for it.
    func run(_ name: String, _ arguments: [String]? = nil) throws -> Finished {
        let started = Date()
        let output = root + "/" + name + ".out"
        let process = try launch("cribo-pipeline", arguments ?? ["run", config], output: output)
        wait(process)
        return Finished(status: process.terminationStatus, output: text(output), seconds: Date().timeIntervalSince(started))
    }
}

/// Starts a product of this package (the binaries sit beside the test bundle) with its output in the file `output`
/// (a file, not a pipe: children that outlive a killed runner cannot block the reader).
private func launch(_ product: String, _ arguments: [String], output: String) throws -> Process {
    let folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    let candidates = [folder, folder.deletingLastPathComponent()].map { $0.appendingPathComponent(product).path }
    guard let executable = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
        throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: candidates[0]])
    }
    guard FileManager.default.createFile(atPath: output, contents: nil), let handle = FileHandle(forWritingAtPath: output) else {
        throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: output])
    }
    defer { try? handle.close() }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.standardOutput = handle
    process.standardError = handle
    process.standardInput = FileHandle.nullDevice
    try process.run()
    return process
}

/// The text of `path` ("" when missing).
private func text(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

/// The bytes and modification time of a file.
private struct FileState: Equatable {
    var bytes: Data
    var modified: Date
}

/// Every regular file under `folder` (hidden ones included) by relative path, except those named in `excluding`.
private func snapshot(_ folder: String, excluding: Set<String> = []) throws -> [String: FileState] {
    var files: [String: FileState] = [:]
    guard let enumerator = FileManager.default.enumerator(atPath: folder) else { return files }
    for case let relative as String in enumerator where !excluding.contains((relative as NSString).lastPathComponent) {
        let path = folder + "/" + relative
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        guard attributes[.type] as? FileAttributeType == .typeRegular else { continue }
        files[relative] = FileState(bytes: try Data(contentsOf: URL(fileURLWithPath: path)),
                                    modified: attributes[.modificationDate] as? Date ?? .distantPast)
    }
    return files
}

/// The most lines of any `log.jsonl` under `folder` (pretraining writes one line per iteration).
private func loggedIterations(under folder: String) -> Int {
    guard let enumerator = FileManager.default.enumerator(atPath: folder) else { return 0 }
    var most = 0
    for case let relative as String in enumerator where (relative as NSString).lastPathComponent == "log.jsonl" {
        most = max(most, text(folder + "/" + relative).filter { $0 == "\n" }.count)
    }
    return most
}

/// Runs `/usr/bin/<tool> arguments` and returns its exit status.
@discardableResult
private func utility(_ tool: String, _ arguments: [String]) throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/" + tool)
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    return process.terminationStatus
}

/// The `rows` (the metrics) of an evaluation's report.json, serialized with sorted keys.
private func metricRows(_ report: String) throws -> String {
    let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report)))
    let rows = try #require((object as? [String: Any])?["rows"] as? [Any], "\(report) has rows")
    try #require(!rows.isEmpty, "\(report) has rows")
    return String(decoding: try JSONSerialization.data(withJSONObject: rows, options: [.sortedKeys]), as: UTF8.self)
}

/// The evaluations of the micro pipeline (relative to its run folder).
private let reports = ["initial_backbone-dense", "initial_backbone-linear", "teacher_backbone-dense", "teacher_backbone-linear"]
    .map { "reports/voc/\($0)/report.json" }

// MARK: - Up to date

extension PipelineEndToEndTests {
    @Test(.enabled(if: hasMPI)) func secondRunIsANoOp() throws {
        let pipeline = try MicroPipeline("noop")
        defer { pipeline.remove() }
        let first = try pipeline.run("first")
        try #require(first.status == 0, "\(first.output)")
        #expect(first.output.contains("\(MicroPipeline.stageCount) stage(s) ran, 0 up to date"), "\(first.output)")
        for name in ["compare.json", "compare.md", "compare.png"] {
            #expect(FileManager.default.fileExists(atPath: pipeline.run + "/reports/voc/compare/" + name), "\(name)")
        }
        #expect(first.output.contains("# Comparison") && first.output.contains("teacher_backbone-dense"),
                "the table is shown: \(first.output)")
        // Not on a terminal: every line before the table is "<UTC time> [<stage>] <message>", without progress bars.
        let stamped = try Regex(#"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \[[a-z0-9_-]+\] [^\r]*$"#)
        let log = first.output.components(separatedBy: "\n\n")[0].split(separator: "\n").map(String.init)
        #expect(log.count > MicroPipeline.stageCount)
        for line in log where try stamped.wholeMatch(in: line) == nil { Issue.record("not a timestamped line: \(line)") }

        // The run rewrites only its history, its effective config (same text) and the lock's pid.
        let volatile: Set<String> = ["history.jsonl", "config.yaml", ".lock"]
        let before = try snapshot(pipeline.root + "/data", excluding: volatile)
        let config = text(pipeline.run + "/config.yaml")
        let second = try pipeline.run("second")
        #expect(second.status == 0, "\(second.output)")
        let skipped = second.lines.filter { $0.contains("] up to date (finished ") && $0.hasSuffix("; skipped") }
        #expect(skipped.count == MicroPipeline.stageCount, "\(second.output)")
        #expect(!second.output.contains("] running ("), "\(second.output)")
        #expect(second.output.contains("0 stage(s) ran, \(MicroPipeline.stageCount) up to date"), "\(second.output)")
        let after = try snapshot(pipeline.root + "/data", excluding: volatile)
        #expect(after.keys.sorted() == before.keys.sorted())
        for (path, state) in before where after[path] != state { Issue.record("\(path) changed by a run with nothing to do") }
        #expect(before["runs/micro/pretrain/teacher_backbone.safetensors"] != nil)
        #expect(before.keys.filter { $0.hasPrefix("runs/micro/stages/") }.count == MicroPipeline.stageCount)
        #expect(text(pipeline.run + "/config.yaml") == config)
        #expect(second.seconds < first.seconds / 3, "the no-op took \(second.seconds) s, the first run \(first.seconds) s")

        let history = text(pipeline.run + "/history.jsonl").split(separator: "\n")
        #expect(history.count == 2)
        let last = try JSONSerialization.jsonObject(with: Data((history.last ?? "").utf8)) as? [String: Any]
        let actions = (last?["stages"] as? [[String: Any]] ?? []).compactMap { $0["action"] as? String }
        #expect(actions == Array(repeating: "skipped", count: MicroPipeline.stageCount), "\(actions)")
        #expect(last?["status"] as? String == "ok")
    }
}

// MARK: - kill -9

extension PipelineEndToEndTests {
    @Test(.enabled(if: hasMPI)) func killedDuringPretrainingRerunsToTheSameWeightsAndMetrics() throws {
        let straight = try MicroPipeline("straight")
        let killed = try MicroPipeline("killed")
        defer { straight.remove(); killed.remove() }
        let uninterrupted = try straight.run("run")
        try #require(uninterrupted.status == 0, "\(uninterrupted.output)")

        let runner = try killed.start("killed")
        // Wait for 3 of the 6 iterations, then kill runner, mpirun and every rank at once, as a machine going down.
        let deadline = Date().addingTimeInterval(300)
        while runner.isRunning && loggedIterations(under: killed.run) < 3 && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        try #require(runner.isRunning, "the run ended before pretraining logged 3 iterations: \(text(killed.root + "/killed.out"))")
        try utility("pkill", ["-KILL", "-f", killed.processPattern])
        killed.wait(runner, seconds: 20)
        #expect(runner.terminationReason == .uncaughtSignal && runner.terminationStatus == SIGKILL)
        let gone = Date().addingTimeInterval(20)
        while try utility("pgrep", ["-f", killed.processPattern]) == 0 && Date() < gone { Thread.sleep(forTimeInterval: 0.05) }
        #expect(try utility("pgrep", ["-f", killed.processPattern]) != 0, "every process of the killed run is gone")
        #expect(!FileManager.default.fileExists(atPath: killed.teacher), "the kill landed during pretraining")
        // The killed runner's lock file stays behind with its pid (and its dead tool's); the kernel released the flock.
        #expect(text(killed.run + "/.lock").hasPrefix("\(runner.processIdentifier)\nchild "))

        let rerun = try killed.run("rerun")
        try #require(rerun.status == 0, "\(rerun.output)")
        #expect(rerun.output.contains("[pretrain] continuing the interrupted run in "), "\(rerun.output)")
        #expect(text(killed.run + "/logs/pretrain.log").contains("resumed from"), "pretraining resumed from its checkpoint")
        let a = try Data(contentsOf: URL(fileURLWithPath: straight.teacher))
        let b = try Data(contentsOf: URL(fileURLWithPath: killed.teacher))
        #expect(a == b, "teacher_backbone.safetensors after kill -9 and rerun equals the uninterrupted one, byte for byte")
        for report in reports {
            #expect(try metricRows(killed.run + "/" + report) == metricRows(straight.run + "/" + report), "\(report)")
        }
    }
}

// MARK: - Corrupted archive

extension PipelineEndToEndTests {
    @Test(.enabled(if: hasMPI)) func corruptedArchiveFailsItsIngestStageAndKeepsEarlierOutputs() throws {
        let pipeline = try MicroPipeline("corrupt", synthesize: false)
        defer { pipeline.remove() }
        let synthesize = try launch("cribo-ingest", [
            "synthesize", "--out", pipeline.raw, "--dataset", "coco", "voc", "--images-per-split", "16", "--sides", "40-56",
        ], output: pipeline.root + "/synthesize.out")
        pipeline.wait(synthesize)
        try #require(synthesize.terminationStatus == 0, "\(text(pipeline.root + "/synthesize.out"))")
        let first = try pipeline.run("first")
        try #require(first.status == 0, "\(first.output)")

        let shards = try snapshot(pipeline.shards)
        let reportFiles = try snapshot(pipeline.run + "/reports")
        #expect(shards.keys.contains("voc/train/manifest.json") && shards.keys.contains { $0.hasPrefix("voc/train/shard-") })
        #expect(reportFiles.keys.contains("voc/compare/compare.json"))
        // Truncate the VOC archive in the middle of its members, as an interrupted download would.
        let archive = pipeline.raw + "/VOCtrainval_11-May-2012.tar"
        let original = try Data(contentsOf: URL(fileURLWithPath: archive))
        try original.prefix(original.count / 2).write(to: URL(fileURLWithPath: archive))

        let failed = try pipeline.run("failed")
        let log = pipeline.run + "/logs/ingest-voc-train.log"
        #expect(failed.status == 1, "\(failed.output)")
        let last = failed.lines.last ?? ""
        #expect(last.contains("[ingest-voc-train] FAILED: stage ingest-voc-train failed (exit status ")
                    && last.hasSuffix("); log: \(log)"),
                "the last line names the stage and its log: \(last)")
        let message = text(log).split(separator: "\n").filter { $0.contains(archive) && $0.contains("truncated") }
        #expect(!message.isEmpty, "the log names the archive and the problem: \(text(log))")
        #expect(failed.lines.contains { $0.contains("[ingest-voc-train] | ") && $0.contains(archive) },
                "the output repeats it: \(failed.output)")
        #expect(!failed.output.contains("[pretrain] running"), "no later stage ran")
        #expect(try snapshot(pipeline.run + "/reports") == reportFiles, "the reports are untouched")
        let shardsAfter = try snapshot(pipeline.shards)
        for (path, state) in shards where shardsAfter[path] != state { Issue.record("\(path) damaged by the failed ingest") }
        #expect(Set(shardsAfter.keys.filter { !$0.split(separator: "/").contains { $0.hasPrefix(".") } }) == Set(shards.keys),
                "no file added to a published split")
        let history = text(pipeline.run + "/history.jsonl").split(separator: "\n")
        let record = try JSONSerialization.jsonObject(with: Data((history.last ?? "").utf8)) as? [String: Any]
        #expect(record?["status"] as? String == "failed" && record?["failedStage"] as? String == "ingest-voc-train")
        #expect(record?["log"] as? String == log)

        // The archive restored: everything is up to date again, nothing reruns.
        try original.write(to: URL(fileURLWithPath: archive))
        let restored = try pipeline.run("restored")
        #expect(restored.status == 0, "\(restored.output)")
        #expect(restored.output.contains("0 stage(s) ran, \(MicroPipeline.stageCount - 1) up to date"), "\(restored.output)")
    }
}

// MARK: - Lock

extension PipelineEndToEndTests {
    @Test(.enabled(if: hasMPI)) func secondConcurrentRunExitsOnTheLock() throws {
        let pipeline = try MicroPipeline("lock")
        defer { pipeline.remove() }
        let first = try pipeline.start("first")
        // Start the second run while the first one is pretraining.
        let deadline = Date().addingTimeInterval(300)
        while first.isRunning && loggedIterations(under: pipeline.run) < 1 && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        try #require(first.isRunning, "the first run ended early: \(text(pipeline.root + "/first.out"))")
        #expect(text(pipeline.run + "/.lock").hasPrefix("\(first.processIdentifier)\nchild "), "the runner and its running tool")
        let second = try pipeline.run("second")
        #expect(first.isRunning, "the second run ended while the first one still ran")
        #expect(second.status == 75)
        let holder = first.processIdentifier
        #expect(second.output == "cribo-pipeline: another run of micro holds \(pipeline.run)/.lock (pid \(holder)); exiting\n")
        #expect(second.seconds < 10, "the second run exits at once, not after \(second.seconds) s")
        pipeline.wait(first)
        #expect(first.terminationStatus == 0, "\(text(pipeline.root + "/first.out"))")
        #expect(text(pipeline.root + "/first.out").contains("\(MicroPipeline.stageCount) stage(s) ran, 0 up to date"))
        let history = text(pipeline.run + "/history.jsonl").split(separator: "\n")
        #expect(history.count == 1, "the turned-away run writes no history: \(history)")
    }
}

// MARK: - A runner killed alone

extension PipelineEndToEndTests {
    @Test(.enabled(if: hasMPI)) func orphanedToolOfAKilledRunnerKeepsTheNextRunOut() throws {
        let pipeline = try MicroPipeline("orphan")
        defer { pipeline.remove() }
        let first = try pipeline.start("first")
        let deadline = Date().addingTimeInterval(300)
        while first.isRunning && loggedIterations(under: pipeline.run) < 1 && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        try #require(first.isRunning, "the first run ended early: \(text(pipeline.root + "/first.out"))")
        // kill -9 of the runner alone (cron's timeout, an operator): cribo-pretrain, mpirun and the ranks live on.
        let lockText = text(pipeline.run + "/.lock").split(separator: "\n")
        let tool = try #require(lockText.count == 2 ? Int32(lockText[1].split(separator: " ")[1]) : nil, "the running tool is recorded")
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        #expect(kill(tool, 0) == 0, "the orphaned tool still runs")
        let second = try pipeline.run("second")
        #expect(second.status == 75, "\(second.output)")
        #expect(second.output == "cribo-pipeline: another run of micro holds \(pipeline.run)/.lock (pid \(tool)); exiting\n")
        // Once the orphans are gone, the next run goes ahead and finishes.
        _ = try utility("pkill", ["-KILL", "-f", pipeline.processPattern])
        let gone = Date().addingTimeInterval(20)
        while kill(tool, 0) == 0 && Date() < gone { Thread.sleep(forTimeInterval: 0.05) }
        let third = try pipeline.run("third")
        #expect(third.status == 0, "\(third.output)")
    }
}

// MARK: - Missing input

extension PipelineEndToEndTests {
    @Test func missingInputIsOneLineNamingIt() throws {
        let pipeline = try MicroPipeline("missing", synthesize: false)
        defer { pipeline.remove() }
        // No archive folder, then an empty one, then no configuration file.
        let annotations = pipeline.raw + "/annotations_trainval2017.zip"
        for (missing, prepare) in [(pipeline.raw, false), (annotations, true), (pipeline.root + "/absent.yaml", false)] {
            if prepare { try FileManager.default.createDirectory(atPath: pipeline.raw, withIntermediateDirectories: true) }
            let arguments = missing.hasSuffix(".yaml") ? ["run", missing] : nil
            let finished = try pipeline.run("missing", arguments)
            #expect(finished.status == 66, "\(finished.output)")
            let naming = finished.lines.filter { $0.contains(missing) }
            #expect(naming.count == 1 && naming.first == finished.lines.last, "one line, the last, names \(missing): \(finished.output)")
            let pattern = missing.hasSuffix(".yaml") ? "cribo-pipeline: configuration not found: \(missing)"
                : "[ingest-coco-train2017] FAILED: missing input of stage ingest-coco-train2017: \(missing) ("
            #expect(naming.first?.contains(pattern) == true, "\(finished.output)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: pipeline.run + "/logs").isEmpty, "no tool ran")
        #expect(!FileManager.default.fileExists(atPath: pipeline.shards))
    }
}
