// SPDX-License-Identifier: Apache-2.0
// See cribo_kernels.h.
#include "cribo_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

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

typedef void (*merge_fn)(float *, int32_t *, int, const float *, int, int64_t);

static merge_fn choose_merge(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return merge_avx512;
    if (__builtin_cpu_supports("avx2")) return merge_avx2;
    return 0;
}
#endif

void cribo_topk_merge(float *similarities, int32_t *indices, int k, const float *candidates, int count,
                      int64_t first_index) {
#if defined(__x86_64__)
    static merge_fn chosen;
    static int ready;
    if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) {
        __atomic_store_n(&chosen, choose_merge(), __ATOMIC_RELAXED);
        __atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
    }
    merge_fn merge = __atomic_load_n(&chosen, __ATOMIC_RELAXED);
    if (merge) {
        merge(similarities, indices, k, candidates, count, first_index);
        return;
    }
#endif
    merge_scalar(similarities, indices, k, candidates, 0, count, first_index);
}
