// SPDX-License-Identifier: Apache-2.0
// Resizing uint8 images exactly as Pillow 13 does (Image.resize with a box): separable convolution with the filter
// support stretched by the downscale factor (antialiasing), coefficients normalised and converted to 22-bit fixed
// point, a horizontal pass then a vertical pass, each rounded and clipped to uint8. Nearest-neighbour for label
// maps uses Pillow's affine sampling, src = floor(box0 + (x + 0.5)·scale). Legend: C channels.
// reference: Pillow libImaging/Resample.c and Geometry.c (behaviour, checked against goldens)

import CCriboShims
import Foundation

/// A Pillow resampling filter.
package enum ResampleFilter: String, Sendable, CaseIterable {
    case bilinear, bicubic, lanczos, box

    var support: Double {
        switch self {
        case .box: return 0.5
        case .bilinear: return 1
        case .bicubic: return 2
        case .lanczos: return 3
        }
    }

    func weight(_ x: Double) -> Double {
        switch self {
        case .box: return (x > -0.5 && x <= 0.5) ? 1 : 0
        case .bilinear:
            let a = abs(x)
            return a < 1 ? 1 - a : 0
        case .bicubic:  // Keys' cubic with a = −0.5, as Pillow
            let a = -0.5
            let t = abs(x)
            if t < 1 { return ((a + 2) * t - (a + 3)) * t * t + 1 }
            if t < 2 { return (((t - 5) * t + 8) * t - 4) * a }
            return 0
        case .lanczos:
            func sinc(_ v: Double) -> Double { v == 0 ? 1 : sin(Double.pi * v) / (Double.pi * v) }
            return (x > -3 && x < 3) ? sinc(x) * sinc(x / 3) : 0
        }
    }
}

/// The taps of every output position along one axis: input range start and count, and fixed-point weights.
private struct Taps {
    var start: [Int32] = []
    var count: [Int32] = []
    var weights: [Int32] = []  // [outSize, kernelSize]
    var kernelSize = 0
}

private let precisionBits = 32 - 8 - 2

/// Pillow's precompute_coeffs + normalize_coeffs_8bpc for one axis.
private func taps(inSize: Int, from start: Double, to end: Double, outSize: Int, filter: ResampleFilter) -> Taps {
    let scale = (end - start) / Double(outSize)
    let filterScale = max(scale, 1)
    let support = filter.support * filterScale
    let kernelSize = Int(support.rounded(.up)) * 2 + 1
    var result = Taps()
    result.kernelSize = kernelSize
    result.weights = [Int32](repeating: 0, count: outSize * kernelSize)
    var k = [Double](repeating: 0, count: kernelSize)
    for x in 0..<outSize {
        let center = start + (Double(x) + 0.5) * scale
        let inverse = 1 / filterScale
        var lo = Int(center - support + 0.5)  // C truncation toward zero, as Pillow
        if lo < 0 { lo = 0 }
        var hi = Int(center + support + 0.5)
        if hi > inSize { hi = inSize }
        let n = hi - lo
        var total = 0.0
        for i in 0..<n {
            let w = filter.weight((Double(i + lo) - center + 0.5) * inverse)
            k[i] = w
            total += w
        }
        for i in 0..<n {
            let w = total != 0 ? k[i] / total : k[i]
            result.weights[x * kernelSize + i] = Int32(w * Double(1 << precisionBits) + (w < 0 ? -0.5 : 0.5))
        }
        result.start.append(Int32(lo))
        result.count.append(Int32(n))
    }
    return result
}

/// Pillow's clip8: the fixed-point sum shifted back and clamped to 0...255 (sums fit in Int32, as in Pillow).
@inline(__always) private func clip8(_ value: Int32) -> UInt8 {
    UInt8(clamping: value >> Int32(precisionBits))
}

/// Which code runs the integer passes of resampling and blurring: the C kernels with SIMD (`cribo_image.h`), or the
/// scalar Swift loops they are tested against. Both give the same bytes.
package enum ImageKernels: Sendable, CaseIterable {
    case simd, scalarReference
}

