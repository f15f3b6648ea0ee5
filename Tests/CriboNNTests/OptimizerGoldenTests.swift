// SPDX-License-Identifier: Apache-2.0
// AdamW (torch.optim.AdamW with DINO's two groups and changing lr/wd), per-parameter clipping and DINO's
// cosine schedules against the golden script's PyTorch/numpy values.

import CCriboShims
import CriboNN
import CriboTensor
import CriboTestSupport
import Testing

@Suite struct OptimizerGoldenTests {}

extension OptimizerGoldenTests {
    @Test func adamWMatchesTorchWithDINOGroups() throws {
        let g = try golden("adamw.safetensors")
        let arena = ParameterArena(slots: [
            ParameterSlot(key: "p0", shape: [5, 3], initializer: .constant(0)),
            ParameterSlot(key: "p1", shape: [3], initializer: .constant(0)),
        ])
        #expect(arena.slots[0].isDecayed && !arena.slots[1].isDecayed, "DINO groups: 2-D decayed, 1-D not")
        try load(arena, from: g)
        let gradients = ParameterArena(like: arena)
        let optimizer = AdamW(like: arena)
        let rates: [Float] = [1e-2, 5e-3, 2e-2, 1e-3]
        let decays: [Float] = [0.04, 0.1, 0.2, 0.4]
        let adamRelative: Float = 1e-6
        for t in 0..<4 {
            for key in ["p0", "p1"] {
                let grad = try g.tensor("grad\(t).\(key)")
                gradients.pointer(key).update(from: grad.pointer, count: grad.count)
            }
            optimizer.step(parameters: arena, gradients: gradients, learningRate: rates[t], weightDecay: decays[t])
            for (i, key) in ["p0", "p1"].enumerated() {
                expectClose(UnsafeBufferPointer(arena.buffer(slot: i)), try g.tensor("step\(t).\(key)"), atol: 1e-7,
                    rtol: adamRelative, "AdamW step \(t) \(key)")
            }
        }
    }

    @Test func frozenSlotsAreSkippedEntirely() {
        let arena = ParameterArena(slots: [
            ParameterSlot(key: "head.last_layer.weight_v", shape: [2, 2], initializer: .constant(1)),
            ParameterSlot(key: "head.mlp.0.weight", shape: [2, 2], initializer: .constant(1)),
        ])
        arena.initialize(seed: 0)
        let gradients = ParameterArena(like: arena)
        gradients.storage.pointer.update(repeating: 0.5, count: gradients.storage.count)
        let optimizer = AdamW(like: arena)
        optimizer.step(parameters: arena, gradients: gradients, learningRate: 0.1, weightDecay: 0.5, skip: isLastLayer)
        #expect(arena.buffer(slot: 0).allSatisfy { $0 == 1 }, "frozen last layer: no update, no decay")
        #expect(arena.buffer(slot: 1).allSatisfy { $0 < 1 }, "other slots update")
        #expect(optimizer.steps == [0, 1], "a frozen slot keeps no step count (fresh state when unfrozen)")
    }

    @Test func perParameterClippingMatchesDINO() throws {
        let g = try golden("adamw.safetensors")
        let arena = ParameterArena(slots: [
            ParameterSlot(key: "a", shape: [4, 4], initializer: .constant(0)),
            ParameterSlot(key: "b", shape: [3], initializer: .constant(0)),
        ])
        try load(arena, from: g, prefix: "clipin.")
        clipGradientsPerParameter(arena, maxNorm: 0.3)
        expectClose(UnsafeBufferPointer(arena.buffer(slot: 0)), try g.tensor("clipout.a"), atol: 1e-7, rtol: 1e-6, "clipped a")
        expectClose(UnsafeBufferPointer(arena.buffer(slot: 1)), try g.tensor("clipout.b"), atol: 0, rtol: 0, "untouched b")
    }

