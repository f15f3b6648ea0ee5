// SPDX-License-Identifier: Apache-2.0
// The settings of CrIBo's two-view augmentation (DataAugmentationCrIBo in main_cribo.py), with the official values
// as defaults. Per-view settings are two-element arrays indexed by the view (0 = view 1, 1 = view 2).

/// The settings of CrIBo's two-view augmentation; the defaults are the official ones.
///
/// Concretely: RandomResizedCrop(outputSize, scale: cropScale, ratio: cropRatio, BICUBIC), flip with
/// `flipProbability`, ColorJitter(brightness, contrast, saturation, hue) applied with `jitterProbability`,
/// grayscale with `grayscaleProbability`, PIL Gaussian blur (σ ~ U(blurSigma)) with `blurProbability[view]`,
/// solarize with `solarizeProbability[view]`, then ToTensor and Normalize(mean, std).
/// reference: https://github.com/tileb1/CrIBo main_cribo.py DataAugmentationCrIBo
package struct AugmentationConfiguration: Codable, Equatable, Sendable {
    /// Side of the square output view in pixels.
    package var outputSize: Int = 224
    /// Range of the crop area as a fraction of the image area (CrIBo's `global_crops_scale`).
    package var cropScale: ClosedRange<Double> = 0.25...1.0
    /// Range of the crop aspect ratio width/height, sampled log-uniformly.
    package var cropRatio: ClosedRange<Double> = (3.0 / 4.0)...(4.0 / 3.0)
    /// Probability of a horizontal flip.
    package var flipProbability: Double = 0.5
    /// Probability that the colour jitter is applied at all (RandomApply).
    package var jitterProbability: Double = 0.8
    /// Brightness jitter strength: factor ~ U(1 − b, 1 + b).
    package var brightness: Double = 0.4
    /// Contrast jitter strength: factor ~ U(1 − c, 1 + c).
    package var contrast: Double = 0.4
    /// Saturation jitter strength: factor ~ U(1 − s, 1 + s).
    package var saturation: Double = 0.2
    /// Hue jitter strength: shift ~ U(−h, h), in turns.
    package var hue: Double = 0.1
    /// Probability of converting to 3-channel grayscale.
    package var grayscaleProbability: Double = 0.2
    /// Probability of the Gaussian blur for view 1 and view 2 (applied when u ≤ p, as DINO's GaussianBlur).
    package var blurProbability: [Double] = [1.0, 0.1]
    /// Range of the blur σ (PIL radius).
    package var blurSigma: ClosedRange<Double> = 0.1...2.0
    /// Probability of solarization for view 1 and view 2 (view 1 has no Solarization transform: no draw when 0).
    package var solarizeProbability: [Double] = [0.0, 0.2]
    /// Per-channel mean subtracted after ToTensor (float32, as torchvision's Normalize).
    package var mean: [Float] = [0.485, 0.456, 0.406]
    /// Per-channel standard deviation divided by after the mean.
    package var std: [Float] = [0.229, 0.224, 0.225]

    /// The official CrIBo settings.
    package init() {}
}
