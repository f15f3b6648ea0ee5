// SPDX-License-Identifier: Apache-2.0
// Resizing float32 channel-first planes the way torch.nn.functional.interpolate does on CPU, which is what
// torchvision's F.resize / F.resized_crop run on tensors: the antialiased separable kernel (bilinear or bicubic
// with a = −0.5, support stretched by the downscale factor, weights normalised in float32, horizontal pass then
// vertical, a pass skipped when its size does not change; no clamping for float input), and the legacy
// "nearest" index rule src = min(⌊dst · in/out⌋, in − 1) used for Hummingbird's mask tensors.
// reference: ATen native/cpu/UpSampleKernel.cpp (_compute_indices_min_size_weights_aa, aa_filter, nearest_idx)

import Foundation

/// The filters torch's antialiased interpolation supports.
package enum TensorResampleFilter: Sendable {
    case bilinear, bicubic

    /// torch's interp_size: taps of the unscaled filter.
    var interpolationSize: Double { self == .bilinear ? 2 : 4 }

    /// torch's aa_filter in float32 (bicubic with a = −0.5, as PIL).
    func weight(_ value: Float) -> Float {
        let x = abs(value)
        switch self {
        case .bilinear:
            return x < 1 ? 1 - x : 0
        case .bicubic:
            let a: Float = -0.5
            if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
            if x < 2 { return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }
            return 0
        }
    }
}

/// The taps of one axis: for output o, inputs start[o] ..< start[o] + count[o] with weights[o · kernelSize + k].
struct TensorTaps {
    var start: [Int]
    var count: [Int]
    var weights: [Float]
    var kernelSize: Int

    /// torch's antialiased index/weight computation for `inSize → outSize` (align_corners = false).
    init(inSize: Int, outSize: Int, filter: TensorResampleFilter) {
        let scale = Float(inSize) / Float(outSize)
        let support = Float(scale >= 1 ? filter.interpolationSize * 0.5 * Double(scale) : filter.interpolationSize * 0.5)
        let inverse = scale >= 1 ? Float(1.0 / Double(scale)) : 1
        kernelSize = Int(Double(support).rounded(.up)) * 2 + 1
        start = []
        count = []
        weights = [Float](repeating: 0, count: outSize * kernelSize)
        for o in 0..<outSize {
            let center = Float(Double(scale) * (Double(o) + 0.5))
            let lo = max(Int(Double(center - support) + 0.5), 0)
            let n = min(Int(Double(center + support) + 0.5), inSize) - lo
            var total: Float = 0
            for k in 0..<n {
                let w = filter.weight(Float((Double(Float(k + lo) - center) + 0.5) * Double(inverse)))
                weights[o * kernelSize + k] = w
                total += w
            }
            if total != 0 {
                for k in 0..<n { weights[o * kernelSize + k] /= total }
            }
            start.append(lo)
            count.append(n)
        }
    }

    /// Σₖ weight·input in torch's float32 order: t₀·w₀, then += tₖ·wₖ.
    @inline(__always) func apply(_ o: Int, _ value: (Int) -> Float) -> Float {
        let base = o * kernelSize, lo = start[o]
        var sum = value(lo) * weights[base]
        for k in 1..<max(count[o], 1) { sum += value(lo + k) * weights[base + k] }
        return sum
    }
}

/// Resizes channel-first float planes like `F.interpolate(x, size, mode, antialias=True)` on CPU.
/// - Parameters:
///   - planes: [planeCount, height, width].
/// - Returns: [planeCount, outHeight, outWidth].
package func resampleAntialiased(
    _ planes: [Float], width: Int, height: Int, planeCount: Int, outWidth: Int, outHeight: Int,
    filter: TensorResampleFilter
) -> [Float] {
    precondition(planes.count == planeCount * width * height && outWidth > 0 && outHeight > 0,
                 "resampleAntialiased: \(planes.count) values for \(planeCount)x\(height)x\(width) -> \(outHeight)x\(outWidth)")
    var current = planes, currentWidth = width
    if outWidth != width {
        let taps = TensorTaps(inSize: width, outSize: outWidth, filter: filter)
        var next = [Float](repeating: 0, count: planeCount * height * outWidth)
        for row in 0..<(planeCount * height) {
            for o in 0..<outWidth {
                next[row * outWidth + o] = taps.apply(o) { current[row * width + $0] }
            }
        }
        current = next
        currentWidth = outWidth
    }
    if outHeight != height {
        let taps = TensorTaps(inSize: height, outSize: outHeight, filter: filter)
        var next = [Float](repeating: 0, count: planeCount * outHeight * currentWidth)
        for p in 0..<planeCount {
            for o in 0..<outHeight {
                for x in 0..<currentWidth {
                    next[(p * outHeight + o) * currentWidth + x] =
                        taps.apply(o) { current[(p * height + $0) * currentWidth + x] }
                }
            }
        }
        current = next
    }
    return current
}

/// torch's legacy nearest source index for output `index`: identity at the same size, index/2 at double size,
/// else min(⌊index · (in/out)⌋, in − 1) in float32.
package func tensorNearestIndex(_ index: Int, inSize: Int, outSize: Int) -> Int {
    if outSize == inSize { return index }
    if outSize == 2 * inSize { return index >> 1 }
    let scale = Float(inSize) / Float(outSize)
    return min(Int((Float(index) * scale).rounded(.down)), inSize - 1)
}

/// Resizes a label map like `F.interpolate(mask_tensor, size, mode="nearest")` (what Hummingbird does to its
/// ToTensor'd masks), keeping the label values.
/// - Parameters:
///   - labels: [height, width].
/// - Returns: [outHeight, outWidth].
package func resampleNearestLikeTorch(_ labels: [UInt8], width: Int, height: Int, outWidth: Int, outHeight: Int) -> [UInt8] {
    precondition(labels.count == width * height, "resampleNearestLikeTorch: \(labels.count) values for \(width)x\(height)")
    let columns = (0..<outWidth).map { tensorNearestIndex($0, inSize: width, outSize: outWidth) }
    var out = [UInt8](repeating: 0, count: outWidth * outHeight)
    for y in 0..<outHeight {
        let row = tensorNearestIndex(y, inSize: height, outSize: outHeight) * width
        for x in 0..<outWidth { out[y * outWidth + x] = labels[row + columns[x]] }
    }
    return out
}
