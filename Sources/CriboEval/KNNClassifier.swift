// SPDX-License-Identifier: Apache-2.0
// DINO's weighted k-NN image classifier on L2-normalised [CLS] features: the K most similar training images vote
// for their class with weight exp(cos/T). Legend: N training images, D dimension, K neighbours.
// reference: https://github.com/facebookresearch/dino/blob/main/eval_knn.py (knn_classifier)

import CriboTensor
import Foundation

/// Top-1 and top-5 accuracy of a classifier, in percent.
package struct ClassificationAccuracy: Equatable, Sendable {
    /// Queries whose class ranks first, in percent.
    package var top1: Double
    /// Queries whose class ranks among the first five, in percent.
    package var top5: Double
    /// Test images counted.
    package var count: Int
}

/// A weighted k-NN classifier over stored training features (DINO eval_knn; defaults K = 20, T = 0.07).
package struct KNNClassifier {
    /// C.
    package let classCount: Int
    /// D.
    package let dimension: Int
    /// K.
    package var neighbourCount = 20
    /// T in exp(cos/T).
    package var temperature: Float = 0.07
    /// Memory rows per GEMM in the search.
    package var chunkRows = 1024
    /// [N, D] unit-norm training features.
    package let trainingFeatures: Tensor
    /// [N] class of each training image.
    package let trainingLabels: [Int32]

    /// A classifier over training features, normalised here as F.normalize(x, dim=1) (x / max(‖x‖, 1e-12)).
    /// - Parameters:
    ///   - features: [N, D] [CLS] tokens.
    ///   - labels: [N] ids in 0..<classCount.
    package init(features: Tensor, labels: [Int32], classCount: Int) {
        precondition(features.shape.count == 2 && features.shape[0] == labels.count,
                     "KNNClassifier: features \(features.shape) for \(labels.count) labels")
        precondition(labels.allSatisfy { $0 >= 0 && Int($0) < classCount }, "KNNClassifier: labels outside 0..<\(classCount)")
        self.classCount = classCount
        dimension = features.shape[1]
        trainingFeatures = Self.normalized(features)
        trainingLabels = labels
    }

    /// The class votes of each query: votes[q, c] = Σ over the K nearest training rows j of class c of exp(cos_j/T).
    /// - Parameters:
    ///   - features: [Q, D] [CLS] tokens (normalised here).
    /// - Returns: [Q, C].
    package func votes(features: Tensor) -> [Float] {
        precondition(features.shape.count == 2 && features.shape[1] == dimension,
                     "KNNClassifier.votes: features \(features.shape), dimension \(dimension)")
        let queries = Self.normalized(features)
        let Q = features.shape[0]
        let K = neighbourCount
        let C = classCount
        let neighbours = nearestNeighbours(
            queries: queries.pointer, queryCount: Q, memory: trainingFeatures.pointer, memoryCount: trainingLabels.count,
            dimension: dimension, neighbours: K, chunkRows: chunkRows)
        var votes = [Float](repeating: 0, count: Q * C)
        for q in 0..<Q {
            for j in 0..<K {
                let label = Int(trainingLabels[Int(neighbours.indices[q * K + j])])
                votes[q * C + label] += exp(neighbours.similarities[q * K + j] / temperature)
            }
        }
        return votes
    }

    /// Top-1/top-5 accuracy on labelled test features.
    ///
    /// Concretely: classes are ranked by votes, descending, the lower id first among equal votes (DINO sorts with an
    /// unstable sort, which leaves that order open); a query counts for top-5 when its class is among the first
    /// min(5, K) ranks.
    package func accuracy(features: Tensor, labels: [Int32]) -> ClassificationAccuracy {
        precondition(features.shape[0] == labels.count, "KNNClassifier.accuracy: \(features.shape[0]) queries, \(labels.count) labels")
        let votes = votes(features: features)
        let C = classCount
        var top1 = 0
        var top5 = 0
        for (q, label) in labels.enumerated() {
            let row = Array(votes[(q * C)..<((q + 1) * C)])
            let target = Int(label)
            // The rank of the target = the classes strictly ahead of it in (votes desc, id asc) order.
            let ahead = (0..<C).filter { row[$0] > row[target] || (row[$0] == row[target] && $0 < target) }.count
            if ahead == 0 { top1 += 1 }
            if ahead < min(5, neighbourCount) { top5 += 1 }
        }
        let total = Double(max(labels.count, 1))
        return ClassificationAccuracy(top1: Double(top1) * 100 / total, top5: Double(top5) * 100 / total, count: labels.count)
    }

    /// Rows divided by max(‖row‖, 1e-12).
    private static func normalized(_ x: Tensor) -> Tensor {
        let result = x.copy()
        let D = x.shape[1]
        for r in 0..<x.shape[0] {
            let row = result.pointer + r * D
            var squares: Double = 0
            for d in 0..<D { squares += Double(row[d]) * Double(row[d]) }
            let inverse = Float(1 / max(squares.squareRoot(), 1e-12))
            for d in 0..<D { row[d] *= inverse }
        }
        return result
    }
}
