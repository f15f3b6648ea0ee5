// SPDX-License-Identifier: Apache-2.0
// Gaussian blur exactly as Pillow's ImageFilter.GaussianBlur(radius=σ) computes it (DINO's GaussianBlur calls
// it with σ ~ U(0.1, 2)): not a true Gaussian but three passes of an extended box blur per axis (Gwosdek et al.,
// "Theoretical foundations of Gaussian convolution by extended box filtering"), with Pillow's float32 radius
// formula, 24-bit fixed-point box weights and edge pixels repeated. Horizontal passes run first, then vertical.
// reference: Pillow libImaging/BoxBlur.c (_gaussian_blur_radius, ImagingHorizontalBoxBlur, ImagingLineBoxBlur8)

import CCriboShims
import Foundation

/// Pillow's `_gaussian_blur_radius`: the fractional box radius whose `passes`-fold box blur has variance σ².
///
/// Concretely: σ² = r²/n, L = √(12σ² + 1), l = ⌊(L − 1)/2⌋,
/// a = (2l + 1)(l(l + 1) − 3σ²) / (6(σ² − (l + 1)²)), result l + a; float32 as in the C code.
package func pillowBoxRadius(sigma: Double, passes: Int = 3) -> Float {
    let radius = Float(sigma)  // Pillow parses the radius as a C float
    let sigma2 = radius * radius / Float(passes)
    let bigL = Float((12.0 * Double(sigma2) + 1.0).squareRoot())
    let l = Float(((Double(bigL) - 1.0) / 2.0).rounded(.down))
    var a = (2 * l + 1) * (l * (l + 1) - 3 * sigma2)
    a /= 6 * (sigma2 - (l + 1) * (l + 1))
    return l + a
}

/// The fixed-point weights of one box pass: integer radius, 2²⁴/(2r + 1) for the inner taps and the rest split
/// between the two fractional end taps.
private struct BoxPass {
    let radius: Int
    let innerWeight: Int
    let edgeWeight: Int

    init(_ floatRadius: Float) {
        radius = Int(floatRadius)
        innerWeight = Int(UInt32(Float(1 << 24) / (floatRadius * 2 + 1)))
        edgeWeight = ((1 << 24) - (radius * 2 + 1) * innerWeight) / 2
    }

    /// ImagingLineBoxBlur8 over `count` values read from `line` (edge values repeated), written to `out`.
    func blur(_ line: UnsafeMutablePointer<Int>, into out: UnsafeMutablePointer<Int>, count: Int) {
        let last = count - 1
        let edgeA = min(radius + 1, count), edgeB = max(count - radius - 1, 0)
        @inline(__always) func save(_ x: Int, _ acc: Int, _ left: Int, _ right: Int) {
            out[x] = (acc * innerWeight + (line[left] + line[right]) * edgeWeight + (1 << 23)) >> 24
        }
        var acc = line[0] * (radius + 1)
        var x = 0
        while x < edgeA - 1 { acc += line[x]; x += 1 }
        acc += line[last] * (radius - edgeA + 1)
        if edgeA <= edgeB {
            for x in 0..<edgeA {
                acc += line[x + radius] - line[0]
                save(x, acc, 0, x + radius + 1)
            }
            for x in edgeA..<max(edgeA, edgeB) {
                acc += line[x + radius] - line[x - radius - 1]
                save(x, acc, x - radius - 1, x + radius + 1)
            }
            for x in edgeB...last {
                acc += line[last] - line[x - radius - 1]
                save(x, acc, x - radius - 1, last)
            }
        } else {
            for x in 0..<edgeB {
                acc += line[x + radius] - line[0]
                save(x, acc, 0, x + radius + 1)
            }
            for x in edgeB..<edgeA {
                acc += line[last] - line[0]
                save(x, acc, 0, last)
            }
            for x in edgeA..<count {
                acc += line[last] - line[x - radius - 1]
                save(x, acc, x - radius - 1, last)
            }
        }
    }
}

