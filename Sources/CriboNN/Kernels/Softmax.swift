// SPDX-License-Identifier: Apache-2.0
// Row softmax, log-softmax, and the DINO cross-entropy between a target distribution and temperature-scaled
// logits. Legend: R rows, K classes (columns).
// reference: https://pytorch.org/docs/stable/generated/torch.nn.functional.softmax.html

import CCriboShims
import CriboTensor
import Foundation

/// y[r, :] = softmax(scale·(x[r, :] − shift)), numerically stable (the row maximum is subtracted first).
/// - Parameters:
///   - output: [R, K]; may alias `input`.
///   - input: [R, K].
///   - shift: [K] subtracted from every row before scaling (a DINO center), or nil.
///   - scale: 1/temperature.
///   - parallel: false when called inside a parallel loop.
package func softmaxForward(
    output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, shift: UnsafePointer<Float>? = nil,
    scale: Float = 1, rows R: Int, columns K: Int, parallel: Bool = true
) {
    let body = { (rows: Range<Int>) in
        for r in rows {
            let x = input + r * K
            let y = output + r * K
            if let shift {
                for k in 0..<K { y[k] = (x[k] - shift[k]) * scale }
            } else {
                for k in 0..<K { y[k] = x[k] * scale }
            }
            exponentiateNormalized(y, count: K)
        }
    }
    if parallel { ComputeThreads.parallelFor(R, grain: max(1, 32_768 / max(K, 1)), body) } else { body(0..<R) }
}

/// In place: y ← exp(y − max y) / Σ exp(y − max y), each exponential `fastExp`'s; the maximum and the sum are
/// reduced over SIMD lanes in C (`cribo_exp_normalize`: AVX-512 or AVX2, scalar elsewhere), which the Swift loops
/// could not be made to do (strict Float order).
@inline(__always)
package func exponentiateNormalized(_ y: UnsafeMutablePointer<Float>, count K: Int) {
    cribo_exp_normalize(y, Int32(K))
}

/// y[r, :] = log_softmax(x[r, :]).
package func logSoftmaxForward(output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, rows R: Int, columns K: Int) {
    ComputeThreads.parallelFor(R, grain: max(1, 32_768 / max(K, 1))) { rows in
        for r in rows {
            let x = input + r * K
            let y = output + r * K
            var maximum = -Float.infinity
            for k in 0..<K { maximum = max(maximum, x[k]) }
            var sum: Float = 0
            for k in 0..<K { sum += fastExp(x[k] - maximum) }
            let logSum = maximum + log(sum)
            for k in 0..<K { y[k] = x[k] - logSum }
        }
    }
}

/// Cross-entropy of logits against target distributions, one value per row, and its gradient.
///
/// Concretely: loss[r] = −Σ_k p[r,k]·log_softmax(z[r,:]/τ)_k, and
/// dLogits[r, k] += weight[r]·(softmax(z/τ)_k·Σ_j p[r,j] − p[r,k])/τ (the gradient of Σ_r weight[r]·loss[r]).
/// - Parameters:
///   - loss: [R] per-row losses (written).
///   - dLogits: [R, K] accumulated, or nil for the forward only.
///   - target: [R, K] the target distribution p.
///   - logits: [R, K] the student logits z.
///   - temperature: τ.
///   - rowWeights: weight[r] of each row in the caller's total loss (e.g. 1/R for a mean), or nil for 1.
package func crossEntropy(
    loss: UnsafeMutablePointer<Float>, dLogits: UnsafeMutablePointer<Float>?, target: UnsafePointer<Float>,
    logits: UnsafePointer<Float>, temperature: Float, rowWeights: UnsafePointer<Float>?, rows R: Int, columns K: Int
) {
    let inverseT = 1 / temperature
    ComputeThreads.parallelFor(R, grain: max(1, 16_384 / max(K, 1))) { rows in
        let probabilities = UnsafeMutablePointer<Float>.allocate(capacity: K)
        defer { probabilities.deallocate() }
        for r in rows {
            let z = logits + r * K
            let p = target + r * K
            for k in 0..<K { probabilities[k] = z[k] * inverseT }
            var maximum = -Float.infinity
            for k in 0..<K { maximum = max(maximum, probabilities[k]) }
            var sum: Double = 0
            for k in 0..<K { sum += Double(fastExp(probabilities[k] - maximum)) }
            let logSum = maximum + Float(log(sum))
            var value: Double = 0
            var mass: Float = 0
            for k in 0..<K {
                value -= Double(p[k] * (probabilities[k] - logSum))
                mass += p[k]
            }
            loss[r] = Float(value)
            if let dLogits {
                let w = (rowWeights?[r] ?? 1) * inverseT
                let d = dLogits + r * K
                for k in 0..<K { d[k] += w * (fastExp(probabilities[k] - logSum) * mass - p[k]) }
            }
        }
    }
}
