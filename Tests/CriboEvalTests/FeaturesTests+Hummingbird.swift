// SPDX-License-Identifier: Apache-2.0
// Augmented extraction with open-hummingbird-eval's full memory transform (--hummingbird-transforms) on the VOC
// fixture: the crops are those of the crop-only passes (masks resized with torch's nearest), the tokens equal the
// backbone on HummingbirdTransforms.apply outputs computed here from independently drawn streams and differ from
// the unjittered crops where a jitter fired, reruns are byte-identical, and the manifest records the transform
// (older manifests without the field still load).

import CriboData
import CriboEval
import CriboNN
import CriboTensor
import CriboTestSupport
import Foundation
import Testing

extension FeaturesTests {
    @Test func hummingbirdPassesKeepTheCropsAndAddTheColourJitters() throws {
        let fixture = try evalFixture()
        let hummingbird: (inout FeatureExtractionOptions) -> Void = { $0.augmentationEpochs = 2; $0.seed = 7; $0.hummingbirdTransforms = true }
        let folder = try fixture.extract(fixture.vocTrain, "hummingbird", hummingbird)
        let set = try FeatureSet(folder: folder)
        let split = try ShardedSplit(folder: fixture.vocTrain)
        #expect(set.manifest.settings.hummingbirdTransforms && set.manifest.settings.normalization == .hummingbird)
        #expect(set.shards[0].file.metadata["normalization"] == "hummingbird")
        #expect(set.shards[0].file.metadata["transform"]?.contains("ColorJitter") == true)

        // The streams written out here: the crop of the crop-only passes, the jitters from HummingbirdTransforms.sample
        // on SplitMix64(mix(mix(seed, epoch, index), 1)).
        var jittered: [[Float]] = [], plain: [[Float]] = []
        for pass in 0..<2 {
            for i in 0..<6 {
                let image = try split.image(at: i), mask = try split.labelMap("mask", at: i)
                let crop = ResizedCropBox.forImage(width: image.width, height: image.height, seed: 7, epoch: pass, index: i)
                var rng = SplitMix64(seed: SplitMix64.mix(SplitMix64.mix(7, UInt64(pass), UInt64(i)), 1))
                var parameters = HummingbirdTransforms.sample(width: image.width, height: image.height, rng: &rng)
                parameters.crop = crop
                let unjittered = HummingbirdParameters(brightness: nil, contrast: nil, saturation: nil, hue: nil, crop: crop)
                let sample = HummingbirdTransforms.apply(image, mask: mask, parameters: parameters, size: 32)
                jittered.append(sample.pixels)
                plain.append(HummingbirdTransforms.apply(image, mask: mask, parameters: unjittered, size: 32).pixels)
                // (a) The crop-only passes' box, the mask through torch's nearest rule.
                let shard = set.shards[pass * 2 + i / 4]
                let row = i % 4
                let expectedMask = HummingbirdTransforms.resizedCrop(mask, box: crop, size: 32)
                #expect(Array(try shard.labels()[(row * 1024)..<((row + 1) * 1024)]) == expectedMask.values, "pass \(pass) image \(i)")
                #expect(sample.mask == expectedMask)
            }
        }
        // Thumbnails (pass 0, first 3 images): the network input brought back to bytes, then Pillow bilinear to 16×16.
        let thumbnails = try #require(try set.shards[0].thumbnails())
        for i in 0..<3 {
            let mean: [Float] = [0.485, 0.456, 0.406], std: [Float] = [0.229, 0.224, 0.255]
            var bytes = [UInt8](repeating: 0, count: 32 * 32 * 3)
            for c in 0..<3 {
                for p in 0..<1024 { bytes[p * 3 + c] = UInt8(max(0, min(255, ((jittered[i][c * 1024 + p] * std[c] + mean[c]) * 255).rounded()))) }
            }
            let expected = resample(bytes, width: 32, height: 32, channels: 3, outWidth: 16, outHeight: 16, filter: .bilinear)
            #expect(Array(thumbnails.pixels[(i * 768)..<((i + 1) * 768)]) == expected, "thumbnail \(i)")
        }

        // (c) Tokens equal the backbone on the jittered inputs; (b) they differ from the unjittered crop's wherever the
        // jitters changed the input (and on some samples they did).
        let embedded = try embed(fixture, jittered + plain, name: "hummingbird")  // [24, 17, 16]
        let tolerance: Float = 1e-5
        var differing = 0
        for k in 0..<12 {
            let (pass, i) = (k / 6, k % 6)
            let extracted = try set.shards[pass * 2 + i / 4].tokens(rows: [i % 4]).scalars  // [16, 16]
            let expected = Array(embedded.scalars[(k * 17 * 16 + 16)..<((k + 1) * 17 * 16)])
            expectClose(Tensor(shape: [16, 16], values: extracted), Tensor(shape: [16, 16], values: expected), atol: tolerance, rtol: 0,
                        "tokens of pass \(pass) image \(i)")
            let unjittered = Array(embedded.scalars[((12 + k) * 17 * 16 + 16)..<((13 + k) * 17 * 16)])
            let gap = zip(extracted, unjittered).map { abs($0 - $1) }.max()!
            // A jitter can leave the bytes as they were (e.g. a hue shift of a grey region); then only rounding moves them.
            if jittered[k] != plain[k] {
                #expect(gap > 1e-3, "pass \(pass) image \(i): the jitters changed the input but the tokens moved by \(gap)")
                differing += 1
            } else {
                #expect(gap <= tolerance, "pass \(pass) image \(i): same input but the tokens moved by \(gap)")
            }
        }
        #expect(differing > 0, "\(differing) of 12 inputs changed by the jitters")

        // (d) The same options again: the same bytes, manifest included.
        let again = try fixture.extract(fixture.vocTrain, "hummingbird-again", hummingbird)
        for file in set.manifest.shards.map(\.file) + [FeatureLayout.manifestName] {
            #expect(try Data(contentsOf: URL(fileURLWithPath: folder + "/" + file)) == Data(contentsOf: URL(fileURLWithPath: again + "/" + file)), "\(file)")
        }
    }

