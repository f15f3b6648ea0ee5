// SPDX-License-Identifier: Apache-2.0
// The figures of a report, drawn into RGB canvases: horizontal bar charts (per-class IoU, or one score per report
// in a comparison) and a grid of validation thumbnails with ground-truth and predicted label maps overlaid in the
// Pascal VOC palette. Legend: S label resolution, T thumbnail side, G images in the grid.

import CriboData
import Foundation

/// Validation images with ground truth and prediction, for the overlay grid.
package struct ReportPreview: Sendable {
    /// The run the predictions come from ("1/1, seed 42").
    package var caption: String
    /// T.
    package var thumbnailSize: Int
    /// S.
    package var resolution: Int
    /// G entries each: [T, T, 3] thumbnails, [S, S] ground truth, [S, S] predictions, names.
    package var thumbnails: [[UInt8]]
    /// [G] label maps [S, S].
    package var groundTruth: [[UInt8]]
    /// [G] predicted maps [S, S].
    package var predictions: [[Int32]]
    /// [G] image names.
    package var names: [String]
    /// Names of the class ids, for the legend (ids without a name are shown as numbers).
    package var classNames: [String] = []

    /// An empty preview.
    package init(caption: String, thumbnailSize: Int, resolution: Int) {
        self.caption = caption
        self.thumbnailSize = thumbnailSize
        self.resolution = resolution
        thumbnails = []
        groundTruth = []
        predictions = []
        names = []
    }
}

