// SPDX-License-Identifier: Apache-2.0
// The pixel side of feature extraction (spec §9.1): an image and its mask brought to S×S — resized whole (the
// validation transform) or a paired crop resized (the memory-building augmentation) — then ToTensor and the
// mean/std normalisation into the backbone's CHW input; or open-hummingbird-eval's full memory-building transform,
// which normalises before cropping and so yields the network input itself.
// Legend: S resolution, T thumbnail side.
// reference: torchvision transforms.Resize / RandomResizedCrop on PIL images (which call PIL Image.resize)

import CriboData

/// The mean/std normalisation after ToTensor.
package enum PixelNormalization: String, Codable, Sendable, CaseIterable {
    /// ImageNet statistics: mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225).
    case imagenet
    /// open-hummingbird-eval's statistics, with its typo: std (0.229, 0.224, 0.255) for blue (spec §11.21).
    case hummingbird

    /// Per-channel mean (R, G, B).
    package var mean: [Float] { [0.485, 0.456, 0.406] }

    /// Per-channel standard deviation (R, G, B).
    package var std: [Float] { self == .imagenet ? [0.229, 0.224, 0.225] : [0.229, 0.224, 0.255] }

    /// The formula, for metadata and reports.
    package var formula: String {
        "Normalize(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, \(self == .imagenet ? "0.225" : "0.255")))"
            + (self == .hummingbird ? " [open-hummingbird-eval's std typo]" : "")
    }
}

/// An image and its mask brought to the evaluation resolution.
package struct TransformedSample: Equatable {
    /// [S, S, 3] RGB bytes.
    package var image: RGBImage
    /// [S, S] label values as stored, when the split has masks.
    package var mask: IndexImage?
    /// [3, S, S] the network input when the transform normalised it itself (the Hummingbird transform; `image` is
    /// then these values brought back to bytes, for thumbnails); nil: normalise `image`.
    package var normalized: [Float]? = nil
}

/// The evaluation transform of spec §9.1.
package enum EvaluationTransform {
    /// Resizes (or crops, then resizes) an image and its mask to S×S.
    ///
    /// Concretely: with a crop (top, left, height, width) the region is cut out first (PIL `crop`, as torchvision's
    /// `resized_crop`), then the image is resized with Pillow BILINEAR (antialiased: the filter support widens with
    /// the downscale factor) and the mask with Pillow NEAREST. Without a crop the whole image is resized.
    /// - Parameters:
    ///   - mask: same width and height as the image (a precondition).
    package static func resize(image: RGBImage, mask: IndexImage?, resolution S: Int, crop: ResizedCropBox? = nil) -> TransformedSample {
        if let mask {
            precondition(mask.width == image.width && mask.height == image.height,
                         "EvaluationTransform: mask \(mask.width)x\(mask.height), image \(image.width)x\(image.height)")
        }
        var image = image
        var mask = mask
        if let crop {
            image = RGBImage(width: crop.width, height: crop.height, pixels: cut(image.pixels, width: image.width, channels: 3, crop))
            mask = mask.map { IndexImage(width: crop.width, height: crop.height, values: cut($0.values, width: $0.width, channels: 1, crop)) }
        }
        let pixels = image.width == S && image.height == S ? image.pixels
            : resample(image.pixels, width: image.width, height: image.height, channels: 3, outWidth: S, outHeight: S, filter: .bilinear)
        let labels = mask.map { m in
            IndexImage(width: S, height: S, values: resampleNearest(m.values, width: m.width, height: m.height, outWidth: S, outHeight: S))
        }
        return TransformedSample(image: RGBImage(width: S, height: S, pixels: pixels), mask: labels)
    }

    /// open-hummingbird-eval's memory-building sample at S×S (HummingbirdTransforms.apply: jitters, ToTensor and
    /// Normalize with its statistics at full resolution, then the paired crop with torch's antialiased bilinear and
    /// nearest). `normalized` is the network input; `image` is round(clamp((v·std + mean)·255, 0, 255)) of it.
    /// - Parameters:
    ///   - mask: same width and height as the image (a precondition); without one only the image is transformed.
    package static func hummingbird(image: RGBImage, mask: IndexImage?, resolution S: Int, parameters: HummingbirdParameters) -> TransformedSample {
        let pairedMask = mask ?? IndexImage(width: image.width, height: image.height, values: [UInt8](repeating: 0, count: image.width * image.height))
        let (pixels, labels) = HummingbirdTransforms.apply(image, mask: pairedMask, parameters: parameters, size: S)
        let mean = EvaluationTransforms.hummingbirdMean, std = EvaluationTransforms.hummingbirdStd
        var bytes = [UInt8](repeating: 0, count: S * S * 3)
        for c in 0..<3 {
            for i in 0..<(S * S) { bytes[i * 3 + c] = UInt8(max(0, min(255, ((pixels[c * S * S + i] * std[c] + mean[c]) * 255).rounded()))) }
        }
        return TransformedSample(image: RGBImage(width: S, height: S, pixels: bytes), mask: mask == nil ? nil : labels, normalized: pixels)
    }

    /// ToTensor then Normalize: output[c, y, x] = (pixel[y, x, c] / 255 − mean[c]) / std[c].
    /// - Parameters:
    ///   - output: [3, H, W].
    ///   - image: [H, W, 3].
    package static func normalize(output: UnsafeMutablePointer<Float>, image: RGBImage, normalization: PixelNormalization) {
        let plane = image.width * image.height
        let mean = normalization.mean
        let std = normalization.std
        image.pixels.withUnsafeBufferPointer { pixels in
            for c in 0..<3 {
                let target = output + c * plane
                let (m, s) = (mean[c], std[c])
                for i in 0..<plane { target[i] = (Float(pixels[i * 3 + c]) / 255 - m) / s }
            }
        }
    }

    /// A T×T thumbnail of a transformed image (Pillow BILINEAR).
    package static func thumbnail(_ image: RGBImage, size T: Int) -> [UInt8] {
        if image.width == T && image.height == T { return image.pixels }
        return resample(image.pixels, width: image.width, height: image.height, channels: 3, outWidth: T, outHeight: T, filter: .bilinear)
    }

    /// The bytes of a crop of an HWC buffer.
    private static func cut(_ values: [UInt8], width: Int, channels C: Int, _ crop: ResizedCropBox) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: crop.width * crop.height * C)
        for y in 0..<crop.height {
            let source = ((crop.top + y) * width + crop.left) * C
            for i in 0..<(crop.width * C) { result[y * crop.width * C + i] = values[source + i] }
        }
        return result
    }
}
