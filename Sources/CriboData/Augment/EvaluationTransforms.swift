// SPDX-License-Identifier: Apache-2.0
// Deterministic evaluation transforms. Hummingbird validation (open-hummingbird-eval get_hbird_val_transforms):
// the image is resized to S×S with PIL's bilinear filter (PIL always antialiases; torchvision's F.resize on a PIL
// image calls Image.resize), then ToTensor + Normalize; the mask is ToTensor'd and resized as a tensor with
// torch's legacy "nearest" rule, src = ⌊dst · in/out⌋ (not PIL's ⌊(dst + 0.5) · in/out⌋). And torchvision's
// CenterCrop box (CrIBo's CenterCropWithPos crops the image and the position map with it).
// reference: torchvision functional.py center_crop, resize; open-hummingbird-eval hbird/utils/image_transformations.py

/// Hummingbird's and torchvision's deterministic evaluation transforms.
package enum EvaluationTransforms {
    /// Hummingbird's normalisation mean.
    package static let hummingbirdMean: [Float] = [0.485, 0.456, 0.406]
    /// Hummingbird's normalisation std, with its 0.255 for blue (sic, a typo in their code kept for parity).
    package static let hummingbirdStd: [Float] = [0.229, 0.224, 0.255]

    /// The image resized to `size × size` with PIL bilinear and normalised, as Hummingbird's validation.
    /// - Returns: [3, size, size].
    package static func resizedImage(_ image: RGBImage, size: Int, mean: [Float] = hummingbirdMean,
                                     std: [Float] = hummingbirdStd) -> [Float] {
        let full = CropBox(top: 0, left: 0, height: image.height, width: image.width)
        return image.resizedCrop(full, outWidth: size, outHeight: size, filter: .bilinear).normalizedTensor(mean: mean, std: std)
    }

    /// The mask resized to `size × size` with torch's nearest rule, as Hummingbird's validation.
    package static func resizedMask(_ mask: IndexImage, size: Int) -> IndexImage {
        IndexImage(width: size, height: size,
                   values: resampleNearestLikeTorch(mask.values, width: mask.width, height: mask.height, outWidth: size, outHeight: size))
    }

    /// torchvision's CenterCrop box: top = round((H − size)/2), left = round((W − size)/2) with Python's
    /// half-even round.
    package static func centerCropBox(width: Int, height: Int, size: Int) -> CropBox {
        precondition(size > 0 && size <= width && size <= height, "centerCropBox: \(size) from \(width)x\(height)")
        let top = Int((Double(height - size) / 2).rounded(.toNearestOrEven))
        let left = Int((Double(width - size) / 2).rounded(.toNearestOrEven))
        return CropBox(top: top, left: left, height: size, width: size)
    }

    /// The position map of a center crop without resizing (CrIBo's CenterCropWithPos).
    /// - Returns: [2, size, size]: x = left + c, y = top + r.
    package static func centerCropPositions(width: Int, height: Int, size: Int) -> [Float] {
        positionMap(crop: centerCropBox(width: width, height: height, size: size), size: size, flip: false)
    }
}
