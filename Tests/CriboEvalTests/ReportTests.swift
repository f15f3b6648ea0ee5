// SPDX-License-Identifier: Apache-2.0
// Reports: statistics, the drawing primitives and figures checked pixel by pixel, the files of a report folder
// (JSON round trip, Markdown numbers, PNG sizes, the history line), and the comparison of several reports.

import CriboData
import CriboEval
import CriboTensor
import Foundation
import Testing

@Suite struct ReportTests {}

extension ReportTests {
    @Test func statisticIsMeanAndSampleStd() {
        // values 1, 2, 3, 4: mean 2.5, Σ(v − m)² = 5, sample std √(5/3) = 1.2910.
        let s = Statistic(values: [1, 2, 3, 4])
        #expect(s.mean == 2.5 && abs(s.std - (5.0 / 3).squareRoot()) < 1e-12 && s.text == "2.50 ± 1.29")
        #expect(Statistic(values: [7]).std == 0 && Statistic(values: [7]).text == "7.00")
    }

    @Test func textAndBarsLandOnTheExpectedPixels() {
        var canvas = ReportCanvas(width: 12, height: 8)
        canvas.text("1", x: 0, y: 0)
        // Glyph "1" = columns 0x00, 0x42, 0x7F, 0x40, 0x00: column 2 is all 7 rows, column 0 is empty.
        func pixel(_ c: ReportCanvas, _ x: Int, _ y: Int) -> [UInt8] { Array(c.pixels[((y * c.width + x) * 3)..<((y * c.width + x) * 3 + 3)]) }
        #expect((0..<7).allSatisfy { pixel(canvas, 2, $0) == [0, 0, 0] } && (0..<8).allSatisfy { pixel(canvas, 0, $0) == [255, 255, 255] })
        #expect(pixel(canvas, 1, 1) == [0, 0, 0] && pixel(canvas, 1, 0) == [255, 255, 255] && pixel(canvas, 2, 7) == [255, 255, 255])
        #expect(ReportCanvas.textWidth("ab") == 11)
        // A 50 % bar is 200 of the 400 bar pixels, in its colour; the row of a nil value has no bar.
        let chart = ReportFigures.barChart(title: "T", labels: ["A", "B"], values: [50, nil], colors: [RGBColor(10, 20, 30), .black])
        let labelWidth = ReportCanvas.textWidth("M") + 8
        let y = 24 + 5
        #expect(pixel(chart, labelWidth + 199, y) == [10, 20, 30] && pixel(chart, labelWidth + 201, y) != [10, 20, 30])
        #expect(pixel(chart, labelWidth + 150, 24 + 14 + 5) == [255, 255, 255])
    }

    @Test func overlayGridMixesImageAndPaletteColours() throws {
        // One black 4×4 thumbnail, ground truth 1 everywhere (VOC (128, 0, 0)), prediction 2 ((0, 128, 0)).
        var preview = ReportPreview(caption: "X", thumbnailSize: 4, resolution: 8)
        preview.thumbnails = [[UInt8](repeating: 0, count: 48)]
        preview.groundTruth = [[UInt8](repeating: 1, count: 64)]
        preview.predictions = [[Int32](repeating: 2, count: 64)]
        preview.names = ["n"]
        preview.classNames = ["background", "aeroplane", "bicycle"]
        let grid = try #require(ReportFigures.predictionGrid(preview))
        // Cells: 4 × 28 = 112 pixels; rows: header 30, cell + 14; legend: one line of two entries (14 + 6), gap 4.
        let cell = ReportFigures.gridCellSize(thumbnailSize: 4)
        #expect(cell == 112 && grid.width == 3 * cell + 4 * 4 && grid.height == 30 + (cell + 14) + 20 + 4)
        func pixel(_ x: Int, _ y: Int) -> [UInt8] { Array(grid.pixels[((y * grid.width + x) * 3)..<((y * grid.width + x) * 3 + 3)]) }
        #expect(pixel(4, 31) == [0, 0, 0] && pixel(4 + cell + 4, 31) == [64, 0, 0] && pixel(4 + 2 * (cell + 4) + cell - 1, 30 + cell - 1) == [0, 64, 0])
        // The legend swatches: aeroplane then bicycle, in their palette colours.
        let legendY = 30 + cell + 14 + 4 + 4
        #expect(pixel(4 + 4, legendY) == [128, 0, 0] && pixel(4 + 112 + 4, legendY) == [0, 128, 0])
    }

    @Test func aReportFolderHoldsConsistentFiles() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cribo-report-tests-\(getpid())").path
        try? FileManager.default.removeItem(atPath: folder)
        let report = sampleReport(miou: [40, 44], variant: .clean)
        var preview = ReportPreview(caption: "SAMPLE", thumbnailSize: 8, resolution: 16)
        preview.thumbnails = [[UInt8](repeating: 90, count: 192)]
        preview.groundTruth = [[UInt8](repeating: 255, count: 256)]
        preview.predictions = [[Int32](repeating: 1, count: 256)]
        preview.names = ["2007_000001"]
        let files = try report.write(folder: folder + "/a", preview: preview)
        #expect(files == ["report.json", "report.md", "class-iou.png", "predictions.png"])
        #expect(try EvaluationReport.load(folder: folder + "/a") == report)
        let markdown = try String(contentsOfFile: folder + "/a/report.md", encoding: .utf8)
        #expect(markdown.contains("| 1/1 | 10 | 160 | 42.00 ± 2.83 |") && markdown.contains("| 1 | cat | 30.00 |"))
        #expect(markdown.contains("clean variant") && markdown.contains("![class-iou.png](class-iou.png)"))
        let chart = try PNG.decodeRGB(try Data(contentsOf: URL(fileURLWithPath: folder + "/a/class-iou.png")))
        #expect(chart.height == 24 + 14 * 3 + 8)
        let grid = try PNG.decodeRGB(try Data(contentsOf: URL(fileURLWithPath: folder + "/a/predictions.png")))
        #expect(grid.width == 3 * 112 + 16 && grid.height == 30 + (112 + 14) + 20 + 4, "one legend line: class 1, void/ignored")
        try sampleReport(miou: [50], variant: .hummingbird).write(folder: folder + "/b", preview: nil)
        let history = try EvaluationReport.history(path: folder + "/history.jsonl")
        #expect(history.map(\.results) == [["1/1": 42], ["1/1": 50]] && history.map(\.variant) == [.clean, .hummingbird])
        #expect(history[0].report.hasSuffix("/a") && history[0].metric == "mIoU")

