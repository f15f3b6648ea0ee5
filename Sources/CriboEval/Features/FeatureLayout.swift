// SPDX-License-Identifier: Apache-2.0
// The layout of a cribo feature folder, declared once. `cribo-features extract` runs a frozen backbone over an
// ingested split and writes, per run of `imagesPerShard` images of one pass, one safetensors file that any Python
// user reads with `safetensors.numpy.load_file`.
//
// Tensors (n = images in the shard, h×w = patch grid, D = width, S = resolution, T = thumbnail side):
//   tokens                 F32|F16 [n, h, w, D]  final-LayerNorm patch tokens (no [CLS]), raster order
//   cls                    F32|F16 [n, D]        final-LayerNorm [CLS] token
//   labels                 U8  [n, S, S]         the split's `mask` resized to S×S with Pillow NEAREST (segmentation
//                                                splits only; values as stored, e.g. VOC 255 = void)
//   sample.label           I64 [n]               class index (classification splits only)
//   sample.index           I64 [n]               position of the image in the split (0..<sampleCount)
//   sample.id              I64 [n]               the split's `sample.id`
//   sample.name.bytes      U8  [total]           UTF-8 names, concatenated
//   sample.name.offsets    I64 [n+1]             byte ranges of the names
//   thumbnails             U8  [m, T, T, 3]      the transformed S×S image resized to T×T (Pillow bilinear) for the
//                                                first m rows, the rows whose sample.index < the requested
//                                                thumbnail count (first pass only; absent when m = 0)
//
// __metadata__: format = cribo-features, version, dataset, split, sampleCount, shardIndex, pass (augmentation
// epoch, or "none" for the evaluation transform), seed, resolution, patchSize, normalization, transform, dtype,
// checkpoint, checkpointSHA256, architecture (JSON of ViTConfiguration).
//
// `features.json` (FeatureManifest) is written last, atomically; while extraction runs, `features.partial.json`
// lists the finished shards so that a rerun with the same settings skips them.

/// The keys, metadata and file names of a feature folder (see the file header).
package enum FeatureLayout {
    /// `__metadata__["format"]` of a feature shard and `format` of its manifest.
    package static let format = "cribo-features"
    /// The layout version; readers refuse other versions.
    package static let version = "1"

    /// [n, h, w, D] patch tokens.
    package static let tokensKey = "tokens"
    /// [n, D] [CLS] tokens.
    package static let clsKey = "cls"
    /// [n, S, S] label maps at the evaluation resolution.
    package static let labelsKey = "labels"
    /// [n] image class indices.
    package static let classKey = "sample.label"
    /// [n] positions in the split.
    package static let indexKey = "sample.index"
    /// [n] the split's sample ids.
    package static let idKey = "sample.id"
    /// Concatenated UTF-8 names.
    package static let nameBytesKey = "sample.name.bytes"
    /// [n+1] name byte offsets.
    package static let nameOffsetsKey = "sample.name.offsets"
    /// [m, T, T, 3] thumbnails of the first rows.
    package static let thumbnailsKey = "thumbnails"

    /// The manifest, written when every shard is done.
    package static let manifestName = "features.json"
    /// The list of finished shards while extraction runs (rank 0's; see `partialManifestName(rank:)`).
    package static let partialManifestName = "features.partial.json"

    /// The list of the shards rank `rank` has finished while an extraction over several ranks runs:
    /// features.partial.json for rank 0, features.partial.rank-3.json for rank 3.
    package static func partialManifestName(rank: Int) -> String {
        rank == 0 ? partialManifestName : "features.partial.rank-\(rank).json"
    }

    /// Whether a file name is a partial manifest of some rank.
    package static func isPartialManifestName(_ name: String) -> Bool {
        name == partialManifestName || (name.hasPrefix("features.partial.rank-") && name.hasSuffix(".json"))
    }

    /// The file name of shard `index` of pass `pass` (nil: the evaluation transform):
    /// features-00000.safetensors, or features-e01-00000.safetensors for augmentation epoch 1.
    package static func fileName(pass: Int?, index: Int) -> String {
        let number = String(repeating: "0", count: max(0, 5 - String(index).count)) + String(index)
        guard let pass else { return "features-" + number + ".safetensors" }
        return "features-e" + (pass < 10 ? "0" : "") + String(pass) + "-" + number + ".safetensors"
    }
}

/// The element type of stored tokens.
package enum FeatureDType: String, Codable, Sendable, CaseIterable {
    /// IEEE float32.
    case f32
    /// IEEE float16, rounded to nearest even (half the size; tokens after LayerNorm are O(1), well inside its range).
    case f16
}

/// Problems with a feature folder or file; each names the file.
package enum FeatureError: Error, CustomStringConvertible, Equatable {
    /// No `features.json`: never extracted, or extraction did not finish.
    case missingManifest(folder: String)
    /// A file that is not what the layout says.
    case malformed(file: String, reason: String)
    /// Written by another layout version.
    case versionMismatch(file: String, found: String, expected: String)
    /// Two feature folders that cannot be evaluated together.
    case incompatible(reason: String)
    /// An image or mask of the split that cannot be transformed.
    case badSample(file: String, sample: String, reason: String)
    /// Settings that cannot be evaluated on these features (for example a memory smaller than K).
    case unusableSettings(folder: String, reason: String)

    /// The message, naming the file.
    package var description: String {
        switch self {
        case .missingManifest(let folder):
            return "\(folder): no \(FeatureLayout.manifestName) (features were never extracted here, or extraction did not finish; re-run cribo-features extract)"
        case .malformed(let file, let reason): return "\(file): invalid feature file: \(reason)"
        case .versionMismatch(let file, let found, let expected):
            return "\(file): feature layout version \(found), this cribo reads \(expected); re-run cribo-features extract"
        case .incompatible(let reason): return "incompatible feature folders: \(reason)"
        case .badSample(let file, let sample, let reason): return "\(file): sample \(sample): \(reason)"
        case .unusableSettings(let folder, let reason): return "\(folder): \(reason)"
        }
    }
}
