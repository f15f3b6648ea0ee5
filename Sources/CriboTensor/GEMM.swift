// SPDX-License-Identifier: Apache-2.0
// The one way cribo multiplies matrices: `gemm`, a row-major cblas_sgemm split over ComputeThreads, and
// `naiveMatmul`, the slow triple loop kept beside it as the oracle of the tests and of the start-up check.

import CCriboShims

/// C ← alpha·op(A)·op(B) + beta·C, row-major, with op(X) = X or Xᵀ (cblas_sgemm semantics).
///
/// Concretely: op(A) is [m, k], op(B) is [k, n], C is [m, n]; `lda`, `ldb`, `ldc` are the row strides of the
/// stored matrices (A stored [m, lda] or, transposed, [k, lda]). Large products are split into contiguous blocks
/// of rows (or of columns when n > m) over `ComputeThreads`; OpenBLAS itself runs single-threaded, so every
/// element is one BLAS dot-product chain whatever the thread count.
/// - Parameters:
///   - a: op(A) source, at least `(transposeA ? k : m) * lda` elements.
///   - b: op(B) source, at least `(transposeB ? n : k) * ldb` elements.
///   - c: [m, ldc] destination.
///   - rowBias: [n], only with beta = 0: C ← alpha·op(A)·op(B) + rowBias (added to every row). Each block of C is
///     filled with the bias just before its product is added to it (beta 1), which spares OpenBLAS's zeroing pass
///     and a separate bias pass. While OpenBLAS keeps k in one block (its GEMM_Q; the tests see equal bits up to
///     k = 200), this is bit for bit the product followed by the bias; beyond, within a few ulps of it.
///   - parallel: false inside a loop that is already parallel (one BLAS call on the calling thread).
/// - Complexity: 2·m·n·k flops.
@inline(__always)
package func gemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1, a: UnsafePointer<Float>,
    lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int,
    rowBias: UnsafePointer<Float>? = nil, parallel: Bool = true
) {
    if m == 0 || n == 0 { return }
    precondition(rowBias == nil || beta == 0, "gemm: rowBias needs beta 0")
    _ = BLASRuntime.shared
    let ta: Int32 = transposeA ? 1 : 0
    let tb: Int32 = transposeB ? 1 : 0
    let flops = 2 * m * n * max(k, 1)
    let threads = ComputeThreads.count
    let blockBeta: Float = rowBias == nil ? beta : 1
    /// C[rows, columns] ← bias[columns] for every row.
    func fill(rows: Range<Int>, columns: Range<Int>) {
        guard let rowBias else { return }
        for r in rows { (c + r * ldc + columns.lowerBound).update(from: rowBias + columns.lowerBound, count: columns.count) }
    }
    if !parallel || threads == 1 || flops < 4_000_000 {
        fill(rows: 0..<m, columns: 0..<n)
        cribo_sgemm(ta, tb, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), blockBeta, c, Int32(ldc))
        return
    }
    // Every range packs the whole of the other operand again, which costs about 1/(rows of the range) of its
    // arithmetic: two ranges per thread (a late thread then costs half as much waiting) when they keep ≥ 256 rows.
    let chunks = (m >= n ? m : n) / threads >= 512 ? 2 : 1
    if m >= n {
        ComputeThreads.parallelFor(m, grain: 16, chunksPerThread: chunks) { rows in
            fill(rows: rows, columns: 0..<n)
            let aStart = transposeA ? a + rows.lowerBound : a + rows.lowerBound * lda
            cribo_sgemm(
                ta, tb, Int32(rows.count), Int32(n), Int32(k), alpha, aStart, Int32(lda), b, Int32(ldb), blockBeta,
                c + rows.lowerBound * ldc, Int32(ldc))
        }
    } else {
        ComputeThreads.parallelFor(n, grain: 16, chunksPerThread: chunks) { columns in
            fill(rows: 0..<m, columns: columns)
            let bStart = transposeB ? b + columns.lowerBound * ldb : b + columns.lowerBound
            cribo_sgemm(
                ta, tb, Int32(m), Int32(columns.count), Int32(k), alpha, a, Int32(lda), bStart, Int32(ldb), blockBeta,
                c + columns.lowerBound, Int32(ldc))
        }
    }
}

/// The reference GEMM: the same contract as `gemm`, a plain triple loop accumulating in Double.
package func naiveMatmul(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    for i in 0..<m {
        for j in 0..<n {
            var sum = 0.0
            for p in 0..<k {
                let x = transposeA ? a[p * lda + i] : a[i * lda + p]
                let y = transposeB ? b[j * ldb + p] : b[p * ldb + j]
                sum += Double(x) * Double(y)
            }
            let previous = beta == 0 ? 0 : beta * c[i * ldc + j]
            c[i * ldc + j] = alpha * Float(sum) + previous
        }
    }
}
