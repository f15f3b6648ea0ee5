// SPDX-License-Identifier: Apache-2.0
// The joint clustering of the two views' teacher patch tokens (spec §4.2; official main_cribo.py,
// Clustering.compute_assignments): a spatially regularised Sinkhorn k-means, one problem per image, whose cost
// normalisation couples all images of the rank-local batch. Everything is float32, like the reference.
// Legend: B images, N patches per view, T = 2N tokens per image (view 1 rows, then view 2 rows), D dims,
// K clusters.

import CriboTensor

/// The spatially regularised Sinkhorn k-means of CrIBo, with the reference's settings as defaults.
///
/// Concretely, per image: Z = L2-normalised tokens of both views; μ_k = Z[seed_k]; A = one-hot of the seeds.
/// Then `iterations` times: S = Z·μᵀ; G = the positional cost (see `positionalCost`); M = −S + α·G, min/max
/// normalised over the whole batch; Π = Sinkhorn(exp(−λM)); A = (Π == row max); c_k ∝ Σ_t A[t,k] + 0.01;
/// μ = normalise(Aᵀ Z). Finally W_v[:, k] = A_v[:, k] / Σ_t A_v[t, k] per view (a zero sum counts as 1).
package struct JointClustering: Sendable {
    /// K, the number of clusters per image (`n_tokens`).
    package var clusterCount: Int
    /// The outer k-means passes (`n_iter`).
    package var iterations: Int
    /// λ of the Sinkhorn kernel exp(−λM) (`sinkhorn_lambda`).
    package var sinkhornLambda: Float
    /// Row/column scaling rounds per Sinkhorn call (`sinkhorn_iterations`).
    package var sinkhornIterations: Int
    /// Whether the column marginal follows the cluster sizes (`update_c`).
    package var updatesColumnMarginal: Bool

    /// A clustering with the released configurations' values for everything but K.
    package init(
        clusterCount: Int, iterations: Int = 5, sinkhornLambda: Float = 20, sinkhornIterations: Int = 5,
        updatesColumnMarginal: Bool = true
    ) {
        precondition(clusterCount > 0, "JointClustering: clusterCount must be positive, got \(clusterCount)")
        self.clusterCount = clusterCount
        self.iterations = iterations
        self.sinkhornLambda = sinkhornLambda
        self.sinkhornIterations = sinkhornIterations
        self.updatesColumnMarginal = updatesColumnMarginal
    }

    /// K distinct seed tokens of one image, uniformly at random (the reference's `multinomial` without
    /// replacement), from a stream keyed by (seed, step, image index).
    ///
    /// Concretely: a partial Fisher–Yates shuffle of 0..<T. When K > T (the reference fails there) all T tokens
    /// are drawn and the remaining K − T clusters get −1: they start empty.
    /// - Parameters:
    ///   - imageIndex: the image's position in the global batch, so the draw does not depend on the rank count.
    /// - Returns: [K] token indices in 0..<T, or −1.
    package static func seedIndices(clusterCount K: Int, tokenCount T: Int, seed: UInt64, step: UInt64, imageIndex: UInt64) -> [Int] {
        var rng = SplitMix64(seed: SplitMix64.mix(seed, step, imageIndex))
        var pool = Array(0..<T)
        var result = [Int](repeating: -1, count: K)
        for k in 0..<min(K, T) {
            let pick = k + rng.nextInt(below: T - k)
            pool.swapAt(k, pick)
            result[k] = pool[k]
        }
        return result
    }

    /// Clusters every image of the batch (spec §4.2 steps 1–5).
    /// - Parameters:
    ///   - tokens: [2B, 1+N, D] teacher final-LN tokens, view-1 images then view-2 images; row 0 ([CLS]) is skipped.
    ///   - positions: [2, B, 2, N] per-patch (x, y) in original-image pixels (the reference's `crop_pos`).
    ///   - seeds: [B·K] seed token of each cluster, in 0..<2N (view-2 tokens are N..<2N), distinct per image;
    ///     −1 leaves a cluster without a seed.
    ///   - positionWeight: α, `pos_alpha_schedule[epoch]`.
    /// - Returns: the final hard assignment and the per-view weights.
    /// - Complexity: per image and pass, O(T·K·D) for the similarities and O(T²) for the positional cost; the
    ///   (2N)²·K tensor of the reference is never built.
    package func assign(tokens: Tensor, positions: Tensor, seeds: [Int], positionWeight alpha: Float) -> ClusterAssignment {
        precondition(tokens.shape.count == 3 && tokens.shape[0] % 2 == 0 && tokens.shape[1] >= 2,
                     "JointClustering: expected tokens [2B, 1+N, D], got \(tokens.shape)")
        let B = tokens.shape[0] / 2, N = tokens.shape[1] - 1, D = tokens.shape[2], K = clusterCount, T = 2 * N
        precondition(positions.shape == [2, B, 2, N], "JointClustering: expected positions [2, \(B), 2, \(N)], got \(positions.shape)")
        precondition(seeds.count == B * K, "JointClustering: expected \(B * K) seeds, got \(seeds.count)")
        for b in 0..<B {
            let row = seeds[(b * K)..<((b + 1) * K)].filter { $0 >= 0 }
            precondition(row.allSatisfy { $0 < T } && Set(row).count == row.count,
                         "JointClustering: image \(b) seeds must be distinct indices in 0..<\(T), got \(Array(seeds[(b * K)..<((b + 1) * K)]))")
        }
        let state = ClusteringState(B: B, T: T, D: D, K: K)
        state.load(tokens: tokens, positions: positions, seeds: seeds, N: N)
        for _ in 0..<iterations {
            // Per image: M = −S + α·G, and its extremes (the normalisation is batch-wide).
            var extremes = [(Float, Float)](repeating: (.infinity, -.infinity), count: B)
            extremes.withUnsafeMutableBufferPointer { extremes in
                ComputeThreads.parallelForEach(B) { b in extremes[b] = state.cost(image: b, alpha: alpha) }
            }
            let low = extremes.map(\.0).min()!, high = extremes.map(\.1).max()!
            let range = high - low
            ComputeThreads.parallelForEach(B) { b in
                state.transport(image: b, low: low, range: range, lambda: sinkhornLambda, rounds: sinkhornIterations)
                state.harden(image: b, updatesColumnMarginal: updatesColumnMarginal)
            }
        }
        return ClusterAssignment(hard: state.assignment, images: B, patchesPerView: N, clusterCount: K)
    }
}

