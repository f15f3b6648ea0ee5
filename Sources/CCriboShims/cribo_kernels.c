// SPDX-License-Identifier: Apache-2.0
// See cribo_kernels.h.
#include "cribo_kernels.h"

#include <math.h>
#include <string.h>

// Every multiply and add below is meant as written: no contraction into fused multiply-adds except where fmaf or an
// fmadd intrinsic says so (the scalar and vector paths must round alike).
#pragma STDC FP_CONTRACT OFF
#pragma clang fp contract(off)

static _Thread_local int simd_cap = 2;

void cribo_simd_limit(int level) { simd_cap = level < 0 ? 0 : level; }

#if defined(__x86_64__)
int cribo_simd_level(void) {
    static int level = -1;
    int known = __atomic_load_n(&level, __ATOMIC_RELAXED);
    if (known < 0) {
        __builtin_cpu_init();
        known = __builtin_cpu_supports("avx512f") ? 2 : (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) ? 1 : 0;
        __atomic_store_n(&level, known, __ATOMIC_RELAXED);
    }
    return known < simd_cap ? known : simd_cap;
}
#else
int cribo_simd_level(void) { return 0; }
#endif

#if defined(__x86_64__)
#include <immintrin.h>
#endif

// MARK: - Top-K

/// Inserts candidate `s` (row `index`) into the sorted list; the caller has checked s > similarities[k-1].
static inline void insert(float *similarities, int32_t *indices, int k, float s, int32_t index) {
    int position = k - 1;
    while (position > 0 && similarities[position - 1] < s) {
        similarities[position] = similarities[position - 1];
        indices[position] = indices[position - 1];
        position -= 1;
    }
    similarities[position] = s;
    indices[position] = index;
}

static void merge_scalar(float *similarities, int32_t *indices, int k, const float *candidates, int from, int count,
                         int64_t first_index) {
    float threshold = similarities[k - 1];
    for (int j = from; j < count; j++) {
        float s = candidates[j];
        if (!(s > threshold)) continue;
        insert(similarities, indices, k, s, (int32_t)(first_index + j));
        threshold = similarities[k - 1];
    }
}

#if defined(__x86_64__)
__attribute__((target("avx512f"))) static void merge_avx512(float *similarities, int32_t *indices, int k,
                                                            const float *candidates, int count,
                                                            int64_t first_index) {
    int j = 0;
    for (; j + 16 <= count; j += 16) {
        __m512 v = _mm512_loadu_ps(candidates + j);
        __mmask16 above = _mm512_cmp_ps_mask(v, _mm512_set1_ps(similarities[k - 1]), _CMP_GT_OQ);
        while (above) {
            int bit = __builtin_ctz(above);
            above &= above - 1;
            float s = candidates[j + bit];
            // The threshold may have risen with an earlier candidate of this vector.
            if (s > similarities[k - 1]) insert(similarities, indices, k, s, (int32_t)(first_index + j + bit));
        }
    }
    merge_scalar(similarities, indices, k, candidates, j, count, first_index);
}

__attribute__((target("avx2"))) static void merge_avx2(float *similarities, int32_t *indices, int k,
                                                       const float *candidates, int count, int64_t first_index) {
    int j = 0;
    for (; j + 8 <= count; j += 8) {
        __m256 v = _mm256_loadu_ps(candidates + j);
        unsigned above = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(v, _mm256_set1_ps(similarities[k - 1]), _CMP_GT_OQ));
        while (above) {
            int bit = __builtin_ctz(above);
            above &= above - 1;
            float s = candidates[j + bit];
            if (s > similarities[k - 1]) insert(similarities, indices, k, s, (int32_t)(first_index + j + bit));
        }
    }
    merge_scalar(similarities, indices, k, candidates, j, count, first_index);
}

#endif

void cribo_topk_merge(float *similarities, int32_t *indices, int k, const float *candidates, int count,
                      int64_t first_index) {
#if defined(__x86_64__)
    switch (cribo_simd_level()) {
    case 2: merge_avx512(similarities, indices, k, candidates, count, first_index); return;
    case 1: merge_avx2(similarities, indices, k, candidates, count, first_index); return;
    default: break;
    }
#endif
    merge_scalar(similarities, indices, k, candidates, 0, count, first_index);
}

// MARK: - Softmax

