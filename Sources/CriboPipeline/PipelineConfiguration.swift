// SPDX-License-Identifier: Apache-2.0
// A pipeline configuration (pipelines/*.yaml) as typed values. The schema, every key optional unless marked:
//
//   name: demo                  # required; letters, digits, '.', '_', '-'; outputs go to <runs>/<name>/
//   data_root: data             # default "data"; a relative path is taken from the working directory
//   raw: raw/demo               # archives (default "raw"); raw, shards and runs are relative to data_root
//   shards: shards/demo         # ingested splits (default "shards")
//   runs: runs                  # run folders (default "runs")
//   synthesize: {datasets: [coco, voc], images_per_split: 200, seed: 0, sides: 72-96}   # demo archives into <raw>
//   ingest: {coco: [train2017], voc: [train, val], storage: jpeg, max_side: N, workers: N, shard_size_mb: N,
//            on_bad_sample: skip, strict: false}
//   pretrain: {data: coco/train2017, config: demo, workers: 8, epochs, lr, warmup_epochs, batch_size, image_size,
//              clusters, queue_size, seed, checkpoint_every, max_iterations, dct_scaling, threads}
//   features: {models: [initial_backbone, teacher_backbone], resolution: 448, thumbnails, thumbnail_size,
//              batch_size, images_per_shard, dtype, hummingbird_std, workers, threads,
//              memory: {augment_epochs: 2, hummingbird_transforms: true}}   # dense-only augmented training memory
//   evaluate: {voc: {train: train, val: val, dense: {fractions, seeds, memory_size, memory_chunk_mb, neighbours, temperature,
//              variant, ignore_index}, linear: {steps, batch_size, learning_rate, weight_decay, ignore_index, seed}},
//              imagenet: {knn: {neighbours, temperature}, classifier: {epochs, batch_size, learning_rate, momentum, weight_decay, seed}}}
//   compare: true               # one comparison per evaluated dataset (default true)
//
// Unknown keys are errors naming the file, line and key. The option values keep the command-line tools' meaning.

import Foundation

/// A pipeline configuration.
package struct PipelineConfiguration: Equatable, Sendable {
    /// The run name: its outputs go to `<runs>/<name>/`.
    package var name: String
    /// The configuration file it was read from.
    package var file: String
    /// The effective configuration as YAML (the file's text, or the tree after `--set` overrides).
    package var source = ""
    /// The `--set` overrides applied ("pretrain.epochs=2").
    package var overrides: [String] = []
    /// The data root (relative: from the working directory).
    package var dataRoot = "data"
    /// The archive folder (relative: under the data root).
    package var raw = "raw"
    /// The ingested-splits folder (relative: under the data root).
    package var shards = "shards"
    /// The run folders' parent (relative: under the data root).
    package var runs = "runs"
    /// Miniature archives to synthesize into `raw` (the demo).
    package var synthesize: SynthesizeSettings?
    /// The splits to ingest and the ingest options.
    package var ingest: IngestSettings?
    /// Pretraining.
    package var pretrain: PretrainSettings?
    /// Feature extraction for every evaluated dataset.
    package var features: FeatureSettings?
    /// The evaluated datasets, in file order.
    package var evaluate: [BenchmarkSettings] = []
    /// Whether each evaluated dataset gets a comparison of its reports.
    package var compare = true

    /// A configuration with defaults for everything but its name and file.
    package init(name: String, file: String) {
        self.name = name
        self.file = file
    }
}

/// One `--<key> <value>` option of a tool, from a YAML key (with '_' → '-').
package struct ToolOption: Equatable, Sendable {
    /// The YAML key (snake_case).
    package var key: String
    /// The value as written.
    package var value: String
    package init(_ key: String, _ value: String) { (self.key, self.value) = (key, value) }
    /// `["--<key>", value]`.
    package var arguments: [String] { ["--" + key.replacingOccurrences(of: "_", with: "-"), value] }
}

/// A dataset to ingest and its splits.
package struct IngestDataset: Equatable, Sendable {
    /// coco, imagenet, voc or ade20k.
    package var name: String
    /// The splits.
    package var splits: [String]
    package init(name: String, splits: [String]) { (self.name, self.splits) = (name, splits) }
}

/// A protocol of an evaluated dataset and its `cribo-evaluate <name>` options.
package struct EvaluationProtocol: Equatable, Sendable {
    /// dense, linear, knn or classifier.
    package var name: String
    /// Its options.
    package var options: [ToolOption]
    package init(name: String, options: [ToolOption]) { (self.name, self.options) = (name, options) }
}

/// `synthesize:` — `cribo-ingest synthesize` options.
package struct SynthesizeSettings: Equatable, Sendable {
    /// Datasets to write (coco, imagenet, voc, ade20k).
    package var datasets: [String] = ["coco", "voc"]
    /// Images per split.
    package var imagesPerSplit = 12
    /// The seed the archives are a pure function of.
    package var seed: UInt64 = 0
    /// Smallest and largest image side, "MIN-MAX".
    package var sides = "56-88"
    package init() {}
}

