// SPDX-License-Identifier: Apache-2.0
// A linear classifier on frozen [CLS] features: DINO eval_linear's LinearClassifier with n_last_blocks 1 (the final-norm
// [CLS], the one feature cribo-features stores), trained on features computed once instead of on augmented crops.
// logits = x·Wᵀ + b; softmax cross-entropy averaged over the batch; SGD with momentum (PyTorch semantics: dampening 0,
// the first step's buffer is the gradient, weight decay added to the gradient); learning rate base·B/256, annealed per
// epoch by CosineAnnealingLR to 0. W starts N(0, 0.01), b at 0. Legend: N rows, D width, C classes, B batch.
// reference: https://github.com/facebookresearch/dino/blob/main/eval_linear.py

import CriboNN
import CriboTensor
import Foundation

/// The training settings of the linear classifier (DINO eval_linear's defaults).
package struct LinearClassifierConfiguration: Equatable, Sendable {
    /// Passes over the training rows.
    package var epochs = 100
    /// Rows per step (DINO: 128 per GPU on 8 GPUs); the last batch of an epoch may be smaller.
    package var batchSize = 1024
    /// Learning rate per 256 rows.
    package var baseLearningRate: Float = 0.001
    /// SGD momentum.
    package var momentum: Float = 0.9
    /// L2 weight decay added to the gradient.
    package var weightDecay: Float = 0
    /// Seed of the initial weights and the per-epoch row order.
    package var seed: UInt64 = 0

    /// DINO's defaults.
    package init() {}

    /// The learning rate of the first epoch: base · B / 256.
    package var learningRate: Float { baseLearningRate * Float(batchSize) / 256 }

    /// CosineAnnealingLR(T_max = epochs, eta_min = 0) at `epoch`.
    package func learningRate(epoch: Int) -> Float {
        Float(Double(learningRate) * (1 + cos(Double.pi * Double(epoch) / Double(epochs))) / 2)
    }
}