        let comparison = try ComparisonReport(folders: [folder + "/a", folder + "/b"])
        // One protocol in two variants: separate columns, so nothing is compared across them; one checkpoint, one line.
        #expect(comparison.columns == ["dense (clean) 1/1", "dense (hummingbird) 1/1"] && comparison.entries.map(\.label) == ["a", "b"])
        #expect(comparison.warnings.isEmpty && comparison.lines.count == 1)
        try comparison.write(folder: folder + "/compare")
        let table = try String(contentsOfFile: folder + "/compare/compare.md", encoding: .utf8)
        #expect(table.contains("| `w.safetensors` (abcdef01) | 42.00 ± 2.83 | 50.00 |") && !table.contains("Δ"))
        #expect(try PNG.decodeRGB(try Data(contentsOf: URL(fileURLWithPath: folder + "/compare/compare.png"))).height == 24 + 28 + 8)
    }
}

extension ReportTests {
    @Test func aComparisonHasOneLinePerCheckpointAndTheMarginOfEachLaterOne() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cribo-compare-tests-\(getpid())").path
        try? FileManager.default.removeItem(atPath: folder)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        func report(_ kind: EvaluationKind, miou: [Double], checkpoint: String, sha: String) -> EvaluationReport {
            var r = sampleReport(miou: miou, variant: .clean)
            r.kind = kind
            if kind == .linear {
                r.rows = [ReportRow(name: "linear", runs: r.runs.map { var run = $0; run.row = "linear"; return run })]
            }
            r.val.checkpoint = checkpoint
            r.val.checkpointSHA256 = sha
            return r
        }
        try report(.dense, miou: [30, 32], checkpoint: "/r/initial.safetensors", sha: "11111111aa").write(folder: folder + "/init-dense", preview: nil)
        try report(.linear, miou: [20], checkpoint: "/r/initial.safetensors", sha: "11111111aa").write(folder: folder + "/init-linear", preview: nil)
        try report(.dense, miou: [40.5], checkpoint: "/r/teacher.safetensors", sha: "22222222bb").write(folder: folder + "/teacher-dense", preview: nil)
        try report(.linear, miou: [27.25], checkpoint: "/r/teacher.safetensors", sha: "22222222bb").write(folder: folder + "/teacher-linear", preview: nil)
        let comparison = try ComparisonReport(folders: ["init-dense", "init-linear", "teacher-dense", "teacher-linear"].map { folder + "/" + $0 })
        #expect(comparison.columns == ["dense 1/1", "linear"] && comparison.warnings.isEmpty)
        #expect(comparison.lines.map(\.checkpointSHA256) == ["11111111aa", "22222222bb"])
        let table = comparison.markdown(figure: nil)
        #expect(table.contains("| `initial.safetensors` (11111111) | 31.00 ± 1.41 | 20.00 |"), "\(table)")
        #expect(table.contains("| `teacher.safetensors` (22222222) | 40.50 | 27.25 |"))
        #expect(table.contains("| **Δ** `teacher.safetensors` (22222222) − `initial.safetensors` (11111111) | +9.50 | +7.25 |"))

        // Two dense reports of one checkpoint collide in "dense 1/1": one line per report instead.
        let collided = try ComparisonReport(folders: ["init-dense", "init-linear", "init-dense"].map { folder + "/" + $0 })
        #expect(collided.lines.map(\.label) == [
            "init-dense: `initial.safetensors` (11111111)", "init-linear: `initial.safetensors` (11111111)",
            "init-dense: `initial.safetensors` (11111111)"])
    }
}

/// A dense report with one row "1/1" whose runs have the given mIoUs, over classes background, cat, dog.
private func sampleReport(miou: [Double], variant: EvaluationVariant) -> EvaluationReport {
    let runs = miou.enumerated().map { (i, value) in
        ReportRun(row: "1/1", seed: UInt64(i), trainImages: 10, memoryRows: 160, meanIoU: value, pixelAccuracy: 80, classIoU: [90, 30, nil],
                  confusion: nil, top1: nil, top5: nil, seconds: 1)
    }
    let source = FeatureSource(folder: "/f", dataset: "voc", split: "val", checkpoint: "/c/w.safetensors", checkpointSHA256: "abcdef0123456789",
                               architecture: "custom/8", resolution: 32, normalization: .imagenet, augmentationEpochs: 0, dtype: .f32, images: 10)
    return EvaluationReport(kind: .dense, variant: variant, created: "2025-01-01T00:00:00Z", train: source, val: source, settings: ["k": "30"],
                            classNames: ["background", "cat", "dog"], rows: [ReportRow(name: "1/1", runs: runs)], runs: runs, notes: ["a note"])
}
