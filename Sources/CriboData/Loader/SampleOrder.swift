// SPDX-License-Identifier: Apache-2.0
// The order in which a rank reads a split, with torch's DistributedSampler semantics: a permutation that is a pure
// function of (seed, epoch), padded by repeating its start to a multiple of the world size, rank r taking every
// W-th index from r; then batches of the per-rank size with the remainder dropped (DataLoader drop_last=True).

import CriboTensor

/// Which samples a rank reads in an epoch.
package struct SampleOrder: Equatable, Sendable {
    package let count: Int
    package let worldSize: Int
    package let rank: Int
    package let seed: UInt64
    package let shuffle: Bool

    package init(count: Int, worldSize: Int = 1, rank: Int = 0, seed: UInt64 = 0, shuffle: Bool = true) {
        precondition(count > 0 && worldSize > 0 && rank >= 0 && rank < worldSize, "SampleOrder: count \(count), rank \(rank) of \(worldSize)")
        self.count = count
        self.worldSize = worldSize
        self.rank = rank
        self.seed = seed
        self.shuffle = shuffle
    }

    /// The permutation of 0..<count of `epoch` (Fisher–Yates from SplitMix64 keyed by seed and epoch), or the identity.
    package func permutation(epoch: Int) -> [Int] {
        var order = Array(0..<count)
        guard shuffle else { return order }
        var rng = SplitMix64(seed: SplitMix64.mix(seed, UInt64(epoch)))
        for i in stride(from: count - 1, to: 0, by: -1) { order.swapAt(i, rng.nextInt(below: i + 1)) }
        return order
    }

    /// This rank's indices for `epoch`: ceil(count/W) of them.
    package func indices(epoch: Int) -> [Int] {
        var order = permutation(epoch: epoch)
        let total = (count + worldSize - 1) / worldSize * worldSize
        var k = 0
        while order.count < total {  // pad by repeating from the start
            order.append(order[k % count])
            k += 1
        }
        return stride(from: rank, to: total, by: worldSize).map { order[$0] }
    }

    /// This rank's batches for `epoch`, the last incomplete one dropped.
    package func batches(epoch: Int, batchSize: Int) -> [[Int]] {
        let own = indices(epoch: epoch)
        return (0..<(own.count / batchSize)).map { Array(own[($0 * batchSize)..<(($0 + 1) * batchSize)]) }
    }

    /// floor(ceil(count/W)/B): iterations per epoch.
    package static func iterationsPerEpoch(count: Int, worldSize: Int, batchSize: Int) -> Int {
        (count + worldSize - 1) / worldSize / batchSize
    }
}
