// SPDX-License-Identifier: Apache-2.0
// Hummingbird's memory-building (train) transforms, in their order (CombTransforms): four independent
// RandomApply(p = 0.5) colour jitters of strength 0.1 (brightness, contrast, saturation, hue, each its own
// ColorJitter) on the full-resolution PIL image, ToTensor + Normalize (std 0.255 for blue, sic), then the paired
// RandomResizedCrop(S, scale (0.5, 2.0), ratio (3/4, 4/3)) on the tensors: the normalised image with torch's
// antialiased bilinear, the mask with torch's nearest. Crop areas above 1 never fit, so those tries fall
// through to the next and, after 10, to the central crop. No flip.
// reference: open-hummingbird-eval hbird/hbird_eval.py get_hbird_train_transforms,
// hbird/utils/image_transformations.py RandomResizedCrop

import CriboTensor

/// The drawn parameters of one Hummingbird training sample.
package struct HummingbirdParameters: Equatable, Sendable {
    /// Brightness factor ~ U(0.9, 1.1), or nil when its RandomApply skipped it.
    package var brightness: Double?
    /// Contrast factor ~ U(0.9, 1.1), or nil.
    package var contrast: Double?
    /// Saturation factor ~ U(0.9, 1.1), or nil.
    package var saturation: Double?
    /// Hue shift ~ U(−0.1, 0.1), or nil.
    package var hue: Double?
    /// The paired crop box.
    package var crop: CropBox

    /// Parameters from their parts.
    package init(brightness: Double?, contrast: Double?, saturation: Double?, hue: Double?, crop: CropBox) {
        self.brightness = brightness
        self.contrast = contrast
        self.saturation = saturation
        self.hue = hue
        self.crop = crop
    }
}

/// Hummingbird's train-time transforms for dense nearest-neighbour retrieval.
package enum HummingbirdTransforms {
    /// Crop area range relative to the image (areas above 1 are rejected tries).
    package static let cropScale: ClosedRange<Double> = 0.5...2.0
    /// Crop aspect-ratio range.
    package static let cropRatio: ClosedRange<Double> = (3.0 / 4.0)...(4.0 / 3.0)

    /// Draws the four jitter gates (u ≤ 0.5 applies, then the factor) in order, then the crop box.
    package static func sample(width: Int, height: Int, rng: inout SplitMix64) -> HummingbirdParameters {
        func gated(_ low: Double, _ high: Double) -> Double? {
            rng.nextUniform() <= 0.5 ? rng.nextUniform(low, high) : nil
        }
        let brightness = gated(0.9, 1.1), contrast = gated(0.9, 1.1), saturation = gated(0.9, 1.1), hue = gated(-0.1, 0.1)
        let crop = RandomResizedCrop.sampleBox(width: width, height: height, scale: cropScale, ratio: cropRatio, rng: &rng)
        return HummingbirdParameters(brightness: brightness, contrast: contrast, saturation: saturation, hue: hue, crop: crop)
    }

    /// The normalised `size × size` crop of a channel-first tensor, as torchvision's `F.resized_crop(tensor, …,
    /// BILINEAR, antialias=True)`.
    /// - Parameters:
    ///   - tensor: [3, height, width].
    /// - Returns: [3, size, size].
    package static func resizedCrop(_ tensor: [Float], width: Int, height: Int, box: CropBox, size: Int) -> [Float] {
        precondition(tensor.count == 3 * width * height, "HummingbirdTransforms.resizedCrop: \(tensor.count) values for 3x\(height)x\(width)")
        precondition(box.top >= 0 && box.left >= 0 && box.top + box.height <= height && box.left + box.width <= width,
                     "HummingbirdTransforms.resizedCrop: box \(box) outside \(width)x\(height)")
        var crop = [Float](repeating: 0, count: 3 * box.width * box.height)
        for c in 0..<3 {
            for y in 0..<box.height {
                for x in 0..<box.width {
                    crop[(c * box.height + y) * box.width + x] = tensor[(c * height + box.top + y) * width + box.left + x]
                }
            }
        }
        return resampleAntialiased(crop, width: box.width, height: box.height, planeCount: 3,
                                   outWidth: size, outHeight: size, filter: .bilinear)
    }

    /// The `size × size` crop of a label map with torch's nearest rule (Hummingbird's mask tensor path).
    package static func resizedCrop(_ mask: IndexImage, box: CropBox, size: Int) -> IndexImage {
        var crop = [UInt8](repeating: 0, count: box.width * box.height)
        for y in 0..<box.height {
            for x in 0..<box.width { crop[y * box.width + x] = mask.values[(box.top + y) * mask.width + box.left + x] }
        }
        return IndexImage(width: size, height: size,
                          values: resampleNearestLikeTorch(crop, width: box.width, height: box.height, outWidth: size, outHeight: size))
    }

    /// One memory-building sample: jitters, normalisation at full resolution, then the paired crop.
    /// - Returns: pixels [3, size, size] and the mask [size, size].
    package static func apply(_ image: RGBImage, mask: IndexImage, parameters: HummingbirdParameters, size: Int) -> (pixels: [Float], mask: IndexImage) {
        precondition(mask.width == image.width && mask.height == image.height,
                     "HummingbirdTransforms: mask \(mask.width)x\(mask.height) for image \(image.width)x\(image.height)")
        var jittered = image
        if let b = parameters.brightness { jittered = jittered.brightnessAdjusted(b) }
        if let c = parameters.contrast { jittered = jittered.contrastAdjusted(c) }
        if let s = parameters.saturation { jittered = jittered.saturationAdjusted(s) }
        if let h = parameters.hue { jittered = jittered.hueAdjusted(h) }
        let tensor = jittered.normalizedTensor(mean: EvaluationTransforms.hummingbirdMean, std: EvaluationTransforms.hummingbirdStd)
        return (resizedCrop(tensor, width: image.width, height: image.height, box: parameters.crop, size: size),
                resizedCrop(mask, box: parameters.crop, size: size))
    }
}
