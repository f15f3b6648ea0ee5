// SPDX-License-Identifier: Apache-2.0
// The collectives of data-parallel CrIBo (spec §7) behind one protocol: MPI for real runs (one process per
// rank), a thread-backed LocalCommunicator as a test double, and a trivial single-process one. Every collective is
// rank-ordered and leaves identical results on all ranks, so replicated state (weights, queues) stays bitwise equal.

import CriboTensor

/// A group of ranks and the collectives cribo uses.
package protocol Communicator: AnyObject, Sendable {
    /// This process's (or thread's) rank, 0..<size.
    var rank: Int { get }
    var size: Int { get }
    /// Element-wise sum over ranks, in place; every rank receives the same values.
    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>)
    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>)
    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Int64>)
    /// Element-wise mean over ranks, in place: the sum of `allReduceSum`, each element then multiplied by
    /// Float(1)/Float(size) (one product per element, so the result does not depend on where it is computed).
    func allReduceMean(_ buffer: UnsafeMutableBufferPointer<Float>)
    /// The concatenation of every rank's `input` in rank order (equal lengths on all ranks).
    func allGather(_ input: [Float]) -> [Float]
    func allGather(_ input: [Int64]) -> [Int64]
    /// The concatenation of every rank's `input` in rank order, lengths may differ; also returns each rank's length.
    func allGatherVariable(_ input: [Float]) -> (values: [Float], counts: [Int])
    /// Copies rank `root`'s buffer to every rank.
    func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int)
    func broadcast(bytes: UnsafeMutableRawBufferPointer, root: Int)
    func barrier()
    /// Collective: `count` zero-filled floats that every rank of a one-node world sees (the same memory), or nil on
    /// every rank where the world has none (threads, several nodes, CRIBO_MPI_SHM=0). Stays valid for the run.
    func nodeSharedFloats(count: Int) -> UnsafeMutablePointer<Float>?
    /// A barrier after which every rank's writes to node-shared memory are visible to all ranks.
    func nodeFence()
}

extension Communicator {
    /// No node-shared memory.
    package func nodeSharedFloats(count: Int) -> UnsafeMutablePointer<Float>? { nil }
    /// A barrier.
    package func nodeFence() { barrier() }

    /// The mean as a sum followed by a pass multiplying by 1/size.
    package func allReduceMean(_ buffer: UnsafeMutableBufferPointer<Float>) {
        allReduceSum(buffer)
        guard size > 1 else { return }
        let scale = 1 / Float(size)
        let base = buffer.baseAddress!
        ComputeThreads.parallelFor(buffer.count, grain: 65_536) { range in for i in range { base[i] *= scale } }
    }

    /// Sum over ranks of one value.
    package func sum(_ value: Double) -> Double {
        var values = [value]
        values.withUnsafeMutableBufferPointer { allReduceSum($0) }
        return values[0]
    }

    /// Sum over ranks of one integer.
    package func sum(_ value: Int64) -> Int64 {
        var values = [value]
        values.withUnsafeMutableBufferPointer { allReduceSum($0) }
        return values[0]
    }

    /// Whether this is rank 0 (the one that writes checkpoints and logs).
    package var isRoot: Bool { rank == 0 }
}

/// The world of one process: every collective is the identity.
package final class SingleProcessCommunicator: Communicator {
    package init() {}
    package var rank: Int { 0 }
    package var size: Int { 1 }
    package func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) {}
    package func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) {}
    package func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Int64>) {}
    package func allGather(_ input: [Float]) -> [Float] { input }
    package func allGather(_ input: [Int64]) -> [Int64] { input }
    package func allGatherVariable(_ input: [Float]) -> (values: [Float], counts: [Int]) { (input, [input.count]) }
    package func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) {}
    package func broadcast(bytes: UnsafeMutableRawBufferPointer, root: Int) {}
    package func barrier() {}
}