extension RGBImage {
    /// The image blurred like `img.filter(ImageFilter.GaussianBlur(radius: sigma))` in Pillow.
    ///
    /// Concretely: r = pillowBoxRadius(σ); 3 box passes of radius r along rows, then 3 along columns, each
    /// rounded to uint8. σ = 0 returns the image unchanged.
    /// - Parameter kernels: the implementation of the passes (the default is the fast one).
    /// - Complexity: O(width · height · 18), independent of σ, for the scalar reference; O(width · height · 6 · (2r + 3))
    ///   vectorised for the C kernels.
    package func gaussianBlurred(sigma: Double, kernels: ImageKernels = .simd) -> RGBImage {
        let boxRadius = pillowBoxRadius(sigma: sigma)
        if Float(sigma) == 0 || boxRadius == 0 { return self }
        let pass = BoxPass(boxRadius)
        if kernels == .simd { return blurredSIMD(pass) }
        var values = pixels.map { Int($0) }  // [height, width, 3], each pass rounds to 0…255 like Pillow
        let longest = max(width, height)
        let line = UnsafeMutablePointer<Int>.allocate(capacity: longest)
        let out = UnsafeMutablePointer<Int>.allocate(capacity: longest)
        defer { line.deallocate(); out.deallocate() }
        // One line: `count` values `stride` apart from `start`, blurred 3 times in place.
        func blurLine(start: Int, stride: Int, count: Int) {
            for k in 0..<count { line[k] = values[start + k * stride] }
            for _ in 0..<3 {
                pass.blur(line, into: out, count: count)
                line.update(from: out, count: count)
            }
            for k in 0..<count { values[start + k * stride] = line[k] }
        }
        for y in 0..<height {
            for c in 0..<3 { blurLine(start: y * width * 3 + c, stride: 3, count: width) }
        }
        for x in 0..<width {
            for c in 0..<3 { blurLine(start: x * 3 + c, stride: width * 3, count: height) }
        }
        return RGBImage(width: width, height: height, pixels: values.map { UInt8($0) })
    }

    /// The same passes with the C kernels: the image transposed so that its rows become columns, 3 passes along
    /// them, transposed back, 3 passes along the columns (`cribo_box_blur_rows_u8` blurs across rows, whole rows at
    /// a time).
    private func blurredSIMD(_ pass: BoxPass) -> RGBImage {
        let count = pixels.count
        var a = [UInt8](repeating: 0, count: count), b = [UInt8](repeating: 0, count: count)
        a.withUnsafeMutableBufferPointer { a in
            b.withUnsafeMutableBufferPointer { b in
                let (pa, pb) = (a.baseAddress!, b.baseAddress!)
                let radius = Int32(pass.radius), inner = UInt32(pass.innerWeight), edge = UInt32(pass.edgeWeight)
                // 3 passes from `a` back into `a` (through `b`) over `rows` rows of `length` bytes.
                func threePasses(rows: Int, length: Int) {
                    cribo_box_blur_rows_u8(pb, pa, Int64(length), Int32(rows), radius, inner, edge)
                    cribo_box_blur_rows_u8(pa, pb, Int64(length), Int32(rows), radius, inner, edge)
                    cribo_box_blur_rows_u8(pb, pa, Int64(length), Int32(rows), radius, inner, edge)
                    pa.update(from: pb, count: rows * length)
                }
                pixels.withUnsafeBufferPointer { cribo_transpose_u8(pa, $0.baseAddress!, Int32(height), Int32(width), 3) }
                threePasses(rows: width, length: height * 3)
                cribo_transpose_u8(pb, pa, Int32(width), Int32(height), 3)
                pa.update(from: pb, count: count)
                threePasses(rows: height, length: width * 3)
            }
        }
        return RGBImage(width: width, height: height, pixels: a)
    }
}
