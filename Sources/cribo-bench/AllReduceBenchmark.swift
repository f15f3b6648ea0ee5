// SPDX-License-Identifier: Apache-2.0
// `cribo-bench allreduce`: the gradient sum of data-parallel training (MPICommunicator.allReduceSum) over N MPI
// ranks of this machine, timed and checked, and the mean (allReduceMean) checked once: every rank fills a buffer that is a pure function of (rank, index), so
// each can compute the expected sum itself, in rank order; the result must equal it bit for bit on every rank (the
// shared-memory path sums in rank order; MPI_Reduce may not, so on that path, CRIBO_MPI_SHM=0 or no room for the
// segment, differences are only reported). Exits 1 on a mismatch of the shared-memory path.

import ArgumentParser
import CriboCommandLine
import CriboDistributed
import CriboTensor
import Foundation

extension CriboBench {
    struct AllReduce: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "allreduce",
            abstract: "Time and check the float sum over MPI ranks (the gradient all-reduce).",
            discussion: "CRIBO_MPI_SHM=0 times Open MPI's MPI_Reduce + MPI_Bcast instead of the shared-memory sum.")
        @Option(help: "Ranks (relaunches under mpirun).") var workers: Int = 8
        @Option(help: "Floats per rank (demo model gradients: 5.9M).") var count: Int = 5_900_000
        @Option(help: "Timed sums (after one warm-up).") var repeats: Int = 10

        func validate() throws {
            guard workers >= 1, count >= 1, repeats >= 1 else { throw ValidationError("--workers, --count, --repeats must be positive") }
        }

        func run() throws {
            guard let communicator = try MPIWorkers.communicator(workers: workers) else { return }
            defer { MPIWorkers.finish(communicator) }
            let (rank, size) = (communicator.rank, communicator.size)
            func value(_ r: Int, _ i: Int) -> Float { Float(Int((UInt64(i) &* 2_654_435_761 &+ UInt64(r) &* 40_503) % 2001) - 1000) * 1e-3 + Float(r) * 1e-7 }
            var expected = [Float](repeating: 0, count: count)
            for i in 0..<count {
                var sum = value(0, i)
                for r in 1..<max(size, 1) { sum += value(r, i) }
                expected[i] = sum
            }
            var buffer = [Float](repeating: 0, count: count)
            var seconds: [Double] = []
            var mismatches = 0
            var worst: Float = 0
            for repeat_ in 0...repeats {
                for i in 0..<count { buffer[i] = value(rank, i) }
                var barrier: [Float] = [0]
                barrier.withUnsafeMutableBufferPointer { communicator.allReduceSum($0) }
                let start = Date()
                buffer.withUnsafeMutableBufferPointer { communicator.allReduceSum($0) }
                if repeat_ > 0 { seconds.append(Date().timeIntervalSince(start)) }
                for i in 0..<count where buffer[i] != expected[i] {
                    mismatches += 1
                    worst = max(worst, abs(buffer[i] - expected[i]))
                }
            }
            // The mean (the gradient average of training): the same sum times Float(1)/Float(size), bit for bit.
            for i in 0..<count { buffer[i] = value(rank, i) }
            buffer.withUnsafeMutableBufferPointer { communicator.allReduceMean($0) }
            let scale = 1 / Float(max(size, 1))
            var meanMismatches = 0
            for i in 0..<count where buffer[i] != (size > 1 ? expected[i] * scale : expected[i]) { meanMismatches += 1 }
            mismatches += meanMismatches
            let exact = (communicator as? MPICommunicator)?.usesSharedMemorySum ?? true
            let meansDiffering = Int(communicator.sum(Int64(meanMismatches)))
            let gathered = communicator.allGather([Float(mismatches), worst])
            let totals = [stride(from: 0, to: gathered.count, by: 2).reduce(0.0) { $0 + Double(gathered[$1]) },
                          Double(stride(from: 1, to: gathered.count, by: 2).map { gathered[$0] }.max() ?? 0)]
            if communicator.isRoot {
                let median = seconds.sorted()[seconds.count / 2]
                let path = size == 1 ? "single process" : exact ? "shared memory" : "MPI_Reduce + MPI_Bcast"
                print(String(format: "%d ranks, %d floats, %@: median %.1f ms per sum; %d element sums (over ranks and repeats) differ from the rank-order sum, by at most %.2g; %d element means differ from the sum times 1/%d",
                             size, count, path as NSString, median * 1000, Int(totals[0]) - meansDiffering, totals[1], meansDiffering, size))
            }
            if exact && totals[0] > 0 { throw ExitCode(1) }
        }
    }
}
