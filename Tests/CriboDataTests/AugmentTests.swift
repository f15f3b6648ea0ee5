// SPDX-License-Identifier: Apache-2.0
// The uint8 pixel operations of CrIBo's augmentation against torchvision 0.28 / Pillow with fixed parameters
// (goldens from make_augment_golden.py): crop + bicubic resize, flip, brightness/contrast/saturation/hue alone
// and in two ColorJitter orders, grayscale, Pillow's box-approximated Gaussian blur, solarize — all byte-exact —
// and ToTensor + Normalize, bit-exact in float32.

import CCriboShims
import CriboData
import CriboTensor
import CriboTestSupport
import Foundation
import Testing

@Suite struct AugmentTests {}

extension AugmentTests {
    static let width = 61, height = 47

    /// The golden's textured 61x47 input.
    static func goldenImage(_ g: TensorFile) throws -> RGBImage {
        RGBImage(width: width, height: height, pixels: try g.integers("image").map { UInt8($0) })
    }

    /// Largest absolute byte difference (Int.max on a size mismatch).
    static func worstByte(_ actual: [UInt8], _ expected: [Int64]) -> Int {
        guard actual.count == expected.count else { return Int.max }
        return zip(actual, expected).map { abs(Int($0) - Int($1)) }.max() ?? 0
    }

    @Test func cropAndResizeMatchTorchvisionExactly() throws {
        let g = try golden("augment.safetensors")
        let image = try Self.goldenImage(g)
        let boxes = try g.integers("crop.boxes").map { Int($0) }  // [K, 5]: i, j, h, w, size
        for k in 0..<(boxes.count / 5) {
            let b = Array(boxes[(5 * k)..<(5 * k + 5)])
            let ours = image.resizedCrop(CropBox(top: b[0], left: b[1], height: b[2], width: b[3]), outWidth: b[4], outHeight: b[4])
            let worst = Self.worstByte(ours.pixels, try g.integers("crop.\(k)"))
            #expect(worst == 0, "crop \(b): max byte difference \(worst)")
        }
    }

    @Test func flipMatchesTorchvisionAndIsAnInvolution() throws {
        let g = try golden("augment.safetensors")
        let image = try Self.goldenImage(g)
        #expect(Self.worstByte(image.horizontallyFlipped().pixels, try g.integers("flip")) == 0)
        #expect(image.horizontallyFlipped().horizontallyFlipped() == image)
    }

    static let factors: [(String, [Double])] = [
        ("brightness", [0.0, 0.6, 0.83, 1.0, 1.27, 1.4]),
        ("contrast", [0.6, 0.91, 1.33, 1.4]),
        ("saturation", [0.0, 0.8, 0.95, 1.2]),
        ("hue", [-0.1, -0.037, 0.0, 0.05, 0.1]),
    ]

    @Test func colourOperationsMatchPillowExactly() throws {
        let g = try golden("augment.safetensors")
        let image = try Self.goldenImage(g)
        for (name, values) in Self.factors {
            for factor in values {
                let ours: RGBImage
                switch name {
                case "brightness": ours = image.brightnessAdjusted(factor)
                case "contrast": ours = image.contrastAdjusted(factor)
                case "saturation": ours = image.saturationAdjusted(factor)
                default:
                    ours = image.hueAdjusted(factor)
                    #expect(image.hueAdjusted(factor, kernels: .scalarReference) == ours, "hue \(factor): Swift and C agree")
                }
                let worst = Self.worstByte(ours.pixels, try g.integers("\(name).\(factor)"))
                #expect(worst == 0, "\(name) \(factor): max byte difference \(worst)")
            }
        }
    }

    @Test func colourJitterInTwoOrdersMatchesTorchvision() throws {
        let g = try golden("augment.safetensors")
        let image = try Self.goldenImage(g)
        let params = try g.doubles("jitter.params")  // [K, 8]: order (4), b, c, s, h
        for k in 0..<(params.count / 8) {
            let p = Array(params[(8 * k)..<(8 * k + 8)])
            let jitter = JitterParameters(order: p[0..<4].map { Int($0) }, brightness: p[4], contrast: p[5], saturation: p[6], hue: p[7])
            let worst = Self.worstByte(image.jittered(jitter).pixels, try g.integers("jitter.\(k)"))
            #expect(worst == 0, "jitter \(p): max byte difference \(worst)")
        }
    }

    @Test func grayscaleAndSolarizeMatchPillow() throws {
        let g = try golden("augment.safetensors")
        let image = try Self.goldenImage(g)
        #expect(Self.worstByte(image.grayscaled().pixels, try g.integers("grayscale")) == 0)
        #expect(Self.worstByte(image.solarized().pixels, try g.integers("solarize")) == 0)
        // solarize by hand: 127 stays, 128 → 127, 255 → 0
        let tiny = RGBImage(width: 1, height: 1, pixels: [127, 128, 255])
        #expect(tiny.solarized().pixels == [127, 127, 0])
    }

    @Test(arguments: ImageKernels.allCases)
    func gaussianBlurMatchesPillowBoxApproximationExactly(kernels: ImageKernels) throws {
        let g = try golden("augment.safetensors")
        let image = try Self.goldenImage(g)
        let sigmas = try g.doubles("blur.sigmas")
        for (k, sigma) in sigmas.enumerated() {
            let worst = Self.worstByte(image.gaussianBlurred(sigma: sigma, kernels: kernels).pixels, try g.integers("blur.\(k)"))
            #expect(worst == 0, "blur sigma \(sigma) \(kernels): max byte difference \(worst)")
        }
    }

