// SPDX-License-Identifier: Apache-2.0
// Patch extraction for the ViT patch embedding: Conv2d(Cin → C, kernel P, stride P) is im2col followed by a
// Linear with the conv weight [C, Cin, P, P] read as [C, Cin·P·P]. Patches are numbered row-major over the
// Hp × Wp grid, the order of the ViT tokens (flatten(2) in timm/DINO).
// Legend: B images, Cin input channels, H, W image size, P patch size, Hp = H/P, Wp = W/P.

import CriboTensor

/// columns[b·Hp·Wp + py·Wp + px, c·P·P + ky·P + kx] = image[b, c, py·P + ky, px·P + kx].
/// Pixels beyond Hp·P or Wp·P (sizes not divisible by P) are dropped, as the strided convolution drops them.
/// - Parameters:
///   - columns: [B·Hp·Wp, Cin·P·P].
///   - images: [B, Cin, H, W].
package func extractPatches(
    columns: UnsafeMutablePointer<Float>, images: UnsafePointer<Float>, batch B: Int, inChannels Cin: Int,
    height H: Int, width W: Int, patch P: Int
) {
    let Hp = H / P
    let Wp = W / P
    let K = Cin * P * P
    ComputeThreads.parallelForEach(B * Hp) { item in
        let b = item / Hp
        let py = item % Hp
        for px in 0..<Wp {
            let row = columns + ((b * Hp + py) * Wp + px) * K
            for c in 0..<Cin {
                for ky in 0..<P {
                    let source = images + ((b * Cin + c) * H + py * P + ky) * W + px * P
                    let destination = row + (c * P + ky) * P
                    destination.update(from: source, count: P)
                }
            }
        }
    }
}
