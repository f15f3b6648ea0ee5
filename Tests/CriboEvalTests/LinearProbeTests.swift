// SPDX-License-Identifier: Apache-2.0
// The linear segmentation probe: logits, loss and gradients through the bilinear resize, and five Adam steps with
// L2 decay and the poly schedule against PyTorch; a finite-difference check; the batch order; a toy problem.

import CriboEval
import CriboTensor
import CriboTestSupport
import Testing

@Suite struct LinearProbeTests {}

/// Float32 forward/backward of a 4×5×8 → 14×18 problem.
private let gradientTolerance: Float = 1e-6
/// Five Adam steps (each moves a parameter by ≈ lr = 0.01 whatever the gradient's size).
private let parameterTolerance: Float = 1e-5

private func goldenConfiguration() -> LinearProbeConfiguration {
    var configuration = LinearProbeConfiguration()
    configuration.learningRate = 0.01
    configuration.weightDecay = 0.01
    configuration.steps = 5
    configuration.finalLearningRateRatio = 0.1
    configuration.power = 0.9
    configuration.batchSize = 2
    return configuration
}

extension LinearProbeTests {
    @Test func matchesTorchAdamWithPolySchedule() throws {
        let g = try golden("eval.safetensors")
        let (h, w, D, C, H, W) = (4, 5, 8, 4, 14, 18)
        let probe = LinearProbe(featureDimension: D, classCount: C, configuration: goldenConfiguration())
        let weight0 = try g.tensor("probe.weight0")
        let bias0 = try g.tensor("probe.bias0")
        probe.weight.update(from: weight0.pointer, count: C * D)
        probe.bias.update(from: bias0.pointer, count: C)
        let features = try g.tensor("probe.features")  // [6, 4, 5, 8]
        let labels = try g.integers("probe.labels").map { UInt8($0) }  // [6, 14, 18]
        let batches = try g.integers("probe.batches").map { Int($0) }  // [5, 2]
        let losses = try g.tensor("probe.losses")
        let batchFeatures = Tensor(zeros: [2, h * w, D])
        var batchLabels = [UInt8](repeating: 0, count: 2 * H * W)
        for t in 0..<5 {
            for slot in 0..<2 {
                let image = batches[t * 2 + slot]
                (batchFeatures.pointer + slot * h * w * D).update(from: features.pointer + image * h * w * D, count: h * w * D)
                for i in 0..<(H * W) { batchLabels[slot * H * W + i] = labels[image * H * W + i] }
            }
            if t == 0 {
                let logits = Tensor(zeros: [2, h, w, C])
                probe.logits(output: logits.pointer, features: batchFeatures.pointer, rows: 2 * h * w)
                expectClose(logits, try g.tensor("probe.logits0"), atol: gradientTolerance, rtol: 0, "logits at step 0")
                let loss = batchLabels.withUnsafeBufferPointer {
                    probe.lossAndGradients(features: batchFeatures.pointer, labels: $0, batch: 2, gridHeight: h, gridWidth: w,
                                           labelHeight: H, labelWidth: W)
                }
                #expect(abs(loss - losses[flat: 0]) < gradientTolerance)
                expectClose(UnsafeBufferPointer(start: probe.gradients.pointer("conv_seg.weight"), count: C * D),
                            try g.tensor("probe.dweight0"), atol: gradientTolerance, rtol: 0, "dWeight at step 0")
                expectClose(UnsafeBufferPointer(start: probe.gradients.pointer("conv_seg.bias"), count: C),
                            try g.tensor("probe.dbias0"), atol: gradientTolerance, rtol: 0, "dBias at step 0")
            }
            let loss = batchLabels.withUnsafeBufferPointer {
                probe.step(features: batchFeatures.pointer, labels: $0, batch: 2, gridHeight: h, gridWidth: w,
                           labelHeight: H, labelWidth: W)
            }
            #expect(abs(loss - losses[flat: t]) < parameterTolerance, "loss of step \(t): \(loss) vs \(losses[flat: t])")
        }
        expectClose(UnsafeBufferPointer(start: probe.weight, count: C * D), try g.tensor("probe.weight"),
                    atol: parameterTolerance, rtol: 0, "weight after 5 steps")
        expectClose(UnsafeBufferPointer(start: probe.bias, count: C), try g.tensor("probe.bias"),
                    atol: parameterTolerance, rtol: 0, "bias after 5 steps")
    }

