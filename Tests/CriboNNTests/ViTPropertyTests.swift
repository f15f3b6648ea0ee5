// SPDX-License-Identifier: Apache-2.0
// Properties of the ViT: DropPath statistics and purity, results independent of the thread count, inference
// mode equal to training mode, initialisation as specified, vectorised exp/erf accuracy.

import CCriboShims
import CriboNN
import CriboTensor
import CriboTestSupport
import Foundation
import Testing

@Suite(.serialized) struct ViTPropertyTests {}

extension ViTPropertyTests {
    static let configuration = ViTConfiguration(imageSize: 32, patchSize: 8, embeddingDimension: 24, depth: 4, headCount: 3)

    func run(threads: Int, training: Bool, rate: Float = 0, keys: [UInt64]? = nil) -> [Float] {
        let saved = ComputeThreads.count
        defer { ComputeThreads.count = saved }
        ComputeThreads.count = threads
        let cfg = Self.configuration
        let vit = VisionTransformer(configuration: cfg)
        let parameters = ParameterArena(slots: VisionTransformer.parameterSlots(for: cfg))
        parameters.initialize(seed: 5)
        let activations = ViTActivations(configuration: cfg, batch: 3, gridHeight: 4, gridWidth: 4, isTraining: training)
        vit.forward(images: randomTensor([3, 3, 32, 32], seed: 6), parameters: parameters, activations: activations,
            dropPathRate: rate, dropPathKeys: keys)
        return activations.output.scalars
    }

    @Test func resultsDoNotDependOnThreadsOrMode() {
        let reference = run(threads: 1, training: true)
        #expect(run(threads: 2, training: true) == reference, "2 threads")
        #expect(run(threads: 3, training: false) == reference, "inference mode, 3 threads")
        let dropped = run(threads: 1, training: true, rate: 0.3, keys: [1, 2, 3])
        #expect(run(threads: 2, training: true, rate: 0.3, keys: [1, 2, 3]) == dropped, "DropPath is a pure function of the keys")
        #expect(run(threads: 1, training: true, rate: 0.3, keys: [4, 5, 6]) != dropped, "other keys, other masks")
    }

    @Test func dropPathKeepsWithTheRightProbabilityAndRescales() {
        let cfg = ViTConfiguration(imageSize: 8, patchSize: 8, embeddingDimension: 8, depth: 2, headCount: 1)
        let vit = VisionTransformer(configuration: cfg)
        let parameters = ParameterArena(slots: VisionTransformer.parameterSlots(for: cfg))
        let B = 4000
        let activations = ViTActivations(configuration: cfg, batch: B, gridHeight: 1, gridWidth: 1, isTraining: true)
        vit.forward(images: Tensor(zeros: [B, 3, 8, 8]), parameters: parameters, activations: activations,
            dropPathRate: 0.4, dropPathKeys: (0..<B).map { UInt64($0) })
        // Block 1 of 2 has rate 0.4: masks are 0 or 1/0.6, kept with probability 0.6, independently per branch.
        let masks = ViTPropertyTests.masks(activations, block: 1)
        #expect(masks.allSatisfy { $0 == 0 || abs($0 - 1 / 0.6) < 1e-6 })
        let attentionKept = Double(masks[0..<B].filter { $0 > 0 }.count) / Double(B)
        let mlpKept = Double(masks[B...].filter { $0 > 0 }.count) / Double(B)
        #expect(abs(attentionKept - 0.6) < 0.03 && abs(mlpKept - 0.6) < 0.03, "keep rates \(attentionKept), \(mlpKept)")
        let same = zip(masks[0..<B], masks[B...]).filter { ($0 > 0) == ($1 > 0) }.count
        #expect(abs(Double(same) / Double(B) - 0.52) < 0.03, "branches independent (P(same) = 0.6² + 0.4²)")
        #expect(ViTPropertyTests.masks(activations, block: 0).allSatisfy { $0 == 1 }, "block 0 has rate 0")
    }

    static func masks(_ activations: ViTActivations, block: Int) -> [Float] { activations.dropPathMultipliers(block: block) }

    @Test func initialisationFollowsTheSpec() {
        let cfg = ViTConfiguration.vitSmall()
        let slots = VisionTransformer.parameterSlots(for: cfg)
        #expect(slots.count == 4 + 12 * 12 + 2)
        #expect(slots.reduce(0) { $0 + $1.count } == 21_665_664, "vit_small backbone parameter count (spec §1)")
        #expect(slots.first { $0.key == "patch_embed.proj.weight" }?.initializer == .uniform(bound: 1 / 768.0.squareRoot()))
        #expect(slots.first { $0.key == "cls_token" }?.isDecayed == true, "cls_token is 3-D: decayed (spec §11.12)")
        #expect(slots.first { $0.key == "norm.weight" }?.isDecayed == false)
        let head = DINOHead.parameterSlots(for: DINOHeadConfiguration(inputDimension: 384, normLastLayer: true))
        let g = head.first { $0.key == "last_layer.weight_g" }!
        #expect(g.initializer == .constant(1) && !g.isTrainable && g.isDecayed, "g = 1, frozen with norm_last_layer")
        #expect(head.first { $0.key == "last_layer_c.weight_v" }?.initializer == .uniform(bound: 1.0 / 16))
        #expect(head.reduce(0) { $0 + $1.count } == 5_509_376 + 2 * (16_777_216 + 65_536), "head parameters (spec §2)")
        let arena = ParameterArena(slots: slots)
        arena.initialize(seed: 0)
        let qkv = arena.buffer(slot: slots.firstIndex { $0.key == "blocks.0.attn.qkv.weight" }!)
        let mean = qkv.reduce(0, +) / Float(qkv.count)
        let std = (qkv.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(qkv.count)).squareRoot()
        #expect(abs(mean) < 1e-4 && abs(std - 0.02) < 2e-4, "trunc-normal(0.02): mean \(mean), std \(std)")
        let again = ParameterArena(slots: slots)
        again.initialize(seed: 0)
        #expect(again.storage.scalars == arena.storage.scalars, "initialisation is a pure function of the seed")
    }

