// SPDX-License-Identifier: Apache-2.0
// The saved activations of a ViT forward pass for one batch shape, and the scratch of its backward pass.
// Allocated once per (batch, grid) and reused step after step. In inference mode (`isTraining == false`) all
// blocks share one set of buffers, so a large evaluation batch costs one block's memory, not depth blocks'.
// Legend: B images, T = 1 + Hp·Wp tokens, C channels, H heads, F MLP hidden width.

import CriboTensor

/// Buffers of one block's forward pass.
package final class BlockActivations {
    let ln1: Tensor, ln1Mean: Tensor, ln1Rstd: Tensor  // [B, T, C], [B·T], [B·T]
    let qkv: Tensor  // [B, T, 3C]
    let probabilities: Tensor  // [B, H, T, T]
    let attention: Tensor  // [B, T, C] heads concatenated, before proj
    let branch: Tensor  // [B, T, C] proj output, then fc2 output (the residual branch)
    let middle: Tensor  // [B, T, C] x + DropPath(attn branch)
    let ln2: Tensor, ln2Mean: Tensor, ln2Rstd: Tensor
    let hidden: Tensor  // [B, T, F] fc1 output (GELU input)
    let activated: Tensor  // [B, T, F] GELU output
    let mlpBranch: Tensor  // [B, T, C] fc2 output

    init(B: Int, T: Int, C: Int, H: Int, F: Int) {
        ln1 = Tensor(zeros: [B, T, C]); ln1Mean = Tensor(zeros: [B * T]); ln1Rstd = Tensor(zeros: [B * T])
        qkv = Tensor(zeros: [B, T, 3 * C])
        probabilities = Tensor(zeros: [B, H, T, T])
        attention = Tensor(zeros: [B, T, C])
        branch = Tensor(zeros: [B, T, C])
        middle = Tensor(zeros: [B, T, C])
        ln2 = Tensor(zeros: [B, T, C]); ln2Mean = Tensor(zeros: [B * T]); ln2Rstd = Tensor(zeros: [B * T])
        hidden = Tensor(zeros: [B, T, F])
        activated = Tensor(zeros: [B, T, F])
        mlpBranch = Tensor(zeros: [B, T, C])
    }
}

/// Everything a ViT forward pass saves, for one batch size and patch grid.
package final class ViTActivations {
    package let batch: Int
    package let gridHeight: Int
    package let gridWidth: Int
    package let isTraining: Bool
    package var tokenCount: Int { 1 + gridHeight * gridWidth }

    let patchColumns: Tensor  // [B·Hp·Wp, Cin·P·P]
    let patches: Tensor  // [B·Hp·Wp, C]
    let positions: Tensor  // [1 + Hp·Wp, C] the (interpolated) positional embedding used
    /// Residual stream: streams[l] is the input of block l; streams[depth] the input of the final norm.
    let streams: [Tensor]  // each [B, T, C]
    let blocks: [BlockActivations]
    /// DropPath multipliers per block: [2·B] (attention branch, then MLP branch), 0 or 1/keep.
    let dropMasks: [Tensor]
    /// The final-LayerNorm output of all tokens: [B, T, C] — what the model returns.
    package let output: Tensor
    let finalMean: Tensor, finalRstd: Tensor
    let interpolation: PositionInterpolation?

    /// Buffers for `configuration` at batch `B` and a Hp × Wp patch grid.
    package init(configuration: ViTConfiguration, batch B: Int, gridHeight Hp: Int, gridWidth Wp: Int, isTraining: Bool) {
        let C = configuration.embeddingDimension
        let P = configuration.patchSize
        let T = 1 + Hp * Wp
        batch = B
        gridHeight = Hp
        gridWidth = Wp
        self.isTraining = isTraining
        patchColumns = Tensor(zeros: [B * Hp * Wp, configuration.inChannels * P * P])
        patches = Tensor(zeros: [B * Hp * Wp, C])
        positions = Tensor(zeros: [T, C])
        let sets = isTraining ? configuration.depth : 1
        streams = (0...(isTraining ? configuration.depth : 1)).map { _ in Tensor(zeros: [B, T, C]) }
        blocks = (0..<sets).map { _ in
            BlockActivations(B: B, T: T, C: C, H: configuration.headCount, F: configuration.mlpHiddenDimension)
        }
        dropMasks = (0..<configuration.depth).map { _ in Tensor(shape: [2 * B], repeating: 1) }
        output = Tensor(zeros: [B, T, C])
        finalMean = Tensor(zeros: [B * T])
        finalRstd = Tensor(zeros: [B * T])
        let G = configuration.gridSize
        interpolation = (Hp == G && Wp == G) ? nil : PositionInterpolation(sourceSide: G, targetHeight: Hp, targetWidth: Wp)
    }

    /// The DropPath multipliers of block `l` from the last forward pass: [2B] (attention branch, then MLP), 0 or 1/keep.
    package func dropPathMultipliers(block l: Int) -> [Float] { dropMasks[l].scalars }

    /// The input stream of block `l` (inference mode ping-pongs between two buffers).
    func stream(_ l: Int) -> Tensor { isTraining ? streams[l] : streams[l % 2] }
    /// The saved buffers of block `l`.
    func block(_ l: Int) -> BlockActivations { isTraining ? blocks[l] : blocks[0] }
}

/// Gradient scratch of the ViT backward pass (reused across steps).
package final class ViTGradientScratch {
    let stream: Tensor  // [B, T, C] dL/d(residual stream)
    let branch: Tensor  // [B, T, C]
    let normalized: Tensor  // [B, T, C] dL/d(LayerNorm output)
    let attention: Tensor  // [B, T, C]
    let qkv: Tensor  // [B, T, 3C]
    let hidden: Tensor  // [B, T, F]
    let patches: Tensor  // [B·Hp·Wp, C]
    let positions: Tensor  // [T, C]

    package init(configuration: ViTConfiguration, batch B: Int, gridHeight Hp: Int, gridWidth Wp: Int) {
        let C = configuration.embeddingDimension
        let T = 1 + Hp * Wp
        stream = Tensor(zeros: [B, T, C])
        branch = Tensor(zeros: [B, T, C])
        normalized = Tensor(zeros: [B, T, C])
        attention = Tensor(zeros: [B, T, C])
        qkv = Tensor(zeros: [B, T, 3 * C])
        hidden = Tensor(zeros: [B, T, configuration.mlpHiddenDimension])
        patches = Tensor(zeros: [B * Hp * Wp, C])
        positions = Tensor(zeros: [T, C])
    }
}
