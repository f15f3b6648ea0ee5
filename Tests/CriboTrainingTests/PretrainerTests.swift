// SPDX-License-Identifier: Apache-2.0
// The CrIBo step and loop on a tiny model: sane initial losses, determinism, resume bit for bit, the frozen last
// layers, and rank-count behaviour with the thread-backed communicator.

import CriboData
import CriboDistributed
import CriboNN
import CriboTensor
import CriboTestSupport
import CriboTraining
import Foundation
import Testing

/// A tiny configuration: 16×16 images, patch 4, D 16, one block, a 24-way head, K 3, an 8-image queue.
func tinyConfiguration(epochs: Int = 3) -> PretrainConfiguration {
    var c = PretrainConfiguration(
        backbone: ViTConfiguration(imageSize: 16, patchSize: 4, embeddingDimension: 16, depth: 2, headCount: 2),
        head: DINOHeadConfiguration(inputDimension: 16, hiddenDimension: 32, bottleneckDimension: 8, outputDimension: 24))
    c.clusters = 3
    c.queueSize = 8
    c.epochs = epochs
    c.batchSizePerRank = 2
    c.warmupEpochs = 1
    c.warmupTeacherTemperatureEpochs = 1
    c.checkpointEveryIterations = 1000
    return c
}

/// A deterministic synthetic batch for a step: random pixels, positions from two crop boxes per image (spec §3.3
/// closed form), sample indices from the batch number.
func syntheticBatch(indices: [Int], size: Int = 16, patch: Int = 4) -> TwoViewBatch {
    let B = indices.count, G = size / patch, N = G * G
    let images = Tensor(zeros: [2 * B, 3, size, size])
    let positions = Tensor(zeros: [2, B, 2, N])
    for (b, index) in indices.enumerated() {
        for view in 0..<2 {
            var rng = SplitMix64(seed: SplitMix64.mix(77, UInt64(index), UInt64(view)))
            let row = view * B + b
            for i in 0..<(3 * size * size) { images[flat: row * 3 * size * size + i] = Float(rng.nextNormal()) }
            let (top, left) = (rng.nextUniform(0, 20), rng.nextUniform(0, 20))
            let (h, w) = (rng.nextUniform(30, 60), rng.nextUniform(30, 60))
            for r in 0..<G {
                for c in 0..<G {
                    positions[flat: ((view * B + b) * 2 + 0) * N + r * G + c] = Float(left - 0.5 + (Double(c) + 0.5) * w / Double(G))
                    positions[flat: ((view * B + b) * 2 + 1) * N + r * G + c] = Float(top - 0.5 + (Double(r) + 0.5) * h / Double(G))
                }
            }
        }
    }
    return TwoViewBatch(sampleIndices: indices, images: images, positions: positions)
}

/// A pretrainer over `count` synthetic images on one rank of `communicator`.
func tinyPretrainer(_ configuration: PretrainConfiguration, communicator: any Communicator, output: String, count: Int = 8,
                    report: @escaping (StepStatistics) -> Void = { _ in }) -> Pretrainer {
    let order = SampleOrder(count: count, worldSize: communicator.size, rank: communicator.rank, seed: configuration.seed)
    let iterations = SampleOrder.iterationsPerEpoch(count: count, worldSize: communicator.size, batchSize: configuration.batchSizePerRank)
    return Pretrainer(configuration: configuration, communicator: communicator, output: PretrainOutput(folder: output),
        iterationsPerEpoch: iterations, batches: { epoch in
            let batches = order.batches(epoch: epoch, batchSize: configuration.batchSizePerRank)
            return (batches.count, { syntheticBatch(indices: batches[$0]) })
        }, report: report)
}

func trainingFolder(_ name: String) -> String {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cribo-train-\(getpid())/\(name)").path
    try? FileManager.default.removeItem(atPath: folder)
    try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    return folder
}

final class StatisticsLog: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [StepStatistics] = []
    func append(_ s: StepStatistics) { lock.withLock { items.append(s) } }
    var all: [StepStatistics] { lock.withLock { items } }
}

