// SPDX-License-Identifier: Apache-2.0
// The linear segmentation probe on frozen patch tokens (spec §9.2, mmseg FCNHead with num_convs=0): one D → C
// linear layer (a 1×1 conv) on the h×w token map, logits bilinearly resized to the label size, pixel
// cross-entropy with an ignore index, and the full backward of the layer through the resize.
// Legend: B images per batch, h×w patch grid, H×W label size, D dimension, C classes.

import CriboNN
import CriboTensor
import Foundation

/// How the probe is optimised.
///
/// Concretely (mmseg's linear-probe settings, spec §9.2): Adam (β 0.9/0.999, eps 1e-8) with L2 weight decay added
/// to the gradient of every parameter (torch.optim.Adam(weight_decay=…), not decoupled), and a poly schedule
/// lr(t) = (lr₀ − lr_min)·(1 − t/T)^power + lr_min with lr_min = lr₀·finalLearningRateRatio, for T steps of
/// `batchSize` images drawn without replacement from per-epoch permutations. No augmentation (the tokens are
/// precomputed). The loss is the mean over the batch's non-ignored pixels (F.cross_entropy with ignore_index; mmseg's
/// default avg_non_ignore=False divides by all pixels instead, a rescaling Adam almost cancels).
package struct LinearProbeConfiguration: Equatable, Sendable {
    /// lr₀ (mmseg eval_launcher: 0.01).
    package var learningRate: Float = 0.01
    /// L2 coefficient (0.01).
    package var weightDecay: Float = 0.01
    /// lr_min / lr₀ (mmseg PolyLR eta_min = lr/10).
    package var finalLearningRateRatio: Float = 0.1
    /// Poly power (0.9).
    package var power: Float = 0.9
    /// T, optimiser steps (mmseg: 80k for VOC; the default here is a short probe).
    package var steps = 4000
    /// Images per step (mmseg: 4 per GPU).
    package var batchSize = 4
    /// Label id excluded from the loss and the metric (255).
    package var ignoreIndex = 255
    /// Seed of the initial weights and of the batch order.
    package var seed: UInt64 = 0

    /// The default settings.
    package init() {}
}

