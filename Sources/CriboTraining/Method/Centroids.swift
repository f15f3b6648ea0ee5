// SPDX-License-Identifier: Apache-2.0
// Object centroids from a cluster assignment (spec §4.3–4.4; official compute_teacher_centroids and
// compute_student_centroids): which clusters are valid, the per-view mean pooling of un-normalised final-LN
// tokens with the teacher's weights, and the backward of that pooling into the student tokens (no gradient
// flows into the weights). Legend: B images, N patches per view, D dims, K clusters, V valid clusters.

import CriboTensor

/// The valid clusters of a batch and their centroids in both views, aligned row by row.
package struct RegionCentroids {
    /// [V, D] view-1 centroids c₁ᵏ = Σ_t W₁[t,k]·y₁,t of the valid clusters, image-major then cluster order.
    package let view1: Tensor
    /// [V, D] view-2 centroids, the same clusters.
    package let view2: Tensor
    /// The flat index b·K + k of every valid cluster, in row order (length V).
    package let validClusters: [Int]
    /// [B] the valid clusters of each image (the reference's `centroids_per_view`).
    package let centroidsPerImage: [Int]

    /// V, the number of valid clusters.
    package var count: Int { validClusters.count }
    /// The mean of `centroidsPerImage` (the reference's logged `r_cnt`).
    package var regionCount: Float {
        centroidsPerImage.isEmpty ? 0 : Float(centroidsPerImage.reduce(0, +)) / Float(centroidsPerImage.count)
    }
}

extension ClusterAssignment {
    /// The valid clusters, as the reference decides them: a cluster is valid when it wins the row maximum of
    /// the weights W for at least one token of each view.
    ///
    /// Concretely: H[t,k] = (W[t,k] == max_k' W[t,k']); valid_k ⇔ Σ_{t<N} H[t,k] > 0 ∧ Σ_{t≥N} H[t,k] > 0.
    /// Without ties this is "present in both views" (spec §4.3); on a tie, only the tied cluster with the
    /// fewest members in that view counts the token.
    /// - Returns: the flat indices b·K + k of the valid clusters, ascending.
    package func validClusters() -> [Int] {
        let (B, N, K) = (images, patchesPerView, clusterCount)
        var valid: [Int] = []
        for b in 0..<B {
            var present = [[Bool]](repeating: [Bool](repeating: false, count: K), count: 2)
            for t in 0..<(2 * N) {
                let w = weights.pointer + (b * 2 * N + t) * K
                var maximum = -Float.infinity
                for k in 0..<K { maximum = max(maximum, w[k]) }
                for k in 0..<K where w[k] == maximum { present[t / N][k] = true }
            }
            for k in 0..<K where present[0][k] && present[1][k] { valid.append(b * K + k) }
        }
        return valid
    }

    /// The teacher centroids and validity (spec §4.3).
    /// - Parameters:
    ///   - tokens: [2B, 1+N, D] teacher final-LN tokens (view-1 images then view-2 images); [CLS] is skipped.
    package func teacherCentroids(tokens: Tensor) -> RegionCentroids {
        let valid = validClusters()
        let (view1, view2) = pooledCentroids(tokens: tokens, validClusters: valid)
        var perImage = [Int](repeating: 0, count: images)
        for index in valid { perImage[index / clusterCount] += 1 }
        return RegionCentroids(view1: view1, view2: view2, validClusters: valid, centroidsPerImage: perImage)
    }

