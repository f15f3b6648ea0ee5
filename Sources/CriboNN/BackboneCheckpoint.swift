// SPDX-License-Identifier: Apache-2.0
// Backbone weights in safetensors with timm/DINO state_dict keys (cls_token, pos_embed, patch_embed.proj.*,
// blocks.N.*, norm.*). A file written here loads into timm's VisionTransformer with strict=True; a timm/DINO
// backbone saved with safetensors.torch.save_file loads here. Loading is strict: a missing, unexpected or
// mis-shaped key is an error naming the key and the file.
//
// Metadata (written; optional when reading): format = "cribo-backbone", version = "1", architecture = JSON of
// ViTConfiguration. Without it, the architecture is inferred from the tensor shapes (heads from the preset of
// the embedding width, or given by the caller).

import CriboTensor
import Foundation

/// Saving and loading ViT backbones.
package enum BackboneCheckpoint {
    package static let format = "cribo-backbone"
    package static let version = "1"

    /// Writes the parameters of `backbone` (its prefix stripped) atomically to `path`.
    package static func save(
        _ backbone: VisionTransformer, parameters: ParameterArena, to path: String, extraMetadata: [String: String] = [:]
    ) throws {
        var writer = TensorFileWriter(metadata: extraMetadata)
        writer.metadata["format"] = format
        writer.metadata["version"] = version
        writer.metadata["architecture"] = String(decoding: try JSONEncoder.sorted.encode(backbone.configuration), as: UTF8.self)
        for slot in VisionTransformer.parameterSlots(for: backbone.configuration, prefix: backbone.prefix) {
            let key = String(slot.key.dropFirst(backbone.prefix.count))
            writer.add(key, shape: slot.shape, floats: UnsafeBufferPointer(start: parameters.pointer(slot.key), count: slot.count))
        }
        try writer.write(to: path)
    }

    /// The architecture stored in, or inferred from, a backbone file.
    /// - Parameters:
    ///   - headCount: used when the file has no metadata and the width is not a preset's.
    package static func configuration(of file: TensorFile, headCount: Int? = nil) throws -> ViTConfiguration {
        if let text = file.metadata["architecture"] {
            do {
                return try JSONDecoder().decode(ViTConfiguration.self, from: Data(text.utf8))
            } catch {
                throw TensorFileError.metadata(path: file.path, reason: "architecture is not a ViT configuration: \(error)")
            }
        }
        let patch = try file.entry("patch_embed.proj.weight").shape
        let pos = try file.entry("pos_embed").shape
        guard patch.count == 4, patch[2] == patch[3], pos.count == 3 else {
            throw TensorFileError.metadata(path: file.path, reason: "cannot infer the architecture from patch_embed/pos_embed shapes \(patch), \(pos)")
        }
        let D = patch[0]
        let grid = Int(Double(pos[1] - 1).squareRoot().rounded())
        guard grid * grid == pos[1] - 1 else {
            throw TensorFileError.metadata(path: file.path, reason: "pos_embed has \(pos[1] - 1) patch entries, not a square grid")
        }
        var depth = 0
        while file.entries["blocks.\(depth).attn.qkv.weight"] != nil { depth += 1 }
        let heads = headCount ?? [192: 3, 384: 6, 768: 12, 1024: 16][D]
        guard let heads else {
            throw TensorFileError.metadata(path: file.path, reason: "no architecture metadata and width \(D) is not a preset; give the head count")
        }
        let hidden = try file.entry("blocks.0.mlp.fc1.weight").shape[0]
        return ViTConfiguration(
            imageSize: grid * patch[2], patchSize: patch[2], inChannels: patch[1], embeddingDimension: D, depth: depth,
            headCount: heads, mlpHiddenDimension: hidden)
    }

    /// Loads a backbone file strictly into a new arena.
    /// - Returns: the backbone (prefix "") and its parameters.
    package static func load(path: String, headCount: Int? = nil) throws -> (VisionTransformer, ParameterArena) {
        let file = try TensorFile(path: path)
        let configuration = try configuration(of: file, headCount: headCount)
        if let problem = configuration.validationError() {
            throw TensorFileError.metadata(path: path, reason: problem)
        }
        let backbone = VisionTransformer(configuration: configuration)
        let arena = ParameterArena(slots: VisionTransformer.parameterSlots(for: configuration))
        try loadStrict(file: file, into: arena)
        return (backbone, arena)
    }

    /// Copies every slot of `arena` from `file` (keys `keyPrefix` + slot key), strictly: every slot present with
    /// its exact shape, no other tensor in the file.
    package static func loadStrict(file: TensorFile, into arena: ParameterArena, keyPrefix: String = "") throws {
        var expected = Set<String>()
        for (i, slot) in arena.slots.enumerated() {
            let key = keyPrefix + slot.key
            expected.insert(key)
            let entry = try file.entry(key)
            guard entry.shape == slot.shape else {
                throw TensorFileError.wrongShape(path: file.path, name: key, found: entry.shape, expected: slot.shape)
            }
            let values = try file.tensor(key)
            arena.buffer(slot: i).baseAddress!.update(from: values.pointer, count: slot.count)
        }
        let unexpected = file.names.filter { !expected.contains($0) }
        if !unexpected.isEmpty { throw TensorFileError.unexpectedTensors(path: file.path, names: unexpected) }
    }
}

extension JSONEncoder {
    /// An encoder with sorted keys (stable bytes for hashing and diffs).
    package static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }
}
