// SPDX-License-Identifier: Apache-2.0
// `cribo-evaluate linear` (a linear segmentation probe on frozen patch tokens, spec §9.2) and `cribo-evaluate knn`
// (DINO's weighted k-NN on [CLS]) from two feature folders. Both hold every training row in memory.
// Legend: N training rows (images × passes), h×w patch grid, S label resolution, D width, C classes.

import CriboTensor
import Foundation

/// A linear-probe evaluation.
package struct LinearEvaluation {
    /// The probe settings.
    package var configuration: LinearProbeConfiguration
    /// Validation images shown in predictions.png.
    package var previewCount = 8

    /// An evaluation with these settings.
    package init(configuration: LinearProbeConfiguration) { self.configuration = configuration }

    /// Trains the probe on every training row (all passes) and scores the first validation pass (clean mIoU).
    /// - Parameters:
    ///   - log: progress lines.
    package func run(train: FeatureSet, val: FeatureSet, log: (String) -> Void = { _ in }) throws -> (EvaluationReport, ReportPreview?) {
        try EvaluationInputs.checkCompatible(train: train, val: val, needsMasks: true, needsClassLabels: false)
        let started = Date()
        let m = train.manifest
        let (h, w, S, D, C) = (m.gridHeight, m.gridWidth, m.settings.resolution, m.dimension, m.classNames.count)
        let N = train.shards.reduce(0) { $0 + $1.count }
        let features = Tensor(zeros: [N, h * w, D])
        var labels = [UInt8](repeating: 0, count: N * S * S)
        var offset = 0
        for shard in train.shards {
            let tokens = try shard.tokens()
            withExtendedLifetime(tokens) { (features.pointer + offset * h * w * D).update(from: tokens.pointer, count: tokens.count) }
            let maps = try shard.labels()
            for i in 0..<maps.count { labels[offset * S * S + i] = maps[i] }
            offset += shard.count
        }
        for value in labels where Int(value) >= C && Int(value) != configuration.ignoreIndex {
            throw FeatureError.malformed(file: train.folder, reason: "label \(value) outside 0..<\(C) and not the ignore index \(configuration.ignoreIndex)")
        }
        let probe = LinearProbe(featureDimension: D, classCount: C, configuration: configuration)
        log("training a linear probe on \(N) rows for \(configuration.steps) steps of \(configuration.batchSize)")
        let losses = withExtendedLifetime(features) {
            labels.withUnsafeBufferPointer { labels in
                probe.train(features: features.pointer, labels: labels, imageCount: N, gridHeight: h, gridWidth: w, labelHeight: S, labelWidth: S)
            }
        }
        var confusion = ConfusionMatrix(classCount: C, ignoreIndex: configuration.ignoreIndex)
        var preview = ReportPreview(caption: "LINEAR PROBE, \(configuration.steps) STEPS", thumbnailSize: val.manifest.settings.thumbnailSize, resolution: S)
        preview.classNames = m.classNames
        for shard in val.firstPassShards {
            let tokens = try shard.tokens()
            let truth = try shard.labels()
            let predictions = withExtendedLifetime(tokens) {
                probe.predict(features: tokens.pointer, imageCount: shard.count, gridHeight: h, gridWidth: w, outputHeight: S, outputWidth: S)
            }
            confusion.add(groundTruth: truth, prediction: predictions)
            try collectPreview(&preview, shard: shard, truth: truth, predictions: predictions, resolution: S, limit: previewCount)
        }
        let scores = confusion.scores(variant: .clean)
        let run = ReportRun(
            row: "linear", seed: configuration.seed, trainImages: m.sampleCount, memoryRows: nil, meanIoU: scores.meanIoU * 100,
            pixelAccuracy: scores.pixelAccuracy * 100, classIoU: scores.classIoU.map { $0.map { $0 * 100 } }, confusion: confusion.counts,
            top1: nil, top5: nil, seconds: Date().timeIntervalSince(started))
        let c = configuration
        let settings: [String: String] = [
            "steps": String(c.steps), "batchSize": String(c.batchSize), "learningRate": String(c.learningRate),
            "weightDecay": String(c.weightDecay) + " (L2 added to the gradient, Adam)", "schedule": "poly power \(c.power) to lr·\(c.finalLearningRateRatio)",
            "ignoreIndex": String(c.ignoreIndex), "seed": String(c.seed), "trainRows": String(N),
            "firstLoss": losses.first.map { String(format: "%.4f", $0) } ?? "–", "lastLoss": losses.last.map { String(format: "%.4f", $0) } ?? "–",
        ]
        let notes = ["Logits are bilinearly resized to the \(S)x\(S) label maps of the features; mmseg's sliding-window inference at the original resolution and its mean = std = 127.5 normalisation are not mimicked."]
        let report = EvaluationReport(
            kind: .linear, variant: .clean, created: EvaluationInputs.now(), train: FeatureSource(train), val: FeatureSource(val),
            settings: settings, classNames: m.classNames, rows: [ReportRow(name: "linear", runs: [run])], runs: [run], notes: notes)
        return (report, preview)
    }
}

