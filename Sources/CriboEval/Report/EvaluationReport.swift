// SPDX-License-Identifier: Apache-2.0
// The record of one evaluation (`report.json`): where the features came from, the exact settings, the variant,
// every run (one per fraction and seed) and the rows that summarise them (mean ± sample std over seeds).
// Scores are in percent. The Markdown summary and the figures are drawn from this record alone.

import CriboTensor
import Foundation

/// Which protocol produced a report.
package enum EvaluationKind: String, Codable, Sendable {
    /// Dense k-NN retrieval (spec §9.1).
    case dense
    /// Linear segmentation probe (spec §9.2).
    case linear
    /// Weighted k-NN classification on [CLS] (DINO).
    case knn
    /// Linear classifier on [CLS] (DINO eval_linear).
    case classifier

    /// Whether the report scores image classes (top-1/top-5) rather than segmentation (mIoU).
    package var isClassification: Bool { self == .knn || self == .classifier }

    /// A title for reports.
    package var title: String {
        switch self {
        case .dense: return "Dense k-NN retrieval (in-context segmentation)"
        case .linear: return "Linear segmentation probe"
        case .knn: return "Weighted k-NN classification"
        case .classifier: return "Linear classifier"
        }
    }
}

/// A mean and the sample standard deviation of some values.
package struct Statistic: Codable, Equatable, Sendable {
    /// The mean.
    package var mean: Double
    /// √(Σ(v − mean)²/(n − 1)); 0 for a single value.
    package var std: Double
    /// The values, in run order.
    package var values: [Double]

    /// The statistic of at least one value.
    package init(values: [Double]) {
        precondition(!values.isEmpty, "Statistic: no values")
        self.values = values
        mean = values.reduce(0, +) / Double(values.count)
        let m = mean
        std = values.count < 2 ? 0 : (values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(values.count - 1)).squareRoot()
    }

    /// "45.20 ± 1.31" (or "45.20" for one value).
    package var text: String {
        values.count < 2 ? String(format: "%.2f", mean) : String(format: "%.2f ± %.2f", mean, std)
    }
}

/// Where the features of one side of an evaluation came from.
package struct FeatureSource: Codable, Equatable, Sendable {
    /// The feature folder.
    package var folder: String
    /// The dataset.
    package var dataset: String
    /// The split.
    package var split: String
    /// The checkpoint path as given to extraction.
    package var checkpoint: String
    /// Its SHA-256.
    package var checkpointSHA256: String
    /// The architecture, described.
    package var architecture: String
    /// S.
    package var resolution: Int
    /// The pixel normalisation.
    package var normalization: PixelNormalization
    /// Augmented passes (0: the evaluation transform).
    package var augmentationEpochs: Int
    /// The stored token type.
    package var dtype: FeatureDType
    /// Images in the split.
    package var images: Int

    /// A source from its fields.
    package init(
        folder: String, dataset: String, split: String, checkpoint: String, checkpointSHA256: String, architecture: String, resolution: Int,
        normalization: PixelNormalization, augmentationEpochs: Int, dtype: FeatureDType, images: Int
    ) {
        (self.folder, self.dataset, self.split, self.checkpoint, self.checkpointSHA256) = (folder, dataset, split, checkpoint, checkpointSHA256)
        (self.architecture, self.resolution, self.normalization) = (architecture, resolution, normalization)
        (self.augmentationEpochs, self.dtype, self.images) = (augmentationEpochs, dtype, images)
    }

    /// The source of an open feature folder.
    package init(_ set: FeatureSet) {
        let s = set.manifest.settings
        folder = set.folder
        dataset = s.dataset
        split = s.split
        checkpoint = s.checkpoint
        checkpointSHA256 = s.checkpointSHA256
        architecture = s.architecture.description
        resolution = s.resolution
        normalization = s.normalization
        augmentationEpochs = s.augmentationEpochs
        dtype = s.dtype
        images = set.manifest.sampleCount
    }
}

/// One evaluation run: one fraction and seed (dense), or the single run of a probe or classifier.
package struct ReportRun: Codable, Equatable, Sendable {
    /// The row it belongs to ("1/128", "linear", "k-NN").
    package var row: String
    /// The seed of the subset, memory sampling or probe.
    package var seed: UInt64
    /// Training images used (distinct images; augmentation passes not counted).
    package var trainImages: Int
    /// Rows of the k-NN memory (dense only).
    package var memoryRows: Int?
    /// Segmentation scores, percent.
    package var meanIoU: Double?
    /// Pixel accuracy, percent.
    package var pixelAccuracy: Double?
    /// [C] IoU per class, percent; nil where the class is not counted.
    package var classIoU: [Double?]?
    /// [C, C] confusion matrix (ground truth × prediction) before any Hungarian relabelling.
    package var confusion: [Int64]?
    /// Classification accuracy, percent.
    package var top1: Double?
    /// Top-5 accuracy, percent.
    package var top5: Double?
    /// Wall time of the run.
    package var seconds: Double

    /// A run from its fields.
    package init(
        row: String, seed: UInt64, trainImages: Int, memoryRows: Int?, meanIoU: Double?, pixelAccuracy: Double?, classIoU: [Double?]?,
        confusion: [Int64]?, top1: Double?, top5: Double?, seconds: Double
    ) {
        (self.row, self.seed, self.trainImages, self.memoryRows) = (row, seed, trainImages, memoryRows)
        (self.meanIoU, self.pixelAccuracy, self.classIoU, self.confusion) = (meanIoU, pixelAccuracy, classIoU, confusion)
        (self.top1, self.top5, self.seconds) = (top1, top5, seconds)
    }
}

