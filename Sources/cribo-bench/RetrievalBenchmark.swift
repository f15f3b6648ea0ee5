// SPDX-License-Identifier: Apache-2.0
// `cribo-bench retrieval`: queries/s of the exact inner-product search of the dense k-NN evaluation
// (`nearestNeighbours`) against a seeded bank of unit-norm Gaussian rows, per memory size and thread count, with the
// effective GFLOP/s (2·Q·M·D / s) and the peak RSS. Every timed search is checked on a few queries against a
// brute-force Float64 top-K. Benchmarks/reference/retrieval_faiss.py times faiss-cpu IndexFlatIP on the same shapes.
// Legend: Q queries, M memory rows, D dimension, K neighbours.

import ArgumentParser
import CriboEval
import CriboTensor
import Foundation

extension CriboBench {
    struct Retrieval: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Exact k-NN search queries/s (nearestNeighbours) on a random unit-norm memory bank.",
            discussion: """
                One row per memory size and thread count. Each size allocates its bank once (M·D·4 bytes: 15.4 GB for \
                10M x 384); sizes run in ascending order, so the peak RSS of a row is that of the largest bank so far. \
                The reference: python Benchmarks/reference/retrieval_faiss.py with the same options.
                """)
        @Option(help: "Comma-separated memory rows (M).") var memory: String = "1000000"
        @Option(help: "Timed queries (Q).") var queries: Int = 2048
        @Option(help: "Feature dimension (D).") var dim: Int = 384
        @Option(help: "Neighbours per query (K).") var k: Int = 30
        @Option(help: "Comma-separated thread counts.") var threads: String = "1,2"
        @Option(help: "Seed of the bank and the queries.") var seed: UInt64 = 0
        @Option(help: "Memory rows per GEMM (nearestNeighbours' chunkRows).") var chunkRows: Int = 1024
        @Option(help: "Queries per block (nearestNeighbours' queryBlock).") var queryBlock: Int = 1024
        @Option(help: "Queries checked against a brute-force Float64 search.") var checks: Int = 4
        @Option(help: "Timed searches per row (the median is reported).") var repeats: Int = 1

        private var memorySizes: [Int] { memory.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.sorted() }
        private var threadCounts: [Int] { threads.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

        func validate() throws {
            guard !memorySizes.isEmpty, memorySizes.allSatisfy({ $0 >= k }) else {
                throw ValidationError("--memory \(memory): expected comma-separated row counts, each at least --k \(k)")
            }
            guard !threadCounts.isEmpty, threadCounts.allSatisfy({ $0 >= 1 }) else {
                throw ValidationError("--threads \(threads): expected comma-separated positive counts")
            }
            guard queries >= 1, dim >= 1, k >= 1, chunkRows >= 1, queryBlock >= 1, repeats >= 1, (0...queries).contains(checks) else {
                throw ValidationError("--queries \(queries), --dim \(dim), --k \(k), --chunk-rows \(chunkRows), --query-block \(queryBlock), "
                    + "--repeats \(repeats) must be positive and --checks \(checks) within 0...queries")
            }
        }

        func run() throws {
            let (Q, D, K) = (queries, dim, k)
            let runtime = BLASRuntime.shared
            print("cribo retrieval benchmark (release build): nearestNeighbours, exact inner product, chunk rows \(chunkRows), query block \(queryBlock)")
            print("OpenBLAS core: \(runtime.coreName) (\(runtime.choice.rawValue)); cores: \(ProcessInfo.processInfo.activeProcessorCount); "
                + "unit-norm Gaussian rows and queries, seed \(seed); \(repeats == 1 ? "one timed search" : "median of \(repeats) searches") after a warm-up")
            print("memory rows     D    k  threads  queries    seconds   queries/s   GFLOP/s  peak RSS MiB")
            print("-----------  ----  ---  -------  -------  ---------  ----------  --------  ------------")
            fflush(stdout)
            let query = UnsafeMutablePointer<Float>.allocate(capacity: Q * D)  // [Q, D]
            defer { query.deallocate() }
            fillUnitRows(query, count: Q, dimension: D, seed: SplitMix64.mix(seed, 2))
            let checked = (0..<checks).map { $0 * Q / checks }
            var checkLines: [String] = []
            var failures: [String] = []
            for M in memorySizes {
                let bank = UnsafeMutablePointer<Float>.allocate(capacity: M * D)  // [M, D], allocated once
                defer { bank.deallocate() }
                var started = Date()
                fillUnitRows(bank, count: M, dimension: D, seed: SplitMix64.mix(seed, 1))
                progress(String(format: "M=%d: bank of %.2f GB filled in %.1f s", M, Double(M * D * 4) / 1e9, Date().timeIntervalSince(started)))
                started = Date()
                let reference = bruteForceTopK(queries: query, checked: checked, memory: bank, memoryCount: M, dimension: D, neighbours: K)
                progress(String(format: "M=%d: brute-force Float64 top-%d of %d queries in %.1f s", M, K, checks, Date().timeIntervalSince(started)))
                for t in threadCounts {
                    ComputeThreads.count = t
                    // Untimed: starts the pool threads and OpenBLAS's buffers on a corner of the workload (512 queries,
                    // as the reference, whose BLAS path needs Q·D ≥ 128000).
                    _ = nearestNeighbours(queries: query, queryCount: min(Q, 512), memory: bank, memoryCount: min(M, 262_144), dimension: D,
                                          neighbours: K, chunkRows: chunkRows, queryBlock: queryBlock)
                    var result: NeighbourList?
                    let seconds = median(warmup: 0, repeats: repeats) {
                        result = nearestNeighbours(queries: query, queryCount: Q, memory: bank, memoryCount: M, dimension: D,
                                                   neighbours: K, chunkRows: chunkRows, queryBlock: queryBlock)
                    }
                    print(String(format: "%11d  %4d  %3d  %7d  %7d  %9.3f  %10.1f  %8.1f  %12.0f", M, D, K, t, Q, seconds, Double(Q) / seconds,
                                 2 * Double(Q) * Double(M) * Double(D) / seconds / 1e9, peakResidentMiB()))
                    fflush(stdout)
                    let check = spotCheck(result: result!, reference: reference, checked: checked, queries: query, memory: bank, dimension: D)
                    checkLines.append("M=\(M), threads \(t): \(check.summary)")
                    failures += check.failures
                }
            }
            print("\nSpot check against a brute-force Float64 search (queries \(checked.map(String.init).joined(separator: ","))):")
            for line in checkLines { print("  " + line) }
            if !failures.isEmpty { throw RetrievalCheckFailure(lines: failures) }
        }

        private func progress(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }
    }
}

