// SPDX-License-Identifier: Apache-2.0
// Open MPI through the CCriboMPI shim. All-reductions are reduce-to-0 then broadcast (identical results on every
// rank); gathers are rank-ordered. An MPI error aborts the whole job: a rank that cannot take part in a collective
// would leave the others waiting forever.

import CCriboMPI
import Foundation

/// MPI_COMM_WORLD.
package final class MPICommunicator: Communicator, @unchecked Sendable {
    package let rank: Int
    package let size: Int
    /// Whether collectives first wait for all ranks sleeping instead of spinning: on when this machine runs more ranks
    /// than it has cores (Open MPI's OMPI_COMM_WORLD_LOCAL_SIZE), or as CRIBO_MPI_SLEEPY_WAIT=1/0 says.
    package let isSleepyWait: Bool

    /// Initialises MPI (once per process) and reads this process's rank and the world size.
    package init() throws {
        let status = cribo_mpi_init()
        guard status == 0 else { throw DistributedError.mpi(call: "MPI_Init_thread", code: Int(status)) }
        rank = Int(cribo_mpi_rank())
        size = Int(cribo_mpi_size())
        let environment = ProcessInfo.processInfo.environment
        let localRanks = Int(environment["OMPI_COMM_WORLD_LOCAL_SIZE"] ?? "") ?? size
        isSleepyWait = environment["CRIBO_MPI_SLEEPY_WAIT"].map { $0 != "0" }
            ?? (localRanks > ProcessInfo.processInfo.activeProcessorCount)
        cribo_mpi_set_sleepy_wait(isSleepyWait ? 1 : 0)
    }

    /// Whether this process was started by an MPI launcher (mpirun, srun with PMI), judged from the environment.
    package static var isLaunchedByMPI: Bool {
        let environment = ProcessInfo.processInfo.environment
        return ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK"].contains { environment[$0] != nil }
    }

    /// Whether large float sums use the one-node shared-memory path (known after the first one).
    package var usesSharedMemorySum: Bool { cribo_mpi_shared_sum_active() != 0 }

    /// Finalises MPI (call once, at the end of the program).
    package func finalize() { _ = cribo_mpi_finalize() }

    private func check(_ status: Int32, _ call: String) {
        if status != 0 {
            FileHandle.standardError.write(Data("rank \(rank): \(call) failed with MPI error \(status); aborting the job\n".utf8))
            cribo_mpi_abort(1)
        }
    }

    package func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) {
        check(cribo_mpi_allreduce_sum_float(buffer.baseAddress, Int64(buffer.count)), "MPI_Allreduce(float)")
    }

    package func allReduceMean(_ buffer: UnsafeMutableBufferPointer<Float>) {
        check(cribo_mpi_allreduce_mean_float(buffer.baseAddress, Int64(buffer.count)), "MPI_Allreduce(float mean)")
    }

    package func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) {
        check(cribo_mpi_allreduce_sum_double(buffer.baseAddress, Int64(buffer.count)), "MPI_Allreduce(double)")
    }

    package func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Int64>) {
        check(cribo_mpi_allreduce_sum_int64(buffer.baseAddress, Int64(buffer.count)), "MPI_Allreduce(int64)")
    }

    package func allGather(_ input: [Float]) -> [Float] {
        var output = [Float](repeating: 0, count: input.count * size)
        check(cribo_mpi_allgather_float(input, &output, Int64(input.count)), "MPI_Allgather(float)")
        return output
    }

    package func allGather(_ input: [Int64]) -> [Int64] {
        var output = [Int64](repeating: 0, count: input.count * size)
        check(cribo_mpi_allgather_int64(input, &output, Int64(input.count)), "MPI_Allgather(int64)")
        return output
    }

    package func allGatherVariable(_ input: [Float]) -> (values: [Float], counts: [Int]) {
        let counts = allGather([Int64(input.count)])
        var output = [Float](repeating: 0, count: Int(counts.reduce(0, +)))
        check(cribo_mpi_allgatherv_float(input, Int64(input.count), &output, counts), "MPI_Allgatherv")
        return (output, counts.map(Int.init))
    }

    package func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) {
        check(cribo_mpi_broadcast_float(buffer.baseAddress, Int64(buffer.count), Int32(root)), "MPI_Bcast(float)")
    }

    package func broadcast(bytes: UnsafeMutableRawBufferPointer, root: Int) {
        check(cribo_mpi_broadcast_bytes(bytes.baseAddress, Int64(bytes.count), Int32(root)), "MPI_Bcast(bytes)")
    }

    package func barrier() { check(cribo_mpi_barrier(), "MPI_Barrier") }

    package func nodeSharedFloats(count: Int) -> UnsafeMutablePointer<Float>? {
        size > 1 ? cribo_mpi_node_shared_alloc(Int64(count)) : nil
    }

    package func nodeFence() { check(cribo_mpi_node_fence(), "MPI_Win_sync + MPI_Barrier (node)") }
}

/// Failures of the distributed layer.
package enum DistributedError: Error, CustomStringConvertible {
    case mpi(call: String, code: Int)

    package var description: String {
        switch self {
        case .mpi(let call, let code): return "\(call) failed with MPI error \(code) (is Open MPI installed and the job started by mpirun?)"
        }
    }
}
