// SPDX-License-Identifier: Apache-2.0
// The ViT forward pass: patch embedding, tokens, blocks, final norm. Per spec §1, every token goes through the
// final LayerNorm and the model returns all of them ([CLS] is row 0 of each image).
// Legend: B images, T tokens, C channels, F MLP width, Hp × Wp patch grid.

import CriboTensor

extension VisionTransformer {
    /// Runs the backbone on `images` and leaves all final-norm tokens in `activations.output` [B, T, C].
    /// - Parameters:
    ///   - images: [B, Cin, H, W] normalised pixels; H and W multiples of the patch size (other grids than the
    ///     training one interpolate the positional embedding, spec §1).
    ///   - parameters: the arena holding this model's parameters.
    ///   - activations: buffers for this batch and grid (`ViTActivations(configuration:batch:gridHeight:gridWidth:)`).
    ///   - dropPathRate: the model's stochastic-depth rate (0 for the teacher and for evaluation).
    ///   - dropPathKeys: one random key per image; the mask of (image, block, branch) is a pure function of it.
    package func forward(
        images: Tensor, parameters: ParameterArena, activations: ViTActivations, dropPathRate: Float = 0,
        dropPathKeys: [UInt64]? = nil
    ) {
        let cfg = configuration
        let B = activations.batch, Hp = activations.gridHeight, Wp = activations.gridWidth
        let C = cfg.embeddingDimension, F = cfg.mlpHiddenDimension, P = cfg.patchSize, H = cfg.headCount
        let T = 1 + Hp * Wp
        precondition(
            images.shape == [B, cfg.inChannels, Hp * P, Wp * P],
            "VisionTransformer: expected images [\(B), \(cfg.inChannels), \(Hp * P), \(Wp * P)], got \(images.shape)")
        precondition(dropPathRate == 0 || activations.isTraining, "VisionTransformer: DropPath needs training activations")

        // Patch embedding: im2col + Linear with the conv weight.   [B·Hp·Wp, C]
        extractPatches(
            columns: activations.patchColumns.pointer, images: images.pointer, batch: B, inChannels: cfg.inChannels,
            height: Hp * P, width: Wp * P, patch: P)
        linearForward(
            output: activations.patches.pointer, input: activations.patchColumns.pointer,
            weight: p(parameters, "patch_embed.proj.weight"), bias: p(parameters, "patch_embed.proj.bias"),
            rows: B * Hp * Wp, inFeatures: cfg.inChannels * P * P, outFeatures: C)

        // Positional embedding for this grid: [T, C].
        let pos = p(parameters, "pos_embed")
        let positions = activations.positions.pointer
        if let interpolation = activations.interpolation {
            positions.update(from: pos, count: C)
            interpolation.forward(output: positions + C, grid: pos + C, channels: C)
        } else {
            positions.update(from: pos, count: T * C)
        }

        // Tokens: [CLS] ⊕ patches, plus positions.   [B, T, C]
        let x0 = activations.stream(0).pointer
        let cls = p(parameters, "cls_token")
        let patches = activations.patches.pointer
        ComputeThreads.parallelForEach(B) { b in
            let image = x0 + b * T * C
            for c in 0..<C { image[c] = cls[c] + positions[c] }
            for t in 1..<T {
                let row = image + t * C
                let patch = patches + (b * (T - 1) + t - 1) * C
                let position = positions + t * C
                for c in 0..<C { row[c] = patch[c] + position[c] }
            }
        }

        for l in 0..<cfg.depth {
            let a = activations.block(l)
            let x = activations.stream(l).pointer
            let next = activations.stream(l + 1).pointer
            let masks = activations.dropMasks[l]
            drawDropPathMasks(masks, block: l, rate: dropPathRate, keys: dropPathKeys, batch: B)
            let name = "blocks.\(l)."
            // x_mid = x + DropPath(proj(attn(LN1(x))))
            layerNormForward(
                output: a.ln1.pointer, mean: a.ln1Mean.pointer, rstd: a.ln1Rstd.pointer, input: x,
                weight: p(parameters, name + "norm1.weight"), bias: p(parameters, name + "norm1.bias"), rows: B * T,
                channels: C)
            linearForward(
                output: a.qkv.pointer, input: a.ln1.pointer, weight: p(parameters, name + "attn.qkv.weight"),
                bias: p(parameters, name + "attn.qkv.bias"), rows: B * T, inFeatures: C, outFeatures: 3 * C)
            attentionForward(
                output: a.attention.pointer, probabilities: a.probabilities.pointer, qkv: a.qkv.pointer, batch: B,
                tokens: T, channels: C, heads: H)
            linearForward(
                output: a.branch.pointer, input: a.attention.pointer, weight: p(parameters, name + "attn.proj.weight"),
                bias: p(parameters, name + "attn.proj.bias"), rows: B * T, inFeatures: C, outFeatures: C)
            addResidual(output: a.middle.pointer, input: x, branch: a.branch.pointer, masks: masks.pointer, batch: B, rowSize: T * C)
            // x_next = x_mid + DropPath(fc2(GELU(fc1(LN2(x_mid)))))
            layerNormForward(
                output: a.ln2.pointer, mean: a.ln2Mean.pointer, rstd: a.ln2Rstd.pointer, input: a.middle.pointer,
                weight: p(parameters, name + "norm2.weight"), bias: p(parameters, name + "norm2.bias"), rows: B * T,
                channels: C)
            linearForward(
                output: a.hidden.pointer, input: a.ln2.pointer, weight: p(parameters, name + "mlp.fc1.weight"),
                bias: p(parameters, name + "mlp.fc1.bias"), rows: B * T, inFeatures: C, outFeatures: F)
            geluForward(output: a.activated.pointer, input: a.hidden.pointer, count: B * T * F)
            linearForward(
                output: a.mlpBranch.pointer, input: a.activated.pointer, weight: p(parameters, name + "mlp.fc2.weight"),
                bias: p(parameters, name + "mlp.fc2.bias"), rows: B * T, inFeatures: F, outFeatures: C)
            addResidual(output: next, input: a.middle.pointer, branch: a.mlpBranch.pointer, masks: masks.pointer + B, batch: B, rowSize: T * C)
        }

        layerNormForward(
            output: activations.output.pointer, mean: activations.finalMean.pointer, rstd: activations.finalRstd.pointer,
            input: activations.stream(cfg.depth).pointer, weight: p(parameters, "norm.weight"),
            bias: p(parameters, "norm.bias"), rows: B * T, channels: C)
    }

