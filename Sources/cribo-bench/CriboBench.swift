// SPDX-License-Identifier: Apache-2.0
// cribo-bench: release-build benchmarks that print tables (never timed tests), and small helpers for demos.
// `engine` times GEMM, ViT inference and a DINO training step at several thread counts, each model in its own
// process so that peak RSS is per configuration; Benchmarks/reference/engine_torch.py prints the PyTorch side.

import ArgumentParser
import CriboNN
import CriboTensor
import Foundation

@main
struct CriboBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cribo-bench",
        abstract: "Benchmarks (release build) and demo helpers.",
        subcommands: [Engine.self, Train.self, Ingest.self, Augment.self, Retrieval.self, DenseMemory.self, AllReduce.self, Features.self, BLAS.self, RandomCheckpoint.self, RandomImages.self])
}

extension CriboBench {
    struct RandomCheckpoint: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a seeded random-init backbone checkpoint (DINO init).")
        @Option(help: "vit_tiny, vit_small or vit_base.") var arch: String = "vit_small"
        @Option var patchSize: Int = 16
        @Option var imageSize: Int = 224
        @Option var seed: UInt64 = 0
        @Option var output: String

        func run() throws {
            guard let cfg = ViTConfiguration.named(arch, patchSize: patchSize, imageSize: imageSize) else {
                throw ValidationError("unknown --arch \(arch)")
            }
            let backbone = VisionTransformer(configuration: cfg)
            let arena = ParameterArena(slots: VisionTransformer.parameterSlots(for: cfg))
            arena.initialize(seed: seed)
            try BackboneCheckpoint.save(backbone, parameters: arena, to: output, extraMetadata: ["seed": String(seed)])
            print("wrote \(cfg) (\(arena.parameterCount) parameters, seed \(seed)) -> \(output)")
        }
    }

    struct RandomImages: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a seeded `images` [B,3,H,W] standard-normal tensor.")
        @Option var count: Int = 4
        @Option var height: Int = 224
        @Option var width: Int = 224
        @Option var seed: UInt64 = 0
        @Option var output: String

        func run() throws {
            let images = Tensor(zeros: [count, 3, height, width])
            var rng = SplitMix64(seed: seed)
            for i in 0..<images.count { images[flat: i] = Float(rng.nextNormal()) }
            var writer = TensorFileWriter(metadata: ["seed": String(seed)])
            writer.add("images", images)
            try writer.write(to: output)
            print("wrote images \(images.shape) -> \(output)")
        }
    }
}

extension CriboBench {
    struct BLAS: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Load OpenBLAS as cribo does and report the kernel chosen.")
        @Flag(help: .hidden) var simulateDisagreement = false

        func run() throws {
            var first = true
            let runtime = try BLASRuntime.load {
                if simulateDisagreement && first {
                    first = false
                    return .infinity
                }
                return BLASRuntime.verifyAgainstNaive()
            }
            print("core: \(runtime.coreName)")
            print("choice: \(runtime.choice.rawValue)")
            print("library: \(runtime.library)")
            print("check error: \(runtime.checkError)")
            if let warning = runtime.warning { print("warning: \(warning)") }
        }
    }
}
