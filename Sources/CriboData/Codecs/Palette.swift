// SPDX-License-Identifier: Apache-2.0
// The Pascal VOC colour map, with which VOC's SegmentationClass/SegmentationObject PNGs (and cribo's mask
// fixtures) are written. The colours are for display only; the pixel values are the labels (datasets.md §3.2).

extension PNG {
    /// The 256-entry Pascal VOC palette ("bitget" colour map), as `[256, 3]` RGB bytes.
    ///
    /// Concretely: bits 0/1/2 of index i go to the most significant bits of R/G/B, bits 3/4/5 to the next bits
    /// down, and so on: 1 → (128, 0, 0), 15 (person) → (192, 128, 128), 255 (void) → (224, 224, 192).
    /// reference: VOCdevkit VOClabelcolormap.m
    package static func pascalVOCPalette() -> [UInt8] {
        var palette = [UInt8](repeating: 0, count: 768)
        for index in 0..<256 {
            var (red, green, blue, code) = (0, 0, 0, index)
            for bit in 0..<8 {
                red |= (code & 1) << (7 - bit)
                green |= (code >> 1 & 1) << (7 - bit)
                blue |= (code >> 2 & 1) << (7 - bit)
                code >>= 3
            }
            palette[3 * index] = UInt8(red)
            palette[3 * index + 1] = UInt8(green)
            palette[3 * index + 2] = UInt8(blue)
        }
        return palette
    }
}