/// fastExp of VectorMath.swift, one lane: separate multiply and add where Swift has `a * b + c`, fused where it
/// has addingProduct.
static inline float exp_scalar(float x) {
    float clamped = fminf(fmaxf(x, -87.3f), 88.7f);
    float shifted = clamped * 1.44269504f;
    shifted = shifted + 12582912.0f;
    float n = shifted - 12582912.0f;
    float r = fmaf(-n, 0.693145751953125f, clamped);
    r = fmaf(-n, 1.428606765330187045e-06f, r);
    float p = 1.0f / 5040;
    p = fmaf(p, r, 1.0f / 720);
    p = fmaf(p, r, 1.0f / 120);
    p = fmaf(p, r, 1.0f / 24);
    p = fmaf(p, r, 1.0f / 6);
    p = fmaf(p, r, 0.5f);
    p = fmaf(p, r, 1.0f);
    p = fmaf(p, r, 1.0f);
    int32_t bits;
    memcpy(&bits, &shifted, 4);
    int32_t integer = bits - 0x4B400000;
    uint32_t scale_bits = (uint32_t)(integer + 127) << 23;
    float scale;
    memcpy(&scale, &scale_bits, 4);
    return x < -87.3f ? 0.0f : p * scale;
}

static void exp_normalize_scalar(float *y, int count) {
    float maximum = -INFINITY;
    for (int k = 0; k < count; k++) maximum = y[k] > maximum ? y[k] : maximum;
    float sum = 0;
    for (int k = 0; k < count; k++) {
        y[k] = exp_scalar(y[k] - maximum);
        sum += y[k];
    }
    float inverse = 1.0f / sum;
    for (int k = 0; k < count; k++) y[k] *= inverse;
}

#if defined(__x86_64__)
__attribute__((target("avx512f"))) static inline __m512 exp_avx512(__m512 x) {
    __m512 clamped = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.3f)), _mm512_set1_ps(88.7f));
    __m512 shifted = _mm512_add_ps(_mm512_mul_ps(clamped, _mm512_set1_ps(1.44269504f)), _mm512_set1_ps(12582912.0f));
    __m512 n = _mm512_sub_ps(shifted, _mm512_set1_ps(12582912.0f));
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), clamped);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187045e-06f), r);
    __m512 p = _mm512_set1_ps(1.0f / 5040);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    __m512i integer = _mm512_sub_epi32(_mm512_castps_si512(shifted), _mm512_set1_epi32(0x4B400000));
    __m512 scale = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(integer, _mm512_set1_epi32(127)), 23));
    __mmask16 underflow = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.3f), _CMP_LT_OQ);
    return _mm512_maskz_mul_ps(~underflow, p, scale);
}

__attribute__((target("avx512f"))) static void exp_normalize_avx512(float *y, int count) {
    int vector_end = count & ~15;
    __m512 maxima = _mm512_set1_ps(-INFINITY);
    for (int k = 0; k < vector_end; k += 16) maxima = _mm512_max_ps(maxima, _mm512_loadu_ps(y + k));
    float maximum = _mm512_reduce_max_ps(maxima);
    for (int k = vector_end; k < count; k++) maximum = y[k] > maximum ? y[k] : maximum;
    __m512 shift = _mm512_set1_ps(maximum);
    __m512 sums = _mm512_setzero_ps();
    for (int k = 0; k < vector_end; k += 16) {
        __m512 e = exp_avx512(_mm512_sub_ps(_mm512_loadu_ps(y + k), shift));
        _mm512_storeu_ps(y + k, e);
        sums = _mm512_add_ps(sums, e);
    }
    float sum = _mm512_reduce_add_ps(sums);
    for (int k = vector_end; k < count; k++) {
        y[k] = exp_scalar(y[k] - maximum);
        sum += y[k];
    }
    __m512 inverse = _mm512_set1_ps(1.0f / sum);
    for (int k = 0; k < vector_end; k += 16) _mm512_storeu_ps(y + k, _mm512_mul_ps(_mm512_loadu_ps(y + k), inverse));
    for (int k = vector_end; k < count; k++) y[k] *= 1.0f / sum;
}

