// SPDX-License-Identifier: Apache-2.0
// The manifest of an ingested split: `<out>/<dataset>/<split>/manifest.json`, written last (atomically), so a
// split is complete exactly when its manifest exists and names shards whose hashes match.

import CriboTensor
import Foundation

/// What `cribo-ingest` records about one dataset split.
package struct Manifest: Codable, Equatable, Sendable {
    package static let format = "cribo-manifest"
    package static let currentVersion = 1

    /// A source archive as it was read.
    package struct Source: Codable, Equatable, Sendable {
        package init(name: String, size: Int64, modified: Double, sha256: String, published: String?, matchesPublished: Bool?) {
            (self.name, self.size, self.modified, self.sha256) = (name, size, modified, sha256)
            (self.published, self.matchesPublished) = (published, matchesPublished)
        }
        package var name: String
        package var size: Int64
        /// Modification time (seconds since 1970) when read: with `size`, the cheap up-to-date check.
        package var modified: Double
        package var sha256: String
        /// The published checksum from manifests/, when known, and whether it matched.
        package var published: String?
        package var matchesPublished: Bool?
    }

    /// A sample left out, and why.
    package struct Skipped: Codable, Equatable, Sendable {
        package init(member: String, reason: String) { (self.member, self.reason) = (member, reason) }
        package var member: String
        package var reason: String
    }

    package var format: String = Manifest.format
    package var version: Int = Manifest.currentVersion
    package var dataset: String
    package var split: String
    package var sources: [Source]
    package var shards: [ShardWriter.WrittenShard]
    package var sampleCount: Int
    /// Blob fields and their encodings.
    package var fields: [String: BlobEncoding]
    package var classNames: [String]
    /// Free-form counts (e.g. images with annotations, instances, per-class pixels).
    package var counts: [String: Int]
    /// Label conventions the evaluators need (e.g. "ignoreIndex": "255", "reduceZeroLabel": "evaluator's choice").
    package var labelEncoding: [String: String]
    /// The ingest options that shaped the output, and their hash (the up-to-date check compares it).
    package var configuration: [String: String]
    package var configurationHash: String
    package var skipped: [Skipped]
    package var createdBy: String

    package init(
        dataset: String, split: String, sources: [Source], shards: [ShardWriter.WrittenShard], sampleCount: Int,
        fields: [String: BlobEncoding], classNames: [String], counts: [String: Int], labelEncoding: [String: String],
        configuration: [String: String], configurationHash: String, skipped: [Skipped], createdBy: String
    ) {
        self.dataset = dataset
        self.split = split
        self.sources = sources
        self.shards = shards
        self.sampleCount = sampleCount
        self.fields = fields
        self.classNames = classNames
        self.counts = counts
        self.labelEncoding = labelEncoding
        self.configuration = configuration
        self.configurationHash = configurationHash
        self.skipped = skipped
        self.createdBy = createdBy
    }

    /// The manifest's path inside a split folder.
    package static func path(in folder: String) -> String { folder + "/manifest.json" }

    /// Reads and checks the manifest of `folder`.
    package static func load(folder: String) throws -> Manifest {
        let path = Self.path(in: folder)
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ManifestError.missing(file: path)
        }
        let manifest: Manifest
        do { manifest = try JSONDecoder().decode(Manifest.self, from: data) } catch {
            throw ManifestError.malformed(file: path, reason: "\(error)")
        }
        guard manifest.format == format else { throw ManifestError.malformed(file: path, reason: "format is \(manifest.format)") }
        guard manifest.version == currentVersion else {
            throw ManifestError.malformed(file: path, reason: "version \(manifest.version), this cribo reads \(currentVersion); re-run cribo-ingest")
        }
        return manifest
    }

    /// Writes the manifest into `folder` atomically (pretty, sorted keys: stable bytes).
    package func write(folder: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try AtomicFile.write(try encoder.encode(self) + Data("\n".utf8), to: Self.path(in: folder))
    }

    /// A stable hash of ingest options.
    package static func hash(configuration: [String: String]) -> String {
        let text = configuration.keys.sorted().map { "\($0)=\(configuration[$0]!)" }.joined(separator: "\n")
        return SHA256Digest.hex(of: Data(text.utf8))
    }
}

/// Manifest problems; each names the file.
package enum ManifestError: Error, CustomStringConvertible {
    case missing(file: String)
    case malformed(file: String, reason: String)

    package var description: String {
        switch self {
        case .missing(let file): return "\(file): no manifest (the split was never ingested, or ingest did not finish)"
        case .malformed(let file, let reason): return "\(file): invalid manifest: \(reason)"
        }
    }
}
