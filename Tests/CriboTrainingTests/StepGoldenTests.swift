// SPDX-License-Identifier: Apache-2.0
// One full CrIBo training step of a tiny model against the official step re-typed in PyTorch (cribo_step.safetensors,
// written by Tests/CriboTestSupport/Golden/make_step_golden.py from Benchmarks/reference/cribo_torch.py): the three
// losses, the region count and masks, every student gradient, then the student after clipping and AdamW, the EMA
// teacher, both centers and the queue after its update.

import CriboData
import CriboDistributed
import CriboNN
import CriboTensor
import CriboTestSupport
import CriboTraining
import Testing

@Suite struct StepGoldenTests {}

/// The golden's configuration (make_step_golden.py's CFG) and a step loaded with its inputs.
struct StepGoldenCase {
    let file: TensorFile
    let step: CriboStep
    let batch: TwoViewBatch
    let seeds: [Int]
    let schedules: PretrainSchedules
    let epoch: Int, iteration: Int

    static var configuration: PretrainConfiguration {
        var c = PretrainConfiguration(
            backbone: ViTConfiguration(imageSize: 16, patchSize: 4, embeddingDimension: 16, depth: 2, headCount: 2),
            head: DINOHeadConfiguration(inputDimension: 16, hiddenDimension: 32, bottleneckDimension: 8, outputDimension: 24,
                                        centroidOutputDimension: 20, normLastLayer: false))
        c.dropPathRate = 0
        c.clusters = 3
        c.queueSize = 8
        c.epochs = 4
        c.batchSizePerRank = 2
        c.learningRate = 0.4
        c.minimumLearningRate = 1e-3
        c.warmupEpochs = 1
        c.momentumTeacher = 0.9
        c.warmupTeacherTemperatureEpochs = 3
        c.positionAlpha = [1.0, 3.0]
        c.clipGradient = 0.3
        c.freezeLastLayerEpochs = 1
        return c
    }

    init() throws {
        file = try golden("cribo_step.safetensors")
        let configuration = Self.configuration
        let model = CriboModel(configuration: configuration)
        for (arena, prefix) in [(model.student, "init.student."), (model.teacher, "init.teacher.")] {
            for (i, slot) in arena.slots.enumerated() {
                let values = try file.tensor(prefix + slot.key)
                #expect(values.count == slot.shape.reduce(1, *), "\(slot.key): \(values.shape) vs \(slot.shape)")
                _ = arena.buffer(slot: i).update(fromContentsOf: values.buffer)
            }
        }
        step = CriboStep(configuration: configuration, model: model, communicator: SingleProcessCommunicator())
        step.queue.restore(centroids: try file.tensor("queue.centroids"), centroidsPerImage: try file.integers("queue.cpv").map { Int($0) },
                           classTokens: try file.tensor("queue.cls"))
        step.loss.center.assign(from: try file.tensor("center"))
        step.loss.centroidCenter.assign(from: try file.tensor("center_c"))
        batch = TwoViewBatch(sampleIndices: [0, 1], images: try file.tensor("images"), positions: try file.tensor("positions"))
        seeds = try file.integers("seeds").map { Int($0) }
        epoch = Int(file.metadata["epoch"] ?? "") ?? -1
        iteration = Int(file.metadata["iteration"] ?? "") ?? -1
        schedules = PretrainSchedules(configuration: configuration, iterationsPerEpoch: Int(file.metadata["iterations_per_epoch"] ?? "") ?? 0,
                                      worldSize: 1)
    }
}