/// Resizes an interleaved uint8 image (HWC) to `outWidth × outHeight` like Pillow's `Image.resize(size, filter, box)`.
/// - Parameters:
///   - pixels: [height, width, channels].
///   - box: the source region (x0, y0, x1, y1) in pixels; the whole image by default.
///   - kernels: the implementation of the passes (the default is the fast one).
/// - Returns: [outHeight, outWidth, channels].
package func resample(
    _ pixels: [UInt8], width: Int, height: Int, channels C: Int, outWidth: Int, outHeight: Int,
    filter: ResampleFilter = .bicubic, box: (Double, Double, Double, Double)? = nil, kernels: ImageKernels = .simd
) -> [UInt8] {
    precondition(pixels.count == width * height * C, "resample: \(pixels.count) bytes for \(width)x\(height)x\(C)")
    precondition(outWidth > 0 && outHeight > 0, "resample: empty output \(outWidth)x\(outHeight)")
    // Pillow 13 (PR 9549) runs the vertical pass first when both axes change and the height shrinks by more than twice
    // as many pixels as the width (rule read off the 13.0 binary, confirmed on 922 size pairs); the orders round
    // differently.
    if box == nil && outWidth != width && height - outHeight > 0 && height - outHeight > 2 * (width - outWidth) {
        let columns = resample(pixels, width: width, height: height, channels: C, outWidth: width, outHeight: outHeight,
                               filter: filter, kernels: kernels)
        return resample(columns, width: width, height: outHeight, channels: C, outWidth: outWidth, outHeight: outHeight,
                        filter: filter, kernels: kernels)
    }
    let (x0, y0, x1, y1) = box ?? (0, 0, Double(width), Double(height))
    let horizontal = taps(inSize: width, from: x0, to: x1, outSize: outWidth, filter: filter)
    var vertical = taps(inSize: height, from: y0, to: y1, outSize: outHeight, filter: filter)
    // Only the input rows the vertical pass reads go through the horizontal pass (Pillow's ybox).
    let firstRow = Int(vertical.start.first ?? 0)
    let lastRow = zip(vertical.start, vertical.count).map { Int($0 + $1) }.max() ?? height
    let rows = lastRow - firstRow
    for y in vertical.start.indices { vertical.start[y] -= Int32(firstRow) }
    let needsHorizontal = outWidth != width || x0 != 0 || x1 != Double(width)
    let needsVertical = outHeight != height || y0 != 0 || y1 != Double(height)
    var intermediate: [UInt8]
    if needsHorizontal {
        intermediate = pixels.withUnsafeBufferPointer { source in
            horizontalPass(source.baseAddress! + firstRow * width * C, width: width, rows: rows, channels: C,
                           outWidth: outWidth, taps: horizontal, kernels: kernels)
        }
    } else {
        intermediate = Array(pixels[(firstRow * width * C)..<(lastRow * width * C)])
    }
    guard needsVertical else { return intermediate }
    return intermediate.withUnsafeBufferPointer { source in
        rowsPass(source.baseAddress!, rowLength: outWidth * C, taps: vertical, kernels: kernels)
    }
}

/// The horizontal pass over `rows` rows of `width` pixels: [rows, outWidth, C].
private func horizontalPass(
    _ source: UnsafePointer<UInt8>, width: Int, rows: Int, channels C: Int, outWidth: Int, taps: Taps, kernels: ImageKernels
) -> [UInt8] {
    if kernels == .simd {  // transposed, the columns become rows: filter them as rows, transpose back
        let transposed = [UInt8](unsafeUninitializedCapacity: width * rows * C) { buffer, count in
            cribo_transpose_u8(buffer.baseAddress!, source, Int32(rows), Int32(width), Int32(C))
            count = width * rows * C
        }
        let filtered = transposed.withUnsafeBufferPointer {
            rowsPass($0.baseAddress!, rowLength: rows * C, taps: taps, kernels: .simd)
        }
        return [UInt8](unsafeUninitializedCapacity: rows * outWidth * C) { buffer, count in
            cribo_transpose_u8(buffer.baseAddress!, filtered, Int32(outWidth), Int32(rows), Int32(C))
            count = rows * outWidth * C
        }
    }
    var output = [UInt8](repeating: 0, count: rows * outWidth * C)
    output.withUnsafeMutableBufferPointer { target in
        taps.weights.withUnsafeBufferPointer { weights in
            for y in 0..<rows {
                let input = source + y * width * C
                let row = target.baseAddress! + y * outWidth * C
                for x in 0..<outWidth {
                    let lo = Int(taps.start[x]), n = Int(taps.count[x]), w = weights.baseAddress! + x * taps.kernelSize
                    for c in 0..<C {
                        var sum = Int32(1 << (precisionBits - 1))
                        var p = input + lo * C + c
                        for i in 0..<n {
                            sum &+= Int32(p.pointee) &* w[i]
                            p += C
                        }
                        row[x * C + c] = clip8(sum)
                    }
                }
            }
        }
    }
    return output
}

