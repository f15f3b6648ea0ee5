// SPDX-License-Identifier: Apache-2.0
// The dense k-NN protocol against make_eval_golden.py's re-run of open-hummingbird-eval on tiny features: soft
// patch labels, rare-class sampling, the unit-norm memory, neighbours, weights, scores, upsampled scores,
// predictions and mIoU, in both variants, with the full and with a sampled memory.

import CriboEval
import CriboTensor
import CriboTestSupport
import Testing

@Suite struct DenseRetrievalTests {}

/// Weights are softmax(cos/0.02): a Float32 rounding of cos (~1e-7) becomes ~5e-6 relative in a weight.
private let weightTolerance: Float = 2e-5
/// Memory rows are x/‖x‖ in Float32.
private let memoryTolerance: Float = 1e-6

extension DenseRetrievalTests {
    @Test func patchLabelsAreHistogramsOverThePatchPixels() {
        // One 2×2 grid of 2-pixel patches (4×4 labels), 3 classes:
        // 0 0 | 1 255      patch 0: {0,0,0,0} → [1, 0, 0]; patch 1: {1, 255, 1, 1} → clean [0, ¾, 0], hb [¼, ¾, 0]
        // 0 0 | 1 1
        // 2 2 | 255 255    patch 2: {2,2,2,2} → [0, 0, 1]; patch 3: all 255 → clean [0, 0, 0] (absent), hb [1, 0, 0]
        // 2 2 | 255 255
        let labels: [UInt8] = [0, 0, 1, 255, 0, 0, 1, 1, 2, 2, 255, 255, 2, 2, 255, 255]
        let clean = DenseRetrieval(variant: .clean, classCount: 3, ignoreIndex: 255, patchSize: 2)
        let hummingbird = DenseRetrieval(variant: .hummingbird, classCount: 3, ignoreIndex: 255, patchSize: 2)
        let c = labels.withUnsafeBufferPointer { clean.patchLabels(labels: $0, gridHeight: 2, gridWidth: 2) }
        let h = labels.withUnsafeBufferPointer { hummingbird.patchLabels(labels: $0, gridHeight: 2, gridWidth: 2) }
        #expect(c.fractions == [1, 0, 0, 0, 0.75, 0, 0, 0, 1, 0, 0, 0])
        #expect(h.fractions == [1, 0, 0, 0.25, 0.75, 0, 0, 0, 1, 1, 0, 0])
        // Clean: the all-ignored patch scores 1e6 and is taken last.
        #expect(clean.sampledPatches(presence: c.presence, count: 4, imageIndex: 0).last == 3)
        #expect(clean.sampledPatches(presence: c.presence, count: 9, imageIndex: 0).count == 4, "capped at the patch count")
    }

    @Test(arguments: [EvaluationVariant.clean, .hummingbird])
    func patchFractionsCountEachPatchsPixels(variant: EvaluationVariant) {
        // A 3×5 grid of 4-pixel patches with random ids in 0..<6 and 255, against a histogram counted here pixel by
        // pixel (255 dropped in the clean variant, counted as 0 in the hummingbird one).
        var rng = SplitMix64(seed: 7)
        let labels = (0..<(12 * 20)).map { _ -> UInt8 in
            let id = Int(rng.next() % 8)
            return id >= 6 ? 255 : UInt8(id)
        }
        let retrieval = DenseRetrieval(variant: variant, classCount: 6, ignoreIndex: 255, patchSize: 4)
        let whole = labels.withUnsafeBufferPointer { retrieval.patchLabels(labels: $0, gridHeight: 3, gridWidth: 5) }
        var expected = [Float](repeating: 0, count: 15 * 6)
        for y in 0..<12 {
            for x in 0..<20 {
                var id = Int(labels[y * 20 + x])
                if id == 255 {
                    if variant == .clean { continue }
                    id = 0
                }
                expected[((y / 4) * 5 + x / 4) * 6 + id] += 1.0 / 16
            }
        }
        #expect(whole.fractions == expected)
        #expect(whole.presence == expected.map { $0 > 0 })
        #expect(whole.fractions.contains { $0 > 0 && $0 < 1 }, "mixed patches")
    }

