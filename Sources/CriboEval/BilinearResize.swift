// SPDX-License-Identifier: Apache-2.0
// Bilinear resizing of channels-last maps with PyTorch's F.interpolate(mode="bilinear", align_corners=False)
// semantics, its backward, and a fused resize-then-argmax that never holds the resized map.
// Legend: C channels, h×w input rows×columns, H×W output rows×columns.
// reference: https://pytorch.org/docs/stable/generated/torch.nn.functional.interpolate.html

import CriboTensor

/// The two source taps and weights of one output coordinate along one axis.
///
/// Concretely (PyTorch area_pixel_compute_source_index, align_corners=False): x = max((o + ½)·in/out − ½, 0),
/// low = ⌊x⌋, high = min(low + 1, in − 1), weightHigh = x − low, weightLow = 1 − weightHigh; computed in Float
/// like PyTorch's CPU kernel.
package struct BilinearTaps: Equatable, Sendable {
    /// The lower source index.
    package var low: Int
    /// The upper source index (equal to `low` at the last input coordinate).
    package var high: Int
    /// The weight of `low`.
    package var weightLow: Float
    /// The weight of `high`.
    package var weightHigh: Float

    /// The taps of every output coordinate of an axis resized from `inputSize` to `outputSize`.
    package static func axis(inputSize: Int, outputSize: Int) -> [BilinearTaps] {
        precondition(inputSize > 0 && outputSize > 0, "BilinearTaps: sizes \(inputSize) → \(outputSize)")
        let scale = Float(inputSize) / Float(outputSize)
        return (0..<outputSize).map { o in
            let x = max(scale * (Float(o) + 0.5) - 0.5, 0)
            let low = min(Int(x), inputSize - 1)
            let high = low < inputSize - 1 ? low + 1 : low
            let weightHigh = min(max(x - Float(low), 0), 1)
            return BilinearTaps(low: low, high: high, weightLow: 1 - weightHigh, weightHigh: weightHigh)
        }
    }
}

/// Bilinear resize of a channels-last map (F.interpolate, mode "bilinear", align_corners=False).
///
/// Concretely: out[y, x, c] = wy0·(wx0·in[y0, x0, c] + wx1·in[y0, x1, c]) + wy1·(wx0·in[y1, x0, c] + wx1·in[y1, x1, c])
/// with the taps of `BilinearTaps.axis`.
/// - Parameters:
///   - output: [H, W, C].
///   - input: [h, w, C].
///   - parallel: false when called inside a parallel loop.
package func bilinearResize(
    output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, channels C: Int, inputHeight h: Int,
    inputWidth w: Int, outputHeight H: Int, outputWidth W: Int, parallel: Bool = true
) {
    let rowTaps = BilinearTaps.axis(inputSize: h, outputSize: H)
    let columnTaps = BilinearTaps.axis(inputSize: w, outputSize: W)
    let body = { (rows: Range<Int>) in
        for y in rows {
            let ty = rowTaps[y]
            for x in 0..<W {
                resizedPixel(output + (y * W + x) * C, input, ty, columnTaps[x], channels: C, inputWidth: w)
            }
        }
    }
    if parallel { ComputeThreads.parallelFor(H, grain: max(1, 8192 / max(W * C, 1)), body) } else { body(0..<H) }
}

/// Backward of `bilinearResize`; accumulates (`+=`) into `dInput`.
///
/// Concretely: each dOutput[y, x, c] is added to its four source pixels with the same weights as the forward.
/// - Parameters:
///   - dInput: [h, w, C].
///   - dOutput: [H, W, C].
package func bilinearResizeBackward(
    dInput: UnsafeMutablePointer<Float>, dOutput: UnsafePointer<Float>, channels C: Int, inputHeight h: Int,
    inputWidth w: Int, outputHeight H: Int, outputWidth W: Int
) {
    let rowTaps = BilinearTaps.axis(inputSize: h, outputSize: H)
    let columnTaps = BilinearTaps.axis(inputSize: w, outputSize: W)
    // Parallel over channel blocks: every thread scatters into its own channels, so there are no races and the
    // order of the additions into each element is the same for any thread count.
    ComputeThreads.parallelFor(C, grain: max(1, min(C, 16))) { channels in
        for y in 0..<H {
            let ty = rowTaps[y]
            for x in 0..<W {
                let tx = columnTaps[x]
                let d = dOutput + (y * W + x) * C
                let w00 = ty.weightLow * tx.weightLow
                let w01 = ty.weightLow * tx.weightHigh
                let w10 = ty.weightHigh * tx.weightLow
                let w11 = ty.weightHigh * tx.weightHigh
                let p00 = dInput + (ty.low * w + tx.low) * C
                let p01 = dInput + (ty.low * w + tx.high) * C
                let p10 = dInput + (ty.high * w + tx.low) * C
                let p11 = dInput + (ty.high * w + tx.high) * C
                for c in channels {
                    p00[c] += w00 * d[c]
                    p01[c] += w01 * d[c]
                    p10[c] += w10 * d[c]
                    p11[c] += w11 * d[c]
                }
            }
        }
    }
}

/// The index of the largest channel of every pixel of the bilinearly resized map, without storing that map.
///
/// Concretely: result[y, x] = argmax_c bilinearResize(input)[y, x, c], the lowest c among equal maxima
/// (torch.argmax on the CPU).
/// - Parameters:
///   - output: [H, W] class ids.
///   - input: [h, w, C] scores.
package func bilinearResizeArgmax(
    output: UnsafeMutablePointer<Int32>, input: UnsafePointer<Float>, channels C: Int, inputHeight h: Int,
    inputWidth w: Int, outputHeight H: Int, outputWidth W: Int
) {
    let rowTaps = BilinearTaps.axis(inputSize: h, outputSize: H)
    let columnTaps = BilinearTaps.axis(inputSize: w, outputSize: W)
    ComputeThreads.parallelFor(H, grain: max(1, 8192 / max(W * C, 1))) { rows in
        let pixel = UnsafeMutablePointer<Float>.allocate(capacity: C)
        defer { pixel.deallocate() }
        for y in rows {
            for x in 0..<W {
                resizedPixel(pixel, input, rowTaps[y], columnTaps[x], channels: C, inputWidth: w)
                var best = 0
                for c in 1..<max(C, 1) where pixel[c] > pixel[best] { best = c }
                output[y * W + x] = Int32(best)
            }
        }
    }
}

/// The C channels of one resized pixel.
@inline(__always)
private func resizedPixel(
    _ out: UnsafeMutablePointer<Float>, _ input: UnsafePointer<Float>, _ ty: BilinearTaps, _ tx: BilinearTaps,
    channels C: Int, inputWidth w: Int
) {
    let p00 = input + (ty.low * w + tx.low) * C
    let p01 = input + (ty.low * w + tx.high) * C
    let p10 = input + (ty.high * w + tx.low) * C
    let p11 = input + (ty.high * w + tx.high) * C
    for c in 0..<C {
        let top = tx.weightLow * p00[c] + tx.weightHigh * p01[c]
        let bottom = tx.weightLow * p10[c] + tx.weightHigh * p11[c]
        out[c] = ty.weightLow * top + ty.weightHigh * bottom
    }
}
