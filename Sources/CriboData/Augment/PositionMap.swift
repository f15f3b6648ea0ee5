// SPDX-License-Identifier: Apache-2.0
// CrIBo's position maps: a 2×H×W float map (channel 0 = column x, channel 1 = row y, original-image pixels)
// cropped and resized like the image — torchvision's tensor F.resized_crop with BICUBIC, which antialiases by
// default (torchvision ≥ 0.17), no clamping — then flipped with the image; and their per-patch means.
// The map is separable (x depends on the column only, y on the row only), so each channel is one 1-D resample
// of a ramp broadcast over the other axis; torch runs the full 2-D kernel, whose second pass multiplies by
// weights summing to 1 in float32, so the two agree to a few float32 ulps (checked against goldens).
// reference: https://github.com/tileb1/CrIBo cribo_utils/data_transforms.py RandomResizedCropWithPos,
// main_cribo.py train_one_epoch (rearrange 'm b d (r i) (c j) -> m b d (r c) (i j)' then mean)

/// One axis of the resized ramp first, first + 1, …, first + length − 1, as torch's antialiased bicubic.
private func resizedRamp(first: Int, length: Int, size: Int) -> [Float] {
    if length == size { return (0..<size).map { Float(first + $0) } }
    let taps = TensorTaps(inSize: length, outSize: size, filter: .bicubic)
    return (0..<size).map { o in taps.apply(o) { Float(first + $0) } }
}

/// The position map of a view: original-image coordinates of every output pixel.
///
/// Concretely: pos[0, r, c] = X[c] and pos[1, r, c] = Y[r], where X is the bicubic antialiased resize of the
/// column ramp left … left + width − 1 to `size` values (Y likewise for rows); when `flip`, columns are
/// mirrored (X[size − 1 − c]). Away from the edges X[c] = left − 0.5 + (c + 0.5)·width/size.
/// - Returns: [2, size, size].
package func positionMap(crop: CropBox, size: Int, flip: Bool) -> [Float] {
    precondition(size > 0 && crop.width > 0 && crop.height > 0, "positionMap: crop \(crop) to \(size)")
    var x = resizedRamp(first: crop.left, length: crop.width, size: size)
    let y = resizedRamp(first: crop.top, length: crop.height, size: size)
    if flip { x.reverse() }
    var out = [Float](repeating: 0, count: 2 * size * size)
    for r in 0..<size {
        for c in 0..<size {
            out[r * size + c] = x[c]
            out[size * size + r * size + c] = y[r]
        }
    }
    return out
}

/// The mean position of each patch, in ViT token order.
///
/// Concretely: out[d, R·(S/p) + C] = mean over the p×p block (R, C) of positions[d] (accumulated in double).
/// - Parameters:
///   - positions: [2, size, size].
/// - Returns: [2, (size/patch)²].
package func perPatchPositions(_ positions: [Float], size: Int, patch: Int) -> [Float] {
    precondition(patch > 0 && size % patch == 0 && positions.count == 2 * size * size,
                 "perPatchPositions: \(positions.count) values, size \(size), patch \(patch)")
    let grid = size / patch
    var out = [Float](repeating: 0, count: 2 * grid * grid)
    for d in 0..<2 {
        for row in 0..<grid {
            for column in 0..<grid {
                var sum = 0.0
                for i in 0..<patch {
                    let base = d * size * size + (row * patch + i) * size + column * patch
                    for j in 0..<patch { sum += Double(positions[base + j]) }
                }
                out[d * grid * grid + row * grid + column] = Float(sum / Double(patch * patch))
            }
        }
    }
    return out
}
