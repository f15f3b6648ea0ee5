// SPDX-License-Identifier: Apache-2.0
// Shared options of `cribo-evaluate` (the train/val feature folders and the report folder), parsing of list
// options, and the step that writes a report and prints where it went.

import ArgumentParser
import CriboEval
import Foundation

/// `--train`, `--val`, `--out`.
package struct EvaluationFolderArguments: ParsableArguments {
    @Option(help: "Feature folder of the training split (cribo-features extract).")
    package var train: String
    @Option(help: "Feature folder of the validation split.")
    package var val: String
    @Option(help: "Report folder (report.json, report.md, PNG figures); history.jsonl goes to its parent.")
    package var out: String

    /// The arguments, to be parsed.
    package init() {}

    /// Opens both feature folders.
    package func open() throws -> (FeatureSet, FeatureSet) {
        (try FeatureSet(folder: train), try FeatureSet(folder: val))
    }
}

/// Parses "1/128,1/64" into fractions; nil when an entry does not parse.
package func parseFractions(_ text: String) -> [TrainingFraction]? {
    let fractions = text.split(separator: ",").map { TrainingFraction(String($0)) }
    return fractions.contains(where: { $0 == nil }) || fractions.isEmpty ? nil : fractions.compactMap { $0 }
}

/// Parses "42,783" into seeds; nil when an entry does not parse.
package func parseSeeds(_ text: String) -> [UInt64]? {
    let seeds = text.split(separator: ",").map { UInt64($0.trimmingCharacters(in: .whitespaces)) }
    return seeds.contains(where: { $0 == nil }) || seeds.isEmpty ? nil : seeds.compactMap { $0 }
}

/// Writes a report into `folder` and prints its result rows and files on standard output.
package func writeAndSummarize(_ report: EvaluationReport, preview: ReportPreview?, folder: String) throws {
    let files = try report.write(folder: folder, preview: preview)
    print(report.kind.title + (report.variant.map { " (\($0.rawValue) variant)" } ?? ""))
    for row in report.rows {
        if let miou = row.meanIoU {
            print("  \(row.name): mIoU \(miou.text) %, pixel accuracy \(row.pixelAccuracy?.text ?? "–") %, \(row.trainImages) train images")
        } else if let top1 = row.top1 {
            print("  \(row.name): top-1 \(top1.text) %, top-5 \(row.top5?.text ?? "–") %")
        }
    }
    print("wrote " + files.map { folder + "/" + $0 }.joined(separator: ", "))
}
