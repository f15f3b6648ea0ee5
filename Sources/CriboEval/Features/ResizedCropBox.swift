// SPDX-License-Identifier: Apache-2.0
// The paired train-time crop of open-hummingbird-eval's memory building: torchvision's RandomResizedCrop with
// scale (0.5, 2.0) — tries whose area exceeds the image are rejected, and after 10 rejections the crop falls back
// to a central one (spec §9.1, §11.21) — drawn from SplitMix64 keyed by (seed, epoch, image), so a crop is a pure
// function of those three numbers. The sampling itself is CriboData's RandomResizedCrop. The full Hummingbird
// parameters (colour jitters and crop) of an image keep that crop and draw the jitters from a second stream.

import CriboData
import CriboTensor

/// The crop rectangle type of the evaluation transforms (CriboData's CropBox).
package typealias ResizedCropBox = CropBox

extension CropBox {
    /// torchvision's `get_params` with `rng` (see RandomResizedCrop.sampleBox).
    package static func sample(
        width: Int, height: Int, scale: (Double, Double) = (0.5, 2.0), ratio: (Double, Double) = (3.0 / 4.0, 4.0 / 3.0),
        rng: inout SplitMix64
    ) -> CropBox {
        RandomResizedCrop.sampleBox(width: width, height: height, scale: scale.0...scale.1, ratio: ratio.0...ratio.1, rng: &rng)
    }

    /// get_params' central fallback.
    package static func central(width: Int, height: Int, ratio: (Double, Double) = (3.0 / 4.0, 4.0 / 3.0)) -> CropBox {
        RandomResizedCrop.centralBox(width: width, height: height, ratio: ratio.0...ratio.1)
    }

    /// The crop of image `index` in augmentation epoch `epoch`: `sample` with SplitMix64(mix(seed, epoch, index)).
    package static func forImage(width: Int, height: Int, seed: UInt64, epoch: Int, index: Int) -> CropBox {
        var rng = SplitMix64(seed: SplitMix64.mix(seed, UInt64(epoch), UInt64(index)))
        return sample(width: width, height: height, rng: &rng)
    }
}

extension HummingbirdParameters {
    /// The Hummingbird parameters of image `index` in augmentation epoch `epoch`: the crop is
    /// `CropBox.forImage(seed, epoch, index)` — the crop-only passes' crop, so the two differ only in colour — and the
    /// four jitter gates and factors are HummingbirdTransforms.sample's on SplitMix64(mix(mix(seed, epoch, index), 1))
    /// (the crop that call also draws is not used).
    package static func forImage(width: Int, height: Int, seed: UInt64, epoch: Int, index: Int) -> HummingbirdParameters {
        var jitterStream = SplitMix64(seed: SplitMix64.mix(SplitMix64.mix(seed, UInt64(epoch), UInt64(index)), 1))
        var parameters = HummingbirdTransforms.sample(width: width, height: height, rng: &jitterStream)
        parameters.crop = CropBox.forImage(width: width, height: height, seed: seed, epoch: epoch, index: index)
        return parameters
    }
}
