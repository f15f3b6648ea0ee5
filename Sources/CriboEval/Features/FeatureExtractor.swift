// SPDX-License-Identifier: Apache-2.0
// `cribo-features extract`: a frozen backbone over every image of an ingested split, one or more passes, written as
// feature shards (FeatureLayout) and a manifest written last. Resumable per shard: shards listed in a manifest or
// partial manifest with the same settings, and still on disk with their recorded size, are kept. Over several ranks
// (MPI processes sharing the output folder), rank r extracts every size-th shard still to do and keeps its own
// partial manifest; rank 0 then assembles the manifest, so the folder is the same whatever the world size.
// Legend: n images per shard, B images per batch, S resolution, h×w patch grid, D width.

import CriboData
import CriboDistributed
import CriboNN
import CriboTensor
import Foundation

/// What to extract, from where, to where.
package struct FeatureExtractionOptions: Sendable {
    /// An ingested split folder (DATA/shards/<dataset>/<split>).
    package var splitFolder: String
    /// The feature folder (created when missing).
    package var outFolder: String
    /// The backbone checkpoint (safetensors, timm/DINO keys).
    package var checkpointPath: String
    /// Heads, for checkpoints without architecture metadata whose width is not a preset's.
    package var headCount: Int?
    /// S, a multiple of the patch size.
    package var resolution: Int
    /// The stored token type.
    package var dtype = FeatureDType.f32
    /// The mean/std normalisation.
    package var normalization = PixelNormalization.imagenet
    /// Images per forward pass.
    package var batchSize = 16
    /// Images per feature shard file.
    package var imagesPerShard = 256
    /// 0: one pass with the evaluation transform; N: N passes of the paired RandomResizedCrop.
    package var augmentationEpochs = 0
    /// Augmented passes use open-hummingbird-eval's full memory-building transform (colour jitters, then the paired
    /// crop on the normalised tensor) instead of the crop alone; implies the `.hummingbird` normalisation.
    package var hummingbirdTransforms = false
    /// Seed of the augmentation crops (and jitters).
    package var seed: UInt64 = 0
    /// Thumbnails for the first `thumbnailCount` images of the split, `thumbnailSize` pixels square.
    package var thumbnailCount = 16
    /// Thumbnail side in pixels (capped at the resolution).
    package var thumbnailSize = 96

    /// Options with the defaults for everything not given.
    package init(splitFolder: String, outFolder: String, checkpointPath: String, resolution: Int) {
        self.splitFolder = splitFolder
        self.outFolder = outFolder
        self.checkpointPath = checkpointPath
        self.resolution = resolution
    }
}

/// What an extraction reports while it runs.
package enum FeatureEvent: Sendable {
    /// The folder already holds these features; nothing was done.
    case upToDate(FeatureManifest)
    /// Shards to extract and shards kept from an earlier run, and the images of the split.
    case planned(toExtract: Int, kept: Int, images: Int)
    /// Images done of those to extract.
    case progress(done: Int, total: Int)
    /// A shard file was written.
    case shardWritten(FeatureShardRecord)
    /// The manifest was written.
    case finished(FeatureManifest, seconds: Double)
}

