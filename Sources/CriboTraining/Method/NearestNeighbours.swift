// SPDX-License-Identifier: Apache-2.0
// Nearest-neighbour retrieval in the centroid queue with the two cycle-consistency checks (spec §4.5; official
// get_nn_centroids, the search part). Cosine similarity, searched in chunks of queue rows with a running argmax,
// so a 25k-image queue never needs a V×n similarity matrix. Legend: V query centroids, n valid queue rows,
// D dims.

import CriboNN
import CriboTensor

/// The neighbours of the batch's centroids and which of them pass the cycle checks.
package struct NeighbourMatches {
    /// [V] j₁[i] = argmax_j ĉ₁[i]·Q̂₀[j], the view-1 queue row nearest to view-1 centroid i.
    package let index1: [Int]
    /// [V] j₂[i] = argmax_j ĉ₂[i]·Q̂₁[j].
    package let index2: [Int]
    /// [V] mask1: the view-2 partner Q̂₁[j₁[i]] finds ĉ₂[i] back among the batch's view-2 centroids.
    package let isCycleConsistent1: [Bool]
    /// [V] mask2: Q̂₀[j₂[i]] finds ĉ₁[i] back among the batch's view-1 centroids.
    package let isCycleConsistent2: [Bool]

    /// |mask1|, the normaliser of both neighbour-loss terms.
    package var consistentCount1: Int { isCycleConsistent1.reduce(0) { $0 + ($1 ? 1 : 0) } }
}

extension CentroidQueue {
    /// Searches the valid queue rows for the batch's teacher centroids; call it before `enqueue`.
    ///
    /// Concretely: queries and queue rows are L2-normalised (eps 1e-12); ties keep the lowest index. With an
    /// empty queue (n = 0, where the reference fails) every index is 0 and no pair is consistent.
    /// - Parameters:
    ///   - view1: [V, D] un-normalised view-1 teacher centroids; view2 likewise.
    ///   - chunkRows: queue rows compared per step (the similarity buffer is V × chunkRows).
    /// - Complexity: 2·V·(2n + V)·D multiply-adds.
    package func nearestNeighbours(view1: Tensor, view2: Tensor, chunkRows: Int = 2048) -> NeighbourMatches {
        let V = view1.shape.first ?? 0, D = dimension, n = validRowCount
        precondition(view1.shape == [V, D] && view2.shape == [V, D],
                     "nearestNeighbours: expected [V, \(D)] centroids, got \(view1.shape) and \(view2.shape)")
        guard n > 0 else {
            let none = [Bool](repeating: false, count: V)
            return NeighbourMatches(index1: [Int](repeating: 0, count: V), index2: [Int](repeating: 0, count: V),
                                    isCycleConsistent1: none, isCycleConsistent2: none)
        }
        let queries = [view1, view2].map { normalizedRows($0) }
        let rowCapacity = clusterCount * capacity * D
        let index1 = chunkedArgmax(queries: queries[0], queryCount: V, keys: centroids.pointer, keyCount: n,
                                   dimension: D, normalizesKeys: true, chunkRows: chunkRows)
        let index2 = chunkedArgmax(queries: queries[1], queryCount: V, keys: centroids.pointer + rowCapacity, keyCount: n,
                                   dimension: D, normalizesKeys: true, chunkRows: chunkRows)
        // Cycle: the partner of the neighbour, in the other view, must retrieve the query's own partner.
        let partners1 = normalizedRows(neighbours(view: 1, indices: index1))
        let partners2 = normalizedRows(neighbours(view: 0, indices: index2))
        let back1 = withExtendedLifetime(queries) {
            chunkedArgmax(queries: partners1, queryCount: V, keys: queries[1].pointer, keyCount: V, dimension: D,
                          normalizesKeys: false, chunkRows: chunkRows)
        }
        let back2 = withExtendedLifetime(queries) {
            chunkedArgmax(queries: partners2, queryCount: V, keys: queries[0].pointer, keyCount: V, dimension: D,
                          normalizesKeys: false, chunkRows: chunkRows)
        }
        return NeighbourMatches(index1: index1, index2: index2, isCycleConsistent1: back1.enumerated().map { $0.element == $0.offset },
                                isCycleConsistent2: back2.enumerated().map { $0.element == $0.offset })
    }

