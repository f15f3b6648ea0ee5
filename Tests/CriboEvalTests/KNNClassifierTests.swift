// SPDX-License-Identifier: Apache-2.0
// DINO's weighted k-NN classifier against a re-run of eval_knn.knn_classifier (k 20, T 0.07), and a hand case.

import CriboEval
import CriboTensor
import CriboTestSupport
import Testing

@Suite struct KNNClassifierTests {}

extension KNNClassifierTests {
    @Test func handCheckedVotes() {
        // Training rows (1,0) class 0, (0,1) class 1, (1,1) class 1; query (2, 0) → cosines 1, 0, 1/√2.
        // K = 2 takes rows 0 and 2: votes = [e^(1/T), e^(0.7071/T)], class 0 first.
        let features = Tensor(shape: [3, 2], values: [1, 0, 0, 1, 1, 1])
        var classifier = KNNClassifier(features: features, labels: [0, 1, 1], classCount: 2)
        classifier.neighbourCount = 2
        classifier.temperature = 0.5
        let votes = classifier.votes(features: Tensor(shape: [1, 2], values: [2, 0]))
        #expect(abs(votes[0] - 7.389056) < 1e-5)
        #expect(abs(votes[1] - 4.1133) < 1e-3)
        #expect(classifier.accuracy(features: Tensor(shape: [1, 2], values: [2, 0]), labels: [0]).top1 == 100)
    }

    @Test func matchesDINOKNNClassifier() throws {
        let g = try golden("eval.safetensors")
        let classifier = KNNClassifier(features: try g.tensor("cls.train_features"),
                                       labels: try g.integers("cls.train_labels").map { Int32($0) }, classCount: 10)
        let test = try g.tensor("cls.test_features")
        let labels = try g.integers("cls.test_labels").map { Int32($0) }
        // exp(cos/0.07) of cosines ≤ 1: up to e^14.3 ≈ 1.6e6, so a relative tolerance.
        expectClose(Tensor(shape: [60, 10], values: classifier.votes(features: test)), try g.tensor("cls.votes"),
                    atol: 1e-3, rtol: 1e-5, "votes")
        let accuracy = classifier.accuracy(features: test, labels: labels)
        #expect(accuracy.top1 == (try g.doubles("cls.top1"))[0])
        #expect(accuracy.top5 == (try g.doubles("cls.top5"))[0])
        #expect(accuracy.count == 60)
    }
}
