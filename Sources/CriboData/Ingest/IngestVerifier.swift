// SPDX-License-Identifier: Apache-2.0
// `cribo-ingest verify`: every manifest under a folder, every shard re-hashed against it and opened as a shard
// (layout, version, sample count).

import Foundation

/// The outcome of verifying one split.
package struct VerifiedSplit: Sendable {
    package var folder: String
    package var samples: Int
    package var shards: Int
    /// Problems found; empty when the split is intact.
    package var problems: [String]
}

/// Verifies ingested splits.
package enum IngestVerifier {
    /// The split folders (holding manifest.json) at or below `root`, sorted.
    package static func splitFolders(under root: String) -> [String] {
        if FileManager.default.fileExists(atPath: Manifest.path(in: root)) { return [root] }
        guard let enumerator = FileManager.default.enumerator(atPath: root) else { return [] }
        var folders: [String] = []
        for case let path as String in enumerator where (path as NSString).lastPathComponent == "manifest.json" {
            let folder = root + "/" + (path as NSString).deletingLastPathComponent
            if !(folder as NSString).lastPathComponent.hasPrefix(".") { folders.append(folder) }
        }
        return folders.sorted()
    }

    /// Re-hashes and opens every shard of the split in `folder`.
    package static func verify(folder: String) -> VerifiedSplit {
        var result = VerifiedSplit(folder: folder, samples: 0, shards: 0, problems: [])
        let manifest: Manifest
        do { manifest = try Manifest.load(folder: folder) } catch {
            result.problems.append("\(error)")
            return result
        }
        result.shards = manifest.shards.count
        var total = 0
        for shard in manifest.shards {
            let path = folder + "/" + shard.file
            do {
                let digest = try SHA256Digest.hex(ofFile: path)
                guard digest == shard.sha256 else {
                    result.problems.append("\(path): SHA-256 \(digest) differs from the manifest's \(shard.sha256)")
                    continue
                }
                let reader = try ShardReader(path: path, dataset: manifest.dataset, split: manifest.split)
                if reader.count != shard.samples {
                    result.problems.append("\(path): \(reader.count) samples, the manifest says \(shard.samples)")
                }
                total += reader.count
            } catch {
                result.problems.append("\(error)")
            }
        }
        if total != manifest.sampleCount && result.problems.isEmpty {
            result.problems.append("\(Manifest.path(in: folder)): shards hold \(total) samples, the manifest says \(manifest.sampleCount)")
        }
        result.samples = total
        let extra = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
            .filter { $0.hasSuffix(".safetensors") && !manifest.shards.map(\.file).contains($0) }
        if !extra.isEmpty { result.problems.append("\(folder): shard files not in the manifest: \(extra.sorted().joined(separator: ", "))") }
        return result
    }
}
