// SPDX-License-Identifier: Apache-2.0
// Reading a pipeline configuration from YAML, strictly: unknown keys, wrong types and unknown datasets or splits
// are errors naming the file, line and key. `key.path=value` overrides (the command line's --set) are applied to the
// YAML tree before it is read, so they follow the same rules.

import CriboData
import Foundation
import Yams

extension PipelineConfiguration {
    /// The top-level keys.
    package static let topLevelKeys = [
        "name", "data_root", "raw", "shards", "runs", "synthesize", "ingest", "pretrain", "features", "evaluate", "compare",
    ]

    /// The datasets cribo-ingest reads.
    package static let ingestors: [String: any DatasetIngestor] = [
        "coco": COCOIngestor(), "imagenet": ImageNetIngestor(), "voc": VOCIngestor(), "ade20k": ADE20KIngestor(),
    ]

    /// Reads the configuration at `path`, after applying `overrides` ("pretrain.epochs=2").
    /// - Throws: `PipelineError.missingConfiguration` when the file cannot be read, else `.invalidConfiguration`.
    package static func load(path: String, overrides: [String] = []) throws -> PipelineConfiguration {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue,
              let data = FileManager.default.contents(atPath: path)
        else { throw PipelineError.missingConfiguration(path: path) }
        return try parse(yaml: String(decoding: data, as: UTF8.self), file: path, overrides: overrides)
    }

