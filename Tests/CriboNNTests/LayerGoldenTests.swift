// SPDX-License-Identifier: Apache-2.0
// Every layer against PyTorch: outputs, input gradients and parameter gradients under a random upstream
// gradient (goldens written by Tests/CriboTestSupport/Golden/make_golden.py).

import CriboNN
import CriboTensor
import CriboTestSupport
import Testing

/// Forward tolerance: float32 kernels with other summation orders than PyTorch's (≤ 1e-5 relative, spec).
let forwardRelative: Float = 1e-5
let forwardAbsolute: Float = 1e-6
/// Gradient tolerance (≤ 1e-4, spec): gradients sum over more terms than outputs.
let gradientRelative: Float = 1e-4
let gradientAbsolute: Float = 1e-5

@Suite struct LayerGoldenTests {}

extension LayerGoldenTests {
    @Test func linearMatchesPyTorch() throws {
        let g = try golden("linear.safetensors")
        let x = try g.tensor("x"), w = try g.tensor("weight"), b = try g.tensor("bias"), dOut = try g.tensor("dout")
        let out = Tensor(zeros: [15, 4])
        linearForward(output: out.pointer, input: x.pointer, weight: w.pointer, bias: b.pointer, rows: 15, inFeatures: 7, outFeatures: 4)
        expectClose(out, try g.tensor("out"), atol: forwardAbsolute, rtol: forwardRelative, "linear out")
        let dx = Tensor(zeros: [15, 7]), dw = Tensor(zeros: [4, 7]), db = Tensor(zeros: [4])
        linearBackward(dInput: dx.pointer, dWeight: dw.pointer, dBias: db.pointer, dOutput: dOut.pointer, input: x.pointer,
            weight: w.pointer, rows: 15, inFeatures: 7, outFeatures: 4)
        expectClose(dx, try g.tensor("grad.x"), atol: gradientAbsolute, rtol: gradientRelative, "linear dx")
        expectClose(dw, try g.tensor("grad.weight"), atol: gradientAbsolute, rtol: gradientRelative, "linear dweight")
        expectClose(db, try g.tensor("grad.bias"), atol: gradientAbsolute, rtol: gradientRelative, "linear dbias")
    }

    @Test func layerNormMatchesPyTorch() throws {
        let g = try golden("layernorm.safetensors")
        let x = try g.tensor("x"), w = try g.tensor("weight"), b = try g.tensor("bias"), dOut = try g.tensor("dout")
        let (R, C) = (15, 8)
        let out = Tensor(zeros: [R, C]), mean = Tensor(zeros: [R]), rstd = Tensor(zeros: [R])
        layerNormForward(output: out.pointer, mean: mean.pointer, rstd: rstd.pointer, input: x.pointer, weight: w.pointer,
            bias: b.pointer, rows: R, channels: C)
        // Row 9 has |mean|/std ≈ 18: (x − mean) cancels to ~1e-6 absolute in float32 in any implementation.
        let cancellationAbsolute: Float = 5e-6
        expectClose(out, try g.tensor("out"), atol: cancellationAbsolute, rtol: forwardRelative, "layernorm out")
        let dx = Tensor(zeros: [R, C]), dw = Tensor(zeros: [C]), db = Tensor(zeros: [C])
        layerNormBackward(dInput: dx.pointer, dWeight: dw.pointer, dBias: db.pointer, dOutput: dOut.pointer, input: x.pointer,
            weight: w.pointer, mean: mean.pointer, rstd: rstd.pointer, rows: R, channels: C)
        expectClose(dx, try g.tensor("grad.x"), atol: gradientAbsolute, rtol: gradientRelative, "layernorm dx")
        expectClose(dw, try g.tensor("grad.weight"), atol: gradientAbsolute, rtol: gradientRelative, "layernorm dweight")
        expectClose(db, try g.tensor("grad.bias"), atol: gradientAbsolute, rtol: gradientRelative, "layernorm dbias")
    }