    @Test func gradientsMatchFiniteDifferences() {
        let (h, w, D, C, H, W) = (3, 4, 5, 3, 10, 9)
        var configuration = LinearProbeConfiguration()
        configuration.seed = 4
        let probe = LinearProbe(featureDimension: D, classCount: C, configuration: configuration)
        let scaled = randomTensor([C * D + C], seed: 8, scale: 0.5)
        probe.weight.update(from: scaled.pointer, count: C * D)
        probe.bias.update(from: scaled.pointer + C * D, count: C)
        let features = randomTensor([2, h * w, D], seed: 9)
        var rng = SplitMix64(seed: 10)
        let labels = (0..<(2 * H * W)).map { _ in rng.nextUniform() < 0.15 ? UInt8(255) : UInt8(rng.nextInt(below: C)) }
        let lossOf = {
            labels.withUnsafeBufferPointer {
                probe.lossAndGradients(features: features.pointer, labels: $0, batch: 2, gridHeight: h, gridWidth: w,
                                       labelHeight: H, labelWidth: W)
            }
        }
        _ = lossOf()
        let weightGradient = Tensor(shape: [C, D], values: Array(UnsafeBufferPointer(start: probe.gradients.pointer("conv_seg.weight"), count: C * D)))
        let weight = Tensor(shape: [C, D], values: Array(UnsafeBufferPointer(start: probe.weight, count: C * D)))
        let mismatch = gradientCheck(input: weight, analytic: weightGradient, h: 1e-2, atol: 1e-3, rtol: 1e-2) {
            probe.weight.update(from: weight.pointer, count: C * D)
            return Double(lossOf())
        }
        #expect(mismatch == nil, "\(mismatch ?? "")")
    }

    @Test func batchesWalkSeededPermutations() {
        var configuration = LinearProbeConfiguration()
        configuration.batchSize = 4
        configuration.seed = 12
        let probe = LinearProbe(featureDimension: 2, classCount: 2, configuration: configuration)
        let stream = (0..<3).flatMap { probe.batchImages(step: $0, imageCount: 6) }
        #expect(stream[0..<6].sorted() == Array(0..<6), "epoch 0 is a permutation")
        #expect(stream[6..<12].sorted() == Array(0..<6), "epoch 1 is a permutation")
        #expect(Array(stream[0..<6]) != Array(stream[6..<12]), "epochs are shuffled differently")
        #expect(probe.batchImages(step: 1, imageCount: 6) == Array(stream[4..<8]))
        #expect(probe.learningRate(at: 0) == 0.01)
        #expect(abs(probe.learningRate(at: 4000) - 0.001) < 1e-9)
    }

    @Test func learnsASeparableToyProblem() {
        // Each patch's token is the embedding of its class plus noise; the label map is the patch class upsampled
        // ×4. A trained probe should label almost every pixel right (boundaries blur under the bilinear resize).
        let (n, h, w, D, C, p) = (8, 4, 4, 6, 3, 4)
        var rng = SplitMix64(seed: 77)
        let embedding = (0..<(C * D)).map { _ in Float(rng.nextNormal()) }
        let features = Tensor(zeros: [n, h * w, D])
        var labels = [UInt8](repeating: 0, count: n * h * p * w * p)
        for image in 0..<n {
            for patch in 0..<(h * w) {
                let c = rng.nextInt(below: C)
                for d in 0..<D { features[flat: (image * h * w + patch) * D + d] = embedding[c * D + d] + Float(rng.nextNormal()) * 0.1 }
                for y in 0..<p { for x in 0..<p { labels[image * h * w * p * p + ((patch / w) * p + y) * w * p + (patch % w) * p + x] = UInt8(c) } }
            }
        }
        var configuration = LinearProbeConfiguration()
        configuration.steps = 150
        configuration.learningRate = 0.05
        let probe = LinearProbe(featureDimension: D, classCount: C, configuration: configuration)
        let losses = labels.withUnsafeBufferPointer {
            probe.train(features: features.pointer, labels: $0, imageCount: n, gridHeight: h, gridWidth: w,
                        labelHeight: h * p, labelWidth: w * p)
        }
        #expect(losses.count == 150 && losses.last! < losses.first! / 2, "loss \(losses.first!) → \(losses.last!)")
        let predictions = probe.predict(features: features.pointer, imageCount: n, gridHeight: h, gridWidth: w,
                                        outputHeight: h * p, outputWidth: w * p)
        var matrix = ConfusionMatrix(classCount: C, ignoreIndex: 255)
        matrix.add(groundTruth: labels, prediction: predictions)
        #expect(matrix.scores(variant: .clean).pixelAccuracy > 0.8)
    }
}