/// The result of `JointClustering.assign`: hard assignments and per-view mean-pooling weights.
package struct ClusterAssignment {
    /// B, the number of images.
    package let images: Int
    /// N, the patches of one view.
    package let patchesPerView: Int
    /// K, the clusters per image.
    package let clusterCount: Int
    /// [B, 2N, K] the last pass's hard assignment A (0/1; a row has several 1s only on exact ties).
    package let hard: Tensor
    /// [B, 2N, K] W: A's columns divided by their per-view sums (view-1 rows 0..<N, view-2 rows N..<2N);
    /// a column that is empty in a view stays zero there.
    package let weights: Tensor

    /// Wraps a hard assignment and derives the per-view weights (spec §4.2 step 5).
    package init(hard: Tensor, images B: Int, patchesPerView N: Int, clusterCount K: Int) {
        precondition(hard.shape == [B, 2 * N, K], "ClusterAssignment: expected [\(B), \(2 * N), \(K)], got \(hard.shape)")
        self.hard = hard
        images = B
        patchesPerView = N
        clusterCount = K
        weights = Tensor(zeros: [B, 2 * N, K])
        for b in 0..<B {
            for v in 0..<2 {
                let a = hard.pointer + (b * 2 * N + v * N) * K
                let w = weights.pointer + (b * 2 * N + v * N) * K
                for k in 0..<K {
                    var sum: Float = 0
                    for n in 0..<N { sum += a[n * K + k] }
                    if sum == 0 { sum = 1 }
                    for n in 0..<N { w[n * K + k] = a[n * K + k] / sum }
                }
            }
        }
    }
}
