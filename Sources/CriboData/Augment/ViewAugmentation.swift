// SPDX-License-Identifier: Apache-2.0
// One CrIBo view from an image and its drawn parameters, in the official order: PIL crop + bicubic resize of
// the uint8 image, flip, colour jitter, grayscale, Gaussian blur, solarize (all on uint8 like PIL), then
// ToTensor + Normalize; and the view's position map (same box, tensor bicubic, same flip).
// reference: https://github.com/tileb1/CrIBo main_cribo.py DataAugmentationCrIBo.__call__

import CriboTensor

/// One augmented view and where its pixels came from.
package struct AugmentedView: Equatable, Sendable {
    /// The normalised view, [3, S, S] channel-first.
    package var pixels: [Float]
    /// The original-image position of every pixel, [2, S, S]: channel 0 = x (column), 1 = y (row).
    package var positions: [Float]

    /// A view from its parts.
    package init(pixels: [Float], positions: [Float]) {
        self.pixels = pixels
        self.positions = positions
    }
}

/// CrIBo's per-view augmentation pipeline.
package enum ViewAugmentation {
    /// The view of `image` described by `parameters`.
    /// - Returns: pixels [3, S, S] and positions [2, S, S] with S = `configuration.outputSize`.
    package static func apply(
        _ image: RGBImage, parameters: ViewParameters, configuration: AugmentationConfiguration
    ) -> AugmentedView {
        let size = configuration.outputSize
        return finish(image.resizedCrop(parameters.crop, outWidth: size, outHeight: size, filter: .bicubic),
                      parameters: parameters, configuration: configuration)
    }

    /// The view of an image that was decoded at reduced scale (libjpeg DCT scaling): the crop box, in full-resolution
    /// pixels, is mapped by `sourceScale` (decoded size / full size) and resampled as a box (not bit-identical to a
    /// full decode; positions still come from the full-resolution box).
    package static func apply(
        _ image: RGBImage, parameters: ViewParameters, configuration: AugmentationConfiguration, sourceScale: (Double, Double)
    ) -> AugmentedView {
        let size = configuration.outputSize, box = parameters.crop, (sx, sy) = sourceScale
        let pixels = resample(image.pixels, width: image.width, height: image.height, channels: 3, outWidth: size, outHeight: size,
            filter: .bicubic, box: (Double(box.left) * sx, Double(box.top) * sy, Double(box.left + box.width) * sx, Double(box.top + box.height) * sy))
        return finish(RGBImage(width: size, height: size, pixels: pixels), parameters: parameters, configuration: configuration)
    }

    /// Everything after the crop: flip, colour jitter, grayscale, blur, solarize, ToTensor + Normalize, positions.
    private static func finish(_ cropped: RGBImage, parameters: ViewParameters, configuration: AugmentationConfiguration) -> AugmentedView {
        var view = cropped
        if parameters.flip { view = view.horizontallyFlipped() }
        if let jitter = parameters.jitter { view = view.jittered(jitter) }
        if parameters.grayscale { view = view.grayscaled() }
        if let sigma = parameters.blurSigma { view = view.gaussianBlurred(sigma: sigma) }
        if parameters.solarize { view = view.solarized() }
        return AugmentedView(
            pixels: view.normalizedTensor(mean: configuration.mean, std: configuration.std),
            positions: positionMap(crop: parameters.crop, size: configuration.outputSize, flip: parameters.flip))
    }

    /// Both views of `image`: view 1's parameters are drawn first, then view 2's, from the same generator.
    /// - Returns: [view 1, view 2].
    package static func twoViews(
        _ image: RGBImage, configuration: AugmentationConfiguration, rng: inout SplitMix64
    ) -> [AugmentedView] {
        (0..<2).map { view in
            let parameters = ViewSampler.sample(view: view, width: image.width, height: image.height,
                                                configuration: configuration, rng: &rng)
            return apply(image, parameters: parameters, configuration: configuration)
        }
    }
}
