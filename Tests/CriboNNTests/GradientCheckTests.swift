// SPDX-License-Identifier: Apache-2.0
// Central finite differences (loss Σ output·dOutput with a random dOutput, evaluated in Double) against every
// hand-written backward, including a whole ViT with DropPath active and an interpolated positional embedding.

import CriboNN
import CriboTensor
import CriboTestSupport
import Testing

@Suite struct GradientCheckTests {}

extension GradientCheckTests {
    @Test func layerNorm() {
        let (R, C) = (4, 6)
        let x = randomTensor([R, C], seed: 1), w = randomTensor([C], seed: 2), b = randomTensor([C], seed: 3)
        let dOut = randomTensor([R, C], seed: 4)
        let out = Tensor(zeros: [R, C]), mean = Tensor(zeros: [R]), rstd = Tensor(zeros: [R])
        func loss() -> Double {
            layerNormForward(output: out.pointer, mean: mean.pointer, rstd: rstd.pointer, input: x.pointer, weight: w.pointer,
                bias: b.pointer, rows: R, channels: C)
            return dot(out.buffer, dOut.buffer)
        }
        _ = loss()
        let dx = Tensor(zeros: [R, C]), dw = Tensor(zeros: [C]), db = Tensor(zeros: [C])
        layerNormBackward(dInput: dx.pointer, dWeight: dw.pointer, dBias: db.pointer, dOutput: dOut.pointer, input: x.pointer,
            weight: w.pointer, mean: mean.pointer, rstd: rstd.pointer, rows: R, channels: C)
        #expect(gradientCheck(input: x, analytic: dx, loss: loss) == nil)
        #expect(gradientCheck(input: w, analytic: dw, loss: loss) == nil)
        #expect(gradientCheck(input: b, analytic: db, loss: loss) == nil)
    }

    @Test func geluAndSoftmaxCrossEntropy() {
        let x = randomTensor([40], seed: 5, scale: 2), dOut = randomTensor([40], seed: 6)
        let out = Tensor(zeros: [40])
        func geluLoss() -> Double {
            geluForward(output: out.pointer, input: x.pointer, count: 40)
            return dot(out.buffer, dOut.buffer)
        }
        let dx = Tensor(zeros: [40])
        geluBackward(dInput: dx.pointer, dOutput: dOut.pointer, input: x.pointer, count: 40)
        #expect(gradientCheck(input: x, analytic: dx, loss: geluLoss) == nil)

        let (R, K) = (3, 11)
        let logits = randomTensor([R, K], seed: 7), target = Tensor(zeros: [R, K])
        let raw = randomTensor([R, K], seed: 8, scale: 3)
        softmaxForward(output: target.pointer, input: raw.pointer, rows: R, columns: K)
        let losses = Tensor(zeros: [R]), weights = Tensor(shape: [R], values: [0.2, 0.5, 0.3])
        func ceLoss() -> Double {
            crossEntropy(loss: losses.pointer, dLogits: nil, target: target.pointer, logits: logits.pointer, temperature: 0.1,
                rowWeights: nil, rows: R, columns: K)
            return dot(losses.buffer, weights.buffer)
        }
        let dLogits = Tensor(zeros: [R, K])
        crossEntropy(loss: losses.pointer, dLogits: dLogits.pointer, target: target.pointer, logits: logits.pointer, temperature: 0.1,
            rowWeights: weights.pointer, rows: R, columns: K)
        #expect(gradientCheck(input: logits, analytic: dLogits, h: 1e-3, loss: ceLoss) == nil)
    }

    @Test func normalizeAndWeightNorm() {
        let (R, C) = (3, 5)
        let x = randomTensor([R, C], seed: 9), dOut = randomTensor([R, C], seed: 10)
        let out = Tensor(zeros: [R, C]), norms = Tensor(zeros: [R])
        func normLoss() -> Double {
            l2NormalizeForward(output: out.pointer, norms: norms.pointer, input: x.pointer, rows: R, columns: C)
            return dot(out.buffer, dOut.buffer)
        }
        _ = normLoss()
        let dx = Tensor(zeros: [R, C])
        l2NormalizeBackward(dInput: dx.pointer, dOutput: dOut.pointer, output: out.pointer, norms: norms.pointer, input: x.pointer,
            rows: R, columns: C)
        #expect(gradientCheck(input: x, analytic: dx, loss: normLoss) == nil)

        let g = randomTensor([R], seed: 11), v = randomTensor([R, C], seed: 12)
        let w = Tensor(zeros: [R, C])
        func weightLoss() -> Double {
            weightNormForward(weight: w.pointer, norms: norms.pointer, g: g.pointer, v: v.pointer, rows: R, columns: C)
            return dot(w.buffer, dOut.buffer)
        }
        _ = weightLoss()
        let dg = Tensor(zeros: [R]), dv = Tensor(zeros: [R, C])
        weightNormBackward(dG: dg.pointer, dV: dv.pointer, dWeight: dOut.pointer, g: g.pointer, v: v.pointer, norms: norms.pointer,
            rows: R, columns: C)
        #expect(gradientCheck(input: g, analytic: dg, loss: weightLoss) == nil)
        #expect(gradientCheck(input: v, analytic: dv, loss: weightLoss) == nil)
    }

