// SPDX-License-Identifier: Apache-2.0
// The DINO projection head with two last layers (spec §2): a 3-layer MLP (Linear → GELU → Linear → GELU → Linear
// to the bottleneck), L2 normalisation, then a weight-normalised bias-free Linear: `last_layer` for [CLS]
// (`forward`) or `last_layer_c` for centroids (`forward_c`). The MLP is shared by both paths.
// Legend: R rows, I input dim, Hd hidden, Bn bottleneck, O output dim.

import CriboTensor

/// The architecture of a DINO head.
package struct DINOHeadConfiguration: Codable, Equatable, Sendable {
    package var inputDimension: Int
    package var hiddenDimension: Int = 2048
    package var bottleneckDimension: Int = 256
    /// out_dim of `last_layer` ([CLS] path).
    package var outputDimension: Int = 65536
    /// out_dim_c of `last_layer_c` (centroid path); 0 for a plain DINO head without it (no centroid path, and no
    /// `last_layer_c` parameters).
    package var centroidOutputDimension: Int = 65536
    /// norm_last_layer: true freezes the weight-norm magnitudes g at 1.
    package var normLastLayer: Bool = false

    package init(
        inputDimension: Int, hiddenDimension: Int = 2048, bottleneckDimension: Int = 256, outputDimension: Int = 65536,
        centroidOutputDimension: Int? = nil, normLastLayer: Bool = false
    ) {
        self.inputDimension = inputDimension
        self.hiddenDimension = hiddenDimension
        self.bottleneckDimension = bottleneckDimension
        self.outputDimension = outputDimension
        self.centroidOutputDimension = centroidOutputDimension ?? outputDimension
        self.normLastLayer = normLastLayer
    }
}

/// Which last layer a head call uses.
package enum HeadPath: Sendable {
    /// `last_layer`, DINOHead.forward: the [CLS] path.
    case cls
    /// `last_layer_c`, DINOHead.forward_c: the centroid path.
    case centroid

    var key: String { self == .cls ? "last_layer" : "last_layer_c" }
}

/// The effective weight g·v/‖v‖ of one last layer ([O, Bn]) and the row norms ‖v‖ ([O]): computed once per parameter
/// update, it can be shared by every head call on the same parameters and path (CrIBo projects teacher centroids and
/// both neighbour sets through the same `last_layer_c`).
package final class LastLayerWeights {
    package let weight: Tensor
    package let norms: Tensor

    /// Buffers for the last layer of `path`.
    package init(configuration: DINOHeadConfiguration, path: HeadPath) {
        let O = path == .cls ? configuration.outputDimension : configuration.centroidOutputDimension
        weight = Tensor(zeros: [O, configuration.bottleneckDimension])
        norms = Tensor(zeros: [O])
    }

    /// Buffers over memory owned elsewhere (node-shared memory): `Self.floatCount` floats at `memory`.
    package init(configuration: DINOHeadConfiguration, path: HeadPath, viewing memory: UnsafeMutablePointer<Float>) {
        let O = path == .cls ? configuration.outputDimension : configuration.centroidOutputDimension
        weight = Tensor(viewing: memory, shape: [O, configuration.bottleneckDimension])
        norms = Tensor(viewing: memory + O * configuration.bottleneckDimension, shape: [O])
    }

    /// The floats of the buffers of `path`'s last layer (weight and norms), rounded up to 16.
    package static func floatCount(configuration: DINOHeadConfiguration, path: HeadPath) -> Int {
        let O = path == .cls ? configuration.outputDimension : configuration.centroidOutputDimension
        return (O * (configuration.bottleneckDimension + 1) + 15) / 16 * 16
    }
}

/// Saved values of one head call (reusable for calls with the same row count and path).
package final class HeadActivations {
    package let rows: Int
    package let path: HeadPath
    let input: Tensor  // [R, I]
    let hidden1: Tensor, activated1: Tensor  // [R, Hd]
    let hidden2: Tensor, activated2: Tensor  // [R, Hd]
    let bottleneck: Tensor  // [R, Bn]
    let norms: Tensor  // [R]
    let normalized: Tensor  // [R, Bn]
    /// The effective last-layer weight this call uses (its own, or shared with other calls).
    package let lastLayer: LastLayerWeights
    /// The head output: [R, O] logits.
    package let output: Tensor
    // Backward scratch, allocated on first use.
    lazy var dNormalized = Tensor(zeros: [rows, bottleneck.shape[1]])
    lazy var dBottleneck = Tensor(zeros: [rows, bottleneck.shape[1]])
    lazy var dActivated = Tensor(zeros: [rows, hidden1.shape[1]])
    lazy var dHidden = Tensor(zeros: [rows, hidden1.shape[1]])

    /// - Parameter lastLayer: shared last-layer buffers of `path` (by default the call has its own).
    package init(configuration: DINOHeadConfiguration, rows R: Int, path: HeadPath, lastLayer: LastLayerWeights? = nil) {
        let O = path == .cls ? configuration.outputDimension : configuration.centroidOutputDimension
        precondition(O > 0, "HeadActivations: this head has no \(path.key)")
        rows = R
        self.path = path
        input = Tensor(zeros: [R, configuration.inputDimension])
        hidden1 = Tensor(zeros: [R, configuration.hiddenDimension])
        activated1 = Tensor(zeros: [R, configuration.hiddenDimension])
        hidden2 = Tensor(zeros: [R, configuration.hiddenDimension])
        activated2 = Tensor(zeros: [R, configuration.hiddenDimension])
        bottleneck = Tensor(zeros: [R, configuration.bottleneckDimension])
        norms = Tensor(zeros: [R])
        normalized = Tensor(zeros: [R, configuration.bottleneckDimension])
        if let lastLayer {
            precondition(lastLayer.weight.shape == [O, configuration.bottleneckDimension],
                         "HeadActivations: shared last layer \(lastLayer.weight.shape) for [\(O), \(configuration.bottleneckDimension)]")
        }
        self.lastLayer = lastLayer ?? LastLayerWeights(configuration: configuration, path: path)
        output = Tensor(zeros: [R, O])
    }
}

