// SPDX-License-Identifier: Apache-2.0
// CrIBo's training input: for every batch of a rank, both augmented views of each image with their per-patch
// positions, prepared ahead of the training loop by a prefetch thread (samples of a batch in parallel).
// Every random draw is keyed by (seed, epoch, sample index, view), so a sample's views do not depend on the thread
// count, the prefetch depth, the batch it falls in or the world size. JPEG sources are decoded with libjpeg's DCT
// scaling when the crop leaves enough pixels (positions always use the full-resolution crop box).

import CriboTensor
import Foundation

/// Batches of two-view samples from an ingested split.
package final class TwoViewLoader: @unchecked Sendable {
    package let split: ShardedSplit
    package let order: SampleOrder
    package let batchSize: Int
    package let configuration: AugmentationConfiguration
    package let patchSize: Int
    package let seed: UInt64
    package var workers: Int = ComputeThreads.count
    package var prefetchDepth: Int = 2
    /// Decode JPEGs at 1/2, 1/4 or 1/8 when the crop stays at least the output size (faster; not bit-identical to a
    /// full decode followed by the crop).
    package var usesDCTScaling = true
    /// Called (from loader threads) when a sample cannot be decoded and is replaced.
    package var onReplacedSample: (@Sendable (String) -> Void)?
    private var queue: PrefetchQueue<TwoViewBatch>?
    private var queueEpoch = -1
    private var queueStart = 0
    private var nextExpected = 0

    package init(split: ShardedSplit, order: SampleOrder, batchSize: Int, configuration: AugmentationConfiguration, patchSize: Int, seed: UInt64) {
        precondition(configuration.outputSize % patchSize == 0, "TwoViewLoader: output \(configuration.outputSize) not a multiple of patch \(patchSize)")
        self.split = split
        self.order = order
        self.batchSize = batchSize
        self.configuration = configuration
        self.patchSize = patchSize
        self.seed = seed
    }

    /// This rank's batches of `epoch`: their count and a producer of batch i (call in increasing i).
    package func epoch(_ epoch: Int) -> (count: Int, batch: (Int) throws -> TwoViewBatch) {
        let batches = order.batches(epoch: epoch, batchSize: batchSize)
        return (batches.count, { [self] i in
            if queue == nil || queueEpoch != epoch || i != nextExpected {
                queue?.stop()
                queueEpoch = epoch
                queueStart = i
                let pending = Array(batches[i...])
                queue = PrefetchQueue(count: pending.count, depth: prefetchDepth) { [self] k in try makeBatch(pending[k], epoch: epoch) }
            }
            nextExpected = i + 1
            guard let batch = try queue!.pop() else { preconditionFailure("TwoViewLoader: batch \(i) beyond the epoch") }
            return batch
        })
    }

    /// The batch of `indices` for `epoch` (samples prepared on `workers` threads).
    package func makeBatch(_ indices: [Int], epoch: Int) throws -> TwoViewBatch {
        let B = indices.count, S = configuration.outputSize, N = (S / patchSize) * (S / patchSize)
        let images = Tensor(zeros: [2 * B, 3, S, S])
        let positions = Tensor(zeros: [2, B, 2, N])
        let failures = FailureSlot()
        let threads = max(1, min(workers, B))
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            for b in stride(from: t, to: B, by: threads) {
                do {
                    let views = try twoViews(of: indices[b], epoch: epoch)
                    for (v, view) in views.enumerated() {
                        (images.pointer + (v * B + b) * 3 * S * S).update(from: view.pixels, count: 3 * S * S)
                        let patches = perPatchPositions(view.positions, size: S, patch: patchSize)
                        (positions.pointer + (v * B + b) * 2 * N).update(from: patches, count: 2 * N)
                    }
                } catch {
                    failures.record(error)
                }
            }
        }
        if let error = failures.first { throw error }
        return TwoViewBatch(sampleIndices: indices, images: images, positions: positions)
    }

    /// Both views of sample `index` in `epoch`; a sample that fails to decode is replaced by a deterministic other one.
    package func twoViews(of index: Int, epoch: Int) throws -> [AugmentedView] {
        var candidate = index
        for attempt in 0..<10 {
            do { return try views(of: candidate, key: index, epoch: epoch) } catch {
                onReplacedSample?("\(split.folder): sample \(candidate) (\(split.name(at: candidate))) could not be read (\(error)); replaced")
                var rng = SplitMix64(seed: SplitMix64.mix(seed, UInt64(epoch), UInt64(index), UInt64(attempt), 0xBAD))
                candidate = rng.nextInt(below: split.count)
            }
        }
        throw ShardError.malformed(file: split.folder, reason: "10 replacements for sample \(index) all failed to decode")
    }

    private func views(of index: Int, key: Int, epoch: Int) throws -> [AugmentedView] {
        let (reader, local) = split.locate(index)
        let shape = reader.shape(of: "image", at: local)
        let (height, width) = (shape[0], shape[1])
        let parameters = (0..<2).map { view -> ViewParameters in
            var rng = SplitMix64(seed: SplitMix64.mix(seed, UInt64(epoch), UInt64(key), UInt64(view)))
            return ViewSampler.sample(view: view, width: width, height: height, configuration: configuration, rng: &rng)
        }
        let S = configuration.outputSize
        var denominator = 1
        if usesDCTScaling && reader.encodings["image"] == .jpeg {
            let smallest = parameters.map { min($0.crop.width, $0.crop.height) }.min() ?? 0
            for d in [8, 4, 2] where smallest / d >= S {
                denominator = d
                break
            }
        }
        let image = try split.image(at: index, scaleDenominator: denominator)
        return parameters.map { p in
            guard denominator > 1 else { return ViewAugmentation.apply(image, parameters: p, configuration: configuration) }
            return ViewAugmentation.apply(image, parameters: p, configuration: configuration,
                sourceScale: (Double(image.width) / Double(width), Double(image.height) / Double(height)))
        }
    }
}

private final class FailureSlot: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var first: Error?
    func record(_ error: Error) { lock.withLock { if first == nil { first = error } } }
}
