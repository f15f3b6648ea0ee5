// SPDX-License-Identifier: Apache-2.0
// torchvision's ColorJitter on a PIL image, byte-exact: brightness, contrast and saturation are Pillow's
// ImageEnhance blends against a degenerate image (black, the rounded mean luma, the luma image) with Pillow's
// float32 Image.blend arithmetic (truncation, clipping only when extrapolating); hue goes through Pillow's
// RGB → HSV conversion, adds int32(h·255) to the 8-bit hue with wrap-around (torchvision's numpy code) and
// converts back with Pillow's HSV → RGB. The mixed float/double arithmetic of Convert.c is kept as written.
// reference: torchvision transforms.py ColorJitter, _functional_pil.adjust_*; Pillow ImageEnhance.py,
// libImaging/Blend.c, libImaging/Convert.c rgb2hsv_row/hsv2rgb

import CCriboShims
import Foundation

/// The drawn parameters of one torchvision ColorJitter call.
package struct JitterParameters: Equatable, Sendable {
    /// The order the four operations run in: a permutation of 0 brightness, 1 contrast, 2 saturation, 3 hue.
    package var order: [Int]
    /// Brightness factor (blend with black).
    package var brightness: Double
    /// Contrast factor (blend with the mean gray).
    package var contrast: Double
    /// Saturation factor (blend with the grayscale image).
    package var saturation: Double
    /// Hue shift in turns, in [−0.5, 0.5].
    package var hue: Double

    /// Jitter parameters from their parts.
    package init(order: [Int], brightness: Double, contrast: Double, saturation: Double, hue: Double) {
        precondition(order.sorted() == [0, 1, 2, 3], "JitterParameters: order \(order) is not a permutation of 0...3")
        self.order = order
        self.brightness = brightness
        self.contrast = contrast
        self.saturation = saturation
        self.hue = hue
    }
}

/// One byte of Pillow's `Image.blend(degenerate, image, alpha)` (float32 arithmetic, truncation toward zero).
@inline(__always) private func blend(_ degenerate: UInt8, _ value: UInt8, _ alpha: Float) -> UInt8 {
    let result = Float(degenerate) + alpha * Float(Int(value) - Int(degenerate))
    if alpha >= 0 && alpha <= 1 { return UInt8(result) }
    if result <= 0 { return 0 }
    if result >= 255 { return 255 }
    return UInt8(result)
}

extension RGBImage {
    /// Every byte mapped through a 256-entry table.
    private func mapped(_ table: [UInt8]) -> RGBImage {
        precondition(table.count == 256, "mapped: a table of \(table.count) entries")
        let count = pixels.count
        return RGBImage(width: width, height: height, pixels: [UInt8](unsafeUninitializedCapacity: count) { out, n in
            pixels.withUnsafeBufferPointer { source in
                table.withUnsafeBufferPointer { table in
                    for k in 0..<count { out[k] = table[Int(source[k])] }
                }
            }
            n = count
        })
    }

    /// Brightness as `ImageEnhance.Brightness(img).enhance(factor)`: blend with black.
    package func brightnessAdjusted(_ factor: Double) -> RGBImage {
        let alpha = Float(factor)
        if alpha == 1 { return self }
        return mapped((0...255).map { blend(0, UInt8($0), alpha) })
    }

    /// Contrast as `ImageEnhance.Contrast(img).enhance(factor)`: blend with the gray level
    /// m = int(mean luma + 0.5).
    package func contrastAdjusted(_ factor: Double) -> RGBImage {
        let alpha = Float(factor)
        if alpha == 1 { return self }
        var sum = 0
        for value in luma() { sum += Int(value) }
        let mean = UInt8(Double(sum) / Double(max(width * height, 1)) + 0.5)
        return mapped((0...255).map { blend(mean, UInt8($0), alpha) })
    }

    /// Saturation as `ImageEnhance.Color(img).enhance(factor)`: blend each channel with the pixel's luma.
    package func saturationAdjusted(_ factor: Double) -> RGBImage {
        let alpha = Float(factor)
        if alpha == 1 { return self }
        let l = luma()
        let count = pixels.count
        return RGBImage(width: width, height: height, pixels: [UInt8](unsafeUninitializedCapacity: count) { out, n in
            pixels.withUnsafeBufferPointer { source in
                l.withUnsafeBufferPointer { l in
                    for k in 0..<l.count {
                        for c in 0..<3 { out[3 * k + c] = blend(l[k], source[3 * k + c], alpha) }
                    }
                }
            }
            n = count
        })
    }

