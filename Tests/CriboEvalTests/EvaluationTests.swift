// SPDX-License-Identifier: Apache-2.0
// The evaluation runners end to end on features of the VOC and ImageNet fixtures: dense k-NN retrieval (numbers
// recomputed from the building blocks, subsets and memory sizes, a self-retrieval sanity check, both variants),
// the linear probe, k-NN classification, and the files every evaluation writes.

import CriboData
import CriboEval
import CriboTensor
import CriboTestSupport
import Foundation
import Testing

@Suite struct EvaluationTests {}

/// Features of the VOC fixture's train and val splits, extracted once.
private let vocFeatures: Result<(train: FeatureSet, val: FeatureSet), Error> = Result {
    let fixture = try evalFixture()
    return (try FeatureSet(folder: try fixture.extract(fixture.vocTrain, "eval-voc-train")),
            try FeatureSet(folder: try fixture.extract(fixture.vocVal, "eval-voc-val")))
}

private func denseSettings(_ change: (inout DenseEvaluationSettings) -> Void = { _ in }) -> DenseEvaluationSettings {
    var settings = DenseEvaluationSettings()
    settings.fractions = ["1/2", "1/1"].compactMap(TrainingFraction.init)
    settings.seeds = [1, 2]
    settings.neighbours = 5
    change(&settings)
    return settings
}

extension EvaluationTests {
    @Test func denseNumbersMatchTheBuildingBlocks() throws {
        let (train, val) = try vocFeatures.get()
        let (report, preview) = try DenseEvaluation(settings: denseSettings()).run(train: train, val: val)
        #expect(report.kind == .dense && report.variant == .clean && report.rows.map(\.name) == ["1/2", "1/1"])
        // 1/2 of 6 images = 3 per seed, 16 patches each; 1/1 keeps everything, so it runs once.
        #expect(report.runs.map(\.row) == ["1/2", "1/2", "1/1"] && report.runs.map(\.trainImages) == [3, 3, 6])
        #expect(report.runs.map(\.memoryRows) == [48, 48, 96])
        #expect(report.rows[0].meanIoU == Statistic(values: report.runs[0...1].map { $0.meanIoU! }))
        #expect(report.settings["variant"] == "clean" && report.settings["neighbours"] == "5")
        // The whole-set run recomputed with DenseRetrieval, PatchMemory and ConfusionMatrix directly.
        var retrieval = DenseRetrieval(variant: .clean, classCount: 21, ignoreIndex: 255, patchSize: 8)
        retrieval.neighbourCount = 5
        let memory = PatchMemory(dimension: 16, classCount: 21)
        for shard in train.shards {
            let (tokens, labels, indices) = (try shard.tokens(), try shard.labels(), try shard.sampleIndices())
            try #require(tokens.shape == [shard.count, 4, 4, 16])
            withExtendedLifetime(tokens) { labels.withUnsafeBufferPointer { labels in
                for row in 0..<shard.count {
                    retrieval.addImage(to: memory, features: tokens.pointer + row * 256, labels: UnsafeBufferPointer(rebasing: labels[(row * 1024)..<((row + 1) * 1024)]),
                                       gridHeight: 4, gridWidth: 4, imageIndex: indices[row])
                }
            } }
        }
        var confusion = ConfusionMatrix(classCount: 21, ignoreIndex: 255)
        for shard in val.shards {
            let tokens = try shard.tokens()
            let predictions = withExtendedLifetime(tokens) {
                retrieval.predict(memory: memory, features: tokens.pointer, imageCount: shard.count, gridHeight: 4, gridWidth: 4,
                                  outputHeight: 32, outputWidth: 32)
            }
            confusion.add(groundTruth: try shard.labels(), prediction: predictions)
        }
        let expected = confusion.scores(variant: .clean)
        #expect(report.runs[2].confusion == confusion.counts)
        #expect(report.rows[1].meanIoU?.mean == expected.meanIoU * 100 && report.rows[1].pixelAccuracy?.mean == expected.pixelAccuracy * 100)
        #expect(report.rows[1].classIoU == expected.classIoU.map { $0.map { $0 * 100 } })
        // The preview: the 3 thumbnails of the val split with their labels and the whole-set predictions.
        let p = try #require(preview)
        let names = try val.shards[0].names()
        #expect(p.thumbnails.count == 3 && p.names == Array(names.prefix(3)))
        #expect(p.groundTruth[2] == Array(try val.shards[0].labels()[2048..<3072]))
    }

