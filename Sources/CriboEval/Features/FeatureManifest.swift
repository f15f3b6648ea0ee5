// SPDX-License-Identifier: Apache-2.0
// The manifest of a feature folder (`features.json`): the settings that determine every byte of the shards, and
// the shards themselves with their sizes and hashes. Equal settings make a rerun skip finished shards. Settings
// added after the first layout decode with their old meaning when absent, so older feature folders still load.

import CriboNN
import CriboTensor
import Foundation

/// Everything that determines the content of a feature folder.
package struct FeatureSettings: Codable, Equatable, Sendable {
    /// The ingested dataset and split (from the split's manifest).
    package var dataset: String
    /// The split name (e.g. "val").
    package var split: String
    /// The split manifest's configuration hash: a re-ingested split with other options invalidates the features.
    package var splitConfigurationHash: String
    /// The backbone checkpoint as given, and the SHA-256 of its bytes.
    package var checkpoint: String
    /// The SHA-256 of the checkpoint bytes.
    package var checkpointSHA256: String
    /// The backbone architecture.
    package var architecture: ViTConfiguration
    /// S: images (and masks) are resized or cropped to S×S; the patch grid is (S/p)×(S/p).
    package var resolution: Int
    /// The pixel normalisation.
    package var normalization: PixelNormalization
    /// The stored token type.
    package var dtype: FeatureDType
    /// Images per shard file.
    package var imagesPerShard: Int
    /// Number of augmented passes (paired RandomResizedCrop); 0 for one pass with the evaluation transform.
    package var augmentationEpochs: Int
    /// Whether the augmented passes use open-hummingbird-eval's full memory-building transform (colour jitters,
    /// normalisation at full resolution, then the paired crop on tensors) rather than the crop alone. Always false
    /// without augmentation passes; false when absent from an older manifest.
    package var hummingbirdTransforms = false
    /// Seed of the augmentation streams (meaningful when augmentationEpochs > 0).
    package var seed: UInt64
    /// Images of the split (from the start) that get a thumbnail, and the thumbnail side.
    package var thumbnailCount: Int
    /// T, the thumbnail side.
    package var thumbnailSize: Int

    /// A one-line description of the transform, as stored in each shard's metadata.
    package var transformDescription: String {
        if augmentationEpochs > 0 && hummingbirdTransforms {
            return "open-hummingbird-eval memory transform: RandomApply(p=0.5) of each of ColorJitter brightness 0.1, contrast 0.1, "
                + "saturation 0.1, hue 0.1 (in that order, on the full image; gates and factors from SplitMix64 keyed by "
                + "(mix(seed, epoch, index), 1)); ToTensor; " + normalization.formula + "; paired RandomResizedCrop(\(resolution), "
                + "scale=(0.5, 2.0), ratio=(3/4, 4/3)) with torchvision get_params semantics (SplitMix64 keyed by (seed, epoch, "
                + "index)), torch antialiased bilinear on the normalised image and torch nearest on the mask"
        }
        let resize = augmentationEpochs > 0
            ? "paired RandomResizedCrop(\(resolution), scale=(0.5, 2.0), ratio=(3/4, 4/3)) with torchvision get_params semantics "
                + "(SplitMix64 keyed by (seed, epoch, index)), crop then Pillow BILINEAR for the image and NEAREST for the mask"
            : "Pillow resize to \(resolution)x\(resolution): BILINEAR (antialiased) for the image, NEAREST for the mask"
        return resize + "; ToTensor; " + normalization.formula
    }
}

extension FeatureSettings {
    private enum CodingKeys: String, CodingKey {
        case dataset, split, splitConfigurationHash, checkpoint, checkpointSHA256, architecture, resolution, normalization
        case dtype, imagesPerShard, augmentationEpochs, hummingbirdTransforms, seed, thumbnailCount, thumbnailSize
    }