__attribute__((target("avx2,fma"))) static inline __m256 exp_avx2(__m256 x) {
    __m256 clamped = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.7f));
    __m256 shifted = _mm256_add_ps(_mm256_mul_ps(clamped, _mm256_set1_ps(1.44269504f)), _mm256_set1_ps(12582912.0f));
    __m256 n = _mm256_sub_ps(shifted, _mm256_set1_ps(12582912.0f));
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), clamped);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.428606765330187045e-06f), r);
    __m256 p = _mm256_set1_ps(1.0f / 5040);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256i integer = _mm256_sub_epi32(_mm256_castps_si256(shifted), _mm256_set1_epi32(0x4B400000));
    __m256 scale = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(integer, _mm256_set1_epi32(127)), 23));
    __m256 kept = _mm256_cmp_ps(x, _mm256_set1_ps(-87.3f), _CMP_NLT_UQ);
    return _mm256_and_ps(kept, _mm256_mul_ps(p, scale));
}

__attribute__((target("avx2,fma"))) static void exp_normalize_avx2(float *y, int count) {
    int vector_end = count & ~7;
    __m256 maxima = _mm256_set1_ps(-INFINITY);
    for (int k = 0; k < vector_end; k += 8) maxima = _mm256_max_ps(maxima, _mm256_loadu_ps(y + k));
    float lanes[8];
    _mm256_storeu_ps(lanes, maxima);
    float maximum = -INFINITY;
    for (int l = 0; l < 8; l++) maximum = lanes[l] > maximum ? lanes[l] : maximum;
    for (int k = vector_end; k < count; k++) maximum = y[k] > maximum ? y[k] : maximum;
    __m256 shift = _mm256_set1_ps(maximum);
    __m256 sums = _mm256_setzero_ps();
    for (int k = 0; k < vector_end; k += 8) {
        __m256 e = exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(y + k), shift));
        _mm256_storeu_ps(y + k, e);
        sums = _mm256_add_ps(sums, e);
    }
    _mm256_storeu_ps(lanes, sums);
    float sum = 0;
    for (int l = 0; l < 8; l++) sum += lanes[l];
    for (int k = vector_end; k < count; k++) {
        y[k] = exp_scalar(y[k] - maximum);
        sum += y[k];
    }
    __m256 inverse = _mm256_set1_ps(1.0f / sum);
    for (int k = 0; k < vector_end; k += 8) _mm256_storeu_ps(y + k, _mm256_mul_ps(_mm256_loadu_ps(y + k), inverse));
    for (int k = vector_end; k < count; k++) y[k] *= 1.0f / sum;
}

#endif

void cribo_exp_normalize(float *y, int count) {
#if defined(__x86_64__)
    switch (cribo_simd_level()) {
    case 2: exp_normalize_avx512(y, count); return;
    case 1: exp_normalize_avx2(y, count); return;
    default: break;
    }
#endif
    exp_normalize_scalar(y, count);
}

// MARK: - GELU

static const float erf_small[8] = {-9.6735971752e-06f, 1.1268262732e-04f, -8.4843988441e-04f, 5.2210536617e-03f,
                                   -2.6865438443e-02f, 1.1283782625e-01f, -3.7612638476e-01f, 1.1283791671f};
static const float erf_tail[11] = {9.64062966e-05f,    -2.4550735627e-04f, 3.6786466436e-04f, -9.1555424737e-04f,
                                   2.4258882186e-03f,  -5.6117690388e-03f, 1.2484034712e-02f, -2.6997789894e-02f,
                                   5.6110958516e-02f,  -1.1152140148e-01f, 2.1080635753e-01f};

static inline float erf_scalar(float x) {
    float a = fabsf(x);
    float u = x * x;
    float p = erf_small[0];
    for (int i = 1; i < 8; i++) p = fmaf(p, u, erf_small[i]);
    float small = x * p;
    float s = (a - 2.5f) * (1.0f / 1.5f);
    float q = erf_tail[0];
    for (int i = 1; i < 11; i++) q = fmaf(q, s, erf_tail[i]);
    float e = exp_scalar(-(a * a));
    float product = e * q;
    float tail = a >= 4 ? 1.0f : 1.0f - product;
    float large = x < 0 ? -tail : tail;
    return a < 1 ? small : large;
}

static void gelu_forward_scalar(float *y, const float *x, int64_t from, int64_t count) {
    for (int64_t i = from; i < count; i++) {
        float half = 0.5f * x[i];
        float one_plus = 1.0f + erf_scalar(x[i] * 0.70710678118654752f);
        y[i] = half * one_plus;
    }
}

