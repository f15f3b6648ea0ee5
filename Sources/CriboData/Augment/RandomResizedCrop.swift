// SPDX-License-Identifier: Apache-2.0
// RandomResizedCrop: torchvision's get_params (10 tries of a random area and log-uniform aspect ratio, then a
// ratio-clamped central crop) drawn from SplitMix64, and the crop + resize of a uint8 image exactly as
// torchvision's F.resized_crop does it on a PIL image: Image.crop to the box first, then Image.resize of the
// cropped image (so the filter taps stop at the box edges instead of reading pixels outside it), with Pillow 13's
// choice of which pass runs first.
// reference: torchvision/transforms/transforms.py RandomResizedCrop.get_params, functional.py resized_crop

import CriboTensor
import Foundation

/// torchvision's RandomResizedCrop parameter sampling.
package enum RandomResizedCrop {
    /// Draws a crop box like `RandomResizedCrop.get_params(img, scale, ratio)`.
    ///
    /// Concretely: up to 10 times, area = W·H·U(scale), r = exp(U(log ratio)), w = round(√(area·r)),
    /// h = round(√(area/r)) (Python's half-even round); the first box with 0 < w ≤ W and 0 < h ≤ H is placed at
    /// i ~ U{0…H−h}, j ~ U{0…W−w}. Otherwise the central crop of the whole image with its aspect ratio clamped
    /// into `ratio`. Draws 2 values per try plus 2 for the position, all from `rng`.
    /// - Parameters:
    ///   - width: image columns W.
    ///   - height: image rows H.
    /// - Returns: the box in image pixels.
    package static func sampleBox(
        width: Int, height: Int, scale: ClosedRange<Double>, ratio: ClosedRange<Double>, rng: inout SplitMix64
    ) -> CropBox {
        precondition(width > 0 && height > 0, "RandomResizedCrop: empty image \(width)x\(height)")
        let area = Double(width * height)
        let logRatio = log(ratio.lowerBound)...log(ratio.upperBound)
        for _ in 0..<10 {
            let targetArea = area * rng.nextUniform(scale.lowerBound, scale.upperBound)
            let aspect = exp(rng.nextUniform(logRatio.lowerBound, logRatio.upperBound))
            let w = Int((targetArea * aspect).squareRoot().rounded(.toNearestOrEven))
            let h = Int((targetArea / aspect).squareRoot().rounded(.toNearestOrEven))
            if w > 0 && w <= width && h > 0 && h <= height {
                let i = rng.nextInt(below: height - h + 1)
                let j = rng.nextInt(below: width - w + 1)
                return CropBox(top: i, left: j, height: h, width: w)
            }
        }
        return centralBox(width: width, height: height, ratio: ratio)
    }

    /// The fallback of `get_params`: the largest central box whose aspect ratio lies in `ratio`.
    ///
    /// Concretely: if W/H < min ratio, w = W and h = round(W / min ratio); if W/H > max ratio, h = H and
    /// w = round(H · max ratio); otherwise the whole image. i = (H − h) / 2, j = (W − w) / 2 (floor).
    package static func centralBox(width: Int, height: Int, ratio: ClosedRange<Double>) -> CropBox {
        let inRatio = Double(width) / Double(height)
        var w = width, h = height
        if inRatio < ratio.lowerBound {
            h = Int((Double(w) / ratio.lowerBound).rounded(.toNearestOrEven))
        } else if inRatio > ratio.upperBound {
            w = Int((Double(h) * ratio.upperBound).rounded(.toNearestOrEven))
        }
        return CropBox(top: (height - h) / 2, left: (width - w) / 2, height: h, width: w)
    }
}

extension RGBImage {
    /// The pixels inside `box`, like PIL's `Image.crop((left, top, left + width, top + height))`.
    /// - Returns: a `box.width × box.height` image.
    package func cropped(to box: CropBox) -> RGBImage {
        precondition(box.top >= 0 && box.left >= 0 && box.height > 0 && box.width > 0
                     && box.top + box.height <= height && box.left + box.width <= width,
                     "RGBImage.cropped: box \(box) outside \(width)x\(height)")
        if box == CropBox(top: 0, left: 0, height: height, width: width) { return self }
        var out = [UInt8](repeating: 0, count: box.width * box.height * 3)
        pixels.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                for y in 0..<box.height {
                    let from = ((box.top + y) * width + box.left) * 3
                    let to = y * box.width * 3
                    for k in 0..<(box.width * 3) { target[to + k] = source[from + k] }
                }
            }
        }
        return RGBImage(width: box.width, height: box.height, pixels: out)
    }

    /// Crop then resize, exactly as torchvision's `F.resized_crop` on a PIL image.
    ///
    /// Concretely: `Image.crop(box)` then `Image.resize((outWidth, outHeight), filter)`; the resize is skipped
    /// when the crop already has the output size (torchvision returns the image unchanged).
    /// - Returns: an `outWidth × outHeight` image.
    package func resizedCrop(_ box: CropBox, outWidth: Int, outHeight: Int, filter: ResampleFilter = .bicubic) -> RGBImage {
        let crop = cropped(to: box)
        if crop.width == outWidth && crop.height == outHeight { return crop }
        return RGBImage(width: outWidth, height: outHeight,
                        pixels: resample(crop.pixels, width: crop.width, height: crop.height, channels: 3,
                                          outWidth: outWidth, outHeight: outHeight, filter: filter))
    }
}
