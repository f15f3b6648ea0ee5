// SPDX-License-Identifier: Apache-2.0
// Draws every random choice of one CrIBo view from a SplitMix64 stream, with torchvision/DINO semantics for
// each decision: RandomResizedCrop.get_params, flip when u < p, RandomApply(ColorJitter) when u ≤ p (then a
// random order and the four factors), grayscale when u < p, DINO's GaussianBlur when u ≤ p (then σ), DINO's
// Solarization when u < p (no draw at all for a view with probability 0, as view 1 has no such transform).
// The draws are in that order, so the parameters are a pure function of the generator state.

import CriboTensor

/// Samples the parameters of one CrIBo view.
package enum ViewSampler {
    /// The parameters of view `view` (0 or 1) of a `width × height` image.
    ///
    /// Concretely: crop (≥ 2 draws per try), flip (1), jitter gate (1; if applied 3 for the order and 4 for the
    /// factors b, c, s ~ U(max(0, 1 − x), 1 + x), h ~ U(−hue, hue)), grayscale (1), blur gate (1; if applied 1
    /// for σ), solarize (1 if its probability is positive).
    package static func sample(
        view: Int, width: Int, height: Int, configuration: AugmentationConfiguration, rng: inout SplitMix64
    ) -> ViewParameters {
        precondition(view == 0 || view == 1, "ViewSampler: view \(view) is not 0 or 1")
        let c = configuration
        let crop = RandomResizedCrop.sampleBox(width: width, height: height, scale: c.cropScale, ratio: c.cropRatio, rng: &rng)
        let flip = rng.nextUniform() < c.flipProbability
        var jitter: JitterParameters?
        if rng.nextUniform() <= c.jitterProbability {
            var order = [0, 1, 2, 3]
            for k in stride(from: 3, to: 0, by: -1) { order.swapAt(k, rng.nextInt(below: k + 1)) }
            jitter = JitterParameters(
                order: order,
                brightness: rng.nextUniform(max(0, 1 - c.brightness), 1 + c.brightness),
                contrast: rng.nextUniform(max(0, 1 - c.contrast), 1 + c.contrast),
                saturation: rng.nextUniform(max(0, 1 - c.saturation), 1 + c.saturation),
                hue: rng.nextUniform(-c.hue, c.hue))
        }
        let grayscale = rng.nextUniform() < c.grayscaleProbability
        var blurSigma: Double?
        if rng.nextUniform() <= c.blurProbability[view] {
            blurSigma = rng.nextUniform(c.blurSigma.lowerBound, c.blurSigma.upperBound)
        }
        let solarize = c.solarizeProbability[view] > 0 && rng.nextUniform() < c.solarizeProbability[view]
        return ViewParameters(crop: crop, flip: flip, jitter: jitter, grayscale: grayscale, blurSigma: blurSigma, solarize: solarize)
    }
}
