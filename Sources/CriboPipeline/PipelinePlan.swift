// SPDX-License-Identifier: Apache-2.0
// The stages of a configuration, in order: synthesize (demo archives), ingest one split per stage, pretrain, and
// for every evaluated dataset features per backbone and split, one evaluation per backbone and protocol, and a
// comparison. Stage arguments are exactly the command lines of the four tools.
//
// Layout of a run folder <runs>/<name>/: pretrain/ (checkpoints, log.jsonl, *_backbone.safetensors),
// features/<backbone>/<dataset>/<split>/, reports/<dataset>/<backbone>-<protocol>/ and reports/<dataset>/compare/,
// stages/<stage>.json, logs/<stage>.log, history.jsonl, config.yaml (the effective configuration), .lock.

import CriboData
import Foundation

/// Builds the stages of a configuration.
package enum PipelinePlan {
    /// The stages of `configuration` with its folders at `paths`.
    ///
    /// The plan reads nothing but the raw folder's listing (ImageNet's validation labels come from
    /// LOC_val_solution.csv when present, else the devkit), so it is rebuilt before each stage runs.
    package static func stages(_ configuration: PipelineConfiguration, paths: PipelinePaths) -> [PipelineStage] {
        let c = configuration
        var stages: [PipelineStage] = []
        if let s = c.synthesize {
            let archives = s.datasets.flatMap { archiveNames(dataset: $0) }
            let output = StageOutput(folder: paths.raw, mode: .stagedFiles, required: archives)
            stages.append(PipelineStage(
                name: "synthesize", tool: "cribo-ingest",
                arguments: ["synthesize", "--out", output.workFolder(stage: "synthesize"), "--dataset"] + s.datasets
                    + ["--images-per-split", String(s.imagesPerSplit), "--seed", String(s.seed), "--sides", s.sides],
                inputs: [], output: output))
        }
        if let ingest = c.ingest {
            var options: [String] = []
            if let value = ingest.storage { options += ["--storage", value] }
            if let value = ingest.maxSide { options += ["--max-side", String(value)] }
            if let value = ingest.workers { options += ["--workers", String(value)] }
            if let value = ingest.shardSizeMB { options += ["--shard-size-mb", String(value)] }
            if let value = ingest.onBadSample { options += ["--on-bad-sample", value] }
            if ingest.strict { options.append("--strict") }
            for dataset in ingest.datasets {
                guard let ingestor = PipelineConfiguration.ingestors[dataset.name] else { continue }
                for split in dataset.splits {
                    let name = "ingest-\(dataset.name)-\(split)"
                    var stage = PipelineStage(
                        name: name, tool: "cribo-ingest",
                        arguments: [dataset.name, "--raw", paths.raw, "--out", paths.shards, "--splits", split] + options,
                        inputs: ingestor.archives(for: split, rawFolder: paths.raw).map { paths.raw + "/" + $0 },
                        output: StageOutput(folder: "\(paths.shards)/\(dataset.name)/\(split)", mode: .inPlace, required: ["manifest.json"]))
                    stage.requiredFolders = [paths.raw]
                    stage.inputHint = "the dataset's archives go into \(paths.raw) under their official names"
                    stages.append(stage)
                }
            }
        }
        if let p = c.pretrain {
            let output = StageOutput(
                folder: paths.run + "/pretrain", mode: .stagedFolder(resumable: true),
                required: ["teacher_backbone.safetensors", "initial_backbone.safetensors"], recordsAllFiles: false)
            var arguments = ["--config", p.config, "--data", paths.shards + "/" + p.data, "--out", output.workFolder(stage: "pretrain"),
                             "--workers", String(p.workers)]
            arguments += p.overrides.flatMap(\.arguments)
            if !p.dctScaling { arguments.append("--no-dct-scaling") }
            var inputs = [paths.shards + "/" + p.data + "/manifest.json"]
            if p.config.hasSuffix(".json") { inputs.append(p.config) }
            var stage = PipelineStage(name: "pretrain", tool: "cribo-pretrain", arguments: arguments, inputs: inputs, output: output)
            stage.mayStopEarly = true
            stage.inputHint = "ingest it first (list the split under ingest:)"
            stages.append(stage)
        }
        if let f = c.features {
            for benchmark in c.evaluate {
                stages += evaluationStages(benchmark, features: f, compare: c.compare, paths: paths)
            }
        }
        return stages
    }

    /// The archives `cribo-ingest synthesize` writes for `dataset`.
    package static func archiveNames(dataset: String) -> [String] {
        switch dataset {
        case "coco": return [COCOIngestor.annotationsArchive, "train2017.zip", "val2017.zip"]
        case "imagenet": return [ImageNetIngestor.trainArchive, ImageNetIngestor.valArchive, ImageNetIngestor.devkitArchive, ImageNetIngestor.solutionFile]
        case "voc": return [VOCIngestor.archive]
        case "ade20k": return [ADE20KIngestor.archive]
        default: return []
        }
    }

    /// The checkpoint of a backbone named in `features.models`, and a file-name-safe label for it.
    package static func backbone(_ model: String, paths: PipelinePaths) -> (path: String, label: String) {
        if model.contains("/") || model.hasSuffix(".safetensors") {
            let label = URL(fileURLWithPath: model).deletingPathExtension().lastPathComponent
            return (model, label)
        }
        return (paths.run + "/pretrain/" + model + ".safetensors", model)
    }

    private static func evaluationStages(_ b: BenchmarkSettings, features f: FeatureSettings, compare: Bool,
                                         paths: PipelinePaths) -> [PipelineStage] {
        var stages: [PipelineStage] = []
        var reports: [String] = []
        for model in f.models {
            let (checkpoint, label) = backbone(model, paths: paths)
            var featureFolders: [String: String] = [:]
            for split in [b.train, b.val] where featureFolders[split] == nil {
                let name = "features-\(label)-\(b.dataset)-\(split)"
                let output = StageOutput(folder: "\(paths.run)/features/\(label)/\(b.dataset)/\(split)", mode: .stagedFolder(resumable: true),
                                         required: ["features.json"])
                var arguments = ["extract", "--checkpoint", checkpoint, "--split", "\(paths.shards)/\(b.dataset)/\(split)",
                                 "--out", output.workFolder(stage: name)] + f.options.flatMap(\.arguments)
                if f.hummingbirdStd { arguments.append("--hummingbird-std") }
                var stage = PipelineStage(name: name, tool: "cribo-features", arguments: arguments,
                                          inputs: [checkpoint, "\(paths.shards)/\(b.dataset)/\(split)/manifest.json"], output: output)
                stage.inputHint = "pretrain writes the backbones; ingest writes the splits"
                stages.append(stage)
                featureFolders[split] = output.folder
            }
            // Dense retrieval's own training memory, from augmented passes (open-hummingbird-eval builds it so).
            var memoryFolder: String?, queryFolder: String?
            if f.memoryAugmentEpochs > 0 && b.protocols.contains(where: { $0.name == "dense" }) {
                let name = "features-\(label)-\(b.dataset)-\(b.train)-memory"
                let output = StageOutput(folder: "\(paths.run)/features/\(label)/\(b.dataset)/\(b.train)-memory",
                                         mode: .stagedFolder(resumable: true), required: ["features.json"])
                var arguments = ["extract", "--checkpoint", checkpoint, "--split", "\(paths.shards)/\(b.dataset)/\(b.train)",
                                 "--out", output.workFolder(stage: name)] + f.options.flatMap(\.arguments)
                    + ["--augment-epochs", String(f.memoryAugmentEpochs)]
                if f.memoryHummingbirdTransforms { arguments.append("--hummingbird-transforms") } else if f.hummingbirdStd {
                    arguments.append("--hummingbird-std")
                }
                var stage = PipelineStage(name: name, tool: "cribo-features", arguments: arguments,
                                          inputs: [checkpoint, "\(paths.shards)/\(b.dataset)/\(b.train)/manifest.json"], output: output)
                stage.inputHint = "pretrain writes the backbones; ingest writes the splits"
                stages.append(stage)
                memoryFolder = output.folder
                if f.memoryHummingbirdTransforms && !f.hummingbirdStd {
                    // The memory carries Hummingbird's mean/std: dense retrieval's queries must be normalised alike.
                    let name = "features-\(label)-\(b.dataset)-\(b.val)-hummingbird"
                    let output = StageOutput(folder: "\(paths.run)/features/\(label)/\(b.dataset)/\(b.val)-hummingbird",
                                             mode: .stagedFolder(resumable: true), required: ["features.json"])
                    let arguments = ["extract", "--checkpoint", checkpoint, "--split", "\(paths.shards)/\(b.dataset)/\(b.val)",
                                     "--out", output.workFolder(stage: name)] + f.options.flatMap(\.arguments) + ["--hummingbird-std"]
                    var stage = PipelineStage(name: name, tool: "cribo-features", arguments: arguments,
                                              inputs: [checkpoint, "\(paths.shards)/\(b.dataset)/\(b.val)/manifest.json"], output: output)
                    stage.inputHint = "pretrain writes the backbones; ingest writes the splits"
                    stages.append(stage)
                    queryFolder = output.folder
                }
            }
            for p in b.protocols {
                let name = "evaluate-\(label)-\(b.dataset)-\(p.name)"
                let output = StageOutput(folder: "\(paths.run)/reports/\(b.dataset)/\(label)-\(p.name)", mode: .stagedFolder(resumable: false),
                                         required: ["report.json"])
                let train = p.name == "dense" ? memoryFolder ?? featureFolders[b.train]! : featureFolders[b.train]!
                let val = p.name == "dense" ? queryFolder ?? featureFolders[b.val]! : featureFolders[b.val]!
                stages.append(PipelineStage(
                    name: name, tool: "cribo-evaluate",
                    arguments: [p.name, "--train", train, "--val", val, "--out", output.workFolder(stage: name)] + p.options.flatMap(\.arguments),
                    inputs: [train + "/features.json", val + "/features.json"], output: output))
                reports.append(output.folder)
            }
        }
        if compare && reports.count >= 2 {
            let name = "compare-\(b.dataset)"
            let output = StageOutput(folder: "\(paths.run)/reports/\(b.dataset)/compare", mode: .stagedFolder(resumable: false),
                                     required: ["compare.json", "compare.md"])
            stages.append(PipelineStage(
                name: name, tool: "cribo-evaluate", arguments: ["compare"] + reports + ["--out", output.workFolder(stage: name)],
                inputs: reports.map { $0 + "/report.json" }, output: output))
        }
        return stages
    }
}
