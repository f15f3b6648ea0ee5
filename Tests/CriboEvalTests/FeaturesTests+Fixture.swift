// SPDX-License-Identifier: Apache-2.0
// The shared fixture of the feature and evaluation tests: synthesized VOC and ImageNet archives ingested into
// shards (six small images per split), a random-init ViT (32×32 training size, patch 8, D 16, one block) saved
// as a backbone checkpoint, and helpers that extract features from them. Built once per test process.

import CriboData
import CriboEval
import CriboNN
import CriboTensor
import Foundation

/// Folders of the shared fixture.
struct EvalFixture {
    let root: String
    let checkpoint: String
    let vocTrain: String
    let vocVal: String
    let imagenetTrain: String
    let imagenetVal: String
    let configuration: ViTConfiguration

    /// A fresh, empty folder under the fixture root.
    func scratch(_ name: String) -> String {
        let folder = root + "/scratch/" + name
        try? FileManager.default.removeItem(atPath: folder)
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }

    /// Extraction options at resolution 32 with small shards (4 images) and 3 thumbnails of 16 pixels.
    func options(split: String, out: String) -> FeatureExtractionOptions {
        var options = FeatureExtractionOptions(splitFolder: split, outFolder: out, checkpointPath: checkpoint, resolution: 32)
        options.batchSize = 3
        options.imagesPerShard = 4
        options.thumbnailCount = 3
        options.thumbnailSize = 16
        return options
    }

    /// Extracts `split` into a fresh folder `name` with the default test options, adjusted by `change`.
    func extract(_ split: String, _ name: String, _ change: (inout FeatureExtractionOptions) -> Void = { _ in }) throws -> String {
        let out = scratch(name)
        var options = options(split: split, out: out)
        change(&options)
        try FeatureExtractor(options: options).run()
        return out
    }
}

private let fixtureResult: Result<EvalFixture, Error> = Result {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("cribo-eval-tests-\(getpid())").path
    try? FileManager.default.removeItem(atPath: root)
    let raw = root + "/raw", out = root + "/shards"
    try FileManager.default.createDirectory(atPath: raw, withIntermediateDirectories: true)
    try FixtureArchives.write(datasets: ["voc", "imagenet"], folder: raw, options: FixtureOptions(seed: 11, imagesPerSplit: 6))
    var options = IngestOptions(rawFolder: raw, outFolder: out)
    options.workers = 2
    options.definitionsFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("manifests").path
    for (ingestor, splits) in [(VOCIngestor() as any DatasetIngestor, ["train", "val"]), (ImageNetIngestor(), ["train", "val"])] {
        for split in splits { _ = try IngestJob(ingestor: ingestor, split: split, options: options) { _ in }.run() }
    }
    let configuration = ViTConfiguration(imageSize: 32, patchSize: 8, embeddingDimension: 16, depth: 1, headCount: 2)
    let backbone = VisionTransformer(configuration: configuration)
    let parameters = ParameterArena(slots: VisionTransformer.parameterSlots(for: configuration))
    parameters.initialize(seed: 1)
    let checkpoint = root + "/backbone.safetensors"
    try BackboneCheckpoint.save(backbone, parameters: parameters, to: checkpoint)
    return EvalFixture(root: root, checkpoint: checkpoint, vocTrain: out + "/voc/train", vocVal: out + "/voc/val",
                       imagenetTrain: out + "/imagenet/train", imagenetVal: out + "/imagenet/val", configuration: configuration)
}

/// The fixture, built on first use (thread-safe: a global's initialiser runs once).
func evalFixture() throws -> EvalFixture { try fixtureResult.get() }