/// A linear classifier of patch tokens trained against dense labels.
package final class LinearProbe {
    /// D.
    package let featureDimension: Int
    /// C.
    package let classCount: Int
    /// The optimisation settings.
    package let configuration: LinearProbeConfiguration
    /// "conv_seg.weight" [C, D] (mmseg's [C, D, 1, 1] without the unit axes) and "conv_seg.bias" [C].
    package let parameters: ParameterArena
    /// The gradients of the last `lossAndGradients`, same layout.
    package let gradients: ParameterArena
    /// Adam moments and step counts (used with weightDecay 0: the decay is the L2 term added in `step`).
    package let optimizer: AdamW
    /// Steps taken.
    package private(set) var stepCount = 0

    /// A probe with mmseg's initialisation: weight ~ Normal(0, 0.01) (truncated at ±2, which never binds), bias 0.
    package init(featureDimension: Int, classCount: Int, configuration: LinearProbeConfiguration = LinearProbeConfiguration()) {
        precondition(featureDimension > 0 && classCount > 0, "LinearProbe: dimension \(featureDimension), classes \(classCount)")
        self.featureDimension = featureDimension
        self.classCount = classCount
        self.configuration = configuration
        parameters = ParameterArena(slots: [
            ParameterSlot(key: "conv_seg.weight", shape: [classCount, featureDimension], initializer: .truncatedNormal(std: 0.01)),
            ParameterSlot(key: "conv_seg.bias", shape: [classCount], initializer: .constant(0)),
        ])
        parameters.initialize(seed: configuration.seed)
        gradients = ParameterArena(like: parameters)
        optimizer = AdamW(like: parameters)
    }

    /// [C, D].
    package var weight: UnsafeMutablePointer<Float> { parameters.pointer("conv_seg.weight") }
    /// [C].
    package var bias: UnsafeMutablePointer<Float> { parameters.pointer("conv_seg.bias") }

    /// The poly learning rate of step t (see `LinearProbeConfiguration`).
    package func learningRate(at step: Int) -> Float {
        let c = configuration
        let minimum = c.learningRate * c.finalLearningRateRatio
        let progress = 1 - Double(min(step, c.steps)) / Double(c.steps)
        return (c.learningRate - minimum) * Float(pow(progress, Double(c.power))) + minimum
    }

    /// Patch logits: x·Wᵀ + b.
    /// - Parameters:
    ///   - output: [R, C].
    ///   - features: [R, D].
    package func logits(output: UnsafeMutablePointer<Float>, features: UnsafePointer<Float>, rows R: Int) {
        linearForward(output: output, input: features, weight: weight, bias: bias, rows: R,
                      inFeatures: featureDimension, outFeatures: classCount)
    }

    /// The batch loss, with its gradients written to `gradients` (overwritten, not accumulated).
    ///
    /// Concretely: L = (1/|V|)·Σ_{pixels ∉ ignore} −log softmax(resize(x·Wᵀ + b))[label], V the non-ignored pixels of
    /// the batch; L = 0 with zero gradients when V is empty.
    /// - Parameters:
    ///   - features: [B, h·w, D].
    ///   - labels: [B, H, W] ids in 0..<C or the ignore index.
    package func lossAndGradients(
        features: UnsafePointer<Float>, labels: UnsafeBufferPointer<UInt8>, batch B: Int, gridHeight h: Int, gridWidth w: Int,
        labelHeight H: Int, labelWidth W: Int
    ) -> Float {
        let C = classCount
        let D = featureDimension
        let ignore = configuration.ignoreIndex
        precondition(labels.count == B * H * W, "LinearProbe: \(labels.count) labels for \(B)x\(H)x\(W)")
        gradients.zero()
        let valid = labels.reduce(0) { $0 + (Int($1) == ignore ? 0 : 1) }
        if valid == 0 { return 0 }
        let inverseValid = 1 / Float(valid)
        let patchLogits = Tensor(zeros: [h * w, C])
        let dPatchLogits = Tensor(zeros: [h * w, C])
        let pixelLogits = Tensor(zeros: [H * W, C])  // overwritten in place by dLoss/dPixelLogits
        var rowLosses = [Double](repeating: 0, count: H)
        var total = 0.0
        for b in 0..<B {
            let x = features + b * h * w * D
            let y = labels.baseAddress! + b * H * W
            logits(output: patchLogits.pointer, features: x, rows: h * w)
            bilinearResize(output: pixelLogits.pointer, input: patchLogits.pointer, channels: C, inputHeight: h,
                           inputWidth: w, outputHeight: H, outputWidth: W)
            let z = pixelLogits.pointer
            rowLosses.withUnsafeMutableBufferPointer { rowLosses in
                let lossBase = rowLosses.baseAddress!
                ComputeThreads.parallelFor(H) { rows in
                    for row in rows {
                        var sum = 0.0
                        for pixel in (row * W)..<((row + 1) * W) {
                            sum += Double(softmaxCrossEntropyGradient(z + pixel * C, label: Int(y[pixel]), ignore: ignore,
                                                                      classes: C, scale: inverseValid))
                        }
                        lossBase[row] = sum
                    }
                }
            }
            total += rowLosses.reduce(0, +)
            dPatchLogits.zero()
            bilinearResizeBackward(dInput: dPatchLogits.pointer, dOutput: z, channels: C, inputHeight: h, inputWidth: w,
                                   outputHeight: H, outputWidth: W)
            linearBackward(dInput: nil, dWeight: gradients.pointer("conv_seg.weight"), dBias: gradients.pointer("conv_seg.bias"),
                           dOutput: dPatchLogits.pointer, input: x, weight: weight, rows: h * w, inFeatures: D, outFeatures: C)
        }
        return Float(total / Double(valid))
    }

    /// One optimiser step on a batch: `lossAndGradients`, L2 decay added to the gradients, then Adam at the poly
    /// learning rate of the current step. Returns the batch loss before the update.
    package func step(
        features: UnsafePointer<Float>, labels: UnsafeBufferPointer<UInt8>, batch B: Int, gridHeight h: Int, gridWidth w: Int,
        labelHeight H: Int, labelWidth W: Int
    ) -> Float {
        let loss = lossAndGradients(features: features, labels: labels, batch: B, gridHeight: h, gridWidth: w,
                                    labelHeight: H, labelWidth: W)
        let decay = configuration.weightDecay
        let g = gradients.storage.pointer
        let p = parameters.storage.pointer
        for i in 0..<parameters.storage.count { g[i] += decay * p[i] }
        optimizer.step(parameters: parameters, gradients: gradients, learningRate: learningRate(at: stepCount), weightDecay: 0)
        stepCount += 1
        return loss
    }
}

/// In place: logits z of one pixel → (softmax(z) − onehot(label))·scale; returns −log softmax(z)[label] (0 and a zero
/// gradient for the ignore index).
@inline(__always)
private func softmaxCrossEntropyGradient(
    _ z: UnsafeMutablePointer<Float>, label: Int, ignore: Int, classes C: Int, scale: Float
) -> Float {
    if label == ignore {
        z.update(repeating: 0, count: C)
        return 0
    }
    precondition(label < C, "LinearProbe: label \(label) outside 0..<\(C)")
    var maximum = -Float.infinity
    for c in 0..<C { maximum = max(maximum, z[c]) }
    let shiftedTarget = z[label] - maximum
    var sum: Float = 0
    for c in 0..<C {
        z[c] = exp(z[c] - maximum)
        sum += z[c]
    }
    let loss = log(sum) - shiftedTarget
    let inverse = scale / sum
    for c in 0..<C { z[c] *= inverse }
    z[label] -= scale
    return loss
}
