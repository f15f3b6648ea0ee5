// SPDX-License-Identifier: Apache-2.0
// The sample order (DistributedSampler semantics), the sharded split reader, and the prefetch queue.

import CriboData
import CriboTensor
import CriboTestSupport
import Foundation
import Testing

@Suite struct LoaderTests {}

extension LoaderTests {
    @Test func sampleOrderFollowsDistributedSamplerSemantics() {
        let one = SampleOrder(count: 10, worldSize: 1, seed: 3)
        #expect(one.permutation(epoch: 0).sorted() == Array(0..<10))
        #expect(one.permutation(epoch: 0) == one.permutation(epoch: 0), "pure function of (seed, epoch)")
        #expect(one.permutation(epoch: 0) != one.permutation(epoch: 1), "reshuffled every epoch")
        // 10 samples over 4 ranks: padded to 12 by repeating the start, rank r takes every 4th from r.
        let permutation = one.permutation(epoch: 2)
        let padded = permutation + permutation.prefix(2)
        for r in 0..<4 {
            let order = SampleOrder(count: 10, worldSize: 4, rank: r, seed: 3)
            #expect(order.indices(epoch: 2) == stride(from: r, to: 12, by: 4).map { padded[$0] })
            #expect(order.batches(epoch: 2, batchSize: 2).count == 1, "drop_last: 3 indices make 1 batch of 2")
        }
        #expect(SampleOrder.iterationsPerEpoch(count: 1_281_167, worldSize: 8, batchSize: 128) == 1251)
        #expect(SampleOrder.iterationsPerEpoch(count: 118_287, worldSize: 8, batchSize: 32) == 462)
        #expect(SampleOrder(count: 5, shuffle: false).indices(epoch: 7) == [0, 1, 2, 3, 4])
    }

    @Test func shardedSplitReadsEverySampleAcrossShards() throws {
        let raw = scratchFolder("loader-raw"), out = scratchFolder("loader-out")
        try FixtureArchives.write(datasets: ["voc"], folder: raw, options: FixtureOptions(seed: 4, imagesPerSplit: 7))
        var options = fixtureOptions(raw: raw, out: out)
        options.targetShardBytes = 12_000
        let manifest = try ingest(VOCIngestor(), options, splits: ["val"])["val"]!
        #expect(manifest.shards.count > 1)
        let split = try ShardedSplit(folder: out + "/voc/val")
        #expect(split.count == 7)
        for i in 0..<split.count {
            let image = try split.image(at: i)
            let mask = try split.labelMap("mask", at: i)
            #expect(image.width == mask.width && image.height == mask.height)
            #expect(split.name(at: i) == String(format: "2008_%06d", i + 1))
            let half = try split.image(at: i, scaleDenominator: 2)
            #expect(half.width == (image.width + 1) / 2, "DCT-scaled decode")
        }
    }

    @Test func prefetchQueueDeliversInOrderAndPropagatesErrors() throws {
        let queue = PrefetchQueue<Int>(count: 50, depth: 3) { index in
            Thread.sleep(forTimeInterval: Double((index * 7) % 3) / 1000)
            return index * index
        }
        var values: [Int] = []
        while let value = try queue.pop() { values.append(value) }
        #expect(values == (0..<50).map { $0 * $0 })
        struct Boom: Error {}
        let failing = PrefetchQueue<Int>(count: 10, depth: 2) { index in
            if index == 4 { throw Boom() }
            return index
        }
        var seen: [Int] = []
        #expect(throws: Boom.self) { while let value = try failing.pop() { seen.append(value) } }
        #expect(seen == [0, 1, 2, 3])
    }
}

extension LoaderTests {
    @Test func twoViewBatchesArePureFunctionsOfSeedEpochAndSample() throws {
        let raw = scratchFolder("twoview-raw"), out = scratchFolder("twoview-out")
        try FixtureArchives.write(datasets: ["voc"], folder: raw, options: FixtureOptions(seed: 6, imagesPerSplit: 8))
        _ = try ingest(VOCIngestor(), fixtureOptions(raw: raw, out: out), splits: ["val"])
        let split = try ShardedSplit(folder: out + "/voc/val")
        var configuration = AugmentationConfiguration()
        configuration.outputSize = 32
        func loader(world: Int, rank: Int, batch: Int, workers: Int, depth: Int) -> TwoViewLoader {
            let l = TwoViewLoader(split: split, order: SampleOrder(count: split.count, worldSize: world, rank: rank, seed: 5), batchSize: batch,
                configuration: configuration, patchSize: 8, seed: 5)
            l.workers = workers
            l.prefetchDepth = depth
            return l
        }
        // One rank, batch 4, 1 worker vs 3 workers and another prefetch depth: identical batches.
        let a = loader(world: 1, rank: 0, batch: 4, workers: 1, depth: 1).epoch(2)
        let b = loader(world: 1, rank: 0, batch: 4, workers: 3, depth: 3).epoch(2)
        #expect(a.count == 2 && b.count == 2)
        var views: [Int: [Float]] = [:]
        for i in 0..<a.count {
            let x = try a.batch(i), y = try b.batch(i)
            #expect(x.sampleIndices == y.sampleIndices && x.images.scalars == y.images.scalars && x.positions.scalars == y.positions.scalars)
            for (k, index) in x.sampleIndices.enumerated() {  // view 1 of each sample
                views[index] = Array(x.images.buffer[(k * 3 * 32 * 32)..<((k + 1) * 3 * 32 * 32)])
            }
        }
        // Two ranks with batch 2: the same sample gets the same views whatever rank or batch it falls in.
        for rank in 0..<2 {
            let c = loader(world: 2, rank: rank, batch: 2, workers: 2, depth: 2).epoch(2)
            for i in 0..<c.count {
                let x = try c.batch(i)
                for (k, index) in x.sampleIndices.enumerated() {
                    #expect(Array(x.images.buffer[(k * 3 * 32 * 32)..<((k + 1) * 3 * 32 * 32)]) == views[index], "sample \(index) on rank \(rank)")
                }
            }
        }
        // Positions are per-patch means in original pixels: within the image.
        let first = try loader(world: 1, rank: 0, batch: 4, workers: 2, depth: 1).epoch(0).batch(0)
        #expect(first.positions.shape == [2, 4, 2, 16])
        #expect(first.positions.scalars.allSatisfy { $0 > -1 && $0 < 100 })
    }
}