    /// The un-normalised queue rows Q[view][indices] (the reference's `nn` / `nn2` rows fed to the teacher head).
    /// - Returns: [indices.count, D].
    package func neighbours(view: Int, indices: [Int]) -> Tensor {
        let D = dimension
        precondition(view == 0 || view == 1, "neighbours: view must be 0 or 1, got \(view)")
        let result = Tensor(zeros: [indices.count, D])
        let base = centroids.pointer + view * clusterCount * capacity * D
        for (row, index) in indices.enumerated() {
            precondition((0..<(clusterCount * capacity)).contains(index), "neighbours: row \(index) outside the queue")
            (result.pointer + row * D).update(from: base + index * D, count: D)
        }
        return result
    }
}

/// For each query row, the index of the key row with the largest dot product (the first one on ties).
///
/// Concretely: keys are taken `chunkRows` at a time (L2-normalised first when `normalizesKeys`), multiplied by
/// the queries into a [R, chunk] buffer, and folded into a running maximum per query.
/// - Parameters:
///   - queries: [R, D] (used as given).
///   - keys: [n, D].
/// - Returns: [R] indices in 0..<n (0 when n = 0).
package func chunkedArgmax(
    queries: Tensor, queryCount R: Int, keys: UnsafePointer<Float>, keyCount n: Int, dimension D: Int,
    normalizesKeys: Bool, chunkRows: Int
) -> [Int] {
    precondition(chunkRows > 0, "chunkedArgmax: chunkRows must be positive, got \(chunkRows)")
    var best = [Float](repeating: -.infinity, count: R)
    var index = [Int](repeating: 0, count: R)
    if R == 0 || n == 0 { return index }
    let chunk = min(chunkRows, n)
    let similarity = UnsafeMutablePointer<Float>.allocate(capacity: R * chunk)
    let normalized = UnsafeMutablePointer<Float>.allocate(capacity: normalizesKeys ? chunk * D : 1)
    let norms = UnsafeMutablePointer<Float>.allocate(capacity: chunk)
    defer {
        similarity.deallocate()
        normalized.deallocate()
        norms.deallocate()
    }
    var start = 0
    while start < n {
        let count = min(chunk, n - start)
        var block = keys + start * D
        if normalizesKeys {
            l2NormalizeForward(output: normalized, norms: norms, input: block, rows: count, columns: D)
            block = UnsafePointer(normalized)
        }
        // [R, count] = queries [R, D] · blockᵀ
        gemm(transposeA: false, transposeB: true, m: R, n: count, k: D, a: queries.pointer, lda: D, b: block, ldb: D,
             c: similarity, ldc: count)
        best.withUnsafeMutableBufferPointer { best in
            index.withUnsafeMutableBufferPointer { index in
                ComputeThreads.parallelFor(R, grain: max(1, 16_384 / count)) { rows in
                    for r in rows {
                        let s = similarity + r * count
                        for j in 0..<count where s[j] > best[r] {
                            best[r] = s[j]
                            index[r] = start + j
                        }
                    }
                }
            }
        }
        start += count
    }
    return index
}

/// A copy of the [R, C] rows, each divided by max(‖row‖₂, 1e-12).
private func normalizedRows(_ input: Tensor) -> Tensor {
    let output = Tensor(zeros: input.shape)
    let R = input.shape.first ?? 0, C = R == 0 ? 0 : input.count / R
    let norms = UnsafeMutablePointer<Float>.allocate(capacity: max(R, 1))
    defer { norms.deallocate() }
    withExtendedLifetime(input) {
        l2NormalizeForward(output: output.pointer, norms: norms, input: input.pointer, rows: R, columns: C)
    }
    return output
}