@Suite(.serialized) struct PretrainerTests {}

extension PretrainerTests {
    @Test func configurationsNeedBothLastLayers() {
        #expect(tinyConfiguration().validationError() == nil)
        var plain = tinyConfiguration()
        plain.head.centroidOutputDimension = 0  // DINO's own head: CrIBo's centroid path would have no last layer
        #expect(plain.validationError()?.contains("out_dim_c 0") == true)
        var none = tinyConfiguration()
        none.head.outputDimension = -1
        #expect(none.validationError()?.contains("out_dim -1") == true)
    }

    @Test func firstStepsHaveSaneLossesAndTrainDeterministically() throws {
        let recorded = StatisticsLog()
        let a = tinyPretrainer(tinyConfiguration(), communicator: SingleProcessCommunicator(), output: trainingFolder("a"), report: recorded.append)
        try a.run(stopAfterIterations: 6)
        let stats = recorded.all
        #expect(stats.count == 6 && stats.allSatisfy { $0.loss.isFinite })
        #expect(stats[0].globalLoss > 0 && stats[0].objectLoss > 0, "\(stats[0])")
        #expect(stats.filter { $0.epoch == 0 }.allSatisfy { $0.neighbourLoss == 0 })
        #expect(stats.contains { $0.epoch >= 1 && $0.neighbourLoss > 0 }, "nn_loss active from epoch 1")
        #expect(stats.allSatisfy { $0.regionCount > 0 && $0.regionCount <= 3 })
        let b = tinyPretrainer(tinyConfiguration(), communicator: SingleProcessCommunicator(), output: trainingFolder("b"))
        try b.run(stopAfterIterations: 6)
        #expect(a.step.model.student.storage.scalars == b.step.model.student.storage.scalars, "same config + seed ⇒ same weights")
        #expect(a.step.model.teacher.storage.scalars != a.step.model.student.storage.scalars, "the teacher is an EMA, not a copy")
    }

    @Test func initialLossesAreNearLogOutDimWithARealisticHead() throws {
        // With a 256-d bottleneck and a wide last layer the head's logits are nearly uniform at init, so the first
        // d_loss and s_loss sit near ln(out_dim), as the official run's ≈ 11.1 ≈ ln 65536 (spec §4.8, [LOG]).
        var configuration = tinyConfiguration()
        configuration.head = DINOHeadConfiguration(inputDimension: 16, hiddenDimension: 64, bottleneckDimension: 256, outputDimension: 4096)
        let recorded = StatisticsLog()
        let trainer = tinyPretrainer(configuration, communicator: SingleProcessCommunicator(), output: trainingFolder("anchor"), report: recorded.append)
        try trainer.run(stopAfterIterations: 1)
        let first = try #require(recorded.all.first)
        let tolerance: Float = 0.75  // logit spread of a random 256-d unit projection at τ 0.1 / 0.04
        #expect(abs(first.globalLoss - log(4096)) < tolerance && abs(first.objectLoss - log(4096)) < tolerance, "\(first)")
    }

    @Test func resumeContinuesBitForBit() throws {
        let straight = tinyPretrainer(tinyConfiguration(), communicator: SingleProcessCommunicator(), output: trainingFolder("straight"))
        try straight.run(stopAfterIterations: 7)
        let folder = trainingFolder("resumed")
        let first = tinyPretrainer(tinyConfiguration(), communicator: SingleProcessCommunicator(), output: folder)
        try first.run(stopAfterIterations: 5)
        try first.saveCheckpoint()
        let second = tinyPretrainer(tinyConfiguration(), communicator: SingleProcessCommunicator(), output: folder)
        #expect(try second.resumeIfPossible())
        #expect(second.iteration == 5)
        try second.run(stopAfterIterations: 2)
        #expect(second.step.model.student.storage.scalars == straight.step.model.student.storage.scalars)
        #expect(second.step.model.teacher.storage.scalars == straight.step.model.teacher.storage.scalars)
        #expect(second.step.queue.centroids.scalars == straight.step.queue.centroids.scalars)
        #expect(second.step.loss.center.scalars == straight.step.loss.center.scalars)
    }

