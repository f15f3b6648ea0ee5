// SPDX-License-Identifier: Apache-2.0
// The memory bank of `cribo-evaluate dense` without holding it whole: which training images and which of their
// patches are memory rows, in order (4 bytes per row), the unit-norm features of any range of images built on demand
// from the memory-mapped feature shards, and the soft labels of the retrieved rows computed from the shards' label
// maps. A bank the size of open-hummingbird-eval's (10M patches, 15 GB as Float32 at D 384) is so searched in
// chunks of bounded size. Legend: M memory rows, P rows per image, h×w patch grid, D width, C classes, S label side.

import CriboTensor
import Foundation

/// The rows of a dense k-NN memory over training feature shards: every pass of each chosen image, in shard order,
/// and per image all h·w patches or the ones `DenseRetrieval.sampledPatches` keeps, in its order (the order in which
/// `DenseRetrieval.addImage` fills a `PatchMemory`).
package final class DenseMemoryPlan {
    /// One training image (one pass of it) in the memory.
    private struct Image {
        /// Index into `train.shards`.
        let shard: Int
        /// Row in that shard.
        let row: Int
    }

    private let train: FeatureSet
    private let retrieval: DenseRetrieval
    private let images: [Image]
    /// [images, P] the patch of every memory row.
    private let patches: [Int32]
    /// P, the rows of every image.
    package let rowsPerImage: Int

    /// M.
    package var rowCount: Int { images.count * rowsPerImage }
    /// Images (passes included) in the memory.
    package var imageCount: Int { images.count }
    /// D.
    package var dimension: Int { train.manifest.dimension }

    /// The memory of the given training images under `retrieval`'s sampling (`samplesPerImage`, `seed`).
    /// - Parameters:
    ///   - images: positions in the split.
    ///   - checkLabels: called with the label map of every memory image, its shard and row; throws to reject it.
    package init(
        train: FeatureSet, images wanted: [Int], retrieval: DenseRetrieval,
        checkLabels: (UnsafeBufferPointer<UInt8>, FeatureShard, Int) throws -> Void
    ) throws {
        let m = train.manifest
        let (h, w, S) = (m.gridHeight, m.gridWidth, m.settings.resolution)
        let perImage = min(retrieval.samplesPerImage ?? h * w, h * w)
        let wantedSet = Set(wanted)
        var images: [Image] = []
        var patches: [Int32] = []
        for (s, shard) in train.shards.enumerated() {
            let indices = try shard.sampleIndices()
            let pass = shard.record.pass ?? 0
            try shard.file.withBytes(FeatureLayout.labelsKey) { raw in
                let labels = raw.bindMemory(to: UInt8.self)
                for row in indices.indices where wantedSet.contains(indices[row]) {
                    let map = UnsafeBufferPointer(rebasing: labels[(row * S * S)..<((row + 1) * S * S)])
                    try checkLabels(map, shard, row)
                    images.append(Image(shard: s, row: row))
                    if retrieval.samplesPerImage != nil {
                        let presence = retrieval.patchLabels(labels: map, gridHeight: h, gridWidth: w).presence
                        let kept = retrieval.sampledPatches(presence: presence, count: perImage, imageIndex: pass * m.sampleCount + indices[row])
                        patches += kept.map { Int32($0) }
                    } else {
                        patches += (0..<Int32(h * w))
                    }
                }
            }
        }
        guard images.count * perImage >= retrieval.neighbourCount else {
            throw FeatureError.unusableSettings(folder: train.folder, reason: "the dense memory has \(images.count * perImage) rows (\(images.count) images × passes, \(perImage) patches each), fewer than the \(retrieval.neighbourCount) neighbours asked for; use a larger training fraction or --memory-size")
        }
        guard images.count * perImage <= Int(Int32.max) else {
            throw FeatureError.unusableSettings(folder: train.folder, reason: "the dense memory has \(images.count * perImage) rows, more than 2^31 - 1")
        }
        self.train = train
        self.retrieval = retrieval
        self.images = images
        self.patches = patches
        rowsPerImage = perImage
    }

    /// Writes the unit-norm features of the memory rows of images `range` (rows range.lowerBound·P ..< upperBound·P),
    /// normalised as `PatchMemory.append` does; several threads read the shards at once.
    /// - Parameters:
    ///   - into: [range.count·P, D].
    package func features(images range: Range<Int>, into buffer: UnsafeMutablePointer<Float>) throws {
        precondition(range.lowerBound >= 0 && range.upperBound <= images.count, "DenseMemoryPlan.features: images \(range) of \(images.count)")
        let D = dimension
        let hw = train.patchCount
        let P = rowsPerImage
        // Runs of at most 16 consecutive images of one shard, read with one tokens(rows:) call each.
        var groups: [Range<Int>] = []
        var start = range.lowerBound
        while start < range.upperBound {
            var end = start + 1
            while end < range.upperBound && end - start < 16 && images[end].shard == images[start].shard { end += 1 }
            groups.append(start..<end)
            start = end
        }
        var failures = [Error?](repeating: nil, count: groups.count)
        failures.withUnsafeMutableBufferPointer { failures in
            patches.withUnsafeBufferPointer { patches in
                ComputeThreads.parallelForEach(groups.count) { g in
                    let group = groups[g]
                    let shard = train.shards[images[group.lowerBound].shard]
                    do {
                        let tokens = try shard.tokens(rows: group.map { images[$0].row })
                        try withExtendedLifetime(tokens) {
                            for (k, image) in group.enumerated() {
                                for j in 0..<P {
                                    let patch = Int(patches[image * P + j])
                                    let row = (image - range.lowerBound) * P + j
                                    guard PatchMemory.normalize(tokens.pointer + (k * hw + patch) * D, dimension: D, into: buffer + row * D) else {
                                        throw FeatureError.malformed(file: shard.file.path, reason: "row \(images[image].row), patch \(patch): a patch token of norm 0 or not finite cannot enter the cosine memory")
                                    }
                                }
                            }
                        }
                    } catch {
                        failures[g] = error
                    }
                }
            }
        }
        if let failure = failures.lazy.compactMap({ $0 }).first { throw failure }
    }

    /// Runs `body` with a function that writes the soft label [C] of memory row r (`DenseRetrieval.patchFractions`
    /// of its patch in its image's label map); that function may be called from several threads at once.
    package func withLabels<R>(_ body: (_ label: (_ row: Int, _ into: UnsafeMutablePointer<Float>) -> Void) throws -> R) throws -> R {
        let S = train.manifest.settings.resolution
        let w = train.manifest.gridWidth
        let P = rowsPerImage
        let retrieval = self.retrieval
        // Every shard's label bytes stay mapped for the duration of body.
        func nest(_ s: Int, _ bases: [UnsafePointer<UInt8>?]) throws -> R {
            if s == train.shards.count {
                return try images.withUnsafeBufferPointer { images in
                    try patches.withUnsafeBufferPointer { patches in
                        try body { row, into in
                            let image = images[row / P]
                            retrieval.patchFractions(labels: bases[image.shard]! + image.row * S * S, gridWidth: w,
                                                     patch: Int(patches[row]), into: into)
                        }
                    }
                }
            }
            return try train.shards[s].file.withBytes(FeatureLayout.labelsKey) { raw in
                try nest(s + 1, bases + [raw.baseAddress?.assumingMemoryBound(to: UInt8.self)])
            }
        }
        return try nest(0, [])
    }
}
