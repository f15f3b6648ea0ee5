// SPDX-License-Identifier: Apache-2.0
// Exact GELU (torch.nn.GELU(approximate='none')): y = x·Φ(x) = ½x(1 + erf(x/√2)), with the vectorised erf of
// VectorMath.swift. Legend: n element count.
// reference: https://pytorch.org/docs/stable/generated/torch.nn.GELU.html

import CriboTensor

/// y = ½x(1 + erf(x/√2)).
/// - Parameters:
///   - output: [n]; may alias `input`.
///   - input: [n].
package func geluForward(output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, count n: Int) {
    ComputeThreads.parallelFor(n, grain: 4096) { range in
        for i in range {
            let x = input[i]
            output[i] = 0.5 * x * (1 + fastErf(x * 0.707_106_781_186_547_6))
        }
    }
}

/// Backward of `geluForward`; accumulates into `dInput`.
///
/// Concretely: dy/dx = Φ(x) + x·φ(x), φ(x) = e^(−x²/2)/√(2π).
package func geluBackward(
    dInput: UnsafeMutablePointer<Float>, dOutput: UnsafePointer<Float>, input: UnsafePointer<Float>, count n: Int
) {
    ComputeThreads.parallelFor(n, grain: 4096) { range in
        for i in range {
            let x = input[i]
            let cdf = 0.5 * (1 + fastErf(x * 0.707_106_781_186_547_6))
            let pdf = fastExp(-0.5 * x * x) * 0.398_942_280_401_432_7
            dInput[i] += dOutput[i] * (cdf + x * pdf)
        }
    }
}