/// A DINO head: its architecture and where its parameters sit in an arena (prefix "" or "head.").
package struct DINOHead: Sendable {
    package let configuration: DINOHeadConfiguration
    package let prefix: String

    package init(configuration: DINOHeadConfiguration, prefix: String = "") {
        self.configuration = configuration
        self.prefix = prefix
    }

    /// The parameter slots in DINO state_dict order with spec §2's init: MLP trunc-normal(0.02) with zero biases;
    /// last-layer v with PyTorch's Linear default U(±1/√Bn); g = 1, trainable unless norm_last_layer.
    package static func parameterSlots(for c: DINOHeadConfiguration, prefix: String = "") -> [ParameterSlot] {
        let normal = ParameterInitializer.truncatedNormal(std: 0.02)
        let vBound = 1 / Double(c.bottleneckDimension).squareRoot()
        func slot(_ key: String, _ shape: [Int], _ initializer: ParameterInitializer, trainable: Bool = true) -> ParameterSlot {
            ParameterSlot(key: prefix + key, shape: shape, initializer: initializer, isTrainable: trainable)
        }
        let centroidLayer = c.centroidOutputDimension == 0 ? [] : [
            slot("last_layer_c.weight_g", [c.centroidOutputDimension, 1], .constant(1), trainable: !c.normLastLayer),
            slot("last_layer_c.weight_v", [c.centroidOutputDimension, c.bottleneckDimension], .uniform(bound: vBound)),
        ]
        return [
            slot("mlp.0.weight", [c.hiddenDimension, c.inputDimension], normal),
            slot("mlp.0.bias", [c.hiddenDimension], .constant(0)),
            slot("mlp.2.weight", [c.hiddenDimension, c.hiddenDimension], normal),
            slot("mlp.2.bias", [c.hiddenDimension], .constant(0)),
            slot("mlp.4.weight", [c.bottleneckDimension, c.hiddenDimension], normal),
            slot("mlp.4.bias", [c.bottleneckDimension], .constant(0)),
            slot("last_layer.weight_g", [c.outputDimension, 1], .constant(1), trainable: !c.normLastLayer),
            slot("last_layer.weight_v", [c.outputDimension, c.bottleneckDimension], .uniform(bound: vBound)),
        ] + centroidLayer
    }

    @inline(__always)
    func p(_ arena: ParameterArena, _ name: String) -> UnsafeMutablePointer<Float> { arena.pointer(prefix + name) }

    /// Computes the effective weight of the last layer of `path` from `parameters` into `lastLayer`: all rows, or
    /// `rows` (each row depends on its own g and v only, so ranks can compute shares of one shared buffer).
    package func computeLastLayer(parameters: ParameterArena, path: HeadPath, into lastLayer: LastLayerWeights, rows: Range<Int>? = nil) {
        let Bn = configuration.bottleneckDimension
        let range = rows ?? 0..<lastLayer.norms.count
        weightNormForward(weight: lastLayer.weight.pointer + range.lowerBound * Bn, norms: lastLayer.norms.pointer + range.lowerBound,
            g: p(parameters, path.key + ".weight_g") + range.lowerBound, v: p(parameters, path.key + ".weight_v") + range.lowerBound * Bn,
            rows: range.count, columns: Bn)
    }

    /// Projects `input` rows through the MLP, normalisation and the last layer of `activations.path`;
    /// the logits land in `activations.output` [R, O].
    /// - Parameters:
    ///   - input: [R, I] (a copy is kept for the backward pass).
    ///   - lastLayerIsCurrent: `activations.lastLayer` already holds this path's effective weight for `parameters`
    ///     (`computeLastLayer`); otherwise it is computed here.
    package func forward(
        input: UnsafePointer<Float>, parameters: ParameterArena, activations a: HeadActivations, lastLayerIsCurrent: Bool = false
    ) {
        let c = configuration
        let R = a.rows, I = c.inputDimension, Hd = c.hiddenDimension, Bn = c.bottleneckDimension
        let O = a.output.shape[1]
        a.input.pointer.update(from: input, count: R * I)
        linearForward(output: a.hidden1.pointer, input: input, weight: p(parameters, "mlp.0.weight"),
            bias: p(parameters, "mlp.0.bias"), rows: R, inFeatures: I, outFeatures: Hd)
        geluForward(output: a.activated1.pointer, input: a.hidden1.pointer, count: R * Hd)
        linearForward(output: a.hidden2.pointer, input: a.activated1.pointer, weight: p(parameters, "mlp.2.weight"),
            bias: p(parameters, "mlp.2.bias"), rows: R, inFeatures: Hd, outFeatures: Hd)
        geluForward(output: a.activated2.pointer, input: a.hidden2.pointer, count: R * Hd)
        linearForward(output: a.bottleneck.pointer, input: a.activated2.pointer, weight: p(parameters, "mlp.4.weight"),
            bias: p(parameters, "mlp.4.bias"), rows: R, inFeatures: Hd, outFeatures: Bn)
        l2NormalizeForward(output: a.normalized.pointer, norms: a.norms.pointer, input: a.bottleneck.pointer, rows: R, columns: Bn)
        if !lastLayerIsCurrent { computeLastLayer(parameters: parameters, path: a.path, into: a.lastLayer) }
        linearForward(output: a.output.pointer, input: a.normalized.pointer, weight: a.lastLayer.weight.pointer, bias: nil,
            rows: R, inFeatures: Bn, outFeatures: O)
    }

    /// Backpropagates dL/d(logits); accumulates parameter gradients into `gradients` and, when given, the input
    /// gradient into `dInput` [R, I]. `dWeightScratch` is an [O, Bn] buffer (overwritten).
    package func backward(
        dOutput: UnsafePointer<Float>, dInput: UnsafeMutablePointer<Float>?, parameters: ParameterArena,
        gradients: ParameterArena, activations a: HeadActivations, dWeightScratch: Tensor
    ) {
        let c = configuration
        let R = a.rows, I = c.inputDimension, Hd = c.hiddenDimension, Bn = c.bottleneckDimension
        let O = a.output.shape[1]
        precondition(dWeightScratch.count >= O * Bn, "DINOHead.backward: weight scratch too small")
        let last = a.path.key
        // Last layer: dW = dYᵀ·x̂ (then through the weight norm), dx̂ = dY·W.
        dWeightScratch.zero()
        let dNormalized = a.dNormalized, dBottleneck = a.dBottleneck, dActivated = a.dActivated, dHidden = a.dHidden
        dNormalized.zero()
        dBottleneck.zero()
        dActivated.zero()
        dHidden.zero()
        linearBackward(dInput: dNormalized.pointer, dWeight: dWeightScratch.pointer, dBias: nil, dOutput: dOutput,
            input: a.normalized.pointer, weight: a.lastLayer.weight.pointer, rows: R, inFeatures: Bn, outFeatures: O)
        let gIndex = gradients.index(of: prefix + last + ".weight_g")!
        weightNormBackward(
            dG: gradients.slots[gIndex].isTrainable ? p(gradients, last + ".weight_g") : nil,
            dV: p(gradients, last + ".weight_v"), dWeight: dWeightScratch.pointer, g: p(parameters, last + ".weight_g"),
            v: p(parameters, last + ".weight_v"), norms: a.lastLayer.norms.pointer, rows: O, columns: Bn)
        l2NormalizeBackward(dInput: dBottleneck.pointer, dOutput: dNormalized.pointer, output: a.normalized.pointer,
            norms: a.norms.pointer, input: a.bottleneck.pointer, rows: R, columns: Bn)
        linearBackward(dInput: dActivated.pointer, dWeight: p(gradients, "mlp.4.weight"), dBias: p(gradients, "mlp.4.bias"),
            dOutput: dBottleneck.pointer, input: a.activated2.pointer, weight: p(parameters, "mlp.4.weight"), rows: R,
            inFeatures: Hd, outFeatures: Bn)
        geluBackward(dInput: dHidden.pointer, dOutput: dActivated.pointer, input: a.hidden2.pointer, count: R * Hd)
        dActivated.zero()
        linearBackward(dInput: dActivated.pointer, dWeight: p(gradients, "mlp.2.weight"), dBias: p(gradients, "mlp.2.bias"),
            dOutput: dHidden.pointer, input: a.activated1.pointer, weight: p(parameters, "mlp.2.weight"), rows: R,
            inFeatures: Hd, outFeatures: Hd)
        dHidden.zero()
        geluBackward(dInput: dHidden.pointer, dOutput: dActivated.pointer, input: a.hidden1.pointer, count: R * Hd)
        linearBackward(dInput: dInput, dWeight: p(gradients, "mlp.0.weight"), dBias: p(gradients, "mlp.0.bias"),
            dOutput: dHidden.pointer, input: a.input.pointer, weight: p(parameters, "mlp.0.weight"), rows: R,
            inFeatures: I, outFeatures: Hd)
    }
}
