// SPDX-License-Identifier: Apache-2.0
// cribo-features: frozen-backbone features. `embed` runs a backbone checkpoint over a tensor of images; the
// shard-level feature dump (`extract`) arrives with the evaluation issue.

import ArgumentParser
import CriboCommandLine
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
        static let configuration = CommandConfiguration(abstract: "Feature shards over an ingested split (not built yet).")
        func run() throws { throw notBuiltYet("cribo-features extract", issue: 6) }
    }
}
