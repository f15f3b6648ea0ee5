// SPDX-License-Identifier: Apache-2.0
// ComputeThreads.parallelFor and the C pool under it: the fixed partition, claiming by whichever thread is free,
// nesting, concurrent callers, and many small jobs in a row.

import CCriboShims
import CriboTensor
import Dispatch
import Foundation
import Synchronization
import Testing

@Suite(.serialized) struct ComputeThreadsTests {
    /// Ranges seen by one parallelFor, collected from any thread.
    final class Ranges: @unchecked Sendable {
        private let lock = NSLock()
        private var ranges: [Range<Int>] = []
        func append(_ range: Range<Int>) { lock.withLock { ranges.append(range) } }
        var sorted: [Range<Int>] { lock.withLock { ranges.sorted { $0.lowerBound < $1.lowerBound } } }
    }

    // Every test here names its thread count (`threads:`) instead of setting the shared `ComputeThreads.count`, which
    // tests of other suites, running at the same time, change.

    @Test func partitionIsFixedCoversEverythingOnceAndKeepsTheGrain() {
        for threads in [1, 2, 3] {
            for (total, grain, perThread) in [(1, 1, 4), (7, 1, 4), (100, 16, 1), (100, 16, 2), (1000, 8, 4), (4097, 4096, 4),
                                              (12345, 64, 3)] {
                var first: [Range<Int>]?
                for _ in 0..<3 {
                    let seen = Ranges()
                    ComputeThreads.parallelFor(total, grain: grain, chunksPerThread: perThread, threads: threads) { seen.append($0) }
                    let ranges = seen.sorted
                    #expect(ranges.first?.lowerBound == 0 && ranges.last?.upperBound == total)
                    #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound }, "gaps or overlaps")
                    #expect(ranges.dropLast().allSatisfy { $0.count % grain == 0 && !$0.isEmpty }, "a range off the grain")
                    #expect(ranges.count <= max(1, threads * perThread), "\(ranges.count) ranges for \(threads)x\(perThread)")
                    if let first { #expect(ranges == first, "the partition changed between runs") } else { first = ranges }
                }
            }
        }
    }

    @Test func aFreeThreadTakesTheRangesABusyOneCannot() {
        // The thread that runs range 0 waits until every other range is done: only possible if the other thread
        // claims them all (a fixed range-per-thread assignment would deadlock; the wait gives up after 3 s). When
        // another test holds the pool, the loop runs inline on the caller, in order; that attempt proves nothing
        // and is repeated.
        let caller = pthread_self()
        for _ in 0..<10 {
            let others = Atomic<Int>(0)
            let timedOut = Atomic<Bool>(false)
            let othersOnCaller = Atomic<Int>(0)
            ComputeThreads.parallelFor(8, chunksPerThread: 4, threads: 2) { range in
                if range.lowerBound == 0 {
                    let deadline = Date().addingTimeInterval(3)
                    while others.load(ordering: .acquiring) < 7 {
                        if Date() > deadline { timedOut.store(true, ordering: .relaxed); return }
                        usleep(100)
                    }
                } else {
                    if pthread_equal(pthread_self(), caller) != 0 { othersOnCaller.add(1, ordering: .relaxed) }
                    others.add(range.count, ordering: .releasing)
                }
            }
            let (done, gaveUp, inline) = (others.load(ordering: .relaxed), timedOut.load(ordering: .relaxed),
                                          othersOnCaller.load(ordering: .relaxed))
            #expect(done == 7)
            if gaveUp && inline == 7 { continue }  // ran inline
            #expect(!gaveUp, "ranges 1–7 were not taken by the free thread")
            return
        }
        Issue.record("the pool was busy in 10 attempts: the claiming was never exercised")
    }

    @Test func lowerThreadCountsUseFewerThreads() {
        // After a 4-thread loop has started 3 workers, a 2-thread loop runs on at most 2 threads.
        for threads in [4, 2, 1] {
            let seen = Mutex<Set<UInt>>([])
            for _ in 0..<20 {
                ComputeThreads.parallelFor(64, chunksPerThread: 4, threads: threads) { _ in
                    let me = UInt(pthread_self())
                    seen.withLock { _ = $0.insert(me) }
                    usleep(50)
                }
            }
            let count = seen.withLock { $0.count }
            #expect(count <= threads, "\(count) threads ran a \(threads)-thread loop")
        }
    }

    @Test func nestedAndConcurrentCallsRunEverything() {
        // Nested: the inner loops run inline on whichever thread runs the outer range.
        let sum = Atomic<Int>(0)
        ComputeThreads.parallelFor(10, threads: 2) { outer in
            for i in outer {
                ComputeThreads.parallelFor(100, grain: 7, threads: 2) { inner in sum.add(inner.reduce(0, +) * (i + 1), ordering: .relaxed) }
            }
        }
        let nestedSum = sum.load(ordering: .relaxed)
        #expect(nestedSum == 4950 * 55)
        // Concurrent callers: one gets the pool, the others run inline; all finish with the right answers.
        let results = Mutex<[Int: Int]>([:])
        DispatchQueue.concurrentPerform(iterations: 4) { caller in
            for round in 0..<200 {
                let total = Atomic<Int>(0)
                ComputeThreads.parallelFor(1000 + round, grain: 16, threads: 2) { range in total.add(range.reduce(0, +), ordering: .relaxed) }
                let n = 1000 + round
                if total.load(ordering: .relaxed) != n * (n - 1) / 2 { results.withLock { $0[caller, default: 0] += 1 } }
            }
        }
        #expect(results.withLock { $0.isEmpty }, "wrong sums: \(results.withLock { $0 })")
    }

    @Test func manySmallJobsInARow() {
        // Back-to-back jobs, some after a pause long enough for the workers to go to sleep: none may be lost.
        for threads in [2, 3] {
            var wrong = 0
            for job in 0..<20_000 {
                if job % 5000 == 4999 { usleep(5000) }
                let total = Atomic<Int>(0)
                ComputeThreads.parallelFor(64, chunksPerThread: 2, threads: threads) { range in total.add(range.count, ordering: .relaxed) }
                if total.load(ordering: .relaxed) != 64 { wrong += 1 }
            }
            #expect(wrong == 0, "\(wrong) jobs of 20000 lost ranges at \(threads) threads")
        }
    }
}
