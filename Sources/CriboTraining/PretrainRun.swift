// SPDX-License-Identifier: Apache-2.0
// A complete `cribo-pretrain` run on one rank: the split, the loader, the trainer, resume, logging (rank 0 writes
// the effective configuration and the JSON-lines log), and the exported teacher backbone.

import CriboData
import CriboDistributed
import CriboNN
import CriboTensor
import Foundation

/// Inputs of a pretraining run besides the configuration.
package struct PretrainRunOptions: Sendable {
    package var dataFolder: String
    package var outputFolder: String
    /// Stop after this many iterations in this invocation (a resume continues); nil runs to the end.
    package var maximumIterations: Int?
    package var usesDCTScaling = true
    package var prefetchDepth = 2
    package init(dataFolder: String, outputFolder: String) {
        self.dataFolder = dataFolder
        self.outputFolder = outputFolder
    }
}

/// Runs pretraining on this rank.
package enum PretrainRun {
    /// Trains; `progress` receives every step's statistics on rank 0 and `message` free-form lines.
    /// - Returns: the path of the exported teacher backbone when the run completed, else nil.
    @discardableResult
    package static func run(
        configuration: PretrainConfiguration, options: PretrainRunOptions, communicator: any Communicator,
        progress: @escaping (StepStatistics, Int) -> Void, message: @escaping @Sendable (String) -> Void
    ) throws -> String? {
        if let problem = configuration.validationError() { throw TrainingError.configuration(problem) }
        let split = try ShardedSplit(folder: options.dataFolder)
        let order = SampleOrder(count: split.count, worldSize: communicator.size, rank: communicator.rank, seed: configuration.seed)
        let iterations = SampleOrder.iterationsPerEpoch(count: split.count, worldSize: communicator.size, batchSize: configuration.batchSizePerRank)
        guard iterations >= 1 else {
            throw TrainingError.configuration("\(split.count) images are fewer than one global batch of \(configuration.batchSizePerRank)×\(communicator.size)")
        }
        var augmentation = AugmentationConfiguration()
        augmentation.outputSize = configuration.augmentation.imageSize
        augmentation.cropScale = configuration.augmentation.cropScale[0]...configuration.augmentation.cropScale[1]
        let loader = TwoViewLoader(split: split, order: order, batchSize: configuration.batchSizePerRank, configuration: augmentation,
            patchSize: configuration.backbone.patchSize, seed: configuration.seed)
        loader.usesDCTScaling = options.usesDCTScaling
        loader.prefetchDepth = options.prefetchDepth
        loader.onReplacedSample = message
        let output = PretrainOutput(folder: options.outputFolder)
        if communicator.isRoot {
            try FileManager.default.createDirectory(atPath: output.folder, withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try AtomicFile.write(try encoder.encode(configuration) + Data("\n".utf8), to: output.configurationPath)
        }
        communicator.barrier()
        let log = communicator.isRoot ? try JSONLinesLog(path: output.logPath) : nil
        let trainer = Pretrainer(configuration: configuration, communicator: communicator, output: output, iterationsPerEpoch: iterations,
            batches: { loader.epoch($0) }, report: { statistics in
                if communicator.isRoot {
                    log?.append(statistics)
                    progress(statistics, iterations * configuration.epochs)
                }
            })
        if communicator.isRoot && trainer.step.model.shared != nil {
            message("weights, teacher and optimizer state shared by the \(communicator.size) ranks of this node; each rank updates 1/\(communicator.size)")
        }
        if try trainer.resumeIfPossible() {
            message("resumed from \(output.checkpointPath) at epoch \(trainer.epoch), iteration \(trainer.iteration)")
        }
        do {
            try trainer.run(stopAfterIterations: options.maximumIterations)
        } catch let TrainingError.nonFiniteLoss(epoch, iteration, values, _) {
            throw TrainingError.nonFiniteLoss(epoch: epoch, iteration: iteration, values: values,
                checkpoint: FileManager.default.fileExists(atPath: output.checkpointPath) ? output.checkpointPath : nil)
        }
        return trainer.epoch == configuration.epochs ? output.teacherPath : nil
    }
}

/// Appends JSON lines (one object per step) to a log file, flushing each line.
package final class JSONLinesLog: @unchecked Sendable {
    private let handle: FileHandle
    private let encoder = JSONEncoder()

    package init(path: String) throws {
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw FileError.cannotOpen(path: path, reason: "cannot open the log for appending")
        }
        handle.seekToEndOfFile()
        self.handle = handle
        encoder.outputFormatting = [.sortedKeys]
    }

    deinit { try? handle.close() }

    package func append<T: Encodable>(_ value: T) {
        guard let data = try? encoder.encode(value) else { return }
        handle.write(data + Data("\n".utf8))
    }
}