static void gelu_backward_scalar(float *dx, const float *dy, const float *x, int64_t from, int64_t count) {
    for (int64_t i = from; i < count; i++) {
        float v = x[i];
        float one_plus = 1.0f + erf_scalar(v * 0.70710678118654752f);
        float cdf = 0.5f * one_plus;
        float square = -0.5f * v;
        square = square * v;
        float pdf = exp_scalar(square) * 0.39894228040143268f;
        float slope = v * pdf;
        slope = cdf + slope;
        float term = dy[i] * slope;
        dx[i] = dx[i] + term;
    }
}

#if defined(__x86_64__)
__attribute__((target("avx512f"))) static inline __m512 erf_avx512(__m512 x) {
    __m512 a = _mm512_abs_ps(x);
    __m512 u = _mm512_mul_ps(x, x);
    __m512 p = _mm512_set1_ps(erf_small[0]);
    for (int i = 1; i < 8; i++) p = _mm512_fmadd_ps(p, u, _mm512_set1_ps(erf_small[i]));
    __m512 small = _mm512_mul_ps(x, p);
    __m512 s = _mm512_mul_ps(_mm512_sub_ps(a, _mm512_set1_ps(2.5f)), _mm512_set1_ps(1.0f / 1.5f));
    __m512 q = _mm512_set1_ps(erf_tail[0]);
    for (int i = 1; i < 11; i++) q = _mm512_fmadd_ps(q, s, _mm512_set1_ps(erf_tail[i]));
    __m512 square = _mm512_mul_ps(a, a);
    __m512 e = exp_avx512(_mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(square), _mm512_set1_epi32((int)0x80000000u))));
    __m512 tail = _mm512_sub_ps(_mm512_set1_ps(1.0f), _mm512_mul_ps(e, q));
    tail = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, _mm512_set1_ps(4.0f), _CMP_GE_OQ), tail, _mm512_set1_ps(1.0f));
    __m512 negated = _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(tail), _mm512_set1_epi32((int)0x80000000u)));
    __m512 large = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ), tail, negated);
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, _mm512_set1_ps(1.0f), _CMP_LT_OQ), large, small);
}

__attribute__((target("avx512f"))) static void gelu_forward_avx512(float *y, const float *x, int64_t count) {
    int64_t i = 0;
    for (; i + 16 <= count; i += 16) {
        __m512 v = _mm512_loadu_ps(x + i);
        __m512 half = _mm512_mul_ps(_mm512_set1_ps(0.5f), v);
        __m512 one_plus = _mm512_add_ps(_mm512_set1_ps(1.0f), erf_avx512(_mm512_mul_ps(v, _mm512_set1_ps(0.70710678118654752f))));
        _mm512_storeu_ps(y + i, _mm512_mul_ps(half, one_plus));
    }
    gelu_forward_scalar(y, x, i, count);
}

__attribute__((target("avx512f"))) static void gelu_backward_avx512(float *dx, const float *dy, const float *x, int64_t count) {
    int64_t i = 0;
    for (; i + 16 <= count; i += 16) {
        __m512 v = _mm512_loadu_ps(x + i);
        __m512 one_plus = _mm512_add_ps(_mm512_set1_ps(1.0f), erf_avx512(_mm512_mul_ps(v, _mm512_set1_ps(0.70710678118654752f))));
        __m512 cdf = _mm512_mul_ps(_mm512_set1_ps(0.5f), one_plus);
        __m512 square = _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(-0.5f), v), v);
        __m512 pdf = _mm512_mul_ps(exp_avx512(square), _mm512_set1_ps(0.39894228040143268f));
        __m512 slope = _mm512_add_ps(cdf, _mm512_mul_ps(v, pdf));
        __m512 term = _mm512_mul_ps(_mm512_loadu_ps(dy + i), slope);
        _mm512_storeu_ps(dx + i, _mm512_add_ps(_mm512_loadu_ps(dx + i), term));
    }
    gelu_backward_scalar(dx, dy, x, i, count);
}

