// SPDX-License-Identifier: Apache-2.0
// GEMM against the naive reference in all four transpose cases, with strides, beta accumulation and thread
// splits; and the start-up choice of the OpenBLAS core type.

import CCriboShims
import CriboTensor
import CriboTestSupport
import Foundation
import Testing

@Suite(.serialized) struct GEMMTests {}

extension GEMMTests {
    @Test(arguments: [(false, false), (false, true), (true, false), (true, true)])
    func gemmMatchesNaiveInEveryTransposeCase(transposeA: Bool, transposeB: Bool) {
        // Shapes large enough to be split over threads (rows, then columns) and with kernel-edge remainders.
        for (m, n, k) in [(3, 5, 7), (301, 67, 130), (40, 333, 129)] {
            let lda = (transposeA ? m : k) + 3, ldb = (transposeB ? k : n) + 2, ldc = n + 1
            let a = randomTensor([(transposeA ? k : m) * lda], seed: 1)
            let b = randomTensor([(transposeB ? n : k) * ldb], seed: 2)
            let c0 = randomTensor([m * ldc], seed: 3)
            let fast = c0.copy(), reference = c0.copy()
            gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 0.5, a: a.pointer, lda: lda,
                b: b.pointer, ldb: ldb, beta: 2, c: fast.pointer, ldc: ldc)
            naiveMatmul(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 0.5, a: a.pointer, lda: lda,
                b: b.pointer, ldb: ldb, beta: 2, c: reference.pointer, ldc: ldc)
            // float32 dot products of length ≤ 130 with unit-normal inputs: |error| ≲ 1e-5
            expectClose(fast, reference, atol: 1e-4, rtol: 1e-5, "gemm \(m)x\(n)x\(k) tA=\(transposeA) tB=\(transposeB)")
        }
    }

    @Test func threadSplitDoesNotChangeResults() {
        let (m, n, k) = (512, 96, 200)
        let a = randomTensor([m, k], seed: 4), b = randomTensor([n, k], seed: 5)
        var results: [[Float]] = []
        let saved = ComputeThreads.count
        defer { ComputeThreads.count = saved }
        for threads in [1, 2, 3] {
            ComputeThreads.count = threads
            let c = Tensor(zeros: [m, n])
            gemm(transposeA: false, transposeB: true, m: m, n: n, k: k, a: a.pointer, lda: k, b: b.pointer, ldb: k,
                c: c.pointer, ldc: n)
            results.append(c.scalars)
        }
        #expect(results[0] == results[1] && results[1] == results[2], "GEMM results depend on the thread count")
    }

    @Test func rowBiasIsTheProductPlusTheBias() {
        // Products split over threads by rows (m ≥ n) and by columns, and one small enough to run unsplit; k from
        // 1 to 1536 (past OpenBLAS's k blocking). Reference: the product (beta 0), then the bias added in Float.
        let saved = ComputeThreads.count
        defer { ComputeThreads.count = saved }
        var exactForShortK = true
        for threads in [1, 2] {
            ComputeThreads.count = threads
            for (m, n, k, transposeB) in [(512, 96, 200, true), (40, 700, 130, false), (7, 9, 1, true), (600, 64, 1536, true),
                                           (300, 96, 384, true)] {
                let ldc = n + 3
                let a = randomTensor([m, k], seed: 11), b = randomTensor([n * k], seed: 12), bias = randomTensor([n], seed: 13)
                let ldb = transposeB ? k : n
                let fused = randomTensor([m * ldc], seed: 14), separate = fused.copy()
                gemm(transposeA: false, transposeB: transposeB, m: m, n: n, k: k, a: a.pointer, lda: k, b: b.pointer,
                    ldb: ldb, c: fused.pointer, ldc: ldc, rowBias: bias.pointer)
                gemm(transposeA: false, transposeB: transposeB, m: m, n: n, k: k, a: a.pointer, lda: k, b: b.pointer,
                    ldb: ldb, c: separate.pointer, ldc: ldc)
                var worst: Float = 0
                for r in 0..<m {
                    for j in 0..<n {
                        separate[flat: r * ldc + j] += bias[flat: j]
                        let scale = max(1, abs(separate[flat: r * ldc + j]))
                        worst = max(worst, abs(fused[flat: r * ldc + j] - separate[flat: r * ldc + j]) / scale)
                    }
                    for j in n..<ldc { #expect(fused[flat: r * ldc + j] == separate[flat: r * ldc + j], "padding written") }
                }
                // Summation order differs only where OpenBLAS blocks k: a few float32 ulps of the sums' magnitude.
                #expect(worst <= 1e-5, "rowBias \(m)x\(n)x\(k) threads \(threads): \(worst)")
                if k <= 200 && worst != 0 { exactForShortK = false }
            }
        }
        #expect(exactForShortK, "with k ≤ 200 (one OpenBLAS k block) the fused bias must give the same bits")
    }

    @Test func startUpCheckAcceptsTheLoadedKernel() {
        let runtime = BLASRuntime.shared
        #expect(runtime.checkError <= BLASRuntime.verificationTolerance)
        #expect(BLASRuntime.verifyAgainstNaive() <= BLASRuntime.verificationTolerance)
        #expect(runtime.coreName != "unloaded")
        let environment = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"]
        if let environment, !environment.isEmpty {
            #expect(runtime.choice == .environment, "a set OPENBLAS_CORETYPE must win")
        } else if BLASRuntime.preferredCoreType(features: cribo_cpu_features()) != nil {
            #expect(runtime.choice == .cpuFeatures || runtime.warning != nil, "cribo's choice was neither used nor reported")
        }
    }

    @Test func coreTypeFollowsCPUFeatures() {
        let avx512 = UInt32(CRIBO_CPU_AVX512F | CRIBO_CPU_AVX512BW | CRIBO_CPU_AVX512VL | CRIBO_CPU_AVX512DQ)
        let avx2 = UInt32(CRIBO_CPU_AVX2 | CRIBO_CPU_FMA)
        #expect(BLASRuntime.preferredCoreType(features: avx512 | avx2 | UInt32(CRIBO_CPU_INTEL)) == "SkylakeX")
        #expect(BLASRuntime.preferredCoreType(features: avx2 | UInt32(CRIBO_CPU_INTEL)) == "Haswell")
        #expect(BLASRuntime.preferredCoreType(features: avx2 | UInt32(CRIBO_CPU_AMD)) == "Zen")
        #expect(BLASRuntime.preferredCoreType(features: UInt32(CRIBO_CPU_AVX512F) | avx2) == "Haswell", "partial AVX-512 is not SkylakeX")
        #expect(BLASRuntime.preferredCoreType(features: 0) == nil)
    }
}