/// A search whose neighbours disagree with the brute force beyond near-ties.
private struct RetrievalCheckFailure: Error, CustomStringConvertible {
    let lines: [String]
    var description: String { "nearestNeighbours disagrees with the brute force:\n" + lines.prefix(10).joined(separator: "\n") }
}

/// One memory row and its Float64 inner product with a query.
private struct Candidate {
    var similarity: Double
    var index: Int
}

/// Rows per random stream: the bank does not depend on the thread count that fills it.
private let rowsPerStream = 4096

/// Fills [R, D] with N(0, I) rows scaled to unit L2 norm, in parallel; rows b·4096..< come from the stream
/// SplitMix64(mix(seed, b)), each pair of values from one draw of Marsaglia's polar method (no trigonometry).
private func fillUnitRows(_ rows: UnsafeMutablePointer<Float>, count R: Int, dimension D: Int, seed: UInt64) {
    ComputeThreads.parallelForEach((R + rowsPerStream - 1) / rowsPerStream) { b in
        var rng = SplitMix64(seed: SplitMix64.mix(seed, UInt64(b)))
        for r in (b * rowsPerStream)..<min(R, (b + 1) * rowsPerStream) {
            let row = rows + r * D
            var squares = 0.0
            for d in stride(from: 0, to: D, by: 2) {
                var u = 0.0, v = 0.0, radius2 = 0.0
                repeat {
                    u = rng.nextUniform(-1, 1)
                    v = rng.nextUniform(-1, 1)
                    radius2 = u * u + v * v
                } while radius2 >= 1 || radius2 == 0
                let factor = (-2 * log(radius2) / radius2).squareRoot()
                let pair = (u * factor, v * factor)
                row[d] = Float(pair.0)
                squares += Double(row[d]) * Double(row[d])
                if d + 1 < D {
                    row[d + 1] = Float(pair.1)
                    squares += Double(row[d + 1]) * Double(row[d + 1])
                }
            }
            let inverse = Float(1 / squares.squareRoot())
            for d in 0..<D { row[d] *= inverse }
        }
    }
}

