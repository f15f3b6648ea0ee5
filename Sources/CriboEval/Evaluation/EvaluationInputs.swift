// SPDX-License-Identifier: Apache-2.0
// What the evaluation runners share: training fractions ("1/128") and their seeded image subsets, the checks that
// a train and a val feature folder can be evaluated together, row reads of feature shards, and the report's
// provenance fields.

import CriboTensor
import Foundation

/// A fraction of the training images, e.g. 1/128.
package struct TrainingFraction: Codable, Equatable, Hashable, Sendable, CustomStringConvertible {
    /// a.
    package var numerator: Int
    /// b.
    package var denominator: Int

    /// The fraction a/b, 0 < a ≤ b.
    package init(numerator: Int, denominator: Int) {
        precondition(numerator > 0 && denominator > 0 && numerator <= denominator, "TrainingFraction: \(numerator)/\(denominator)")
        (self.numerator, self.denominator) = (numerator, denominator)
    }

    /// Parses "a/b" or "1"; nil unless 0 < a ≤ b.
    package init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard (parts.count == 1 || parts.count == 2), let a = parts[0], let b = parts.count == 2 ? parts[1] : 1,
              a > 0, b > 0, a <= b else { return nil }
        (numerator, denominator) = (a, b)
    }

    /// "a/b".
    package var description: String { "\(numerator)/\(denominator)" }

    /// The images the fraction keeps of n: ⌊n·a/b⌋, at least 1.
    package func imageCount(of n: Int) -> Int { max(1, n * numerator / denominator) }

    /// The kept images of 0..<n for `seed`, ascending: the first `imageCount(of: n)` entries of a Fisher–Yates
    /// shuffle driven by SplitMix64(mix(seed, a, b)). Nested fractions are not subsets of each other.
    package func images(of n: Int, seed: UInt64) -> [Int] {
        precondition(n > 0, "TrainingFraction.images: no images")
        let k = imageCount(of: n)
        if k == n { return Array(0..<n) }
        var order = Array(0..<n)
        var rng = SplitMix64(seed: SplitMix64.mix(seed, UInt64(numerator), UInt64(denominator)))
        for i in 0..<k { order.swapAt(i, i + rng.nextInt(below: n - i)) }
        return order.prefix(k).sorted()
    }
}

/// Checks shared by the evaluation runners.
package enum EvaluationInputs {
    /// Throws unless train and val come from the same backbone, resolution, normalisation and label space, and both
    /// hold segmentation masks or class labels where asked.
    package static func checkCompatible(train: FeatureSet, val: FeatureSet, needsMasks: Bool, needsClassLabels: Bool) throws {
        let (a, b) = (train.manifest, val.manifest)
        func fail(_ reason: String) throws -> Never {
            throw FeatureError.incompatible(reason: "\(train.folder) vs \(val.folder): " + reason)
        }
        if a.settings.checkpointSHA256 != b.settings.checkpointSHA256 {
            try fail("different checkpoints (\(a.settings.checkpoint) sha256 \(a.settings.checkpointSHA256.prefix(12)), "
                + "\(b.settings.checkpoint) sha256 \(b.settings.checkpointSHA256.prefix(12)))")
        }
        if a.settings.resolution != b.settings.resolution || a.gridHeight != b.gridHeight || a.dimension != b.dimension {
            try fail("resolution/grid/width \(a.settings.resolution)/\(a.gridHeight)/\(a.dimension) vs \(b.settings.resolution)/\(b.gridHeight)/\(b.dimension)")
        }
        if a.settings.normalization != b.settings.normalization {
            try fail("normalisations \(a.settings.normalization.rawValue) vs \(b.settings.normalization.rawValue)")
        }
        if a.classNames != b.classNames { try fail("different class names (\(a.classNames.count) vs \(b.classNames.count))") }
        if needsMasks && !(a.hasMasks && b.hasMasks) { try fail("both need segmentation labels (a split with masks)") }
        if needsClassLabels && !(a.hasClassLabels && b.hasClassLabels) { try fail("both need image class labels") }
        if train.shards.isEmpty || val.shards.isEmpty { try fail("no images") }
    }

    /// The default ignore index of a dataset: 0 for ADE20K (class 0 "other"), 255 otherwise (VOC's void).
    package static func defaultIgnoreIndex(dataset: String) -> Int { dataset == "ade20k" ? 0 : 255 }

    /// The current time in ISO 8601.
    package static func now() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date())
    }
}

extension FeatureShard {
    /// [rows.count, h·w, D] the patch tokens of some rows, as Float32 (F32 or F16 storage).
    package func tokens(rows: [Int]) throws -> Tensor {
        let entry = try file.entry(FeatureLayout.tokensKey)
        let perRow = entry.shape.dropFirst().reduce(1, *)
        let result = Tensor(zeros: [rows.count, entry.shape[1] * entry.shape[2], entry.shape[3]])
        try file.withBytes(FeatureLayout.tokensKey) { raw in
            for (k, row) in rows.enumerated() {
                precondition(row >= 0 && row < count, "FeatureShard.tokens: row \(row) outside 0..<\(count)")
                let out = result.pointer + k * perRow
                switch entry.dtype {
                case .float32:
                    for i in 0..<perRow { out[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * (row * perRow + i), as: UInt32.self))) }
                case .float16:
                    for i in 0..<perRow { out[i] = Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * (row * perRow + i), as: UInt16.self)))) }
                default:
                    throw TensorFileError.wrongDType(path: file.path, name: FeatureLayout.tokensKey, found: entry.dtype.rawValue, expected: "F32 or F16")
                }
            }
        }
        return result
    }
}
