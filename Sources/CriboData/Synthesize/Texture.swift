// SPDX-License-Identifier: Apache-2.0
// The texture families of the synthetic scene classes and the per-instance colours they are painted with.
//
// A texture is a pattern value t ∈ [0, 1] at each point of the object's own frame (pixels, rotated with the object);
// the pixel colour is first + t·(second − first). The two colours are drawn per instance around the class's hue, as
// real categories have typical colours: the hue within ±0.08 turns of the class's (classes are 1/8 turn apart at the
// default 8 classes, so neighbouring classes overlap), saturation 0.25–1 and value 0.12–1, so colour is a cue but does
// not tell a class alone, while brightness and saturation vary as lighting does. Sharp two-tone families (stripes, checkerboard,
// dots, rings, grid, zigzag), smooth ones (waves, gradient, blotches) and fine noise differ in their spatial
// statistics; each family's period is drawn relative to the object's size.

import CriboTensor
import Foundation

/// A family of patterns; one per scene class.
enum TextureFamily: CaseIterable, Sendable {
    case stripes, checkerboard, dots, waves, rings, noise, gradient, grid, zigzag, blotches

    /// A random member of the family for an object of the given size (square root of its area, pixels).
    func pattern(size: Double, using rng: inout SplitMix64) -> TexturePattern {
        let angle = rng.nextUniform(0, 2 * .pi)
        var pattern = TexturePattern(
            family: self, period: max(4, size * rng.nextUniform(0.15, 0.24)), direction: SIMD2(cos(angle), sin(angle)),
            offset: SIMD2(rng.nextUniform(0, 64), rng.nextUniform(0, 64)), first: 0.5, second: 0, key: rng.next())
        switch self {
        case .stripes: pattern.first = rng.nextUniform(0.35, 0.6)  // duty cycle
        case .checkerboard: pattern.period = max(5, pattern.period * 1.1)
        case .dots: pattern.first = rng.nextUniform(0.24, 0.34)  // dot radius, in periods
        case .waves:
            pattern.first = pattern.period * rng.nextUniform(0.35, 0.6)  // amplitude
            pattern.second = pattern.period * rng.nextUniform(2.5, 4)  // wavelength along the crests
        case .rings:
            pattern.offset = SIMD2(rng.nextUniform(-0.15, 0.15), rng.nextUniform(-0.15, 0.15)) * size  // the centre
        case .noise: pattern.period = max(1, size * rng.nextUniform(0.03, 0.055))  // cell size
        case .gradient: pattern.period = size * rng.nextUniform(0.8, 1.2)  // the ramp's length
        case .grid:
            pattern.period = max(6, pattern.period * 1.2)
            pattern.first = max(1.2 / pattern.period, rng.nextUniform(0.13, 0.2))  // line width, in periods
        case .zigzag:
            pattern.first = pattern.period * rng.nextUniform(0.8, 1.1)  // amplitude
            pattern.second = pattern.period * rng.nextUniform(2, 2.8)  // wavelength
        case .blotches: pattern.period = max(4, size * rng.nextUniform(0.2, 0.3))  // cell size
        }
        return pattern
    }
}

/// One object's texture: a family with its drawn parameters.
struct TexturePattern: Sendable {
    var family: TextureFamily
    /// The repeat length in pixels (cell size for noise, ramp length for gradient).
    var period: Double
    /// The unit direction of the pattern's first axis in the object frame.
    var direction: SIMD2<Double>
    /// The phase offset (rings: their centre relative to the object's centroid).
    var offset: SIMD2<Double>
    /// Family parameters, see `TextureFamily.pattern`.
    var first: Double
    var second: Double
    /// The hash key of the noise family.
    var key: UInt64