/// A linear layer C × D with a bias, and its SGD state.
package final class LinearClassifier {
    /// D.
    package let featureDimension: Int
    /// C.
    package let classCount: Int
    /// The settings.
    package let configuration: LinearClassifierConfiguration
    /// [C, D].
    package var weight: [Float]
    /// [C].
    package var bias: [Float]
    private var weightMomentum: [Float]
    private var biasMomentum: [Float]

    /// W ~ N(0, 0.01) from the seed, b = 0.
    package init(featureDimension D: Int, classCount C: Int, configuration: LinearClassifierConfiguration) {
        precondition(D > 0 && C > 1, "LinearClassifier: dimension \(D), \(C) classes")
        featureDimension = D
        classCount = C
        self.configuration = configuration
        var rng = SplitMix64(seed: SplitMix64.mix(configuration.seed, 0x4C49_4E45))
        weight = (0..<(C * D)).map { _ in Float(rng.nextNormal() * 0.01) }
        bias = Array(repeating: 0, count: C)
        weightMomentum = Array(repeating: 0, count: C * D)
        biasMomentum = Array(repeating: 0, count: C)
    }

    /// [R, C] logits of R feature rows.
    package func logits(features: UnsafePointer<Float>, rows R: Int) -> [Float] {
        let (D, C) = (featureDimension, classCount)
        var output = [Float](repeating: 0, count: R * C)
        if R == 0 { return output }
        output.withUnsafeMutableBufferPointer { output in
            weight.withUnsafeBufferPointer { weight in
                gemm(transposeA: false, transposeB: true, m: R, n: C, k: D, a: features, lda: D, b: weight.baseAddress!, ldb: D,
                     c: output.baseAddress!, ldc: C)
            }
            for r in 0..<R { for c in 0..<C { output[r * C + c] += bias[c] } }
        }
        return output
    }

    /// One SGD step on the rows `batch` of `features`; returns the batch's mean cross-entropy.
    /// - Parameters:
    ///   - features: [N, D].
    ///   - labels: [N] classes.
    @discardableResult
    package func step(features: UnsafePointer<Float>, labels: [Int32], batch: [Int], learningRate lr: Float) -> Float {
        let (D, C, B) = (featureDimension, classCount, batch.count)
        let rows = Tensor(zeros: [B, D])
        for (k, row) in batch.enumerated() { (rows.pointer + k * D).update(from: features + row * D, count: D) }
        var probabilities = withExtendedLifetime(rows) { logits(features: rows.pointer, rows: B) }
        var loss = 0.0
        probabilities.withUnsafeMutableBufferPointer { p in
            softmaxForward(output: p.baseAddress!, input: p.baseAddress!, rows: B, columns: C)
            // d logits = (softmax − one-hot) / B, in place.
            for (k, row) in batch.enumerated() {
                let y = Int(labels[row])
                loss -= log(Double(max(p[k * C + y], .leastNonzeroMagnitude)))
                p[k * C + y] -= 1
            }
            for i in 0..<(B * C) { p[i] /= Float(B) }
        }
        var weightGradient = [Float](repeating: 0, count: C * D)
        var biasGradient = [Float](repeating: 0, count: C)
        withExtendedLifetime(rows) {
            probabilities.withUnsafeBufferPointer { d in
                weightGradient.withUnsafeMutableBufferPointer { g in
                    gemm(transposeA: true, transposeB: false, m: C, n: D, k: B, a: d.baseAddress!, lda: C, b: rows.pointer, ldb: D,
                         c: g.baseAddress!, ldc: D)
                }
                for k in 0..<B { for c in 0..<C { biasGradient[c] += d[k * C + c] } }
            }
        }
        let (momentum, decay) = (configuration.momentum, configuration.weightDecay)
        for i in 0..<(C * D) {
            let g = weightGradient[i] + decay * weight[i]
            weightMomentum[i] = momentum * weightMomentum[i] + g
            weight[i] -= lr * weightMomentum[i]
        }
        for c in 0..<C {
            let g = biasGradient[c] + decay * bias[c]
            biasMomentum[c] = momentum * biasMomentum[c] + g
            bias[c] -= lr * biasMomentum[c]
        }
        return Float(loss / Double(B))
    }

    /// The rows of epoch `epoch` in training order: a seeded permutation (DataLoader shuffle), batches in order.
    package func epochOrder(epoch: Int, rows N: Int) -> [Int] {
        var rng = SplitMix64(seed: SplitMix64.mix(configuration.seed, UInt64(epoch) &+ 1))
        var order = Array(0..<N)
        for i in stride(from: N - 1, to: 0, by: -1) { order.swapAt(i, rng.nextInt(below: i + 1)) }
        return order
    }

    /// Trains for `configuration.epochs`; returns each epoch's mean loss.
    /// - Parameters:
    ///   - order: the rows of each epoch in training order (default `epochOrder`).
    @discardableResult
    package func train(
        features: UnsafePointer<Float>, labels: [Int32], rows N: Int, order: ((Int) -> [Int])? = nil, log: (String) -> Void = { _ in }
    ) -> [Float] {
        precondition(labels.count == N && N > 0, "LinearClassifier.train: \(labels.count) labels for \(N) rows")
        var losses: [Float] = []
        for epoch in 0..<configuration.epochs {
            let rows = order?(epoch) ?? epochOrder(epoch: epoch, rows: N)
            let lr = configuration.learningRate(epoch: epoch)
            var total = 0.0
            for start in stride(from: 0, to: rows.count, by: configuration.batchSize) {
                let batch = Array(rows[start..<min(start + configuration.batchSize, rows.count)])
                total += Double(step(features: features, labels: labels, batch: batch, learningRate: lr)) * Double(batch.count)
            }
            losses.append(Float(total / Double(rows.count)))
            if epoch == 0 || (epoch + 1) % 10 == 0 || epoch + 1 == configuration.epochs {
                log(String(format: "epoch %d/%d: lr %.3g, loss %.4f", epoch + 1, configuration.epochs, lr, losses.last!))
            }
        }
        return losses
    }

    /// Top-1 and top-5 accuracy (%) of rows against their classes (ties go to the lower class id).
    package func accuracy(features: UnsafePointer<Float>, labels: [Int32], rows N: Int) -> (top1: Double, top5: Double) {
        let C = classCount
        var (hits1, hits5) = (0, 0)
        for start in stride(from: 0, to: N, by: 1024) {
            let R = min(1024, N - start)
            let scores = logits(features: features + start * featureDimension, rows: R)
            for r in 0..<R {
                let truth = Int(labels[start + r])
                let score = scores[r * C + truth]
                // The rank of the true class: classes scoring higher, or equal with a lower id.
                var better = 0
                for c in 0..<C where scores[r * C + c] > score || (scores[r * C + c] == score && c < truth) { better += 1 }
                if better == 0 { hits1 += 1 }
                if better < 5 { hits5 += 1 }
            }
        }
        return (Double(hits1) / Double(N) * 100, Double(hits5) / Double(N) * 100)
    }
}
