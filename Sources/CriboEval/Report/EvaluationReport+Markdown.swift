// SPDX-License-Identifier: Apache-2.0
// The Markdown summary of a report (`report.md`): provenance, settings, the table of rows (mean ± std over seeds),
// per-class IoU by row, the figures, and the notes.

import Foundation

extension EvaluationReport {
    /// The Markdown text; `figures` are file names in the same folder to embed.
    package func markdown(figures: [String] = []) -> String {
        var lines: [String] = []
        lines.append("# " + kind.title + (variant.map { " — \($0.rawValue) variant" } ?? ""))
        lines.append("")
        lines.append("Finished \(created).")
        if let variant { lines.append("Variant: **\(variant.rawValue)** — " + Self.variantDescription(variant)) }
        lines.append("")
        lines.append("| | train | val |")
        lines.append("|---|---|---|")
        lines.append("| features | `\(train.folder)` | `\(val.folder)` |")
        lines.append("| split | \(train.dataset)/\(train.split) (\(train.images) images) | \(val.dataset)/\(val.split) (\(val.images) images) |")
        lines.append("| checkpoint | `\(train.checkpoint)` (sha256 \(train.checkpointSHA256.prefix(12))…) | `\(val.checkpoint)` (sha256 \(val.checkpointSHA256.prefix(12))…) |")
        lines.append("| architecture | \(train.architecture) | \(val.architecture) |")
        lines.append("| resolution | \(train.resolution) | \(val.resolution) |")
        lines.append("| normalisation | \(train.normalization.rawValue) | \(val.normalization.rawValue) |")
        lines.append("| augmentation epochs | \(train.augmentationEpochs) | \(val.augmentationEpochs) |")
        lines.append("| token dtype | \(train.dtype.rawValue) | \(val.dtype.rawValue) |")
        lines.append("")
        lines.append("Settings: " + settings.keys.sorted().map { "\($0) = \(settings[$0]!)" }.joined(separator: ", ") + ".")
        lines.append("")
        lines.append("## Results (%)")
        lines.append("")
        if kind.isClassification {
            lines.append("| row | train images | top-1 | top-5 | runs |")
            lines.append("|---|---|---|---|---|")
            for row in rows {
                lines.append("| \(row.name) | \(row.trainImages) | \(row.top1?.text ?? "–") | \(row.top5?.text ?? "–") | \(row.top1?.values.count ?? 0) |")
            }
        } else {
            lines.append("| \(kind == .dense ? "fraction" : "row") | train images | memory rows | mIoU | pixel accuracy | seeds |")
            lines.append("|---|---|---|---|---|---|")
            for row in rows {
                lines.append("| \(row.name) | \(row.trainImages) | \(row.memoryRows.map(String.init) ?? "–") | "
                    + "\(row.meanIoU?.text ?? "–") | \(row.pixelAccuracy?.text ?? "–") | \(row.meanIoU?.values.count ?? 0) |")
            }
            let withClasses = rows.filter { $0.classIoU != nil }
            if !withClasses.isEmpty {
                lines.append("")
                lines.append("## Per-class IoU (%, mean over seeds; – where the class is not counted)")
                lines.append("")
                lines.append("| id | class | " + withClasses.map(\.name).joined(separator: " | ") + " |")
                lines.append("|---|---|" + withClasses.map { _ in "---|" }.joined())
                for c in 0..<(withClasses[0].classIoU!.count) {
                    let name = c < classNames.count ? classNames[c] : "class \(c)"
                    let cells = withClasses.map { row in row.classIoU![c].map { String(format: "%.2f", $0) } ?? "–" }
                    lines.append("| \(c) | \(name) | " + cells.joined(separator: " | ") + " |")
                }
            }
        }
        if !figures.isEmpty {
            lines.append("")
            lines.append("## Figures")
            lines.append("")
            for figure in figures { lines.append("![\(figure)](\(figure))") }
        }
        if !notes.isEmpty {
            lines.append("")
            lines.append("## Notes")
            lines.append("")
            for note in notes { lines.append("- " + note) }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// What a variant means, in one sentence.
    package static func variantDescription(_ variant: EvaluationVariant) -> String {
        switch variant {
        case .clean:
            return "standard mIoU (ignored pixels dropped, classes absent from both ground truth and prediction not averaged, "
                + "no Hungarian matching; ignored pixels add nothing to the memory's soft labels)."
        case .hummingbird:
            return "open-hummingbird-eval conventions (memory labels 255 → 0, Hungarian matching of predicted to true ids, "
                + "mean over all classes including never-seen ones)."
        }
    }
}
