// SPDX-License-Identifier: Apache-2.0
// The workloads of the engine benchmark: raw GEMM, ViT inference, and a DINO training step (student forward and
// backward with DropPath, teacher forward, DINO cross-entropy between views, AdamW, EMA) — the same step the
// PyTorch reference (Benchmarks/reference/engine_torch.py) times.

import CriboNN
import CriboTensor
import Foundation

/// A model configuration of the benchmark.
struct BenchModel {
    let name: String
    let backbone: ViTConfiguration
    let head: DINOHeadConfiguration
    let batch: Int

    static func named(_ name: String) -> BenchModel? {
        switch name {
        case "vit_small":
            return BenchModel(name: "vit_small/16 224px b8", backbone: .vitSmall(),
                              head: DINOHeadConfiguration(inputDimension: 384, centroidOutputDimension: 0), batch: 8)
        case "vit_tiny":
            return BenchModel(name: "vit_tiny/16 224px b8", backbone: .vitTiny(),
                              head: DINOHeadConfiguration(inputDimension: 192, centroidOutputDimension: 0), batch: 8)
        case "demo":
            return BenchModel(
                name: "demo/8 64px b16",
                backbone: ViTConfiguration(imageSize: 64, patchSize: 8, embeddingDimension: 96, depth: 4, headCount: 3),
                head: DINOHeadConfiguration(inputDimension: 96, hiddenDimension: 512, bottleneckDimension: 128, outputDimension: 4096,
                                            centroidOutputDimension: 0),
                batch: 16)
        default: return nil
        }
    }

    /// Forward FLOPs of one crop through the backbone (GEMMs and attention products only).
    var backboneForwardFlops: Double {
        let c = backbone
        let D = Double(c.embeddingDimension), F = Double(c.mlpHiddenDimension)
        let N = Double(c.gridSize * c.gridSize), T = N + 1
        let patch = 2 * N * Double(c.inChannels * c.patchSize * c.patchSize) * D
        let block = 2 * T * D * 3 * D + 2 * 2 * T * T * D + 2 * T * D * D + 2 * 2 * T * D * F
        return patch + Double(c.depth) * block
    }

    /// Forward FLOPs of one row through the head ([CLS] path).
    var headForwardFlops: Double {
        let h = head
        let I = Double(h.inputDimension), Hd = Double(h.hiddenDimension), B = Double(h.bottleneckDimension)
        return 2 * (I * Hd + Hd * Hd + Hd * B + B * Double(h.outputDimension))
    }

    /// FLOPs of one training step: student forward + backward (≈ 3× forward) and teacher forward on 2B crops.
    var trainingStepFlops: Double { Double(2 * batch) * 4 * (backboneForwardFlops + headForwardFlops) }
}

/// The state and buffers of a DINO training step for one model (allocated once, reused).
final class DINOStepWorkload {
    let model: BenchModel
    let student: VisionTransformer
    let head: DINOHead
    let studentParameters: ParameterArena
    let teacherParameters: ParameterArena
    let gradients: ParameterArena
    let optimizer: AdamW
    let studentActivations: ViTActivations
    let teacherActivations: ViTActivations
    let scratch: ViTGradientScratch
    let studentHead: HeadActivations
    let teacherHead: HeadActivations
    let images: Tensor
    let center: Tensor
    let weightScratch: Tensor
    let targets: Tensor, swapped: Tensor, dLogits: Tensor  // [crops, O]
    let dTokens: Tensor  // [crops, T, D]
    private var step = 0

