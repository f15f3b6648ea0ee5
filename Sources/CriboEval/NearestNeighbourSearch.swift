// SPDX-License-Identifier: Apache-2.0
// Exact k-nearest-neighbour search by inner product (faiss IndexFlatIP semantics): GEMM of a block of queries
// against one chunk of memory rows at a time, merged into a running top-k per query, so that no query × memory
// matrix is ever held. The merge is cribo_topk_merge (C, AVX-512/AVX2): a candidate enters only when strictly
// greater than the current K-th similarity, after equal entries, so the lower memory index wins every tie.
// Legend: Q queries, M memory rows, D dimension, K neighbours.

import CCriboShims
import CriboTensor

/// The K best memory rows of each query, best first.
package struct NeighbourList: Equatable, Sendable {
    /// K, the neighbours per query.
    package let neighbourCount: Int
    /// [Q, K] memory row indices.
    package var indices: [Int32]
    /// [Q, K] inner products ⟨query, memory row⟩, non-increasing along each row.
    package var similarities: [Float]
}

/// The K memory rows with the largest inner product with each query (exact search).
///
/// Concretely: for every query q, the rows m ranked by ⟨q, m⟩ descending, ties broken by the lower memory index, and
/// the first K kept. With a unit-norm memory this ranks by cosine similarity whatever the query norms.
/// Products are computed by `gemm` over blocks of `queryBlock` queries × `chunkRows` memory rows; blocks of queries
/// are spread over `ComputeThreads`, and the result does not depend on the thread count or the chunk sizes beyond
/// the rounding of the BLAS dot products.
/// - Parameters:
///   - queries: [Q, D].
///   - memory: [M, D], M ≥ K.
///   - chunkRows: memory rows per GEMM (scratch is queryBlock × chunkRows floats per thread).
///   - queryBlock: the most queries per GEMM; the defaults (1024 × 1024, 4 MB of scratch) measured fastest with
///     `cribo-bench retrieval` on a 2-core AVX-512 machine.
/// - Complexity: 2·Q·M·D flops, O(Q·M) comparisons, O(Q·M·K) in the worst case (a memory sorted ascending).
package func nearestNeighbours(
    queries: UnsafePointer<Float>, queryCount Q: Int, memory: UnsafePointer<Float>, memoryCount M: Int,
    dimension D: Int, neighbours K: Int, chunkRows: Int = 1024, queryBlock: Int = 1024
) -> NeighbourList {
    precondition(K >= 1 && M >= K, "nearestNeighbours: \(K) neighbours requested from a memory of \(M) rows")
    var result = NeighbourList(empty: Q, neighbours: K)
    mergeNearestNeighbours(
        into: &result, queries: queries, queryCount: Q, memory: memory, memoryCount: M, firstIndex: 0, dimension: D,
        chunkRows: chunkRows, queryBlock: queryBlock)
    return result
}

extension NeighbourList {
    /// Q lists with no neighbour yet (index -1, similarity -∞), ready for `mergeNearestNeighbours`.
    package init(empty Q: Int, neighbours K: Int) {
        precondition(K >= 1 && Q >= 0, "NeighbourList: \(Q) queries, \(K) neighbours")
        self.init(neighbourCount: K, indices: Array(repeating: -1, count: Q * K),
                  similarities: Array(repeating: -.infinity, count: Q * K))
    }
}

/// Merges the memory rows firstIndex..<firstIndex+M into running top-K lists: after merging every part of a
/// memory in increasing order of firstIndex, `result` equals `nearestNeighbours` over the whole memory (up to the
/// rounding of the BLAS dot products), ties still going to the lower memory index. This is how a memory that is
/// never held whole (streamed from disk in chunks) is searched.
/// - Parameters:
///   - result: Q lists of `result.neighbourCount`, from `NeighbourList(empty:neighbours:)` or earlier merges.
///   - memory: [M, D] the rows numbered firstIndex..<firstIndex+M; M may be smaller than K.
package func mergeNearestNeighbours(
    into result: inout NeighbourList, queries: UnsafePointer<Float>, queryCount Q: Int, memory: UnsafePointer<Float>,
    memoryCount M: Int, firstIndex: Int, dimension D: Int, chunkRows: Int = 1024, queryBlock: Int = 1024
) {
    let K = result.neighbourCount
    precondition(result.indices.count == Q * K && result.similarities.count == Q * K,
                 "mergeNearestNeighbours: lists for \(result.indices.count / K) queries, \(Q) given")
    precondition(chunkRows >= 1 && queryBlock >= 1 && D >= 1 && M >= 0 && firstIndex >= 0 && firstIndex + M <= Int(Int32.max),
                 "mergeNearestNeighbours: chunkRows \(chunkRows), queryBlock \(queryBlock), dimension \(D), rows \(firstIndex)+\(M)")
    if Q == 0 || M == 0 { return }
    // A multiple of the thread count of blocks of at most queryBlock queries, as equal as possible, so that every
    // thread gets the same work (small query sets: one block per thread).
    let threads = ComputeThreads.count
    let rounds = (Q + threads * queryBlock - 1) / (threads * queryBlock)
    let block = max(1, (Q + threads * rounds - 1) / (threads * rounds))
    let blocks = (Q + block - 1) / block
    let chunk = min(chunkRows, M)
    result.indices.withUnsafeMutableBufferPointer { indices in
        result.similarities.withUnsafeMutableBufferPointer { similarities in
            let indexBase = indices.baseAddress!
            let similarityBase = similarities.baseAddress!
            ComputeThreads.parallelFor(blocks) { blockRange in
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: block * chunk)
                defer { scratch.deallocate() }
                for b in blockRange {
                    let q0 = b * block
                    let qn = min(block, Q - q0)
                    var m0 = 0
                    while m0 < M {
                        let mn = min(chunk, M - m0)
                        gemm(transposeA: false, transposeB: true, m: qn, n: mn, k: D, a: queries + q0 * D, lda: D,
                             b: memory + m0 * D, ldb: D, c: scratch, ldc: mn, parallel: false)
                        for qi in 0..<qn {
                            cribo_topk_merge(similarityBase + (q0 + qi) * K, indexBase + (q0 + qi) * K, Int32(K),
                                             scratch + qi * mn, Int32(mn), Int64(firstIndex + m0))
                        }
                        m0 += mn
                    }
                }
            }
        }
    }
}
