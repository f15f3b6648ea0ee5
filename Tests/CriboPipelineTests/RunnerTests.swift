// SPDX-License-Identifier: Apache-2.0
// The runner over played tools: a second run is a no-op, a changed setting or input reruns exactly the stages that
// depend on it, a deleted output reruns its stage, a failed stage leaves the earlier output intact and names its
// log, a stage stopped early resumes in its staging folder, and every run appends one history line.

import CriboPipeline
import Foundation
import Testing

extension CriboPipelineTests {
    /// The stages a run ran, in order.
    private func ranStages(_ outcome: RunOutcome) -> [String] {
        outcome.record?.stages.filter { $0.action == "ran" }.map(\.stage) ?? []
    }

    @Test func secondRunIsANoOp() throws {
        let pipeline = try TemporaryPipeline()
        defer { pipeline.remove() }
        let tools = FakeTools()
        let first = try pipeline.runner(tools).run()
        #expect(first.exitCode == 0)
        #expect(ranStages(first).count == 14)
        #expect(tools.invocations.count == 14)
        let manifest = try #require(StageManifest.load(path: pipeline.paths.stages + "/pretrain.json"))
        #expect(manifest.inputs.map(\.path) == [pipeline.paths.shards + "/coco/train2017/manifest.json"])
        #expect(manifest.outputs.map { URL(fileURLWithPath: $0.path).lastPathComponent }.sorted()
                == ["initial_backbone.safetensors", "teacher_backbone.safetensors"])
        #expect(manifest.command.first == pipeline.root + "/bin/cribo-pretrain")

