// SPDX-License-Identifier: Apache-2.0
// SplitMix64: the one random number generator of cribo. Every random choice is drawn from a generator seeded
// by `SplitMix64.mix(...)` of the values it depends on (seed, epoch, sample index, ...), never from a global one.

import Foundation

/// A small, fast, splittable 64-bit generator (Steele, Lea & Flood 2014).
///
/// Concretely: `state += 0x9E3779B97F4A7C15`, then the output is the state passed through two xor-shift-multiply
/// rounds. Passes BigCrush; period 2^64.
package struct SplitMix64: RandomNumberGenerator, Sendable {
    package private(set) var state: UInt64

    /// A generator with the given state.
    package init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.finalize(state)
    }

    /// The SplitMix64 output function: a bijective mix of 64 bits.
    package static func finalize(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A seed that depends on every one of `values`, in order: the key of a random stream.
    package static func mix(_ values: UInt64...) -> UInt64 {
        var h: UInt64 = 0x6A09_E667_F3BC_C909
        for value in values { h = finalize(h ^ finalize(value &+ 0x9E37_79B9_7F4A_7C15)) }
        return h
    }

    /// A uniform Double in [0, 1) with 53 random bits.
    package mutating func nextUniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// A uniform Double in [low, high).
    package mutating func nextUniform(_ low: Double, _ high: Double) -> Double { low + (high - low) * nextUniform() }

    /// A standard normal Double (Box–Muller, one value per call).
    package mutating func nextNormal() -> Double {
        var u1 = nextUniform()
        while u1 <= 0 { u1 = nextUniform() }
        let u2 = nextUniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    /// A uniform integer in 0..<bound.
    package mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0, "SplitMix64.nextInt: bound must be positive")
        return Int(next(upperBound: UInt64(bound)))
    }
}


/// FNV-1a 64 of the UTF-8 bytes: a hash that is the same in every process (unlike `Hasher`), for keying streams by
/// names.
package func stableHash(_ text: String) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in text.utf8 {
        h ^= UInt64(byte)
        h &*= 0x100_0000_01B3
    }
    return h
}