    @Test func vectorisedExpAndErfAreAccurate() {
        var worstErf = 0.0, worstExp = 0.0
        var x: Float = -7
        while x <= 7 {
            for i in 0..<8 {
                let value = x + Float(i) * 1e-4
                worstErf = max(worstErf, abs(Double(fastErf(value)) - erf(Double(value))))
            }
            x += 0.0137
        }
        x = -87
        while x <= 88 {
            let v = fastExp(x)
            worstExp = max(worstExp, abs(Double(v) - exp(Double(x))) / exp(Double(x)))
            x += 0.731
        }
        #expect(worstErf <= 3e-7, "erf max abs error \(worstErf)")
        #expect(worstExp <= 2.5e-7, "exp max rel error \(worstExp)")
        #expect(fastExp(-100) == 0)
    }

    @Test func simdSoftmaxUsesFastExpAndNormalizes() {
        // exponentiateNormalized (C, SIMD lanes + scalar tail) against fastExp(y − max) / Σ in Float64, for lengths
        // around the 8/16-lane boundaries and the attention rows of ViT-S/16 at 224 and 448 (197, 785 tokens).
        var rng = SplitMix64(seed: 17)
        for count in [1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 197, 785] {
            var row = (0..<count).map { _ in Float(rng.nextNormal() * 8) }
            if count > 3 { row[2] = -200 }  // exp underflows to exactly 0 after the shift
            let maximum = row.max()!
            let exps = row.map { Double(fastExp($0 - maximum)) }
            let sum = exps.reduce(0, +)
            let input = row
            for level in [2, 1, 0] {  // AVX-512, AVX2, scalar (as far as this CPU has them)
                cribo_simd_limit(Int32(level))
                defer { cribo_simd_limit(2) }
                row = input
                row.withUnsafeMutableBufferPointer { exponentiateNormalized($0.baseAddress!, count: count) }
                for k in 0..<count {
                    let expected = exps[k] / sum
                    #expect(abs(Double(row[k]) - expected) <= 4e-7 * expected + 1e-30,
                            "count \(count), k \(k), SIMD level \(level): \(row[k]) vs \(expected)")
                }
                if count > 3 { #expect(row[2] == 0) }
                #expect(abs(row.reduce(0, +) - 1) < 1e-5)
            }
        }
    }

    @Test func simdGELUEqualsTheSwiftFormulasBitForBit() {
        // geluForward / geluBackward (C lanes + scalar tail) against the formulas written with the Swift fastErf and
        // fastExp: equal bits, over [-12, 12] (both erf branches, the |x| ≥ 4 tail, the 1 and 4 boundaries), ±0.
        var inputs: [Float] = [0, -0.0, 1, -1, 4, -4, 0.999_999_9, 3.999_999_8, 1e-30, -1e-30, 80, -80]
        var rng = SplitMix64(seed: 31)
        for _ in 0..<4000 { inputs.append(Float(rng.nextUniform(-12, 12))) }
        for _ in 0..<1000 { inputs.append(Float(rng.nextNormal())) }
        inputs.append(contentsOf: [0.5, -2.5, 7])  // a tail shorter than one vector
        let dOutput = inputs.indices.map { Float(($0 % 7) - 3) * 0.25 }
        let startBackward = inputs.indices.map { Float($0 % 5) * 0.1 }
        var expectedForward = [Float](repeating: 0, count: inputs.count), expectedBackward = startBackward
        for (i, x) in inputs.enumerated() {
            expectedForward[i] = 0.5 * x * (1 + fastErf(x * 0.707_106_781_186_547_6))
            let cdf = 0.5 * (1 + fastErf(x * 0.707_106_781_186_547_6))
            let pdf = fastExp(-0.5 * x * x) * 0.398_942_280_401_432_7
            expectedBackward[i] += dOutput[i] * (cdf + x * pdf)
        }
        // the Swift entry points (which may split the work over threads), then the C kernel at each SIMD level
        var forward = [Float](repeating: 0, count: inputs.count), backward = startBackward
        geluForward(output: &forward, input: inputs, count: inputs.count)
        geluBackward(dInput: &backward, dOutput: dOutput, input: inputs, count: inputs.count)
        var results = [("entry points", forward, backward)]
        for level in [2, 1, 0] {
            cribo_simd_limit(Int32(level))
            defer { cribo_simd_limit(2) }
            var (f, b) = ([Float](repeating: 0, count: inputs.count), startBackward)
            cribo_gelu_forward(&f, inputs, Int64(inputs.count))
            cribo_gelu_backward(&b, dOutput, inputs, Int64(inputs.count))
            results.append(("SIMD level \(level)", f, b))
        }
        for (name, forward, backward) in results {
            let forwardDiffers = inputs.indices.filter { forward[$0].bitPattern != expectedForward[$0].bitPattern }
            let backwardDiffers = inputs.indices.filter { backward[$0].bitPattern != expectedBackward[$0].bitPattern }
            #expect(forwardDiffers.isEmpty && backwardDiffers.isEmpty,
                    "\(name): forward differs at x = \(forwardDiffers.prefix(3).map { inputs[$0] }), backward at x = \(backwardDiffers.prefix(3).map { inputs[$0] })")
        }
    }
}
