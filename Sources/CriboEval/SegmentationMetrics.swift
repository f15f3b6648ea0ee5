// SPDX-License-Identifier: Apache-2.0
// Semantic-segmentation scores from a confusion matrix counted in Int64: per-class IoU, mIoU and pixel accuracy,
// in the clean convention (mmseg IoUMetric) or the open-hummingbird-eval one (PredsmIoU with Hungarian matching).
// Legend: C classes; rows of the matrix are ground-truth ids, columns predicted ids.

/// Pixel counts of (ground truth, prediction) pairs over every pixel whose ground truth is not the ignore index.
///
/// Concretely: `counts[g * C + p]` is the number of pixels with ground truth g predicted as p.
package struct ConfusionMatrix: Equatable, Sendable {
    /// C, the number of class ids (ids are 0..<C).
    package let classCount: Int
    /// Ground-truth id whose pixels are dropped (VOC 255, ADE20K 0 in the hummingbird protocol), or nil.
    package let ignoreIndex: Int?
    /// [C, C] counts, ground truth × prediction.
    package private(set) var counts: [Int64]

    /// An empty matrix.
    package init(classCount: Int, ignoreIndex: Int?) {
        precondition(classCount > 0, "ConfusionMatrix: classCount must be positive, got \(classCount)")
        self.classCount = classCount
        self.ignoreIndex = ignoreIndex
        counts = Array(repeating: 0, count: classCount * classCount)
    }

    /// The count of pixels with ground truth `groundTruth` predicted as `prediction`.
    package subscript(groundTruth: Int, prediction: Int) -> Int64 { counts[groundTruth * classCount + prediction] }

    /// Adds the pixels of one label map.
    /// - Parameters:
    ///   - groundTruth: [pixels] ids in 0..<C or the ignore index.
    ///   - prediction: [pixels] ids in 0..<C.
    package mutating func add(groundTruth: UnsafeBufferPointer<UInt8>, prediction: UnsafeBufferPointer<Int32>) {
        precondition(groundTruth.count == prediction.count,
                     "ConfusionMatrix.add: \(groundTruth.count) ground-truth pixels vs \(prediction.count) predicted")
        let C = classCount
        let ignore = ignoreIndex ?? -1
        counts.withUnsafeMutableBufferPointer { counts in
            for i in 0..<groundTruth.count {
                let g = Int(groundTruth[i])
                if g == ignore { continue }
                let p = Int(prediction[i])
                precondition(g < C, "ConfusionMatrix.add: ground truth \(g) at pixel \(i) outside 0..<\(C)")
                precondition(p >= 0 && p < C, "ConfusionMatrix.add: prediction \(p) at pixel \(i) outside 0..<\(C)")
                counts[g * C + p] += 1
            }
        }
    }

    /// Adds the pixels of one label map given as arrays (see the buffer form).
    package mutating func add(groundTruth: [UInt8], prediction: [Int32]) {
        groundTruth.withUnsafeBufferPointer { g in prediction.withUnsafeBufferPointer { p in add(groundTruth: g, prediction: p) } }
    }

    /// Adds the counts of another matrix with the same classes and ignore index (e.g. from another rank or batch).
    package mutating func merge(_ other: ConfusionMatrix) {
        precondition(other.classCount == classCount && other.ignoreIndex == ignoreIndex,
                     "ConfusionMatrix.merge: \(other.classCount) classes (ignore \(String(describing: other.ignoreIndex))) into \(classCount) (ignore \(String(describing: ignoreIndex)))")
        for i in counts.indices { counts[i] += other.counts[i] }
    }

    /// Ground-truth pixels of each class: Σ_p counts[g, p].
    package var groundTruthTotals: [Int64] {
        (0..<classCount).map { g in (0..<classCount).reduce(Int64(0)) { $0 + counts[g * classCount + $1] } }
    }

    /// Predicted pixels of each class: Σ_g counts[g, p].
    package var predictionTotals: [Int64] {
        (0..<classCount).map { p in (0..<classCount).reduce(Int64(0)) { $0 + counts[$1 * classCount + p] } }
    }

    /// The matrix with predicted ids renamed: column p moves to column `mapping[p]` (columns mapped to the same id
    /// add up).
    /// - Parameter mapping: [C] the new id of each predicted id.
    package func relabelingPredictions(_ mapping: [Int]) -> ConfusionMatrix {
        precondition(mapping.count == classCount && mapping.allSatisfy { $0 >= 0 && $0 < classCount },
                     "ConfusionMatrix.relabelingPredictions: mapping \(mapping) for \(classCount) classes")
        var result = ConfusionMatrix(classCount: classCount, ignoreIndex: ignoreIndex)
        for g in 0..<classCount {
            for p in 0..<classCount { result.counts[g * classCount + mapping[p]] += counts[g * classCount + p] }
        }
        return result
    }
}

