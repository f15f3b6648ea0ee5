// SPDX-License-Identifier: Apache-2.0
// A comparison of several evaluation reports (e.g. pretrained vs random init, or epoch by epoch): one table row per
// report, one column per row name (fraction), cells = the primary score mean ± std; written as compare.json,
// compare.md and compare.png (a bar chart of each report's last row).

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
    /// Differences that make the comparison unfair (protocol, variant, validation split).
    package var warnings: [String]

    /// The comparison of reports read from `folders`.
    package init(folders: [String]) throws {
        precondition(!folders.isEmpty, "ComparisonReport: no reports")
        let reports = try folders.map { try EvaluationReport.load(folder: $0) }
        metric = reports[0].primaryMetric
        var columns: [String] = []
        for report in reports { for row in report.rows where !columns.contains(row.name) { columns.append(row.name) } }
        self.columns = columns
        entries = zip(folders, reports).map { folder, report in
            var scores: [String: Statistic] = [:]
            for row in report.rows { if let primary = row.primary { scores[row.name] = primary } }
            return Entry(label: URL(fileURLWithPath: folder).standardizedFileURL.lastPathComponent, folder: folder, kind: report.kind,
                         variant: report.variant, checkpoint: report.val.checkpoint, checkpointSHA256: report.val.checkpointSHA256,
                         val: "\(report.val.dataset)/\(report.val.split)", scores: scores,
                         headline: report.rows.last { $0.primary != nil }?.name)
        }
        warnings = []
        for (name, values) in [("protocols", entries.map(\.kind.rawValue)), ("variants", entries.map { $0.variant?.rawValue ?? "none" }),
                               ("validation splits", entries.map(\.val))] where Set(values).count > 1 {
            warnings.append("the reports use different \(name): " + values.joined(separator: ", "))
        }
    }

    /// The Markdown table.
    package func markdown(figure: String?) -> String {
        var lines = ["# Comparison (\(metric), %)", ""]
        lines.append("| report | checkpoint | " + columns.joined(separator: " | ") + " |")
        lines.append("|---|---|" + columns.map { _ in "---|" }.joined())
        for entry in entries {
            let cells = columns.map { entry.scores[$0]?.text ?? "–" }
            let checkpoint = URL(fileURLWithPath: entry.checkpoint).lastPathComponent
            lines.append("| \(entry.label) | `\(checkpoint)` (\(entry.checkpointSHA256.prefix(8))) | " + cells.joined(separator: " | ") + " |")
        }
        lines.append("")
        lines.append("Protocols: " + entries.map { "\($0.label): \($0.kind.rawValue)\($0.variant.map { " (\($0.rawValue))" } ?? "")" }
            .joined(separator: "; ") + ".")
        if let figure { lines += ["", "![\(figure)](\(figure))"] }
        if !warnings.isEmpty { lines += ["", "## Warnings", ""] + warnings.map { "- " + $0 } }
        return lines.joined(separator: "\n") + "\n"
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
}