/// Runs one extraction.
package final class FeatureExtractor: @unchecked Sendable {
    /// The request.
    package let options: FeatureExtractionOptions
    private let report: (FeatureEvent) -> Void

    /// An extraction that reports its progress to `report` (called on the calling thread).
    package init(options: FeatureExtractionOptions, report: @escaping (FeatureEvent) -> Void = { _ in }) {
        precondition(options.batchSize >= 1 && options.imagesPerShard >= 1 && options.augmentationEpochs >= 0,
                     "FeatureExtractor: batch \(options.batchSize), shard \(options.imagesPerShard), epochs \(options.augmentationEpochs)")
        self.options = options
        self.report = report
    }

    /// Extracts every shard not already present and writes the manifest.
    ///
    /// Concretely: with `communicator` of size W, every rank must call this with the same options; rank r extracts the
    /// shards at positions r, r + W, … of those still to do, and rank 0 writes the manifest once all are done. Events
    /// are this rank's (progress counts its share). A shard's bytes do not depend on W or on which rank wrote it.
    /// - Returns: the manifest of the folder (on every rank).
    @discardableResult
    package func run(communicator: any Communicator = SingleProcessCommunicator()) throws -> FeatureManifest {
        let started = Date()
        let split = try ShardedSplit(folder: options.splitFolder)
        let (backbone, parameters) = try BackboneCheckpoint.load(path: options.checkpointPath, headCount: options.headCount)
        let cfg = backbone.configuration
        let S = options.resolution
        guard S > 0, S % cfg.patchSize == 0 else {
            throw FeatureError.incompatible(reason: "--resolution \(S) is not a positive multiple of the patch size \(cfg.patchSize) of \(options.checkpointPath)")
        }
        let settings = FeatureSettings(
            dataset: split.manifest.dataset, split: split.manifest.split, splitConfigurationHash: split.manifest.configurationHash,
            checkpoint: options.checkpointPath, checkpointSHA256: try SHA256Digest.hex(ofFile: options.checkpointPath),
            architecture: cfg, resolution: S, normalization: options.hummingbirdTransforms ? .hummingbird : options.normalization,
            dtype: options.dtype, imagesPerShard: options.imagesPerShard, augmentationEpochs: options.augmentationEpochs,
            hummingbirdTransforms: options.augmentationEpochs > 0 && options.hummingbirdTransforms,
            seed: options.augmentationEpochs > 0 ? options.seed : 0, thumbnailCount: options.thumbnailCount,
            thumbnailSize: min(options.thumbnailSize, S))
        var manifest = FeatureManifest(
            settings: settings, sampleCount: split.count, gridHeight: S / cfg.patchSize, gridWidth: S / cfg.patchSize,
            dimension: cfg.embeddingDimension, classNames: split.manifest.classNames, hasMasks: split.manifest.fields["mask"] != nil,
            hasClassLabels: split.count > 0 && split.label(at: 0) != nil, shards: [])
        let folder = options.outFolder
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let finalPath = folder + "/" + FeatureLayout.manifestName

        // Shards of an earlier run with the same settings that are still whole (by size), from the manifest or any
        // rank's partial manifest.
        var kept: [String: FeatureShardRecord] = [:]
        for path in [finalPath] + partialManifestPaths(folder: folder) {
            guard let earlier = try? FeatureManifest.load(path: path), earlier.settings == settings else { continue }
            for record in earlier.shards where fileSize(folder + "/" + record.file) == record.bytes { kept[record.file] = record }
        }
        let plan = manifest.passes.flatMap { pass in
            stride(from: 0, to: split.count, by: options.imagesPerShard).enumerated().map { (index, first) in
                (file: FeatureLayout.fileName(pass: pass, index: index), pass: pass, index: index,
                 range: first..<min(first + options.imagesPerShard, split.count))
            }
        }
        if let done = try? FeatureManifest.load(path: finalPath), done.settings == settings,
           plan.allSatisfy({ kept[$0.file] != nil }) {
            report(.upToDate(done))
            return done
        }
        communicator.barrier()  // every rank has read the folder before rank 0 changes it
        if communicator.isRoot {
            try? FileManager.default.removeItem(atPath: finalPath)
            try removeStrayShards(folder: folder, keeping: Set(plan.map(\.file)))
        }
        communicator.barrier()
        let toExtract = plan.filter { kept[$0.file] == nil }
        let mine = toExtract.indices.filter { $0 % communicator.size == communicator.rank }.map { toExtract[$0] }
        report(.planned(toExtract: toExtract.count, kept: plan.count - toExtract.count, images: split.count))
        let totalImages = mine.reduce(0) { $0 + $1.range.count }
        var imagesDone = 0
        // This rank's partial manifest: the kept shards and those it has written.
        var partial = manifest
        partial.shards = plan.compactMap { kept[$0.file] }
        let partialPath = folder + "/" + FeatureLayout.partialManifestName(rank: communicator.rank)
        for shard in mine {
            let data = try extractShard(
                split: split, backbone: backbone, parameters: parameters, settings: settings, pass: shard.pass, index: shard.index,
                range: shard.range
            ) { images in
                imagesDone += images
                self.report(.progress(done: imagesDone, total: totalImages))
            }
            try AtomicFile.write(data, to: folder + "/" + shard.file)
            let record = FeatureShardRecord(file: shard.file, pass: shard.pass, firstSample: shard.range.lowerBound,
                                            count: shard.range.count, bytes: data.count, sha256: SHA256Digest.hex(of: data))
            partial.shards.append(record)
            try partial.write(to: partialPath)
            report(.shardWritten(record))
        }
        communicator.barrier()  // every rank's shards and partial manifest are on disk
        if communicator.isRoot {
            var done: [String: FeatureShardRecord] = [:]
            for rank in 0..<communicator.size {
                let path = folder + "/" + FeatureLayout.partialManifestName(rank: rank)
                guard let written = try? FeatureManifest.load(path: path), written.settings == settings else { continue }
                for record in written.shards { done[record.file] = record }
            }
            for shard in plan {
                guard let record = done[shard.file] ?? kept[shard.file] else {
                    throw FeatureError.malformed(file: folder + "/" + shard.file, reason: "no rank recorded this shard as written")
                }
                manifest.shards.append(record)
            }
            try manifest.write(to: finalPath)
            for path in partialManifestPaths(folder: folder) { try? FileManager.default.removeItem(atPath: path) }
        }
        communicator.barrier()
        if !communicator.isRoot { manifest = try FeatureManifest.load(path: finalPath) }
        report(.finished(manifest, seconds: Date().timeIntervalSince(started)))
        return manifest
    }

    /// The partial manifests of every rank in `folder`.
    private func partialManifestPaths(folder: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter(FeatureLayout.isPartialManifestName).sorted().map { folder + "/" + $0 }
    }

    /// The bytes of the size of a file, or nil when it does not exist.
    private func fileSize(_ path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
    }

    /// Deletes feature shards of an earlier, different run that this run does not write (their names follow
    /// FeatureLayout.fileName, so nothing else in the folder is touched).
    private func removeStrayShards(folder: String, keeping: Set<String>) throws {
        for name in try FileManager.default.contentsOfDirectory(atPath: folder)
        where name.hasPrefix("features-") && name.hasSuffix(".safetensors") && !keeping.contains(name) {
            try FileManager.default.removeItem(atPath: folder + "/" + name)
        }
    }
}
