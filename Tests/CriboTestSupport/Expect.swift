// SPDX-License-Identifier: Apache-2.0
// Test helpers: closeness checks that report where and how much values differ, golden-file access, and the
// finite-difference gradient check.

import CriboTensor
import Foundation
import Testing

/// The folder holding the committed golden files (Tests/CriboTestSupport/Golden).
package let goldenDirectory: String = {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden").path
}()

/// Opens a committed golden file by name (e.g. "linear.safetensors").
package func golden(_ name: String) throws -> TensorFile {
    try TensorFile(path: goldenDirectory + "/" + name)
}

/// The result of comparing two float sequences.
package struct Closeness: CustomStringConvertible {
    package var maxAbsoluteDifference: Float = 0
    package var worstIndex: Int = -1
    package var failures: Int = 0
    package var firstPairs: [(Int, Float, Float)] = []
    package var description: String {
        let pairs = firstPairs.map { "[\($0.0)] \($0.1) vs \($0.2)" }.joined(separator: ", ")
        return "max |diff| \(maxAbsoluteDifference) at \(worstIndex); \(failures) outside tolerance; first: \(pairs)"
    }
}

/// Compares element-wise: |a − e| ≤ atol + rtol·|e|. Shapes must match.
package func closeness(_ actual: UnsafeBufferPointer<Float>, _ expected: UnsafeBufferPointer<Float>, atol: Float, rtol: Float) -> Closeness {
    var result = Closeness()
    for i in 0..<min(actual.count, expected.count) {
        let difference = abs(actual[i] - expected[i])
        if !(difference <= result.maxAbsoluteDifference) {
            result.maxAbsoluteDifference = difference.isNaN ? .infinity : difference
            result.worstIndex = i
        }
        if !(difference <= atol + rtol * abs(expected[i])) {
            result.failures += 1
            if result.firstPairs.count < 5 { result.firstPairs.append((i, actual[i], expected[i])) }
        }
    }
    return result
}

/// Expects `actual` to match `expected` (shape first, then values within atol + rtol·|expected|).
package func expectClose(
    _ actual: Tensor, _ expected: Tensor, atol: Float, rtol: Float, _ label: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(actual.count == expected.count, "\(label): \(actual.count) elements vs \(expected.count) (shapes \(actual.shape) vs \(expected.shape))", sourceLocation: sourceLocation)
    guard actual.count == expected.count else { return }
    let result = closeness(actual.buffer, expected.buffer, atol: atol, rtol: rtol)
    #expect(result.failures == 0, "\(label): \(result)", sourceLocation: sourceLocation)
}

/// Expects a raw buffer to match a golden tensor.
package func expectClose(
    _ actual: UnsafeBufferPointer<Float>, _ expected: Tensor, atol: Float, rtol: Float, _ label: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(actual.count == expected.count, "\(label): \(actual.count) elements vs \(expected.count) (\(expected.shape))", sourceLocation: sourceLocation)
    guard actual.count == expected.count else { return }
    let result = closeness(actual, expected.buffer, atol: atol, rtol: rtol)
    #expect(result.failures == 0, "\(label): \(result)", sourceLocation: sourceLocation)
}

/// A tensor of standard-normal values from a seeded stream.
package func randomTensor(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
    var rng = SplitMix64(seed: seed)
    let t = Tensor(zeros: shape)
    for i in 0..<t.count { t[flat: i] = Float(rng.nextNormal()) * scale }
    return t
}

/// Central-difference gradient check of the scalar L(x) = Σ f(x)·dOut, evaluated in Double.
///
/// `loss` recomputes the scalar for the current contents of `input`; `analytic` is the gradient to check.
/// Each probed element is perturbed by ±h; the check passes when |num − ana| ≤ atol + rtol·|num|.
/// Returns the worst mismatch description, or nil when all probed elements pass.
package func gradientCheck(
    input: Tensor, analytic: Tensor, h: Float = 1e-2, atol: Double = 2e-3, rtol: Double = 2e-2, probes: Int = 24,
    seed: UInt64 = 1, loss: () -> Double
) -> String? {
    var rng = SplitMix64(seed: seed)
    let indices = input.count <= probes ? Array(0..<input.count) : (0..<probes).map { _ in rng.nextInt(below: input.count) }
    for i in indices {
        let original = input[flat: i]
        input[flat: i] = original + h
        let plus = loss()
        input[flat: i] = original - h
        let minus = loss()
        input[flat: i] = original
        let numeric = (plus - minus) / (2 * Double(h))
        let analyticValue = Double(analytic[flat: i])
        if abs(numeric - analyticValue) > atol + rtol * abs(numeric) {
            return "element \(i): numeric \(numeric) vs analytic \(analyticValue)"
        }
    }
    return nil
}

/// Σ a·b in Double.
package func dot(_ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>) -> Double {
    var sum = 0.0
    for i in 0..<min(a.count, b.count) { sum += Double(a[i]) * Double(b[i]) }
    return sum
}
