// SPDX-License-Identifier: Apache-2.0
// Feature extraction on the ingested VOC fixture with a random-init ViT: the layout (shapes, metadata, labels,
// names, thumbnails), tokens equal to BackboneEmbedding on independently normalised pixels, resume after a lost
// shard with identical bytes, the f16 option, deterministic augmentation passes, and errors naming the problem.

import CriboData
import CriboEval
import CriboNN
import CriboTensor
import CriboTestSupport
import Foundation
import Testing

@Suite struct FeaturesTests {}

extension FeaturesTests {
    @Test func extractionWritesTheDeclaredLayout() throws {
        let fixture = try evalFixture()
        let folder = try fixture.extract(fixture.vocVal, "layout")
        let set = try FeatureSet(folder: folder)
        let m = set.manifest
        let split = try ShardedSplit(folder: fixture.vocVal)
        #expect(m.sampleCount == 6 && m.gridHeight == 4 && m.gridWidth == 4 && m.dimension == 16 && m.hasMasks && !m.hasClassLabels)
        #expect(m.shards.map(\.file) == ["features-00000.safetensors", "features-00001.safetensors"])
        #expect(m.shards.map(\.count) == [4, 2] && m.classNames == split.manifest.classNames)
        #expect(m.settings.checkpointSHA256 == (try SHA256Digest.hex(ofFile: fixture.checkpoint)))
        #expect(!FileManager.default.fileExists(atPath: folder + "/" + FeatureLayout.partialManifestName))
        let first = set.shards[0].file
        #expect(first.entries["tokens"]?.shape == [4, 4, 4, 16] && first.entries["tokens"]?.dtype == .float32)
        #expect(first.entries["cls"]?.shape == [4, 16] && first.entries["labels"]?.shape == [4, 32, 32])
        #expect(first.entries["thumbnails"]?.shape == [3, 16, 16, 3] && set.shards[1].file.entries["thumbnails"] == nil)
        #expect(first.metadata["format"] == "cribo-features" && first.metadata["pass"] == "none" && first.metadata["resolution"] == "32")
        #expect(first.metadata["normalization"] == "imagenet" && first.metadata["dataset"] == "voc" && first.metadata["split"] == "val")
        #expect(first.metadata["checkpointSHA256"] == m.settings.checkpointSHA256 && first.metadata["patchSize"] == "8")
        #expect(try set.shards[1].sampleIndices() == [4, 5])
        #expect(try set.shards[0].names() + set.shards[1].names() == (0..<6).map { split.name(at: $0) })
        // Labels are the stored masks resized with Pillow NEAREST; thumbnails are the bilinear 32×32 image at 16×16.
        for i in 0..<4 {
            let mask = try split.labelMap("mask", at: i)
            let expected = resampleNearest(mask.values, width: mask.width, height: mask.height, outWidth: 32, outHeight: 32)
            #expect(Array(try set.shards[0].labels()[(i * 1024)..<((i + 1) * 1024)]) == expected)
        }
        let image = try split.image(at: 1)
        let resized = resample(image.pixels, width: image.width, height: image.height, channels: 3, outWidth: 32, outHeight: 32, filter: .bilinear)
        let thumbnail = resample(resized, width: 32, height: 32, channels: 3, outWidth: 16, outHeight: 16, filter: .bilinear)
        #expect(Array(try set.shards[0].thumbnails()!.pixels[768..<1536]) == thumbnail)
    }

    @Test func tokensEqualTheBackboneOnIndependentlyNormalisedPixels() throws {
        let fixture = try evalFixture()
        let set = try FeatureSet(folder: try fixture.extract(fixture.vocVal, "forward"))
        let split = try ShardedSplit(folder: fixture.vocVal)
        // Pixels: Pillow bilinear to 32×32, then (v/255 − mean)/std with the ImageNet numbers written out here.
        let (mean, std): ([Float], [Float]) = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
        let images = Tensor(zeros: [2, 3, 32, 32])
        for (b, i) in [0, 5].enumerated() {
            let image = try split.image(at: i)
            let pixels = resample(image.pixels, width: image.width, height: image.height, channels: 3, outWidth: 32, outHeight: 32, filter: .bilinear)
            for c in 0..<3 { for p in 0..<1024 { images.pointer[(b * 3 + c) * 1024 + p] = (Float(pixels[p * 3 + c]) / 255 - mean[c]) / std[c] } }
        }
        var writer = TensorFileWriter()
        writer.add("images", images)
        let input = fixture.scratch("forward-input") + "/images.safetensors"
        let output = fixture.scratch("forward-output") + "/embedded.safetensors"
        try writer.write(to: input)
        try BackboneEmbedding.run(checkpointPath: fixture.checkpoint, inputPath: input, outputPath: output)
        let embedded = try TensorFile(path: output)
        let tokens = try embedded.tensor("tokens")  // [2, 17, 16]
        let cls = try embedded.tensor("cls")
        // Batches differ (3 images per pass in extraction, 2 here), so the GEMMs may round differently.
        let tolerance: Float = 1e-5
        for (b, (shard, row)) in [(0, 0), (1, 1)].enumerated() {
            let extracted = try set.shards[shard].tokens(rows: [row])  // [1, 16, 16]
            let patchTokens = Tensor(shape: [16, 16], values: Array(tokens.scalars[(b * 17 * 16 + 16)..<((b + 1) * 17 * 16)]))
            expectClose(Tensor(shape: [16, 16], values: extracted.scalars), patchTokens, atol: tolerance, rtol: 0, "tokens of image \(b)")
            let extractedCLS = Array(try set.shards[shard].cls().scalars[(row * 16)..<((row + 1) * 16)])
            expectClose(Tensor(shape: [16], values: extractedCLS), Tensor(shape: [16], values: Array(cls.scalars[(b * 16)..<((b + 1) * 16)])),
                        atol: tolerance, rtol: 0, "cls of image \(b)")
        }
    }

