// SPDX-License-Identifier: Apache-2.0
// A comparison of several evaluation reports (e.g. pretrained vs random init, or epoch by epoch), written as
// compare.json, compare.md and compare.png (a bar chart of each report's last row).
//
// A column is one protocol's row ("dense 1/8", "dense 1/1", "linear"; the variant is added when one protocol ran in
// several variants, "dense (hummingbird) 1/1"), so reports of different protocols fill different columns and are
// never compared with each other. The table has one line per evaluated checkpoint (reports of the same checkpoint
// share its line) and, below, each later checkpoint's difference from the first, in points of the metric: with the
// pipeline's order (random initialisation first), the margin that pretraining gained. When two reports of one
// checkpoint land in the same column, the table falls back to one line per report.

import CriboData
import CriboTensor
import Foundation

/// Several reports side by side.
package struct ComparisonReport: Codable, Equatable, Sendable {
    /// The JSON file of a comparison folder.
    package static let jsonName = "compare.json"
    /// The Markdown file of a comparison folder.
    package static let markdownName = "compare.md"
    /// The bar chart of a comparison folder.
    package static let figureName = "compare.png"

    /// One compared report.
    package struct Entry: Codable, Equatable, Sendable {
        /// A short label: the report folder's name.
        package var label: String
        /// The report folder as given.
        package var folder: String
        /// The protocol.
        package var kind: EvaluationKind
        /// The conventions (segmentation).
        package var variant: EvaluationVariant?
        /// The evaluated checkpoint.
        package var checkpoint: String
        /// Its SHA-256.
        package var checkpointSHA256: String
        /// The validation dataset/split.
        package var val: String
        /// Column → primary score.
        package var scores: [String: Statistic]
        /// The report's last row with a score (its headline, e.g. the whole training set).
        package var headline: String?
    }

    /// "cribo-comparison".
    package var format = "cribo-comparison"
    /// The compared score ("mIoU" or "top-1").
    package var metric: String
    /// Row names in first-seen order.
    package var columns: [String]
    /// The reports, in the order given.
    package var entries: [Entry]
    /// Differences that make the comparison unfair (validation split).
    package var warnings: [String]

    /// The comparison of reports read from `folders`.
    package init(folders: [String]) throws {
        precondition(!folders.isEmpty, "ComparisonReport: no reports")
        let reports = try folders.map { try EvaluationReport.load(folder: $0) }
        metric = reports[0].primaryMetric
        var variantsOfKind: [EvaluationKind: Set<String>] = [:]
        for report in reports { variantsOfKind[report.kind, default: []].insert(report.variant?.rawValue ?? "") }
        func column(_ report: EvaluationReport, _ row: String) -> String {
            let kind = report.kind.rawValue
            let variant = (variantsOfKind[report.kind]?.count ?? 0) > 1 ? " (\(report.variant?.rawValue ?? "none"))" : ""
            return row == kind ? kind + variant : "\(kind)\(variant) \(row)"
        }
        var columns: [String] = []
        for report in reports {
            for row in report.rows where !columns.contains(column(report, row.name)) { columns.append(column(report, row.name)) }
        }
        self.columns = columns
        entries = zip(folders, reports).map { folder, report in
            var scores: [String: Statistic] = [:]
            for row in report.rows { if let primary = row.primary { scores[column(report, row.name)] = primary } }
            return Entry(label: URL(fileURLWithPath: folder).standardizedFileURL.lastPathComponent, folder: folder, kind: report.kind,
                         variant: report.variant, checkpoint: report.val.checkpoint, checkpointSHA256: report.val.checkpointSHA256,
                         val: "\(report.val.dataset)/\(report.val.split)", scores: scores,
                         headline: report.rows.last { $0.primary != nil }?.name)
        }
        let splits = entries.map(\.val)
        warnings = Set(splits).count > 1 ? ["the reports use different validation splits: " + splits.joined(separator: ", ")] : []
    }

    /// One line of the table: a checkpoint (or, when its reports collide in a column, one report) and its scores.
    package struct Line: Equatable, Sendable {
        /// "`teacher_backbone.safetensors` (1d520b2d)", or the report's label.
        package var label: String
        /// The checkpoint's SHA-256.
        package var checkpointSHA256: String
        /// Column → score.
        package var scores: [String: Statistic]
    }

    /// The table's lines: one per checkpoint in first-seen order, or one per report when two reports of a checkpoint
    /// fill the same column.
    package var lines: [Line] {
        var lines: [Line] = []
        for entry in entries {
            let checkpoint = URL(fileURLWithPath: entry.checkpoint).lastPathComponent
            let label = "`\(checkpoint)` (\(entry.checkpointSHA256.prefix(8)))"
            if let k = lines.firstIndex(where: { $0.checkpointSHA256 == entry.checkpointSHA256 }) {
                guard Set(lines[k].scores.keys).isDisjoint(with: entry.scores.keys) else { return perReportLines }
                lines[k].scores.merge(entry.scores) { first, _ in first }
            } else {
                lines.append(Line(label: label, checkpointSHA256: entry.checkpointSHA256, scores: entry.scores))
            }
        }
        return lines
    }

    /// The Markdown table.
    package func markdown(figure: String?) -> String {
        var text = ["# Comparison (\(metric), %)", ""]
        let lines = self.lines
        text.append("| checkpoint | " + columns.joined(separator: " | ") + " |")
        text.append("|---|" + columns.map { _ in "---|" }.joined())
        for line in lines {
            text.append("| \(line.label) | " + columns.map { line.scores[$0]?.text ?? "–" }.joined(separator: " | ") + " |")
        }
        for line in lines.dropFirst() {
            let cells = columns.map { column -> String in
                guard let a = line.scores[column], let b = lines[0].scores[column] else { return "–" }
                return String(format: "%+.2f", a.mean - b.mean)
            }
            text.append("| **Δ** \(line.label) − \(lines[0].label) | " + cells.joined(separator: " | ") + " |")
        }
        text.append("")
        text.append("Reports: " + entries.map { "\($0.label) (\($0.kind.rawValue)\($0.variant.map { ", \($0.rawValue)" } ?? ""), \($0.val))" }
            .joined(separator: "; ") + ".")
        if lines.count > 1 {
            text.append("Δ: each later line's mean minus the first line's, in points of \(metric).")
        }
        if let figure { text += ["", "![\(figure)](\(figure))"] }
        if !warnings.isEmpty { text += ["", "## Warnings", ""] + warnings.map { "- " + $0 } }
        return text.joined(separator: "\n") + "\n"
    }

    /// Writes compare.json, compare.md and compare.png into `folder` (created when missing).
    /// - Returns: the files written.
    @discardableResult
    package func write(folder: String) throws -> [String] {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try AtomicFile.write(try encoder.encode(self) + Data("\n".utf8), to: folder + "/" + Self.jsonName)
        let palette = PNG.pascalVOCPalette()
        let chart = ReportFigures.barChart(
            title: "\(metric.uppercased()) (%) OF EACH REPORT'S LAST ROW", labels: entries.map { "\($0.label) \($0.headline ?? "")" },
            values: entries.map { entry in entry.headline.flatMap { entry.scores[$0]?.mean } },
            colors: entries.indices.map { RGBColor.palette(palette, $0 % 20 + 1) })
        try AtomicFile.write(try PNG.encodeRGB(chart.image), to: folder + "/" + Self.figureName)
        try AtomicFile.write(Data(markdown(figure: Self.figureName).utf8), to: folder + "/" + Self.markdownName)
        return [Self.jsonName, Self.markdownName, Self.figureName]
    }

    // MARK: - Private

    private var perReportLines: [Line] {
        entries.map { entry in
            let checkpoint = URL(fileURLWithPath: entry.checkpoint).lastPathComponent
            return Line(label: "\(entry.label): `\(checkpoint)` (\(entry.checkpointSHA256.prefix(8)))",
                        checkpointSHA256: entry.checkpointSHA256, scores: entry.scores)
        }
    }
}
