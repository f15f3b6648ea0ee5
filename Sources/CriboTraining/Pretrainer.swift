// SPDX-License-Identifier: Apache-2.0
// The pretraining loop: epochs of steps over a rank's batches, a checkpoint every N iterations and at every epoch
// end (rank 0 writes; every rank resumes from it), the per-iteration statistics as JSON lines, and the teacher
// backbone exported at the end. A resume continues exactly where the checkpoint left off: the sample order,
// augmentations, DropPath and cluster seeds are pure functions of (seed, epoch, iteration, sample index).

import CriboData
import CriboDistributed
import CriboNN
import CriboTensor
import Foundation

/// Where a run writes, and how it reports.
package struct PretrainOutput: Sendable {
    package var folder: String
    package var checkpointPath: String { folder + "/checkpoint.safetensors" }
    package var teacherPath: String { folder + "/teacher_backbone.safetensors" }
    /// The teacher backbone before training (random init, the same weights as the student), for comparisons.
    package var initialTeacherPath: String { folder + "/initial_backbone.safetensors" }
    package var logPath: String { folder + "/log.jsonl" }
    package var configurationPath: String { folder + "/configuration.json" }
    package init(folder: String) { self.folder = folder }
}

/// Runs CrIBo pretraining on one rank.
package final class Pretrainer {
    package let configuration: PretrainConfiguration
    package let communicator: any Communicator
    package let output: PretrainOutput
    package let iterationsPerEpoch: Int
    package let step: CriboStep
    package let schedules: PretrainSchedules
    private let batches: (_ epoch: Int) -> (count: Int, batch: (Int) throws -> TwoViewBatch)
    private let report: (StepStatistics) -> Void
    /// The next epoch and global iteration to run.
    package private(set) var epoch = 0
    package private(set) var iteration = 0

    /// - Parameters:
    ///   - batches: for an epoch, the number of this rank's batches and a producer of batch i (the loader).
    ///   - report: called with every step's statistics (on every rank).
    package init(
        configuration: PretrainConfiguration, communicator: any Communicator, output: PretrainOutput, iterationsPerEpoch: Int,
        batches: @escaping (Int) -> (count: Int, batch: (Int) throws -> TwoViewBatch), report: @escaping (StepStatistics) -> Void
    ) {
        self.configuration = configuration
        self.communicator = communicator
        self.output = output
        self.iterationsPerEpoch = iterationsPerEpoch
        self.batches = batches
        self.report = report
        step = CriboStep(configuration: configuration, model: CriboModel(configuration: configuration, communicator: communicator),
                         communicator: communicator)
        schedules = PretrainSchedules(configuration: configuration, iterationsPerEpoch: iterationsPerEpoch, worldSize: communicator.size)
    }

    /// Restores the last checkpoint of `output` when there is one (every rank reads it). Returns whether it resumed.
    @discardableResult
    package func resumeIfPossible() throws -> Bool {
        guard let file = try TrainingCheckpoint.open(path: output.checkpointPath) else { return false }
        guard file.metadata["configurationHash"] == configuration.hash else {
            throw TrainingError.configuration("\(file.path) was written with another configuration; use another output folder or the same settings")
        }
        guard file.metadata["worldSize"] == String(communicator.size) else {
            throw TrainingError.configuration("\(file.path) was written with \(file.metadata["worldSize"] ?? "?") workers; resume with the same count")
        }
        let model = step.model
        try model.restoreState(communicator: communicator) { student, teacher, firstMoment, secondMoment in
            try TrainingCheckpoint.restore(student, prefix: "student.", from: file)
            try TrainingCheckpoint.restore(teacher, prefix: "teacher.", from: file)
            try TrainingCheckpoint.restore(firstMoment, prefix: "adamw.m.", from: file, trainableOnly: true)
            try TrainingCheckpoint.restore(secondMoment, prefix: "adamw.v.", from: file, trainableOnly: true)
        }
        let steps = try JSONDecoder().decode([Int].self, from: Data((file.metadata["adamwSteps"] ?? "[]").utf8))
        model.optimizer.restore(steps: steps)
        step.loss.center.assign(from: try file.tensor("loss.center"))
        step.loss.centroidCenter.assign(from: try file.tensor("loss.center_c"))
        step.queue.restore(centroids: try file.tensor("queue.centroids"), centroidsPerImage: try file.integers("queue.cpv").map(Int.init),
            classTokens: try file.tensor("queue.cls"))
        epoch = Int(file.metadata["epoch"] ?? "0") ?? 0
        iteration = Int(file.metadata["iteration"] ?? "0") ?? 0
        return true
    }

    /// Writes the checkpoint (rank 0 only), all ranks wait for it.
    package func saveCheckpoint() throws {
        if communicator.isRoot {
            let model = step.model
            var writer = TensorFileWriter(metadata: [
                "format": TrainingCheckpoint.format, "version": TrainingCheckpoint.version, "epoch": String(epoch),
                "iteration": String(iteration), "worldSize": String(communicator.size),
                "adamwSteps": String(decoding: try JSONEncoder().encode(model.optimizer.steps), as: UTF8.self),
                "configuration": String(decoding: try JSONEncoder.sorted.encode(configuration), as: UTF8.self),
                "configurationHash": configuration.hash,
            ])
            TrainingCheckpoint.add(model.student, prefix: "student.", to: &writer)
            TrainingCheckpoint.add(model.teacher, prefix: "teacher.", to: &writer)
            TrainingCheckpoint.add(model.optimizer.firstMoment, prefix: "adamw.m.", to: &writer, trainableOnly: true)
            TrainingCheckpoint.add(model.optimizer.secondMoment, prefix: "adamw.v.", to: &writer, trainableOnly: true)
            writer.add("loss.center", step.loss.center)
            writer.add("loss.center_c", step.loss.centroidCenter)
            writer.add("queue.centroids", step.queue.centroids)
            writer.add("queue.cls", step.queue.classTokens)
            writer.add("queue.cpv", shape: [step.queue.capacity], int64s: step.queue.centroidsPerImage.map(Int64.init))
            try TrainingCheckpoint.write(writer, to: output.checkpointPath)
        }
        communicator.barrier()
    }

    /// Runs from the current position to the end (or until `stopAfterIterations` more steps, for tests).
    package func run(stopAfterIterations: Int? = nil) throws {
        if iteration == 0 && communicator.isRoot && !FileManager.default.fileExists(atPath: output.initialTeacherPath) {
            try step.model.exportTeacherBackbone(to: output.initialTeacherPath, metadata: ["epochs": "0", "configurationHash": configuration.hash])
        }
        var remaining = stopAfterIterations ?? Int.max
        while epoch < configuration.epochs && remaining > 0 {
            let (count, produce) = batches(epoch)
            precondition(count >= iterationsPerEpoch, "Pretrainer: \(count) batches for \(iterationsPerEpoch) iterations per epoch")
            while iteration < (epoch + 1) * iterationsPerEpoch && remaining > 0 {
                let batch = try produce(iteration - epoch * iterationsPerEpoch)
                let statistics = try step.run(batch, epoch: epoch, iteration: iteration, schedules: schedules)
                report(statistics)
                iteration += 1
                remaining -= 1
                if iteration % configuration.checkpointEveryIterations == 0 && iteration % iterationsPerEpoch != 0 { try saveCheckpoint() }
            }
            if iteration == (epoch + 1) * iterationsPerEpoch {
                epoch += 1
                try saveCheckpoint()
            } else if remaining == 0 {
                try saveCheckpoint()  // stopped early: keep the position so that a rerun continues from here
            }
        }
        if epoch == configuration.epochs && communicator.isRoot {
            try step.model.exportTeacherBackbone(to: output.teacherPath, metadata: ["epochs": String(epoch), "configurationHash": configuration.hash])
        }
        communicator.barrier()
    }
}
