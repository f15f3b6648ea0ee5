// SPDX-License-Identifier: Apache-2.0
// The staging store of an ingest run: converted payloads are kept as workers finish them (in any order) and handed
// out in the plan's order when the shards are assembled. The first `memoryBudget` bytes stay in memory (handed over
// without a copy, and released as they are taken); the rest is appended to one temporary file and read back, so
// memory stays bounded whatever the archive size.

import Foundation

/// Thread-safe append-only storage of converted sample parts.
final class StagingStore: @unchecked Sendable {
    struct Entry {
        /// Whether the bytes are held in memory (`offset` is then unused) rather than in the staging file.
        var resident: Bool
        var offset: Int
        var length: Int
        var shape: [Int]
        /// (height, width) of the source before any downscaling, for the image/mask agreement check.
        var sourceSize: (Int, Int)
    }

    private let handle: FileHandle
    private let path: String
    private let lock = NSLock()
    private var end = 0
    private var index: [Int: [String: Entry]] = [:]
    private var failures: [Int: String] = [:]
    private let memoryBudget: Int
    private var residentBytes = 0
    private var resident: [Int: [String: [UInt8]]] = [:]

    /// - Parameter memoryBudget: bytes of payload kept in memory before the store spills to `path`.
    init(path: String, memoryBudget: Int = 512 << 20) throws {
        self.memoryBudget = memoryBudget
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw IngestError.cannotWrite(path: path, reason: "cannot create the staging file")
        }
        guard let handle = FileHandle(forUpdatingAtPath: path) else {
            throw IngestError.cannotWrite(path: path, reason: "cannot open the staging file")
        }
        self.handle = handle
        self.path = path
    }

    deinit { try? handle.close() }

    /// Stores field `field` of sample `sample`.
    func put(sample: Int, field: String, blob: Blob, sourceSize: (Int, Int)) throws {
        try lock.withLock {
            if let earlier = resident[sample]?.removeValue(forKey: field) { residentBytes -= earlier.count }  // a part given twice
            if residentBytes + blob.bytes.count <= memoryBudget {
                resident[sample, default: [:]][field] = blob.bytes
                residentBytes += blob.bytes.count
                index[sample, default: [:]][field] = Entry(resident: true, offset: 0, length: blob.bytes.count, shape: blob.shape, sourceSize: sourceSize)
                return
            }
            try handle.seek(toOffset: UInt64(end))
            try handle.write(contentsOf: blob.bytes)
            index[sample, default: [:]][field] = Entry(resident: false, offset: end, length: blob.bytes.count, shape: blob.shape, sourceSize: sourceSize)
            end += blob.bytes.count
        }
    }

    /// Releases the parts of sample `sample` held in memory (a sample left out of the shards).
    func discard(sample: Int) {
        lock.withLock {
            for bytes in (resident.removeValue(forKey: sample) ?? [:]).values { residentBytes -= bytes.count }
        }
    }

    /// Records why sample `sample` cannot be used (the first reason wins).
    func fail(sample: Int, reason: String) {
        lock.withLock {
            if failures[sample] == nil { failures[sample] = reason }
        }
    }

    func failure(of sample: Int) -> String? { lock.withLock { failures[sample] } }
    func entries(of sample: Int) -> [String: Entry] { lock.withLock { index[sample] ?? [:] } }

    /// Takes the part `entry` of sample `sample` back (once: a part held in memory is released by the store).
    func take(sample: Int, field: String, _ entry: Entry) throws -> Blob {
        try lock.withLock {
            if entry.resident {
                guard let bytes = resident[sample]?.removeValue(forKey: field) else {
                    preconditionFailure("StagingStore: part \(field) of sample \(sample) taken twice")
                }
                residentBytes -= bytes.count
                return Blob(bytes: bytes, shape: entry.shape)
            }
            try handle.seek(toOffset: UInt64(entry.offset))
            let data = try handle.read(upToCount: entry.length) ?? Data()
            guard data.count == entry.length else { throw IngestError.cannotWrite(path: path, reason: "staging file truncated") }
            return Blob(bytes: [UInt8](data), shape: entry.shape)
        }
    }
}