    @Test func theHummingbirdFlagIsRecordedAndAbsentMeansCropOnly() throws {
        let fixture = try evalFixture()
        let cropOnly = try FeatureSet(folder: try fixture.extract(fixture.vocTrain, "crop-only") { $0.augmentationEpochs = 1; $0.seed = 7 })
        #expect(!cropOnly.manifest.settings.hummingbirdTransforms && cropOnly.manifest.settings.normalization == .imagenet)
        #expect(cropOnly.shards[0].file.metadata["transform"]?.contains("ColorJitter") == false)
        // Without augmentation passes the flag only selects Hummingbird's statistics.
        let plain = try FeatureSet(folder: try fixture.extract(fixture.vocVal, "hummingbird-no-passes") { $0.hummingbirdTransforms = true })
        #expect(!plain.manifest.settings.hummingbirdTransforms && plain.manifest.settings.normalization == .hummingbird)
        // A manifest written before the field existed decodes it as false.
        let path = cropOnly.folder + "/" + FeatureLayout.manifestName
        var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        var settings = try #require(json["settings"] as? [String: Any])
        #expect(settings["hummingbirdTransforms"] as? Bool == false)
        settings["hummingbirdTransforms"] = nil
        json["settings"] = settings
        let old = fixture.scratch("old-manifest") + "/" + FeatureLayout.manifestName
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: old))
        #expect(try FeatureManifest.load(path: old) == cropOnly.manifest)
    }

    /// BackboneEmbedding of [3, 32, 32] inputs with the fixture's checkpoint: tokens [N, 17, 16].
    private func embed(_ fixture: EvalFixture, _ inputs: [[Float]], name: String) throws -> Tensor {
        let images = Tensor(shape: [inputs.count, 3, 32, 32], values: inputs.flatMap { $0 })
        var writer = TensorFileWriter()
        writer.add("images", images)
        let input = fixture.scratch(name + "-input") + "/images.safetensors"
        let output = fixture.scratch(name + "-output") + "/embedded.safetensors"
        try writer.write(to: input)
        try BackboneEmbedding.run(checkpointPath: fixture.checkpoint, inputPath: input, outputPath: output)
        return try TensorFile(path: output).tensor("tokens")
    }
}
