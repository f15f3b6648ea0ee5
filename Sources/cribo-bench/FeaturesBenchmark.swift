// SPDX-License-Identifier: Apache-2.0
// `cribo-bench features`: images/s of `cribo-features extract` (FeatureExtractor.run: decode, Pillow-bilinear resize
// to S×S, mask NEAREST, normalise, frozen ViT forward in batches of 16, feature shards and manifest written) per
// resolution and thread count, on a synthesized VOC-layout val split of ~500×375 JPEGs with masks (or --split) and a
// seeded random-init backbone. The forward share is estimated from a separately timed forward of one batch.
// Benchmarks/reference/features_torch.py runs the same pipeline in PyTorch CPU on the same split.

import ArgumentParser
import CriboData
import CriboEval
import CriboNN
import CriboTensor
import Foundation

extension CriboBench {
    struct Features: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Feature-extraction images/s per resolution and thread count.")
        @Option(help: "An ingested split folder (default: a synthesized VOC val split of --images ~500x375 JPEGs with masks).")
        var split: String?
        @Option(help: "Images of the synthesized split (ignored with --split: the whole split is extracted).") var images: Int = 64
        @Option(help: "vit_tiny, vit_small or vit_base.") var arch: String = "vit_small"
        @Option var patchSize: Int = 16
        @Option(help: "Comma-separated resolutions S.") var resolution: String = "448,224"
        @Option(help: "Comma-separated thread counts.") var threads: String = "1,2"
        @Option(help: "Stored token type: f32 or f16.") var dtype: String = "f32"
        @Option(help: "Folder for the synthesized split (reused when present), the checkpoint and the outputs.")
        var folder: String = "/tmp/cribo-features-bench"

        func validate() throws {
            guard FeatureDType(rawValue: dtype) != nil else { throw ValidationError("--dtype must be f32 or f16") }
            guard images >= 1 else { throw ValidationError("--images must be at least 1") }
            guard ViTConfiguration.named(arch, patchSize: patchSize) != nil else { throw ValidationError("unknown --arch \(arch)") }
        }

        func run() throws {
            let resolutions = resolution.split(separator: ",").compactMap { Int($0) }
            let threadCounts = threads.split(separator: ",").compactMap { Int($0) }
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let splitFolder = try split ?? synthesizedSplit()
            let count = try ShardedSplit(folder: splitFolder).count

            // The backbone at its training size (224); other resolutions interpolate the positional embedding.
            let cfg = ViTConfiguration.named(arch, patchSize: patchSize)!
            let checkpoint = folder + "/\(arch)-p\(patchSize)-seed0.safetensors"
            let arena = ParameterArena(slots: VisionTransformer.parameterSlots(for: cfg))
            arena.initialize(seed: 0)
            try BackboneCheckpoint.save(VisionTransformer(configuration: cfg), parameters: arena, to: checkpoint, extraMetadata: ["seed": "0"])
            let (backbone, parameters) = try BackboneCheckpoint.load(path: checkpoint)

            let runtime = BLASRuntime.shared
            print("cribo feature-extraction benchmark (release build): \(splitFolder), \(count) images, batch 16, tokens \(dtype)")
            print("OpenBLAS core: \(runtime.coreName) (\(runtime.choice.rawValue)); cores: \(ProcessInfo.processInfo.activeProcessorCount)")
            print(line(["arch", "S", "threads", "images", "seconds", "img/s", "fwd img/s", "fwd share"]))
            print(String(repeating: "-", count: 92))
            let out = folder + "/features-out"
            for S in resolutions {
                guard S > 0, S % patchSize == 0 else { throw ValidationError("--resolution \(S) is not a multiple of \(patchSize)") }
                for t in threadCounts {
                    guard t >= 1 else { throw ValidationError("--threads must be at least 1") }
                    ComputeThreads.count = t
                    // Untimed warm-up forward, then one timed forward of a full batch (the forward-only rate).
                    let forwardSeconds = timeForward(backbone, parameters: parameters, resolution: S, batch: 16)
                    try? FileManager.default.removeItem(atPath: out)
                    var options = FeatureExtractionOptions(splitFolder: splitFolder, outFolder: out, checkpointPath: checkpoint, resolution: S)
                    options.dtype = FeatureDType(rawValue: dtype)!
                    let start = Date()
                    let manifest = try FeatureExtractor(options: options).run()
                    let seconds = Date().timeIntervalSince(start)
                    try? FileManager.default.removeItem(atPath: out)
                    let forwardRate = 16 / forwardSeconds
                    let share = Double(manifest.sampleCount) / forwardRate / seconds
                    print(line([arch + "/\(patchSize)", "\(S)", "\(t)", "\(manifest.sampleCount)", fmt(seconds),
                                fmt(Double(manifest.sampleCount) / seconds), fmt(forwardRate), String(format: "%.0f%%", 100 * share)]))
                }
            }
            print("""

                Note: seconds = FeatureExtractor.run() wall time: checkpoint load and SHA-256, opening the split, JPEG and PNG
                decode + resize (on the compute threads), normalisation, forward passes of 16, \(dtype) token shards with
                labels, ids and 16 thumbnails, SHA-256 of each shard and the manifest, written under \(folder).
                fwd img/s: one timed forward of a batch of 16 random images after a warm-up one; fwd share = images /
                fwd img/s / seconds (an estimate: the run's own forward passes are not timed separately).
                """)
        }

        /// A VOC-layout val split of `images` ~500×375 JPEGs with masks, synthesized and ingested once per size.
        private func synthesizedSplit() throws -> String {
            let root = folder + "/voc-\(images)"
            let raw = root + "/raw", shards = root + "/shards"
            let splitFolder = shards + "/voc/val"
            if FileManager.default.fileExists(atPath: splitFolder + "/manifest.json") { return splitFolder }
            try FileManager.default.createDirectory(atPath: raw, withIntermediateDirectories: true)
            if !FileManager.default.fileExists(atPath: raw + "/" + VOCIngestor.archive) {
                var options = FixtureOptions(seed: 11, imagesPerSplit: images)
                options.sideRange = 375...500
                options.jpegQuality = 92
                try FixtureArchives.writeVOC(folder: raw, options: options)
            }
            _ = try IngestJob(ingestor: VOCIngestor(), split: "val", options: IngestOptions(rawFolder: raw, outFolder: shards)) { _ in }.run()
            return splitFolder
        }

        /// Seconds of one inference forward of `batch` random S×S images, after an untimed one.
        private func timeForward(_ backbone: VisionTransformer, parameters: ParameterArena, resolution S: Int, batch B: Int) -> Double {
            let grid = S / backbone.configuration.patchSize
            let activations = ViTActivations(configuration: backbone.configuration, batch: B, gridHeight: grid, gridWidth: grid, isTraining: false)
            let input = Tensor(zeros: [B, 3, S, S])
            var rng = SplitMix64(seed: SplitMix64.mix(UInt64(S), UInt64(B), 7))
            for i in 0..<input.count { input[flat: i] = Float(rng.nextNormal()) }
            return median(warmup: 1, repeats: 1) { backbone.forward(images: input, parameters: parameters, activations: activations) }
        }

        /// One table line: the first column left-aligned, the others right-aligned.
        private func line(_ cells: [String]) -> String {
            let widths = [12, 6, 8, 8, 10, 10, 12, 11]
            return zip(cells, widths).enumerated().map { index, pair in
                let (cell, width) = pair
                let pad = String(repeating: " ", count: max(0, width - cell.count))
                return index == 0 ? cell + pad : pad + cell
            }.joined(separator: " |")
        }
    }
}
