// SPDX-License-Identifier: Apache-2.0
// Loading OpenBLAS with the right kernel. Debian's OpenBLAS 0.3.21 misdetects recent Intel CPUs and runs its
// slowest (Prescott) kernel, ~5x slower. When OPENBLAS_CORETYPE is unset, cribo chooses the core type from the
// CPU's features before the library loads; a value that is set always wins. Whatever was chosen is then checked
// against a naive GEMM; on disagreement the library is reloaded with its own detection.

import CCriboShims
import Foundation

/// The loaded BLAS library and how its kernel was chosen.
package struct BLASRuntime: Sendable {
    /// How the core type was decided.
    package enum Choice: String, Sendable {
        /// OPENBLAS_CORETYPE was set by the user or the machine; cribo did not touch it.
        case environment
        /// cribo set OPENBLAS_CORETYPE from the CPU features, and the kernel passed the check.
        case cpuFeatures
        /// OpenBLAS detected the CPU itself (no better choice known, or cribo's choice failed the check).
        case libraryDetection
    }

    /// The core type OpenBLAS reports (`openblas_get_corename`).
    package let coreName: String
    /// The soname that was loaded.
    package let library: String
    /// How the core type was decided.
    package let choice: Choice
    /// The largest relative difference from the naive GEMM in the start-up check.
    package let checkError: Float
    /// A line for logs when cribo's own choice was rejected; nil otherwise.
    package let warning: String?

    /// The process-wide runtime, loaded on first use (thread-safe, once).
    package static let shared: BLASRuntime = {
        do { return try load() } catch { fatalError("\(error)") }
    }()

    /// The core type cribo would choose for a CPU with these features, or nil to let OpenBLAS decide.
    ///
    /// Concretely: AVX-512 F/BW/VL/DQ → "SkylakeX"; AVX2+FMA → "Haswell" on Intel, "Zen" on AMD; otherwise nil.
    package static func preferredCoreType(features: UInt32) -> String? {
        func has(_ bits: Int32) -> Bool { features & UInt32(bits) == UInt32(bits) }
        let avx512 = Int32(CRIBO_CPU_AVX512F | CRIBO_CPU_AVX512BW | CRIBO_CPU_AVX512VL | CRIBO_CPU_AVX512DQ)
        if has(avx512) { return "SkylakeX" }
        if has(Int32(CRIBO_CPU_AVX2 | CRIBO_CPU_FMA)) { return has(Int32(CRIBO_CPU_AMD)) ? "Zen" : "Haswell" }
        return nil
    }

    private static func open() throws {
        var message = [CChar](repeating: 0, count: 512)
        if cribo_blas_open(&message, message.count) != 0 {
            throw BLASError.loadFailed(String(cString: message))
        }
        cribo_blas_set_threads(1)  // cribo splits GEMMs over its own threads (ComputeThreads)
    }

    /// The core type cribo sets before loading OpenBLAS: nil when OPENBLAS_CORETYPE is already set (a value that is
    /// set always wins) or when no better choice than OpenBLAS's own detection is known.
    package static func coreTypeToSet(environment: [String: String], features: UInt32) -> String? {
        if let value = environment["OPENBLAS_CORETYPE"], !value.isEmpty { return nil }
        return preferredCoreType(features: features)
    }

    /// Loads OpenBLAS, choosing the core type as described in the file header.
    /// - Parameters:
    ///   - verify: the start-up check (the largest relative error against a naive GEMM); replaceable so that the
    ///     fallback path can be exercised (cribo-bench blas --simulate-disagreement).
    package static func load(verify: () -> Float = verifyAgainstNaive) throws -> BLASRuntime {
        let environment = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"]
        if let environment, !environment.isEmpty {
            try open()
            let error = verify()
            guard error <= verificationTolerance else {
                throw BLASError.wrongResults(core: String(cString: cribo_blas_corename()), error: error)
            }
            return BLASRuntime(
                coreName: String(cString: cribo_blas_corename()), library: String(cString: cribo_blas_library()),
                choice: .environment, checkError: error, warning: nil)
        }
        var warning: String?
        if let preferred = coreTypeToSet(environment: ProcessInfo.processInfo.environment, features: cribo_cpu_features()) {
            setenv("OPENBLAS_CORETYPE", preferred, 1)
            try open()
            unsetenv("OPENBLAS_CORETYPE")  // children (mpirun ranks) make their own choice
            let error = verify()
            if error <= verificationTolerance {
                return BLASRuntime(
                    coreName: String(cString: cribo_blas_corename()), library: String(cString: cribo_blas_library()),
                    choice: .cpuFeatures, checkError: error, warning: nil)
            }
            warning = "OpenBLAS core type \(preferred) disagreed with the naive GEMM (relative error \(error)); "
                + "reloaded with OpenBLAS's own CPU detection"
            cribo_blas_close()
        }
        try open()
        let error = verify()
        guard error <= verificationTolerance else {
            throw BLASError.wrongResults(core: String(cString: cribo_blas_corename()), error: error)
        }
        return BLASRuntime(
            coreName: String(cString: cribo_blas_corename()), library: String(cString: cribo_blas_library()),
            choice: .libraryDetection, checkError: error, warning: warning)
    }

    /// The largest relative error the start-up check accepts (Float32 GEMM with K ≤ 300 lands near 1e-6).
    package static let verificationTolerance: Float = 1e-4

    /// Compares `cribo_sgemm` with `naiveMatmul` on shapes that hit kernel edges, all four transpose cases.
    /// Returns the largest `|blas - naive| / (1 + |naive|)`.
    package static func verifyAgainstNaive() -> Float {
        var rng = SplitMix64(seed: 0x5EED)
        var worst: Float = 0
        for (m, n, k) in [(67, 45, 129), (16, 64, 64), (1, 33, 17), (130, 7, 300)] {
            for transposeA in [false, true] {
                for transposeB in [false, true] {
                    let a = (0..<(m * k)).map { _ in Float(rng.nextUniform(-1, 1)) }
                    let b = (0..<(k * n)).map { _ in Float(rng.nextUniform(-1, 1)) }
                    var fast = [Float](repeating: 0, count: m * n)
                    var reference = [Float](repeating: 0, count: m * n)
                    let lda = transposeA ? m : k
                    let ldb = transposeB ? k : n
                    cribo_sgemm(transposeA ? 1 : 0, transposeB ? 1 : 0, Int32(m), Int32(n), Int32(k), 1, a,
                        Int32(lda), b, Int32(ldb), 0, &fast, Int32(n))
                    naiveMatmul(
                        transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 1, a: a, lda: lda,
                        b: b, ldb: ldb, beta: 0, c: &reference, ldc: n)
                    for i in 0..<(m * n) {
                        let error = abs(fast[i] - reference[i]) / (1 + abs(reference[i]))
                        if !(error <= worst) { worst = error.isNaN ? .infinity : max(worst, error) }
                    }
                }
            }
        }
        return worst
    }
}

/// Why BLAS could not be used.
package enum BLASError: Error, CustomStringConvertible {
    case loadFailed(String)
    case wrongResults(core: String, error: Float)

    package var description: String {
        switch self {
        case .loadFailed(let message): return "BLAS: \(message)"
        case .wrongResults(let core, let error):
            return "BLAS: OpenBLAS core type \(core) computes wrong results (relative error \(error) against a naive "
                + "GEMM); set OPENBLAS_CORETYPE to a core type your CPU supports"
        }
    }
}
