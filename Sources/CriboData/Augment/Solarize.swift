// SPDX-License-Identifier: Apache-2.0
// Solarization as Pillow's ImageOps.solarize (DINO's Solarization calls it with the default threshold 128).
// reference: Pillow ImageOps.py solarize

extension RGBImage {
    /// Every byte v ≥ threshold inverted to 255 − v, as `ImageOps.solarize(img, threshold)`.
    package func solarized(threshold: UInt8 = 128) -> RGBImage {
        RGBImage(width: width, height: height, pixels: pixels.map { $0 < threshold ? $0 : 255 - $0 })
    }
}
