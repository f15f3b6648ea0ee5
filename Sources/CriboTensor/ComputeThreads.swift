// SPDX-License-Identifier: Apache-2.0
// The thread pool of the kernels: a fixed thread count and a deterministic static partition. Which thread
// computes an element never changes the value computed (reductions use fixed-size chunks, see `chunkedSum`).

import CCriboShims
import Foundation

/// The number of threads cribo's kernels use, and the parallel loop that uses them.
///
/// Default: `CRIBO_THREADS` if set; else, under an MPI launcher that puts several ranks on this machine, the cores
/// divided among them (at least 1 per rank); else all cores.
package enum ComputeThreads {
    nonisolated(unsafe) private static var configured: Int = defaultCount(
        environment: ProcessInfo.processInfo.environment, cores: ProcessInfo.processInfo.activeProcessorCount)

    /// The default thread count for an environment and core count (see the type's documentation).
    package static func defaultCount(environment: [String: String], cores: Int) -> Int {
        if let text = environment["CRIBO_THREADS"], let value = Int(text), value > 0 { return value }
        let localRankVariables = ["OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE"]
        for name in localRankVariables {
            if let text = environment[name], let ranks = Int(text), ranks > 1 { return max(1, cores / ranks) }
        }
        return max(1, cores)
    }

    /// The thread count used by `parallelFor` (at least 1).
    package static var count: Int {
        get { configured }
        set {
            precondition(newValue >= 1, "ComputeThreads.count must be at least 1, got \(newValue)")
            configured = newValue
        }
    }

    /// Runs `body(range)` over a fixed partition of `0..<total` into contiguous ranges, spread over the threads.
    ///
    /// The partition depends only on `total`, `grain`, `count` and `chunksPerThread`: at most
    /// `count · chunksPerThread` ranges, whole multiples of `grain` (except the last), so that a kernel may rely on
    /// alignment. Free threads claim the ranges in order, so a thread that starts late (asleep, or descheduled by
    /// the host) only means the others run more of them; which thread runs a range never changes its result.
    /// Runs inline when there is one thread or too little work (`total <= grain`).
    package static func parallelFor(_ total: Int, grain: Int = 1, chunksPerThread: Int = 4, _ body: (Range<Int>) -> Void) {
        parallelFor(total, grain: grain, chunksPerThread: chunksPerThread, threads: count, body)
    }

    /// `parallelFor` on `threads` threads instead of `count` (tests use it: `count` is shared by every test).
    package static func parallelFor(
        _ total: Int, grain: Int = 1, chunksPerThread: Int = 4, threads requested: Int, _ body: (Range<Int>) -> Void
    ) {
        if total <= 0 { return }
        let units = (total + grain - 1) / grain
        let threads = min(max(1, requested), units)
        if threads <= 1 {
            body(0..<total)
            return
        }
        let chunks = min(units, threads * max(1, chunksPerThread))
        let perChunk = (units + chunks - 1) / chunks
        let used = (units + perChunk - 1) / perChunk
        withoutActuallyEscaping(body) { body in
            let job = PoolJob { t in
                let start = t * perChunk * grain
                let end = min(total, (t + 1) * perChunk * grain)
                if start < end { body(start..<end) }
            }
            withExtendedLifetime(job) {
                cribo_pool_run(Int32(threads), Int32(used), { context, index in
                    Unmanaged<PoolJob>.fromOpaque(context!).takeUnretainedValue().run(Int(index))
                }, Unmanaged.passUnretained(job).toOpaque())
            }
        }
    }

    /// Runs `body(index)` for every index in `0..<total`, spread over the threads.
    package static func parallelForEach(_ total: Int, _ body: (Int) -> Void) {
        parallelFor(total) { range in for index in range { body(index) } }
    }
}

/// One parallel loop handed to the C pool (`cribo_pool_run`): index t runs the t-th range.
private final class PoolJob {
    let run: (Int) -> Void
    init(_ run: @escaping (Int) -> Void) { self.run = run }
}
