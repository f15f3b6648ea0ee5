// SPDX-License-Identifier: Apache-2.0
// Writing a report folder — report.json, report.md, class-iou.png and predictions.png, each atomically — and
// appending one line per evaluation to history.jsonl in the folder's parent.

import CriboData
import CriboTensor
import Foundation

/// One line of `history.jsonl`: what ran, on what, and its main scores.
package struct HistoryEntry: Codable, Equatable, Sendable {
    /// When the evaluation finished (ISO 8601).
    package var created: String
    /// The protocol.
    package var kind: EvaluationKind
    /// The conventions (segmentation).
    package var variant: EvaluationVariant?
    /// The report folder.
    package var report: String
    /// The evaluated checkpoint.
    package var checkpoint: String
    /// Its SHA-256.
    package var checkpointSHA256: String
    /// The training dataset/split.
    package var train: String
    /// The validation dataset/split.
    package var val: String
    /// Row name → mean of the primary metric (percent).
    package var results: [String: Double]
    /// The name of the scores in `results`.
    package var metric: String
}

extension EvaluationReport {
    /// Writes the report's files into `folder` (created when missing) and appends its line to the history of the
    /// parent folder.
    /// - Parameters:
    ///   - preview: validation images with predictions, for predictions.png (skipped when nil or empty).
    /// - Returns: the files written.
    @discardableResult
    package func write(folder: String, preview: ReportPreview?) throws -> [String] {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var written: [String] = []
        let figureRow = rows.last { $0.classIoU != nil }
        var figures: [String] = []
        if let figureRow, let chart = ReportFigures.classIoUChart(report: self, row: figureRow) {
            try AtomicFile.write(try PNG.encodeRGB(chart.image), to: folder + "/" + Self.classIoUFigureName)
            figures.append(Self.classIoUFigureName)
        }
        if let preview, let grid = ReportFigures.predictionGrid(preview) {
            try AtomicFile.write(try PNG.encodeRGB(grid.image), to: folder + "/" + Self.predictionsFigureName)
            figures.append(Self.predictionsFigureName)
        }
        try AtomicFile.write(try jsonData(), to: folder + "/" + Self.jsonName)
        written.append(Self.jsonName)
        try AtomicFile.write(Data(markdown(figures: figures).utf8), to: folder + "/" + Self.markdownName)
        written.append(Self.markdownName)
        try appendHistory(reportFolder: folder)
        return written + figures
    }

    /// The history line of this report.
    package func historyEntry(reportFolder: String) -> HistoryEntry {
        var results: [String: Double] = [:]
        for row in rows { if let primary = row.primary { results[row.name] = primary.mean } }
        return HistoryEntry(
            created: created, kind: kind, variant: variant, report: reportFolder, checkpoint: val.checkpoint,
            checkpointSHA256: val.checkpointSHA256, train: "\(train.dataset)/\(train.split)", val: "\(val.dataset)/\(val.split)",
            results: results, metric: primaryMetric)
    }

    /// Appends this report's line to `<parent of reportFolder>/history.jsonl` with one O_APPEND write, so concurrent
    /// evaluations never interleave within a line.
    package func appendHistory(reportFolder: String) throws {
        let parent = URL(fileURLWithPath: reportFolder).standardizedFileURL.deletingLastPathComponent().path
        let path = parent + "/" + Self.historyName
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let line = try encoder.encode(historyEntry(reportFolder: URL(fileURLWithPath: reportFolder).standardizedFileURL.path)) + Data("\n".utf8)
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError.cannotCreate(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        try AtomicFile.writeAll(fd: fd, data: line, path: path)
    }

    /// The lines of a history file, oldest first.
    package static func history(path: String) throws -> [HistoryEntry] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return try text.split(separator: "\n").enumerated().map { (number, line) in
            do { return try JSONDecoder().decode(HistoryEntry.self, from: Data(line.utf8)) } catch {
                throw FeatureError.malformed(file: path, reason: "line \(number + 1): \(error)")
            }
        }
    }
}
