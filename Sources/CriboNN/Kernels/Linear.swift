// SPDX-License-Identifier: Apache-2.0
// Linear layer (torch.nn.Linear): y = x·Wᵀ + b over rows. Weight layout is PyTorch's [out, in].
// Legend: R rows, I input features, O output features.
// reference: https://pytorch.org/docs/stable/generated/torch.nn.Linear.html

import CriboTensor

/// y = x·Wᵀ + b.
/// - Parameters:
///   - output: [R, O].
///   - input: [R, I].
///   - weight: [O, I].
///   - bias: [O], or nil for a bias-free layer.
package func linearForward(
    output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
    bias: UnsafePointer<Float>?, rows R: Int, inFeatures I: Int, outFeatures O: Int
) {
    gemm(transposeA: false, transposeB: true, m: R, n: O, k: I, a: input, lda: I, b: weight, ldb: I, c: output, ldc: O,
         rowBias: bias)
}

/// Backward of `linearForward`; accumulates (`+=`) into every gradient given.
/// - Parameters:
///   - dInput: [R, I], or nil when the input needs no gradient.
///   - dWeight: [O, I].
///   - dBias: [O], or nil.
///   - dOutput: [R, O].
package func linearBackward(
    dInput: UnsafeMutablePointer<Float>?, dWeight: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>?,
    dOutput: UnsafePointer<Float>, input: UnsafePointer<Float>, weight: UnsafePointer<Float>, rows R: Int,
    inFeatures I: Int, outFeatures O: Int
) {
    if let dInput {
        gemm(transposeA: false, transposeB: false, m: R, n: I, k: O, a: dOutput, lda: O, b: weight, ldb: I, beta: 1,
            c: dInput, ldc: I)
    }
    gemm(transposeA: true, transposeB: false, m: O, n: I, k: R, a: dOutput, lda: O, b: input, ldb: I, beta: 1,
        c: dWeight, ldc: I)
    if let dBias { accumulateColumnSums(dBias, of: dOutput, rows: R, columns: O) }
}

/// sums[c] += Σ_r x[r, c], each column summed in row order (the same result for any thread count).
package func accumulateColumnSums(_ sums: UnsafeMutablePointer<Float>, of x: UnsafePointer<Float>, rows R: Int, columns C: Int) {
    ComputeThreads.parallelFor(C, grain: 64) { columns in
        for r in 0..<R {
            let row = x + r * C
            for c in columns { sums[c] += row[c] }
        }
    }
}
