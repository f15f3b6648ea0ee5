// SPDX-License-Identifier: Apache-2.0
// Run-time loading of OpenBLAS (see CCriboShims.h for why it is not linked).
#include "CCriboShims.h"

#include <cblas.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef void (*sgemm_fn)(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE, enum CBLAS_TRANSPOSE, blasint, blasint,
                         blasint, float, const float *, blasint, const float *, blasint, float, float *,
                         blasint);
typedef char *(*corename_fn)(void);
typedef void (*set_threads_fn)(int);

static void *blas_handle;
static const char *blas_soname;
static sgemm_fn blas_sgemm;
static corename_fn blas_corename;
static set_threads_fn blas_set_threads;

#if defined(__x86_64__) && defined(CRIBO_REQUIRE_AVX2) && !defined(CRIBO_PORTABLE)
// The Swift kernels are compiled for AVX2+FMA (Package.swift); fail with a message instead of SIGILL.
__attribute__((constructor)) static void cribo_require_avx2(void) {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
        fputs("cribo: this build needs an x86-64 CPU with AVX2 and FMA (Haswell or newer); "
              "rebuild with CRIBO_PORTABLE=1 for older CPUs\n", stderr);
        _exit(70);
    }
}
#endif

unsigned cribo_cpu_features(void) {
    unsigned features = 0;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) features |= CRIBO_CPU_AVX2;
    if (__builtin_cpu_supports("fma")) features |= CRIBO_CPU_FMA;
    if (__builtin_cpu_supports("avx512f")) features |= CRIBO_CPU_AVX512F;
    if (__builtin_cpu_supports("avx512bw")) features |= CRIBO_CPU_AVX512BW;
    if (__builtin_cpu_supports("avx512vl")) features |= CRIBO_CPU_AVX512VL;
    if (__builtin_cpu_supports("avx512dq")) features |= CRIBO_CPU_AVX512DQ;
    if (__builtin_cpu_is("intel")) features |= CRIBO_CPU_INTEL;
    if (__builtin_cpu_is("amd")) features |= CRIBO_CPU_AMD;
#endif
    return features;
}

int cribo_blas_open(char *error, size_t error_length) {
    static const char *const sonames[] = {"libopenblas.so.0", "libopenblas.so", "libopenblasp.so.0"};
    if (blas_handle != NULL) return 0;
    const char *last_error = "no candidate tried";
    for (size_t i = 0; i < sizeof(sonames) / sizeof(sonames[0]); i++) {
        void *handle = dlopen(sonames[i], RTLD_NOW | RTLD_LOCAL);
        if (handle == NULL) {
            last_error = dlerror();
            continue;
        }
        sgemm_fn sgemm = (sgemm_fn)dlsym(handle, "cblas_sgemm");
        corename_fn corename = (corename_fn)dlsym(handle, "openblas_get_corename");
        set_threads_fn set_threads = (set_threads_fn)dlsym(handle, "openblas_set_num_threads");
        if (sgemm == NULL || corename == NULL || set_threads == NULL) {
            last_error = "library lacks cblas_sgemm/openblas_get_corename/openblas_set_num_threads";
            dlclose(handle);
            continue;
        }
        blas_handle = handle;
        blas_soname = sonames[i];
        blas_sgemm = sgemm;
        blas_corename = corename;
        blas_set_threads = set_threads;
        return 0;
    }
    snprintf(error, error_length, "cannot load OpenBLAS (install libopenblas0 / libopenblas-dev): %s",
             last_error ? last_error : "unknown error");
    return -1;
}

void cribo_blas_close(void) {
    if (blas_handle == NULL) return;
    dlclose(blas_handle);
    blas_handle = NULL;
    blas_sgemm = NULL;
    blas_corename = NULL;
    blas_set_threads = NULL;
}

const char *cribo_blas_corename(void) { return blas_corename ? blas_corename() : "unloaded"; }

const char *cribo_blas_library(void) { return blas_soname ? blas_soname : "unloaded"; }

void cribo_blas_set_threads(int threads) {
    if (blas_set_threads) blas_set_threads(threads);
}

void cribo_sgemm(int transpose_a, int transpose_b, int m, int n, int k, float alpha, const float *a, int lda,
                 const float *b, int ldb, float beta, float *c, int ldc) {
    blas_sgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans, transpose_b ? CblasTrans : CblasNoTrans, m,
               n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