    @Test(arguments: [
        (EvaluationVariant.hummingbird, "all"), (.hummingbird, "sampled"), (.clean, "all"), (.clean, "sampled"),
    ])
    func matchesOpenHummingbirdProtocol(variant: EvaluationVariant, mode: String) throws {
        let g = try golden("eval.safetensors")
        let key = "knn.\(variant.rawValue).\(mode)"
        let (C, D, grid, patch) = (5, 8, 4, 4)
        var settings = DenseRetrieval(variant: variant, classCount: C, ignoreIndex: 255, patchSize: patch)
        settings.neighbourCount = 5
        settings.seed = 7
        settings.chunkRows = 7  // does not divide the memory sizes (48 and 18)
        settings.samplesPerImage = mode == "sampled" ? 6 : nil
        let trainFeatures = try g.tensor("knn.train_features")  // [3, 16, 8]
        let trainLabels = try g.integers("knn.train_labels").map { UInt8($0) }  // [3, 16, 16]
        let memory = PatchMemory(dimension: D, classCount: C, capacity: 4)
        for image in 0..<3 {
            trainLabels[(image * 256)..<((image + 1) * 256)].withUnsafeBufferPointer { labels in
                settings.addImage(to: memory, features: trainFeatures.pointer + image * grid * grid * D, labels: labels,
                                  gridHeight: grid, gridWidth: grid, imageIndex: image)
            }
        }
        if mode == "sampled" {
            let picks = try g.integers("\(key).picks").map { Int($0) }
            for image in 0..<3 {
                let soft = trainLabels[(image * 256)..<((image + 1) * 256)].withUnsafeBufferPointer {
                    settings.patchLabels(labels: $0, gridHeight: grid, gridWidth: grid)
                }
                #expect(settings.sampledPatches(presence: soft.presence, count: 6, imageIndex: image)
                        == Array(picks[(image * 6)..<((image + 1) * 6)]), "picks of image \(image)")
            }
        }
        expectClose(UnsafeBufferPointer(start: memory.features, count: memory.count * D), try g.tensor("\(key).memory"),
                    atol: memoryTolerance, rtol: 0, "memory features")
        expectClose(UnsafeBufferPointer(start: memory.labels, count: memory.count * C), try g.tensor("\(key).memory_labels"),
                    atol: 0, rtol: 0, "memory labels (multiples of 1/16, exact)")

        let valFeatures = try g.tensor("knn.val_features")  // [2, 16, 8]
        let result = settings.patchScores(memory: memory, queries: valFeatures.pointer, queryCount: 32)
        #expect(result.neighbours.indices.map { Int64($0) } == (try g.integers("\(key).neighbours")))
        expectClose(Tensor(shape: [32, 5], values: result.weights), try g.tensor("\(key).weights"), atol: weightTolerance,
                    rtol: 0, "neighbour weights")
        expectClose(Tensor(shape: [32, C], values: result.scores), try g.tensor("\(key).scores"), atol: weightTolerance,
                    rtol: 0, "patch scores")
        let upsampled = Tensor(zeros: [2, 16, 16, C])
        for image in 0..<2 {
            result.scores.withUnsafeBufferPointer { scores in
                bilinearResize(output: upsampled.pointer + image * 256 * C, input: scores.baseAddress! + image * 16 * C,
                               channels: C, inputHeight: grid, inputWidth: grid, outputHeight: 16, outputWidth: 16)
            }
        }
        expectClose(upsampled, try g.tensor("\(key).upsampled"), atol: weightTolerance, rtol: 0, "upsampled scores")

        // The smallest top-2 margin of the golden scores is 1.5e-5, far above the score error: argmaxes agree.
        let predictions = settings.predict(memory: memory, features: valFeatures.pointer, imageCount: 2, gridHeight: grid,
                                           gridWidth: grid, outputHeight: 16, outputWidth: 16)
        #expect(predictions.map { Int64($0) } == (try g.integers("\(key).prediction")))
        var matrix = ConfusionMatrix(classCount: C, ignoreIndex: 255)
        matrix.add(groundTruth: try g.integers("knn.val_labels").map { UInt8($0) }, prediction: predictions)
        let meanIoU = matrix.scores(variant: variant).meanIoU
        #expect(abs(meanIoU - (try g.doubles("\(key).miou"))[0]) < 1e-12, "mIoU \(meanIoU)")
    }

    @Test func samplingDependsOnlyOnSeedAndImageIndex() {
        var presence = [Bool](repeating: false, count: 64 * 4)
        var rng = SplitMix64(seed: 3)
        for i in presence.indices { presence[i] = rng.nextUniform() < 0.4 }
        var settings = DenseRetrieval(variant: .clean, classCount: 4, ignoreIndex: 255, patchSize: 16)
        settings.seed = 99
        let first = settings.sampledPatches(presence: presence, count: 10, imageIndex: 5)
        #expect(settings.sampledPatches(presence: presence, count: 10, imageIndex: 5) == first)
        #expect(settings.sampledPatches(presence: presence, count: 10, imageIndex: 6) != first)
        #expect(DenseRetrieval.samplesPerImage(memorySize: 10_240_000, imageCount: 10_582, augmentationEpochs: 2) == 483)
    }
}
