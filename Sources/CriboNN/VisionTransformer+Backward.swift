// SPDX-License-Identifier: Apache-2.0
// The ViT backward pass: the calls of `forward` in exactly the reverse order. Gradients accumulate (+=) into a
// gradient arena with the parameters' layout; the caller zeroes it once per step.
// Legend: B images, T tokens, C channels, F MLP width.

import CriboTensor

extension VisionTransformer {
    /// Backpropagates dL/d(final-norm tokens) through the saved forward pass.
    /// - Parameters:
    ///   - dOutput: [B, T, C] the gradient of the loss with respect to `activations.output`.
    ///   - parameters: the arena used in the forward pass.
    ///   - gradients: an arena with the same layout; every parameter gradient is accumulated into it.
    ///   - activations: the training-mode activations of the forward pass.
    ///   - scratch: gradient buffers for this batch and grid.
    package func backward(
        dOutput: Tensor, parameters: ParameterArena, gradients: ParameterArena, activations: ViTActivations,
        scratch: ViTGradientScratch
    ) {
        let cfg = configuration
        let B = activations.batch, Hp = activations.gridHeight, Wp = activations.gridWidth
        let C = cfg.embeddingDimension, F = cfg.mlpHiddenDimension, P = cfg.patchSize, H = cfg.headCount
        let T = 1 + Hp * Wp
        precondition(activations.isTraining, "VisionTransformer.backward needs training-mode activations")
        precondition(dOutput.shape == [B, T, C], "VisionTransformer.backward: expected dOutput [\(B), \(T), \(C)], got \(dOutput.shape)")

        let dX = scratch.stream.pointer
        scratch.stream.zero()
        layerNormBackward(
            dInput: dX, dWeight: p(gradients, "norm.weight"), dBias: p(gradients, "norm.bias"), dOutput: dOutput.pointer,
            input: activations.stream(cfg.depth).pointer, weight: p(parameters, "norm.weight"),
            mean: activations.finalMean.pointer, rstd: activations.finalRstd.pointer, rows: B * T, channels: C)

        for l in stride(from: cfg.depth - 1, through: 0, by: -1) {
            let a = activations.block(l)
            let masks = activations.dropMasks[l].pointer
            let name = "blocks.\(l)."
            // MLP branch: x_next = x_mid + m2·fc2(GELU(fc1(LN2(x_mid)))); dX becomes dL/dx_mid.
            scaleRows(output: scratch.branch.pointer, input: dX, masks: masks + B, batch: B, rowSize: T * C)
            scratch.hidden.zero()
            linearBackward(
                dInput: scratch.hidden.pointer, dWeight: p(gradients, name + "mlp.fc2.weight"),
                dBias: p(gradients, name + "mlp.fc2.bias"), dOutput: scratch.branch.pointer, input: a.activated.pointer,
                weight: p(parameters, name + "mlp.fc2.weight"), rows: B * T, inFeatures: F, outFeatures: C)
            // GELU backward in place: dHidden ← dActivated·GELU'(hidden), written into `activated` (no longer needed).
            a.activated.zero()
            geluBackward(dInput: a.activated.pointer, dOutput: scratch.hidden.pointer, input: a.hidden.pointer, count: B * T * F)
            scratch.normalized.zero()
            linearBackward(
                dInput: scratch.normalized.pointer, dWeight: p(gradients, name + "mlp.fc1.weight"),
                dBias: p(gradients, name + "mlp.fc1.bias"), dOutput: a.activated.pointer, input: a.ln2.pointer,
                weight: p(parameters, name + "mlp.fc1.weight"), rows: B * T, inFeatures: C, outFeatures: F)
            layerNormBackward(
                dInput: dX, dWeight: p(gradients, name + "norm2.weight"), dBias: p(gradients, name + "norm2.bias"),
                dOutput: scratch.normalized.pointer, input: a.middle.pointer, weight: p(parameters, name + "norm2.weight"),
                mean: a.ln2Mean.pointer, rstd: a.ln2Rstd.pointer, rows: B * T, channels: C)
            // Attention branch: x_mid = x + m1·proj(attn(LN1(x))); dX becomes dL/dx.
            scaleRows(output: scratch.branch.pointer, input: dX, masks: masks, batch: B, rowSize: T * C)
            scratch.attention.zero()
            linearBackward(
                dInput: scratch.attention.pointer, dWeight: p(gradients, name + "attn.proj.weight"),
                dBias: p(gradients, name + "attn.proj.bias"), dOutput: scratch.branch.pointer, input: a.attention.pointer,
                weight: p(parameters, name + "attn.proj.weight"), rows: B * T, inFeatures: C, outFeatures: C)
            scratch.qkv.zero()
            attentionBackward(
                dQKV: scratch.qkv.pointer, dOutput: scratch.attention.pointer, qkv: a.qkv.pointer,
                probabilities: a.probabilities.pointer, batch: B, tokens: T, channels: C, heads: H)
            scratch.normalized.zero()
            linearBackward(
                dInput: scratch.normalized.pointer, dWeight: p(gradients, name + "attn.qkv.weight"),
                dBias: p(gradients, name + "attn.qkv.bias"), dOutput: scratch.qkv.pointer, input: a.ln1.pointer,
                weight: p(parameters, name + "attn.qkv.weight"), rows: B * T, inFeatures: C, outFeatures: 3 * C)
            layerNormBackward(
                dInput: dX, dWeight: p(gradients, name + "norm1.weight"), dBias: p(gradients, name + "norm1.bias"),
                dOutput: scratch.normalized.pointer, input: activations.stream(l).pointer,
                weight: p(parameters, name + "norm1.weight"), mean: a.ln1Mean.pointer, rstd: a.ln1Rstd.pointer,
                rows: B * T, channels: C)
        }

        // Tokens: dcls = Σ_b dX[b, 0]; dpositions[t] = Σ_b dX[b, t]; dpatches = dX[:, 1...].
        let dPositions = scratch.positions.pointer
        scratch.positions.zero()
        let dPatches = scratch.patches.pointer
        ComputeThreads.parallelFor(C, grain: 16) { channels in
            for b in 0..<B {
                for t in 0..<T {
                    let row = dX + (b * T + t) * C
                    for c in channels { dPositions[t * C + c] += row[c] }
                }
            }
        }
        let dCls = p(gradients, "cls_token")
        for c in 0..<C { dCls[c] += dPositions[c] }
        let dPos = p(gradients, "pos_embed")
        for c in 0..<C { dPos[c] += dPositions[c] }
        if let interpolation = activations.interpolation {
            interpolation.backward(dGrid: dPos + C, dOutput: dPositions + C, channels: C)
        } else {
            for i in C..<(T * C) { dPos[i] += dPositions[i] }
        }
        ComputeThreads.parallelForEach(B) { b in
            (dPatches + b * (T - 1) * C).update(from: dX + (b * T + 1) * C, count: (T - 1) * C)
        }
        linearBackward(
            dInput: nil, dWeight: p(gradients, "patch_embed.proj.weight"), dBias: p(gradients, "patch_embed.proj.bias"),
            dOutput: dPatches, input: activations.patchColumns.pointer, weight: p(parameters, "patch_embed.proj.weight"),
            rows: B * Hp * Wp, inFeatures: cfg.inChannels * P * P, outFeatures: C)
    }
}

/// output[b] = mask[b]·input[b] for each image b (rows of `rowSize` elements).
func scaleRows(
    output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, masks: UnsafePointer<Float>, batch B: Int,
    rowSize: Int
) {
    ComputeThreads.parallelFor(B * rowSize, grain: 4096) { range in
        forEachImage(in: range, rowSize: rowSize) { part, b in
            let mask = masks[b]
            for i in part { output[i] = mask * input[i] }
        }
    }
}
