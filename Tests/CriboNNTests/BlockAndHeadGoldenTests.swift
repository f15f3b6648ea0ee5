// SPDX-License-Identifier: Apache-2.0
// A whole pre-norm block (through a one-block ViT path) and the two-last-layer DINO head against PyTorch.

import CriboNN
import CriboTensor
import CriboTestSupport
import Testing

@Suite struct BlockAndHeadGoldenTests {}

/// Copies golden tensors into an arena: arena key = prefix + golden key.
func load(_ arena: ParameterArena, from file: TensorFile, prefix: String = "", stripping: String = "") throws {
    for (i, slot) in arena.slots.enumerated() {
        let key = String(slot.key.dropFirst(stripping.count))
        let values = try file.tensor(prefix + key)
        #expect(values.count == slot.count, "\(slot.key): golden has \(values.shape), slot \(slot.shape)")
        arena.buffer(slot: i).baseAddress!.update(from: values.pointer, count: slot.count)
    }
}

extension BlockAndHeadGoldenTests {
    @Test func dinoHeadMatchesPyTorch() throws {
        let g = try golden("dino_head.safetensors")
        let cfg = DINOHeadConfiguration(inputDimension: 12, hiddenDimension: 20, bottleneckDimension: 8, outputDimension: 30)
        let head = DINOHead(configuration: cfg)
        let parameters = ParameterArena(slots: DINOHead.parameterSlots(for: cfg))
        try load(parameters, from: g)
        let gradients = ParameterArena(like: parameters)
        let x = try g.tensor("x"), xc = try g.tensor("xc")
        let clsPass = HeadActivations(configuration: cfg, rows: 5, path: .cls)
        let centroidPass = HeadActivations(configuration: cfg, rows: 4, path: .centroid)
        head.forward(input: x.pointer, parameters: parameters, activations: clsPass)
        head.forward(input: xc.pointer, parameters: parameters, activations: centroidPass)
        expectClose(clsPass.output, try g.tensor("out"), atol: forwardAbsolute, rtol: forwardRelative, "head out")
        expectClose(centroidPass.output, try g.tensor("out_c"), atol: forwardAbsolute, rtol: forwardRelative, "head out_c")
        let dx = Tensor(zeros: [5, 12]), dxc = Tensor(zeros: [4, 12]), scratch = Tensor(zeros: [30, 8])
        let dOut = try g.tensor("dout"), dOutC = try g.tensor("dout_c")
        head.backward(dOutput: dOut.pointer, dInput: dx.pointer, parameters: parameters, gradients: gradients,
            activations: clsPass, dWeightScratch: scratch)
        head.backward(dOutput: dOutC.pointer, dInput: dxc.pointer, parameters: parameters, gradients: gradients,
            activations: centroidPass, dWeightScratch: scratch)
        expectClose(dx, try g.tensor("grad.x"), atol: gradientAbsolute, rtol: gradientRelative, "head dx")
        expectClose(dxc, try g.tensor("grad.xc"), atol: gradientAbsolute, rtol: gradientRelative, "head dxc")
        for (i, slot) in gradients.slots.enumerated() {
            expectClose(UnsafeBufferPointer(gradients.buffer(slot: i)), try g.tensor("grad." + slot.key), atol: gradientAbsolute,
                rtol: gradientRelative, "head grad \(slot.key)")
        }
    }

    /// centroidOutputDimension 0 is DINO's own head: the keys of its state_dict (mlp.*, last_layer.weight_g/v, no
    /// last_layer_c) and the same [CLS] logits as the CrIBo head on the shared parameters.
    @Test func plainHeadIsTheClsPathAlone() throws {
        let g = try golden("dino_head.safetensors")
        let full = DINOHeadConfiguration(inputDimension: 12, hiddenDimension: 20, bottleneckDimension: 8, outputDimension: 30)
        var plain = full
        plain.centroidOutputDimension = 0
        let plainSlots = DINOHead.parameterSlots(for: plain)
        #expect(plainSlots.map(\.key) == DINOHead.parameterSlots(for: full).map(\.key).filter { !$0.hasPrefix("last_layer_c.") })
        let parameters = ParameterArena(slots: plainSlots)
        try load(parameters, from: g)
        let pass = HeadActivations(configuration: plain, rows: 5, path: .cls)
        let x = try g.tensor("x")
        DINOHead(configuration: plain).forward(input: x.pointer, parameters: parameters, activations: pass)
        expectClose(pass.output, try g.tensor("out"), atol: forwardAbsolute, rtol: forwardRelative, "plain head out")
    }
}
