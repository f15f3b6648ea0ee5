// SPDX-License-Identifier: Apache-2.0
// Reading the committed dataset definitions (manifests/<dataset>.json): published archive checksums and class
// tables. Missing or unreadable definitions only mean "nothing to compare with".

import Foundation

/// Access to manifests/<dataset>.json.
package enum DatasetDefinitions {
    /// The JSON object of `dataset`'s definition file, or nil.
    package static func load(folder: String, dataset: String) -> [String: Any]? {
        guard let data = FileManager.default.contents(atPath: folder + "/" + dataset + ".json") else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }

    /// The published checksum of `archive` — SHA-256 when the definitions record one, else MD5 — as
    /// (algorithm, lowercase hex), or nil.
    package static func publishedChecksum(folder: String, dataset: String, archive: String) -> (algorithm: String, value: String)? {
        guard let archives = load(folder: folder, dataset: dataset)?["archives"] as? [[String: Any]],
            let entry = archives.first(where: { $0["name"] as? String == archive })
        else { return nil }
        if let sha256 = entry["sha256"] as? String { return ("sha256", sha256.lowercased()) }
        if let md5 = entry["md5"] as? String { return ("md5", md5.lowercased()) }
        return nil
    }

    /// The default definitions folder: `$CRIBO_MANIFESTS`, else `manifests/` found upwards from the executable
    /// (the repository layout `.build/<config>/cribo-ingest`), else nil.
    package static func defaultFolder(executable: String) -> String? {
        if let value = ProcessInfo.processInfo.environment["CRIBO_MANIFESTS"], !value.isEmpty { return value }
        var url = URL(fileURLWithPath: executable).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            let candidate = url.appendingPathComponent("manifests")
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("voc.json").path) { return candidate.path }
            url = url.deletingLastPathComponent()
        }
        return nil
    }
}