    /// Reads a configuration from YAML text; `file` names it in errors.
    package static func parse(yaml: String, file: String, overrides: [String] = []) throws -> PipelineConfiguration {
        var root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else {
                throw PipelineError.invalidConfiguration(file: file, line: nil, key: "", reason: "the file is empty")
            }
            root = node
        } catch let error as PipelineError {
            throw error
        } catch {
            throw PipelineError.invalidConfiguration(file: file, line: nil, key: "", reason: "not valid YAML: \(error)")
        }
        for override in overrides { root = try applying(override, to: root, file: file) }
        var top = try YAMLMapping(root, file: file, path: "")
        guard let name = try top.string("name") else {
            throw PipelineError.invalidConfiguration(file: file, line: nil, key: "name", reason: "required (the run folder's name)")
        }
        guard !name.isEmpty, name != ".", name != "..", name.allSatisfy({ $0.isLetter || $0.isNumber || "._-".contains($0) }) else {
            throw top.error("name", nil, "use letters, digits, '.', '_' and '-' only, got '\(name)'")
        }
        var c = PipelineConfiguration(name: name, file: file)
        c.overrides = overrides
        c.source = overrides.isEmpty ? yaml : ((try? Yams.serialize(node: root)) ?? yaml)
        if let value = try top.string("data_root") { c.dataRoot = value }
        if let value = try top.string("raw") { c.raw = value }
        if let value = try top.string("shards") { c.shards = value }
        if let value = try top.string("runs") { c.runs = value }
        if var m = try top.mapping("synthesize") { c.synthesize = try readSynthesize(&m) }
        if var m = try top.mapping("ingest") { c.ingest = try readIngest(&m) }
        if var m = try top.mapping("pretrain") { c.pretrain = try readPretrain(&m) }
        if var m = try top.mapping("features") { c.features = try readFeatures(&m) }
        if var m = try top.mapping("evaluate") { c.evaluate = try readEvaluate(&m) }
        if let value = try top.bool("compare") { c.compare = value }
        try top.finish(known: topLevelKeys)
        if !c.evaluate.isEmpty && c.features == nil { c.features = FeatureSettings() }
        return c
    }

    // MARK: - Sections

    private static func readSynthesize(_ m: inout YAMLMapping) throws -> SynthesizeSettings {
        var s = SynthesizeSettings()
        if let datasets = try m.strings("datasets") {
            for dataset in datasets where ingestors[dataset] == nil {
                throw m.error("datasets", nil, "unknown dataset '\(dataset)' (coco, imagenet, voc, ade20k)")
            }
            s.datasets = datasets
        }
        if let value = try m.int("images_per_split", minimum: 1) { s.imagesPerSplit = value }
        if let value = try m.int("seed", minimum: 0) { s.seed = UInt64(value) }
        if let value = try m.string("sides") {
            let parts = value.split(separator: "-").compactMap { Int($0) }
            guard parts.count == 2, parts[0] >= 16, parts[0] <= parts[1] else { throw m.error("sides", nil, "expected MIN-MAX with 16 <= MIN <= MAX, got '\(value)'") }
            s.sides = value
        }
        try m.finish(known: ["datasets", "images_per_split", "seed", "sides"])
        return s
    }

    private static func readIngest(_ m: inout YAMLMapping) throws -> IngestSettings {
        var s = IngestSettings()
        let options = ["storage", "max_side", "workers", "shard_size_mb", "on_bad_sample", "strict"]
        for key in m.keys where !options.contains(key) {
            guard let ingestor = ingestors[key] else { continue }
            let splits = try m.strings(key) ?? []
            for split in splits where !ingestor.knownSplits.contains(split) {
                throw m.error(key, nil, "unknown split '\(split)' of \(key) (\(ingestor.knownSplits.joined(separator: ", ")))")
            }
            s.datasets.append(IngestDataset(name: key, splits: splits.isEmpty ? ingestor.defaultSplits : splits))
        }
        if let value = try m.string("storage") {
            guard ["jpeg", "raw"].contains(value) else { throw m.error("storage", nil, "expected jpeg or raw") }
            s.storage = value
        }
        s.maxSide = try m.int("max_side", minimum: 8)
        s.workers = try m.int("workers", minimum: 1)
        s.shardSizeMB = try m.int("shard_size_mb", minimum: 1)
        if let value = try m.string("on_bad_sample") {
            guard ["skip", "fail"].contains(value) else { throw m.error("on_bad_sample", nil, "expected skip or fail") }
            s.onBadSample = value
        }
        s.strict = try m.bool("strict") ?? false
        try m.finish(known: ingestors.keys.sorted() + options)
        return s
    }

    private static func readPretrain(_ m: inout YAMLMapping) throws -> PretrainSettings {
        guard let data = try m.string("data") else {
            throw m.error("data", nil, "required: the ingested split to pretrain on, e.g. coco/train2017")
        }
        guard data.split(separator: "/").count == 2 else { throw m.error("data", nil, "expected <dataset>/<split>, got '\(data)'") }
        var s = PretrainSettings(data: data)
        if let value = try m.string("config") { s.config = value }
        if let value = try m.int("workers", minimum: 1) { s.workers = value }
        for key in ["epochs", "batch_size", "image_size", "clusters", "queue_size", "checkpoint_every", "max_iterations", "threads"] {
            if let value = try m.int(key, minimum: 1) { s.overrides.append(ToolOption(key, String(value))) }
        }
        if let value = try m.int("seed", minimum: 0) { s.overrides.append(ToolOption("seed", String(value))) }
        if let value = try m.double("lr") { s.overrides.append(ToolOption("lr", String(value))) }
        if let value = try m.int("warmup_epochs", minimum: 0) { s.overrides.append(ToolOption("warmup_epochs", String(value))) }
        s.overrides.sort { PretrainSettings.overrideKeys.firstIndex(of: $0.key)! < PretrainSettings.overrideKeys.firstIndex(of: $1.key)! }
        s.dctScaling = try m.bool("dct_scaling") ?? true
        try m.finish(known: ["data", "config", "workers", "dct_scaling"] + PretrainSettings.overrideKeys)
        return s
    }

    private static func readFeatures(_ m: inout YAMLMapping) throws -> FeatureSettings {
        var s = FeatureSettings()
        if let models = try m.strings("models") {
            guard !models.isEmpty else { throw m.error("models", nil, "give at least one backbone") }
            s.models = models
        }
        s.options = try m.toolOptions(FeatureSettings.optionKeys)
        for option in s.options where option.key != "dtype" {
            guard let value = Int(option.value), value >= 0 else { throw m.error(option.key, nil, "expected a non-negative integer, got '\(option.value)'") }
        }
        s.hummingbirdStd = try m.bool("hummingbird_std") ?? false
        if var memory = try m.mapping("memory") {
            if let epochs = try memory.string("augment_epochs") {
                guard let value = Int(epochs), value >= 0 else {
                    throw memory.error("augment_epochs", nil, "expected a non-negative integer, got '\(epochs)'")
                }
                s.memoryAugmentEpochs = value
            }
            s.memoryHummingbirdTransforms = try memory.bool("hummingbird_transforms") ?? false
            try memory.finish(known: ["augment_epochs", "hummingbird_transforms"])
        }
        try m.finish(known: ["models", "hummingbird_std", "memory"] + FeatureSettings.optionKeys)
        return s
    }

    private static func readEvaluate(_ m: inout YAMLMapping) throws -> [BenchmarkSettings] {
        var benchmarks: [BenchmarkSettings] = []
        for dataset in m.keys {
            guard var b = try m.mapping(dataset) else { continue }
            let defaults = BenchmarkSettings.defaultSplits[dataset] ?? ("train", "val")
            var benchmark = BenchmarkSettings(dataset: dataset, train: try b.string("train") ?? defaults.0, val: try b.string("val") ?? defaults.1)
            for name in b.keys where BenchmarkSettings.protocolKeys[name] != nil {
                guard var p = try b.mapping(name) else { continue }
                let keys = BenchmarkSettings.protocolKeys[name]!
                benchmark.protocols.append(EvaluationProtocol(name: name, options: try p.toolOptions(keys)))
                try p.finish(known: keys)
            }
            guard !benchmark.protocols.isEmpty else { throw m.error(dataset, nil, "give at least one protocol (dense, linear, knn, classifier)") }
            try b.finish(known: ["train", "val", "dense", "linear", "knn", "classifier"])
            benchmarks.append(benchmark)
        }
        return benchmarks
    }

    // MARK: - Overrides

    /// `root` with the scalar at the dotted key path of `override` ("a.b=value") set, mappings created as needed.
    private static func applying(_ override: String, to root: Node, file: String) throws -> Node {
        guard let equals = override.firstIndex(of: "="), equals != override.startIndex else {
            throw PipelineError.invalidConfiguration(file: file, line: nil, key: override, reason: "an override is KEY.PATH=VALUE")
        }
        let path = override[..<equals].split(separator: ".").map(String.init)
        let text = String(override[override.index(after: equals)...])
        let value = (try? Yams.compose(yaml: text)).flatMap { $0 } ?? Node(text)
        func set(_ node: Node?, _ path: ArraySlice<String>) throws -> Node {
            guard let key = path.first else { return value }
            var pairs: [(Node, Node)] = []
            if let node {
                guard let mapping = node.mapping else {
                    throw PipelineError.invalidConfiguration(file: file, line: node.mark?.line, key: override, reason: "the override goes through a value that is not a mapping")
                }
                pairs = mapping.map { ($0.key, $0.value) }
            }
            if let index = pairs.firstIndex(where: { $0.0.string == key }) {
                pairs[index].1 = try set(pairs[index].1, path.dropFirst())
            } else {
                pairs.append((Node(key), try set(nil, path.dropFirst())))
            }
            return Node.mapping(Node.Mapping(pairs))
        }
        return try set(root, path[...])
    }
}
