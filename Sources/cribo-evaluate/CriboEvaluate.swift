// SPDX-License-Identifier: Apache-2.0
// cribo-evaluate: dense k-NN retrieval mIoU, a linear segmentation probe and k-NN classification from feature
// folders written by `cribo-features extract`, each with report.json, report.md and PNG figures, plus a
// comparison of several reports.

import ArgumentParser
import CriboCommandLine
import CriboEval
import Foundation

@main
struct CriboEvaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cribo-evaluate",
        abstract: "Dense k-NN retrieval mIoU, linear probes, k-NN classification, and readable reports.",
        discussion: """
            Inputs are feature folders written by `cribo-features extract`. Every evaluation writes report.json (all \
            numbers and settings), report.md (tables) and PNG figures into --out, and appends one line to \
            history.jsonl in the parent of --out.
            """,
        subcommands: [Dense.self, Linear.self, KNN.self, Classifier.self, Compare.self])
}

extension CriboEvaluate {
    struct Dense: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Dense nearest-neighbour retrieval (in-context segmentation, spec 9.1): mIoU per training fraction.",
            discussion: """
                The clean variant (default) reports standard mIoU; --variant hummingbird follows open-hummingbird-eval \
                (memory labels 255 -> 0, Hungarian matching, mean over all classes). mIoU is computed at the feature \
                resolution. Scores are mean +- sample std over seeds.
                """)
        @OptionGroup var folders: EvaluationFolderArguments
        @Option(help: "clean or hummingbird.") var variant: String = "clean"
        @Option(help: "Training fractions, comma-separated.") var fractions: String = "1/128,1/64,1/8,1/1"
        @Option(help: "Subset and sampling seeds, comma-separated.") var seeds: String = "42,783,1293,400,4019"
        @Option(help: "Total memory rows (patches sampled per image, favouring rare classes); default: every patch.") var memorySize: Int?
        @Option(help: "Neighbours K.") var neighbours: Int = 30
        @Option(help: "Softmax temperature of the neighbour weights.") var temperature: Float = 0.02
        @Option(help: "Ground-truth id left out of the metric (default: 0 for ADE20K, else 255).") var ignoreIndex: Int?
        @Option(help: ArgumentHelp("MiB of memory-bank features held at once; a larger bank is streamed from the feature shards in chunks.", valueName: "MiB"))
        var memoryChunkMb: Int = 2048
        @OptionGroup var compute: ComputeArguments

        func validate() throws {
            guard memoryChunkMb >= 1 else { throw ValidationError("--memory-chunk-mb must be at least 1") }
            guard EvaluationVariant(rawValue: variant) != nil else { throw ValidationError("--variant must be clean or hummingbird") }
            guard parseFractions(fractions) != nil else { throw ValidationError("--fractions must be like 1/128,1/64,1/8,1/1") }
            guard parseSeeds(seeds) != nil else { throw ValidationError("--seeds must be comma-separated non-negative integers") }
            guard neighbours >= 1, temperature > 0 else { throw ValidationError("--neighbours must be at least 1 and --temperature positive") }
            if let memorySize, memorySize < 1 { throw ValidationError("--memory-size must be positive") }
        }

        func run() throws {
            try compute.apply()
            var settings = DenseEvaluationSettings()
            settings.variant = EvaluationVariant(rawValue: variant)!
            settings.fractions = parseFractions(fractions)!
            settings.seeds = parseSeeds(seeds)!
            settings.memorySize = memorySize
            settings.neighbours = neighbours
            settings.temperature = temperature
            settings.ignoreIndex = ignoreIndex
            settings.memoryChunkBytes = memoryChunkMb << 20
            let (train, val) = try folders.open()
            let display = ProgressDisplay(label: "dense")
            let (report, preview) = try DenseEvaluation(settings: settings).run(train: train, val: val) { display.log($0) }
            try writeAndSummarize(report, preview: preview, folder: folders.out)
        }
    }

    struct Linear: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Linear segmentation probe on frozen patch tokens (spec 9.2): clean mIoU.",
            discussion: "Adam with L2 weight decay, poly schedule to lr/10, logits bilinearly resized to the label maps.")
        @OptionGroup var folders: EvaluationFolderArguments
        @Option(help: "Optimiser steps.") var steps: Int = 4000
        @Option(help: "Images per step.") var batchSize: Int = 4
        @Option(help: "Initial learning rate.") var learningRate: Float = 0.01
        @Option(help: "L2 weight decay.") var weightDecay: Float = 0.01
        @Option(help: "Label id left out of the loss and the metric.") var ignoreIndex: Int = 255
        @Option(help: "Seed of the initial weights and the batch order.") var seed: UInt64 = 0
        @OptionGroup var compute: ComputeArguments

        func validate() throws {
            guard steps >= 1, batchSize >= 1, learningRate > 0, weightDecay >= 0 else {
                throw ValidationError("--steps and --batch-size must be at least 1, --learning-rate positive, --weight-decay non-negative")
            }
        }

        func run() throws {
            try compute.apply()
            var configuration = LinearProbeConfiguration()
            configuration.steps = steps
            configuration.batchSize = batchSize
            configuration.learningRate = learningRate
            configuration.weightDecay = weightDecay
            configuration.ignoreIndex = ignoreIndex
            configuration.seed = seed
            let (train, val) = try folders.open()
            let display = ProgressDisplay(label: "linear")
            let (report, preview) = try LinearEvaluation(configuration: configuration).run(train: train, val: val) { display.log($0) }
            try writeAndSummarize(report, preview: preview, folder: folders.out)
        }
    }

    struct KNN: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "knn", abstract: "Weighted k-NN classification on [CLS] (DINO eval_knn): top-1 and top-5.")
        @OptionGroup var folders: EvaluationFolderArguments
        @Option(help: "Neighbours K.") var neighbours: Int = 20
        @Option(help: "Temperature T of the exp(cos/T) votes.") var temperature: Float = 0.07
        @OptionGroup var compute: ComputeArguments

        func validate() throws {
            guard neighbours >= 1, temperature > 0 else { throw ValidationError("--neighbours must be at least 1 and --temperature positive") }
        }

        func run() throws {
            try compute.apply()
            var evaluation = KNNEvaluation()
            evaluation.neighbours = neighbours
            evaluation.temperature = temperature
            let (train, val) = try folders.open()
            try writeAndSummarize(try evaluation.run(train: train, val: val), preview: nil, folder: folders.out)
        }
    }

    struct Classifier: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Linear classifier on [CLS] (DINO eval_linear, n_last_blocks 1): top-1 and top-5.",
            discussion: """
                Trained on the stored final-norm [CLS] features (computed once, so without DINO's training \
                augmentation): SGD with momentum, learning rate base x batch / 256 annealed per epoch by a cosine to 0, \
                W ~ N(0, 0.01), b = 0.
                """)
        @OptionGroup var folders: EvaluationFolderArguments
        @Option(help: "Epochs.") var epochs: Int = 100
        @Option(help: "Rows per step.") var batchSize: Int = 1024
        @Option(help: "Learning rate per 256 rows.") var learningRate: Float = 0.001
        @Option(help: "SGD momentum.") var momentum: Float = 0.9
        @Option(help: "L2 weight decay.") var weightDecay: Float = 0
        @Option(help: "Seed of the initial weights and the row order.") var seed: UInt64 = 0
        @OptionGroup var compute: ComputeArguments

        func validate() throws {
            guard epochs >= 1, batchSize >= 1, learningRate > 0, (0..<1).contains(momentum), weightDecay >= 0 else {
                throw ValidationError("--epochs and --batch-size must be at least 1, --learning-rate positive, --momentum in [0, 1), --weight-decay non-negative")
            }
        }

        func run() throws {
            try compute.apply()
            var configuration = LinearClassifierConfiguration()
            configuration.epochs = epochs
            configuration.batchSize = batchSize
            configuration.baseLearningRate = learningRate
            configuration.momentum = momentum
            configuration.weightDecay = weightDecay
            configuration.seed = seed
            let (train, val) = try folders.open()
            let display = ProgressDisplay(label: "classifier")
            let report = try ClassifierEvaluation(configuration: configuration).run(train: train, val: val) { display.log($0) }
            try writeAndSummarize(report, preview: nil, folder: folders.out)
        }
    }

    struct Compare: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A table (compare.md, compare.json, compare.png) across several report folders.")
        @Argument(help: "Report folders written by cribo-evaluate.") var reports: [String]
        @Option(help: "Output folder.") var out: String

        func validate() throws {
            guard !reports.isEmpty else { throw ValidationError("give at least one report folder") }
        }

        func run() throws {
            let comparison = try ComparisonReport(folders: reports)
            let files = try comparison.write(folder: out)
            print(comparison.markdown(figure: nil), terminator: "")
            print("wrote " + files.map { out + "/" + $0 }.joined(separator: ", "))
        }
    }
}