    init(model: BenchModel) {
        self.model = model
        student = VisionTransformer(configuration: model.backbone, prefix: "backbone.")
        head = DINOHead(configuration: model.head, prefix: "head.")
        let slots = VisionTransformer.parameterSlots(for: model.backbone, prefix: "backbone.")
            + DINOHead.parameterSlots(for: model.head, prefix: "head.")
        studentParameters = ParameterArena(slots: slots)
        studentParameters.initialize(seed: 0)
        teacherParameters = ParameterArena(like: studentParameters)
        teacherParameters.assign(from: studentParameters)
        gradients = ParameterArena(like: studentParameters)
        optimizer = AdamW(like: studentParameters)
        let crops = 2 * model.batch
        let G = model.backbone.gridSize
        studentActivations = ViTActivations(configuration: model.backbone, batch: crops, gridHeight: G, gridWidth: G, isTraining: true)
        teacherActivations = ViTActivations(configuration: model.backbone, batch: crops, gridHeight: G, gridWidth: G, isTraining: false)
        scratch = ViTGradientScratch(configuration: model.backbone, batch: crops, gridHeight: G, gridWidth: G)
        studentHead = HeadActivations(configuration: model.head, rows: crops, path: .cls)
        teacherHead = HeadActivations(configuration: model.head, rows: crops, path: .cls)
        images = Tensor(zeros: [crops, 3, model.backbone.imageSize, model.backbone.imageSize])
        var rng = SplitMix64(seed: 7)
        for i in 0..<images.count { images[flat: i] = Float(rng.nextNormal()) }
        center = Tensor(zeros: [model.head.outputDimension])
        weightScratch = Tensor(zeros: [model.head.outputDimension, model.head.bottleneckDimension])
        targets = Tensor(zeros: [crops, model.head.outputDimension])
        swapped = Tensor(zeros: [crops, model.head.outputDimension])
        dLogits = Tensor(zeros: [crops, model.head.outputDimension])
        dTokens = Tensor(zeros: [crops, 1 + G * G, model.backbone.embeddingDimension])
    }

    /// [CLS] rows of the final-norm tokens: [crops, D].
    private func classTokens(_ activations: ViTActivations) -> Tensor {
        let (B, T, D) = (activations.batch, activations.tokenCount, model.backbone.embeddingDimension)
        let cls = Tensor(zeros: [B, D])
        for b in 0..<B { (cls.pointer + b * D).update(from: activations.output.pointer + b * T * D, count: D) }
        return cls
    }

    /// One full step; returns the loss.
    @discardableResult
    func run() -> Float {
        let B = model.batch, crops = 2 * B, O = model.head.outputDimension, D = model.backbone.embeddingDimension
        step += 1
        // Teacher: backbone + head, no grad; targets softmax((t − center)/0.04).
        student.forward(images: images, parameters: teacherParameters, activations: teacherActivations)
        let teacherCls = classTokens(teacherActivations)
        head.forward(input: teacherCls.pointer, parameters: teacherParameters, activations: teacherHead)
        softmaxForward(output: targets.pointer, input: teacherHead.output.pointer, shift: center.pointer, scale: 1 / 0.04, rows: crops, columns: O)
        // Student with DropPath 0.1.
        let keys = (0..<crops).map { SplitMix64.mix(UInt64(step), UInt64($0)) }
        student.forward(images: images, parameters: studentParameters, activations: studentActivations, dropPathRate: 0.1, dropPathKeys: keys)
        let studentCls = classTokens(studentActivations)
        head.forward(input: studentCls.pointer, parameters: studentParameters, activations: studentHead)
        // DINO loss: ½[mean_b H(T1, S2) + mean_b H(T2, S1)] — the student row of view v meets the teacher of the other view.
        (swapped.pointer).update(from: targets.pointer + B * O, count: B * O)
        (swapped.pointer + B * O).update(from: targets.pointer, count: B * O)
        let losses = Tensor(zeros: [crops])
        dLogits.zero()
        let weights = Tensor(shape: [crops], repeating: 0.5 / Float(B))
        crossEntropy(loss: losses.pointer, dLogits: dLogits.pointer, target: swapped.pointer, logits: studentHead.output.pointer,
            temperature: 0.1, rowWeights: weights.pointer, rows: crops, columns: O)
        gradients.zero()
        let dCls = Tensor(zeros: [crops, D])
        head.backward(dOutput: dLogits.pointer, dInput: dCls.pointer, parameters: studentParameters, gradients: gradients,
            activations: studentHead, dWeightScratch: weightScratch)
        let T = studentActivations.tokenCount
        dTokens.zero()
        for b in 0..<crops { (dTokens.pointer + b * T * D).update(from: dCls.pointer + b * D, count: D) }
        student.backward(dOutput: dTokens, parameters: studentParameters, gradients: gradients, activations: studentActivations, scratch: scratch)
        optimizer.step(parameters: studentParameters, gradients: gradients, learningRate: 5e-4, weightDecay: 0.04)
        updateTeacher(teacherParameters, student: studentParameters, momentum: 0.996)
        // Center update (momentum 0.9) from the teacher outputs.
        for o in 0..<O {
            var sum: Float = 0
            for r in 0..<crops { sum += teacherHead.output[flat: r * O + o] }
            center[flat: o] = center[flat: o] * 0.9 + sum / Float(crops) * 0.1
        }
        return losses.scalars.reduce(0, +) * 0.5 / Float(B)
    }
}