__attribute__((target("avx2,fma"))) static inline __m256 erf_avx2(__m256 x) {
    __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 a = _mm256_andnot_ps(sign, x);
    __m256 u = _mm256_mul_ps(x, x);
    __m256 p = _mm256_set1_ps(erf_small[0]);
    for (int i = 1; i < 8; i++) p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(erf_small[i]));
    __m256 small = _mm256_mul_ps(x, p);
    __m256 s = _mm256_mul_ps(_mm256_sub_ps(a, _mm256_set1_ps(2.5f)), _mm256_set1_ps(1.0f / 1.5f));
    __m256 q = _mm256_set1_ps(erf_tail[0]);
    for (int i = 1; i < 11; i++) q = _mm256_fmadd_ps(q, s, _mm256_set1_ps(erf_tail[i]));
    __m256 e = exp_avx2(_mm256_xor_ps(sign, _mm256_mul_ps(a, a)));
    __m256 tail = _mm256_sub_ps(_mm256_set1_ps(1.0f), _mm256_mul_ps(e, q));
    tail = _mm256_blendv_ps(tail, _mm256_set1_ps(1.0f), _mm256_cmp_ps(a, _mm256_set1_ps(4.0f), _CMP_GE_OQ));
    __m256 large = _mm256_blendv_ps(tail, _mm256_xor_ps(sign, tail), _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ));
    return _mm256_blendv_ps(large, small, _mm256_cmp_ps(a, _mm256_set1_ps(1.0f), _CMP_LT_OQ));
}

__attribute__((target("avx2,fma"))) static void gelu_forward_avx2(float *y, const float *x, int64_t count) {
    int64_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256 half = _mm256_mul_ps(_mm256_set1_ps(0.5f), v);
        __m256 one_plus = _mm256_add_ps(_mm256_set1_ps(1.0f), erf_avx2(_mm256_mul_ps(v, _mm256_set1_ps(0.70710678118654752f))));
        _mm256_storeu_ps(y + i, _mm256_mul_ps(half, one_plus));
    }
    gelu_forward_scalar(y, x, i, count);
}

__attribute__((target("avx2,fma"))) static void gelu_backward_avx2(float *dx, const float *dy, const float *x, int64_t count) {
    int64_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256 one_plus = _mm256_add_ps(_mm256_set1_ps(1.0f), erf_avx2(_mm256_mul_ps(v, _mm256_set1_ps(0.70710678118654752f))));
        __m256 cdf = _mm256_mul_ps(_mm256_set1_ps(0.5f), one_plus);
        __m256 square = _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(-0.5f), v), v);
        __m256 pdf = _mm256_mul_ps(exp_avx2(square), _mm256_set1_ps(0.39894228040143268f));
        __m256 slope = _mm256_add_ps(cdf, _mm256_mul_ps(v, pdf));
        __m256 term = _mm256_mul_ps(_mm256_loadu_ps(dy + i), slope);
        _mm256_storeu_ps(dx + i, _mm256_add_ps(_mm256_loadu_ps(dx + i), term));
    }
    gelu_backward_scalar(dx, dy, x, i, count);
}

#endif

void cribo_gelu_forward(float *output, const float *input, int64_t count) {
#if defined(__x86_64__)
    switch (cribo_simd_level()) {
    case 2: gelu_forward_avx512(output, input, count); return;
    case 1: gelu_forward_avx2(output, input, count); return;
    default: break;
    }
#endif
    gelu_forward_scalar(output, input, 0, count);
}

void cribo_gelu_backward(float *d_input, const float *d_output, const float *input, int64_t count) {
#if defined(__x86_64__)
    switch (cribo_simd_level()) {
    case 2: gelu_backward_avx512(d_input, d_output, input, count); return;
    case 1: gelu_backward_avx2(d_input, d_output, input, count); return;
    default: break;
    }
#endif
    gelu_backward_scalar(d_input, d_output, input, 0, count);
}

// MARK: - AdamW

static void adamw_scalar(float *p, const float *g, float *m, float *v, int64_t from, int64_t count, int apply_decay,
                         float decay, float b1, float b2, float eps, float step_size, float root) {
    float one_minus_b1 = 1.0f - b1, one_minus_b2 = 1.0f - b2;
    for (int64_t j = from; j < count; j++) {
        if (apply_decay) p[j] = p[j] * decay;
        float first = b1 * m[j];
        float grad1 = one_minus_b1 * g[j];
        m[j] = first + grad1;
        float second = b2 * v[j];
        float grad2 = one_minus_b2 * g[j];
        grad2 = grad2 * g[j];
        v[j] = second + grad2;
        float denominator = sqrtf(v[j]) / root;
        denominator = denominator + eps;
        float ratio = m[j] / denominator;
        ratio = step_size * ratio;
        p[j] = p[j] - ratio;
    }
}