    @Test func clippingLargeSlotsIsExactAndThreadIndependent() {
        // Slots spanning several 65536-element blocks (and an empty one): norms against a Double sum, and the same
        // clipped bits at 1 and 2 threads.
        let slots = [ParameterSlot(key: "big", shape: [3, 70_001], initializer: .constant(0)),
                     ParameterSlot(key: "empty", shape: [0], initializer: .constant(0)),
                     ParameterSlot(key: "small", shape: [5], initializer: .constant(0))]
        let saved = ComputeThreads.count
        defer { ComputeThreads.count = saved }
        var results: [[Float]] = []
        for threads in [1, 2] {
            ComputeThreads.count = threads
            let arena = ParameterArena(slots: slots)
            var rng = SplitMix64(seed: 3)
            var squares = 0.0
            let big = arena.buffer(slot: 0)
            for j in big.indices {
                big[j] = Float(rng.nextNormal()) * 0.01
                squares += Double(big[j]) * Double(big[j])
            }
            arena.buffer(slot: 2).update(repeating: 0.001)
            let norms = clipGradientsPerParameter(arena, maxNorm: 1)
            #expect(abs(Double(norms[0]) - squares.squareRoot()) <= 1e-6 * squares.squareRoot(), "norm \(norms[0])")
            #expect(norms[1] == 0 && abs(Double(norms[2]) - 0.001 * 5.0.squareRoot()) < 1e-9)
            // ‖g‖ ≈ 0.01·√210003 ≈ 4.6 > 1: clipped to norm·1/(norm + 1e-6) ≈ 1; the small slot is left alone.
            let clipped = big.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            #expect(abs(clipped - Double(norms[0]) / (Double(norms[0]) + 1e-6)) < 1e-5, "clipped norm \(clipped)")
            #expect(arena.buffer(slot: 2).allSatisfy { $0 == 0.001 })
            results.append(Array(arena.storage.scalars))
        }
        #expect(results[0] == results[1], "clipping depends on the thread count")
    }

    @Test func schedulesMatchDINOCosineScheduler() throws {
        let g = try golden("schedule.safetensors")
        let cases: [(String, Schedule)] = [
            ("lr", .cosine(base: 0.5, final: 0.01, epochs: 5, iterationsPerEpoch: 7, warmupEpochs: 2, warmupStart: 0)),
            ("wd", .cosine(base: 0.04, final: 0.4, epochs: 5, iterationsPerEpoch: 7)),
            ("momentum", .cosine(base: 0.996, final: 1.0, epochs: 5, iterationsPerEpoch: 7)),
            ("teacher_temp", .teacherTemperature(warmup: 0.04, final: 0.07, warmupEpochs: 3, epochs: 5)),
        ]
        for (name, schedule) in cases {
            let expected = try g.doubles(name)
            #expect(schedule.values.count == expected.count, "\(name): \(schedule.values.count) values vs \(expected.count)")
            let worst = zip(schedule.values, expected).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= 1e-15, "\(name): max difference \(worst) from numpy")
        }
    }

    @Test func teacherEMAFollowsTorchOrder() {
        let slots = [ParameterSlot(key: "w", shape: [3], initializer: .constant(0))]
        let teacher = ParameterArena(slots: slots), student = ParameterArena(slots: slots)
        teacher.storage.pointer.update(from: [1, 2, 3], count: 3)
        student.storage.pointer.update(from: [3, 2, 1], count: 3)
        updateTeacher(teacher, student: student, momentum: 0.75)
        // 0.75·t + 0.25·s, exact in binary
        #expect(Array(teacher.buffer(slot: 0)) == [1.5, 2, 2.5])
    }

    @Test(arguments: [0, 1])
    func simdAdamWEqualsTheScalarLoopBitForBit(decayed: Int) {
        // cribo_adamw_update (AVX-512/AVX2 lanes and a scalar tail) against the update written out in Swift, one
        // rounding per operation: equal bits for every element, over lengths that leave tails of every size.
        var rng = SplitMix64(seed: 23)
        for count in [1, 7, 8, 15, 16, 17, 100, 1031] {
            var p = (0..<count).map { _ in Float(rng.nextNormal()) }
            let g = (0..<count).map { _ in Float(rng.nextNormal() * 1e-2) }
            var m = (0..<count).map { _ in Float(rng.nextNormal() * 1e-3) }
            var v = (0..<count).map { _ in Float(rng.nextUniform() * 1e-4) }
            let (decay, b1, b2, eps, stepSize, root): (Float, Float, Float, Float, Float, Float) = (0.9996, 0.9, 0.999, 1e-8, 3e-4, 0.0447)
            var (ep, em, ev) = (p, m, v)
            for j in 0..<count {
                if decayed == 1 { ep[j] *= decay }
                em[j] = b1 * em[j] + (1 - b1) * g[j]
                ev[j] = b2 * ev[j] + (1 - b2) * g[j] * g[j]
                let denominator = ev[j].squareRoot() / root + eps
                ep[j] -= stepSize * (em[j] / denominator)
            }
            let (p0, m0, v0) = (p, m, v)
            for level in [2, 1, 0] {  // AVX-512, AVX2, scalar (as far as this CPU has them)
                cribo_simd_limit(Int32(level))
                defer { cribo_simd_limit(2) }
                (p, m, v) = (p0, m0, v0)
                cribo_adamw_update(&p, g, &m, &v, Int64(count), Int32(decayed), decay, b1, b2, eps, stepSize, root)
                #expect(p.map(\.bitPattern) == ep.map(\.bitPattern) && m.map(\.bitPattern) == em.map(\.bitPattern)
                        && v.map(\.bitPattern) == ev.map(\.bitPattern), "count \(count), SIMD level \(level)")
            }
        }
    }
}
