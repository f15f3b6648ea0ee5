// SPDX-License-Identifier: Apache-2.0
// Hummingbird's evaluation transforms against open-hummingbird-eval's torchvision calls: validation resize (PIL
// bilinear + Normalize with std 0.255 for blue) and mask resize (tensor nearest), and the train-time paired crop
// (antialiased bilinear on the normalised tensor, nearest on the mask tensor).

import CriboData
import CriboTensor
import CriboTestSupport
import Testing

extension AugmentTests {
    /// torch's float32 kernel may contract multiply-adds (FMA) where we do not. Measured ≤ 4.8e-7 (2 ulps of
    /// normalised values near 2).
    static let tensorResampleTolerance: Float = 2e-6

    static func goldenMask(_ g: TensorFile) throws -> IndexImage {
        IndexImage(width: width, height: height, values: try g.integers("labels").map { UInt8($0) })
    }

    @Test(arguments: [32, 64])
    func validationResizeMatchesHummingbird(size: Int) throws {
        let g = try golden("augment.safetensors")
        let image = try Self.goldenImage(g), mask = try Self.goldenMask(g)
        EvaluationTransforms.resizedImage(image, size: size).withUnsafeBufferPointer {
            expectClose($0, try! g.tensor("eval.image.\(size)"), atol: 0, rtol: 0, "val image \(size)")
        }
        let worst = Self.worstByte(EvaluationTransforms.resizedMask(mask, size: size).values, try g.integers("eval.mask.\(size)"))
        #expect(worst == 0, "val mask \(size): max difference \(worst)")
    }

    @Test func trainCropMatchesHummingbird() throws {
        let g = try golden("augment.safetensors")
        let image = try Self.goldenImage(g), mask = try Self.goldenMask(g)
        let tensor = image.normalizedTensor(mean: EvaluationTransforms.hummingbirdMean, std: EvaluationTransforms.hummingbirdStd)
        let boxes = try g.integers("hbcrop.boxes").map { Int($0) }  // [K, 5]: i, j, h, w, size
        for k in 0..<(boxes.count / 5) {
            let b = Array(boxes[(5 * k)..<(5 * k + 5)])
            let box = Self.box(b)
            HummingbirdTransforms.resizedCrop(tensor, width: Self.width, height: Self.height, box: box, size: b[4]).withUnsafeBufferPointer {
                expectClose($0, try! g.tensor("hbcrop.image.\(k)"), atol: Self.tensorResampleTolerance, rtol: 0, "train crop \(b)")
            }
            let worst = Self.worstByte(HummingbirdTransforms.resizedCrop(mask, box: box, size: b[4]).values, try g.integers("hbcrop.mask.\(k)"))
            #expect(worst == 0, "train mask \(b): max difference \(worst)")
        }
    }

    @Test func torchNearestIndexByHand() {
        // 47 → 32: scale = 1.46875; dst 31 → ⌊45.53⌋ = 45 (PIL would read ⌊(31.5)·1.46875⌋ = 46)
        #expect(tensorNearestIndex(31, inSize: 47, outSize: 32) == 45)
        // doubling uses index >> 1; same size is the identity
        #expect(tensorNearestIndex(7, inSize: 4, outSize: 8) == 3)
        #expect(tensorNearestIndex(5, inSize: 9, outSize: 9) == 5)
    }

    @Test func hummingbirdSamplesKeepLabelsAndShapes() throws {
        let g = try golden("augment.safetensors")
        let image = try Self.goldenImage(g), mask = try Self.goldenMask(g)
        var rng = SplitMix64(seed: SplitMix64.mix(3, 1, 4))
        let allowed = Set(mask.values)
        for _ in 0..<20 {
            let parameters = HummingbirdTransforms.sample(width: Self.width, height: Self.height, rng: &rng)
            let (pixels, labels) = HummingbirdTransforms.apply(image, mask: mask, parameters: parameters, size: 24)
            #expect(pixels.count == 3 * 24 * 24 && labels.values.count == 24 * 24)
            #expect(Set(labels.values).isSubset(of: allowed))
        }
    }
}
