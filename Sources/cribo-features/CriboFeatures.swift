// SPDX-License-Identifier: Apache-2.0
// cribo-features: frozen-backbone features. `embed` runs a backbone checkpoint over a tensor of images; `extract`
// runs it over an ingested split and writes feature shards for cribo-evaluate.

import ArgumentParser
import CriboCommandLine
import CriboDistributed
import CriboEval
import CriboNN

@main
struct CriboFeatures: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cribo-features",
        abstract: "Dump frozen-backbone patch and [CLS] features.",
        subcommands: [Embed.self, Extract.self])
}

extension CriboFeatures {
    struct Embed: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a backbone checkpoint over `images` [B,3,H,W] and write `tokens` [B,1+N,D] and `cls` [B,D].",
            discussion: """
                The input is a safetensors file with a float32 tensor `images` (already normalised). H and W must be \
                multiples of the patch size; other grids than the training one interpolate the positional embedding \
                bicubically (DINO). Tokens are the final-LayerNorm outputs of all tokens, [CLS] first.
                """)
        @Option(help: "Backbone checkpoint (safetensors, timm/DINO keys).") var checkpoint: String
        @Option(help: "Input safetensors file holding `images`.") var input: String
        @Option(help: "Output safetensors file (written atomically).") var output: String
        @Option(help: "Images per forward pass.") var batchSize: Int = 16
        @OptionGroup var model: ModelArguments
        @OptionGroup var compute: ComputeArguments

        func validate() throws {
            guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        }

        func run() throws {
            try compute.apply()
            let (cfg, count) = try BackboneEmbedding.run(
                checkpointPath: checkpoint, inputPath: input, outputPath: output, headCount: model.heads,
                expected: try model.configuration(), batchSize: batchSize)
            print("embedded \(count) images with \(cfg) -> \(output)")
        }
    }

    struct Extract: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Feature shards over an ingested split: final-norm patch tokens, [CLS], resized labels.",
            discussion: """
                Each image (and its mask) is resized to --resolution squared with Pillow BILINEAR (antialiased; NEAREST \
                for the mask), scaled to [0, 1] and normalised with the ImageNet mean/std, then run through the \
                backbone (teacher weights; other grids interpolate the positional embedding). With --augment-epochs N \
                the split is passed N times through a paired RandomResizedCrop(scale 0.5-2.0, ratio 3/4-4/3) instead, \
                keyed by (--seed, epoch, image), to build a k-NN memory; --hummingbird-transforms makes those passes \
                open-hummingbird-eval's full memory transform (random colour jitters, normalisation, then the same crop \
                with torch's antialiased bilinear and nearest). Shards are written atomically and \
                features.json last; a rerun with the same settings skips finished shards. --workers N splits the \
                shards over N MPI ranks (relaunching under mpirun when no MPI launcher started it; the output folder \
                must be shared by all ranks); the files are the same whatever N.
                """)
        @Option(help: "Backbone checkpoint (safetensors, timm/DINO keys).") var checkpoint: String
        @Option(help: "Ingested split folder, e.g. DATA/shards/voc/val.") var split: String
        @Option(help: "Output feature folder.") var out: String
        @Option(help: "Square input resolution S (a multiple of the patch size).") var resolution: Int = 448
        @Option(help: "Stored token type: f32 or f16.") var dtype: String = "f32"
        @Option(help: "Images per forward pass.") var batchSize: Int = 16
        @Option(help: "Images per feature shard.") var imagesPerShard: Int = 256
        @Option(help: "Augmented passes for memory building (0: the evaluation transform).") var augmentEpochs: Int = 0
        @Option(help: "Seed of the augmentation crops (and colour jitters).") var seed: UInt64 = 0
        @Flag(help: "Use open-hummingbird-eval's std (0.229, 0.224, 0.255), with its typo for blue.") var hummingbirdStd = false
        @Flag(help: "Augmented passes use open-hummingbird-eval's memory transform (colour jitters, then the crop); implies --hummingbird-std.")
        var hummingbirdTransforms = false
        @Option(help: "Store thumbnails of the first N images (report figures).") var thumbnails: Int = 16
        @Option(help: "Thumbnail side in pixels (at most the resolution).") var thumbnailSize: Int = 96
        @Option(help: "Attention heads, for checkpoints without architecture metadata.") var heads: Int?
        @Option(help: "Ranks (MPI processes); relaunches under mpirun when not started by an MPI launcher.") var workers: Int = 1
        @OptionGroup var compute: ComputeArguments

        func validate() throws {
            guard workers >= 1 else { throw ValidationError("--workers must be at least 1") }
            guard FeatureDType(rawValue: dtype) != nil else { throw ValidationError("--dtype must be f32 or f16") }
            guard resolution >= 1, batchSize >= 1, imagesPerShard >= 1 else {
                throw ValidationError("--resolution, --batch-size and --images-per-shard must be at least 1")
            }
            guard augmentEpochs >= 0, thumbnails >= 0, thumbnailSize >= 1 else {
                throw ValidationError("--augment-epochs and --thumbnails must be non-negative, --thumbnail-size positive")
            }
        }

        func run() throws {
            guard let communicator = try MPIWorkers.communicator(workers: workers) else { return }
            defer { MPIWorkers.finish(communicator) }
            try compute.apply()
            var options = FeatureExtractionOptions(splitFolder: split, outFolder: out, checkpointPath: checkpoint, resolution: resolution)
            options.dtype = FeatureDType(rawValue: dtype)!
            options.normalization = hummingbirdStd || hummingbirdTransforms ? .hummingbird : .imagenet
            options.hummingbirdTransforms = hummingbirdTransforms
            options.batchSize = batchSize
            options.imagesPerShard = imagesPerShard
            options.augmentationEpochs = augmentEpochs
            options.seed = seed
            options.thumbnailCount = thumbnails
            options.thumbnailSize = thumbnailSize
            options.headCount = heads
            let display = ProgressDisplay(label: communicator.size > 1 ? "features (rank 0's share)" : "features")
            try FeatureExtractor(options: options) { event in
                guard communicator.isRoot else { return }
                switch event {
                case .upToDate(let manifest):
                    display.log("\(out): up to date (\(manifest.shards.count) shards of \(manifest.sampleCount) images); nothing to do")
                case .planned(let toExtract, let kept, let images):
                    display.log("\(images) images: \(toExtract) shards to extract over \(communicator.size) rank(s), \(kept) kept from an earlier run")
                case .progress(let done, let total):
                    display.update(done: done, total: total, unit: "images")
                case .shardWritten:
                    break
                case .finished(let manifest, let seconds):
                    display.finish()
                    display.log("\(manifest.settings.dataset)/\(manifest.settings.split): \(manifest.shards.count) shards, tokens "
                        + "[\(manifest.gridHeight)x\(manifest.gridWidth)x\(manifest.dimension)] \(manifest.settings.dtype.rawValue), "
                        + String(format: "%.1f s", seconds) + " -> \(out)")
                }
            }.run(communicator: communicator)
        }
    }
}
