// SPDX-License-Identifier: Apache-2.0
// The shape families of the synthetic scene classes: each draws a randomly proportioned outline around the origin,
// normalised to unit area and centred on its centroid, so that the renderer sets the size by one scale factor.
// Curved outlines use 48 vertices. None has a hole (COCO polygons cannot express one): the ring-like class is a
// crescent.

import CriboTensor
import Foundation

/// A family of outlines; one per scene class.
enum ShapeFamily: CaseIterable, Sendable {
    case ellipse, rectangle, triangle, star, hexagon, cross, crescent, arrow, heart, lShape

    /// The vertex count of curved outlines.
    static let curveVertexCount = 48

    /// A random member of the family: unit area, centroid at the origin, y pointing down.
    func outline(using rng: inout SplitMix64) -> [SIMD2<Double>] {
        normalized(rawOutline(using: &rng))
    }

    // MARK: - Private

    private func rawOutline(using rng: inout SplitMix64) -> [SIMD2<Double>] {
        let n = Self.curveVertexCount
        switch self {
        case .ellipse:
            let aspect = rng.nextUniform(1, 1.6)
            return (0..<n).map { unitCircle(Double($0) / Double(n)) * SIMD2(aspect, 1) }
        case .rectangle:
            let aspect = rng.nextUniform(1, 1.7)
            return [SIMD2(-aspect, -1), SIMD2(aspect, -1), SIMD2(aspect, 1), SIMD2(-aspect, 1)]
        case .triangle:
            return (0..<3).map { k in
                let turn = (Double(k) + rng.nextUniform(-0.06, 0.06)) / 3
                return unitCircle(turn) * rng.nextUniform(0.8, 1)
            }
        case .star:
            let inner = rng.nextUniform(0.38, 0.52)
            return (0..<10).map { k in unitCircle(Double(k) / 10) * (k % 2 == 0 ? 1 : inner) }
        case .hexagon:
            return (0..<6).map { k in unitCircle(Double(k) / 6) }
        case .cross:
            let w = rng.nextUniform(0.26, 0.38)
            return [
                SIMD2(-w, -1), SIMD2(w, -1), SIMD2(w, -w), SIMD2(1, -w), SIMD2(1, w), SIMD2(w, w),
                SIMD2(w, 1), SIMD2(-w, 1), SIMD2(-w, w), SIMD2(-1, w), SIMD2(-1, -w), SIMD2(-w, -w),
            ]
        case .crescent:
            return crescent(innerRadius: rng.nextUniform(0.78, 0.92), offset: rng.nextUniform(0.38, 0.55))
        case .arrow:
            let shaft = rng.nextUniform(0.16, 0.26)
            let head = rng.nextUniform(0.5, 0.68)
            let neck = rng.nextUniform(0.05, 0.3)
            return [
                SIMD2(-1, -shaft), SIMD2(neck, -shaft), SIMD2(neck, -head), SIMD2(1, 0),
                SIMD2(neck, head), SIMD2(neck, shaft), SIMD2(-1, shaft),
            ]
        case .heart:
            // The classic parametric heart (x = 16 sin³t, y = 13 cos t − 5 cos 2t − 2 cos 3t − cos 4t), y flipped.
            return (0..<n).map { k in
                let t = 2 * Double.pi * Double(k) / Double(n)
                let y = 13 * cos(t) - 5 * cos(2 * t) - 2 * cos(3 * t) - cos(4 * t)
                return SIMD2(16 * pow(sin(t), 3), -y)
            }
        case .lShape:
            let t = rng.nextUniform(0.38, 0.52)
            let long = rng.nextUniform(1, 1.4)
            return [SIMD2(0, 0), SIMD2(t, 0), SIMD2(t, long - t), SIMD2(1, long - t), SIMD2(1, long), SIMD2(0, long)]
        }
    }

    /// The disc of radius 1 minus a disc of radius `innerRadius` centred at (offset, 0): the outer arc through the
    /// left, then the inner arc back. Needs |1 − innerRadius| < offset < 1 + innerRadius.
    private func crescent(innerRadius r: Double, offset d: Double) -> [SIMD2<Double>] {
        let half = Self.curveVertexCount / 2
        let x = (1 - r * r + d * d) / (2 * d)  // the circles meet at (x, ±√(1 − x²))
        let y = (1 - x * x).squareRoot()
        let outerStart = atan2(y, x)
        let innerStart = atan2(y, x - d)
        let outer = (0...half).map { k -> SIMD2<Double> in
            let angle = outerStart + (2 * .pi - 2 * outerStart) * Double(k) / Double(half)
            return SIMD2(cos(angle), sin(angle))
        }
        let inner = (1..<half).map { k -> SIMD2<Double> in
            let angle = (2 * .pi - innerStart) - (2 * .pi - 2 * innerStart) * Double(k) / Double(half)
            return SIMD2(d + r * cos(angle), r * sin(angle))
        }
        return outer + inner
    }

    private func unitCircle(_ turn: Double) -> SIMD2<Double> {
        SIMD2(cos(2 * .pi * turn), sin(2 * .pi * turn))
    }

    /// Moves the centroid to the origin and scales to unit area.
    private func normalized(_ points: [SIMD2<Double>]) -> [SIMD2<Double>] {
        var twiceArea = 0.0
        var centroid = SIMD2<Double>(0, 0)
        for i in points.indices {
            let p = points[i], q = points[(i + 1) % points.count]
            let cross = p.x * q.y - q.x * p.y
            twiceArea += cross
            centroid += (p + q) * cross
        }
        centroid /= 3 * twiceArea
        let scale = 1 / abs(twiceArea / 2).squareRoot()
        return points.map { ($0 - centroid) * scale }
    }
}
