// SPDX-License-Identifier: Apache-2.0
// The test_gpt2.c-style end-to-end check: a tiny ViT (32×32, patch 8, D 32, 2 blocks, 4 heads) with a DINO head
// against timm + PyTorch — tokens, head outputs, loss and every parameter gradient at step 0, then the losses and
// weights after 5 AdamW steps with DINO's parameter groups.

import CriboNN
import CriboTensor
import CriboTestSupport
import Testing

/// A tiny ViT + DINO head trained on a fixed batch with the loss of the golden script:
/// mean_r H(target, head(cls)/0.1) + mean_r H(target_c, head_c(centroids)/0.1).
struct TinyDINOModel {
    let backbone = VisionTransformer(
        configuration: ViTConfiguration(imageSize: 32, patchSize: 8, embeddingDimension: 32, depth: 2, headCount: 4),
        prefix: "backbone.")
    let head = DINOHead(
        configuration: DINOHeadConfiguration(inputDimension: 32, hiddenDimension: 48, bottleneckDimension: 16, outputDimension: 40),
        prefix: "head.")
    let parameters: ParameterArena
    let gradients: ParameterArena
    let activations: ViTActivations
    let scratch: ViTGradientScratch
    let clsPass: HeadActivations
    let centroidPass: HeadActivations

    init() {
        parameters = ParameterArena(
            slots: VisionTransformer.parameterSlots(for: backbone.configuration, prefix: "backbone.")
                + DINOHead.parameterSlots(for: head.configuration, prefix: "head."))
        gradients = ParameterArena(like: parameters)
        activations = ViTActivations(configuration: backbone.configuration, batch: 4, gridHeight: 4, gridWidth: 4, isTraining: true)
        scratch = ViTGradientScratch(configuration: backbone.configuration, batch: 4, gridHeight: 4, gridWidth: 4)
        clsPass = HeadActivations(configuration: head.configuration, rows: 4, path: .cls)
        centroidPass = HeadActivations(configuration: head.configuration, rows: 3, path: .centroid)
    }

    /// Forward and backward on the fixed batch; returns the loss and leaves the gradients in `gradients`
    /// (zeroed first) and dL/d(centroids) in `dCentroids`.
    func step(images: Tensor, centroids: Tensor, target: Tensor, targetC: Tensor, dCentroids: Tensor) -> Float {
        gradients.zero()
        backbone.forward(images: images, parameters: parameters, activations: activations)
        let (B, T, D) = (4, 17, 32)
        let cls = Tensor(zeros: [B, D])
        for b in 0..<B { (cls.pointer + b * D).update(from: activations.output.pointer + b * T * D, count: D) }
        head.forward(input: cls.pointer, parameters: parameters, activations: clsPass)
        head.forward(input: centroids.pointer, parameters: parameters, activations: centroidPass)
        let losses = Tensor(zeros: [B]), lossesC = Tensor(zeros: [3])
        let dLogits = Tensor(zeros: [B, 40]), dLogitsC = Tensor(zeros: [3, 40])
        let weights = Tensor(shape: [B], repeating: 1.0 / Float(B)), weightsC = Tensor(shape: [3], repeating: 1.0 / 3)
        crossEntropy(loss: losses.pointer, dLogits: dLogits.pointer, target: target.pointer, logits: clsPass.output.pointer,
            temperature: 0.1, rowWeights: weights.pointer, rows: B, columns: 40)
        crossEntropy(loss: lossesC.pointer, dLogits: dLogitsC.pointer, target: targetC.pointer, logits: centroidPass.output.pointer,
            temperature: 0.1, rowWeights: weightsC.pointer, rows: 3, columns: 40)
        let scratchWeight = Tensor(zeros: [40, 16])
        let dCls = Tensor(zeros: [B, D])
        dCentroids.zero()
        head.backward(dOutput: dLogits.pointer, dInput: dCls.pointer, parameters: parameters, gradients: gradients,
            activations: clsPass, dWeightScratch: scratchWeight)
        head.backward(dOutput: dLogitsC.pointer, dInput: dCentroids.pointer, parameters: parameters, gradients: gradients,
            activations: centroidPass, dWeightScratch: scratchWeight)
        let dTokens = Tensor(zeros: [B, T, D])
        for b in 0..<B { (dTokens.pointer + b * T * D).update(from: dCls.pointer + b * D, count: D) }
        backbone.backward(dOutput: dTokens, parameters: parameters, gradients: gradients, activations: activations, scratch: scratch)
        return losses.scalars.reduce(0, +) / Float(B) + lossesC.scalars.reduce(0, +) / 3
    }
}