/// Per-class and mean scores of a segmentation.
package struct SegmentationScores: Equatable, Sendable {
    /// The convention the scores follow.
    package var variant: EvaluationVariant
    /// [C] IoU of each class; nil where the class is left out of the mean (clean variant only).
    package var classIoU: [Double?]
    /// Mean of the non-nil entries of `classIoU`.
    package var meanIoU: Double
    /// Correct pixels / counted pixels (after the Hungarian relabelling in the hummingbird variant).
    package var pixelAccuracy: Double
    /// [C] for each predicted id, the ground-truth id it was matched to (identity in the clean variant).
    package var predictionMapping: [Int]
}

extension ConfusionMatrix {
    /// The scores of this matrix under `variant`.
    ///
    /// Concretely, IoU_c = TP/(TP + FP + FN) from the (relabelled) matrix:
    /// - `.clean`: no relabelling; classes with TP + FP + FN = 0 and the ignore index are left out of the mean (mmseg
    ///   IoUMetric's nan-mean).
    /// - `.hummingbird`: predicted ids are matched to ground-truth ids by the Hungarian algorithm on 1 − IoU(g, p)
    ///   (open-hummingbird-eval PredsmIoU, scipy linear_sum_assignment), the denominator is max(TP+FP+FN, 1e-8), and the
    ///   mean is over all C classes, the ignore index included.
    package func scores(variant: EvaluationVariant) -> SegmentationScores {
        let C = classCount
        var mapping = Array(0..<C)
        var matrix = self
        if variant == .hummingbird {
            let iou = pairIoU()
            let cost = iou.map { 1 - $0 }
            let columnOfRow = linearSumAssignment(cost: cost, rows: C, columns: C)
            for (g, p) in columnOfRow.enumerated() { mapping[p] = g }
            matrix = relabelingPredictions(mapping)
        }
        let rows = matrix.groundTruthTotals
        let columns = matrix.predictionTotals
        var classIoU: [Double?] = []
        var correct: Int64 = 0
        for c in 0..<C {
            let tp = matrix[c, c]
            correct += tp
            let union = rows[c] + columns[c] - tp
            switch variant {
            case .clean:
                classIoU.append(union == 0 || c == ignoreIndex ? nil : Double(tp) / Double(union))
            case .hummingbird:
                classIoU.append(Double(tp) / max(Double(union), 1e-8))
            }
        }
        let counted = classIoU.compactMap { $0 }
        let total = rows.reduce(0, +)
        return SegmentationScores(
            variant: variant, classIoU: classIoU,
            meanIoU: counted.isEmpty ? 0 : counted.reduce(0, +) / Double(counted.count),
            pixelAccuracy: total == 0 ? 0 : Double(correct) / Double(total), predictionMapping: mapping)
    }

    /// [C, C] IoU(g, p) = n_gp / max(n_g· + n_·p − n_gp, 1e-8), ground truth × prediction (PredsmIoU.get_score).
    package func pairIoU() -> [Double] {
        let C = classCount
        let rows = groundTruthTotals
        let columns = predictionTotals
        var result = [Double](repeating: 0, count: C * C)
        for g in 0..<C {
            for p in 0..<C {
                let n = counts[g * C + p]
                result[g * C + p] = Double(n) / max(Double(rows[g] + columns[p] - n), 1e-8)
            }
        }
        return result
    }
}