/// ⟨query, row⟩ accumulated in Float64.
private func dot64(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ D: Int) -> Double {
    var sum = 0.0
    for d in 0..<D { sum += Double(a[d]) * Double(b[d]) }
    return sum
}

/// The K rows of largest Float64 inner product with each checked query, best first, the lower index first among
/// equal products: [checked.count][K]. Slices of the memory run in parallel, each keeping its own top-K.
private func bruteForceTopK(
    queries: UnsafePointer<Float>, checked: [Int], memory: UnsafePointer<Float>, memoryCount M: Int, dimension D: Int, neighbours K: Int
) -> [[Candidate]] {
    let C = checked.count
    let slices = min(M, 256)
    var best = [Candidate](repeating: Candidate(similarity: -.infinity, index: Int.max), count: slices * C * K)  // [slices, C, K]
    best.withUnsafeMutableBufferPointer { best in
        let base = best.baseAddress!
        ComputeThreads.parallelForEach(slices) { s in
            for m in (s * M / slices)..<((s + 1) * M / slices) {
                for c in 0..<C {
                    let similarity = dot64(queries + checked[c] * D, memory + m * D, D)
                    let list = base + (s * C + c) * K
                    // Rows arrive in increasing order, so a strictly greater product is needed to pass an equal one.
                    if !(similarity > list[K - 1].similarity) { continue }
                    var position = K - 1
                    while position > 0 && list[position - 1].similarity < similarity {
                        list[position] = list[position - 1]
                        position -= 1
                    }
                    list[position] = Candidate(similarity: similarity, index: m)
                }
            }
        }
    }
    var merged: [[Candidate]] = []
    for c in 0..<C {
        var pooled: [Candidate] = []
        for s in 0..<slices {
            let start = (s * C + c) * K
            pooled += best[start..<(start + K)]
        }
        pooled.sort(by: isBetter)
        merged.append(Array(pooled.prefix(K)))
    }
    return merged
}

/// The ranking of the search: larger product first, then the lower row.
private func isBetter(_ a: Candidate, _ b: Candidate) -> Bool {
    a.similarity > b.similarity || (a.similarity == b.similarity && a.index < b.index)
}

/// Compares the neighbours of the checked queries with the brute force: equal indices, or a swap between rows whose
/// Float64 products differ by at most `nearTie` (the Float32 GEMM may order such rows either way).
private func spotCheck(
    result: NeighbourList, reference: [[Candidate]], checked: [Int], queries: UnsafePointer<Float>, memory: UnsafePointer<Float>, dimension D: Int
) -> (summary: String, failures: [String]) {
    // Float32 rounding of a 384-term dot product of unit vectors is ~1e-7–1e-6.
    let nearTie = 1e-5
    let K = result.neighbourCount
    var equal = 0, swaps = 0, maximumError = 0.0
    var failures: [String] = []
    for (c, q) in checked.enumerated() {
        for j in 0..<K {
            let index = Int(result.indices[q * K + j])
            let expected = reference[c][j]
            guard index >= 0 else {
                failures.append("query \(q) rank \(j): no row (index \(index))")
                continue
            }
            let similarity = dot64(queries + q * D, memory + index * D, D)
            maximumError = max(maximumError, abs(Double(result.similarities[q * K + j]) - similarity))
            if index == expected.index {
                equal += 1
            } else if abs(similarity - expected.similarity) <= nearTie {
                swaps += 1
            } else {
                failures.append("query \(q) rank \(j): row \(index) (\(similarity)), brute force row \(expected.index) (\(expected.similarity))")
            }
        }
    }
    let summary = String(format: "%d of %d neighbours equal, %d near-tie swaps (|Δ| ≤ %.0e), %d wrong; max |similarity − Float64| %.1e",
                         equal, checked.count * K, swaps, nearTie, failures.count, maximumError)
    return (summary, failures)
}