@Suite struct EndToEndGoldenTests {}

extension EndToEndGoldenTests {
    @Test func tinyViTWithHeadMatchesPyTorchForwardBackwardAndFiveAdamWSteps() throws {
        let g = try golden("vit_tiny_model.safetensors")
        let model = TinyDINOModel()
        try load(model.parameters, from: g)
        let images = try g.tensor("images"), centroids = try g.tensor("centroids")
        let target = try g.tensor("target"), targetC = try g.tensor("target_c")
        let dCentroids = Tensor(zeros: [3, 32])

        let loss = model.step(images: images, centroids: centroids, target: target, targetC: targetC, dCentroids: dCentroids)
        expectClose(model.activations.output, try g.tensor("tokens"), atol: 1e-5, rtol: forwardRelative, "tokens")
        expectClose(model.clsPass.output, try g.tensor("head_out"), atol: 1e-5, rtol: forwardRelative, "head_out")
        expectClose(model.centroidPass.output, try g.tensor("head_c_out"), atol: 1e-5, rtol: forwardRelative, "head_c_out")
        let expectedLoss = try g.tensor("loss")[flat: 0]
        #expect(abs(loss - expectedLoss) <= 1e-5 * expectedLoss, "loss \(loss) vs \(expectedLoss)")
        for (i, slot) in model.gradients.slots.enumerated() {
            expectClose(UnsafeBufferPointer(model.gradients.buffer(slot: i)), try g.tensor("grad." + slot.key),
                atol: gradientAbsolute, rtol: gradientRelative, "grad \(slot.key)")
        }
        expectClose(dCentroids, try g.tensor("grad.centroids"), atol: gradientAbsolute, rtol: gradientRelative, "grad centroids")

        // Five AdamW steps (lr 1e-3, wd 0.04 on DINO's regularised group): losses before each step and after the last.
        let expectedLosses = try g.tensor("losses")
        let optimizer = AdamW(like: model.parameters)
        var losses = [loss]
        for _ in 0..<5 {
            optimizer.step(parameters: model.parameters, gradients: model.gradients, learningRate: 1e-3, weightDecay: 0.04)
            losses.append(model.step(images: images, centroids: centroids, target: target, targetC: targetC, dCentroids: dCentroids))
        }
        // Adam normalises each update to ~lr per element, so float32 gradient noise moves weights by ≲ lr·1e-3;
        // after 5 steps losses agree to ~1e-5 relative and weights to ~1e-5 absolute.
        let trainedRelative: Float = 2e-5
        let trainedAbsolute: Float = 2e-5
        expectClose(Tensor(shape: [6], values: losses), expectedLosses, atol: 0, rtol: trainedRelative, "losses over 5 steps")
        for (i, slot) in model.parameters.slots.enumerated() {
            let final = UnsafeBufferPointer(model.parameters.buffer(slot: i))
            let expected = try g.tensor("final." + slot.key)
            guard slot.key.hasSuffix("attn.qkv.bias") else {
                expectClose(final, expected, atol: trainedAbsolute, rtol: trainedRelative, "final \(slot.key)")
                continue
            }
            // The key bias has an exactly zero gradient (softmax is invariant to q·b_k, constant along each row), so
            // both implementations step it by Adam-normalised float noise: compare q and v biases tightly, and
            // only bound the key bias by Adam's maximum travel, 5 steps · lr.
            let C = 32
            let initial = try g.tensor(slot.key)
            for j in 0..<(3 * C) {
                if j >= C && j < 2 * C {
                    #expect(abs(final[j] - initial[flat: j]) <= 5 * 1e-3 * 1.001, "key bias \(j) moved beyond 5·lr")
                } else {
                    #expect(abs(final[j] - expected[flat: j]) <= trainedAbsolute + trainedRelative * abs(expected[flat: j]),
                        "final \(slot.key)[\(j)]: \(final[j]) vs \(expected[flat: j])")
                }
            }
        }
    }
}
