// SPDX-License-Identifier: Apache-2.0
// Dense nearest-neighbour retrieval ("Hummingbird" in-context segmentation, spec §9.1): patches of training
// images go into a PatchMemory; every validation patch takes the softmax-weighted soft labels of its K nearest
// memory rows; the patch-grid scores are bilinearly resized to the label resolution and their argmax is the
// prediction. Legend: n images, h×w patch grid, p patch size, D dimension, C classes, K neighbours.
// reference: https://github.com/vpariza/open-hummingbird-eval (v1.x, hbird_eval.py)

import CriboTensor
import Foundation

/// The settings of a dense k-NN evaluation, and its operations.
package struct DenseRetrieval: Equatable, Sendable {
    /// Which conventions to follow (memory labels, metric).
    package var variant: EvaluationVariant
    /// C, including class 0.
    package var classCount: Int
    /// Ground-truth id dropped from the metric (VOC 255; ADE20K 0 in the hummingbird variant); in the clean variant
    /// its pixels also add nothing to the memory's soft labels.
    package var ignoreIndex: Int?
    /// p, pixels per patch side: label maps are (h·p)×(w·p).
    package var patchSize: Int
    /// K (open-hummingbird-eval: 30).
    package var neighbourCount = 30
    /// β of the neighbour weights softmax(cos/β) (open-hummingbird-eval: 0.02).
    package var temperature: Float = 0.02
    /// Patches kept per training image, or nil to keep all (see `samplesPerImage(memorySize:imageCount:)`).
    package var samplesPerImage: Int?
    /// Seed of the per-image sampling streams.
    package var seed: UInt64 = 0
    /// Memory rows per GEMM in the search.
    package var chunkRows = 1024

    /// Settings with open-hummingbird-eval's defaults for everything not given.
    package init(variant: EvaluationVariant, classCount: Int, ignoreIndex: Int?, patchSize: Int) {
        precondition(classCount > 0 && patchSize > 0, "DenseRetrieval: \(classCount) classes, patch size \(patchSize)")
        self.variant = variant
        self.classCount = classCount
        self.ignoreIndex = ignoreIndex
        self.patchSize = patchSize
    }

    /// Adds the patches of one training image to `memory`: all of them, or the `samplesPerImage` chosen by
    /// `sampledPatches` (in that order).
    /// - Parameters:
    ///   - features: [h·w, D] un-normalised patch tokens, raster order.
    ///   - labels: [h·p, w·p] label map.
    ///   - imageIndex: keys the sampling stream (count augmentation epochs in it, e.g. epoch·n + image).
    package func addImage(
        to memory: PatchMemory, features: UnsafePointer<Float>, labels: UnsafeBufferPointer<UInt8>, gridHeight h: Int,
        gridWidth w: Int, imageIndex: Int
    ) {
        precondition(memory.classCount == classCount, "DenseRetrieval.addImage: memory has \(memory.classCount) classes, settings \(classCount)")
        let soft = patchLabels(labels: labels, gridHeight: h, gridWidth: w)
        let patches = samplesPerImage.map { sampledPatches(presence: soft.presence, count: $0, imageIndex: imageIndex) }
            ?? Array(0..<(h * w))
        memory.reserve(rows: memory.count + patches.count)
        soft.fractions.withUnsafeBufferPointer { fractions in
            for patch in patches {
                memory.append(feature: features + patch * memory.dimension, label: fractions.baseAddress! + patch * classCount)
            }
        }
    }

    /// The class scores of query patches: the softmax-weighted soft labels of their K nearest memory rows.
    ///
    /// Concretely: with s_j = ⟨q, m_j⟩ for the K rows of largest inner product (the memory is unit-norm, so this ranks
    /// by cosine), w = softmax(s / (max(‖q‖, 1e-12)·β)) (open-hummingbird-eval's cross_attention on F.normalize'd
    /// vectors) and score = Σ_j w_j·label_j.
    /// - Parameters:
    ///   - queries: [Q, D] un-normalised patch tokens.
    /// - Returns: the neighbours, their weights [Q, K], and the scores [Q, C].
    package func patchScores(memory: PatchMemory, queries: UnsafePointer<Float>, queryCount Q: Int)
        -> (neighbours: NeighbourList, weights: [Float], scores: [Float])
    {
        let neighbours = nearestNeighbours(
            queries: queries, queryCount: Q, memory: memory.features, memoryCount: memory.count, dimension: memory.dimension,
            neighbours: neighbourCount, chunkRows: chunkRows)
        let labels = memory.labels
        let C = classCount
        let (weights, scores) = weightedScores(queries: queries, queryCount: Q, dimension: memory.dimension, neighbours: neighbours) {
            row, label in label.update(from: labels + row * C, count: C)
        }
        return (neighbours, weights, scores)
    }

    /// The neighbour weights [Q, K] and class scores [Q, C] of queries whose neighbours are known (see `patchScores`).
    /// - Parameters:
    ///   - queries: [Q, D] un-normalised patch tokens.
    ///   - label: writes the C soft-label values of a memory row; called from several threads at once.
    package func weightedScores(
        queries: UnsafePointer<Float>, queryCount Q: Int, dimension D: Int, neighbours: NeighbourList,
        label: (_ row: Int, _ into: UnsafeMutablePointer<Float>) -> Void
    ) -> (weights: [Float], scores: [Float]) {
        let K = neighbourCount
        let C = classCount
        precondition(neighbours.neighbourCount == K && neighbours.indices.count == Q * K,
                     "DenseRetrieval.weightedScores: \(neighbours.indices.count) neighbours for \(Q) queries of \(K)")
        var weights = [Float](repeating: 0, count: Q * K)
        var scores = [Float](repeating: 0, count: Q * C)
        let beta = temperature
        weights.withUnsafeMutableBufferPointer { weights in
            scores.withUnsafeMutableBufferPointer { scores in
                let weightBase = weights.baseAddress!
                let scoreBase = scores.baseAddress!
                ComputeThreads.parallelFor(Q, grain: 64) { rows in
                    let labelRow = UnsafeMutablePointer<Float>.allocate(capacity: C)
                    defer { labelRow.deallocate() }
                    for q in rows {
                        var squares: Float = 0
                        for d in 0..<D { squares += queries[q * D + d] * queries[q * D + d] }
                        let scale = 1 / (max(squares.squareRoot(), 1e-12) * beta)
                        let weight = weightBase + q * K
                        var maximum = -Float.infinity
                        for j in 0..<K {
                            weight[j] = neighbours.similarities[q * K + j] * scale
                            maximum = max(maximum, weight[j])
                        }
                        var sum: Float = 0
                        for j in 0..<K {
                            weight[j] = exp(weight[j] - maximum)
                            sum += weight[j]
                        }
                        let score = scoreBase + q * C
                        for j in 0..<K {
                            weight[j] /= sum
                            let row = Int(neighbours.indices[q * K + j])
                            precondition(row >= 0, "DenseRetrieval.weightedScores: query \(q) has fewer than \(K) neighbours")
                            label(row, labelRow)
                            for c in 0..<C { score[c] += weight[j] * labelRow[c] }
                        }
                    }
                }
            }
        }
        return (weights, scores)
    }

    /// Predicted label maps of validation images: patch scores, bilinearly resized (align_corners=False) from the
    /// patch grid to the label size, then the argmax over classes (lowest id among ties).
    /// - Parameters:
    ///   - features: [n, h·w, D] un-normalised patch tokens.
    /// Memory use is (K + C)·n·h·w values besides the result: call it per batch of images on large sets.
    /// - Returns: [n, H, W] class ids.
    package func predict(
        memory: PatchMemory, features: UnsafePointer<Float>, imageCount n: Int, gridHeight h: Int, gridWidth w: Int,
        outputHeight H: Int, outputWidth W: Int
    ) -> [Int32] {
        let scores = patchScores(memory: memory, queries: features, queryCount: n * h * w).scores
        return labelMaps(scores: scores, imageCount: n, gridHeight: h, gridWidth: w, outputHeight: H, outputWidth: W)
    }

    /// Label maps from patch scores: bilinearly resized (align_corners=False) to H×W, then the argmax over classes.
    /// - Parameters:
    ///   - scores: [n, h·w, C].
    /// - Returns: [n, H, W] class ids.
    package func labelMaps(scores: [Float], imageCount n: Int, gridHeight h: Int, gridWidth w: Int, outputHeight H: Int, outputWidth W: Int)
        -> [Int32]
    {
        precondition(scores.count == n * h * w * classCount, "DenseRetrieval.labelMaps: \(scores.count) scores for \(n) images")
        var predictions = [Int32](repeating: 0, count: n * H * W)
        scores.withUnsafeBufferPointer { scores in
            predictions.withUnsafeMutableBufferPointer { predictions in
                for image in 0..<n {
                    bilinearResizeArgmax(
                        output: predictions.baseAddress! + image * H * W, input: scores.baseAddress! + image * h * w * classCount,
                        channels: classCount, inputHeight: h, inputWidth: w, outputHeight: H, outputWidth: W)
                }
            }
        }
        return predictions
    }
}
