// SPDX-License-Identifier: Apache-2.0
// The linear probe's training loop over in-memory patch tokens (batch order from seeded per-epoch permutations)
// and its dense predictions. Legend: n images, h×w patch grid, H×W label size, D dimension, C classes.

import CriboTensor

extension LinearProbe {
    /// The images of batch `step`: positions step·B ..< (step+1)·B of the concatenated per-epoch permutations of
    /// 0..<n, each a Fisher–Yates shuffle driven by SplitMix64(mix(seed, epoch)) (mmseg's infinite shuffled sampler).
    package func batchImages(step: Int, imageCount n: Int) -> [Int] {
        precondition(n > 0, "LinearProbe.batchImages: no images")
        let B = configuration.batchSize
        var cachedEpoch = -1
        var permutation: [Int] = []
        return (step * B..<(step + 1) * B).map { position in
            let epoch = position / n
            if epoch != cachedEpoch {
                cachedEpoch = epoch
                permutation = Array(0..<n)
                var rng = SplitMix64(seed: SplitMix64.mix(configuration.seed, UInt64(epoch)))
                for i in stride(from: n - 1, to: 0, by: -1) { permutation.swapAt(i, rng.nextInt(below: i + 1)) }
            }
            return permutation[position % n]
        }
    }

    /// Trains for the remaining `configuration.steps − stepCount` steps and returns the loss of each.
    /// - Parameters:
    ///   - features: [n, h·w, D] frozen patch tokens.
    ///   - labels: [n, H, W] label maps.
    package func train(
        features: UnsafePointer<Float>, labels: UnsafeBufferPointer<UInt8>, imageCount n: Int, gridHeight h: Int,
        gridWidth w: Int, labelHeight H: Int, labelWidth W: Int
    ) -> [Float] {
        precondition(labels.count == n * H * W, "LinearProbe.train: \(labels.count) labels for \(n)x\(H)x\(W)")
        let B = configuration.batchSize
        let D = featureDimension
        let batchFeatures = Tensor(zeros: [B, h * w, D])
        var batchLabels = [UInt8](repeating: 0, count: B * H * W)
        var losses: [Float] = []
        while stepCount < configuration.steps {
            for (slot, image) in batchImages(step: stepCount, imageCount: n).enumerated() {
                (batchFeatures.pointer + slot * h * w * D).update(from: features + image * h * w * D, count: h * w * D)
                for i in 0..<(H * W) { batchLabels[slot * H * W + i] = labels[image * H * W + i] }
            }
            let loss = batchLabels.withUnsafeBufferPointer { batch in
                step(features: batchFeatures.pointer, labels: batch, batch: B, gridHeight: h, gridWidth: w,
                     labelHeight: H, labelWidth: W)
            }
            losses.append(loss)
        }
        return losses
    }

    /// Predicted label maps: argmax over classes of the bilinearly resized logits (lowest id among ties).
    /// - Parameters:
    ///   - features: [n, h·w, D].
    /// - Returns: [n, H, W] class ids.
    package func predict(
        features: UnsafePointer<Float>, imageCount n: Int, gridHeight h: Int, gridWidth w: Int, outputHeight H: Int,
        outputWidth W: Int
    ) -> [Int32] {
        let patchLogits = Tensor(zeros: [h * w, classCount])
        var predictions = [Int32](repeating: 0, count: n * H * W)
        predictions.withUnsafeMutableBufferPointer { predictions in
            for image in 0..<n {
                logits(output: patchLogits.pointer, features: features + image * h * w * featureDimension, rows: h * w)
                bilinearResizeArgmax(output: predictions.baseAddress! + image * H * W, input: patchLogits.pointer,
                                     channels: classCount, inputHeight: h, inputWidth: w, outputHeight: H, outputWidth: W)
            }
        }
        return predictions
    }
}