    /// Decodes the settings; `hummingbirdTransforms` is false when the manifest predates it.
    package init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        dataset = try c.decode(String.self, forKey: .dataset)
        split = try c.decode(String.self, forKey: .split)
        splitConfigurationHash = try c.decode(String.self, forKey: .splitConfigurationHash)
        checkpoint = try c.decode(String.self, forKey: .checkpoint)
        checkpointSHA256 = try c.decode(String.self, forKey: .checkpointSHA256)
        architecture = try c.decode(ViTConfiguration.self, forKey: .architecture)
        resolution = try c.decode(Int.self, forKey: .resolution)
        normalization = try c.decode(PixelNormalization.self, forKey: .normalization)
        dtype = try c.decode(FeatureDType.self, forKey: .dtype)
        imagesPerShard = try c.decode(Int.self, forKey: .imagesPerShard)
        augmentationEpochs = try c.decode(Int.self, forKey: .augmentationEpochs)
        hummingbirdTransforms = try c.decodeIfPresent(Bool.self, forKey: .hummingbirdTransforms) ?? false
        seed = try c.decode(UInt64.self, forKey: .seed)
        thumbnailCount = try c.decode(Int.self, forKey: .thumbnailCount)
        thumbnailSize = try c.decode(Int.self, forKey: .thumbnailSize)
    }
}

/// One finished shard of a feature folder.
package struct FeatureShardRecord: Codable, Equatable, Sendable {
    /// The file name inside the folder.
    package var file: String
    /// The augmentation epoch, or nil for the evaluation transform.
    package var pass: Int?
    /// The split positions firstSample ..< firstSample + count.
    package var firstSample: Int
    /// n, images in the shard.
    package var count: Int
    /// File size and SHA-256, checked on resume (size only) and available to users.
    package var bytes: Int
    /// The SHA-256 of the file.
    package var sha256: String
}

/// The content of `features.json` (and of `features.partial.json` while extraction runs).
package struct FeatureManifest: Codable, Equatable, Sendable {
    /// "cribo-features".
    package var format = FeatureLayout.format
    /// The layout version.
    package var version = FeatureLayout.version
    /// What determines the content.
    package var settings: FeatureSettings
    /// Images in the split; every pass covers all of them.
    package var sampleCount: Int
    /// h, w and D of the tokens.
    package var gridHeight: Int
    /// w.
    package var gridWidth: Int
    /// D.
    package var dimension: Int
    /// The split's class names (segmentation: label ids; classification: class indices).
    package var classNames: [String]
    /// Whether shards hold `labels` (segmentation masks) and `sample.label` (image classes).
    package var hasMasks: Bool
    /// Whether shards hold `sample.label`.
    package var hasClassLabels: Bool
    /// The finished shards, in (pass, firstSample) order.
    package var shards: [FeatureShardRecord]
    /// The program that wrote the folder.
    package var createdBy = "cribo-features extract"

    /// The passes of the folder: [nil] for the evaluation transform, [0, 1, ...] for augmentation epochs.
    package var passes: [Int?] {
        settings.augmentationEpochs == 0 ? [nil] : (0..<settings.augmentationEpochs).map { Optional($0) }
    }

    /// Reads a manifest file; errors name it.
    package static func load(path: String) throws -> FeatureManifest {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw FeatureError.missingManifest(folder: URL(fileURLWithPath: path).deletingLastPathComponent().path)
        }
        let manifest: FeatureManifest
        do { manifest = try JSONDecoder().decode(FeatureManifest.self, from: data) } catch {
            throw FeatureError.malformed(file: path, reason: "\(error)")
        }
        guard manifest.format == FeatureLayout.format else {
            throw FeatureError.malformed(file: path, reason: "format is \(manifest.format), expected \(FeatureLayout.format)")
        }
        guard manifest.version == FeatureLayout.version else {
            throw FeatureError.versionMismatch(file: path, found: manifest.version, expected: FeatureLayout.version)
        }
        return manifest
    }

    /// Writes the manifest to `path` atomically (pretty, sorted keys: the same content gives the same bytes).
    package func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try AtomicFile.write(try encoder.encode(self) + Data("\n".utf8), to: path)
    }
}
