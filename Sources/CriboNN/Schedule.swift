// SPDX-License-Identifier: Apache-2.0
// Schedules as values: DINO's cosine_scheduler (per iteration, warmup included) and the per-epoch teacher
// temperature ramp, precomputed in Double exactly as the numpy originals, indexed by the global step.
// reference: facebookresearch/dino utils.cosine_scheduler

import Foundation

/// A precomputed sequence of values indexed by global iteration (or epoch).
package struct Schedule: Equatable, Sendable {
    package let values: [Double]

    package init(values: [Double]) { self.values = values }

    /// DINO's cosine_scheduler: `linspace(startWarmup, base, warmupEpochs·itersPerEpoch)` (end points included),
    /// then `final + ½(base − final)(1 + cos(π·i/T))` for i in 0..<T, T = epochs·itersPerEpoch − warmup iterations.
    package static func cosine(
        base: Double, final: Double, epochs: Int, iterationsPerEpoch: Int, warmupEpochs: Int = 0,
        warmupStart: Double = 0
    ) -> Schedule {
        let warmupIterations = warmupEpochs * iterationsPerEpoch
        var values = linspace(warmupStart, base, count: warmupIterations)
        let total = epochs * iterationsPerEpoch - warmupIterations
        for i in 0..<max(total, 0) {
            values.append(final + 0.5 * (base - final) * (1 + cos(Double.pi * Double(i) / Double(total))))
        }
        precondition(values.count == epochs * iterationsPerEpoch, "Schedule.cosine: warmup longer than the run")
        return Schedule(values: values)
    }

    /// The DINO teacher-temperature schedule: `linspace(warmup, final, warmupEpochs)` then `final` up to `epochs`.
    package static func teacherTemperature(warmup: Double, final: Double, warmupEpochs: Int, epochs: Int) -> Schedule {
        let ramp = linspace(warmup, final, count: warmupEpochs)
        return Schedule(values: ramp + Array(repeating: final, count: max(0, epochs - warmupEpochs)))
    }

    /// The value at `step` (global iteration or epoch).
    package func value(at step: Int) -> Double {
        precondition(values.indices.contains(step), "Schedule: step \(step) outside 0..<\(values.count)")
        return values[step]
    }

    /// numpy.linspace(start, end, count) with the end point included (numpy's formula: start + i·step, last = end).
    package static func linspace(_ start: Double, _ end: Double, count: Int) -> [Double] {
        if count <= 0 { return [] }
        if count == 1 { return [start] }
        let step = (end - start) / Double(count - 1)
        var values = (0..<count).map { start + Double($0) * step }
        values[count - 1] = end
        return values
    }
}