/// `ingest:` — splits per dataset and `cribo-ingest <dataset>` options.
package struct IngestSettings: Equatable, Sendable {
    /// The datasets and their splits, in file order.
    package var datasets: [IngestDataset] = []
    /// `--storage`.
    package var storage: String?
    /// `--max-side`.
    package var maxSide: Int?
    /// `--workers`.
    package var workers: Int?
    /// `--shard-size-mb`.
    package var shardSizeMB: Int?
    /// `--on-bad-sample`.
    package var onBadSample: String?
    /// `--strict`.
    package var strict = false
    package init() {}

}

/// `pretrain:` — the ingested split to train on and the `cribo-pretrain` options.
package struct PretrainSettings: Equatable, Sendable {
    /// The ingested split, "<dataset>/<split>" under `shards`.
    package var data: String
    /// `--config`.
    package var config = "demo"
    /// `--workers`.
    package var workers = 8
    /// Overrides passed through as `--<key> <value>` (YAML key with '_' → '-'), in a fixed order.
    package var overrides: [ToolOption] = []
    /// `--no-dct-scaling` when false.
    package var dctScaling = true
    package init(data: String) { self.data = data }

    /// The YAML keys passed through as cribo-pretrain options.
    package static let overrideKeys = [
        "epochs", "batch_size", "image_size", "clusters", "queue_size", "seed", "checkpoint_every", "lr", "warmup_epochs",
        "max_iterations", "threads",
    ]

}

/// `features:` — `cribo-features extract` options and the backbones to extract with.
package struct FeatureSettings: Equatable, Sendable {
    /// Backbones: a name of the pretrain folder's files (initial_backbone, teacher_backbone) or a .safetensors path.
    package var models = ["initial_backbone", "teacher_backbone"]
    /// Options passed through as `--<key> <value>` in a fixed order (resolution, thumbnails, ...).
    package var options: [ToolOption] = []
    /// `--hummingbird-std`.
    package var hummingbirdStd = false
    /// `memory: {augment_epochs: N, hummingbird_transforms: true}`: dense retrieval's training memory is extracted
    /// separately with N augmented passes (0: the dense protocol uses the clean training features, as the others do).
    package var memoryAugmentEpochs = 0
    /// Whether the memory passes use open-hummingbird-eval's transform (colour jitters, its mean/std, paired crops).
    package var memoryHummingbirdTransforms = false
    package init() {}

    /// The YAML keys passed through as cribo-features extract options.
    package static let optionKeys = [
        "resolution", "thumbnails", "thumbnail_size", "batch_size", "images_per_shard", "dtype", "workers", "threads",
    ]

}

/// One evaluated dataset (`evaluate: <dataset>:`) and its protocols.
package struct BenchmarkSettings: Equatable, Sendable {
    /// The dataset under `shards` (voc, ade20k, ...).
    package var dataset: String
    /// The training split (memory, probe training).
    package var train: String
    /// The validation split.
    package var val: String
    /// Protocols (dense, linear, knn, classifier) with their `cribo-evaluate <protocol>` options, in file order.
    package var protocols: [EvaluationProtocol] = []
    package init(dataset: String, train: String, val: String) {
        (self.dataset, self.train, self.val) = (dataset, train, val)
    }

    /// The option keys of each protocol.
    package static let protocolKeys: [String: [String]] = [
        "dense": ["fractions", "seeds", "memory_size", "memory_chunk_mb", "neighbours", "temperature", "variant", "ignore_index", "threads"],
        "linear": ["steps", "batch_size", "learning_rate", "weight_decay", "ignore_index", "seed", "threads"],
        "knn": ["neighbours", "temperature", "threads"],
        "classifier": ["epochs", "batch_size", "learning_rate", "momentum", "weight_decay", "seed", "threads"],
    ]

    /// The default (train, val) splits of the datasets cribo-ingest knows.
    package static let defaultSplits: [String: (String, String)] = [
        "voc": ("train", "val"), "ade20k": ("training", "validation"), "coco": ("train2017", "val2017"), "imagenet": ("train", "val"),
    ]

}

extension PipelineConfiguration {
    /// The folders of this configuration, resolved against `dataRoot` (or `dataRootOverride`).
    package func paths(dataRootOverride: String? = nil) -> PipelinePaths {
        let root = dataRootOverride ?? dataRoot
        func under(_ path: String) -> String { path.hasPrefix("/") ? path : root + "/" + path }
        return PipelinePaths(raw: under(raw), shards: under(shards), run: under(runs) + "/" + name)
    }
}

/// Where a configuration reads and writes.
package struct PipelinePaths: Equatable, Sendable {
    /// The archive folder.
    package var raw: String
    /// The ingested-splits folder.
    package var shards: String
    /// This pipeline's run folder (`<runs>/<name>`).
    package var run: String
    /// The stage manifests' folder.
    package var stages: String { run + "/stages" }
    /// The stage logs' folder.
    package var logs: String { run + "/logs" }
    /// The lock file.
    package var lock: String { run + "/.lock" }
    /// The run history (JSON lines).
    package var history: String { run + "/history.jsonl" }
    package init(raw: String, shards: String, run: String) { (self.raw, self.shards, self.run) = (raw, shards, run) }
}
