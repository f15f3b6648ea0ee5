// SPDX-License-Identifier: Apache-2.0
// `cribo-pipeline status`: each stage's state (up to date, to run and why, waiting for an input), whether a run
// holds the lock now, and the last history line. It reads only, and hashes inputs the way a run would.

import Foundation

/// The state of a pipeline, as lines of text.
package struct PipelineStatus {
    /// The configuration.
    package let configuration: PipelineConfiguration
    /// Its folders.
    package let paths: PipelinePaths

    package init(configuration: PipelineConfiguration, paths: PipelinePaths) {
        (self.configuration, self.paths) = (configuration, paths)
    }

    /// One line per stage, then the lock and the last run.
    package func lines() throws -> [String] {
        let stages = PipelinePlan.stages(configuration, paths: paths)
        let hasher = FileHasher()
        for stage in stages {
            if let manifest = StageManifest.load(path: stage.manifestPath(paths)) { hasher.remember(manifest.inputs + manifest.outputs) }
        }
        var lines = ["pipeline \(configuration.name) (\(configuration.file)), run folder \(paths.run)"]
        let width = stages.map(\.name.count).max() ?? 0
        for stage in stages {
            let state = try stage.state(paths: paths, hasher: hasher)
            var text = stage.name.padding(toLength: width + 2, withPad: " ", startingAt: 0) + state.summary
            if case .upToDate(let manifest) = state { text += ", finished \(manifest.finished) (\(PipelineRunner.duration(manifest.seconds)))" }
            lines.append(text)
        }
        if let pid = PipelineLock.recordedHolder(path: paths.lock), kill(pid, 0) == 0,
           let comm = FileManager.default.contents(atPath: "/proc/\(pid)/comm"),
           String(decoding: comm, as: UTF8.self).hasPrefix("cribo-pipeline") {
            lines.append("running now: pid \(pid) holds \(paths.lock)")
        }
        if let last = RunRecord.load(path: paths.history).last,
           let data = try? JSONEncoder.sortedCompact.encode(last) {
            lines.append("last run: " + String(decoding: data, as: UTF8.self))
        } else {
            lines.append("last run: none")
        }
        return lines
    }
}

extension JSONEncoder {
    /// Sorted keys, no pretty printing, slashes as they are.
    static var sortedCompact: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
