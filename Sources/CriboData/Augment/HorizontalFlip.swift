// SPDX-License-Identifier: Apache-2.0
// Left-right flip of an image (PIL's FLIP_LEFT_RIGHT, torchvision F.hflip) and of channel-first float planes
// (the position map, torch's flip(-1)).

extension RGBImage {
    /// The image mirrored left-right: column x goes to column width − 1 − x.
    package func horizontallyFlipped() -> RGBImage {
        var out = [UInt8](repeating: 0, count: pixels.count)
        pixels.withUnsafeBufferPointer { p in
            for y in 0..<height {
                for x in 0..<width {
                    let from = (y * width + x) * 3, to = (y * width + width - 1 - x) * 3
                    out[to] = p[from]
                    out[to + 1] = p[from + 1]
                    out[to + 2] = p[from + 2]
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }
}

/// Mirrors channel-first planes left-right in place.
/// - Parameters:
///   - planes: [planeCount, height, width].
package func flipHorizontally(_ planes: inout [Float], width: Int, height: Int) {
    precondition(width > 0 && planes.count % (width * max(height, 1)) == 0,
                 "flipHorizontally: \(planes.count) values for rows of \(width)x\(height)")
    for row in 0..<(planes.count / width) {
        planes[(row * width)..<((row + 1) * width)].reverse()
    }
}
