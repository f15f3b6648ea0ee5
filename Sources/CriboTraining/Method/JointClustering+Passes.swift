// SPDX-License-Identifier: Apache-2.0
// The state and the per-image steps of one k-means pass of `JointClustering`: the cost (semantic similarity plus
// the masked-min positional cost), the Sinkhorn transport, and the hard assignment with the centroid update.
// Each step touches one image only, so images run in parallel. Legend as in JointClustering.swift.

import CriboTensor
import Foundation

/// The buffers of one clustering call; every method works on one image and may run concurrently with the others.
final class ClusteringState: @unchecked Sendable {
    let B: Int, T: Int, D: Int, K: Int
    /// [B, T, D] L2-normalised tokens.
    let z: Tensor
    /// [B, T, 2] (x, y) of every token.
    let positions: Tensor
    /// [B, K, D] unit (or zero) centroids μ.
    let centroids: Tensor
    /// [B, T, K] the hard assignment A (the one-hot seeds before the first pass).
    let assignment: Tensor
    /// [B, K] the Sinkhorn column marginal c.
    let marginal: Tensor
    /// [B, T, K] the cost M, then the transport plan Π.
    let plan: Tensor

    init(B: Int, T: Int, D: Int, K: Int) {
        (self.B, self.T, self.D, self.K) = (B, T, D, K)
        z = Tensor(zeros: [B, T, D])
        positions = Tensor(zeros: [B, T, 2])
        centroids = Tensor(zeros: [B, K, D])
        assignment = Tensor(zeros: [B, T, K])
        marginal = Tensor(shape: [B, K], repeating: 1 / Float(K))
        plan = Tensor(zeros: [B, T, K])
    }

    /// Steps 1–3: normalised tokens, positions in token order, seed centroids and the one-hot seed assignment.
    func load(tokens: Tensor, positions crop: Tensor, seeds: [Int], N: Int) {
        for v in 0..<2 {
            for b in 0..<B {
                let source = tokens.pointer + ((v * B + b) * (1 + N) + 1) * D
                (z.pointer + (b * T + v * N) * D).update(from: source, count: N * D)
                let x = crop.pointer + ((v * B + b) * 2) * N
                for n in 0..<N {
                    positions.pointer[(b * T + v * N + n) * 2] = x[n]
                    positions.pointer[(b * T + v * N + n) * 2 + 1] = x[N + n]
                }
            }
        }
        for row in 0..<(B * T) { normalizeRow(z.pointer + row * D, count: D) }
        for b in 0..<B {
            for k in 0..<K where seeds[b * K + k] >= 0 {
                let t = seeds[b * K + k]
                assignment.pointer[(b * T + t) * K + k] = 1
                (centroids.pointer + (b * K + k) * D).update(from: z.pointer + (b * T + t) * D, count: D)
            }
        }
    }

    /// Steps a–e: M = −Z·μᵀ + α·G into `plan`; returns (min M, max M) of this image.
    func cost(image b: Int, alpha: Float) -> (Float, Float) {
        let m = plan.pointer + b * T * K
        gemm(transposeA: false, transposeB: true, m: T, n: K, k: D, a: z.pointer + b * T * D, lda: D,
             b: centroids.pointer + b * K * D, ldb: D, c: m, ldc: K, parallel: false)
        let g = UnsafeMutablePointer<Float>.allocate(capacity: T * K)
        defer { g.deallocate() }
        positionalCost(image: b, into: g)
        var low = Float.infinity, high = -Float.infinity
        for i in 0..<(T * K) {
            let value = -m[i] + alpha * g[i]
            m[i] = value
            low = min(low, value)
            high = max(high, value)
        }
        return (low, high)
    }

