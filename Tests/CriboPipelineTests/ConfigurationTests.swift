// SPDX-License-Identifier: Apache-2.0
// Reading pipeline configurations: the committed files, the schema's errors (unknown key, wrong type, missing
// file), --set overrides, and the stage commands the demo plans (those of the former bash runner).

import CriboPipeline
import Foundation
import Testing

@Suite struct CriboPipelineTests {}

/// The repository's pipelines/ folder.
private let pipelinesFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("pipelines").path

extension CriboPipelineTests {
    @Test func demoConfigurationKeepsTheDemoSettings() throws {
        let c = try PipelineConfiguration.load(path: pipelinesFolder + "/demo.yaml")
        #expect(c.name == "demo")
        #expect(c.paths() == PipelinePaths(raw: "data/raw/demo", shards: "data/shards/demo", run: "data/runs/demo"))
        let synthesize = try #require(c.synthesize)
        #expect(synthesize.datasets == ["coco", "voc"] && synthesize.imagesPerSplit == 1000 && synthesize.seed == 0 && synthesize.sides == "72-96")
        #expect(c.ingest?.datasets == [IngestDataset(name: "coco", splits: ["train2017"]), IngestDataset(name: "voc", splits: ["train", "val"])])
        let pretrain = try #require(c.pretrain)
        #expect(pretrain.data == "coco/train2017" && pretrain.config == "demo" && pretrain.workers == 8)
        #expect(pretrain.overrides == [ToolOption("epochs", "60"), ToolOption("lr", "0.004"), ToolOption("warmup_epochs", "5")])
        #expect(c.features?.models == ["initial_backbone", "teacher_backbone"])
        #expect(c.features?.options == [ToolOption("resolution", "64"), ToolOption("thumbnails", "12")])
        #expect(c.evaluate.count == 1)
        #expect(c.evaluate.first?.protocols == [
            EvaluationProtocol(name: "dense", options: [ToolOption("fractions", "1/8,1/1")]),
            EvaluationProtocol(name: "linear", options: [ToolOption("steps", "300")]),
        ])
    }

    @Test func demoPlanRunsTheFormerCommands() throws {
        let c = try PipelineConfiguration.load(path: pipelinesFolder + "/demo.yaml")
        let paths = c.paths(dataRootOverride: "/d")
        let stages = PipelinePlan.stages(c, paths: paths)
        #expect(stages.map(\.name) == [
            "synthesize", "ingest-coco-train2017", "ingest-voc-train", "ingest-voc-val", "pretrain",
            "features-initial_backbone-voc-train", "features-initial_backbone-voc-val", "evaluate-initial_backbone-voc-dense",
            "evaluate-initial_backbone-voc-linear", "features-teacher_backbone-voc-train", "features-teacher_backbone-voc-val",
            "evaluate-teacher_backbone-voc-dense", "evaluate-teacher_backbone-voc-linear", "compare-voc",
        ])
        let byName = Dictionary(uniqueKeysWithValues: stages.map { ($0.name, $0) })
        #expect(byName["synthesize"]?.arguments == ["synthesize", "--out", "/d/raw/demo/.synthesize.staging", "--dataset", "coco", "voc",
                                                     "--images-per-split", "1000", "--seed", "0", "--sides", "72-96"])
        #expect(byName["ingest-voc-val"]?.arguments == ["voc", "--raw", "/d/raw/demo", "--out", "/d/shards/demo", "--splits", "val"])
        #expect(byName["ingest-voc-val"]?.inputs == ["/d/raw/demo/VOCtrainval_11-May-2012.tar"])
        #expect(byName["pretrain"]?.arguments == ["--config", "demo", "--data", "/d/shards/demo/coco/train2017", "--out", "/d/runs/demo/.pretrain.staging",
                                                   "--workers", "8", "--epochs", "60", "--lr", "0.004", "--warmup-epochs", "5"])
        #expect(byName["features-teacher_backbone-voc-val"]?.arguments == [
            "extract", "--checkpoint", "/d/runs/demo/pretrain/teacher_backbone.safetensors", "--split", "/d/shards/demo/voc/val",
            "--out", "/d/runs/demo/features/teacher_backbone/voc/.val.staging", "--resolution", "64", "--thumbnails", "12",
        ])
        #expect(byName["evaluate-initial_backbone-voc-dense"]?.arguments == [
            "dense", "--train", "/d/runs/demo/features/initial_backbone/voc/train", "--val", "/d/runs/demo/features/initial_backbone/voc/val",
            "--out", "/d/runs/demo/reports/voc/.initial_backbone-dense.staging", "--fractions", "1/8,1/1",
        ])
        #expect(byName["compare-voc"]?.arguments.count == 7)
    }

    @Test(arguments: ["coco-vits16", "imagenet-vits16", "imagenet-vitb16"])
    func paperConfigurationsRead(name: String) throws {
        let c = try PipelineConfiguration.load(path: pipelinesFolder + "/\(name).yaml")
        #expect(c.name == name)
        #expect(c.synthesize == nil)
        #expect(c.evaluate.map(\.dataset) == ["voc", "ade20k"])
        #expect(c.features?.options.contains(ToolOption("resolution", "448")) == true)
        let stages = PipelinePlan.stages(c, paths: c.paths())
        #expect(stages.contains { $0.name == "ingest-voc-trainaug" && $0.inputs.contains("data/raw/SegmentationClassAug.zip") })
        #expect(stages.contains { $0.name == "evaluate-teacher_backbone-ade20k-linear" && $0.arguments.contains("160000") })
        // Dense retrieval reads its own augmented memory; the linear probe keeps the clean training features.
        let byName = Dictionary(uniqueKeysWithValues: stages.map { ($0.name, $0) })
        let memory = try #require(byName["features-teacher_backbone-voc-trainaug-memory"])
        #expect(Array(memory.arguments.suffix(3)) == ["--augment-epochs", "2", "--hummingbird-transforms"])
        // Feature extraction runs over 8 MPI ranks, as pretraining does.
        let workers = try #require(memory.arguments.firstIndex(of: "--workers"))
        #expect(memory.arguments[workers + 1] == "8")
        let memoryFolder = "data/runs/\(name)/features/teacher_backbone/voc/trainaug-memory"
        #expect(byName["evaluate-teacher_backbone-voc-dense"]?.arguments.contains(memoryFolder) == true)
        #expect(byName["evaluate-teacher_backbone-voc-linear"]?.arguments.contains(memoryFolder) == false)
        #expect(byName["evaluate-teacher_backbone-voc-linear"]?.arguments.contains("data/runs/\(name)/features/teacher_backbone/voc/trainaug") == true)
        // ... and its queries carry the memory's (Hummingbird's) normalisation.
        #expect(byName["features-teacher_backbone-voc-val-hummingbird"]?.arguments.last == "--hummingbird-std")
        #expect(byName["evaluate-teacher_backbone-voc-dense"]?.arguments.contains("data/runs/\(name)/features/teacher_backbone/voc/val-hummingbird") == true)
        #expect(byName["evaluate-teacher_backbone-voc-linear"]?.arguments.contains("data/runs/\(name)/features/teacher_backbone/voc/val") == true)
    }

    @Test func memoryKeysAreChecked() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cribo-memory-\(getpid())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/m.yaml"
        try "name: m\nfeatures: {memory: {augment_epochs: 2, crops: 3}}\n".write(toFile: path, atomically: true, encoding: .utf8)
        let error = #expect(throws: PipelineError.self) { try PipelineConfiguration.load(path: path) }
        #expect(error?.description.contains("crops") == true, "\(String(describing: error))")
        try "name: m\nfeatures: {memory: {augment_epochs: -1}}\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: PipelineError.self) { try PipelineConfiguration.load(path: path) }
    }

    @Test func classificationProtocolsBecomeEvaluateStages() throws {
        let yaml = "name: c\nevaluate: {imagenet: {knn: {neighbours: 10}, classifier: {epochs: 5, momentum: 0.8}}}\n"
        let c = try PipelineConfiguration.parse(yaml: yaml, file: "c.yaml")
        #expect(c.evaluate.first?.protocols.map(\.name) == ["knn", "classifier"])
        let stage = try #require(PipelinePlan.stages(c, paths: c.paths()).first { $0.name.hasSuffix("imagenet-classifier") })
        #expect(stage.tool == "cribo-evaluate" && stage.arguments.first == "classifier")
        #expect(stage.arguments.suffix(4) == ["--epochs", "5", "--momentum", "0.8"], "\(stage.arguments)")
        let wrong = "name: c\nevaluate: {imagenet: {classifier: {steps: 5}}}\n"
        #expect(throws: PipelineError.self) { try PipelineConfiguration.parse(yaml: wrong, file: "c.yaml") }
    }

    @Test func unknownKeyNamesFileLineAndKey() throws {
        let yaml = "name: x\npretrain:\n  data: coco/train2017\n  epoch: 3\n"
        let error = #expect(throws: PipelineError.self) { try PipelineConfiguration.parse(yaml: yaml, file: "p/x.yaml") }
        #expect(error?.description.hasPrefix("p/x.yaml:4: 'pretrain.epoch': unknown key (known here: data, config, workers") == true)
        #expect(error?.exitCode == 65)
    }

    @Test func wrongValuesAreNamed() throws {
        let cases: [(String, String)] = [
            ("name: x\ndata_rot: d\n", "x.yaml:2: 'data_rot': unknown key"),
            ("name: x\npretrain: {data: coco/train2017, epochs: many}\n", "x.yaml:2: 'pretrain.epochs': expected an integer"),
            ("name: x\ningest: {voc: [tran]}\n", "x.yaml:2: 'ingest.voc': unknown split 'tran' of voc"),
            ("name: x/y\n", "x.yaml:1: 'name': use letters"),
            ("data_root: d\n", "x.yaml: 'name': required"),
            ("name: x\nevaluate: {voc: {dense: {fractions: [1/8], k: 3}}}\n", "x.yaml:2: 'evaluate.voc.dense.k': unknown key"),
        ]
        for (yaml, prefix) in cases {
            let error = #expect(throws: PipelineError.self) { try PipelineConfiguration.parse(yaml: yaml, file: "x.yaml") }
            #expect(error?.description.hasPrefix(prefix) == true, "\(error?.description ?? "no error") does not start with \(prefix)")
        }
    }

    @Test func missingConfigurationIsNoInput() throws {
        let error = #expect(throws: PipelineError.self) { try PipelineConfiguration.load(path: "/nonexistent/pipeline.yaml") }
        #expect(error == .missingConfiguration(path: "/nonexistent/pipeline.yaml"))
        #expect(error?.exitCode == 66)
        #expect(error?.description == "configuration not found: /nonexistent/pipeline.yaml")
    }

    @Test func overridesFollowTheSchema() throws {
        let yaml = "name: x\npretrain: {data: coco/train2017, epochs: 60}\n"
        let c = try PipelineConfiguration.parse(yaml: yaml, file: "x.yaml", overrides: ["pretrain.epochs=2", "pretrain.max_iterations=7", "raw=r"])
        #expect(c.pretrain?.overrides == [ToolOption("epochs", "2"), ToolOption("max_iterations", "7")])
        #expect(c.raw == "r")
        #expect(c.source.contains("max_iterations: 7"))
        #expect(throws: PipelineError.self) { try PipelineConfiguration.parse(yaml: yaml, file: "x.yaml", overrides: ["pretrain.epoks=2"]) }
    }
}
