// SPDX-License-Identifier: Apache-2.0
// Position maps against the official construction (torchvision's tensor resized_crop of an arange map, bicubic,
// antialiased, then hflip) and their per-patch means, plus properties: monotonic, centred on the crop box, close to
// the closed form of the spec (§3.3), flip an involution.

import CriboData
import CriboTensor
import CriboTestSupport
import Testing

extension AugmentTests {
    /// torch runs a second (vertical) pass whose float32 weights sum to 1 within rounding; we broadcast the 1-D
    /// result. Measured: ≤ 1.9e-5 px on the 61x47 boxes, 9.2e-5 px (3 ulps at 400 px) on the 500x375 row.
    static let positionTolerance: Float = 2e-4

    static func box(_ b: [Int]) -> CropBox { CropBox(top: b[0], left: b[1], height: b[2], width: b[3]) }

    @Test func positionMapsMatchTheOfficialTensorPath() throws {
        let g = try golden("augment.safetensors")
        let boxes = try g.integers("pos.boxes").map { Int($0) }  // [K, 6]: i, j, h, w, size, flip
        for k in 0..<(boxes.count / 6) {
            let b = Array(boxes[(6 * k)..<(6 * k + 6)])
            let ours = positionMap(crop: Self.box(b), size: b[4], flip: b[5] == 1)
            ours.withUnsafeBufferPointer { expectClose($0, try! g.tensor("pos.\(k)"), atol: Self.positionTolerance, rtol: 0, "pos \(b)") }
            let patches = perPatchPositions(ours, size: b[4], patch: 8)
            patches.withUnsafeBufferPointer { expectClose($0, try! g.tensor("patches.\(k)"), atol: Self.positionTolerance, rtol: 0, "patches \(b)") }
            // torchvision < 0.17 resized tensors without antialiasing (Keys a = −0.75, clamped borders): the official
            // maps of those versions differ from ours by at most 0.134 px on these boxes (measured), nowhere more.
            ours.withUnsafeBufferPointer { expectClose($0, try! g.tensor("pos_noaa.\(k)"), atol: 0.14, rtol: 0, "pos no-antialias \(b)") }
        }
    }

    @Test func realisticPositionMapMatchesPerPatch() throws {
        let g = try golden("augment.safetensors")
        let b = try g.integers("pos_large.box").map { Int($0) }  // a 500x375 image, 224 output, flipped
        let ours = positionMap(crop: Self.box(b), size: b[4], flip: b[5] == 1)
        Array(ours[0..<224] + ours[(224 * 224)..<(224 * 225)]).withUnsafeBufferPointer {
            expectClose($0, try! g.tensor("pos_large.row0"), atol: Self.positionTolerance, rtol: 0, "first row")
        }
        perPatchPositions(ours, size: 224, patch: 16).withUnsafeBufferPointer {
            expectClose($0, try! g.tensor("pos_large.patches"), atol: Self.positionTolerance, rtol: 0, "per-patch")
        }
    }

    @Test func perPatchMeansByHand() {
        // a 4x4 map with x = column, y = 10·row; 2x2 patches: x means 0.5, 2.5; y means 5, 25
        var map = [Float](repeating: 0, count: 32)
        for r in 0..<4 { for c in 0..<4 { map[r * 4 + c] = Float(c); map[16 + r * 4 + c] = Float(10 * r) } }
        #expect(perPatchPositions(map, size: 4, patch: 2) == [0.5, 2.5, 0.5, 2.5, 5, 5, 25, 25])
    }

    @Test func unflippedMapIsMonotonicAndCentredOnTheCrop() {
        var rng = SplitMix64(seed: SplitMix64.mix(7, 1))
        for _ in 0..<40 {
            let crop = RandomResizedCrop.sampleBox(width: 500, height: 375, scale: 0.25...1, ratio: 0.75...(4.0 / 3), rng: &rng)
            let map = positionMap(crop: crop, size: 224, flip: false)
            let x = Array(map[0..<224]), y = (0..<224).map { map[224 * 224 + $0 * 224] }
            #expect(zip(x, x.dropFirst()).allSatisfy { $0 < $1 }, "x not increasing for \(crop)")
            #expect(zip(y, y.dropFirst()).allSatisfy { $0 < $1 }, "y not increasing for \(crop)")
            // output pixel centres sample the box [left − 0.5, left + width − 0.5] in input pixel-centre units
            #expect(x.first! >= Float(crop.left) - 0.5 && x.last! <= Float(crop.left + crop.width) - 0.5, "x outside \(crop)")
            // mean over the view = centre of the box (pixel centres are integers, so left − 0.5 + w/2)
            let meanX = x.reduce(0, +) / 224, meanY = y.reduce(0, +) / 224
            #expect(abs(Double(meanX) - (Double(crop.left) - 0.5 + Double(crop.width) / 2)) < 0.5, "mean x \(meanX) for \(crop)")
            #expect(abs(Double(meanY) - (Double(crop.top) - 0.5 + Double(crop.height) / 2)) < 0.5, "mean y \(meanY) for \(crop)")
            // spec §3.3 closed form per patch: x = j − 0.5 + (c + 0.5)·w/14 (c' = 13 − c when flipped)
            for flip in [false, true] {
                let patches = perPatchPositions(positionMap(crop: crop, size: 224, flip: flip), size: 224, patch: 16)
                var worst = 0.0
                for r in 0..<14 {
                    for c in 0..<14 {
                        let cc = flip ? 13 - c : c
                        let cx = Double(crop.left) - 0.5 + (Double(cc) + 0.5) * Double(crop.width) / 14
                        let cy = Double(crop.top) - 0.5 + (Double(r) + 0.5) * Double(crop.height) / 14
                        worst = max(worst, abs(Double(patches[r * 14 + c]) - cx), abs(Double(patches[196 + r * 14 + c]) - cy))
                    }
                }
                #expect(worst < 1, "closed form off by \(worst) px for \(crop) flip \(flip)")
            }
        }
    }

    @Test func flippingPositionsTwiceIsTheIdentity() {
        let map = positionMap(crop: CropBox(top: 3, left: 20, height: 44, width: 17), size: 24, flip: false)
        var twice = map
        flipHorizontally(&twice, width: 24, height: 24)
        #expect(twice == positionMap(crop: CropBox(top: 3, left: 20, height: 44, width: 17), size: 24, flip: true))
        flipHorizontally(&twice, width: 24, height: 24)
        #expect(twice == map)
    }

    @Test func centerCropMatchesTorchvision() throws {
        let g = try golden("augment.safetensors")
        let image = try Self.goldenImage(g)
        // (61 − 24)/2 = 18.5 → 18 and (47 − 24)/2 = 11.5 → 12: Python's half-even round
        let box = EvaluationTransforms.centerCropBox(width: 61, height: 47, size: 24)
        #expect(box == CropBox(top: 12, left: 18, height: 24, width: 24))
        #expect(Self.worstByte(image.cropped(to: box).pixels, try g.integers("center.image")) == 0)
        EvaluationTransforms.centerCropPositions(width: 61, height: 47, size: 24).withUnsafeBufferPointer {
            expectClose($0, try! g.tensor("center.pos"), atol: 0, rtol: 0, "center crop positions")
        }
    }
}
