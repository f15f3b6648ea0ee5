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
        var i = range.lowerBound
        while i + 8 <= range.upperBound {
            let x = UnsafeRawPointer(input + i).loadUnaligned(as: SIMD8<Float>.self)
            let y = 0.5 * x * (1 + vectorErf(x * 0.707_106_781_186_547_6))
            UnsafeMutableRawPointer(output + i).storeBytes(of: y, as: SIMD8<Float>.self)
            i += 8
        }
        if i < range.upperBound {
            var x = SIMD8<Float>(repeating: 0)
            for j in i..<range.upperBound { x[j - i] = input[j] }
            let y = 0.5 * x * (1 + vectorErf(x * 0.707_106_781_186_547_6))
            for j in i..<range.upperBound { output[j] = y[j - i] }
        }
    }
}

/// Backward of `geluForward`; accumulates into `dInput`.
///
/// Concretely: dy/dx = Φ(x) + x·φ(x), φ(x) = e^(−x²/2)/√(2π).
package func geluBackward(
    dInput: UnsafeMutablePointer<Float>, dOutput: UnsafePointer<Float>, input: UnsafePointer<Float>, count n: Int
) {
    @inline(__always) func derivative(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let cdf = 0.5 * (1 + vectorErf(x * 0.707_106_781_186_547_6))
        let pdf = vectorExp(-0.5 * x * x) * 0.398_942_280_401_432_7
        return cdf + x * pdf
    }
    ComputeThreads.parallelFor(n, grain: 4096) { range in
        var i = range.lowerBound
        while i + 8 <= range.upperBound {
            let x = UnsafeRawPointer(input + i).loadUnaligned(as: SIMD8<Float>.self)
            let dy = UnsafeRawPointer(dOutput + i).loadUnaligned(as: SIMD8<Float>.self)
            let dx = UnsafeRawPointer(dInput + i).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(dInput + i).storeBytes(of: dx + dy * derivative(x), as: SIMD8<Float>.self)
            i += 8
        }
        if i < range.upperBound {
            var x = SIMD8<Float>(repeating: 0)
            for j in i..<range.upperBound { x[j - i] = input[j] }
            let d = derivative(x)
            for j in i..<range.upperBound { dInput[j] += dOutput[j] * d[j - i] }
        }
    }
}
