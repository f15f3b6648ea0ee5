// SPDX-License-Identifier: Apache-2.0
// A thread-backed world for tests: N ranks run as threads of one process and exchange data through shared slots.
// Sums are taken in rank order on every rank, so the result is identical everywhere and independent of timing.

import Foundation

/// The shared state of a thread-backed world.
package final class LocalWorld: @unchecked Sendable {
    package let size: Int
    private let condition = NSCondition()
    private var arrived = 0
    private var generation = 0
    fileprivate var slots: [[UInt8]]

    package init(size: Int) {
        precondition(size >= 1, "LocalWorld: size must be at least 1")
        self.size = size
        slots = Array(repeating: [], count: size)
    }

    /// One communicator per rank.
    package func communicators() -> [LocalCommunicator] { (0..<size).map { LocalCommunicator(world: self, rank: $0) } }

    /// Runs `body(communicator)` on `size` dedicated threads (all ranks must run at once: collectives block until
    /// every rank arrives) and returns the results in rank order.
    package func run<T>(_ body: @escaping @Sendable (LocalCommunicator) throws -> T) throws -> [T] {
        let communicators = communicators()
        let results = ResultSlots<T>(count: size)
        let group = DispatchGroup()
        for rank in 0..<size {
            group.enter()
            let thread = Thread {
                results.store(rank, Result { try body(communicators[rank]) })
                group.leave()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        group.wait()
        return try results.values.map { try $0!.get() }
    }

    fileprivate func barrier() {
        condition.lock()
        let current = generation
        arrived += 1
        if arrived == size {
            arrived = 0
            generation += 1
            condition.broadcast()
        } else {
            while generation == current { condition.wait() }
        }
        condition.unlock()
    }

    fileprivate func deposit(_ bytes: [UInt8], rank: Int) {
        condition.lock()
        slots[rank] = bytes
        condition.unlock()
    }

    fileprivate func collect() -> [[UInt8]] {
        condition.lock()
        defer { condition.unlock() }
        return slots
    }
}

private final class ResultSlots<T>: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var values: [Result<T, Error>?]
    init(count: Int) { values = Array(repeating: nil, count: count) }
    func store(_ index: Int, _ value: Result<T, Error>) { lock.withLock { values[index] = value } }
}

/// One rank of a LocalWorld.
package final class LocalCommunicator: Communicator, @unchecked Sendable {
    package let rank: Int
    private let world: LocalWorld
    package var size: Int { world.size }

    fileprivate init(world: LocalWorld, rank: Int) {
        self.world = world
        self.rank = rank
    }

    /// Every rank's bytes, rank-ordered.
    private func exchange(_ bytes: [UInt8]) -> [[UInt8]] {
        world.deposit(bytes, rank: rank)
        world.barrier()
        let all = world.collect()
        world.barrier()
        return all
    }

    private func exchange<T>(_ values: UnsafeBufferPointer<T>) -> [[T]] {
        let bytes = Array(UnsafeRawBufferPointer(values))
        return exchange(bytes).map { data in data.withUnsafeBytes { Array($0.bindMemory(to: T.self)) } }
    }

    private func reduce<T: AdditiveArithmetic>(_ buffer: UnsafeMutableBufferPointer<T>) {
        let all = exchange(UnsafeBufferPointer(buffer))
        for i in buffer.indices {
            var total = T.zero
            for r in 0..<size { total += all[r][i] }
            buffer[i] = total
        }
    }

    package func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) { reduce(buffer) }
    package func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) { reduce(buffer) }
    package func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Int64>) { reduce(buffer) }

    package func allGather(_ input: [Float]) -> [Float] { input.withUnsafeBufferPointer { exchange($0) }.flatMap { $0 } }
    package func allGather(_ input: [Int64]) -> [Int64] { input.withUnsafeBufferPointer { exchange($0) }.flatMap { $0 } }

    package func allGatherVariable(_ input: [Float]) -> (values: [Float], counts: [Int]) {
        let all = input.withUnsafeBufferPointer { exchange($0) }
        return (all.flatMap { $0 }, all.map(\.count))
    }

    package func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) {
        let all = exchange(UnsafeBufferPointer(buffer))
        for i in buffer.indices { buffer[i] = all[root][i] }
    }

    package func broadcast(bytes: UnsafeMutableRawBufferPointer, root: Int) {
        let all = exchange(Array(UnsafeRawBufferPointer(bytes)))
        bytes.copyBytes(from: all[root])
    }

    package func barrier() { world.barrier() }
}