/// The summary of the runs of one row (over seeds).
package struct ReportRow: Codable, Equatable, Sendable {
    /// The row name ("1/128", "linear", "k-NN k=20").
    package var name: String
    /// Training images of each run.
    package var trainImages: Int
    /// Memory rows of the first run (dense only).
    package var memoryRows: Int?
    /// mIoU over the runs, percent.
    package var meanIoU: Statistic?
    /// Pixel accuracy over the runs, percent.
    package var pixelAccuracy: Statistic?
    /// Per-class IoU averaged over the runs that count the class; nil where none does.
    package var classIoU: [Double?]?
    /// Top-1 accuracy over the runs, percent.
    package var top1: Statistic?
    /// Top-5 accuracy over the runs, percent.
    package var top5: Statistic?

    /// The row summarising `runs` (all of the same row name).
    package init(name: String, runs: [ReportRun]) {
        precondition(!runs.isEmpty && runs.allSatisfy { $0.row == name }, "ReportRow: runs of \(name)")
        self.name = name
        trainImages = runs[0].trainImages
        memoryRows = runs[0].memoryRows
        func statistic(_ key: KeyPath<ReportRun, Double?>) -> Statistic? {
            let values = runs.compactMap { $0[keyPath: key] }
            return values.isEmpty ? nil : Statistic(values: values)
        }
        meanIoU = statistic(\.meanIoU)
        pixelAccuracy = statistic(\.pixelAccuracy)
        top1 = statistic(\.top1)
        top5 = statistic(\.top5)
        if let classCount = runs[0].classIoU?.count {
            classIoU = (0..<classCount).map { c in
                let values = runs.compactMap { $0.classIoU?[c] ?? nil }
                return values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
            }
        }
    }

    /// The row's main score: mIoU for segmentation, top-1 for classification.
    package var primary: Statistic? { meanIoU ?? top1 }
}

/// Everything about one evaluation, as written to `report.json`.
package struct EvaluationReport: Codable, Equatable, Sendable {
    /// `format` of report.json.
    package static let format = "cribo-evaluation"
    /// `version` of report.json.
    package static let currentVersion = 1
    /// The file names inside a report folder.
    package static let jsonName = "report.json"
    /// The Markdown summary.
    package static let markdownName = "report.md"
    /// The per-class IoU bar chart.
    package static let classIoUFigureName = "class-iou.png"
    /// The validation overlay grid.
    package static let predictionsFigureName = "predictions.png"
    /// The history file in the report folder's parent.
    package static let historyName = "history.jsonl"

    /// "cribo-evaluation".
    package var format = EvaluationReport.format
    /// The report version.
    package var version = EvaluationReport.currentVersion
    /// The protocol.
    package var kind: EvaluationKind
    /// The conventions followed (segmentation); named in every output.
    package var variant: EvaluationVariant?
    /// ISO 8601 time the evaluation finished.
    package var created: String
    /// The training features.
    package var train: FeatureSource
    /// The validation features.
    package var val: FeatureSource
    /// The exact settings, as strings (k, temperature, fractions, seeds, memory size, steps, ...).
    package var settings: [String: String]
    /// The class names of the label ids.
    package var classNames: [String]
    /// The summary rows, in settings order.
    package var rows: [ReportRow]
    /// Every run.
    package var runs: [ReportRun]
    /// Caveats worth reading next to the numbers (mismatched normalisation, a quirk that applied, ...).
    package var notes: [String]

    /// A report from its fields (format and version are the current ones).
    package init(
        kind: EvaluationKind, variant: EvaluationVariant?, created: String, train: FeatureSource, val: FeatureSource,
        settings: [String: String], classNames: [String], rows: [ReportRow], runs: [ReportRun], notes: [String]
    ) {
        (self.kind, self.variant, self.created, self.train, self.val) = (kind, variant, created, train, val)
        (self.settings, self.classNames, self.rows, self.runs, self.notes) = (settings, classNames, rows, runs, notes)
    }

    /// The name of the main score ("mIoU" or "top-1").
    package var primaryMetric: String { kind.isClassification ? "top-1" : "mIoU" }

    /// The report in `folder`; errors name the file.
    package static func load(folder: String) throws -> EvaluationReport {
        let path = folder + "/" + jsonName
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw FeatureError.malformed(file: path, reason: "cannot read the report (\(error.localizedDescription))")
        }
        do {
            let report = try JSONDecoder().decode(EvaluationReport.self, from: data)
            guard report.format == format, report.version == currentVersion else {
                throw FeatureError.malformed(file: path, reason: "format \(report.format) version \(report.version), expected \(format) \(currentVersion)")
            }
            return report
        } catch let error as FeatureError { throw error } catch {
            throw FeatureError.malformed(file: path, reason: "\(error)")
        }
    }

    /// The JSON bytes (pretty, sorted keys).
    package func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self) + Data("\n".utf8)
    }
}
