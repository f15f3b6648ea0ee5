// SPDX-License-Identifier: Apache-2.0
// An ingested split opened for reading: its manifest, every shard memory-mapped, and a global sample index over
// them (in manifest order). Decoding goes through the codecs; raw-storage images are returned as stored.

import Foundation

/// All shards of one split, indexed 0..<count.
package final class ShardedSplit: @unchecked Sendable {
    package let folder: String
    package let manifest: Manifest
    private let readers: [ShardReader]
    private let starts: [Int]

    /// Opens the split in `folder` (its manifest and shards); errors name the file.
    package init(folder: String) throws {
        self.folder = folder
        manifest = try Manifest.load(folder: folder)
        var readers: [ShardReader] = []
        var starts: [Int] = []
        var total = 0
        for shard in manifest.shards {
            let reader = try ShardReader(path: folder + "/" + shard.file, dataset: manifest.dataset, split: manifest.split)
            starts.append(total)
            total += reader.count
            readers.append(reader)
        }
        guard total == manifest.sampleCount else {
            throw ShardError.malformed(file: Manifest.path(in: folder), reason: "shards hold \(total) samples, the manifest says \(manifest.sampleCount)")
        }
        self.readers = readers
        self.starts = starts
    }

    package var count: Int { manifest.sampleCount }

    /// (shard, index within it) of global sample `i`.
    package func locate(_ i: Int) -> (reader: ShardReader, index: Int) {
        precondition(i >= 0 && i < count, "ShardedSplit: sample \(i) outside 0..<\(count)")
        var lo = 0, hi = starts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if starts[mid] <= i { lo = mid } else { hi = mid - 1 }
        }
        return (readers[lo], i - starts[lo])
    }

    /// The name of sample `i`.
    package func name(at i: Int) -> String {
        let (reader, index) = locate(i)
        return reader.name(at: index)
    }

    /// The class label of sample `i`, when the split has labels.
    package func label(at i: Int) -> Int64? {
        let (reader, index) = locate(i)
        return reader.label(at: index)
    }

    /// The RGB image of sample `i`: decoded (with libjpeg DCT scaling by `scaleDenominator` for JPEG sources) or as
    /// stored.
    package func image(at i: Int, scaleDenominator: Int = 1) throws -> RGBImage {
        let (reader, index) = locate(i)
        let shape = reader.shape(of: "image", at: index)
        if reader.encodings["image"] == .raw {
            return RGBImage(width: shape[1], height: shape[0], pixels: try reader.withBlob("image", at: index) { Array($0) })
        }
        let data = try reader.withBlob("image", at: index) { Data($0) }
        do { return try ImageDecoder.decodeRGB(data, scaleDenominator: scaleDenominator) } catch let error as CodecError {
            throw ShardError.malformed(file: reader.path, reason: "sample \(index) (\(reader.name(at: index))): \(error.message)")
        }
    }

    /// The label map `field` ("mask", "category", "instance") of sample `i`, as stored values.
    package func labelMap(_ field: String, at i: Int) throws -> IndexImage {
        let (reader, index) = locate(i)
        let shape = reader.shape(of: field, at: index)
        if reader.encodings[field] == .raw {
            return IndexImage(width: shape[1], height: shape[0], values: try reader.withBlob(field, at: index) { Array($0) })
        }
        return try PNG.decodeIndices(try reader.withBlob(field, at: index) { Data($0) })
    }
}
