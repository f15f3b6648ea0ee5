// SPDX-License-Identifier: Apache-2.0
// The linear classifier on [CLS] against make_classifier_golden.py's run of DINO eval_linear's loop (nn.Linear,
// CrossEntropyLoss, SGD with momentum and weight decay, CosineAnnealingLR per epoch) on the same batches, and its
// top-1/top-5 counting.

import CriboEval
import CriboTensor
import CriboTestSupport
import Testing

@Suite struct LinearClassifierTests {}

extension LinearClassifierTests {
    @Test func matchesTorchSGDWithCosineAnnealing() throws {
        let g = try golden("classifier.safetensors")
        let (N, D, C) = (40, 8, 5)
        var configuration = LinearClassifierConfiguration()
        configuration.epochs = 3
        configuration.batchSize = 16
        configuration.baseLearningRate = 0.05
        configuration.weightDecay = 1e-3
        let classifier = LinearClassifier(featureDimension: D, classCount: C, configuration: configuration)
        classifier.weight = try g.tensor("weight0").scalars
        let features = try g.tensor("features")
        let labels = try g.integers("labels").map { Int32($0) }
        let order = try g.integers("order").map { Int($0) }
        // The learning rate of each epoch, from CosineAnnealingLR.
        let lrs = try g.tensor("lrs").scalars
        for epoch in 0..<3 { #expect(abs(configuration.learningRate(epoch: epoch) - lrs[epoch]) <= 1e-7 * lrs[0], "epoch \(epoch)") }
        let losses = withExtendedLifetime(features) {
            classifier.train(features: features.pointer, labels: labels, rows: N) { Array(order[($0 * N)..<(($0 + 1) * N)]) }
        }
        // Float32 GEMMs and softmax on both sides (cribo's exp is within 2.5e-7 of exp), 9 SGD steps.
        let expectedLosses = try g.tensor("losses").scalars
        for epoch in 0..<3 { #expect(abs(losses[epoch] - expectedLosses[epoch]) <= 1e-5, "loss of epoch \(epoch): \(losses[epoch]) vs \(expectedLosses[epoch])") }
        classifier.weight.withUnsafeBufferPointer { expectClose($0, try! g.tensor("weight"), atol: 1e-6, rtol: 1e-5, "weight") }
        classifier.bias.withUnsafeBufferPointer { expectClose($0, try! g.tensor("bias"), atol: 1e-6, rtol: 1e-5, "bias") }
        let heldOut = try g.tensor("held_out")
        let logits = withExtendedLifetime(heldOut) { classifier.logits(features: heldOut.pointer, rows: 6) }
        logits.withUnsafeBufferPointer { expectClose($0, try! g.tensor("logits"), atol: 1e-5, rtol: 1e-5, "held-out logits") }
        // Training moved the weights (they started at N(0, 0.01)) and lowered the loss.
        #expect(losses[2] < losses[0])
    }

    @Test func topKCountsTiesForTheLowerClass() {
        // Identity weights on 3 classes: the logits are the features. Row 0 → class 0 (hit); row 1 ties classes 0 and 2
        // with truth 2: class 0 wins the tie, so top-1 misses and top-5 hits; row 2 → class 1 (hit).
        var configuration = LinearClassifierConfiguration()
        configuration.epochs = 1
        let classifier = LinearClassifier(featureDimension: 3, classCount: 3, configuration: configuration)
        classifier.weight = [1, 0, 0, 0, 1, 0, 0, 0, 1]
        let features: [Float] = [3, 1, 0, 2, 0, 2, 0, 5, 1]
        let accuracy = classifier.accuracy(features: features, labels: [0, 2, 1], rows: 3)
        #expect(abs(accuracy.top1 - 200.0 / 3) < 1e-9 && accuracy.top5 == 100)
    }

    @Test func epochOrderIsASeededPermutation() {
        let classifier = LinearClassifier(featureDimension: 2, classCount: 2, configuration: LinearClassifierConfiguration())
        let a = classifier.epochOrder(epoch: 0, rows: 100), b = classifier.epochOrder(epoch: 1, rows: 100)
        #expect(a.sorted() == Array(0..<100) && b.sorted() == Array(0..<100) && a != b)
        #expect(a == classifier.epochOrder(epoch: 0, rows: 100))
    }
}
