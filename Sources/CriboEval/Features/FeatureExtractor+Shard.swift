// SPDX-License-Identifier: Apache-2.0
// One feature shard: decode and transform the images of a range of the split (in parallel), run the backbone in
// batches (inference activations), and serialise tokens, [CLS], labels, ids, names and thumbnails.
// Legend: n images in the shard, B images per batch, S resolution, h×w patch grid, T = 1 + h·w tokens, D width.

import CriboData
import CriboNN
import CriboTensor
import Foundation

extension FeatureExtractor {
    /// The serialised shard of split positions `range` in pass `pass`.
    /// - Parameters:
    ///   - progress: called with the number of images of each finished batch.
    func extractShard(
        split: ShardedSplit, backbone: VisionTransformer, parameters: ParameterArena, settings: FeatureSettings, pass: Int?,
        index: Int, range: Range<Int>, progress: (Int) -> Void
    ) throws -> Data {
        let cfg = backbone.configuration
        let S = settings.resolution
        let (h, w, D) = (S / cfg.patchSize, S / cfg.patchSize, cfg.embeddingDimension)
        let n = range.count
        let hasMasks = split.manifest.fields["mask"] != nil
        let T = settings.thumbnailSize
        let thumbnailRows = pass == nil || pass == 0 ? max(0, min(range.upperBound, settings.thumbnailCount) - range.lowerBound) : 0
        var tokens = [Float](repeating: 0, count: n * h * w * D)  // [n, h, w, D]
        var cls = [Float](repeating: 0, count: n * D)  // [n, D]
        var labels = [UInt8](repeating: 0, count: hasMasks ? n * S * S : 0)  // [n, S, S]
        var thumbnails = [UInt8](repeating: 0, count: thumbnailRows * T * T * 3)  // [m, T, T, 3]
        var activations: ViTActivations?
        for batchStart in stride(from: 0, to: n, by: options.batchSize) {
            let B = min(options.batchSize, n - batchStart)
            let samples = try transformedBatch(split: split, settings: settings, pass: pass,
                                               positions: (range.lowerBound + batchStart)..<(range.lowerBound + batchStart + B))
            let images = Tensor(zeros: [B, 3, S, S])
            for (b, sample) in samples.enumerated() {
                if let normalized = sample.normalized {
                    precondition(normalized.count == 3 * S * S, "FeatureExtractor: \(normalized.count) normalised values for 3x\(S)x\(S)")
                    normalized.withUnsafeBufferPointer { images.pointer.advanced(by: b * 3 * S * S).update(from: $0.baseAddress!, count: 3 * S * S) }
                } else {
                    EvaluationTransform.normalize(output: images.pointer + b * 3 * S * S, image: sample.image, normalization: settings.normalization)
                }
                let row = batchStart + b
                if let mask = sample.mask { for i in 0..<(S * S) { labels[row * S * S + i] = mask.values[i] } }
                if row < thumbnailRows {
                    let small = EvaluationTransform.thumbnail(sample.image, size: T)
                    for i in 0..<(T * T * 3) { thumbnails[row * T * T * 3 + i] = small[i] }
                }
            }
            if activations?.batch != B {
                activations = ViTActivations(configuration: cfg, batch: B, gridHeight: h, gridWidth: w, isTraining: false)
            }
            let batchActivations = activations!
            backbone.forward(images: images, parameters: parameters, activations: batchActivations)
            withExtendedLifetime(batchActivations) {
                let output = batchActivations.output.pointer  // [B, 1 + h·w, D]
                let tokenCount = 1 + h * w
                for b in 0..<B {
                    let row = batchStart + b
                    let source = output + b * tokenCount * D
                    for d in 0..<D { cls[row * D + d] = source[d] }
                    for i in 0..<(h * w * D) { tokens[(row * h * w) * D + i] = source[D + i] }
                }
            }
            progress(B)
        }

        var writer = TensorFileWriter(metadata: [
            "format": FeatureLayout.format, "version": FeatureLayout.version, "dataset": settings.dataset,
            "split": settings.split, "sampleCount": String(n), "shardIndex": String(index),
            "pass": pass.map(String.init) ?? "none", "seed": String(settings.seed), "resolution": String(S),
            "patchSize": String(cfg.patchSize), "normalization": settings.normalization.rawValue,
            "transform": settings.transformDescription, "dtype": settings.dtype.rawValue, "checkpoint": settings.checkpoint,
            "checkpointSHA256": settings.checkpointSHA256,
            "architecture": String(decoding: try JSONEncoder.sorted.encode(cfg), as: UTF8.self),
        ])
        tokens.withUnsafeBufferPointer { add(&writer, FeatureLayout.tokensKey, shape: [n, h, w, D], $0, settings.dtype) }
        cls.withUnsafeBufferPointer { add(&writer, FeatureLayout.clsKey, shape: [n, D], $0, settings.dtype) }
        if hasMasks { writer.add(FeatureLayout.labelsKey, shape: [n, S, S], uint8s: Data(labels)) }
        if thumbnailRows > 0 { writer.add(FeatureLayout.thumbnailsKey, shape: [thumbnailRows, T, T, 3], uint8s: Data(thumbnails)) }
        let positions = Array(range)
        writer.add(FeatureLayout.indexKey, shape: [n], int64s: positions.map(Int64.init))
        writer.add(FeatureLayout.idKey, shape: [n], int64s: positions.map { i in
            let (reader, local) = split.locate(i)
            return reader.id(at: local)
        })
        if split.count > 0 && split.label(at: range.lowerBound) != nil {
            writer.add(FeatureLayout.classKey, shape: [n], int64s: positions.map { split.label(at: $0) ?? -1 })
        }
        var nameBytes: [UInt8] = []
        var offsets: [Int64] = [0]
        for i in positions {
            nameBytes += Array(split.name(at: i).utf8)
            offsets.append(Int64(nameBytes.count))
        }
        writer.add(FeatureLayout.nameBytesKey, shape: [nameBytes.count], uint8s: Data(nameBytes))
        writer.add(FeatureLayout.nameOffsetsKey, shape: [n + 1], int64s: offsets)
        return writer.serialized()
    }

