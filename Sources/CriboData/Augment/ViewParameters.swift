// SPDX-License-Identifier: Apache-2.0
// The drawn parameters of one augmented view: every random choice, so the pixel operations are pure functions
// of (image, parameters) and can be checked against Pillow/torchvision with fixed values.

/// A crop rectangle in torchvision's `(i, j, h, w)` convention: top row, left column, height, width in pixels.
package struct CropBox: Equatable, Sendable {
    /// First row (torchvision `i`).
    package var top: Int
    /// First column (torchvision `j`).
    package var left: Int
    /// Rows (torchvision `h`).
    package var height: Int
    /// Columns (torchvision `w`).
    package var width: Int

    /// A crop box from torchvision's `(i, j, h, w)`.
    package init(top: Int, left: Int, height: Int, width: Int) {
        self.top = top
        self.left = left
        self.height = height
        self.width = width
    }
}

/// Every random choice of one CrIBo view.
package struct ViewParameters: Equatable, Sendable {
    /// The RandomResizedCrop box in original-image pixels.
    package var crop: CropBox
    /// Whether the view (and its position map) is flipped left-right.
    package var flip: Bool
    /// The colour jitter, or nil when RandomApply skipped it.
    package var jitter: JitterParameters?
    /// Whether the view is converted to 3-channel grayscale.
    package var grayscale: Bool
    /// The Gaussian blur σ (PIL radius), or nil when not blurred.
    package var blurSigma: Double?
    /// Whether the view is solarized (threshold 128).
    package var solarize: Bool

    /// View parameters from their parts.
    package init(crop: CropBox, flip: Bool, jitter: JitterParameters?, grayscale: Bool, blurSigma: Double?, solarize: Bool) {
        self.crop = crop
        self.flip = flip
        self.jitter = jitter
        self.grayscale = grayscale
        self.blurSigma = blurSigma
        self.solarize = solarize
    }
}