/// Output row y = the weighted sum of whole input rows `taps.start[y] ..< start + count` (rows of `rowLength` bytes).
private func rowsPass(_ source: UnsafePointer<UInt8>, rowLength: Int, taps: Taps, kernels: ImageKernels) -> [UInt8] {
    let outRows = taps.start.count
    if kernels == .simd {
        return [UInt8](unsafeUninitializedCapacity: outRows * rowLength) { buffer, count in
            cribo_filter_rows_u8(buffer.baseAddress!, source, Int64(rowLength), Int32(outRows), taps.start, taps.count,
                                 taps.weights, Int32(taps.kernelSize))
            count = outRows * rowLength
        }
    }
    var output = [UInt8](repeating: 0, count: outRows * rowLength)
    var accumulator = [Int32](repeating: 0, count: rowLength)
    output.withUnsafeMutableBufferPointer { target in
        accumulator.withUnsafeMutableBufferPointer { sum in
            for y in 0..<outRows {
                let lo = Int(taps.start[y]), n = Int(taps.count[y]), base = y * taps.kernelSize
                for x in 0..<rowLength { sum[x] = Int32(1 << (precisionBits - 1)) }
                for i in 0..<n {
                    let w = taps.weights[base + i]
                    let row = source + (lo + i) * rowLength
                    for x in 0..<rowLength { sum[x] &+= Int32(row[x]) &* w }
                }
                let out = target.baseAddress! + y * rowLength
                for x in 0..<rowLength { out[x] = clip8(sum[x]) }
            }
        }
    }
    return output
}

/// Nearest-neighbour resize of a label map (one or more uint8 channels) like Pillow's `resize(size, NEAREST, box)`:
/// output (x, y) reads input (floor(x0 + (x + 0.5)·sx), floor(y0 + (y + 0.5)·sy)), sx = (x1 − x0)/outWidth.
package func resampleNearest(
    _ values: [UInt8], width: Int, height: Int, channels C: Int = 1, outWidth: Int, outHeight: Int,
    box: (Double, Double, Double, Double)? = nil
) -> [UInt8] {
    let (x0, y0, x1, y1) = box ?? (0, 0, Double(width), Double(height))
    let sx = (x1 - x0) / Double(outWidth), sy = (y1 - y0) / Double(outHeight)
    let columns = (0..<outWidth).map { min(width - 1, max(0, Int((x0 + (Double($0) + 0.5) * sx).rounded(.down)))) }
    var output = [UInt8](repeating: 0, count: outWidth * outHeight * C)
    for y in 0..<outHeight {
        let row = min(height - 1, max(0, Int((y0 + (Double(y) + 0.5) * sy).rounded(.down))))
        for x in 0..<outWidth {
            for c in 0..<C { output[(y * outWidth + x) * C + c] = values[(row * width + columns[x]) * C + c] }
        }
    }
    return output
}

/// The size an image is downscaled to so that its shorter side is at most `maxSide` (aspect kept, rounded);
/// the original size when it is already small enough.
package func boundedSize(width: Int, height: Int, maxSide: Int) -> (width: Int, height: Int) {
    let shorter = min(width, height)
    guard shorter > maxSide else { return (width, height) }
    let scale = Double(maxSide) / Double(shorter)
    if width <= height { return (maxSide, max(1, Int((Double(height) * scale).rounded()))) }
    return (max(1, Int((Double(width) * scale).rounded())), maxSide)
}