    @Test func attentionCore() {
        let (B, N, C, H) = (2, 4, 8, 2)
        let qkv = randomTensor([B, N, 3 * C], seed: 13), dOut = randomTensor([B, N, C], seed: 14)
        let out = Tensor(zeros: [B, N, C]), probabilities = Tensor(zeros: [B, H, N, N])
        func loss() -> Double {
            attentionForward(output: out.pointer, probabilities: probabilities.pointer, qkv: qkv.pointer, batch: B, tokens: N,
                channels: C, heads: H)
            return dot(out.buffer, dOut.buffer)
        }
        _ = loss()
        let dQKV = Tensor(zeros: [B, N, 3 * C])
        attentionBackward(dQKV: dQKV.pointer, dOutput: dOut.pointer, qkv: qkv.pointer, probabilities: probabilities.pointer,
            batch: B, tokens: N, channels: C, heads: H)
        #expect(gradientCheck(input: qkv, analytic: dQKV, probes: 48, loss: loss) == nil)
    }

    @Test func wholeViTWithDropPathAndInterpolatedPositions() {
        // A 3-block model on a 3×2 patch grid (trained grid 2×2 ⇒ interpolation), DropPath 0.5 with fixed keys.
        let cfg = ViTConfiguration(imageSize: 8, patchSize: 4, embeddingDimension: 8, depth: 3, headCount: 2)
        let vit = VisionTransformer(configuration: cfg)
        let parameters = ParameterArena(slots: VisionTransformer.parameterSlots(for: cfg))
        parameters.initialize(seed: 3)
        // Larger than DINO's init so that every path carries gradient signal.
        for i in 0..<parameters.storage.count { parameters.storage[flat: i] += Float(SplitMix64.finalize(UInt64(i)) % 1000) / 5000 - 0.1 }
        let gradients = ParameterArena(like: parameters)
        let B = 2
        let activations = ViTActivations(configuration: cfg, batch: B, gridHeight: 3, gridWidth: 2, isTraining: true)
        let scratch = ViTGradientScratch(configuration: cfg, batch: B, gridHeight: 3, gridWidth: 2)
        let images = randomTensor([B, 3, 12, 8], seed: 15)
        let dOut = randomTensor([B, 7, 8], seed: 16)
        let keys: [UInt64] = [11, 12]
        func loss() -> Double {
            vit.forward(images: images, parameters: parameters, activations: activations, dropPathRate: 0.5, dropPathKeys: keys)
            return dot(activations.output.buffer, dOut.buffer)
        }
        _ = loss()
        let masks = (0..<cfg.depth).map { vit.dropPathRate(block: $0, rate: 0.5) }
        #expect(masks == [0, 0.25, 0.5], "linear DropPath ramp")
        vit.backward(dOutput: dOut, parameters: parameters, gradients: gradients, activations: activations, scratch: scratch)
        for (i, slot) in parameters.slots.enumerated() {
            let view = Tensor(zeros: slot.shape), analytic = Tensor(zeros: slot.shape)
            view.pointer.update(from: parameters.buffer(slot: i).baseAddress!, count: slot.count)
            analytic.pointer.update(from: gradients.buffer(slot: i).baseAddress!, count: slot.count)
            let failure = gradientCheck(input: view, analytic: analytic, h: 5e-3, probes: 6, seed: UInt64(i)) {
                parameters.buffer(slot: i).baseAddress!.update(from: view.pointer, count: slot.count)
                return loss()
            }
            parameters.buffer(slot: i).baseAddress!.update(from: view.pointer, count: slot.count)
            #expect(failure == nil, "\(slot.key): \(failure ?? "")")
        }
    }
}