    /// Fills the [2B] DropPath multipliers of block `l`: 1/keep with probability keep, else 0 (timm drop_path),
    /// drawn from `SplitMix64.mix(key_b, l, branch)`; all ones when the block's rate is 0.
    private func drawDropPathMasks(_ masks: Tensor, block l: Int, rate: Float, keys: [UInt64]?, batch B: Int) {
        let blockRate = dropPathRate(block: l, rate: rate)
        guard blockRate > 0 else {
            masks.pointer.update(repeating: 1, count: 2 * B)
            return
        }
        guard let keys, keys.count == B else { preconditionFailure("VisionTransformer: DropPath needs one key per image") }
        let keep = 1 - blockRate
        for branch in 0..<2 {
            for b in 0..<B {
                var rng = SplitMix64(seed: SplitMix64.mix(keys[b], UInt64(l), UInt64(branch)))
                masks[flat: branch * B + b] = rng.nextUniform() < Double(keep) ? 1 / keep : 0
            }
        }
    }
}

/// output[b] = input[b] + mask[b]·branch[b] for each image b (rows of `rowSize` elements).
func addResidual(
    output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, branch: UnsafePointer<Float>,
    masks: UnsafePointer<Float>, batch B: Int, rowSize: Int
) {
    ComputeThreads.parallelFor(B * rowSize, grain: 4096) { range in
        forEachImage(in: range, rowSize: rowSize) { part, b in
            let mask = masks[b]
            for i in part { output[i] = input[i] + mask * branch[i] }
        }
    }
}

/// Splits `range` of a [B, rowSize] buffer at image boundaries: body(sub-range, image), in order.
@inline(__always)
func forEachImage(in range: Range<Int>, rowSize: Int, _ body: (Range<Int>, Int) -> Void) {
    var start = range.lowerBound
    while start < range.upperBound {
        let b = start / rowSize
        let end = min(range.upperBound, (b + 1) * rowSize)
        body(start..<end, b)
        start = end
    }
}
