// SPDX-License-Identifier: Apache-2.0
// The record of a finished stage, `<run>/stages/<stage>.json` (format "cribo-stage", version 1): the fingerprint of
// its command and inputs, its inputs and outputs with their SHA-256, the command line and the start and end times.
// A stage is up to date when the fingerprint computed now equals the recorded one and every recorded output is
// still there with its recorded hash.

import CriboData
import CriboTensor
import Foundation

/// A file and its content hash, with the size and modification time it had when it was hashed.
package struct FileRecord: Codable, Equatable, Sendable {
    /// The path as the stage names it.
    package var path: String
    /// SHA-256 of the contents (hex).
    package var sha256: String
    /// Bytes.
    package var size: Int64
    /// Modification time (nanoseconds since 1970) when hashed; lets an unchanged file skip re-reading.
    package var modified: Int64
    package init(path: String, sha256: String, size: Int64, modified: Int64) {
        (self.path, self.sha256, self.size, self.modified) = (path, sha256, size, modified)
    }
}

/// `<run>/stages/<stage>.json`.
package struct StageManifest: Codable, Equatable, Sendable {
    /// "cribo-stage".
    package var format = "cribo-stage"
    /// The layout version.
    package var version = 1
    /// The stage name.
    package var stage: String
    /// SHA-256 over the tool, its arguments and the inputs' hashes.
    package var fingerprint: String
    /// The command line (tool path and arguments).
    package var command: [String]
    /// The inputs with their hashes.
    package var inputs: [FileRecord]
    /// The outputs with their hashes.
    package var outputs: [FileRecord]
    /// ISO 8601 start and end of the stage's command.
    package var started: String
    package var finished: String
    /// Seconds the command ran.
    package var seconds: Double

    package init(stage: String, fingerprint: String, command: [String], inputs: [FileRecord], outputs: [FileRecord],
                 started: String, finished: String, seconds: Double) {
        (self.stage, self.fingerprint, self.command, self.inputs, self.outputs) = (stage, fingerprint, command, inputs, outputs)
        (self.started, self.finished, self.seconds) = (started, finished, seconds)
    }

    /// The manifest at `path`, or nil when there is none or it does not read (a stage without a readable record runs).
    package static func load(path: String) -> StageManifest? {
        guard let data = FileManager.default.contents(atPath: path),
              let manifest = try? JSONDecoder().decode(StageManifest.self, from: data), manifest.format == "cribo-stage", manifest.version == 1
        else { return nil }
        return manifest
    }

    /// Writes the manifest atomically.
    package func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try AtomicFile.write(try encoder.encode(self) + Data("\n".utf8), to: path)
        } catch {
            throw PipelineError.cannotCreate(path: path, reason: "\(error)")
        }
    }
}

/// Content hashes of files, re-reading a file only when its size or modification time differs from a record made
/// earlier (git's index rule): hashing a 150 GB archive every night is not needed to notice that it changed.
package final class FileHasher: @unchecked Sendable {
    private var known: [String: FileRecord] = [:]
    private let lock = NSLock()
    /// Whether every file is re-read regardless of earlier records.
    package let rehashes: Bool

    /// - Parameters:
    ///   - rehashes: ignore earlier records and read every file.
    package init(rehashes: Bool = false) { self.rehashes = rehashes }

    /// Remembers the records of a manifest (their files are not re-read while unchanged).
    package func remember(_ records: [FileRecord]) {
        lock.withLock { for record in records { known[record.path] = record } }
    }

    /// The record of the regular file at `path`, or nil when it does not exist.
    package func record(_ path: String) throws -> FileRecord? {
        var status = stat()
        guard stat(path, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else { return nil }
        let size = Int64(status.st_size)
        let modified = Int64(status.st_mtim.tv_sec) * 1_000_000_000 + Int64(status.st_mtim.tv_nsec)
        if !rehashes, let earlier = lock.withLock({ known[path] }), earlier.size == size, earlier.modified == modified {
            return earlier
        }
        let record = FileRecord(path: path, sha256: try SHA256Digest.hex(ofFile: path), size: size, modified: modified)
        lock.withLock { known[path] = record }
        return record
    }

    /// The records of every regular file under `folder` (recursively, sorted by path), skipping names in `excluding`.
    package func records(folder: String, excluding: Set<String> = []) throws -> [FileRecord] {
        guard let enumerator = FileManager.default.enumerator(atPath: folder) else { return [] }
        var paths: [String] = []
        while let relative = enumerator.nextObject() as? String {
            if excluding.contains((relative as NSString).lastPathComponent) { continue }
            paths.append(folder + "/" + relative)
        }
        return try paths.sorted().compactMap { try record($0) }
    }
}
