// SPDX-License-Identifier: Apache-2.0
// Writing shards: samples accumulate until the target size is reached, then the shard is written atomically
// (temporary file, fsync, rename) under its final name. Every shard of a split has the same fields and encodings.

import CriboTensor
import Foundation

/// Encodes samples into shard files of about `targetBytes` each.
package struct ShardEncoder {
    package let dataset: String
    package let split: String
    /// Field name → encoding; every sample must carry exactly these blob fields.
    package let encodings: [String: BlobEncoding]
    package let hasLabels: Bool

    package init(dataset: String, split: String, encodings: [String: BlobEncoding], hasLabels: Bool) {
        self.dataset = dataset
        self.split = split
        self.encodings = encodings
        self.hasLabels = hasLabels
    }

    /// The shard holding `samples` (in order) as shard number `index`, ready to be written (the samples' bytes are
    /// referenced, not copied).
    package func encode(_ samples: [ShardSample], index: Int) -> TensorFileWriter {
        var writer = TensorFileWriter(metadata: [
            "format": ShardLayout.format, "version": ShardLayout.version, "dataset": dataset, "split": split,
            "sampleCount": String(samples.count), "shardIndex": String(index),
        ])
        let n = samples.count
        writer.add(ShardLayout.idKey, shape: [n], int64s: samples.map(\.id))
        var nameBytes: [UInt8] = []
        var nameOffsets: [Int64] = [0]
        for sample in samples {
            nameBytes += Array(sample.name.utf8)
            nameOffsets.append(Int64(nameBytes.count))
        }
        writer.add(ShardLayout.nameBytesKey, shape: [nameBytes.count], uint8s: Data(nameBytes))
        writer.add(ShardLayout.nameOffsetsKey, shape: [n + 1], int64s: nameOffsets)
        if hasLabels {
            writer.add(ShardLayout.labelKey, shape: [n], int64s: samples.map { sample in
                guard let label = sample.label else { preconditionFailure("ShardEncoder: sample \(sample.name) has no label") }
                return label
            })
        }
        for (field, encoding) in encodings.sorted(by: { $0.key < $1.key }) {
            writer.metadata[ShardLayout.encodingKey(field: field)] = encoding.rawValue
            var pieces: [[UInt8]] = []
            var offsets: [Int64] = [0]
            var shapes: [Int64] = []
            for sample in samples {
                guard let blob = sample.blobs[field] else { preconditionFailure("ShardEncoder: sample \(sample.name) lacks field \(field)") }
                pieces.append(blob.bytes)
                offsets.append(offsets.last! + Int64(blob.bytes.count))
                shapes += blob.shape.map(Int64.init)
            }
            let keys = ShardLayout.keys(field: field)
            writer.add(keys.bytes, uint8Pieces: pieces)
            writer.add(keys.offsets, shape: [n + 1], int64s: offsets)
            writer.add(keys.shapes, shape: [n, 3], int64s: shapes)
        }
        return writer
    }
}

/// Rolls samples over into shard files of about `targetBytes` in one folder.
package final class ShardWriter {
    package let folder: String
    package let encoder: ShardEncoder
    package let targetBytes: Int
    private var pending: [ShardSample] = []
    private var pendingBytes = 0
    /// The shards written so far.
    package private(set) var written: [WrittenShard] = []

    /// A shard on disk: its file name, sample count, size and SHA-256.
    package struct WrittenShard: Codable, Equatable, Sendable {
        package init(file: String, samples: Int, bytes: Int, sha256: String) {
            (self.file, self.samples, self.bytes, self.sha256) = (file, samples, bytes, sha256)
        }
        package var file: String
        package var samples: Int
        package var bytes: Int
        package var sha256: String
    }

    package init(folder: String, encoder: ShardEncoder, targetBytes: Int = 256 << 20) {
        precondition(targetBytes > 0, "ShardWriter: target size must be positive")
        self.folder = folder
        self.encoder = encoder
        self.targetBytes = targetBytes
    }

    /// Adds a sample; writes a shard when the target size is reached.
    package func append(_ sample: ShardSample) throws {
        pending.append(sample)
        pendingBytes += sample.byteCount
        if pendingBytes >= targetBytes { try flush() }
    }

    /// Writes the pending samples (if any) as the next shard.
    package func flush() throws {
        guard !pending.isEmpty else { return }
        let index = written.count
        let file = ShardLayout.fileName(index: index)
        var hasher = SHA256Digest.Hasher()
        let bytes = try encoder.encode(pending, index: index).write(to: folder + "/" + file) { hasher.update($0) }
        written.append(WrittenShard(file: file, samples: pending.count, bytes: bytes, sha256: hasher.hex()))
        pending.removeAll(keepingCapacity: true)
        pendingBytes = 0
    }
}
