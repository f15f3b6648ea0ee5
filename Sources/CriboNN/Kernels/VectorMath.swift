// SPDX-License-Identifier: Apache-2.0
// exp and erf as straight-line arithmetic (no calls, no branches, no table), so that loops over them are
// vectorised by the compiler (Horner steps are fused multiply-adds); used by softmax and the exact (erf) GELU.
// Accuracy, checked in ViTPropertyTests against Double: exp ≤ 2.5e-7 relative on [-87, 88]; erf ≤ 3e-7 absolute.
// The erf coefficients are least-squares fits made by tools/fit_erf.py (the script prints their error).

/// e^x. Inputs below -87.3 give 0 (flushed), above 88.7 are clamped.
///
/// Concretely: x = n·ln2 + r with n = round(x/ln2) (the 1.5·2²³ rounding trick) and |r| ≤ ln2/2 (ln2 split in two
/// parts, Cody–Waite), e^r by its degree-7 Taylor polynomial (error < 5e-9), times 2^n built in the exponent bits.
@inline(__always)
package func fastExp(_ x: Float) -> Float {
    let clamped = min(max(x, -87.3), 88.7)
    let shifted = clamped * 1.442_695_04 + 12_582_912  // 1.5·2²³: the sum's low mantissa bits hold round(x/ln2)
    let n = shifted - 12_582_912
    var r = clamped.addingProduct(-n, 0.693_145_751_953_125)  // ln2, high part (exact in 11 bits)
    r = r.addingProduct(-n, 1.428_606_765_330_187_045e-06)  // ln2, low part
    var p: Float = 1.0 / 5040
    p = Float(1.0 / 720).addingProduct(p, r)
    p = Float(1.0 / 120).addingProduct(p, r)
    p = Float(1.0 / 24).addingProduct(p, r)
    p = Float(1.0 / 6).addingProduct(p, r)
    p = Float(0.5).addingProduct(p, r)
    p = Float(1).addingProduct(p, r)
    p = Float(1).addingProduct(p, r)
    let integer = Int32(bitPattern: shifted.bitPattern) &- 0x4B40_0000
    let scale = Float(bitPattern: UInt32(bitPattern: (integer &+ 127) &<< 23))
    return x < -87.3 ? 0 : p * scale
}

/// erf(x) (see the file header for the accuracy).
@inline(__always)
package func fastErf(_ x: Float) -> Float {
    let a = abs(x)
    // Branch A, |x| < 1: x·P(x²).
    let u = x * x
    var p: Float = -9.673_597_175_2e-06
    p = Float(1.126_826_273_2e-04).addingProduct(p, u)
    p = Float(-8.484_398_844_1e-04).addingProduct(p, u)
    p = Float(5.221_053_661_7e-03).addingProduct(p, u)
    p = Float(-2.686_543_844_3e-02).addingProduct(p, u)
    p = Float(1.128_378_262_5e-01).addingProduct(p, u)
    p = Float(-3.761_263_847_6e-01).addingProduct(p, u)
    p = Float(1.128_379_167_1).addingProduct(p, u)
    let small = x * p
    // Branch B, 1 ≤ |x| < 4: 1 − e^(−x²)·erfcx(|x|), erfcx by a polynomial in s = (|x| − 2.5)/1.5.
    let s = (a - 2.5) * (1.0 / 1.5)
    var q: Float = 9.640_629_66e-05
    q = Float(-2.455_073_562_7e-04).addingProduct(q, s)
    q = Float(3.678_646_643_6e-04).addingProduct(q, s)
    q = Float(-9.155_542_473_7e-04).addingProduct(q, s)
    q = Float(2.425_888_218_6e-03).addingProduct(q, s)
    q = Float(-5.611_769_038_8e-03).addingProduct(q, s)
    q = Float(1.248_403_471_2e-02).addingProduct(q, s)
    q = Float(-2.699_778_989_4e-02).addingProduct(q, s)
    q = Float(5.611_095_851_6e-02).addingProduct(q, s)
    q = Float(-1.115_214_014_8e-01).addingProduct(q, s)
    q = Float(2.108_063_575_3e-01).addingProduct(q, s)
    let tail = a >= 4 ? 1 : 1 - fastExp(-(a * a)) * q
    let large = x < 0 ? -tail : tail
    return a < 1 ? small : large
}
