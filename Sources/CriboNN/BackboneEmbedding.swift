// SPDX-License-Identifier: Apache-2.0
// Running a frozen backbone over a tensor of images: the engine behind `cribo-features embed`.

import CriboTensor
import Foundation

/// Embeds images with a backbone checkpoint and writes all final-norm tokens and [CLS].
package enum BackboneEmbedding {
    /// Reads `images` [B, 3, H, W] (float32, already normalised) from `inputPath`, runs the backbone of
    /// `checkpointPath` in batches, and writes `tokens` [B, 1+N, D] and `cls` [B, D] to `outputPath` (atomically).
    /// - Parameters:
    ///   - headCount: for checkpoints without architecture metadata whose width is not a preset's.
    ///   - expected: when given, the checkpoint's architecture must equal it (flags given by the user).
    ///   - batchSize: images per forward pass (bounds memory).
    /// - Returns: the architecture used and the number of images.
    @discardableResult
    package static func run(
        checkpointPath: String, inputPath: String, outputPath: String, headCount: Int? = nil,
        expected: ViTConfiguration? = nil, batchSize: Int = 16
    ) throws -> (ViTConfiguration, Int) {
        let (backbone, parameters) = try BackboneCheckpoint.load(path: checkpointPath, headCount: headCount)
        let cfg = backbone.configuration
        if let expected, expected != cfg {
            throw EmbeddingError.architectureMismatch(path: checkpointPath, found: cfg.description, expected: expected.description)
        }
        let input = try TensorFile(path: inputPath)
        let entry = try input.entry("images")
        guard entry.shape.count == 4, entry.shape[1] == cfg.inChannels else {
            throw TensorFileError.wrongShape(path: inputPath, name: "images", found: entry.shape, expected: [-1, cfg.inChannels, -1, -1])
        }
        let (B, H, W) = (entry.shape[0], entry.shape[2], entry.shape[3])
        let P = cfg.patchSize
        guard H % P == 0, W % P == 0, H > 0, W > 0 else {
            throw EmbeddingError.badImageSize(path: inputPath, height: H, width: W, patch: P)
        }
        let images = try input.tensor("images")
        let (Hp, Wp) = (H / P, W / P)
        let T = 1 + Hp * Wp
        let D = cfg.embeddingDimension
        let tokens = Tensor(zeros: [B, T, D])
        let cls = Tensor(zeros: [B, D])
        var start = 0
        while start < B {
            let count = min(batchSize, B - start)
            let batch = Tensor(zeros: [count, cfg.inChannels, H, W])
            batch.pointer.update(from: images.pointer + start * cfg.inChannels * H * W, count: batch.count)
            let activations = ViTActivations(configuration: cfg, batch: count, gridHeight: Hp, gridWidth: Wp, isTraining: false)
            backbone.forward(images: batch, parameters: parameters, activations: activations)
            (tokens.pointer + start * T * D).update(from: activations.output.pointer, count: count * T * D)
            for b in 0..<count {
                (cls.pointer + (start + b) * D).update(from: activations.output.pointer + b * T * D, count: D)
            }
            start += count
        }
        var writer = TensorFileWriter(metadata: [
            "format": "cribo-embedding", "version": "1", "checkpoint": checkpointPath,
            "architecture": String(decoding: try JSONEncoder.sorted.encode(cfg), as: UTF8.self),
        ])
        writer.add("tokens", tokens)
        writer.add("cls", cls)
        try writer.write(to: outputPath)
        return (cfg, B)
    }
}

/// Problems with an embedding request, naming the file.
package enum EmbeddingError: Error, CustomStringConvertible {
    case architectureMismatch(path: String, found: String, expected: String)
    case badImageSize(path: String, height: Int, width: Int, patch: Int)

    package var description: String {
        switch self {
        case .architectureMismatch(let path, let found, let expected):
            return "\(path): checkpoint architecture \(found) differs from the requested \(expected)"
        case .badImageSize(let path, let height, let width, let patch):
            return "\(path): images are \(height)x\(width), not a positive multiple of the patch size \(patch)"
        }
    }
}
