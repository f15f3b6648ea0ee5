// SPDX-License-Identifier: Apache-2.0
// The vectorised row reductions against Double sums, at every length around the 16- and 32-lane blocks.

import CriboTensor
import CriboTestSupport
import Testing

@Suite struct ReductionsTests {
    @Test func reductionsMatchDoubleSums() {
        for n in Array(0...70) + [95, 96, 97, 255, 256, 257, 1000] {
            let x = randomTensor([max(n, 1)], seed: UInt64(n + 1)), y = randomTensor([max(n, 1)], seed: UInt64(n + 500))
            var sum = 0.0, dot = 0.0, deviations = 0.0, squares = 0.0, magnitude = 0.0
            let shift: Float = 0.3
            for c in 0..<n {
                let (a, b) = (Double(x[flat: c]), Double(y[flat: c]))
                sum += a
                dot += a * b
                deviations += (a - Double(shift)) * (a - Double(shift))
                squares += a * a
                magnitude += abs(a) + abs(a * b)
            }
            // float32 sums of n unit-normal terms: error ≲ n·2⁻²⁴·Σ|terms|.
            let tolerance = Double(max(n, 1)) * 6e-8 * (magnitude + deviations + 1)
            #expect(abs(Double(reduceSum(x.pointer, count: n)) - sum) <= tolerance, "sum n=\(n)")
            #expect(abs(Double(reduceDot(x.pointer, y.pointer, count: n)) - dot) <= tolerance, "dot n=\(n)")
            #expect(abs(Double(reduceSquaredDeviations(x.pointer, from: shift, count: n)) - deviations) <= tolerance,
                    "squared deviations n=\(n)")
            #expect(abs(reduceSquaresInDouble(x.pointer, count: n) - squares) <= 1e-12 * max(squares, 1), "squares n=\(n)")
        }
    }

}