    @Test func subsetsAndMemorySizeFollowTheSettings() throws {
        let (train, val) = try vocFeatures.get()
        let (report, _) = try DenseEvaluation(settings: denseSettings { $0.memorySize = 24 }).run(train: train, val: val)
        // memory 24 over 3 images = 8 patches each; over 6 images = 4 each, and now every seed runs at 1/1.
        #expect(report.runs.map(\.memoryRows) == [24, 24, 24, 24] && report.runs.map(\.seed) == [1, 2, 1, 2])
        let subsets = [UInt64(1), 2].map { TrainingFraction(numerator: 1, denominator: 2).images(of: 6, seed: $0) }
        #expect(subsets.allSatisfy { $0.count == 3 && $0 == $0.sorted() && Set($0).count == 3 })
        #expect(TrainingFraction("1/128") == TrainingFraction(numerator: 1, denominator: 128) && TrainingFraction("1") == TrainingFraction(numerator: 1, denominator: 1))
        #expect(TrainingFraction("0/4") == nil && TrainingFraction("3/2") == nil && TrainingFraction("a/2") == nil)
        #expect(TrainingFraction(numerator: 1, denominator: 128).imageCount(of: 10582) == 82)
    }

    @Test func streamedMemoryGivesTheSameReport() throws {
        // Chunks of 5 patches' worth of bytes hold one image (16 rows), so every block of queries streams the memory
        // image by image; blocks of 1 query image. Same neighbours, scores and confusion matrices as the memory built
        // once; with a sampled memory too.
        let (train, val) = try vocFeatures.get()
        for memorySize in [nil, 24] {
            let resident = try DenseEvaluation(settings: denseSettings { $0.memorySize = memorySize }).run(train: train, val: val).0
            var lines: [String] = []
            let streamed = try DenseEvaluation(settings: denseSettings {
                $0.memorySize = memorySize
                $0.memoryChunkBytes = 5 * 16 * 4
                $0.streamedQueryPatches = 1
                $0.queryImages = 1
            }).run(train: train, val: val) { lines.append($0) }.0
            #expect(streamed.runs.map(\.confusion) == resident.runs.map(\.confusion), "memory size \(memorySize.map(String.init) ?? "all")")
            #expect(streamed.runs.map(\.memoryRows) == resident.runs.map(\.memoryRows))
            #expect(lines.contains { $0.contains("streamed in") }, "\(lines)")
        }
    }

    @Test func memorySmallerThanTheNeighboursIsAClearError() throws {
        let (train, val) = try vocFeatures.get()
        // 1/2 of 6 images with 1 patch each: 3 rows for K 5.
        let settings = denseSettings { $0.fractions = [TrainingFraction(numerator: 1, denominator: 2)]; $0.memorySize = 3 }
        let error = try #require(throws: FeatureError.self) { try DenseEvaluation(settings: settings).run(train: train, val: val) }
        #expect(error.description.hasPrefix(train.folder) && error.description.contains("fewer than the 5 neighbours"), "\(error)")
    }

    @Test func retrievingTheValidationSetFromItselfRecoversItsLabels() throws {
        // Each patch's nearest memory row is itself (cosine 1), so K = 1 predicts its own soft label: the upsampled
        // patch histograms, which agree with the labels except near class boundaries inside 8×8 patches.
        let (_, val) = try vocFeatures.get()
        let settings = denseSettings { $0.fractions = [TrainingFraction(numerator: 1, denominator: 1)]; $0.neighbours = 1 }
        let (report, _) = try DenseEvaluation(settings: settings).run(train: val, val: val)
        let accuracy = try #require(report.rows[0].pixelAccuracy?.mean)
        #expect(accuracy > 80, "pixel accuracy \(accuracy) %")
    }

    @Test func hummingbirdVariantIsNamedAndScoredItsWay() throws {
        let (train, val) = try vocFeatures.get()
        let (report, _) = try DenseEvaluation(settings: denseSettings { $0.variant = .hummingbird }).run(train: train, val: val)
        #expect(report.variant == .hummingbird && report.settings["variant"] == "hummingbird")
        #expect(report.notes.contains { $0.contains("0.255") })
        var confusion = ConfusionMatrix(classCount: 21, ignoreIndex: 255)
        for (g, count) in report.runs[2].confusion!.enumerated() where count > 0 {
            confusion.add(groundTruth: [UInt8](repeating: UInt8(g / 21), count: Int(count)), prediction: [Int32](repeating: Int32(g % 21), count: Int(count)))
        }
        #expect(report.rows[1].meanIoU?.mean == confusion.scores(variant: .hummingbird).meanIoU * 100)
        #expect(report.rows[1].classIoU?.allSatisfy { $0 != nil } == true, "the hummingbird mean counts every class")
        #expect(report.markdown().contains("hummingbird variant"))
    }

