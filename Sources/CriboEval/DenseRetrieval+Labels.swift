// SPDX-License-Identifier: Apache-2.0
// The label side of the dense k-NN memory: per-patch soft labels (class histograms of the patch's pixels) and
// open-hummingbird-eval's per-image patch sampling, which favours patches of rare classes.
// Legend: C classes, h×w patch grid, p patch size in pixels, P patches kept.

import CriboTensor

/// The soft label of every patch of a label map, and which classes each patch contains.
package struct PatchLabels: Equatable, Sendable {
    /// [h·w, C] fraction of the patch's p² pixels carrying each class.
    package var fractions: [Float]
    /// [h·w, C] whether the patch has at least one pixel of the class.
    package var presence: [Bool]
}

extension DenseRetrieval {
    /// The soft labels of the patches of one label map.
    ///
    /// Concretely: fractions[patch, c] = #{pixels of the patch with id c} / p² (open-hummingbird-eval's
    /// one_hot(...).mean over the patch). In the hummingbird variant id 255 first becomes 0 (its `y[y == 255] = 0`,
    /// so VOC boundaries count as background); in the clean variant pixels with the ignore index add nothing, so a
    /// patch's fractions sum to the share of its pixels that are labelled.
    /// - Parameters:
    ///   - labels: [h·p, w·p] ids in 0..<C (or the ignore index / 255 as above).
    package func patchLabels(labels: UnsafeBufferPointer<UInt8>, gridHeight h: Int, gridWidth w: Int) -> PatchLabels {
        let C = classCount
        precondition(labels.count == h * patchSize * w * patchSize,
                     "DenseRetrieval.patchLabels: \(labels.count) pixels for a \(h)x\(w) grid of \(patchSize)-pixel patches")
        var fractions = [Float](repeating: 0, count: h * w * C)
        fractions.withUnsafeMutableBufferPointer { fractions in
            for patch in 0..<(h * w) {
                patchFractions(labels: labels.baseAddress!, gridWidth: w, patch: patch, into: fractions.baseAddress! + patch * C)
            }
        }
        return PatchLabels(fractions: fractions, presence: fractions.map { $0 > 0 })
    }

    /// The soft label of one patch of a label map (row `patch` of `patchLabels(...).fractions`), from that patch's p²
    /// pixels only; the dense memory labels retrieved rows with it.
    /// - Parameters:
    ///   - labels: [h·p, w·p] ids.
    ///   - into: [C].
    package func patchFractions(labels: UnsafePointer<UInt8>, gridWidth w: Int, patch: Int, into fractions: UnsafeMutablePointer<Float>) {
        let C = classCount
        let p = patchSize
        let width = w * p
        let (y0, x0) = ((patch / w) * p, (patch % w) * p)
        // Counted in place as Float: whole numbers up to p² are exact, so the fractions equal patchLabels'.
        fractions.update(repeating: 0, count: C)
        for y in y0..<(y0 + p) {
            for x in x0..<(x0 + p) {
                var id = Int(labels[y * width + x])
                switch variant {
                case .hummingbird:
                    if id == 255 { id = 0 }
                case .clean:
                    if id == ignoreIndex { continue }
                }
                precondition(id < C, "DenseRetrieval.patchLabels: label \(id) at (\(y), \(x)) outside 0..<\(C)")
                fractions[id] += 1
            }
        }
        let inversePixels = 1 / Float(p * p)
        for c in 0..<C { fractions[c] *= inversePixels }
    }

    /// The patches open-hummingbird-eval keeps from one image when the memory size is bounded, in its order.
    ///
    /// Concretely: freq_c = the number of patches containing class c; score(patch) = Σ_{c in patch} freq_c; a patch
    /// with no class scores 1e6, every other score is multiplied by U(0, 1) (one draw per such patch, in raster
    /// order, from SplitMix64(mix(seed, imageIndex))); the `count` lowest scores are kept, lowest first, the lower
    /// patch index first among equal scores (torch.topk(largest=False) leaves that order unspecified). `count` is
    /// capped at the number of patches (open-hummingbird-eval does not cap it and fails instead).
    /// - Parameters:
    ///   - presence: [patches, C] from `patchLabels`.
    /// - Returns: patch indices into the h×w grid.
    package func sampledPatches(presence: [Bool], count: Int, imageIndex: Int) -> [Int] {
        let C = classCount
        let patches = presence.count / C
        precondition(presence.count == patches * C, "DenseRetrieval.sampledPatches: \(presence.count) flags for \(C) classes")
        var frequency = [Double](repeating: 0, count: C)
        for patch in 0..<patches { for c in 0..<C where presence[patch * C + c] { frequency[c] += 1 } }
        var rng = SplitMix64(seed: SplitMix64.mix(seed, UInt64(imageIndex)))
        var scores = [Double](repeating: 0, count: patches)
        for patch in 0..<patches {
            var score = 0.0
            for c in 0..<C where presence[patch * C + c] { score += frequency[c] }
            scores[patch] = score == 0 ? 1e6 : score * rng.nextUniform()
        }
        let order = (0..<patches).sorted { scores[$0] < scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
        return Array(order.prefix(min(count, patches)))
    }

    /// open-hummingbird-eval's patches per image for a memory of `memorySize` rows:
    /// memorySize / (images · augmentationEpochs), rounded down.
    package static func samplesPerImage(memorySize: Int, imageCount: Int, augmentationEpochs: Int = 1) -> Int {
        precondition(imageCount > 0 && augmentationEpochs > 0,
                     "DenseRetrieval.samplesPerImage: \(imageCount) images, \(augmentationEpochs) epochs")
        return memorySize / (imageCount * augmentationEpochs)
    }
}