    /// Decodes and transforms the images at `positions` on the compute threads; the first failure is thrown.
    private func transformedBatch(split: ShardedSplit, settings: FeatureSettings, pass: Int?, positions: Range<Int>) throws
        -> [TransformedSample]
    {
        let hasMasks = split.manifest.fields["mask"] != nil
        var results = [Result<TransformedSample, Error>?](repeating: nil, count: positions.count)
        results.withUnsafeMutableBufferPointer { results in
            ComputeThreads.parallelForEach(positions.count) { k in
                let i = positions.lowerBound + k
                results[k] = Result {
                    let image = try split.image(at: i)
                    let mask = hasMasks ? try split.labelMap("mask", at: i) : nil
                    if let mask, mask.width != image.width || mask.height != image.height {
                        throw FeatureError.badSample(file: split.folder, sample: split.name(at: i),
                                                     reason: "mask \(mask.width)x\(mask.height) but image \(image.width)x\(image.height)")
                    }
                    if let pass, settings.hummingbirdTransforms {
                        let parameters = HummingbirdParameters.forImage(width: image.width, height: image.height, seed: settings.seed, epoch: pass, index: i)
                        return EvaluationTransform.hummingbird(image: image, mask: mask, resolution: settings.resolution, parameters: parameters)
                    }
                    let crop = pass.map { ResizedCropBox.forImage(width: image.width, height: image.height, seed: settings.seed, epoch: $0, index: i) }
                    return EvaluationTransform.resize(image: image, mask: mask, resolution: settings.resolution, crop: crop)
                }
            }
        }
        return try results.map { try $0!.get() }
    }

    private func add(_ writer: inout TensorFileWriter, _ key: String, shape: [Int], _ values: UnsafeBufferPointer<Float>, _ dtype: FeatureDType) {
        switch dtype {
        case .f32: writer.add(key, shape: shape, floats: values)
        case .f16: writer.addFloat16(key, shape: shape, floats: values)
        }
    }
}
