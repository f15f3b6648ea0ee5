// SPDX-License-Identifier: Apache-2.0
// The options of an ingest run, and the part of them that shapes the output (hashed into the manifest, so that a
// changed option rebuilds the split and an unchanged one is a no-op).

/// What to do with a sample that cannot be converted (corrupt image, size mismatch, missing member).
package enum BadSamplePolicy: String, Sendable, CaseIterable {
    /// Leave it out and record it in the manifest's `skipped` list.
    case skip
    /// Fail the split (the previous output stays as it was).
    case fail
}

/// Options of `cribo-ingest <dataset>`.
package struct IngestOptions: Sendable {
    /// The folder holding the archives under their official names.
    package var rawFolder: String
    /// The output root; a split goes to `<out>/<dataset>/<split>/`.
    package var outFolder: String
    /// `jpeg` keeps the source image bytes (label maps as PNG); `raw` stores decoded uint8 pixels.
    package var storage: BlobEncoding = .jpeg
    /// With raw storage: downscale so that the shorter side is at most this (DCT scaling, then bicubic).
    package var maxSide: Int?
    /// Decoding threads.
    package var workers: Int = 2
    /// Approximate shard size.
    package var targetShardBytes: Int = 256 << 20
    /// Converted payloads held in memory until their shard is written; beyond this they go through a staging file.
    /// Does not change the output.
    package var stagingMemoryBytes: Int = 512 << 20
    package var onBadSample: BadSamplePolicy = .skip
    /// Treat a mismatch with a published archive checksum as an error (default: a warning).
    package var strict = false
    /// Folder of the committed dataset definitions (manifests/), for published checksums and class tables.
    package var definitionsFolder: String?

    package init(rawFolder: String, outFolder: String) {
        self.rawFolder = rawFolder
        self.outFolder = outFolder
    }

    /// The options that shape the output, as strings (recorded in the manifest and hashed).
    package func outputConfiguration(dataset: String, split: String) -> [String: String] {
        var configuration = [
            "dataset": dataset, "split": split, "storage": storage.rawValue, "maxSide": maxSide.map(String.init) ?? "none",
            "targetShardBytes": String(targetShardBytes), "onBadSample": onBadSample.rawValue,
            "shardLayoutVersion": ShardLayout.version, "manifestVersion": String(Manifest.currentVersion),
        ]
        // How raw images are downscaled (splits written with the earlier 1/2^k-only DCT scaling get rebuilt).
        if storage == .raw && maxSide != nil { configuration["downscale"] = "jpeg-dct-eighths+bicubic" }
        return configuration
    }
}
