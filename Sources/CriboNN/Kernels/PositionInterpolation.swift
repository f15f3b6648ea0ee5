// SPDX-License-Identifier: Apache-2.0
// Bicubic resizing of the positional-embedding grid, as DINO's `interpolate_pos_encoding` does it:
// F.interpolate(grid, scale_factor=((Hp+0.1)/G, (Wp+0.1)/G), mode='bicubic', align_corners=False). Because a scale
// factor is given (and recompute_scale_factor is unset), PyTorch maps output index o to source coordinate
// (o + 0.5)/scale − 0.5 with that exact scale — not in/out — and uses Keys' cubic with A = −0.75, clamping source
// indices at the borders. The resize is separable, so it is two small matrices, and its backward is their
// transposes. Legend: G source grid side, Hp × Wp target grid, D channels.
// reference: https://pytorch.org/docs/stable/generated/torch.nn.functional.interpolate.html

import CriboTensor

/// The 1-D bicubic resampling matrix [outSize, inSize] for `scale` (PyTorch upsample_bicubic2d semantics).
package func bicubicMatrix(inSize: Int, outSize: Int, scale: Double) -> [Float] {
    // Float arithmetic throughout, as PyTorch's CPU kernel computes it (opmath_t = float for float tensors).
    let A: Float = -0.75
    func near(_ x: Float) -> Float { ((A + 2) * x - (A + 3)) * x * x + 1 }  // |x| ≤ 1
    func far(_ x: Float) -> Float { ((A * x - 5 * A) * x + 8 * A) * x - 4 * A }  // 1 < |x| < 2
    var matrix = [Float](repeating: 0, count: outSize * inSize)
    let step = Float(1 / scale)  // PyTorch keeps the inverse scale as a float value
    for o in 0..<outSize {
        let source = step * (Float(o) + 0.5) - 0.5
        let base = min(Int(source.rounded(.down)), inSize - 1)
        let t = min(max(source - Float(base), 0), 1)
        let weights = [far(t + 1), near(t), near(1 - t), far(2 - t)]
        for (tap, weight) in weights.enumerated() {
            let index = min(max(base - 1 + tap, 0), inSize - 1)
            matrix[o * inSize + index] += weight
        }
    }
    return matrix
}

/// Resizes a [G·G, D] patch-embedding grid (row-major) to [Hp·Wp, D], or accumulates the transpose.
///
/// Concretely: out[i, j, :] = Σ_{a, b} Rh[i, a]·Rw[j, b]·grid[a, b, :] with Rh, Rw from `bicubicMatrix`.
package struct PositionInterpolation {
    package let sourceSide: Int
    package let targetHeight: Int
    package let targetWidth: Int
    private let rows: [Float]  // [Hp, G]
    private let columns: [Float]  // [Wp, G]

    /// The DINO resize of a G × G grid to Hp × Wp (scale factors (Hp + 0.1)/G and (Wp + 0.1)/G).
    package init(sourceSide G: Int, targetHeight Hp: Int, targetWidth Wp: Int) {
        sourceSide = G
        targetHeight = Hp
        targetWidth = Wp
        rows = bicubicMatrix(inSize: G, outSize: Hp, scale: (Double(Hp) + 0.1) / Double(G))
        columns = bicubicMatrix(inSize: G, outSize: Wp, scale: (Double(Wp) + 0.1) / Double(G))
    }

    /// output [Hp·Wp, D] = resize(grid [G·G, D]).
    package func forward(output: UnsafeMutablePointer<Float>, grid: UnsafePointer<Float>, channels D: Int) {
        let G = sourceSide
        // First along the width: temp[a, j, :] = Σ_b Rw[j, b]·grid[a, b, :]   [G, Wp, D]
        let temp = UnsafeMutablePointer<Float>.allocate(capacity: G * targetWidth * D)
        defer { temp.deallocate() }
        temp.initialize(repeating: 0, count: G * targetWidth * D)
        for a in 0..<G {
            for j in 0..<targetWidth {
                let out = temp + (a * targetWidth + j) * D
                for b in 0..<G where columns[j * G + b] != 0 {
                    let w = columns[j * G + b]
                    let source = grid + (a * G + b) * D
                    for d in 0..<D { out[d] += w * source[d] }
                }
            }
        }
        output.update(repeating: 0, count: targetHeight * targetWidth * D)
        for i in 0..<targetHeight {
            for a in 0..<G where rows[i * G + a] != 0 {
                let w = rows[i * G + a]
                for j in 0..<targetWidth {
                    let out = output + (i * targetWidth + j) * D
                    let source = temp + (a * targetWidth + j) * D
                    for d in 0..<D { out[d] += w * source[d] }
                }
            }
        }
    }

    /// dGrid [G·G, D] += resizeᵀ(dOutput [Hp·Wp, D]).
    package func backward(dGrid: UnsafeMutablePointer<Float>, dOutput: UnsafePointer<Float>, channels D: Int) {
        let G = sourceSide
        let temp = UnsafeMutablePointer<Float>.allocate(capacity: G * targetWidth * D)
        defer { temp.deallocate() }
        temp.initialize(repeating: 0, count: G * targetWidth * D)
        for i in 0..<targetHeight {
            for a in 0..<G where rows[i * G + a] != 0 {
                let w = rows[i * G + a]
                for j in 0..<targetWidth {
                    let source = dOutput + (i * targetWidth + j) * D
                    let out = temp + (a * targetWidth + j) * D
                    for d in 0..<D { out[d] += w * source[d] }
                }
            }
        }
        for a in 0..<G {
            for j in 0..<targetWidth {
                let source = temp + (a * targetWidth + j) * D
                for b in 0..<G where columns[j * G + b] != 0 {
                    let w = columns[j * G + b]
                    let out = dGrid + (a * G + b) * D
                    for d in 0..<D { out[d] += w * source[d] }
                }
            }
        }
    }
}