/// Drawing of report figures.
package enum ReportFigures {
    /// A horizontal bar chart: one labelled bar per value (0...maximum), its value printed after it; nil values are
    /// drawn as "N/A" without a bar.
    /// - Parameters:
    ///   - colors: the bar colour of each entry.
    package static func barChart(title: String, labels: [String], values: [Double?], colors: [RGBColor], maximum: Double = 100) -> ReportCanvas {
        precondition(labels.count == values.count && values.count == colors.count, "barChart: \(labels.count) labels, \(values.count) values")
        let labelWidth = ReportCanvas.textWidth(String(repeating: "M", count: min(24, labels.map(\.count).max() ?? 1))) + 8
        let barWidth = 400
        let rowHeight = 14
        let top = 24
        var canvas = ReportCanvas(width: labelWidth + barWidth + 60, height: top + rowHeight * values.count + 8)
        canvas.text(title, x: 6, y: 6, scale: 1)
        // Grid lines at 0, 25, 50, 75, 100 % of the maximum.
        for q in 0...4 {
            canvas.fill(x: labelWidth + barWidth * q / 4, y: top - 4, width: 1, height: rowHeight * values.count + 4, color: .lightGray)
        }
        for (i, value) in values.enumerated() {
            let y = top + i * rowHeight
            canvas.text(String(labels[i].prefix(24)), x: 4, y: y + 3)
            guard let value, value.isFinite else {
                canvas.text("N/A", x: labelWidth + 4, y: y + 3, color: .gray)
                continue
            }
            let length = Int((min(max(value, 0), maximum) / maximum * Double(barWidth)).rounded())
            canvas.fill(x: labelWidth, y: y + 1, width: length, height: rowHeight - 3, color: colors[i])
            canvas.fill(x: labelWidth, y: y + 1, width: 1, height: rowHeight - 3, color: .black)
            canvas.text(String(format: "%.1f", value), x: labelWidth + length + 4, y: y + 3)
        }
        return canvas
    }

    /// The per-class IoU chart of a report row, bars in the VOC colours of the class ids.
    package static func classIoUChart(report: EvaluationReport, row: ReportRow) -> ReportCanvas? {
        guard let classIoU = row.classIoU else { return nil }
        let palette = PNG.pascalVOCPalette()
        let names = report.classNames.count == classIoU.count ? report.classNames : (0..<classIoU.count).map { "class \($0)" }
        let title = "PER-CLASS IOU (%), \(row.name), MIOU \(row.meanIoU.map { String(format: "%.1f", $0.mean) } ?? "N/A")"
            + (report.variant.map { ", \($0.rawValue)" } ?? "")
        return barChart(title: title, labels: names, values: classIoU,
                        colors: (0..<classIoU.count).map { RGBColor.palette(palette, $0 % 256) })
    }

    /// The side of a grid cell: the thumbnail enlarged by the smallest whole factor that reaches 112 pixels.
    package static func gridCellSize(thumbnailSize T: Int) -> Int { T * max(1, (112 + T - 1) / T) }

    /// A grid with one row per previewed image — the thumbnail, the ground truth over it, the prediction over it —
    /// and a legend of the classes that appear.
    ///
    /// Concretely: cells are `gridCellSize` pixels; thumbnails and S×S label maps are resized to it with nearest
    /// sampling; an overlay pixel is (image + palette[label]) / 2 in the VOC palette, so ignored ground-truth pixels
    /// (255) show VOC's void colour.
    package static func predictionGrid(_ preview: ReportPreview) -> ReportCanvas? {
        let G = preview.thumbnails.count
        guard G > 0 else { return nil }
        let (T, S) = (preview.thumbnailSize, preview.resolution)
        let cell = gridCellSize(thumbnailSize: T)
        let palette = PNG.pascalVOCPalette()
        let (gap, header, rowHeight) = (4, 30, cell + 4 + 10)
        var present = Set<Int>()
        for g in 0..<G {
            present.formUnion(preview.groundTruth[g].map(Int.init))
            present.formUnion(preview.predictions[g].map { Int(UInt8(clamping: $0)) })
        }
        let legend = present.sorted()
        let width = 3 * cell + 4 * gap
        let entryWidth = 112
        let perLine = max(1, (width - gap) / entryWidth)
        let legendHeight = 14 * ((legend.count + perLine - 1) / perLine) + 6
        var canvas = ReportCanvas(width: width, height: header + G * rowHeight + legendHeight + gap)
        canvas.text(preview.caption, x: gap, y: 4)
        for (column, title) in ["IMAGE", "GROUND TRUTH", "PREDICTION"].enumerated() {
            canvas.text(String(title.prefix(max(1, cell / 6))), x: gap + column * (cell + gap), y: 18)
        }
        for g in 0..<G {
            let y = header + g * rowHeight
            let image = resampleNearest(preview.thumbnails[g], width: T, height: T, channels: 3, outWidth: cell, outHeight: cell)
            canvas.paste(image, width: cell, height: cell, x: gap, y: y)
            let truth = resampleNearest(preview.groundTruth[g], width: S, height: S, outWidth: cell, outHeight: cell)
            let predicted = resampleNearest(preview.predictions[g].map { UInt8(clamping: $0) }, width: S, height: S, outWidth: cell, outHeight: cell)
            for (column, labels) in [truth, predicted].enumerated() {
                var overlay = image
                for i in 0..<(cell * cell) {
                    let label = Int(labels[i])
                    for c in 0..<3 { overlay[i * 3 + c] = UInt8((Int(image[i * 3 + c]) + Int(palette[label * 3 + c])) / 2) }
                }
                canvas.paste(overlay, width: cell, height: cell, x: gap + (column + 1) * (cell + gap), y: y)
            }
            canvas.text(String(preview.names[g].prefix(max(1, (3 * cell) / 6))), x: gap, y: y + cell + 2, color: .gray)
        }
        for (k, label) in legend.enumerated() {
            let x = gap + (k % perLine) * entryWidth
            let y = header + G * rowHeight + 4 + (k / perLine) * 14
            canvas.fill(x: x, y: y, width: 9, height: 9, color: RGBColor.palette(palette, label))
            let name = label == 255 ? "void/ignored" : label < preview.classNames.count ? preview.classNames[label] : "class \(label)"
            canvas.text(String(name.prefix((entryWidth - 16) / 6)), x: x + 13, y: y + 1)
        }
        return canvas
    }
}
