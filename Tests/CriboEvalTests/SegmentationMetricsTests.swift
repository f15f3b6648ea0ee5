// SPDX-License-Identifier: Apache-2.0
// Confusion matrix, clean and hummingbird mIoU, and the Hungarian algorithm: a hand-checked case, then the
// numpy/scipy goldens of make_eval_golden.py (PredsmIoU re-run on the same pixels).

import CriboEval
import CriboTensor
import CriboTestSupport
import Testing

@Suite struct SegmentationMetricsTests {}

/// Scores are ratios of integer counts computed in Double: only the last bits may differ from numpy.
private let scoreTolerance = 1e-12

extension SegmentationMetricsTests {
    @Test func handCheckedScores() {
        // Ground truth / prediction over 6 pixels, 3 classes, ignore 255 (the last pixel is dropped):
        // gt   0 0 1 1 2 255
        // pred 0 1 1 1 0 2
        // class 0: TP 1, FP 1 (pixel 4), FN 1 (pixel 1) → 1/3; class 1: TP 2, FP 1 → 2/3; class 2: TP 0, FN 1 → 0.
        var matrix = ConfusionMatrix(classCount: 3, ignoreIndex: 255)
        matrix.add(groundTruth: [0, 0, 1, 1, 2, 255], prediction: [0, 1, 1, 1, 0, 2])
        #expect(matrix.counts == [1, 1, 0, 0, 2, 0, 1, 0, 0])
        let clean = matrix.scores(variant: .clean)
        #expect(clean.classIoU.map { $0 ?? -1 } == [1.0 / 3, 2.0 / 3, 0])
        #expect(abs(clean.meanIoU - 1.0 / 3) < scoreTolerance)
        #expect(abs(clean.pixelAccuracy - 3.0 / 5) < scoreTolerance)
        // Hungarian: IoU(g, p) has IoU(0,0) = 1/3, IoU(1,1) = 2/3, IoU(2,0) = 1/2, IoU(0,2) = 0; the identity totals 1,
        // mapping predictions 0 → 2, 2 → 0 totals 7/6, so it wins. Relabelled predictions 2 1 1 1 2: class 0 → 0,
        // class 1 → 2/3, class 2 → 1/2 (TP 1, FP 1); mean over the 3 classes 7/18, accuracy 3/5.
        let hummingbird = matrix.scores(variant: .hummingbird)
        #expect(hummingbird.predictionMapping == [2, 1, 0])
        #expect(abs(hummingbird.meanIoU - 7.0 / 18) < scoreTolerance)
        #expect(abs(hummingbird.pixelAccuracy - 3.0 / 5) < scoreTolerance)
    }

    @Test func absentClassesAreLeftOutOfTheCleanMeanOnly() {
        // Class 2 never occurs: clean averages classes 0 and 1, hummingbird averages it in as 0.
        var matrix = ConfusionMatrix(classCount: 3, ignoreIndex: nil)
        matrix.add(groundTruth: [0, 1, 1], prediction: [0, 1, 1])
        #expect(matrix.scores(variant: .clean).meanIoU == 1)
        #expect(matrix.scores(variant: .clean).classIoU[2] == nil)
        #expect(abs(matrix.scores(variant: .hummingbird).meanIoU - 2.0 / 3) < scoreTolerance)
    }

    @Test(arguments: [("seg.voc", 6, 255), ("seg.ade", 5, 0)])
    func matchesNumpyAndPredsmIoU(prefix: String, classes: Int, ignore: Int) throws {
        let g = try golden("eval.safetensors")
        var matrix = ConfusionMatrix(classCount: classes, ignoreIndex: ignore)
        matrix.add(groundTruth: try g.integers("\(prefix).gt").map { UInt8($0) }, prediction: try g.integers("\(prefix).pred").map { Int32($0) })
        #expect(matrix.counts == (try g.integers("\(prefix).confusion")))

        let clean = matrix.scores(variant: .clean)
        let expectedClean = try g.doubles("\(prefix).clean_iou")
        for (c, expected) in expectedClean.enumerated() {
            if expected.isNaN {
                #expect(clean.classIoU[c] == nil, "class \(c) is left out of the clean mean")
            } else {
                #expect(abs((clean.classIoU[c] ?? .nan) - expected) < scoreTolerance, "clean IoU of class \(c)")
            }
        }
        #expect(abs(clean.meanIoU - (try g.doubles("\(prefix).clean_miou"))[0]) < scoreTolerance)
        #expect(abs(clean.pixelAccuracy - (try g.doubles("\(prefix).clean_accuracy"))[0]) < scoreTolerance)

        let hummingbird = matrix.scores(variant: .hummingbird)
        #expect(hummingbird.predictionMapping == (try g.integers("\(prefix).hb_mapping")).map { Int($0) })
        let expectedIoU = try g.doubles("\(prefix).hb_iou")
        for c in 0..<classes { #expect(abs((hummingbird.classIoU[c] ?? .nan) - expectedIoU[c]) < scoreTolerance, "hb IoU \(c)") }
        #expect(abs(hummingbird.meanIoU - (try g.doubles("\(prefix).hb_miou"))[0]) < scoreTolerance)
        #expect(abs(hummingbird.pixelAccuracy - (try g.doubles("\(prefix).hb_accuracy"))[0]) < scoreTolerance)
    }

    @Test(arguments: [("square", 7, 7), ("wide", 4, 9), ("tall", 9, 4), ("large", 21, 21)])
    func hungarianMatchesScipy(name: String, rows: Int, columns: Int) throws {
        let g = try golden("eval.safetensors")
        let cost = try g.doubles("lsa.\(name).cost")
        let assignment = linearSumAssignment(cost: cost, rows: rows, columns: columns)
        #expect(assignment == (try g.integers("lsa.\(name).assignment")).map { Int($0) })
        let total = assignment.enumerated().filter { $0.element >= 0 }.reduce(0.0) { $0 + cost[$1.offset * columns + $1.element] }
        #expect(abs(total - (try g.doubles("lsa.\(name).total"))[0]) < 1e-12)
    }

    @Test func hungarianIsOptimalAgainstEveryPermutation() {
        // 6! = 720 assignments of a seeded random 6×6 matrix with integer costs (ties possible): the minimum cost
        // must be reached.
        var rng = SplitMix64(seed: 11)
        for _ in 0..<20 {
            let cost = (0..<36).map { _ in Double(rng.nextInt(below: 10)) }
            let assignment = linearSumAssignment(cost: cost, rows: 6, columns: 6)
            #expect(Set(assignment).count == 6)
            let found = assignment.enumerated().reduce(0.0) { $0 + cost[$1.offset * 6 + $1.element] }
            var best = Double.infinity
            var seen = Set<[Int]>()
            forEachPermutation(of: Array(0..<6)) { permutation in
                seen.insert(permutation)
                best = min(best, permutation.enumerated().reduce(0.0) { $0 + cost[$1.offset * 6 + $1.element] })
            }
            #expect(seen.count == 720, "every permutation visited")
            #expect(found == best)
        }
    }
}

/// Calls `body` with every permutation of `items` (Heap's algorithm).
private func forEachPermutation(of items: [Int], _ body: ([Int]) -> Void) {
    var a = items
    func generate(_ k: Int) {
        if k <= 1 {
            body(a)
            return
        }
        generate(k - 1)
        for i in 0..<(k - 1) {
            a.swapAt(k % 2 == 0 ? i : 0, k - 1)
            generate(k - 1)
        }
    }
    generate(a.count)
}