#if defined(__x86_64__)
__attribute__((target("avx512f"))) static void adamw_avx512(float *p, const float *g, float *m, float *v,
                                                            int64_t count, int apply_decay, float decay, float b1,
                                                            float b2, float eps, float step_size, float root) {
    const __m512 vdecay = _mm512_set1_ps(decay), vb1 = _mm512_set1_ps(b1), vb2 = _mm512_set1_ps(b2);
    const __m512 c1 = _mm512_set1_ps(1.0f - b1), c2 = _mm512_set1_ps(1.0f - b2);
    const __m512 veps = _mm512_set1_ps(eps), vstep = _mm512_set1_ps(step_size), vroot = _mm512_set1_ps(root);
    int64_t j = 0;
    for (; j + 16 <= count; j += 16) {
        __m512 pj = _mm512_loadu_ps(p + j), gj = _mm512_loadu_ps(g + j);
        if (apply_decay) pj = _mm512_mul_ps(pj, vdecay);
        __m512 mj = _mm512_add_ps(_mm512_mul_ps(vb1, _mm512_loadu_ps(m + j)), _mm512_mul_ps(c1, gj));
        __m512 vj = _mm512_add_ps(_mm512_mul_ps(vb2, _mm512_loadu_ps(v + j)), _mm512_mul_ps(_mm512_mul_ps(c2, gj), gj));
        __m512 denominator = _mm512_add_ps(_mm512_div_ps(_mm512_sqrt_ps(vj), vroot), veps);
        pj = _mm512_sub_ps(pj, _mm512_mul_ps(vstep, _mm512_div_ps(mj, denominator)));
        _mm512_storeu_ps(m + j, mj);
        _mm512_storeu_ps(v + j, vj);
        _mm512_storeu_ps(p + j, pj);
    }
    adamw_scalar(p, g, m, v, j, count, apply_decay, decay, b1, b2, eps, step_size, root);
}

__attribute__((target("avx2"))) static void adamw_avx2(float *p, const float *g, float *m, float *v, int64_t count,
                                                       int apply_decay, float decay, float b1, float b2, float eps,
                                                       float step_size, float root) {
    const __m256 vdecay = _mm256_set1_ps(decay), vb1 = _mm256_set1_ps(b1), vb2 = _mm256_set1_ps(b2);
    const __m256 c1 = _mm256_set1_ps(1.0f - b1), c2 = _mm256_set1_ps(1.0f - b2);
    const __m256 veps = _mm256_set1_ps(eps), vstep = _mm256_set1_ps(step_size), vroot = _mm256_set1_ps(root);
    int64_t j = 0;
    for (; j + 8 <= count; j += 8) {
        __m256 pj = _mm256_loadu_ps(p + j), gj = _mm256_loadu_ps(g + j);
        if (apply_decay) pj = _mm256_mul_ps(pj, vdecay);
        __m256 mj = _mm256_add_ps(_mm256_mul_ps(vb1, _mm256_loadu_ps(m + j)), _mm256_mul_ps(c1, gj));
        __m256 vj = _mm256_add_ps(_mm256_mul_ps(vb2, _mm256_loadu_ps(v + j)), _mm256_mul_ps(_mm256_mul_ps(c2, gj), gj));
        __m256 denominator = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vj), vroot), veps);
        pj = _mm256_sub_ps(pj, _mm256_mul_ps(vstep, _mm256_div_ps(mj, denominator)));
        _mm256_storeu_ps(m + j, mj);
        _mm256_storeu_ps(v + j, vj);
        _mm256_storeu_ps(p + j, pj);
    }
    adamw_scalar(p, g, m, v, j, count, apply_decay, decay, b1, b2, eps, step_size, root);
}

#endif

void cribo_adamw_update(float *parameters, const float *gradients, float *first_moment, float *second_moment,
                        int64_t count, int apply_decay, float decay, float beta1, float beta2, float eps,
                        float step_size, float bias_correction2_root) {
#if defined(__x86_64__)
    switch (cribo_simd_level()) {
    case 2:
        adamw_avx512(parameters, gradients, first_moment, second_moment, count, apply_decay, decay, beta1, beta2, eps,
                     step_size, bias_correction2_root);
        return;
    case 1:
        adamw_avx2(parameters, gradients, first_moment, second_moment, count, apply_decay, decay, beta1, beta2, eps,
                   step_size, bias_correction2_root);
        return;
    default: break;
    }
#endif
    adamw_scalar(parameters, gradients, first_moment, second_moment, 0, count, apply_decay, decay, beta1, beta2, eps,
                 step_size, bias_correction2_root);
}
