// SPDX-License-Identifier: Apache-2.0
// A finished feature folder opened for reading: its manifest and every shard, checked against the layout
// (format, version, shapes), with per-shard accessors that convert F16 tokens to Float32.
// Legend: n images in a shard, h×w patch grid, D width, S resolution, T thumbnail side.

import CriboTensor
import Foundation

/// One feature shard file.
package final class FeatureShard {
    /// Its record in the manifest.
    package let record: FeatureShardRecord
    /// The open file.
    package let file: TensorFile
    /// n.
    package var count: Int { record.count }

    init(folder: String, record: FeatureShardRecord, manifest: FeatureManifest) throws {
        self.record = record
        let path = folder + "/" + record.file
        file = try TensorFile(path: path)
        guard file.metadata["format"] == FeatureLayout.format else {
            throw FeatureError.malformed(file: path, reason: "format is \(file.metadata["format"] ?? "missing"), expected \(FeatureLayout.format)")
        }
        guard file.metadata["version"] == FeatureLayout.version else {
            throw FeatureError.versionMismatch(file: path, found: file.metadata["version"] ?? "missing", expected: FeatureLayout.version)
        }
        let n = record.count
        let (h, w, D, S) = (manifest.gridHeight, manifest.gridWidth, manifest.dimension, manifest.settings.resolution)
        var expected: [(String, [Int])] = [(FeatureLayout.tokensKey, [n, h, w, D]), (FeatureLayout.clsKey, [n, D]), (FeatureLayout.indexKey, [n])]
        if manifest.hasMasks { expected.append((FeatureLayout.labelsKey, [n, S, S])) }
        if manifest.hasClassLabels { expected.append((FeatureLayout.classKey, [n])) }
        for (key, shape) in expected {
            let entry = try file.entry(key)
            guard entry.shape == shape else { throw TensorFileError.wrongShape(path: path, name: key, found: entry.shape, expected: shape) }
        }
    }

    /// [n, h·w, D] patch tokens as Float32.
    package func tokens() throws -> Tensor { try file.tensor(FeatureLayout.tokensKey) }

    /// [n, D] [CLS] tokens as Float32.
    package func cls() throws -> Tensor { try file.tensor(FeatureLayout.clsKey) }

    /// [n, S, S] label maps.
    package func labels() throws -> [UInt8] { try file.withBytes(FeatureLayout.labelsKey) { Array($0) } }

    /// [n] image classes.
    package func classLabels() throws -> [Int64] { try file.integers(FeatureLayout.classKey) }

    /// [n] positions in the split.
    package func sampleIndices() throws -> [Int] { try file.integers(FeatureLayout.indexKey).map { Int($0) } }

    /// [n] names.
    package func names() throws -> [String] {
        let offsets = try file.integers(FeatureLayout.nameOffsetsKey)
        return try file.withBytes(FeatureLayout.nameBytesKey) { bytes in
            (0..<count).map { String(decoding: bytes[Int(offsets[$0])..<Int(offsets[$0 + 1])], as: UTF8.self) }
        }
    }

    /// The thumbnails of the first rows ([m, T, T, 3] bytes and m), or nil when the shard has none.
    package func thumbnails() throws -> (pixels: [UInt8], count: Int, size: Int)? {
        guard let entry = file.entries[FeatureLayout.thumbnailsKey] else { return nil }
        return (try file.withBytes(FeatureLayout.thumbnailsKey) { Array($0) }, entry.shape[0], entry.shape[1])
    }
}

/// A feature folder written by `cribo-features extract`.
package final class FeatureSet {
    /// The folder.
    package let folder: String
    /// Its `features.json`.
    package let manifest: FeatureManifest
    /// Every shard, in manifest order (pass, then position).
    package let shards: [FeatureShard]

    /// Opens a finished feature folder; errors name the file.
    package init(folder: String) throws {
        self.folder = folder
        let manifest = try FeatureManifest.load(path: folder + "/" + FeatureLayout.manifestName)
        self.manifest = manifest
        shards = try manifest.shards.map { try FeatureShard(folder: folder, record: $0, manifest: manifest) }
    }

    /// h·w.
    package var patchCount: Int { manifest.gridHeight * manifest.gridWidth }

    /// The shards of the first pass (the evaluation transform, or augmentation epoch 0).
    package var firstPassShards: [FeatureShard] { shards.filter { $0.record.pass == manifest.passes.first! } }

    /// A one-line description: dataset/split, architecture, resolution, checkpoint.
    package var summary: String {
        let s = manifest.settings
        return "\(s.dataset)/\(s.split) \(s.architecture.name) @\(s.resolution) (\(s.checkpoint))"
    }
}