    @Test func lastLayersStayFrozenDuringTheFirstEpochs() throws {
        var configuration = tinyConfiguration()
        configuration.freezeLastLayerEpochs = 1
        let trainer = tinyPretrainer(configuration, communicator: SingleProcessCommunicator(), output: trainingFolder("frozen"))
        let before = trainer.step.model.student.pointer("head.last_layer.weight_v")[0]
        let beforeC = trainer.step.model.student.pointer("head.last_layer_c.weight_v")[0]
        try trainer.run(stopAfterIterations: 4)  // epoch 0 only (4 iterations per epoch)
        #expect(trainer.step.model.student.pointer("head.last_layer.weight_v")[0] == before)
        #expect(trainer.step.model.student.pointer("head.last_layer_c.weight_v")[0] == beforeC)
        try trainer.run(stopAfterIterations: 1)
        #expect(trainer.step.model.student.pointer("head.last_layer.weight_v")[0] != before, "trained from epoch 1")
    }

    @Test func ranksKeepIdenticalReplicas() throws {
        let world = LocalWorld(size: 2)
        let results = try world.run { communicator -> ([Float], [Float]) in
            let trainer = tinyPretrainer(tinyConfiguration(), communicator: communicator, output: trainingFolder("rank\(communicator.rank)"))
            try trainer.run(stopAfterIterations: 3)
            return (trainer.step.model.student.storage.scalars, trainer.step.queue.centroids.scalars)
        }
        #expect(results[0].0 == results[1].0, "students identical on every rank")
        #expect(results[0].1 == results[1].1, "queues identical on every rank")
    }
}

extension PretrainerTests {
    @Test func wholeStepGradientsMatchFiniteDifferences() throws {
        // The gradient of the full CrIBo loss (d + s + nn at epoch 1) w.r.t. student parameters, through heads, pooled
        // centroids and the backbone, against central differences of the same step (teacher, clusters, neighbours
        // and DropPath fixed: rate 0; queue and centers not updated between evaluations). The bottleneck bias is left
        // out: at this width ‖z‖ ≈ 1e-3 before the L2 normalisation, so the loss curves on the scale of the bias itself
        // and no step h is both linear and above float noise (checked separately by the head's golden and FD tests).
        var configuration = tinyConfiguration()
        configuration.dropPathRate = 0
        let trainer = tinyPretrainer(configuration, communicator: SingleProcessCommunicator(), output: trainingFolder("fd"))
        let step = trainer.step, student = step.model.student
        let batch = syntheticBatch(indices: [0, 1])
        func loss() throws -> Double {
            Double(try step.forwardBackward(batch, epoch: 1, iteration: 5, schedules: trainer.schedules, updatesState: false).loss)
        }
        let base = try loss()
        #expect(base.isFinite)
        let analytic = step.model.gradients.storage.scalars
        var rng = SplitMix64(seed: 3)
        let keys = ["backbone.cls_token", "backbone.pos_embed", "backbone.patch_embed.proj.weight", "backbone.blocks.0.attn.qkv.weight",
                    "backbone.blocks.1.mlp.fc2.weight", "backbone.norm.weight", "head.mlp.0.weight", "head.mlp.4.weight",
                    "head.last_layer.weight_v", "head.last_layer_c.weight_v", "head.last_layer_c.weight_g"]
        let h: Float = 2e-3
        for key in keys {
            let slot = student.index(of: key)!
            for _ in 0..<3 {
                let j = rng.nextInt(below: student.slots[slot].count)
                let p = student.buffer(slot: slot)
                let original = p[j]
                p[j] = original + h
                let plus = try loss()
                p[j] = original - h
                let minus = try loss()
                p[j] = original
                let numeric = (plus - minus) / Double(2 * h)
                let value = Double(analytic[student.offsets[slot] + j])
                #expect(abs(numeric - value) <= 2e-3 + 3e-2 * abs(numeric), "\(key)[\(j)]: numeric \(numeric) vs analytic \(value)")
            }
        }
    }
}
