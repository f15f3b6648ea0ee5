// SPDX-License-Identifier: Apache-2.0
// Exact k-NN by inner product: the chunked GEMM + running top-k against a Double brute force, for chunk and block
// sizes that do not divide the sizes, and the tie rule (lower memory index first).

import CCriboShims
import CriboEval
import CriboTensor
import CriboTestSupport
import Testing

@Suite(.serialized) struct NearestNeighbourSearchTests {}

extension NearestNeighbourSearchTests {
    @Test(arguments: [(1000, 7, 64), (1000, 333, 5), (997, 4096, 256), (50, 1, 3)])
    func matchesBruteForce(memoryCount M: Int, chunkRows: Int, queryBlock: Int) {
        let (Q, D, K) = (37, 24, 10)
        let queries = randomTensor([Q, D], seed: 21)
        let memory = randomTensor([M, D], seed: 22)
        let found = nearestNeighbours(
            queries: queries.pointer, queryCount: Q, memory: memory.pointer, memoryCount: M, dimension: D,
            neighbours: K, chunkRows: chunkRows, queryBlock: queryBlock)
        for q in 0..<Q {
            let exact = (0..<M).map { m in
                (0..<D).reduce(0.0) { $0 + Double(queries[flat: q * D + $1]) * Double(memory[flat: m * D + $1]) }
            }
            let expected = (0..<M).sorted { exact[$0] > exact[$1] || (exact[$0] == exact[$1] && $0 < $1) }.prefix(K)
            #expect(found.indices[(q * K)..<((q + 1) * K)].map { Int($0) } == Array(expected), "query \(q)")
            for j in 0..<K {
                let index = Int(found.indices[q * K + j])
                // Float32 dot products of length 24 over values of order 1.
                #expect(abs(Double(found.similarities[q * K + j]) - exact[index]) < 1e-4)
            }
        }
    }

    @Test func resultDoesNotDependOnThreadCount() {
        let (Q, M, D, K) = (300, 2000, 32, 30)
        let queries = randomTensor([Q, D], seed: 5)
        let memory = randomTensor([M, D], seed: 6)
        let saved = ComputeThreads.count
        defer { ComputeThreads.count = saved }
        var results: [NeighbourList] = []
        for threads in [1, 3] {
            ComputeThreads.count = threads
            results.append(nearestNeighbours(queries: queries.pointer, queryCount: Q, memory: memory.pointer,
                                             memoryCount: M, dimension: D, neighbours: K, chunkRows: 700, queryBlock: 64))
        }
        #expect(results[0] == results[1])
    }

    @Test func tiesGoToTheLowerMemoryIndex() {
        // Small-integer vectors: every dot product is exact in Float32, so equal rows tie exactly.
        // Memory rows: 0 = (1,0), 1 = (2,0), 2 = (1,0), 3 = (0,1), 4 = (2,0), 5 = (1,0); query (1, 0):
        // similarities 1, 2, 1, 0, 2, 1 → ranked 1, 4 (both 2), then 0, 2, 5 (all 1), then 3.
        let memory: [Float] = [1, 0, 2, 0, 1, 0, 0, 1, 2, 0, 1, 0]
        let query: [Float] = [1, 0]
        for chunkRows in [1, 2, 4, 6] {
            let found = nearestNeighbours(queries: query, queryCount: 1, memory: memory, memoryCount: 6, dimension: 2,
                                          neighbours: 4, chunkRows: chunkRows)
            #expect(found.indices == [1, 4, 0, 2], "chunk \(chunkRows)")
            #expect(found.similarities == [2, 2, 1, 1])
        }
    }

    @Test(arguments: [[1000], [3, 400, 597], [7, 7, 986], [500, 1, 499]])
    func mergingPartsInOrderEqualsOneSearch(parts: [Int]) {
        // A memory streamed in parts (some smaller than K) gives the one-search result, exact ties included: the
        // memory repeats rows so that equal similarities occur across part boundaries.
        let (Q, D, K) = (41, 16, 12)
        let queries = randomTensor([Q, D], seed: 31)
        let distinct = randomTensor([250, D], seed: 32)
        let memory = (0..<1000).flatMap { m in (0..<D).map { distinct[flat: (m % 250) * D + $0] } }
        let whole = nearestNeighbours(queries: queries.pointer, queryCount: Q, memory: memory, memoryCount: 1000, dimension: D,
                                      neighbours: K, chunkRows: 64, queryBlock: 16)
        var merged = NeighbourList(empty: Q, neighbours: K)
        var first = 0
        memory.withUnsafeBufferPointer { memory in
            for count in parts {
                mergeNearestNeighbours(into: &merged, queries: queries.pointer, queryCount: Q, memory: memory.baseAddress! + first * D,
                                       memoryCount: count, firstIndex: first, dimension: D, chunkRows: 64, queryBlock: 16)
                first += count
            }
        }
        #expect(merged == whole)
        // Each query's best row is one of the four copies of its best distinct row, the lowest of them first.
        #expect((0..<Q).allSatisfy { q in whole.indices[q * K] < 250 && whole.indices[q * K + 1] == whole.indices[q * K] + 250 })
    }

    @Test func simdMergeEqualsTheScalarRule() {
        // cribo_topk_merge against the rule written out in Swift, on small integers (many exact ties inside one
        // 16-wide vector), NaN, and lists that start partly filled; counts that do and do not fill whole vectors.
        var rng = SplitMix64(seed: 99)
        for trial in 0..<300 {
            let K = 1 + rng.nextInt(below: 12)
            let count = rng.nextInt(below: 70)
            let candidates = (0..<count).map { _ -> Float in rng.nextInt(below: 40) == 0 ? .nan : Float(rng.nextInt(below: 6)) }
            let prefilled = rng.nextInt(below: K + 1)
            var similarities = (0..<K).map { $0 < prefilled ? Float(5 - $0 % 6) : -Float.infinity }.sorted(by: >)
            var indices = (0..<K).map { $0 < prefilled ? Int32(1000 + $0) : -1 }
            var expectedSimilarities = similarities
            var expectedIndices = indices
            for (j, s) in candidates.enumerated() where s > expectedSimilarities[K - 1] {
                var position = K - 1
                while position > 0 && expectedSimilarities[position - 1] < s {
                    expectedSimilarities[position] = expectedSimilarities[position - 1]
                    expectedIndices[position] = expectedIndices[position - 1]
                    position -= 1
                }
                expectedSimilarities[position] = s
                expectedIndices[position] = Int32(7 + j)
            }
            let (startSimilarities, startIndices) = (similarities, indices)
            for level in [2, 1, 0] {  // AVX-512, AVX2, scalar (as far as this CPU has them)
                cribo_simd_limit(Int32(level))
                defer { cribo_simd_limit(2) }
                (similarities, indices) = (startSimilarities, startIndices)
                candidates.withUnsafeBufferPointer { candidates in
                    cribo_topk_merge(&similarities, &indices, Int32(K), candidates.baseAddress, Int32(count), 7)
                }
                #expect(similarities == expectedSimilarities && indices == expectedIndices,
                        "trial \(trial), SIMD level \(level): K \(K), count \(count)")
            }
        }
    }
}