    @Test func aRerunAfterALostShardRewritesOnlyThatShardWithTheSameBytes() throws {
        let fixture = try evalFixture()
        let folder = try fixture.extract(fixture.vocVal, "resume")
        let files = ["features-00000.safetensors", "features-00001.safetensors", FeatureLayout.manifestName]
        let before = try files.map { try Data(contentsOf: URL(fileURLWithPath: folder + "/" + $0)) }
        let firstDate = try FileManager.default.attributesOfItem(atPath: folder + "/" + files[0])[.modificationDate] as? Date
        // A crash after shard 0: the partial manifest lists it, shard 1 and features.json are missing.
        var partial = try FeatureManifest.load(path: folder + "/" + FeatureLayout.manifestName)
        partial.shards.removeLast()
        try partial.write(to: folder + "/" + FeatureLayout.partialManifestName)
        try FileManager.default.removeItem(atPath: folder + "/" + files[1])
        try FileManager.default.removeItem(atPath: folder + "/" + files[2])
        var events: [String] = []
        try FeatureExtractor(options: fixture.options(split: fixture.vocVal, out: folder)) { event in
            if case .planned(let toExtract, let kept, _) = event { events.append("planned \(toExtract) \(kept)") }
            if case .shardWritten(let record) = event { events.append("wrote " + record.file) }
        }.run()
        #expect(events == ["planned 1 1", "wrote features-00001.safetensors"])
        let after = try files.map { try Data(contentsOf: URL(fileURLWithPath: folder + "/" + $0)) }
        #expect(after == before)
        #expect(try FileManager.default.attributesOfItem(atPath: folder + "/" + files[0])[.modificationDate] as? Date == firstDate)
        // Complete and unchanged: nothing to do. Other settings: everything is extracted again.
        var upToDate = false
        try FeatureExtractor(options: fixture.options(split: fixture.vocVal, out: folder)) { if case .upToDate = $0 { upToDate = true } }.run()
        #expect(upToDate)
        var changed = fixture.options(split: fixture.vocVal, out: folder)
        changed.imagesPerShard = 6
        let manifest = try FeatureExtractor(options: changed).run()
        #expect(manifest.shards.map(\.file) == ["features-00000.safetensors"])
        #expect(!FileManager.default.fileExists(atPath: folder + "/features-00001.safetensors"))
    }

    @Test func f16StoresTheRoundedTokens() throws {
        let fixture = try evalFixture()
        let full = try FeatureSet(folder: try fixture.extract(fixture.vocVal, "dtype-f32"))
        let half = try FeatureSet(folder: try fixture.extract(fixture.vocVal, "dtype-f16") { $0.dtype = .f16 })
        #expect(half.shards[0].file.entries["tokens"]?.dtype == .float16 && half.shards[0].file.entries["cls"]?.dtype == .float16)
        #expect(half.shards[0].file.metadata["dtype"] == "f16")
        for (a, b) in zip(full.shards, half.shards) {
            #expect(try b.tokens().scalars == a.tokens().scalars.map { Float(Float16($0)) })
            #expect(try b.tokens(rows: [1]).scalars == a.tokens(rows: [1]).scalars.map { Float(Float16($0)) })
            #expect(try b.labels() == a.labels())
        }
    }

    @Test func augmentedPassesArePairedCropsKeyedBySeedEpochAndImage() throws {
        let fixture = try evalFixture()
        let set = try FeatureSet(folder: try fixture.extract(fixture.vocTrain, "augmented") { $0.augmentationEpochs = 2; $0.seed = 7 })
        let split = try ShardedSplit(folder: fixture.vocTrain)
        #expect(set.manifest.shards.map(\.file) == ["features-e00-00000.safetensors", "features-e00-00001.safetensors",
                                                    "features-e01-00000.safetensors", "features-e01-00001.safetensors"])
        #expect(set.shards[2].file.metadata["pass"] == "1" && set.shards[2].file.entries["thumbnails"] == nil)
        var passesDiffer = false
        for (pass, shard) in [(0, set.shards[0]), (1, set.shards[2])] {
            let labels = try shard.labels()
            for i in 0..<4 {
                let image = try split.image(at: i)
                let crop = ResizedCropBox.forImage(width: image.width, height: image.height, seed: 7, epoch: pass, index: i)
                let expected = EvaluationTransform.resize(image: image, mask: try split.labelMap("mask", at: i), resolution: 32, crop: crop)
                #expect(Array(labels[(i * 1024)..<((i + 1) * 1024)]) == expected.mask!.values, "pass \(pass) image \(i)")
                if crop != ResizedCropBox.forImage(width: image.width, height: image.height, seed: 7, epoch: 1 - pass, index: i) { passesDiffer = true }
            }
        }
        #expect(passesDiffer)
    }

    @Test func badRequestsNameTheProblem() throws {
        let fixture = try evalFixture()
        var options = fixture.options(split: fixture.vocVal, out: fixture.scratch("bad"))
        options.resolution = 30
        #expect { try FeatureExtractor(options: options).run() } throws: { "\($0)".contains("--resolution 30") && "\($0)".contains("patch size 8") }
        let empty = fixture.scratch("empty")
        #expect { try FeatureSet(folder: empty) } throws: { "\($0)".contains(empty) && "\($0)".contains("features.json") }
    }
}
