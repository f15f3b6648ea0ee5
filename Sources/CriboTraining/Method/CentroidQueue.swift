// SPDX-License-Identifier: Apache-2.0
// The memory bank of past teacher centroids (spec §4.5; official get_nn_centroids, the queue part): a FIFO of
// `capacity` images, newest first, replicated identically on every rank. The update takes already-gathered,
// rank-ordered data, so it knows nothing about MPI. Legend: Qs capacity (images), K clusters, D dims,
// n valid queue rows.

import CriboTensor
import Foundation

/// The centroid queue: un-normalised view-1/view-2 centroids, centroids per image, and normalised [CLS] tokens.
///
/// Concretely: rows 0..<Σ`centroidsPerImage` of `centroids[m]` hold the queued images' valid centroids, newest
/// image first, each image's clusters in order; rows behind them are stale and never read.
package final class CentroidQueue {
    /// Qs, the number of queued images (`queue_size`).
    package let capacity: Int
    /// K, the clusters per image (the row capacity is K·Qs).
    package let clusterCount: Int
    /// D, the backbone embedding dimension.
    package let dimension: Int
    /// [2, K·Qs, D] view-1 and view-2 centroids.
    package let centroids: Tensor
    /// [Qs] valid centroids of each queued image.
    package private(set) var centroidsPerImage: [Int]
    /// [2, Qs, D] normalised teacher [CLS] of both views; stored and checkpointed, never read by the method.
    package let classTokens: Tensor

    /// A queue filled with U[0, 1) values, every image counting K centroids (the reference's `torch.rand` start).
    ///
    /// Row r of view m is drawn from `SplitMix64(seed: mix(seed, m, r))`, so filling in parallel is deterministic.
    package init(capacity: Int, clusterCount: Int, dimension: Int, seed: UInt64) {
        precondition(capacity > 0 && clusterCount > 0 && dimension > 0,
                     "CentroidQueue: sizes must be positive, got capacity \(capacity), K \(clusterCount), D \(dimension)")
        self.capacity = capacity
        self.clusterCount = clusterCount
        self.dimension = dimension
        centroids = Tensor(zeros: [2, clusterCount * capacity, dimension])
        classTokens = Tensor(zeros: [2, capacity, dimension])
        centroidsPerImage = [Int](repeating: clusterCount, count: capacity)
        let rows = clusterCount * capacity
        let D = dimension
        let (centroids, classTokens) = (centroids, classTokens)
        ComputeThreads.parallelFor(2 * rows, grain: 256) { range in
            for row in range {
                var rng = SplitMix64(seed: SplitMix64.mix(seed, 0, UInt64(row / rows), UInt64(row % rows)))
                for d in 0..<D { centroids.pointer[row * D + d] = Float(rng.nextUniform()) }
            }
        }
        for row in 0..<(2 * capacity) {
            var rng = SplitMix64(seed: SplitMix64.mix(seed, 1, UInt64(row / capacity), UInt64(row % capacity)))
            for d in 0..<D { classTokens.pointer[row * D + d] = Float(rng.nextUniform()) }
        }
    }

    /// A queue from saved state (a checkpoint, or a test's reference).
    /// - Parameters:
    ///   - centroids: [2, K·Qs, D]; classTokens: [2, Qs, D]; centroidsPerImage: Qs values in 0...K.
    package init(centroids: Tensor, centroidsPerImage: [Int], classTokens: Tensor, clusterCount: Int) {
        let capacity = centroidsPerImage.count, D = centroids.shape.last ?? 0
        precondition(centroids.shape == [2, clusterCount * capacity, D] && classTokens.shape == [2, capacity, D],
                     "CentroidQueue: expected [2, \(clusterCount * capacity), D] and [2, \(capacity), D], got \(centroids.shape) and \(classTokens.shape)")
        precondition(centroidsPerImage.allSatisfy { (0...clusterCount).contains($0) },
                     "CentroidQueue: centroids per image must lie in 0...\(clusterCount), got \(centroidsPerImage)")
        self.capacity = capacity
        self.clusterCount = clusterCount
        dimension = D
        self.centroids = centroids
        self.classTokens = classTokens
        self.centroidsPerImage = centroidsPerImage
    }

    /// Replaces the state with saved values of the same shapes (checkpoint resume).
    package func restore(centroids saved: Tensor, centroidsPerImage counts: [Int], classTokens savedTokens: Tensor) {
        precondition(saved.count == centroids.count && savedTokens.count == classTokens.count && counts.count == capacity,
                     "CentroidQueue.restore: saved state \(saved.shape), \(savedTokens.shape), \(counts.count) does not fit this queue")
        centroids.assign(from: saved)
        classTokens.assign(from: savedTokens)
        centroidsPerImage = counts
    }

    /// n = Σ `centroidsPerImage`, the rows searched by the nearest-neighbour retrieval.
    package var validRowCount: Int { centroidsPerImage.reduce(0, +) }

    /// The FIFO update (spec §4.5) from data gathered over all ranks, in rank order, then image, then cluster.
    ///
    /// Concretely: with G = gathered images (the first Qs when G ≥ Qs, the pools cut to their centroids),
    /// old = Qs − G images kept, n_old = Σ cpv_q[..<old]: Q[m][..<n_new + n_old] = pool_m ⊕ Q[m][..<n_old],
    /// cpv_q = cpv_new ⊕ cpv_q[..<old], cls_q[m] = cls_m ⊕ cls_q[m][..<old].
    /// - Parameters:
    ///   - centroidsPerImage: [G] the gathered `cpv` of every rank.
    ///   - classTokens1: [G·D] the gathered normalised teacher [CLS] of view 1; classTokens2 likewise.
    ///   - pool1: [Σcpv·D] the gathered un-normalised view-1 centroids; pool2 likewise.
    package func enqueue(centroidsPerImage newCounts: [Int], classTokens1: [Float], classTokens2: [Float], pool1: [Float], pool2: [Float]) {
        let D = dimension, K = clusterCount, Qs = capacity
        let totalNew = newCounts.reduce(0, +)
        precondition(newCounts.allSatisfy { (0...K).contains($0) }, "enqueue: centroids per image must lie in 0...\(K), got \(newCounts)")
        precondition(classTokens1.count == newCounts.count * D && classTokens2.count == newCounts.count * D,
                     "enqueue: expected \(newCounts.count)×\(D) [CLS] values, got \(classTokens1.count) and \(classTokens2.count)")
        precondition(pool1.count == totalNew * D && pool2.count == totalNew * D,
                     "enqueue: expected \(totalNew)×\(D) centroid values, got \(pool1.count) and \(pool2.count)")
        let images = min(newCounts.count, Qs)
        let counts = Array(newCounts[..<images])
        let newRows = counts.reduce(0, +)
        let oldImages = Qs - images
        let oldRows = centroidsPerImage[..<oldImages].reduce(0, +)
        for (m, pool) in [pool1, pool2].enumerated() {
            let base = centroids.pointer + m * K * Qs * D
            memmove(base + newRows * D, base, oldRows * D * MemoryLayout<Float>.stride)
            if newRows > 0 { pool.withUnsafeBufferPointer { base.update(from: $0.baseAddress!, count: newRows * D) } }
        }
        for (m, tokens) in [classTokens1, classTokens2].enumerated() {
            let base = classTokens.pointer + m * Qs * D
            memmove(base + images * D, base, oldImages * D * MemoryLayout<Float>.stride)
            if images > 0 { tokens.withUnsafeBufferPointer { base.update(from: $0.baseAddress!, count: images * D) } }
        }
        centroidsPerImage = counts + centroidsPerImage[..<oldImages]
    }
}
