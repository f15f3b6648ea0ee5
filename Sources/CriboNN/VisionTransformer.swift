// SPDX-License-Identifier: Apache-2.0
// The ViT backbone of DINO/CrIBo (spec §1): patch embedding, [CLS] token, positional embedding (bicubic
// interpolation to other grids), pre-norm blocks with per-sample DropPath, final LayerNorm on all tokens.
// Parameters live in a ParameterArena under timm/DINO state_dict keys behind a prefix ("" for a bare backbone,
// "backbone." inside a DINO model), so the same struct serves the student and the EMA teacher.

import CriboTensor

/// A ViT backbone: its architecture and where its parameters sit in an arena.
package struct VisionTransformer: Sendable {
    package let configuration: ViTConfiguration
    /// The key prefix of its parameters ("" or "backbone.").
    package let prefix: String

    package init(configuration: ViTConfiguration, prefix: String = "") {
        precondition(configuration.validationError() == nil, "VisionTransformer: \(configuration.validationError()!)")
        self.configuration = configuration
        self.prefix = prefix
    }

    /// The parameter slots in timm state_dict order, with DINO's initialisation (spec §1):
    /// Linear weights trunc-normal(0.02) and zero biases, LayerNorm (1, 0), cls/pos trunc-normal(0.02), and the patch
    /// conv with PyTorch's default init U(±1/√fan_in) for weight and bias.
    package static func parameterSlots(for configuration: ViTConfiguration, prefix: String = "") -> [ParameterSlot] {
        let C = configuration.embeddingDimension
        let hidden = configuration.mlpHiddenDimension
        let P = configuration.patchSize
        let fanIn = Double(configuration.inChannels * P * P)
        let G = configuration.gridSize
        let normal = ParameterInitializer.truncatedNormal(std: 0.02)
        func slot(_ key: String, _ shape: [Int], _ initializer: ParameterInitializer) -> ParameterSlot {
            ParameterSlot(key: prefix + key, shape: shape, initializer: initializer)
        }
        var slots = [
            slot("cls_token", [1, 1, C], normal),
            slot("pos_embed", [1, 1 + G * G, C], normal),
            slot("patch_embed.proj.weight", [C, configuration.inChannels, P, P], .uniform(bound: 1 / fanIn.squareRoot())),
            slot("patch_embed.proj.bias", [C], .uniform(bound: 1 / fanIn.squareRoot())),
        ]
        for l in 0..<configuration.depth {
            let b = "blocks.\(l)."
            slots += [
                slot(b + "norm1.weight", [C], .constant(1)), slot(b + "norm1.bias", [C], .constant(0)),
                slot(b + "attn.qkv.weight", [3 * C, C], normal), slot(b + "attn.qkv.bias", [3 * C], .constant(0)),
                slot(b + "attn.proj.weight", [C, C], normal), slot(b + "attn.proj.bias", [C], .constant(0)),
                slot(b + "norm2.weight", [C], .constant(1)), slot(b + "norm2.bias", [C], .constant(0)),
                slot(b + "mlp.fc1.weight", [hidden, C], normal), slot(b + "mlp.fc1.bias", [hidden], .constant(0)),
                slot(b + "mlp.fc2.weight", [C, hidden], normal), slot(b + "mlp.fc2.bias", [C], .constant(0)),
            ]
        }
        slots += [slot("norm.weight", [C], .constant(1)), slot("norm.bias", [C], .constant(0))]
        return slots
    }

    /// The stochastic-depth rate of block `l` for a model rate: linspace(0, rate, depth)[l].
    package func dropPathRate(block l: Int, rate: Float) -> Float {
        configuration.depth == 1 ? 0 : rate * Float(l) / Float(configuration.depth - 1)
    }

    // MARK: - Parameter access

    /// Pointer to parameter `name` (without prefix) in `arena`.
    @inline(__always)
    func p(_ arena: ParameterArena, _ name: String) -> UnsafeMutablePointer<Float> { arena.pointer(prefix + name) }
}
