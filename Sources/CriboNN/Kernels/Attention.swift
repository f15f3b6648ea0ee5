// SPDX-License-Identifier: Apache-2.0
// Multi-head self-attention core (timm Attention between qkv and proj): for each image and head,
// P = softmax(Q·Kᵀ·D^-½), O = P·V. Q, K, V are read in place from the qkv projection, laid out as timm's
// reshape(B, N, 3, H, D): q of head h at column h·D, k at C + h·D, v at 2C + h·D. No dropout.
// Legend: B images, N tokens, C channels, H heads, D = C/H head dimension.
// reference: https://github.com/huggingface/pytorch-image-models (timm/models/vision_transformer.py, Attention)

import CriboTensor

/// O = softmax(Q·Kᵀ/√D)·V per image and head. Saves the probabilities for the backward pass.
/// - Parameters:
///   - output: [B, N, C], heads concatenated in channel order.
///   - probabilities: [B, H, N, N].
///   - qkv: [B, N, 3C].
package func attentionForward(
    output: UnsafeMutablePointer<Float>, probabilities: UnsafeMutablePointer<Float>, qkv: UnsafePointer<Float>,
    batch B: Int, tokens N: Int, channels C: Int, heads H: Int
) {
    precondition(C % H == 0, "Attention: \(C) channels do not split into \(H) heads")
    let D = C / H
    let scale = 1 / Float(D).squareRoot()
    ComputeThreads.parallelForEach(B * H) { pair in
        let b = pair / H
        let h = pair % H
        let q = qkv + b * N * 3 * C + h * D
        let k = q + C
        let v = q + 2 * C
        let p = probabilities + pair * N * N
        gemm(transposeA: false, transposeB: true, m: N, n: N, k: D, alpha: scale, a: q, lda: 3 * C, b: k,
            ldb: 3 * C, c: p, ldc: N, parallel: false)
        for row in 0..<N { exponentiateNormalized(p + row * N, count: N) }
        gemm(transposeA: false, transposeB: false, m: N, n: D, k: N, a: p, lda: N, b: v, ldb: 3 * C,
            c: output + b * N * C + h * D, ldc: C, parallel: false)
    }
}

/// Backward of `attentionForward`; accumulates into `dQKV`.
///
/// Concretely, per image and head: dV += Pᵀ·dO; dP = dO·Vᵀ; dS = P ⊙ (dP − rowsum(dP ⊙ P));
/// dQ += dS·K/√D; dK += dSᵀ·Q/√D.
/// - Parameters:
///   - dQKV: [B, N, 3C].
///   - dOutput: [B, N, C].
///   - qkv: [B, N, 3C] as in the forward pass.
///   - probabilities: [B, H, N, N] saved by the forward pass.
package func attentionBackward(
    dQKV: UnsafeMutablePointer<Float>, dOutput: UnsafePointer<Float>, qkv: UnsafePointer<Float>,
    probabilities: UnsafePointer<Float>, batch B: Int, tokens N: Int, channels C: Int, heads H: Int
) {
    let D = C / H
    let scale = 1 / Float(D).squareRoot()
    ComputeThreads.parallelFor(B * H) { pairs in
        let dScores = UnsafeMutablePointer<Float>.allocate(capacity: N * N)
        defer { dScores.deallocate() }
        for pair in pairs {
            let b = pair / H
            let h = pair % H
            let offset = b * N * 3 * C + h * D
            let q = qkv + offset
            let k = q + C
            let v = q + 2 * C
            let dQ = dQKV + offset
            let dK = dQ + C
            let dV = dQ + 2 * C
            let p = probabilities + pair * N * N
            let dO = dOutput + b * N * C + h * D
            gemm(transposeA: true, transposeB: false, m: N, n: D, k: N, a: p, lda: N, b: dO, ldb: C, beta: 1,
                c: dV, ldc: 3 * C, parallel: false)
            gemm(transposeA: false, transposeB: true, m: N, n: N, k: D, a: dO, lda: C, b: v, ldb: 3 * C,
                c: dScores, ldc: N, parallel: false)
            for row in 0..<N {
                let pRow = p + row * N
                let dRow = dScores + row * N
                let dot = reduceDot(dRow, pRow, count: N)
                for j in 0..<N { dRow[j] = pRow[j] * (dRow[j] - dot) }
            }
            gemm(transposeA: false, transposeB: false, m: N, n: D, k: N, alpha: scale, a: dScores, lda: N, b: k,
                ldb: 3 * C, beta: 1, c: dQ, ldc: 3 * C, parallel: false)
            gemm(transposeA: true, transposeB: false, m: N, n: D, k: N, alpha: scale, a: dScores, lda: N, b: q,
                ldb: 3 * C, beta: 1, c: dK, ldc: 3 * C, parallel: false)
        }
    }
}