/// A weighted k-NN classification evaluation on [CLS].
package struct KNNEvaluation {
    /// K (DINO: 20).
    package var neighbours = 20
    /// T (DINO: 0.07).
    package var temperature: Float = 0.07

    /// DINO's settings.
    package init() {}

    /// Classifies the first validation pass with every training row (all passes).
    package func run(train: FeatureSet, val: FeatureSet) throws -> EvaluationReport {
        try EvaluationInputs.checkCompatible(train: train, val: val, needsMasks: false, needsClassLabels: true)
        let started = Date()
        let C = train.manifest.classNames.count
        let (trainFeatures, trainLabels) = try Self.cls(train.shards, classCount: C)
        let (valFeatures, valLabels) = try Self.cls(val.firstPassShards, classCount: C)
        var classifier = KNNClassifier(features: trainFeatures, labels: trainLabels, classCount: C)
        classifier.neighbourCount = min(neighbours, trainLabels.count)
        classifier.temperature = temperature
        let accuracy = classifier.accuracy(features: valFeatures, labels: valLabels)
        let name = "k-NN k=\(classifier.neighbourCount)"
        let run = ReportRun(
            row: name, seed: 0, trainImages: train.manifest.sampleCount, memoryRows: trainLabels.count, meanIoU: nil, pixelAccuracy: nil,
            classIoU: nil, confusion: nil, top1: accuracy.top1, top5: accuracy.top5, seconds: Date().timeIntervalSince(started))
        return EvaluationReport(
            kind: .knn, variant: nil, created: EvaluationInputs.now(), train: FeatureSource(train), val: FeatureSource(val),
            settings: ["neighbours": String(classifier.neighbourCount), "temperature": String(temperature),
                       "features": "final-norm [CLS], L2-normalised", "vote": "Σ exp(cos/T) per class (DINO eval_knn)"],
            classNames: train.manifest.classNames, rows: [ReportRow(name: name, runs: [run])], runs: [run], notes: [])
    }

    /// [N, D] [CLS] tokens and [N] classes of some shards.
    static func cls(_ shards: [FeatureShard], classCount C: Int) throws -> (Tensor, [Int32]) {
        let N = shards.reduce(0) { $0 + $1.count }
        let D = try shards.first.map { try $0.file.entry(FeatureLayout.clsKey).shape[1] } ?? 1
        let features = Tensor(zeros: [N, D])
        var labels: [Int32] = []
        var offset = 0
        for shard in shards {
            let cls = try shard.cls()
            withExtendedLifetime(cls) { (features.pointer + offset * D).update(from: cls.pointer, count: cls.count) }
            for label in try shard.classLabels() {
                guard label >= 0 && label < C else {
                    throw FeatureError.malformed(file: shard.file.path, reason: "class \(label) outside 0..<\(C)")
                }
                labels.append(Int32(label))
            }
            offset += shard.count
        }
        return (features, labels)
    }
}

