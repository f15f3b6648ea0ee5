// SPDX-License-Identifier: Apache-2.0
// The background of a synthetic scene: a low-contrast texture unlike any object texture (a smooth value-noise field
// over a few cells, or a gentle linear gradient) with a faint per-pixel grain, plus a few small irregular
// distractor blobs that are not objects (label 0).

import CriboTensor
import Foundation

/// A scene's background, drawn from the scene's random stream.
struct SceneBackground {
    private var base: SIMD3<Double>
    private var shade: SIMD3<Double>
    /// Value-noise lattice values, `[latticeRows, latticeColumns]`, or empty for a gradient background.
    private var lattice: [Double]
    private var latticeColumns: Int
    private var cellSize: SIMD2<Double>
    private var direction: SIMD2<Double>
    private var grainKey: UInt64

    /// A random background for an image of the given size.
    init(width: Int, height: Int, using rng: inout SplitMix64) {
        base = SceneColour.hsv(rng.nextUniform(), rng.nextUniform(0.05, 0.4), rng.nextUniform(0.3, 0.8))
        // The second colour is the first, 8–16% lighter or darker: low contrast.
        shade = base * (1 + (rng.nextUniform() < 0.5 ? -1 : 1) * rng.nextUniform(0.08, 0.16))
        let angle = rng.nextUniform(0, 2 * .pi)
        direction = SIMD2(cos(angle), sin(angle)) / Double(max(width, height))
        grainKey = rng.next()
        if rng.nextUniform() < 0.5 {
            let cells = 2 + rng.nextInt(below: 3)
            cellSize = SIMD2(Double(width), Double(height)) / Double(cells)
            latticeColumns = cells + 1
            lattice = (0..<((cells + 1) * (cells + 1))).map { _ in rng.nextUniform() }
        } else {
            cellSize = SIMD2(1, 1)
            latticeColumns = 0
            lattice = []
        }
    }

    /// Paints every pixel of an RGB buffer `[height, width, 3]`.
    func paint(_ rgb: inout [UInt8], width: Int, height: Int) {
        for y in 0..<height {
            for x in 0..<width {
                let t = value(x: Double(x) + 0.5, y: Double(y) + 0.5)
                let grain = (hashUniform(grainKey, UInt64(x), UInt64(y)) - 0.5) * (6.0 / 255)
                let colour = base + t * (shade - base) + SIMD3(repeating: grain)
                SceneColour.store(colour, into: &rgb, at: 3 * (y * width + x))
            }
        }
    }

    /// Paints a few small irregular blobs (each 0.2–0.8% of the image) of random flat colours.
    static func paintDistractors(_ rgb: inout [UInt8], width: Int, height: Int, using rng: inout SplitMix64) {
        let count = 2 + rng.nextInt(below: 3)
        for _ in 0..<count {
            let radius = (rng.nextUniform(0.002, 0.008) * Double(width * height) / Double.pi).squareRoot()
            let centre = SIMD2(rng.nextUniform(0, Double(width)), rng.nextUniform(0, Double(height)))
            let vertexCount = 14
            var outline: [Double] = []
            for k in 0..<vertexCount {
                let angle = 2 * Double.pi * Double(k) / Double(vertexCount)
                let r = radius * rng.nextUniform(0.7, 1.3)
                outline += [centre.x + r * cos(angle), centre.y + r * sin(angle)]
            }
            let colour = SceneColour.random(using: &rng)
            for span in PolygonRasterizer.spans(of: outline, width: width, height: height) {
                for c in span.columns { SceneColour.store(colour, into: &rgb, at: 3 * (span.row * width + c)) }
            }
        }
    }

    // MARK: - Private

    /// The mix of `base` towards `shade` at a point, in [0, 1].
    private func value(x: Double, y: Double) -> Double {
        guard !lattice.isEmpty else {
            return min(1, max(0, 0.5 + (x * direction.x + y * direction.y)))
        }
        let gx = x / cellSize.x, gy = y / cellSize.y
        let i = min(latticeColumns - 2, Int(gx)), j = min(latticeColumns - 2, Int(gy))
        let fx = smooth(gx - Double(i)), fy = smooth(gy - Double(j))
        let top = lattice[j * latticeColumns + i] * (1 - fx) + lattice[j * latticeColumns + i + 1] * fx
        let bottom = lattice[(j + 1) * latticeColumns + i] * (1 - fx) + lattice[(j + 1) * latticeColumns + i + 1] * fx
        return top * (1 - fy) + bottom * fy
    }

    private func smooth(_ t: Double) -> Double { t * t * (3 - 2 * t) }
}
