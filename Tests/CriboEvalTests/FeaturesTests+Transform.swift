// SPDX-License-Identifier: Apache-2.0
// The pixel transforms of feature extraction, checked by hand: the normalisation numbers (and the hummingbird
// std typo), torchvision get_params' central fallback and the bounds of sampled crops, and crops as a pure
// function of (seed, epoch, image).

import CriboData
import CriboEval
import CriboTensor
import Testing

extension FeaturesTests {
    @Test func normalisationUsesTheImageNetOrHummingbirdStatistics() {
        // One pixel (255, 0, 51): R (1 − 0.485)/0.229, G (0 − 0.456)/0.224, B (0.2 − 0.406)/0.225 or /0.255.
        let image = RGBImage(width: 1, height: 1, pixels: [255, 0, 51])
        var output = [Float](repeating: 0, count: 3)
        output.withUnsafeMutableBufferPointer { EvaluationTransform.normalize(output: $0.baseAddress!, image: image, normalization: .imagenet) }
        let tolerance: Float = 1e-6
        #expect(abs(output[0] - (1 - 0.485) / 0.229) < tolerance && abs(output[1] - (0 - 0.456) / 0.224) < tolerance)
        #expect(abs(output[2] - (0.2 - 0.406) / 0.225) < tolerance)
        output.withUnsafeMutableBufferPointer { EvaluationTransform.normalize(output: $0.baseAddress!, image: image, normalization: .hummingbird) }
        #expect(abs(output[2] - (0.2 - 0.406) / 0.255) < tolerance)
    }

    @Test func centralFallbackFollowsGetParams() {
        // 100×50 is wider than 4/3: h = 50, w = round(50·4/3) = 67, left = (100 − 67)/2 = 16.
        #expect(ResizedCropBox.central(width: 100, height: 50) == ResizedCropBox(top: 0, left: 16, height: 50, width: 67))
        // 50×100 is narrower than 3/4: w = 50, h = round(50/(3/4)) = 67, top = 16.
        #expect(ResizedCropBox.central(width: 50, height: 100) == ResizedCropBox(top: 16, left: 0, height: 67, width: 50))
        #expect(ResizedCropBox.central(width: 40, height: 40) == ResizedCropBox(top: 0, left: 0, height: 40, width: 40))
        // Areas of 3–4 times the image never fit: every try is rejected.
        var rng = SplitMix64(seed: 3)
        #expect(ResizedCropBox.sample(width: 100, height: 50, scale: (3, 4), rng: &rng) == ResizedCropBox.central(width: 100, height: 50))
    }

    @Test func sampledCropsStayInsideWithTheirAreaAndAspect() {
        var fallbacks = 0
        for index in 0..<500 {
            let box = ResizedCropBox.forImage(width: 100, height: 100, seed: 1, epoch: 0, index: index)
            #expect(box.top >= 0 && box.left >= 0 && box.top + box.height <= 100 && box.left + box.width <= 100, "\(box)")
            if box == ResizedCropBox.central(width: 100, height: 100) { fallbacks += 1; continue }
            // area ≥ 0.5·W·H up to the rounding of w and h (at most ½ each), aspect within [3/4, 4/3] up to rounding.
            #expect(box.width * box.height >= 4900, "\(box)")
            let aspect = Double(box.width) / Double(box.height)
            #expect(aspect >= 0.74 && aspect <= 1.36, "\(box)")
            #expect(box == ResizedCropBox.forImage(width: 100, height: 100, seed: 1, epoch: 0, index: index))
        }
        // A try fits when scale ≤ min(ρ, 1/ρ): P ≈ 0.25, so 10 failures in a row have P ≈ 0.75¹⁰ ≈ 0.056 (≈ 28 of 500).
        #expect(fallbacks > 5 && fallbacks < 60, "\(fallbacks) fallbacks in 500")
        let crops = (0..<4).map { ResizedCropBox.forImage(width: 100, height: 100, seed: 1, epoch: $0, index: 0) }
        #expect(Set(crops.map { "\($0)" }).count > 1, "epochs draw different crops: \(crops)")
    }
}