        tools.reset()
        let lines = LineSink()
        let second = try pipeline.runner(tools, lines: lines).run()
        #expect(second.exitCode == 0)
        #expect(tools.invocations.isEmpty)
        #expect(second.record?.stages.allSatisfy { $0.action == "skipped" } == true)
        #expect(lines.lines.filter { $0.contains("up to date (finished") }.count == 14)
        #expect(lines.lines.allSatisfy { $0.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \[[a-z0-9_-]+\] "#, options: .regularExpression) != nil })
    }

    @Test func changedSettingRerunsItsStageAndWhatDependsOnIt() throws {
        let pipeline = try TemporaryPipeline()
        defer { pipeline.remove() }
        let tools = FakeTools()
        #expect(try pipeline.runner(tools).run().exitCode == 0)
        let outcome = try pipeline.runner(tools, overrides: ["pretrain.epochs=3"]).run()
        #expect(outcome.exitCode == 0)
        #expect(ranStages(outcome) == ["pretrain"] + PipelinePlan.stages(try PipelineConfiguration.load(path: pipeline.configPath), paths: pipeline.paths)
            .map(\.name).filter { $0.hasPrefix("features") || $0.hasPrefix("evaluate") || $0.hasPrefix("compare") })
        let linear = try pipeline.runner(tools, overrides: ["pretrain.epochs=3", "evaluate.voc.linear.steps=9"]).run()
        #expect(ranStages(linear) == ["evaluate-initial_backbone-voc-linear", "evaluate-teacher_backbone-voc-linear", "compare-voc"])
    }

    @Test func changedInputRerunsDependentStagesOnly() throws {
        let pipeline = try TemporaryPipeline(yaml: TemporaryPipeline.microYAML.replacingOccurrences(of: "synthesize: {datasets: [coco, voc], images_per_split: 4, seed: 0, sides: 32-40}\n", with: ""))
        defer { pipeline.remove() }
        try FileManager.default.createDirectory(atPath: pipeline.paths.raw, withIntermediateDirectories: true)
        for name in ["annotations_trainval2017.zip", "train2017.zip", "VOCtrainval_11-May-2012.tar"] {
            try Data(name.utf8).write(to: URL(fileURLWithPath: pipeline.paths.raw + "/" + name))
        }
        let tools = FakeTools()
        #expect(try pipeline.runner(tools).run().exitCode == 0)
        // A new VOC archive: the VOC splits, their features, evaluations and the comparison rerun; COCO and pretraining do not.
        try Data("a new VOC release".utf8).write(to: URL(fileURLWithPath: pipeline.paths.raw + "/VOCtrainval_11-May-2012.tar"))
        let outcome = try pipeline.runner(tools).run()
        #expect(outcome.exitCode == 0)
        let ran = ranStages(outcome)
        #expect(ran.contains("ingest-voc-train") && ran.contains("ingest-voc-val") && ran.contains("compare-voc"))
        #expect(!ran.contains("ingest-coco-train2017") && !ran.contains("pretrain"))
        #expect(ran.filter { $0.hasPrefix("features") }.count == 4)
    }

    @Test func deletedOutputRerunsItsStage() throws {
        let pipeline = try TemporaryPipeline()
        defer { pipeline.remove() }
        let tools = FakeTools()
        #expect(try pipeline.runner(tools).run().exitCode == 0)
        try FileManager.default.removeItem(atPath: pipeline.paths.run + "/reports/voc/compare/compare.md")
        let outcome = try pipeline.runner(tools).run()
        #expect(ranStages(outcome) == ["compare-voc"])
        #expect(FileManager.default.fileExists(atPath: pipeline.paths.run + "/reports/voc/compare/compare.md"))
    }

    @Test func missingArchiveIsOneLineNamingIt() throws {
        let yaml = TemporaryPipeline.microYAML.replacingOccurrences(of: "synthesize: {datasets: [coco, voc], images_per_split: 4, seed: 0, sides: 32-40}\n", with: "")
        let pipeline = try TemporaryPipeline(yaml: yaml)
        defer { pipeline.remove() }
        let tools = FakeTools()
        let noFolder = try pipeline.runner(tools).run()
        #expect(noFolder.exitCode == 66)
        #expect(noFolder.error == .missingInput(stage: "ingest-coco-train2017", path: pipeline.paths.raw,
                                                hint: "the dataset's archives go into \(pipeline.paths.raw) under their official names"))
        try FileManager.default.createDirectory(atPath: pipeline.paths.raw, withIntermediateDirectories: true)
        let noArchive = try pipeline.runner(tools).run()
        #expect(noArchive.exitCode == 66)
        #expect(noArchive.error?.description.hasPrefix("missing input of stage ingest-coco-train2017: \(pipeline.paths.raw)/annotations_trainval2017.zip") == true)
        #expect(noArchive.error?.description.contains("\n") == false)
        #expect(noArchive.record?.status == "failed" && noArchive.record?.stages.first?.action == "failed")
        #expect(tools.invocations.isEmpty)
    }

    @Test func failedStageLeavesEarlierOutputIntact() throws {
        let pipeline = try TemporaryPipeline()
        defer { pipeline.remove() }
        let tools = FakeTools()
        #expect(try pipeline.runner(tools).run().exitCode == 0)
        let report = pipeline.paths.run + "/reports/voc/teacher_backbone-dense/report.json"
        let before = try #require(FileManager.default.contents(atPath: report))
        tools.failing = ["teacher_backbone-dense"]
        let lines = LineSink()
        let outcome = try pipeline.runner(tools, overrides: ["evaluate.voc.dense.fractions=1/2"], lines: lines).run()
        let log = pipeline.paths.logs + "/evaluate-teacher_backbone-voc-dense.log"
        #expect(outcome.exitCode == 1)
        #expect(outcome.error == .stageFailed(stage: "evaluate-teacher_backbone-voc-dense", status: 3, bySignal: false, log: log))
        #expect(lines.lines.last?.hasSuffix("[evaluate-teacher_backbone-voc-dense] FAILED: stage evaluate-teacher_backbone-voc-dense failed (exit status 3); log: \(log)") == true)
        #expect(FileManager.default.contents(atPath: report) == before)
        #expect(!FileManager.default.fileExists(atPath: pipeline.paths.run + "/reports/voc/teacher_backbone-dense/partial.txt"))
        #expect(outcome.record?.stages.last?.action == "not-run")
        // The next run (the tool fixed) publishes the new report and removes the staging folder.
        tools.failing = []
        #expect(try pipeline.runner(tools, overrides: ["evaluate.voc.dense.fractions=1/2"]).run().exitCode == 0)
        #expect(FileManager.default.contents(atPath: report) != before)
        #expect(!FileManager.default.fileExists(atPath: pipeline.paths.run + "/reports/voc/.teacher_backbone-dense.staging"))
    }

    @Test func stoppedPretrainingResumesInItsStagingFolder() throws {
        let pipeline = try TemporaryPipeline()
        defer { pipeline.remove() }
        let tools = FakeTools()
        tools.pretrainStopsEarly = true
        let lines = LineSink()
        let first = try pipeline.runner(tools, lines: lines).run()
        #expect(first.exitCode == 0)
        #expect(first.record?.status == "incomplete")
        #expect(first.record?.stages.first { $0.stage == "pretrain" }?.action == "incomplete")
        #expect(first.record?.stages.filter { $0.action == "not-run" }.count == 9)
        let staging = pipeline.paths.run + "/.pretrain.staging"
        #expect(FileManager.default.fileExists(atPath: staging + "/checkpoint.safetensors"))
        #expect(!FileManager.default.fileExists(atPath: pipeline.paths.run + "/pretrain"))
        tools.pretrainStopsEarly = false
        let resumed = LineSink()
        let second = try pipeline.runner(tools, lines: resumed).run()
        #expect(second.exitCode == 0)
        #expect(resumed.lines.contains { $0.contains("[pretrain] continuing the interrupted run in \(staging)") })
        #expect(FileManager.default.fileExists(atPath: pipeline.paths.run + "/pretrain/checkpoint.safetensors"))
        #expect(!FileManager.default.fileExists(atPath: staging))
    }

    @Test func historyHasOneLinePerRun() throws {
        let pipeline = try TemporaryPipeline()
        defer { pipeline.remove() }
        let tools = FakeTools()
        _ = try pipeline.runner(tools).run()
        tools.failing = ["initial_backbone-linear"]
        _ = try pipeline.runner(tools, overrides: ["evaluate.voc.linear.steps=6"]).run()
        let records = RunRecord.load(path: pipeline.paths.history)
        #expect(records.count == 2)
        #expect(records.map(\.status) == ["ok", "failed"])
        #expect(records.map(\.exitCode) == [0, 1])
        #expect(records[0].stages.count == 14 && records[0].stages.allSatisfy { $0.action == "ran" })
        #expect(records[1].failedStage == "evaluate-initial_backbone-voc-linear")
        #expect(records[1].log == pipeline.paths.logs + "/evaluate-initial_backbone-voc-linear.log")
        #expect(records[1].overrides == ["evaluate.voc.linear.steps=6"])
        #expect(records[0].config == pipeline.configPath && records[0].configSHA256 != records[1].configSHA256)
        let lines = try String(contentsOfFile: pipeline.paths.history, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
    }
}