extension StepGoldenTests {
    @Test func lossesAndEveryGradientMatchTheOfficialStep() throws {
        let c = try StepGoldenCase()
        let stats = try c.step.forwardBackward(c.batch, epoch: c.epoch, iteration: c.iteration, schedules: c.schedules,
                                               updatesState: true, seeds: c.seeds)
        let losses = try c.file.tensor("losses")
        expectClose(Tensor(shape: [3], values: [stats.globalLoss, stats.objectLoss, stats.neighbourLoss]), losses,
                    atol: 1e-6, rtol: 2e-5, "d_loss, s_loss, nn_loss")
        #expect(stats.neighbourLoss > 0, "epoch 1: the neighbour loss is on")
        #expect(stats.regionCount == (try c.file.tensor("r_cnt")).scalars[0])
        let mask1 = try c.file.integers("mask1")
        #expect(stats.bootstrapRatio == Float(mask1.filter { $0 != 0 }.count) / Float(mask1.count))
        var compared = 0
        for (i, slot) in c.step.model.gradients.slots.enumerated() where slot.isTrainable {
            let expected = try c.file.tensor("grad." + slot.key)
            expectClose(UnsafeBufferPointer(c.step.model.gradients.buffer(slot: i)), expected, atol: 2e-6, rtol: 1e-4, "grad " + slot.key)
            compared += 1
        }
        #expect(compared == c.step.model.gradients.slots.count, "norm_last_layer off: every parameter trains, g included")
        expectClose(c.step.loss.center, try c.file.tensor("after.center"), atol: 1e-6, rtol: 1e-5, "center")
        expectClose(c.step.loss.centroidCenter, try c.file.tensor("after.center_c"), atol: 1e-6, rtol: 1e-5, "center_c")
        #expect(c.step.queue.centroidsPerImage == (try c.file.integers("after.queue.cpv")).map { Int($0) })
        expectClose(c.step.queue.centroids, try c.file.tensor("after.queue.centroids"), atol: 1e-6, rtol: 1e-5, "queue after update")
        expectClose(c.step.queue.classTokens, try c.file.tensor("after.queue.cls"), atol: 1e-6, rtol: 1e-5, "[CLS] queue after update")
    }

    @Test func theUpdateMatchesClippingAdamWAndTheEMATeacher() throws {
        let c = try StepGoldenCase()
        let stats = try c.step.run(c.batch, epoch: c.epoch, iteration: c.iteration, schedules: c.schedules, seeds: c.seeds)
        #expect(abs(stats.learningRate - Double(c.file.metadata["lr"] ?? "")!) < 1e-12)
        #expect(abs(stats.weightDecay - Double(c.file.metadata["wd"] ?? "")!) < 1e-12)
        #expect(abs(stats.momentum - Double(c.file.metadata["momentum"] ?? "")!) < 1e-12)
        for (arena, prefix) in [(c.step.model.student, "after.student."), (c.step.model.teacher, "after.teacher.")] {
            for (i, slot) in arena.slots.enumerated() {
                // AdamW's first step moves every weight by about lr: compare the moves, not only the weights.
                let before = try c.file.tensor(prefix.replacingOccurrences(of: "after", with: "init") + slot.key)
                let expected = try c.file.tensor(prefix + slot.key)
                let actual = Tensor(shape: before.shape, values: Array(arena.buffer(slot: i)))
                var move = zip(actual.scalars, before.scalars).map { $0 - $1 }
                var expectedMove = zip(expected.scalars, before.scalars).map { $0 - $1 }
                if slot.key.hasSuffix("attn.qkv.bias") {
                    // The key bias has an exactly zero true gradient (softmax over keys ignores q·b_k); both sides
                    // hold rounding noise there, which AdamW's first step scales to ±lr. Bound it, compare the rest.
                    let C = before.count / 3
                    // The teacher's share of that noise is (1 − m)·(noise): the EMA itself is compared everywhere else.
                    let bound = Float(stats.learningRate) * 1.001
                    #expect(prefix.contains("teacher") || move[C..<(2 * C)].allSatisfy { abs($0) <= bound },
                            "\(prefix)\(slot.key): key-bias moves beyond lr")
                    for j in C..<(2 * C) { (move[j], expectedMove[j]) = (0, 0) }
                }
                expectClose(Tensor(shape: before.shape, values: move), Tensor(shape: before.shape, values: expectedMove),
                            atol: 1e-6, rtol: 1e-3, prefix + slot.key + " (change)")
            }
        }
    }
}
