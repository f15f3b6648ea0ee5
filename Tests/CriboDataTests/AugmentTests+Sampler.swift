// SPDX-License-Identifier: Apache-2.0
// The view sampler: a pure function of the generator state, torchvision's scale/ratio bounds and central-crop
// fallback, and CrIBo's view asymmetry (view 1 always blurred and never solarized).

import CriboData
import CriboTensor
import CriboTestSupport
import Testing

extension AugmentTests {
    @Test func sameSeedGivesTheSameParameters() {
        let configuration = AugmentationConfiguration()
        for index in 0..<20 {
            var a = SplitMix64(seed: SplitMix64.mix(42, 3, UInt64(index)))
            var b = SplitMix64(seed: SplitMix64.mix(42, 3, UInt64(index)))
            for view in 0..<2 {
                let first = ViewSampler.sample(view: view, width: 500, height: 375, configuration: configuration, rng: &a)
                let second = ViewSampler.sample(view: view, width: 500, height: 375, configuration: configuration, rng: &b)
                #expect(first == second)
            }
            #expect(a.state == b.state)
        }
        var c = SplitMix64(seed: 1), d = SplitMix64(seed: 2)
        #expect(ViewSampler.sample(view: 0, width: 500, height: 375, configuration: configuration, rng: &c)
                != ViewSampler.sample(view: 0, width: 500, height: 375, configuration: configuration, rng: &d))
    }

    @Test(arguments: [(500, 375), (375, 500), (61, 47), (224, 224)])
    func cropsRespectScaleAndRatio(width: Int, height: Int) {
        var rng = SplitMix64(seed: SplitMix64.mix(11, UInt64(width), UInt64(height)))
        let area = Double(width * height)
        for _ in 0..<500 {
            let b = RandomResizedCrop.sampleBox(width: width, height: height, scale: 0.25...1, ratio: 0.75...(4.0 / 3), rng: &rng)
            #expect(b.top >= 0 && b.left >= 0 && b.top + b.height <= height && b.left + b.width <= width, "\(b)")
            if b == RandomResizedCrop.centralBox(width: width, height: height, ratio: 0.75...(4.0 / 3)) { continue }
            // w = round(√(a·r)) and h = round(√(a/r)) are within 0.5 of the drawn values
            let w = Double(b.width), h = Double(b.height)
            #expect((w + 0.5) * (h + 0.5) >= 0.25 * area && (w - 0.5) * (h - 0.5) <= area, "area of \(b)")
            #expect((w + 0.5) / (h - 0.5) >= 0.75 && (w - 0.5) / (h + 0.5) <= 4.0 / 3, "ratio of \(b)")
        }
    }

    @Test func extremeAspectRatiosFallBackToTheClampedCentralCrop() {
        var rng = SplitMix64(seed: 5)
        // 500x20: even the smallest area 0.25·10000 needs h ≥ √(2500·3/4) ≈ 43 > 20, so all 10 tries fail;
        // W/H = 25 > 4/3 ⇒ h = 20, w = round(20·4/3) = 27, i = 0, j = (500 − 27)/2 = 236.
        let wide = RandomResizedCrop.sampleBox(width: 500, height: 20, scale: 0.25...1, ratio: 0.75...(4.0 / 3), rng: &rng)
        #expect(wide == CropBox(top: 0, left: 236, height: 20, width: 27))
        // 20x500: W/H < 3/4 ⇒ w = 20, h = round(20/(3/4)) = 27, i = 236, j = 0.
        let tall = RandomResizedCrop.sampleBox(width: 20, height: 500, scale: 0.25...1, ratio: 0.75...(4.0 / 3), rng: &rng)
        #expect(tall == CropBox(top: 236, left: 0, height: 27, width: 20))
        // Hummingbird's scale (0.5, 2): areas above the image never fit; a 4:3 image may still fall back to itself
        for _ in 0..<200 {
            let b = RandomResizedCrop.sampleBox(width: 61, height: 47, scale: HummingbirdTransforms.cropScale,
                                                ratio: HummingbirdTransforms.cropRatio, rng: &rng)
            #expect(b.top + b.height <= 47 && b.left + b.width <= 61, "\(b)")
        }
    }

    @Test func viewAsymmetryAndProbabilities() {
        let configuration = AugmentationConfiguration()
        var rng = SplitMix64(seed: SplitMix64.mix(2024, 0))
        let n = 4000
        var counts = [String: Int]()
        for _ in 0..<n {
            let v1 = ViewSampler.sample(view: 0, width: 500, height: 375, configuration: configuration, rng: &rng)
            let v2 = ViewSampler.sample(view: 1, width: 500, height: 375, configuration: configuration, rng: &rng)
            #expect(v1.blurSigma != nil && !v1.solarize, "view 1 must always blur and never solarize")
            for sigma in [v1.blurSigma, v2.blurSigma].compactMap({ $0 }) { #expect(sigma >= 0.1 && sigma < 2.0) }
            if let j = v1.jitter {
                #expect(j.order.sorted() == [0, 1, 2, 3])
                #expect(j.brightness >= 0.6 && j.brightness < 1.4 && j.contrast >= 0.6 && j.contrast < 1.4)
                #expect(j.saturation >= 0.8 && j.saturation < 1.2 && abs(j.hue) <= 0.1)
            }
            counts["blur2", default: 0] += v2.blurSigma != nil ? 1 : 0
            counts["solarize2", default: 0] += v2.solarize ? 1 : 0
            counts["jitter", default: 0] += v1.jitter != nil ? 1 : 0
            counts["gray", default: 0] += v1.grayscale ? 1 : 0
            counts["flip", default: 0] += v1.flip ? 1 : 0
        }
        // 5 standard deviations of a binomial frequency at n = 4000 is at most 0.04
        for (name, p) in [("blur2", 0.1), ("solarize2", 0.2), ("jitter", 0.8), ("gray", 0.2), ("flip", 0.5)] {
            let frequency = Double(counts[name]!) / Double(n)
            #expect(abs(frequency - p) < 0.04, "\(name): \(frequency) vs \(p)")
        }
    }

    @Test func twoViewsAreDeterministicAndShaped() {
        var pixels = [UInt8](repeating: 0, count: 80 * 60 * 3)
        var source = SplitMix64(seed: 9)
        for k in pixels.indices { pixels[k] = UInt8(source.nextInt(below: 256)) }
        let image = RGBImage(width: 80, height: 60, pixels: pixels)
        var configuration = AugmentationConfiguration()
        configuration.outputSize = 32
        var a = SplitMix64(seed: 77), b = SplitMix64(seed: 77)
        let first = ViewAugmentation.twoViews(image, configuration: configuration, rng: &a)
        let second = ViewAugmentation.twoViews(image, configuration: configuration, rng: &b)
        #expect(first == second)
        #expect(first.count == 2 && first.allSatisfy { $0.pixels.count == 3 * 32 * 32 && $0.positions.count == 2 * 32 * 32 })
    }

    @Test func viewAugmentationComposesTheSteps() throws {
        let g = try golden("augment.safetensors")
        let image = try Self.goldenImage(g)
        var configuration = AugmentationConfiguration()
        configuration.outputSize = 24
        let crop = CropBox(top: 5, left: 7, height: 30, width: 40)
        let jitter = JitterParameters(order: [3, 0, 2, 1], brightness: 1.21, contrast: 0.72, saturation: 1.14, hue: -0.06)
        let parameters = ViewParameters(crop: crop, flip: true, jitter: jitter, grayscale: false, blurSigma: 0.55, solarize: true)
        let view = ViewAugmentation.apply(image, parameters: parameters, configuration: configuration)
        let expected = image.resizedCrop(crop, outWidth: 24, outHeight: 24).horizontallyFlipped().jittered(jitter)
            .gaussianBlurred(sigma: 0.55).solarized().normalizedTensor(mean: configuration.mean, std: configuration.std)
        #expect(view.pixels == expected)
        #expect(view.positions == positionMap(crop: crop, size: 24, flip: true))
        // the crop step alone is the golden torchvision crop.0 (same box, 24x24)
        #expect(Self.worstByte(image.resizedCrop(crop, outWidth: 24, outHeight: 24).pixels, try g.integers("crop.0")) == 0)
    }
}
