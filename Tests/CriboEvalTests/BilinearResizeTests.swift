// SPDX-License-Identifier: Apache-2.0
// Bilinear resize (align_corners=False): a hand case, the adjoint identity of the backward, the fused argmax,
// and F.interpolate forward/backward goldens.

import CriboEval
import CriboTensor
import CriboTestSupport
import Testing

@Suite struct BilinearResizeTests {}

/// Float32 interpolation: a few ulps of values of order 1 (PyTorch groups the products differently).
private let resizeTolerance: Float = 2e-6

extension BilinearResizeTests {
    @Test func handCheckedTwoToFour() {
        // One row [0, 4] resized to 4 columns: scale 1/2, source x = max((o + ½)/2 − ½, 0) = 0, 0.25, 0.75, 1.25
        // → taps (0,1,w 0), (0,1,0.25), (0,1,0.75), (1,1,·) → values 0, 1, 3, 4.
        var output = [Float](repeating: 0, count: 4)
        let input: [Float] = [0, 4]
        output.withUnsafeMutableBufferPointer { o in
            bilinearResize(output: o.baseAddress!, input: input, channels: 1, inputHeight: 1, inputWidth: 2,
                           outputHeight: 1, outputWidth: 4)
        }
        #expect(output == [0, 1, 3, 4])
    }

    @Test func backwardIsTheAdjointOfTheForward() {
        // ⟨resize(x), dy⟩ = ⟨x, resizeᵀ(dy)⟩ for any x, dy.
        let (h, w, H, W, C) = (3, 5, 11, 7, 4)
        let x = randomTensor([h, w, C], seed: 1)
        let dy = randomTensor([H, W, C], seed: 2)
        let y = Tensor(zeros: [H, W, C])
        let dx = Tensor(zeros: [h, w, C])
        bilinearResize(output: y.pointer, input: x.pointer, channels: C, inputHeight: h, inputWidth: w, outputHeight: H, outputWidth: W)
        bilinearResizeBackward(dInput: dx.pointer, dOutput: dy.pointer, channels: C, inputHeight: h, inputWidth: w,
                               outputHeight: H, outputWidth: W)
        let left = dot(y.buffer, dy.buffer)
        let right = dot(x.buffer, dx.buffer)
        #expect(abs(left - right) < 1e-4 * max(1, abs(left)), "\(left) vs \(right)")
    }

    @Test func fusedArgmaxEqualsArgmaxOfTheResizedMap() {
        let (h, w, H, W, C) = (4, 4, 16, 13, 6)
        let x = randomTensor([h, w, C], seed: 3)
        let y = Tensor(zeros: [H, W, C])
        bilinearResize(output: y.pointer, input: x.pointer, channels: C, inputHeight: h, inputWidth: w, outputHeight: H, outputWidth: W)
        var fused = [Int32](repeating: -1, count: H * W)
        fused.withUnsafeMutableBufferPointer { f in
            bilinearResizeArgmax(output: f.baseAddress!, input: x.pointer, channels: C, inputHeight: h, inputWidth: w,
                                 outputHeight: H, outputWidth: W)
        }
        let expected = (0..<(H * W)).map { p in Int32((0..<C).max { y[flat: p * C + $0] < y[flat: p * C + $1] }!) }
        #expect(fused == expected)
    }

    @Test(arguments: [("up", 5, 7, 16, 21), ("mixed", 4, 6, 13, 5)])
    func matchesInterpolate(name: String, h: Int, w: Int, H: Int, W: Int) throws {
        let g = try golden("eval.safetensors")
        let x = try g.tensor("bil.\(name).input")
        let dy = try g.tensor("bil.\(name).doutput")
        let y = Tensor(zeros: [H, W, 3])
        let dx = Tensor(zeros: [h, w, 3])
        bilinearResize(output: y.pointer, input: x.pointer, channels: 3, inputHeight: h, inputWidth: w, outputHeight: H, outputWidth: W)
        bilinearResizeBackward(dInput: dx.pointer, dOutput: dy.pointer, channels: 3, inputHeight: h, inputWidth: w,
                               outputHeight: H, outputWidth: W)
        expectClose(y, try g.tensor("bil.\(name).output"), atol: resizeTolerance, rtol: resizeTolerance, "forward \(name)")
        // The backward sums up to ~(H/h)·(W/w)·4 terms per input element.
        expectClose(dx, try g.tensor("bil.\(name).dinput"), atol: 1e-5, rtol: 1e-5, "backward \(name)")
    }
}
