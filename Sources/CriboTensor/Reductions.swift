// SPDX-License-Identifier: Apache-2.0
// Row reductions in a fixed, vectorised order. A plain `for c in 0..<n { s += x[c] }` is one scalar dependency chain
// (the compiler may not reorder float additions), about 4 cycles an element; these keep 16 partial sums in SIMD lanes
// (element c goes to lane c mod 16 of one of two accumulators) and add them up in a fixed order at the end. The
// order depends only on n, so every machine and thread count gives the same bits.

/// Σ x[c] for c in 0..<n.
@inlinable @inline(__always)
package func reduceSum(_ x: UnsafePointer<Float>, count n: Int) -> Float {
    reduceLanes(count: n) { c in load16(x + c) } scalar: { c in x[c] }
}

/// Σ x[c]·y[c] for c in 0..<n.
@inlinable @inline(__always)
package func reduceDot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count n: Int) -> Float {
    reduceLanes(count: n) { c in load16(x + c) * load16(y + c) } scalar: { c in x[c] * y[c] }
}

/// Σ (x[c] − shift)² for c in 0..<n.
@inlinable @inline(__always)
package func reduceSquaredDeviations(_ x: UnsafePointer<Float>, from shift: Float, count n: Int) -> Float {
    let s = SIMD16<Float>(repeating: shift)
    return reduceLanes(count: n) { c in
        let d = load16(x + c) - s
        return d * d
    } scalar: { c in
        let d = x[c] - shift
        return d * d
    }
}

/// Σ x[c]² for c in 0..<n, accumulated in Double (8 lanes × 2 accumulators, then a fixed-order total).
@inlinable @inline(__always)
package func reduceSquaresInDouble(_ x: UnsafePointer<Float>, count n: Int) -> Double {
    var a0 = SIMD8<Double>(), a1 = SIMD8<Double>()
    var c = 0
    while c + 16 <= n {
        let u = SIMD8<Double>(load8(x + c)), v = SIMD8<Double>(load8(x + c + 8))
        a0 += u * u
        a1 += v * v
        c += 16
    }
    var total = (a0 + a1).sum()
    while c < n {
        total += Double(x[c]) * Double(x[c])
        c += 1
    }
    return total
}

/// 16 floats from p (no alignment needed).
@inlinable @inline(__always)
package func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
}

@usableFromInline @inline(__always)
func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

/// Σ over c in 0..<n of a per-element term: `block(c)` gives the terms of c..<c+16 as lanes, `scalar(c)` one term.
/// Two 16-lane accumulators over whole blocks of 32, one for a remaining block of 16, then the lanes and the scalar
/// tail, in that order.
@inlinable @inline(__always)
package func reduceLanes(count n: Int, _ block: (Int) -> SIMD16<Float>, scalar: (Int) -> Float) -> Float {
    var a0 = SIMD16<Float>(), a1 = SIMD16<Float>()
    var c = 0
    while c + 32 <= n {
        a0 += block(c)
        a1 += block(c + 16)
        c += 32
    }
    if c + 16 <= n {
        a0 += block(c)
        c += 16
    }
    var total = (a0 + a1).sum()
    while c < n {
        total += scalar(c)
        c += 1
    }
    return total
}