/// Appends the thumbnail rows of a validation shard to a preview, up to `limit` images.
func collectPreview(_ preview: inout ReportPreview, shard: FeatureShard, truth: [UInt8], predictions: [Int32], resolution S: Int, limit: Int) throws {
    guard preview.thumbnails.count < limit, let thumbnails = try shard.thumbnails() else { return }
    let names = try shard.names()
    let size = thumbnails.size * thumbnails.size * 3
    for row in 0..<min(thumbnails.count, shard.count) where preview.thumbnails.count < limit {
        preview.thumbnails.append(Array(thumbnails.pixels[(row * size)..<((row + 1) * size)]))
        preview.groundTruth.append(Array(truth[(row * S * S)..<((row + 1) * S * S)]))
        preview.predictions.append(Array(predictions[(row * S * S)..<((row + 1) * S * S)]))
        preview.names.append(names[row])
    }
}

/// A linear classifier evaluation on [CLS] (DINO eval_linear, n_last_blocks 1, on features computed once).
package struct ClassifierEvaluation {
    /// The training settings.
    package var configuration: LinearClassifierConfiguration

    /// An evaluation with these settings.
    package init(configuration: LinearClassifierConfiguration) { self.configuration = configuration }

    /// Trains on every training row (all passes) and scores the first validation pass: top-1 and top-5.
    package func run(train: FeatureSet, val: FeatureSet, log: (String) -> Void = { _ in }) throws -> EvaluationReport {
        try EvaluationInputs.checkCompatible(train: train, val: val, needsMasks: false, needsClassLabels: true)
        let started = Date()
        let C = train.manifest.classNames.count
        let (trainFeatures, trainLabels) = try KNNEvaluation.cls(train.shards, classCount: C)
        let (valFeatures, valLabels) = try KNNEvaluation.cls(val.firstPassShards, classCount: C)
        let classifier = LinearClassifier(featureDimension: train.manifest.dimension, classCount: C, configuration: configuration)
        log("training a linear classifier on \(trainLabels.count) rows: \(configuration.epochs) epochs of batches of \(configuration.batchSize)")
        let losses = withExtendedLifetime(trainFeatures) {
            classifier.train(features: trainFeatures.pointer, labels: trainLabels, rows: trainLabels.count, log: log)
        }
        let accuracy = withExtendedLifetime(valFeatures) {
            classifier.accuracy(features: valFeatures.pointer, labels: valLabels, rows: valLabels.count)
        }
        let name = "classifier"
        let run = ReportRun(
            row: name, seed: configuration.seed, trainImages: train.manifest.sampleCount, memoryRows: trainLabels.count, meanIoU: nil,
            pixelAccuracy: nil, classIoU: nil, confusion: nil, top1: accuracy.top1, top5: accuracy.top5,
            seconds: Date().timeIntervalSince(started))
        let c = configuration
        return EvaluationReport(
            kind: .classifier, variant: nil, created: EvaluationInputs.now(), train: FeatureSource(train), val: FeatureSource(val),
            settings: ["epochs": String(c.epochs), "batchSize": String(c.batchSize), "baseLearningRate": String(c.baseLearningRate),
                       "learningRate": String(c.learningRate), "schedule": "CosineAnnealingLR per epoch to 0", "momentum": String(c.momentum),
                       "weightDecay": String(c.weightDecay), "seed": String(c.seed), "finalLoss": String(losses.last ?? .nan),
                       "features": "final-norm [CLS] (n_last_blocks 1), computed once (no training augmentation)"],
            classNames: train.manifest.classNames, rows: [ReportRow(name: name, runs: [run])], runs: [run], notes: [])
    }
}
