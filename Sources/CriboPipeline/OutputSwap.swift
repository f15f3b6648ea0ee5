// SPDX-License-Identifier: Apache-2.0
// Publishing a stage's output without ever damaging the previous one: the tool writes a hidden staging sibling,
// and only after it succeeded the old folder is renamed aside (`.<name>.old`), the staging folder renamed in, and
// the old one deleted. A run killed between the two renames is repaired by the next one (the old folder is put
// back when the new one is not in place yet, deleted when it is).

import Foundation

/// Staging folders and the swap that publishes them.
package enum OutputSwap {
    /// The file in a resumable staging folder naming the fingerprint it was started for.
    package static let fingerprintFile = ".cribo-pipeline-fingerprint"

    /// The sibling a replaced folder is moved to while the new one is renamed in.
    package static func asidePath(_ folder: String) -> String {
        let parent = (folder as NSString).deletingLastPathComponent
        return (parent.isEmpty ? "" : parent + "/") + "." + (folder as NSString).lastPathComponent + ".old"
    }

    /// Repairs a swap interrupted between its renames.
    package static func recover(folder: String) throws {
        let aside = asidePath(folder)
        guard FileManager.default.fileExists(atPath: aside) else { return }
        if FileManager.default.fileExists(atPath: folder) {
            try remove(aside)
        } else {
            try rename(aside, folder)
        }
    }

    /// Makes `staging` ready for a stage with `fingerprint`: a resumable staging folder started for the same
    /// fingerprint is kept (returns true), anything else there is deleted and an empty folder created.
    @discardableResult
    package static func prepare(staging: String, fingerprint: String, resumable: Bool) throws -> Bool {
        let marker = staging + "/" + fingerprintFile
        if resumable, let data = FileManager.default.contents(atPath: marker), String(decoding: data, as: UTF8.self) == fingerprint {
            return true
        }
        if FileManager.default.fileExists(atPath: staging) { try remove(staging) }
        do {
            try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
            if resumable { try Data(fingerprint.utf8).write(to: URL(fileURLWithPath: marker)) }
        } catch {
            throw PipelineError.cannotCreate(path: staging, reason: "\(error)")
        }
        return false
    }

    /// Replaces `folder` (when it exists) with `staging`.
    package static func replace(folder: String, with staging: String) throws {
        try? FileManager.default.removeItem(atPath: staging + "/" + fingerprintFile)
        try recover(folder: folder)
        let aside = asidePath(folder)
        let hadOld = FileManager.default.fileExists(atPath: folder)
        if hadOld { try rename(folder, aside) }
        try rename(staging, folder)
        if hadOld { try remove(aside) }
    }

    /// Moves `names` from `staging` into `folder` (each replacing its earlier version by one rename), then deletes
    /// the staging folder.
    package static func moveFiles(_ names: [String], from staging: String, to folder: String) throws {
        for name in names { try rename(staging + "/" + name, folder + "/" + name) }
        try remove(staging)
    }

    private static func rename(_ from: String, _ to: String) throws {
        guard Foundation.rename(from, to) == 0 else {
            throw PipelineError.cannotCreate(path: to, reason: "rename from \(from): \(String(cString: strerror(errno)))")
        }
    }

    private static func remove(_ path: String) throws {
        do { try FileManager.default.removeItem(atPath: path) } catch {
            throw PipelineError.cannotCreate(path: path, reason: "cannot delete: \(error)")
        }
    }
}
