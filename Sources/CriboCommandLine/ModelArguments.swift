// SPDX-License-Identifier: Apache-2.0
// Shared command-line options: the ViT architecture and the compute threads.

import ArgumentParser
import CriboNN
import CriboTensor

/// `--arch`, `--patch-size`, `--embed-dim`, `--depth`, `--heads`, `--image-size`: a ViT architecture.
package struct ModelArguments: ParsableArguments {
    @Option(help: "Architecture preset: vit_tiny, vit_small, vit_base (default: from the checkpoint).")
    package var arch: String?
    @Option(help: "Patch size (with --arch, or for a custom architecture).")
    package var patchSize: Int?
    @Option(help: "Embedding dimension of a custom architecture.")
    package var embedDim: Int?
    @Option(help: "Number of blocks of a custom architecture.")
    package var depth: Int?
    @Option(help: "Number of attention heads (needed for checkpoints without metadata and a non-preset width).")
    package var heads: Int?
    @Option(help: "Training image size (positional-embedding grid = image size / patch size).")
    package var imageSize: Int?

    package init() {}

    /// The architecture the flags describe, or nil when they name none (then the checkpoint decides).
    package func configuration() throws -> ViTConfiguration? {
        let patch = patchSize ?? 16
        let image = imageSize ?? 224
        if let arch {
            guard var cfg = ViTConfiguration.named(arch, patchSize: patch, imageSize: image) else {
                throw ValidationError("unknown --arch '\(arch)' (vit_tiny, vit_small, vit_base)")
            }
            if let embedDim { cfg.embeddingDimension = embedDim; cfg.mlpHiddenDimension = 4 * embedDim }
            if let depth { cfg.depth = depth }
            if let heads { cfg.headCount = heads }
            if let problem = cfg.validationError() { throw ValidationError(problem) }
            return cfg
        }
        if let embedDim, let depth, let heads {
            let cfg = ViTConfiguration(imageSize: image, patchSize: patch, embeddingDimension: embedDim, depth: depth, headCount: heads)
            if let problem = cfg.validationError() { throw ValidationError(problem) }
            return cfg
        }
        return nil
    }
}

/// `--threads`: the compute threads of this process.
package struct ComputeArguments: ParsableArguments {
    @Option(help: "Compute threads (default: CRIBO_THREADS, else all cores).")
    package var threads: Int?

    package init() {}

    /// Applies the thread count.
    package func apply() throws {
        if let threads {
            guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
            ComputeThreads.count = threads
        }
    }
}

/// The message and exit status of a stage that later issues build.
package func notBuiltYet(_ stage: String, issue: Int) -> ExitCode {
    var standardError = StandardError()
    print("\(stage): not built yet (tracked in issue \(issue)); nothing was done.", to: &standardError)
    return ExitCode(2)
}

/// Standard error as a TextOutputStream.
package struct StandardError: TextOutputStream {
    package init() {}
    package mutating func write(_ string: String) {
        FileHandleShim.writeToStandardError(string)
    }
}