    /// G[t,k] = min over s of d(t,s)·A[s,k] among the non-zero products (the reference fills zeros with 1e5 when
    /// a non-zero exists, hence the cap), 0 when there is none; zeros then become the image mean of G (zeros
    /// included), and G is divided by its image maximum.
    func positionalCost(image b: Int, into g: UnsafeMutablePointer<Float>) {
        let a = assignment.pointer + b * T * K
        let p = positions.pointer + b * T * 2
        // Members as flat (cluster, weight) lists per token: a row has one entry, or several on ties.
        let start = UnsafeMutablePointer<Int>.allocate(capacity: T + 1)
        let memberCluster = UnsafeMutablePointer<Int>.allocate(capacity: T * K)
        let memberWeight = UnsafeMutablePointer<Float>.allocate(capacity: T * K)
        let smallest = UnsafeMutablePointer<Float>.allocate(capacity: K)
        let nonZero = UnsafeMutablePointer<Int>.allocate(capacity: K)
        defer {
            start.deallocate()
            memberCluster.deallocate()
            memberWeight.deallocate()
            smallest.deallocate()
            nonZero.deallocate()
        }
        start[0] = 0
        for s in 0..<T {
            var end = start[s]
            for k in 0..<K where a[s * K + k] != 0 {
                memberCluster[end] = k
                memberWeight[end] = a[s * K + k]
                end += 1
            }
            start[s + 1] = end
        }
        for t in 0..<T {
            smallest.update(repeating: .infinity, count: K)
            nonZero.update(repeating: 0, count: K)
            let xt = p[2 * t], yt = p[2 * t + 1]
            for s in 0..<T where start[s] < start[s + 1] {
                let dx = p[2 * s] - xt, dy = p[2 * s + 1] - yt
                let distance = (dx * dx + dy * dy).squareRoot()
                for member in start[s]..<start[s + 1] {
                    let value = distance * memberWeight[member]
                    if value != 0 {
                        let k = memberCluster[member]
                        nonZero[k] += 1
                        smallest[k] = min(smallest[k], value)
                    }
                }
            }
            for k in 0..<K {
                g[t * K + k] = nonZero[k] == 0 ? 0 : (nonZero[k] < T ? min(smallest[k], 1e5) : smallest[k])
            }
        }
        var sum = 0.0
        for i in 0..<(T * K) { sum += Double(g[i]) }
        let mean = Float(sum / Double(T * K))
        var maximum = -Float.infinity
        for i in 0..<(T * K) {
            if g[i] == 0 { g[i] = mean }
            maximum = max(maximum, g[i])
        }
        for i in 0..<(T * K) { g[i] /= maximum }
    }

    /// Steps f–g: M ← (M − low)/range, then Π = exp(−λM)/Σ, `rounds` row/column scalings towards
    /// r = 1/T and c, and NaN → 1e-8 (±∞ → ±greatest finite, as `torch.nan_to_num`).
    func transport(image b: Int, low: Float, range: Float, lambda: Float, rounds: Int) {
        let p = plan.pointer + b * T * K
        let c = marginal.pointer + b * K
        var total = 0.0
        for i in 0..<(T * K) {
            p[i] = exp(-lambda * ((p[i] - low) / range))
            total += Double(p[i])
        }
        let totalF = Float(total)
        for i in 0..<(T * K) { p[i] /= totalF }
        let r = 1 / Float(T)
        let columnSums = UnsafeMutablePointer<Double>.allocate(capacity: K)
        defer { columnSums.deallocate() }
        for _ in 0..<rounds {
            for t in 0..<T {
                var sum = 0.0
                for k in 0..<K { sum += Double(p[t * K + k]) }
                let factor = r / Float(sum)
                for k in 0..<K { p[t * K + k] *= factor }
            }
            columnSums.update(repeating: 0, count: K)
            for t in 0..<T {
                for k in 0..<K { columnSums[k] += Double(p[t * K + k]) }
            }
            for t in 0..<T {
                for k in 0..<K { p[t * K + k] *= c[k] / Float(columnSums[k]) }
            }
        }
        for i in 0..<(T * K) {
            if p[i].isNaN {
                p[i] = 1e-8
            } else if p[i].isInfinite {
                p[i] = p[i] > 0 ? .greatestFiniteMagnitude : -.greatestFiniteMagnitude
            }
        }
    }

    /// Steps h–j: A = (Π == row max), c_k = (Σ_t A + 0.01)/Σ_k'(Σ_t A + 0.01), μ = normalise(Aᵀ Z).
    func harden(image b: Int, updatesColumnMarginal: Bool) {
        let p = plan.pointer + b * T * K
        let a = assignment.pointer + b * T * K
        for t in 0..<T {
            var maximum = -Float.infinity
            for k in 0..<K { maximum = max(maximum, p[t * K + k]) }
            for k in 0..<K { a[t * K + k] = p[t * K + k] == maximum ? 1 : 0 }
        }
        if updatesColumnMarginal {
            let c = marginal.pointer + b * K
            var sum: Float = 0
            for k in 0..<K {
                var count: Float = 0
                for t in 0..<T { count += a[t * K + k] }
                c[k] = count + 1e-2
                sum += c[k]
            }
            for k in 0..<K { c[k] /= sum }
        }
        let mu = centroids.pointer + b * K * D
        gemm(transposeA: true, transposeB: false, m: K, n: D, k: T, a: a, lda: K, b: z.pointer + b * T * D, ldb: D,
             c: mu, ldc: D, parallel: false)
        for k in 0..<K { normalizeRow(mu + k * D, count: D) }
    }
}

/// x ← x / max(‖x‖₂, 1e-12) (torch.nn.functional.normalize).
private func normalizeRow(_ x: UnsafeMutablePointer<Float>, count D: Int) {
    var squares: Float = 0
    for d in 0..<D { squares += x[d] * x[d] }
    let norm = max(squares.squareRoot(), 1e-12)
    for d in 0..<D { x[d] /= norm }
}
