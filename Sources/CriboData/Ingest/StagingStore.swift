// SPDX-License-Identifier: Apache-2.0
// The staging store of an ingest run: converted payloads are appended to one temporary file as workers finish
// them (in any order), and read back in the plan's order when the shards are assembled. Memory holds only the
// index, so memory stays bounded whatever the archive size.

import Foundation

/// Thread-safe append-only storage of converted sample parts.
final class StagingStore: @unchecked Sendable {
    struct Entry {
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

    init(path: String) throws {
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
            try handle.seek(toOffset: UInt64(end))
            try handle.write(contentsOf: blob.bytes)
            index[sample, default: [:]][field] = Entry(offset: end, length: blob.bytes.count, shape: blob.shape, sourceSize: sourceSize)
            end += blob.bytes.count
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

    /// Reads a stored part back.
    func read(_ entry: Entry) throws -> Blob {
        try lock.withLock {
            try handle.seek(toOffset: UInt64(entry.offset))
            let data = try handle.read(upToCount: entry.length) ?? Data()
            guard data.count == entry.length else { throw IngestError.cannotWrite(path: path, reason: "staging file truncated") }
            return Blob(bytes: Array(data), shape: entry.shape)
        }
    }
}