    @Test func geluMatchesPyTorch() throws {
        let g = try golden("gelu.safetensors")
        let x = try g.tensor("x"), dOut = try g.tensor("dout")
        let out = Tensor(zeros: [64])
        geluForward(output: out.pointer, input: x.pointer, count: 64)
        expectClose(out, try g.tensor("out"), atol: forwardAbsolute, rtol: forwardRelative, "gelu out")
        let dx = Tensor(zeros: [64])
        geluBackward(dInput: dx.pointer, dOutput: dOut.pointer, input: x.pointer, count: 64)
        expectClose(dx, try g.tensor("grad.x"), atol: gradientAbsolute, rtol: gradientRelative, "gelu dx")
    }

    @Test func softmaxAndCrossEntropyMatchPyTorch() throws {
        let g = try golden("softmax_ce.safetensors")
        let x = try g.tensor("softmax_x")
        let sm = Tensor(zeros: x.shape), lsm = Tensor(zeros: x.shape)
        softmaxForward(output: sm.pointer, input: x.pointer, rows: 4, columns: 9)
        logSoftmaxForward(output: lsm.pointer, input: x.pointer, rows: 4, columns: 9)
        expectClose(sm, try g.tensor("softmax_out"), atol: forwardAbsolute, rtol: forwardRelative, "softmax")
        expectClose(lsm, try g.tensor("log_softmax_out"), atol: 1e-5, rtol: forwardRelative, "log_softmax")

        let teacher = try g.tensor("teacher"), student = try g.tensor("student"), center = try g.tensor("center")
        let teacherTemperature = try g.tensor("teacher_temp")[flat: 0]
        let studentTemperature = try g.tensor("student_temp")[flat: 0]
        let target = Tensor(zeros: [6, 10])
        softmaxForward(output: target.pointer, input: teacher.pointer, shift: center.pointer, scale: 1 / teacherTemperature, rows: 6, columns: 10)
        expectClose(target, try g.tensor("target"), atol: forwardAbsolute, rtol: forwardRelative, "teacher target")
        let losses = Tensor(zeros: [6]), dStudent = Tensor(zeros: [6, 10])
        let weights = Tensor(shape: [6], repeating: 1.0 / 6)
        crossEntropy(loss: losses.pointer, dLogits: dStudent.pointer, target: target.pointer, logits: student.pointer,
            temperature: studentTemperature, rowWeights: weights.pointer, rows: 6, columns: 10)
        let mean = losses.scalars.reduce(0, +) / 6
        #expect(abs(mean - (try g.tensor("loss")[flat: 0])) <= 1e-5 * abs(mean), "DINO cross-entropy \(mean)")
        expectClose(dStudent, try g.tensor("grad.student"), atol: gradientAbsolute, rtol: gradientRelative, "dstudent")
    }

