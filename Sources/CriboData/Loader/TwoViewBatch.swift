// SPDX-License-Identifier: Apache-2.0
// One batch of CrIBo's two-view input: both augmented views of every image and their per-patch positions.

import CriboTensor

/// The loader's output for one step of one rank.
package struct TwoViewBatch: @unchecked Sendable {
    /// Dataset indices of the B images (their identity: per-sample randomness is keyed by them).
    package var sampleIndices: [Int]
    /// [2B, 3, S, S]: view 1 of every image, then view 2 (the single backbone call of MultiCropWrapper).
    package var images: Tensor
    /// [2, B, 2, N]: per-patch (x, y) in original-image pixels, patches in token order (the reference's crop_pos).
    package var positions: Tensor

    package init(sampleIndices: [Int], images: Tensor, positions: Tensor) {
        self.sampleIndices = sampleIndices
        self.images = images
        self.positions = positions
    }

    package var batchSize: Int { sampleIndices.count }
}