    @Test func linearProbeTrainsAndScoresTheValidationSplit() throws {
        let (train, val) = try vocFeatures.get()
        var configuration = LinearProbeConfiguration()
        configuration.steps = 30
        configuration.batchSize = 2
        let (report, preview) = try LinearEvaluation(configuration: configuration).run(train: train, val: val)
        #expect(report.kind == .linear && report.rows.map(\.name) == ["linear"] && preview?.thumbnails.count == 3)
        let run = report.runs[0]
        let labelled = try val.shards.flatMap { try $0.labels() }.filter { $0 != 255 }.count
        #expect(run.confusion?.reduce(0, +) == Int64(labelled))
        let firstLoss = try #require(Double(report.settings["firstLoss"] ?? ""))
        let lastLoss = try #require(Double(report.settings["lastLoss"] ?? ""))
        #expect(lastLoss < firstLoss, "loss \(firstLoss) → \(lastLoss)")
        #expect(abs(firstLoss - log(21)) < 0.1, "a near-zero init starts at ln C: \(firstLoss)")
    }

    @Test func knnClassifiesImageNetFeaturesAndRefusesMasksOnly() throws {
        let fixture = try evalFixture()
        let train = try FeatureSet(folder: try fixture.extract(fixture.imagenetTrain, "knn-train"))
        let val = try FeatureSet(folder: try fixture.extract(fixture.imagenetVal, "knn-val"))
        #expect(train.manifest.hasClassLabels && !train.manifest.hasMasks && train.shards[0].file.entries["labels"] == nil)
        var evaluation = KNNEvaluation()
        let report = try evaluation.run(train: train, val: val)
        let classifier = KNNClassifier(features: try train.shards.map { try $0.cls() }.concatenated(),
                                       labels: try train.shards.flatMap { try $0.classLabels() }.map(Int32.init), classCount: train.manifest.classNames.count)
        var capped = classifier
        capped.neighbourCount = 6
        let expected = capped.accuracy(features: try val.shards.map { try $0.cls() }.concatenated(),
                                       labels: try val.shards.flatMap { try $0.classLabels() }.map(Int32.init))
        #expect(report.rows[0].name == "k-NN k=6" && report.rows[0].top1?.mean == expected.top1 && report.rows[0].top5?.mean == expected.top5)
        // Every training image is its own nearest neighbour.
        evaluation.neighbours = 1
        #expect(try evaluation.run(train: train, val: train).rows[0].top1?.mean == 100)
        let (vocTrain, vocVal) = try vocFeatures.get()
        #expect { try KNNEvaluation().run(train: vocTrain, val: vocVal) } throws: { "\($0)".contains("class labels") }
    }

    @Test func linearClassifierTrainsOnCLSAndScoresTopK() throws {
        let fixture = try evalFixture()
        let train = try FeatureSet(folder: try fixture.extract(fixture.imagenetTrain, "linear-train"))
        let val = try FeatureSet(folder: try fixture.extract(fixture.imagenetVal, "linear-val"))
        var configuration = LinearClassifierConfiguration()
        configuration.epochs = 30
        configuration.batchSize = 4
        configuration.baseLearningRate = 64
        var lines: [String] = []
        let report = try ClassifierEvaluation(configuration: configuration).run(train: train, val: val) { lines.append($0) }
        #expect(report.kind == .classifier && report.rows.map(\.name) == ["classifier"] && report.primaryMetric == "top-1")
        #expect(report.settings["learningRate"] == "1.0" && report.settings["epochs"] == "30")
        // The report's numbers are those of the same classifier trained directly.
        let C = train.manifest.classNames.count
        let classifier = LinearClassifier(featureDimension: train.manifest.dimension, classCount: C, configuration: configuration)
        let features = try train.shards.map { try $0.cls() }.concatenated()
        let labels = try train.shards.flatMap { try $0.classLabels() }.map(Int32.init)
        let losses = withExtendedLifetime(features) { classifier.train(features: features.pointer, labels: labels, rows: labels.count) }
        let valFeatures = try val.shards.map { try $0.cls() }.concatenated()
        let expected = withExtendedLifetime(valFeatures) {
            classifier.accuracy(features: valFeatures.pointer, labels: try! val.shards.flatMap { try $0.classLabels() }.map(Int32.init), rows: valFeatures.shape[0])
        }
        #expect(report.rows[0].top1?.mean == expected.top1 && report.rows[0].top5?.mean == expected.top5)
        #expect(losses.last! < losses.first!, "\(losses)")
        #expect(lines.first?.contains("training a linear classifier") == true)
        #expect(report.markdown().contains("Linear classifier"))
        let (vocTrain, vocVal) = try vocFeatures.get()
        #expect { try ClassifierEvaluation(configuration: configuration).run(train: vocTrain, val: vocVal) } throws: { "\($0)".contains("class labels") }
    }
}

extension Array where Element == Tensor {
    /// The tensors stacked along the first axis.
    func concatenated() -> Tensor {
        let rows = reduce(0) { $0 + $1.shape[0] }
        let result = Tensor(zeros: [rows] + [Int](self[0].shape.dropFirst()))
        var offset = 0
        for tensor in self {
            (result.pointer + offset).update(from: tensor.pointer, count: tensor.count)
            offset += tensor.count
        }
        return result
    }
}