    /// Hue as torchvision's `adjust_hue` on PIL: the 8-bit HSV hue plus uint8(int32(shift·255)), wrapping.
    /// - Parameters:
    ///   - shift: in [−0.5, 0.5] turns.
    ///   - kernels: `cribo_hue_shift_rgb` (AVX-512, 8 pixels at a time) or the Swift loop it is tested against.
    package func hueAdjusted(_ shift: Double, kernels: ImageKernels = .simd) -> RGBImage {
        precondition(shift >= -0.5 && shift <= 0.5, "hueAdjusted: shift \(shift) is not in [-0.5, 0.5]")
        let offset = UInt8(truncatingIfNeeded: Int32(shift * 255))
        if kernels == .simd {
            let count = width * height
            return RGBImage(width: width, height: height, pixels: [UInt8](unsafeUninitializedCapacity: count * 3) { buffer, n in
                pixels.withUnsafeBufferPointer { cribo_hue_shift_rgb(buffer.baseAddress!, $0.baseAddress!, Int64(count), offset) }
                n = count * 3
            })
        }
        var out = [UInt8](repeating: 0, count: pixels.count)
        let tables = HSVTables.shared
        pixels.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                tables.quotients.withUnsafeBufferPointer { quotients in
                    tables.sectors.withUnsafeBufferPointer { sectors in
                        tables.fractions.withUnsafeBufferPointer { fractions in
                            tables.saturationFractions.withUnsafeBufferPointer { saturations in
                                for k in 0..<(width * height) {
                                    var (h, s, v) = pillowHSV(source[3 * k], source[3 * k + 1], source[3 * k + 2], quotients: quotients)
                                    h &+= offset
                                    (target[3 * k], target[3 * k + 1], target[3 * k + 2]) = pillowRGB(
                                        h, s, v, sector: sectors[Int(h)], fraction: fractions[Int(h)], fs: saturations[Int(s)])
                                }
                            }
                        }
                    }
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }

    /// The four jitter operations in `parameters.order`, as `ColorJitter.forward` with fixed parameters.
    package func jittered(_ parameters: JitterParameters) -> RGBImage {
        var image = self
        for operation in parameters.order {
            switch operation {
            case 0: image = image.brightnessAdjusted(parameters.brightness)
            case 1: image = image.contrastAdjusted(parameters.contrast)
            case 2: image = image.saturationAdjusted(parameters.saturation)
            default:
                // ColorJitter(hue=0) never calls adjust_hue, whose HSV round trip is not the identity
                if parameters.hue != 0 { image = image.hueAdjusted(parameters.hue) }
            }
        }
        return image
    }
}

/// The values Pillow's HSV conversions divide out, computed once with the same IEEE operations.
private struct HSVTables: Sendable {
    static let shared = HSVTables()
    /// [n · 256 + d] = Float(n) / Float(d), d ≥ 1 (rgb2hsv's float32 quotients).
    let quotients: [Float] = (0..<(256 * 256)).map { (i: Int) -> Float in
        let (numerator, denominator) = (Float(i >> 8), Float(i & 255))
        return denominator == 0 ? 0 : numerator / denominator
    }
    /// [h] = floor(h·6/255) and Float(h·6/255 − floor), hsv2rgb's sector and fraction.
    let sectors: [Int] = (0..<256).map { Int((Double($0) * 6.0 / 255.0).rounded(.down)) }
    let fractions: [Float] = (0..<256).map { h in
        let h6 = Double(h) * 6.0 / 255.0
        return Float(h6 - h6.rounded(.down))
    }
    /// [s] = Float(s / 255).
    let saturationFractions: [Float] = (0..<256).map { Float(Double($0) / 255.0) }
}

/// Pillow's rgb2hsv_row: 8-bit H, S, V with float32 ratios and the double-precision steps of the C code.
@inline(__always)
private func pillowHSV(_ r: UInt8, _ g: UInt8, _ b: UInt8, quotients: UnsafeBufferPointer<Float>) -> (UInt8, UInt8, UInt8) {
    let maxc = max(r, g, b), minc = min(r, g, b)
    if minc == maxc { return (0, 0, maxc) }
    let cr = Int(maxc - minc)
    let s = quotients[cr << 8 | Int(maxc)]
    let rc = quotients[Int(maxc - r) << 8 | cr], gc = quotients[Int(maxc - g) << 8 | cr], bc = quotients[Int(maxc - b) << 8 | cr]
    var h: Float
    if r == maxc {
        h = bc - gc
    } else if g == maxc {
        h = Float(2.0 + Double(rc) - Double(bc))
    } else {
        h = Float(4.0 + Double(gc) - Double(rc))
    }
    // fmod(x, 1) for x = h/6 + 1 in [5/6, 11/6]: x, or x − 1 (exact for 1 ≤ x ≤ 2), without the libm call.
    let wrapped = Double(h) / 6.0 + 1.0
    h = Float(wrapped >= 1 ? wrapped - 1 : wrapped)
    let uh = UInt8(clamping: Int(Double(h) * 255.0))
    let us = UInt8(clamping: Int(Double(s) * 255.0))
    return (uh, us, maxc)
}

/// Pillow's hsv2rgb for one pixel (C `round`, i.e. half away from zero), with the sector i, the fraction f of h and
/// fs = s/255 from `HSVTables`.
@inline(__always)
private func pillowRGB(_ h: UInt8, _ s: UInt8, _ v: UInt8, sector i: Int, fraction f: Float, fs: Float) -> (UInt8, UInt8, UInt8) {
    if s == 0 { return (v, v, v) }
    let vd = Double(v)
    let p = UInt8(clamping: Int((vd * (1.0 - Double(fs))).rounded()))
    let q = UInt8(clamping: Int((vd * (1.0 - Double(fs * f))).rounded()))
    let t = UInt8(clamping: Int((vd * (1.0 - Double(fs) * (1.0 - Double(f)))).rounded()))
    switch i % 6 {
    case 0: return (v, t, p)
    case 1: return (q, v, p)
    case 2: return (p, v, t)
    case 3: return (p, q, v)
    case 4: return (t, p, v)
    default: return (v, p, q)
    }
}
