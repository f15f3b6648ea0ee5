// SPDX-License-Identifier: Apache-2.0
// Exact GELU (torch.nn.GELU(approximate='none')): y = x·Φ(x) = ½x(1 + erf(x/√2)), with fastErf and fastExp of
// VectorMath.swift, evaluated in C (cribo_kernels.c: AVX-512 or AVX2 lanes, the same roundings as the Swift
// functions, tested bit for bit). Legend: n element count.
// reference: https://pytorch.org/docs/stable/generated/torch.nn.GELU.html

import CCriboShims
import CriboTensor

/// y = ½x(1 + erf(x/√2)).
/// - Parameters:
///   - output: [n]; may alias `input`.
///   - input: [n].
package func geluForward(output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, count n: Int) {
    // 0.5·x·(1 + fastErf(x·√½)) for each element, in C (AVX-512 / AVX2 lanes, the same roundings).
    ComputeThreads.parallelFor(n, grain: 4096) { range in
        cribo_gelu_forward(output + range.lowerBound, input + range.lowerBound, Int64(range.count))
    }
}

/// Backward of `geluForward`; accumulates into `dInput`.
///
/// Concretely: dy/dx = Φ(x) + x·φ(x), φ(x) = e^(−x²/2)/√(2π).
package func geluBackward(
    dInput: UnsafeMutablePointer<Float>, dOutput: UnsafePointer<Float>, input: UnsafePointer<Float>, count n: Int
) {
    // For each element: cdf = 0.5·(1 + fastErf(x·√½)), pdf = fastExp(−0.5·x·x)/√(2π), dx += dy·(cdf + x·pdf); in C.
    ComputeThreads.parallelFor(n, grain: 4096) { range in
        let i = range.lowerBound
        cribo_gelu_backward(dInput + i, dOutput + i, input + i, Int64(range.count))
    }
}