    /// The pattern value t ∈ [0, 1] at a point of the object frame (pixels from the centroid).
    func value(at point: SIMD2<Double>) -> Double {
        let u = point.x * direction.x + point.y * direction.y
        let v = point.y * direction.x - point.x * direction.y
        switch family {
        case .stripes:
            return fraction((u + offset.x) / period) < first ? 1 : 0
        case .checkerboard:
            let column = Int(((u + offset.x) / (period / 2)).rounded(.down))
            let cells = column + Int(((v + offset.y) / (period / 2)).rounded(.down))
            return cells & 1 == 0 ? 1 : 0
        case .dots:
            let row = ((v + offset.y) / period).rounded(.down)
            let shift = row.truncatingRemainder(dividingBy: 2) == 0 ? 0 : 0.5  // hexagonal packing
            let du = fraction((u + offset.x) / period + shift) - 0.5
            let dv = fraction((v + offset.y) / period) - 0.5
            return du * du + dv * dv < first * first ? 1 : 0
        case .waves:
            return 0.5 + 0.5 * sin(2 * .pi * (u + offset.x + first * sin(2 * .pi * v / second)) / period)
        case .rings:
            return fraction(simdLength(point - offset) / period) < 0.5 ? 1 : 0
        case .noise:
            let cx = Int64(((u + offset.x) / period).rounded(.down))
            let cy = Int64(((v + offset.y) / period).rounded(.down))
            return hashUniform(key, UInt64(bitPattern: cx), UInt64(bitPattern: cy))
        case .gradient:
            let t = min(1, max(0, 0.5 + u / period))
            return t * t * (3 - 2 * t)  // smoothstep
        case .grid:
            return fraction((u + offset.x) / period) < first || fraction((v + offset.y) / period) < first ? 1 : 0
        case .zigzag:
            let phase = fraction(v / second)
            let triangle = phase < 0.5 ? 2 * phase : 2 - 2 * phase
            return fraction((u + offset.x + first * triangle) / period) < 0.5 ? 1 : 0
        case .blotches:
            // Smooth value noise: lattice values at cell corners, smoothstep-interpolated.
            let gu = (u + offset.x) / period, gv = (v + offset.y) / period
            let cu = gu.rounded(.down), cv = gv.rounded(.down)
            let fu = gu - cu, fv = gv - cv
            let su = fu * fu * (3 - 2 * fu), sv = fv * fv * (3 - 2 * fv)
            let i = UInt64(bitPattern: Int64(cu)), j = UInt64(bitPattern: Int64(cv))
            let top = hashUniform(key, i, j) * (1 - su) + hashUniform(key, i &+ 1, j) * su
            let bottom = hashUniform(key, i, j &+ 1) * (1 - su) + hashUniform(key, i &+ 1, j &+ 1) * su
            return min(1, max(0, 1.5 * (top * (1 - sv) + bottom * sv) - 0.25))  // stretched: fuller contrast
        }
    }
}

// MARK: - Colours

/// Colour helpers: RGB components in [0, 1].
enum SceneColour {
    /// A colour from hue (turns), saturation and value.
    static func hsv(_ h: Double, _ s: Double, _ v: Double) -> SIMD3<Double> {
        let sector = fraction(h) * 6
        let i = Int(sector.rounded(.down)) % 6
        let f = sector - sector.rounded(.down)
        let p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f))
        switch i {
        case 0: return SIMD3(v, t, p)
        case 1: return SIMD3(q, v, p)
        case 2: return SIMD3(p, v, t)
        case 3: return SIMD3(p, q, v)
        case 4: return SIMD3(t, p, v)
        default: return SIMD3(v, p, q)
        }
    }

    /// ITU-R 601 luma of a colour.
    static func luma(_ c: SIMD3<Double>) -> Double { 0.299 * c.x + 0.587 * c.y + 0.114 * c.z }

    /// Any hue, mid to full saturation and value: the colours of the distractor blobs.
    static func random(using rng: inout SplitMix64) -> SIMD3<Double> {
        hsv(rng.nextUniform(), rng.nextUniform(0.25, 1), rng.nextUniform(0.2, 1))
    }

    /// The half-width of an instance's hue range around its class's hue (turns).
    static let classHueSpread = 0.08

    /// A colour of an instance of a class whose hue is `hue` (turns): the hue within ±`classHueSpread`, saturation
    /// 0.25–1, value 0.12–1.
    static func instance(hue: Double, using rng: inout SplitMix64) -> SIMD3<Double> {
        hsv(hue + rng.nextUniform(-classHueSpread, classHueSpread), rng.nextUniform(0.25, 1), rng.nextUniform(0.12, 1))
    }

    /// Two colours of one instance of a class of hue `hue` whose luma differs by at least 0.2, so the texture shows
    /// in grayscale too (when 32 draws fail, the second is the first at 40% brightness).
    static func pair(hue: Double, using rng: inout SplitMix64) -> (SIMD3<Double>, SIMD3<Double>) {
        let first = instance(hue: hue, using: &rng)
        for _ in 0..<32 {
            let second = instance(hue: hue, using: &rng)
            if abs(luma(first) - luma(second)) >= 0.2 { return (first, second) }
        }
        return (first, first * 0.4)
    }

    /// Writes a colour, clamped and rounded, to three bytes of an RGB buffer.
    static func store(_ c: SIMD3<Double>, into rgb: inout [UInt8], at offset: Int) {
        rgb[offset] = byte(c.x)
        rgb[offset + 1] = byte(c.y)
        rgb[offset + 2] = byte(c.z)
    }

    private static func byte(_ value: Double) -> UInt8 { UInt8(min(255, max(0, (value * 255).rounded()))) }
}

/// The fractional part in [0, 1).
func fraction(_ x: Double) -> Double { x - x.rounded(.down) }

/// A uniform value in [0, 1) hashed from a key and two coordinates (stateless, for noise lattices).
func hashUniform(_ key: UInt64, _ a: UInt64, _ b: UInt64) -> Double {
    let h = SplitMix64.finalize(key ^ SplitMix64.finalize(a &+ SplitMix64.finalize(b &+ 0x9E37_79B9_7F4A_7C15)))
    return Double(h >> 11) * 0x1.0p-53
}

private func simdLength(_ p: SIMD2<Double>) -> Double { (p.x * p.x + p.y * p.y).squareRoot() }