    @Test func attentionMatchesPyTorch() throws {
        let g = try golden("attention.safetensors")
        let (B, N, C, H) = (2, 5, 16, 4)
        let x = try g.tensor("x"), dOut = try g.tensor("dout")
        let qkvW = try g.tensor("qkv.weight"), qkvB = try g.tensor("qkv.bias")
        let projW = try g.tensor("proj.weight"), projB = try g.tensor("proj.bias")
        let qkv = Tensor(zeros: [B, N, 3 * C]), probabilities = Tensor(zeros: [B, H, N, N])
        let attended = Tensor(zeros: [B, N, C]), out = Tensor(zeros: [B, N, C])
        linearForward(output: qkv.pointer, input: x.pointer, weight: qkvW.pointer, bias: qkvB.pointer, rows: B * N, inFeatures: C, outFeatures: 3 * C)
        attentionForward(output: attended.pointer, probabilities: probabilities.pointer, qkv: qkv.pointer, batch: B, tokens: N, channels: C, heads: H)
        linearForward(output: out.pointer, input: attended.pointer, weight: projW.pointer, bias: projB.pointer, rows: B * N, inFeatures: C, outFeatures: C)
        expectClose(out, try g.tensor("out"), atol: forwardAbsolute, rtol: forwardRelative, "attention out")

        let dAttended = Tensor(zeros: [B, N, C]), dProjW = Tensor(zeros: [C, C]), dProjB = Tensor(zeros: [C])
        linearBackward(dInput: dAttended.pointer, dWeight: dProjW.pointer, dBias: dProjB.pointer, dOutput: dOut.pointer,
            input: attended.pointer, weight: projW.pointer, rows: B * N, inFeatures: C, outFeatures: C)
        let dQKV = Tensor(zeros: [B, N, 3 * C])
        attentionBackward(dQKV: dQKV.pointer, dOutput: dAttended.pointer, qkv: qkv.pointer, probabilities: probabilities.pointer,
            batch: B, tokens: N, channels: C, heads: H)
        let dx = Tensor(zeros: [B, N, C]), dQKVW = Tensor(zeros: [3 * C, C]), dQKVB = Tensor(zeros: [3 * C])
        linearBackward(dInput: dx.pointer, dWeight: dQKVW.pointer, dBias: dQKVB.pointer, dOutput: dQKV.pointer,
            input: x.pointer, weight: qkvW.pointer, rows: B * N, inFeatures: C, outFeatures: 3 * C)
        expectClose(dx, try g.tensor("grad.x"), atol: gradientAbsolute, rtol: gradientRelative, "attention dx")
        expectClose(dQKVW, try g.tensor("grad.qkv.weight"), atol: gradientAbsolute, rtol: gradientRelative, "dqkv.weight")
        expectClose(dQKVB, try g.tensor("grad.qkv.bias"), atol: gradientAbsolute, rtol: gradientRelative, "dqkv.bias")
        expectClose(dProjW, try g.tensor("grad.proj.weight"), atol: gradientAbsolute, rtol: gradientRelative, "dproj.weight")
        expectClose(dProjB, try g.tensor("grad.proj.bias"), atol: gradientAbsolute, rtol: gradientRelative, "dproj.bias")
    }

    @Test func positionalEmbeddingInterpolationMatchesDINO() throws {
        let g = try golden("posembed_interp.safetensors")
        let cases: [(source: String, out: String, side: Int, h: Int, w: Int, d: Int)] = [
            ("pos_embed", "out_6x5", 4, 6, 5, 8), ("pos_embed", "out_3x3", 4, 3, 3, 8),
            ("pos_embed_14", "out_32x32", 14, 32, 32, 4), ("pos_embed_14", "out_20x12", 14, 20, 12, 4),
        ]
        for c in cases {
            let source = try g.tensor(c.source)
            let out = Tensor(zeros: [1, 1 + c.h * c.w, c.d])
            out.pointer.update(from: source.pointer, count: c.d)
            PositionInterpolation(sourceSide: c.side, targetHeight: c.h, targetWidth: c.w)
                .forward(output: out.pointer + c.d, grid: source.pointer + c.d, channels: c.d)
            // Inputs are O(1) (std 1, max 3.4); each output sums 16 float32 taps whose cubic weights PyTorch also
            // evaluates in float32, so agreement is ~30 ulp of the input scale, not of the (sometimes tiny) output.
            let inputScaleAbsolute: Float = 5e-6
            expectClose(out, try g.tensor(c.out), atol: inputScaleAbsolute, rtol: forwardRelative, "interpolation \(c.out)")
        }
        let dOut = try g.tensor("dout_6x5")
        let dGrid = Tensor(zeros: [1, 17, 8])
        for i in 0..<8 { dGrid[flat: i] = dOut[flat: i] }
        PositionInterpolation(sourceSide: 4, targetHeight: 6, targetWidth: 5).backward(dGrid: dGrid.pointer + 8, dOutput: dOut.pointer + 8, channels: 8)
        expectClose(dGrid, try g.tensor("grad.pos_embed_6x5"), atol: gradientAbsolute, rtol: gradientRelative, "interpolation backward")
    }
}
