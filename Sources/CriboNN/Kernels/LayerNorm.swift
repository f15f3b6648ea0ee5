// SPDX-License-Identifier: Apache-2.0
// Layer normalisation over the last axis (torch.nn.LayerNorm with elementwise affine). cribo uses eps 1e-6
// everywhere (DINO/timm ViTs). Legend: R rows, C channels.
// reference: https://pytorch.org/docs/stable/generated/torch.nn.LayerNorm.html

import CriboTensor

/// y = (x − mean)·rstd·weight + bias, rstd = 1/√(var + eps), the biased variance. Saves mean and rstd.
/// - Parameters:
///   - output: [R, C]; may not alias `input`.
///   - mean: [R].
///   - rstd: [R].
///   - input: [R, C].
///   - weight: [C].
///   - bias: [C].
package func layerNormForward(
    output: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
    input: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, rows R: Int,
    channels C: Int, eps: Float = 1e-6
) {
    ComputeThreads.parallelFor(R, grain: 8) { rows in
        for r in rows {
            let x = input + r * C
            let m = reduceSum(x, count: C) / Float(C)
            let squares = reduceSquaredDeviations(x, from: m, count: C)
            let s = 1 / (squares / Float(C) + eps).squareRoot()
            let y = output + r * C
            for c in 0..<C { y[c] = (x[c] - m) * s * weight[c] + bias[c] }
            mean[r] = m
            rstd[r] = s
        }
    }
}

/// Backward of `layerNormForward`; accumulates into `dInput`, `dWeight`, `dBias`.
///
/// Concretely: with x̂ = (x − mean)·rstd and g = dy·weight,
/// dx = rstd·(g − mean_c(g) − x̂·mean_c(g·x̂)), dweight = Σ_r dy·x̂, dbias = Σ_r dy.
package func layerNormBackward(
    dInput: UnsafeMutablePointer<Float>, dWeight: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>,
    dOutput: UnsafePointer<Float>, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
    mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, rows R: Int, channels C: Int
) {
    ComputeThreads.parallelFor(R, grain: 8) { rows in
        for r in rows {
            let x = input + r * C
            let dy = dOutput + r * C
            let m = mean[r]
            let s = rstd[r]
            let meanG = reduceDot(dy, weight, count: C) / Float(C)
            let (mv, sv) = (SIMD16<Float>(repeating: m), SIMD16<Float>(repeating: s))
            let meanGX = reduceLanes(count: C) { c in
                load16(dy + c) * load16(weight + c) * (load16(x + c) - mv) * sv
            } scalar: { c in
                dy[c] * weight[c] * (x[c] - m) * s
            } / Float(C)
            let dx = dInput + r * C
            for c in 0..<C {
                let xHat = (x[c] - m) * s
                dx[c] += s * (dy[c] * weight[c] - meanG - xHat * meanGX)
            }
        }
    }
    ComputeThreads.parallelFor(C, grain: 64) { channels in
        for r in 0..<R {
            let x = input + r * C
            let dy = dOutput + r * C
            let m = mean[r]
            let s = rstd[r]
            for c in channels {
                dWeight[c] += dy[c] * (x[c] - m) * s
                dBias[c] += dy[c]
            }
        }
    }
}
