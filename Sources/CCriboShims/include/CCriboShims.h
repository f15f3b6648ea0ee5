// SPDX-License-Identifier: Apache-2.0
// The small C boundary of cribo: what Swift cannot do directly. Every symbol is prefixed `cribo_`.
//
// BLAS: OpenBLAS reads OPENBLAS_CORETYPE once, when the shared library is loaded. To be able to pick the
// core type before that (Debian's 0.3.21 misdetects recent Intel CPUs), the library is dlopen'ed here
// rather than linked, and cblas_sgemm is called through the resolved pointer.
#ifndef CCRIBO_SHIMS_H
#define CCRIBO_SHIMS_H

#include <stddef.h>

#include "cribo_codecs.h"
#include "cribo_fs.h"
#include "cribo_image.h"
#include "cribo_kernels.h"
#include "cribo_pool.h"

#ifdef __cplusplus
extern "C" {
#endif

/// CPU feature bits reported by `cribo_cpu_features`.
enum {
    CRIBO_CPU_AVX2 = 1 << 0,
    CRIBO_CPU_FMA = 1 << 1,
    CRIBO_CPU_AVX512F = 1 << 2,
    CRIBO_CPU_AVX512BW = 1 << 3,
    CRIBO_CPU_AVX512VL = 1 << 4,
    CRIBO_CPU_AVX512DQ = 1 << 5,
    CRIBO_CPU_INTEL = 1 << 8,
    CRIBO_CPU_AMD = 1 << 9,
};

/// The features of the running CPU (x86-64 cpuid via the compiler builtins; 0 elsewhere).
unsigned cribo_cpu_features(void);

/// Loads OpenBLAS (dlopen, first of the usual sonames that loads) and resolves the symbols cribo uses.
/// Returns 0 on success; otherwise writes a message into `error` and returns -1. The caller sets or leaves
/// OPENBLAS_CORETYPE before calling.
int cribo_blas_open(char *error, size_t error_length);

/// Unloads OpenBLAS so that a following `cribo_blas_open` initialises it afresh (with another core type).
void cribo_blas_close(void);

/// The name of the core type OpenBLAS runs (e.g. "SkylakeX", "Haswell", "Prescott").
const char *cribo_blas_corename(void);

/// The soname that was loaded.
const char *cribo_blas_library(void);

/// Sets OpenBLAS's own thread count (cribo runs it single-threaded and parallelises itself).
void cribo_blas_set_threads(int threads);

/// cblas_sgemm, row-major, through the loaded library. `transpose_a`/`transpose_b` are 0 or 1.
void cribo_sgemm(int transpose_a, int transpose_b, int m, int n, int k, float alpha, const float *a, int lda,
                 const float *b, int ldb, float beta, float *c, int ldc);

#ifdef __cplusplus
}
#endif

#endif
