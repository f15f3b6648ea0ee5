// SPDX-License-Identifier: Apache-2.0
// The architecture of a ViT backbone (DINO/timm VisionTransformer): the named presets of spec §1 and free
// small configurations for tests and the demo.

/// A ViT architecture.
package struct ViTConfiguration: Codable, Equatable, Sendable, CustomStringConvertible {
    /// The training resolution; the positional embedding has (imageSize/patchSize)² patch entries.
    package var imageSize: Int
    package var patchSize: Int
    package var inChannels: Int = 3
    /// D in spec §1 (C in the kernels).
    package var embeddingDimension: Int
    package var depth: Int
    package var headCount: Int
    /// The MLP hidden width (4·D in all presets).
    package var mlpHiddenDimension: Int

    package init(
        imageSize: Int, patchSize: Int, inChannels: Int = 3, embeddingDimension: Int, depth: Int, headCount: Int,
        mlpHiddenDimension: Int? = nil
    ) {
        self.imageSize = imageSize
        self.patchSize = patchSize
        self.inChannels = inChannels
        self.embeddingDimension = embeddingDimension
        self.depth = depth
        self.headCount = headCount
        self.mlpHiddenDimension = mlpHiddenDimension ?? 4 * embeddingDimension
    }

    /// vit_tiny: D 192, 12 blocks, 3 heads.
    package static func vitTiny(patchSize: Int = 16, imageSize: Int = 224) -> Self {
        Self(imageSize: imageSize, patchSize: patchSize, embeddingDimension: 192, depth: 12, headCount: 3)
    }
    /// vit_small: D 384, 12 blocks, 6 heads.
    package static func vitSmall(patchSize: Int = 16, imageSize: Int = 224) -> Self {
        Self(imageSize: imageSize, patchSize: patchSize, embeddingDimension: 384, depth: 12, headCount: 6)
    }
    /// vit_base: D 768, 12 blocks, 12 heads.
    package static func vitBase(patchSize: Int = 16, imageSize: Int = 224) -> Self {
        Self(imageSize: imageSize, patchSize: patchSize, embeddingDimension: 768, depth: 12, headCount: 12)
    }

    /// A preset by its DINO/timm name: vit_tiny, vit_small, vit_base (patch size given separately).
    package static func named(_ name: String, patchSize: Int = 16, imageSize: Int = 224) -> Self? {
        switch name {
        case "vit_tiny": return vitTiny(patchSize: patchSize, imageSize: imageSize)
        case "vit_small": return vitSmall(patchSize: patchSize, imageSize: imageSize)
        case "vit_base": return vitBase(patchSize: patchSize, imageSize: imageSize)
        default: return nil
        }
    }

    /// The preset name when the configuration is one (ignoring patch and image size), else "custom".
    package var name: String {
        for preset in ["vit_tiny", "vit_small", "vit_base"] {
            if let p = Self.named(preset, patchSize: patchSize, imageSize: imageSize), p == self { return preset }
        }
        return "custom"
    }

    /// The side of the positional-embedding grid.
    package var gridSize: Int { imageSize / patchSize }
    /// The head dimension D/H.
    package var headDimension: Int { embeddingDimension / headCount }

    /// Checks the architecture is well-formed; returns a message or nil.
    package func validationError() -> String? {
        if imageSize <= 0 || patchSize <= 0 || imageSize % patchSize != 0 {
            return "image size \(imageSize) is not a positive multiple of the patch size \(patchSize)"
        }
        if embeddingDimension <= 0 || headCount <= 0 || embeddingDimension % headCount != 0 {
            return "embedding dimension \(embeddingDimension) does not split into \(headCount) heads"
        }
        if depth <= 0 || mlpHiddenDimension <= 0 || inChannels <= 0 { return "depth, MLP width and channels must be positive" }
        return nil
    }

    package var description: String {
        "\(name)/\(patchSize) (D \(embeddingDimension), depth \(depth), heads \(headCount), MLP \(mlpHiddenDimension), image \(imageSize))"
    }
}
