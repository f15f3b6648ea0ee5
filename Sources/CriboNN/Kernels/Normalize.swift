// SPDX-License-Identifier: Apache-2.0
// Row L2 normalisation (torch.nn.functional.normalize(p=2, dim=-1, eps)) and the weight normalisation of the
// DINO head's last layers (torch.nn.utils.weight_norm, dim=0). Legend: R rows, C columns.
// reference: https://pytorch.org/docs/stable/generated/torch.nn.functional.normalize.html

import CriboTensor

/// y[r, :] = x[r, :] / max(‖x[r, :]‖₂, eps). Saves the clamped norms.
/// - Parameters:
///   - output: [R, C].
///   - norms: [R], max(‖x_r‖, eps).
///   - input: [R, C].
package func l2NormalizeForward(
    output: UnsafeMutablePointer<Float>, norms: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
    rows R: Int, columns C: Int, eps: Float = 1e-12
) {
    ComputeThreads.parallelFor(R, grain: max(1, 8192 / max(C, 1))) { rows in
        for r in rows {
            let x = input + r * C
            let norm = max(reduceDot(x, x, count: C).squareRoot(), eps)
            norms[r] = norm
            let y = output + r * C
            for c in 0..<C { y[c] = x[c] / norm }
        }
    }
}

/// Backward of `l2NormalizeForward`; accumulates into `dInput`.
///
/// Concretely: when ‖x‖ > eps, dx = (dy − y·(y·dy))/‖x‖; otherwise (clamped) dx = dy/eps.
package func l2NormalizeBackward(
    dInput: UnsafeMutablePointer<Float>, dOutput: UnsafePointer<Float>, output: UnsafePointer<Float>,
    norms: UnsafePointer<Float>, input: UnsafePointer<Float>, rows R: Int, columns C: Int, eps: Float = 1e-12
) {
    ComputeThreads.parallelFor(R, grain: max(1, 8192 / max(C, 1))) { rows in
        for r in rows {
            let y = output + r * C
            let dy = dOutput + r * C
            let dx = dInput + r * C
            let x = input + r * C
            if reduceDot(x, x, count: C).squareRoot() <= eps {
                for c in 0..<C { dx[c] += dy[c] / eps }
                continue
            }
            let dot = reduceDot(y, dy, count: C)
            let inverse = 1 / norms[r]
            for c in 0..<C { dx[c] += (dy[c] - y[c] * dot) * inverse }
        }
    }
}

/// W[o, :] = g[o]·v[o, :]/‖v[o, :]‖ (weight norm over dim 0, no eps, as torch's _weight_norm).
/// - Parameters:
///   - weight: [O, I] the effective weight.
///   - norms: [O] the row norms ‖v_o‖.
///   - g: [O] magnitudes.
///   - v: [O, I] directions.
package func weightNormForward(
    weight: UnsafeMutablePointer<Float>, norms: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>,
    v: UnsafePointer<Float>, rows O: Int, columns I: Int
) {
    ComputeThreads.parallelFor(O, grain: max(1, 8192 / max(I, 1))) { rows in
        for o in rows {
            let row = v + o * I
            let norm = reduceDot(row, row, count: I).squareRoot()
            norms[o] = norm
            let factor = g[o] / norm
            let w = weight + o * I
            for i in 0..<I { w[i] = row[i] * factor }
        }
    }
}

/// Backward of `weightNormForward`; accumulates into `dG` (when given) and `dV`.
///
/// Concretely: dg_o = (dW_o·v_o)/‖v_o‖; dv_o = (g_o/‖v_o‖)·(dW_o − (dg_o/‖v_o‖)·v_o).
package func weightNormBackward(
    dG: UnsafeMutablePointer<Float>?, dV: UnsafeMutablePointer<Float>, dWeight: UnsafePointer<Float>,
    g: UnsafePointer<Float>, v: UnsafePointer<Float>, norms: UnsafePointer<Float>, rows O: Int, columns I: Int
) {
    ComputeThreads.parallelFor(O, grain: max(1, 8192 / max(I, 1))) { rows in
        for o in rows {
            let row = v + o * I
            let dW = dWeight + o * I
            let norm = norms[o]
            let dot = reduceDot(dW, row, count: I)
            let dg = dot / norm
            dG?[o] += dg
            let factor = g[o] / norm
            let projection = dg / norm
            let dv = dV + o * I
            for i in 0..<I { dv[i] += factor * (dW[i] - projection * row[i]) }
        }
    }
}