    /// The C box passes (clamped rows, AVX-512/AVX2 with scalar tails) against Pillow's running-sum line blur in
    /// Swift, on random images from 1×1 up, including images narrower than the box and radii up to 40.
    @Test func gaussianBlurKernelsEqualTheScalarReference() {
        var rng = SplitMix64(seed: 31)
        for trial in 0..<200 {
            let width = 1 + rng.nextInt(below: trial < 80 ? 6 : 120), height = 1 + rng.nextInt(below: trial < 80 ? 6 : 120)
            let image = RGBImage(width: width, height: height,
                                 pixels: (0..<(width * height * 3)).map { _ in UInt8(truncatingIfNeeded: rng.nextInt(below: 256)) })
            let sigma = trial % 10 == 9 ? rng.nextUniform(2, 40) : rng.nextUniform(0.05, 2.5)
            let reference = image.gaussianBlurred(sigma: sigma, kernels: .scalarReference)
            for level in [2, 1, 0] {  // AVX-512, AVX2, scalar C (as far as this CPU has them)
                cribo_simd_limit(Int32(level))
                defer { cribo_simd_limit(2) }
                let differing = zip(image.gaussianBlurred(sigma: sigma, kernels: .simd).pixels, reference.pixels).filter { $0 != $1 }.count
                #expect(differing == 0, "trial \(trial), SIMD level \(level): \(width)x\(height) sigma \(sigma), \(differing) bytes differ")
            }
        }
    }

    @Test func boxRadiusHasTheGaussianVariance() {
        // n box passes of length L = 2r + 1 (r fractional, Gwosdek's extended box) have variance σ², so for
        // σ = 2, n = 3: σ² / 3 = 4/3, L = √(12·4/3 + 1) = √17 ≈ 4.12, l = 1, a = 3·(2 − 4)/(6·(4/3 − 4)) = 0.375.
        #expect(abs(pillowBoxRadius(sigma: 2) - 1.375) < 1e-6)
    }

    @Test func toTensorAndNormalizeMatchTorchvisionBitExactly() throws {
        let g = try golden("augment.safetensors")
        let image = try Self.goldenImage(g)
        let ours = image.normalizedTensor(mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])
        let expected = try g.tensor("normalized")
        #expect(expected.shape == [3, Self.height, Self.width])
        ours.withUnsafeBufferPointer { expectClose($0, expected, atol: 0, rtol: 0, "normalized") }
    }

    @Test(arguments: [-0.5, -0.1, 0.037, 0.1, 0.5])
    func hueTablesEqualPillowsFormulas(shift: Double) {
        // hueAdjusted (the C kernel, and the Swift division tables without fmod) against Pillow's rgb2hsv/hsv2rgb
        // written out with their divisions, on 2 × 65536 colours: every (r, g) pair with two different blue patterns,
        // grey pixels included.
        func hsv(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> (UInt8, UInt8, UInt8) {
            let maxc = max(r, g, b), minc = min(r, g, b)
            if minc == maxc { return (0, 0, maxc) }
            let cr = Float(maxc - minc)
            let s = cr / Float(maxc)
            let rc = Float(maxc - r) / cr, gc = Float(maxc - g) / cr, bc = Float(maxc - b) / cr
            var h: Float = r == maxc ? bc - gc : g == maxc ? Float(2.0 + Double(rc) - Double(bc)) : Float(4.0 + Double(gc) - Double(rc))
            h = Float(fmod(Double(h) / 6.0 + 1.0, 1.0))
            return (UInt8(clamping: Int(Double(h) * 255.0)), UInt8(clamping: Int(Double(s) * 255.0)), maxc)
        }
        func rgb(_ h: UInt8, _ s: UInt8, _ v: UInt8) -> [UInt8] {
            if s == 0 { return [v, v, v] }
            let h6 = Double(h) * 6.0 / 255.0
            let i = Int(h6.rounded(.down))
            let f = Float(h6 - Double(i)), fs = Float(Double(s) / 255.0), vd = Double(v)
            let p = UInt8(clamping: Int((vd * (1.0 - Double(fs))).rounded()))
            let q = UInt8(clamping: Int((vd * (1.0 - Double(fs * f))).rounded()))
            let t = UInt8(clamping: Int((vd * (1.0 - Double(fs) * (1.0 - Double(f)))).rounded()))
            return [[v, t, p], [q, v, p], [p, v, t], [p, q, v], [t, p, v], [v, p, q]][i % 6]
        }
        let offset = UInt8(truncatingIfNeeded: Int32(shift * 255))
        for pattern in 0..<2 {
            var pixels: [UInt8] = []
            for r in 0..<256 {
                for g in 0..<256 {
                    let b = pattern == 0 ? (r * 7 + g * 13) % 256 : (r == g ? r : (r + g * 101 + 37) % 256)
                    pixels += [UInt8(r), UInt8(g), UInt8(b)]
                }
            }
            let expected = (0..<(256 * 256)).flatMap { k in
                let (h, s, v) = hsv(pixels[3 * k], pixels[3 * k + 1], pixels[3 * k + 2])
                return rgb(h &+ offset, s, v)
            }
            // the Swift tables, and the C kernel at each SIMD level this CPU has (AVX-512 8 pixels at a time, scalar)
            for (name, kernels, level) in [("swift", ImageKernels.scalarReference, 2), ("simd", .simd, 2), ("c scalar", .simd, 0)] {
                cribo_simd_limit(Int32(level))
                defer { cribo_simd_limit(2) }
                let adjusted = RGBImage(width: 256, height: 256, pixels: pixels).hueAdjusted(shift, kernels: kernels).pixels
                let mismatches = (0..<(256 * 256)).filter { adjusted[(3 * $0)..<(3 * $0 + 3)] != expected[(3 * $0)..<(3 * $0 + 3)] }.count
                #expect(mismatches == 0, "\(name): pattern \(pattern), shift \(shift): \(mismatches) pixels differ")
            }
        }
    }
}
