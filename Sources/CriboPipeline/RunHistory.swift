// SPDX-License-Identifier: Apache-2.0
// `<run>/history.jsonl`: one JSON object per run, appended with a single O_APPEND write — when it started and
// ended, the configuration and its hash, what each stage did and for how long, the headline metrics of the
// evaluation reports, the outcome and the exit status.

import CriboEval
import CriboTensor
import Foundation

/// What one stage did in a run.
package struct StageRun: Codable, Equatable, Sendable {
    /// ran, skipped (up to date), failed, incomplete (stopped early, rerun to continue) or not-run.
    package var action: String
    /// The stage.
    package var stage: String
    /// Seconds spent on it (checking included).
    package var seconds: Double
    package init(stage: String, action: String, seconds: Double) {
        (self.stage, self.action, self.seconds) = (stage, action, (seconds * 10).rounded() / 10)
    }
}

/// One line of `history.jsonl`.
package struct RunRecord: Codable, Equatable, Sendable {
    /// ISO 8601 start and end (UTC).
    package var started: String
    package var finished: String
    package var seconds: Double
    /// The pipeline name.
    package var name: String
    /// The configuration file and the SHA-256 of the effective configuration.
    package var config: String
    package var configSHA256: String
    /// `--set` overrides.
    package var overrides: [String]
    /// ok, failed, incomplete or interrupted.
    package var status: String
    /// The exit status of cribo-pipeline.
    package var exitCode: Int32
    /// Every stage of the plan, in order.
    package var stages: [StageRun]
    /// The failed stage, its log, and the error line.
    package var failedStage: String?
    package var log: String?
    package var error: String?
    /// Report ("<dataset>/<backbone>-<protocol>") → row name → primary score mean (mIoU or top-1, %).
    package var metrics: [String: [String: Double]]

    /// Appends this record as one line to `path`.
    package func append(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let line = try encoder.encode(self) + Data("\n".utf8)
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw PipelineError.cannotCreate(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        do { try AtomicFile.writeAll(fd: fd, data: line, path: path) } catch {
            throw PipelineError.cannotCreate(path: path, reason: "\(error)")
        }
    }

    /// The records of a history file, oldest first (unreadable lines are left out).
    package static func load(path: String) -> [RunRecord] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return data.split(separator: UInt8(ascii: "\n")).compactMap { try? JSONDecoder().decode(RunRecord.self, from: Data($0)) }
    }

    /// The headline metrics of the evaluation reports among `stages` that exist on disk.
    package static func metrics(of stages: [PipelineStage]) -> [String: [String: Double]] {
        var metrics: [String: [String: Double]] = [:]
        for stage in stages where stage.tool == "cribo-evaluate" && stage.arguments.first != "compare" {
            guard let report = try? EvaluationReport.load(folder: stage.output.folder) else { continue }
            let url = URL(fileURLWithPath: stage.output.folder)
            let key = url.deletingLastPathComponent().lastPathComponent + "/" + url.lastPathComponent
            var rows: [String: Double] = [:]
            for row in report.rows { if let primary = row.primary { rows[row.name] = (primary.mean * 100).rounded() / 100 } }
            metrics[key] = rows
        }
        return metrics
    }
}