    /// Per-view mean pooling of `tokens` with the weights W, keeping the given clusters (spec §4.4, the student
    /// centroids; also the teacher's).
    ///
    /// Concretely: s_v[i] = Σ_n W_v[n, k_i]·x_v,n for the i-th valid cluster (b_i, k_i).
    /// - Parameters:
    ///   - tokens: [2B, 1+N, D] final-LN tokens; [CLS] is skipped.
    ///   - validClusters: V flat indices b·K + k.
    /// - Returns: ([V, D], [V, D]) view-1 and view-2 centroids.
    package func pooledCentroids(tokens: Tensor, validClusters: [Int]) -> (Tensor, Tensor) {
        let (B, N, K) = (images, patchesPerView, clusterCount)
        precondition(tokens.shape.count == 3 && tokens.shape[0] == 2 * B && tokens.shape[1] == 1 + N,
                     "pooledCentroids: expected tokens [\(2 * B), \(1 + N), D], got \(tokens.shape)")
        let D = tokens.shape[2], V = validClusters.count
        let outputs = [Tensor(zeros: [V, D]), Tensor(zeros: [V, D])]
        let rowsOfImage = rowRanges(validClusters)
        ComputeThreads.parallelForEach(B) { b in
            guard let rows = rowsOfImage[b] else { return }
            let full = UnsafeMutablePointer<Float>.allocate(capacity: K * D)
            defer { full.deallocate() }
            for v in 0..<2 {
                // [K, D] = W_vᵀ [K, N] · X_v [N, D]
                gemm(transposeA: true, transposeB: false, m: K, n: D, k: N,
                     a: weights.pointer + (b * 2 * N + v * N) * K, lda: K,
                     b: tokens.pointer + ((v * B + b) * (1 + N) + 1) * D, ldb: D, c: full, ldc: D, parallel: false)
                for row in rows {
                    (outputs[v].pointer + row * D).update(from: full + (validClusters[row] % K) * D, count: D)
                }
            }
        }
        return (outputs[0], outputs[1])
    }

    /// Backward of `pooledCentroids`; accumulates into `dTokens` (its [CLS] rows are left alone).
    ///
    /// Concretely: dx_v,n += Σ_i W_v[n, k_i]·ds_v[i] over the valid clusters i of the token's image.
    /// - Parameters:
    ///   - dTokens: [2B, 1+N, D].
    ///   - dView1: [V, D] the gradient of the view-1 centroids; dView2 likewise.
    ///   - validClusters: the V flat indices passed to the forward.
    package func pooledCentroidsBackward(dTokens: Tensor, dView1: Tensor, dView2: Tensor, validClusters: [Int]) {
        let (B, N, K) = (images, patchesPerView, clusterCount)
        precondition(dTokens.shape.count == 3 && dTokens.shape[0] == 2 * B && dTokens.shape[1] == 1 + N,
                     "pooledCentroidsBackward: expected dTokens [\(2 * B), \(1 + N), D], got \(dTokens.shape)")
        let D = dTokens.shape[2], V = validClusters.count
        precondition(dView1.shape == [V, D] && dView2.shape == [V, D],
                     "pooledCentroidsBackward: expected [\(V), \(D)] gradients, got \(dView1.shape) and \(dView2.shape)")
        let rowsOfImage = rowRanges(validClusters)
        let gradients = [dView1, dView2]
        ComputeThreads.parallelForEach(B) { b in
            guard let rows = rowsOfImage[b] else { return }
            let full = UnsafeMutablePointer<Float>.allocate(capacity: K * D)
            defer { full.deallocate() }
            for v in 0..<2 {
                full.update(repeating: 0, count: K * D)
                for row in rows {
                    (full + (validClusters[row] % K) * D).update(from: gradients[v].pointer + row * D, count: D)
                }
                // [N, D] += W_v [N, K] · dS [K, D]
                gemm(transposeA: false, transposeB: false, m: N, n: D, k: K,
                     a: weights.pointer + (b * 2 * N + v * N) * K, lda: K, b: full, ldb: D, beta: 1,
                     c: dTokens.pointer + ((v * B + b) * (1 + N) + 1) * D, ldc: D, parallel: false)
            }
        }
    }

    /// The rows of each image in an ascending list of flat cluster indices (nil for an image without any).
    private func rowRanges(_ validClusters: [Int]) -> [Range<Int>?] {
        var ranges = [Range<Int>?](repeating: nil, count: images)
        var previous = -1
        for (row, index) in validClusters.enumerated() {
            precondition(index > previous && index < images * clusterCount,
                         "validClusters must ascend within 0..<\(images * clusterCount), got \(index) after \(previous)")
            previous = index
            let b = index / clusterCount
            ranges[b] = (ranges[b]?.lowerBound ?? row)..<(row + 1)
        }
        return ranges
    }
}
