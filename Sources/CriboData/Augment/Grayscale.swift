// SPDX-License-Identifier: Apache-2.0
// Grayscale as torchvision's F.rgb_to_grayscale(img, 3) on a PIL image: Pillow's "RGB" → "L" conversion
// (ITU-R 601-2 luma in 16-bit fixed point) replicated into three channels.
// reference: Pillow libImaging/Convert.c rgb2l, torchvision _functional_pil.to_grayscale

/// Pillow's RGB → L luma: (19595·R + 38470·G + 7471·B + 2¹⁵) >> 16, i.e. 0.299R + 0.587G + 0.114B rounded.
@inline(__always) func pillowLuma(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> UInt8 {
    UInt8(truncatingIfNeeded: (Int(r) * 19595 + Int(g) * 38470 + Int(b) * 7471 + 0x8000) >> 16)
}

extension RGBImage {
    /// The luma of every pixel, like Pillow's `convert("L")`.
    /// - Returns: `[height, width]` bytes.
    package func luma() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: width * height)
        pixels.withUnsafeBufferPointer { p in
            for k in 0..<(width * height) { out[k] = pillowLuma(p[3 * k], p[3 * k + 1], p[3 * k + 2]) }
        }
        return out
    }

    /// Three-channel grayscale, as torchvision's `rgb_to_grayscale(img, num_output_channels=3)` on PIL.
    package func grayscaled() -> RGBImage {
        let l = luma()
        var out = [UInt8](repeating: 0, count: l.count * 3)
        for k in 0..<l.count {
            out[3 * k] = l[k]
            out[3 * k + 1] = l[k]
            out[3 * k + 2] = l[k]
        }
        return RGBImage(width: width, height: height, pixels: out)
    }
}
