// SPDX-License-Identifier: Apache-2.0
// Whether a stage is up to date: its inputs exist, the fingerprint of its command and inputs equals the one in its
// manifest, and every output the manifest lists is still there with its hash. Shared by `run` and `status`.

import CriboData
import Foundation

/// The state of a stage before it runs.
package enum StageState: Equatable, Sendable {
    /// Nothing to do.
    case upToDate(StageManifest)
    /// The stage must run, for `reason`.
    case outOfDate(reason: String, fingerprint: String, inputs: [FileRecord])
    /// An input is missing.
    case missingInput(path: String)

    /// A short word for listings.
    package var summary: String {
        switch self {
        case .upToDate: return "up to date"
        case .outOfDate(let reason, _, _): return "to run (\(reason))"
        case .missingInput(let path): return "waiting for \(path)"
        }
    }
}

extension PipelineStage {
    /// The path of this stage's manifest under `paths`.
    package func manifestPath(_ paths: PipelinePaths) -> String { paths.stages + "/" + name + ".json" }
    /// The path of this stage's log under `paths`.
    package func logPath(_ paths: PipelinePaths) -> String { paths.logs + "/" + name + ".log" }

    /// The fingerprint of this stage given its inputs' records: SHA-256 over the tool name, the arguments and the
    /// inputs' paths and hashes (not the tool binary: rebuilding the tools does not rerun finished stages).
    package func fingerprint(inputs: [FileRecord]) -> String {
        var text = "cribo-stage 1\n" + tool + "\n" + arguments.joined(separator: "\u{1F}") + "\n"
        for input in inputs { text += input.path + " " + input.sha256 + "\n" }
        return SHA256Digest.hex(of: Data(text.utf8))
    }

    /// The state of this stage now.
    package func state(paths: PipelinePaths, hasher: FileHasher) throws -> StageState {
        for folder in requiredFolders {
            var isFolder: ObjCBool = false
            if !FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) || !isFolder.boolValue { return .missingInput(path: folder) }
        }
        var records: [FileRecord] = []
        for input in inputs {
            guard let record = try hasher.record(input) else { return .missingInput(path: input) }
            records.append(record)
        }
        let fingerprint = fingerprint(inputs: records)
        guard let manifest = StageManifest.load(path: manifestPath(paths)) else {
            return .outOfDate(reason: "never run", fingerprint: fingerprint, inputs: records)
        }
        guard manifest.fingerprint == fingerprint else {
            let changed = records.filter { current in !manifest.inputs.contains(current) && manifest.inputs.contains { $0.path == current.path } }
            let reason = manifest.command.dropFirst() != arguments[...] ? "settings changed"
                : "input changed" + (changed.first.map { ": " + $0.path } ?? "")
            return .outOfDate(reason: reason, fingerprint: fingerprint, inputs: records)
        }
        for output in manifest.outputs {
            guard let current = try hasher.record(output.path) else {
                return .outOfDate(reason: "output missing: \(output.path)", fingerprint: fingerprint, inputs: records)
            }
            if current.sha256 != output.sha256 {
                return .outOfDate(reason: "output changed: \(output.path)", fingerprint: fingerprint, inputs: records)
            }
        }
        return .upToDate(manifest)
    }

    /// The records of this stage's published outputs.
    package func outputRecords(hasher: FileHasher) throws -> [FileRecord] {
        if output.recordsAllFiles {
            return try hasher.records(folder: output.folder, excluding: [OutputSwap.fingerprintFile])
        }
        return try output.required.compactMap { try hasher.record(output.folder + "/" + $0) }
    }
}
