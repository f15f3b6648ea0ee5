// SPDX-License-Identifier: Apache-2.0
// Reading shards: the file is memory-mapped and validated against ShardLayout once (format, version, dataset,
// split, every field's tensors and offsets); samples are then sliced out without further checks.

import CriboTensor
import Foundation

/// A shard opened for reading.
package final class ShardReader {
    package let path: String
    package let file: TensorFile
    package let count: Int
    package let dataset: String
    package let split: String
    /// Blob fields and their encodings.
    package let encodings: [String: BlobEncoding]
    private let ids: [Int64]
    private let labels: [Int64]?
    private let nameOffsets: [Int64]
    private var blobOffsets: [String: [Int64]] = [:]
    private var blobShapes: [String: [Int64]] = [:]

    /// Opens `path`; `dataset`/`split`, when given, must match the shard's metadata.
    package init(path: String, dataset: String? = nil, split: String? = nil) throws {
        self.path = path
        file = try TensorFile(path: path)
        let metadata = file.metadata
        guard metadata["format"] == ShardLayout.format else {
            throw ShardError.notAShard(file: path, found: metadata["format"] ?? "none")
        }
        guard metadata["version"] == ShardLayout.version else {
            throw ShardError.versionMismatch(file: path, found: metadata["version"] ?? "none", expected: ShardLayout.version,
                hint: "re-run cribo-ingest to rebuild the shards")
        }
        self.dataset = metadata["dataset"] ?? ""
        self.split = metadata["split"] ?? ""
        if let dataset, dataset != self.dataset { throw ShardError.mismatch(file: path, what: "dataset", found: self.dataset, expected: dataset) }
        if let split, split != self.split { throw ShardError.mismatch(file: path, what: "split", found: self.split, expected: split) }
        guard let count = Int(metadata["sampleCount"] ?? "") else { throw ShardError.malformed(file: path, reason: "no sampleCount") }
        self.count = count
        ids = try file.integers(ShardLayout.idKey)
        nameOffsets = try file.integers(ShardLayout.nameOffsetsKey)
        labels = file.entries[ShardLayout.labelKey] == nil ? nil : try file.integers(ShardLayout.labelKey)
        guard ids.count == count, nameOffsets.count == count + 1, labels.map({ $0.count == count }) ?? true else {
            throw ShardError.malformed(file: path, reason: "sample.* tensors do not hold \(count) samples")
        }
        try Self.checkOffsets(nameOffsets, length: try file.entry(ShardLayout.nameBytesKey).count, file: path, what: "sample.name")
        var encodings: [String: BlobEncoding] = [:]
        for (key, value) in metadata where key.hasSuffix(".encoding") {
            let field = String(key.dropLast(".encoding".count))
            guard let encoding = BlobEncoding(rawValue: value) else {
                throw ShardError.malformed(file: path, reason: "field \(field) has unknown encoding \(value)")
            }
            encodings[field] = encoding
            let keys = ShardLayout.keys(field: field)
            let offsets = try file.integers(keys.offsets)
            let shapes = try file.integers(keys.shapes)
            guard offsets.count == count + 1, shapes.count == 3 * count else {
                throw ShardError.malformed(file: path, reason: "field \(field) does not hold \(count) samples")
            }
            try Self.checkOffsets(offsets, length: try file.entry(keys.bytes).count, file: path, what: field)
            blobOffsets[field] = offsets
            blobShapes[field] = shapes
        }
        self.encodings = encodings
    }

    private static func checkOffsets(_ offsets: [Int64], length: Int, file: String, what: String) throws {
        guard offsets.first == 0, offsets.last == Int64(length), zip(offsets, offsets.dropFirst()).allSatisfy({ $0 <= $1 }) else {
            throw ShardError.malformed(file: file, reason: "\(what) offsets do not tile its \(length) bytes")
        }
    }

    /// The id of sample `i`.
    package func id(at i: Int) -> Int64 { ids[i] }
    /// The class label of sample `i`, when the split has labels.
    package func label(at i: Int) -> Int64? { labels?[i] }

    /// The name of sample `i`.
    package func name(at i: Int) -> String {
        let (start, end) = (Int(nameOffsets[i]), Int(nameOffsets[i + 1]))
        return (try? file.withBytes(ShardLayout.nameBytesKey) { String(decoding: $0[start..<end], as: UTF8.self) }) ?? ""
    }

    /// The (height, width, channels) of field `field` of sample `i`.
    package func shape(of field: String, at i: Int) -> [Int] {
        guard let shapes = blobShapes[field] else { preconditionFailure("ShardReader: no field \(field) in \(path)") }
        return [Int(shapes[3 * i]), Int(shapes[3 * i + 1]), Int(shapes[3 * i + 2])]
    }

    /// Calls `body` with the payload bytes of field `field` of sample `i` (valid only inside `body`).
    package func withBlob<R>(_ field: String, at i: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        guard let offsets = blobOffsets[field] else { throw ShardError.malformed(file: path, reason: "no field \(field)") }
        precondition(i >= 0 && i < count, "ShardReader: sample \(i) outside 0..<\(count) in \(path)")
        let (start, end) = (Int(offsets[i]), Int(offsets[i + 1]))
        return try file.withBytes(ShardLayout.keys(field: field).bytes) { try body(UnsafeRawBufferPointer(rebasing: $0[start..<end])) }
    }

    /// Sample `i` with copies of all its payloads.
    package func sample(at i: Int) throws -> ShardSample {
        var blobs: [String: Blob] = [:]
        for field in encodings.keys {
            blobs[field] = Blob(bytes: try withBlob(field, at: i) { Array($0) }, shape: shape(of: field, at: i))
        }
        return ShardSample(id: id(at: i), name: name(at: i), label: label(at: i), blobs: blobs)
    }
}

/// Problems with shard files; each names the file.
package enum ShardError: Error, CustomStringConvertible {
    case notAShard(file: String, found: String)
    case versionMismatch(file: String, found: String, expected: String, hint: String)
    case mismatch(file: String, what: String, found: String, expected: String)
    case malformed(file: String, reason: String)

    package var description: String {
        switch self {
        case .notAShard(let file, let found): return "\(file): not a cribo shard (format \(found))"
        case .versionMismatch(let file, let found, let expected, let hint):
            return "\(file): shard layout version \(found), this cribo reads \(expected); \(hint)"
        case .mismatch(let file, let what, let found, let expected): return "\(file): \(what) is \(found), expected \(expected)"
        case .malformed(let file, let reason): return "\(file): malformed shard: \(reason)"
        }
    }
}
