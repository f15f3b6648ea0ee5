// SPDX-License-Identifier: Apache-2.0
// The options of `cribo-pretrain`: a released or demo configuration (or a JSON file) plus overrides.

import ArgumentParser
import CriboNN
import CriboTraining
import Foundation

/// `--config` and the overrides of a pretraining configuration.
package struct PretrainArguments: ParsableArguments {
    @Option(help: "vits16-in, vitb16-in, vits16-coco, demo, or a JSON file written by a previous run (configuration.json).")
    package var config: String = "demo"
    @Option(help: "Override: epochs.") package var epochs: Int?
    @Option(help: "Override: images per rank per step.") package var batchSize: Int?
    @Option(help: "Override: crop size of both views.") package var imageSize: Int?
    @Option(help: "Override: K, clusters per image.") package var clusters: Int?
    @Option(help: "Override: images in the centroid queue.") package var queueSize: Int?
    @Option(help: "Override: random seed.") package var seed: UInt64?
    @Option(help: "Override: checkpoint every N iterations (and at each epoch end).") package var checkpointEvery: Int?
    @Option(help: "Override: base learning rate per 256 images.") package var lr: Double?
    @Option(help: "Override: warmup epochs.") package var warmupEpochs: Int?

    package init() {}

    /// The configuration these options describe.
    package func configuration() throws -> PretrainConfiguration {
        var c: PretrainConfiguration
        if let preset = PretrainConfiguration.named(config) {
            c = preset
        } else if config == "demo" {
            c = .demo
        } else {
            guard let data = FileManager.default.contents(atPath: config) else {
                throw ValidationError("--config: '\(config)' is neither a known configuration (vits16-in, vitb16-in, vits16-coco, demo) nor a readable file")
            }
            do { c = try JSONDecoder().decode(PretrainConfiguration.self, from: data) } catch {
                throw ValidationError("--config \(config): not a pretraining configuration: \(error)")
            }
        }
        if let epochs { c.epochs = epochs }
        if let batchSize { c.batchSizePerRank = batchSize }
        if let imageSize {
            c.augmentation.imageSize = imageSize
            c.backbone.imageSize = imageSize
        }
        if let clusters { c.clusters = clusters }
        if let queueSize { c.queueSize = queueSize }
        if let seed { c.seed = seed }
        if let checkpointEvery { c.checkpointEveryIterations = checkpointEvery }
        if let lr { c.learningRate = lr }
        if let warmupEpochs { c.warmupEpochs = warmupEpochs }
        if let problem = c.validationError() { throw ValidationError(problem) }
        return c
    }
}
