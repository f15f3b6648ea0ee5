// SPDX-License-Identifier: Apache-2.0
// See cribo_image.h. Integer arithmetic only: the vector paths and the scalar tails give identical bytes.
#include "cribo_image.h"
#include "cribo_kernels.h"

#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

enum { RESAMPLE_BITS = 22 };

// MARK: - Fixed-point filter along rows

static inline uint8_t clip8(int32_t sum) {
    int32_t value = sum >> RESAMPLE_BITS;
    return value < 0 ? 0 : value > 255 ? 255 : (uint8_t)value;
}

/// Columns [from, to) of output row y, scalar.
static void filter_row_scalar(uint8_t *out, const uint8_t *const *taps, const int32_t *weights, int count, int64_t from,
                              int64_t to) {
    for (int64_t x = from; x < to; x++) {
        int32_t sum = 1 << (RESAMPLE_BITS - 1);
        for (int i = 0; i < count; i++) sum += (int32_t)taps[i][x] * weights[i];
        out[x] = clip8(sum);
    }
}

#if defined(__x86_64__)
__attribute__((target("avx512f"))) static inline __m512i filter16_avx512(const uint8_t *const *taps, const int32_t *weights,
                                                                        int count, int64_t x) {
    __m512i sum = _mm512_set1_epi32(1 << (RESAMPLE_BITS - 1));
    for (int i = 0; i < count; i++) {
        __m512i values = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(taps[i] + x)));
        sum = _mm512_add_epi32(sum, _mm512_mullo_epi32(values, _mm512_set1_epi32(weights[i])));
    }
    sum = _mm512_srai_epi32(sum, RESAMPLE_BITS);
    return _mm512_max_epi32(sum, _mm512_setzero_si512());  // the narrowing below saturates at 255
}

__attribute__((target("avx512f"))) static void filter_row_avx512(uint8_t *out, const uint8_t *const *taps,
                                                                const int32_t *weights, int count, int64_t length) {
    int64_t x = 0;
    for (; x + 32 <= length; x += 32) {
        __m512i a = filter16_avx512(taps, weights, count, x), b = filter16_avx512(taps, weights, count, x + 16);
        _mm_storeu_si128((__m128i *)(out + x), _mm512_cvtusepi32_epi8(a));
        _mm_storeu_si128((__m128i *)(out + x + 16), _mm512_cvtusepi32_epi8(b));
    }
    for (; x + 16 <= length; x += 16)
        _mm_storeu_si128((__m128i *)(out + x), _mm512_cvtusepi32_epi8(filter16_avx512(taps, weights, count, x)));
    filter_row_scalar(out, taps, weights, count, x, length);
}

__attribute__((target("avx2"))) static inline __m128i narrow8_avx2(__m256i values) {
    __m128i words = _mm_packus_epi32(_mm256_castsi256_si128(values), _mm256_extracti128_si256(values, 1));
    return _mm_packus_epi16(words, words);
}

__attribute__((target("avx2"))) static void filter_row_avx2(uint8_t *out, const uint8_t *const *taps,
                                                           const int32_t *weights, int count, int64_t length) {
    int64_t x = 0;
    for (; x + 8 <= length; x += 8) {
        __m256i sum = _mm256_set1_epi32(1 << (RESAMPLE_BITS - 1));
        for (int i = 0; i < count; i++) {
            __m256i values = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(taps[i] + x)));
            sum = _mm256_add_epi32(sum, _mm256_mullo_epi32(values, _mm256_set1_epi32(weights[i])));
        }
        // packus clamps the shifted sums to 0...65535 and then to 0...255, which is clip8
        _mm_storel_epi64((__m128i *)(out + x), narrow8_avx2(_mm256_srai_epi32(sum, RESAMPLE_BITS)));
    }
    filter_row_scalar(out, taps, weights, count, x, length);
}
#endif

void cribo_filter_rows_u8(uint8_t *out, const uint8_t *in, int64_t row_length, int out_rows, const int32_t *starts,
                          const int32_t *counts, const int32_t *weights, int kernel_size) {
    const uint8_t *taps[256];
    int level = cribo_simd_level();
    for (int y = 0; y < out_rows; y++) {
        int count = counts[y];
        const int32_t *w = weights + (int64_t)y * kernel_size;
        uint8_t *row = out + (int64_t)y * row_length;
        if (count > 256) {  // more taps than the pointer table holds (downscaling by over ~60x): scalar
            for (int64_t x = 0; x < row_length; x++) {
                int32_t sum = 1 << (RESAMPLE_BITS - 1);
                for (int i = 0; i < count; i++) sum += (int32_t)in[(int64_t)(starts[y] + i) * row_length + x] * w[i];
                row[x] = clip8(sum);
            }
            continue;
        }
        for (int i = 0; i < count; i++) taps[i] = in + (int64_t)(starts[y] + i) * row_length;
#if defined(__x86_64__)
        if (level == 2) { filter_row_avx512(row, taps, w, count, row_length); continue; }
        if (level == 1) { filter_row_avx2(row, taps, w, count, row_length); continue; }
#endif
        (void)level;
        filter_row_scalar(row, taps, w, count, 0, row_length);
    }
}

// MARK: - Transpose

void cribo_transpose_u8(uint8_t *out, const uint8_t *in, int rows, int columns, int channels) {
    enum { BLOCK = 32 };
    // Blocks in row-major order of the output's rows (y-blocks outside): each output row is written left to right.
    for (int y0 = 0; y0 < rows; y0 += BLOCK) {
        int y1 = y0 + BLOCK < rows ? y0 + BLOCK : rows;
        for (int x0 = 0; x0 < columns; x0 += BLOCK) {
            int x1 = x0 + BLOCK < columns ? x0 + BLOCK : columns;
            if (channels == 3) {
                // One 4-byte load and store per pixel: the store's fourth byte lands on the next pixel of the same
                // output row, written later (after this one in this block, or by the next block of y). Only the last
                // pixel of an output row (y = rows − 1) is copied byte by byte, which also keeps the 4-byte loads
                // inside the input (its last pixel has y = rows − 1).
                int last = y1 == rows ? y1 - 1 : y1;
                for (int x = x0; x < x1; x++) {
                    const uint8_t *source = in + ((int64_t)y0 * columns + x) * 3;
                    uint8_t *target = out + ((int64_t)x * rows + y0) * 3;
                    for (int y = y0; y < last; y++, source += (int64_t)columns * 3, target += 3) {
                        uint32_t pixel;
                        memcpy(&pixel, source, 4);
                        memcpy(target, &pixel, 4);
                    }
                    if (last < y1) memcpy(target, source, 3);
                }
            } else {
                for (int x = x0; x < x1; x++)
                    for (int y = y0; y < y1; y++)
                        memcpy(out + ((int64_t)x * rows + y) * channels, in + ((int64_t)y * columns + x) * channels,
                               (size_t)channels);
            }
        }
    }
}

// MARK: - Box blur along rows

static inline const uint8_t *clamped_row(const uint8_t *in, int64_t row_length, int rows, int k) {
    return in + (int64_t)(k < 0 ? 0 : k >= rows ? rows - 1 : k) * row_length;
}

static void box_row_scalar(uint8_t *out, const uint8_t *const *window, int width, const uint8_t *left,
                           const uint8_t *right, uint32_t inner, uint32_t edge, int64_t from, int64_t to) {
    for (int64_t x = from; x < to; x++) {
        uint32_t sum = 0;
        for (int i = 0; i < width; i++) sum += window[i][x];
        out[x] = (uint8_t)((sum * inner + ((uint32_t)left[x] + right[x]) * edge + (1u << 23)) >> 24);
    }
}

#if defined(__x86_64__)
__attribute__((target("avx512f"))) static void box_row_avx512(uint8_t *out, const uint8_t *const *window, int width,
                                                             const uint8_t *left, const uint8_t *right, uint32_t inner,
                                                             uint32_t edge, int64_t length) {
    int64_t x = 0;
    const __m512i vinner = _mm512_set1_epi32((int)inner), vedge = _mm512_set1_epi32((int)edge);
    const __m512i half = _mm512_set1_epi32(1 << 23);
#define LOAD16(p) _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)((p) + x)))
    for (; x + 16 <= length; x += 16) {
        __m512i sum = LOAD16(window[0]);
        for (int i = 1; i < width; i++) sum = _mm512_add_epi32(sum, LOAD16(window[i]));
        __m512i ends = _mm512_add_epi32(LOAD16(left), LOAD16(right));
        __m512i total = _mm512_add_epi32(_mm512_add_epi32(_mm512_mullo_epi32(sum, vinner), _mm512_mullo_epi32(ends, vedge)), half);
        _mm_storeu_si128((__m128i *)(out + x), _mm512_cvtepi32_epi8(_mm512_srli_epi32(total, 24)));
    }
#undef LOAD16
    box_row_scalar(out, window, width, left, right, inner, edge, x, length);
}

__attribute__((target("avx2"))) static void box_row_avx2(uint8_t *out, const uint8_t *const *window, int width,
                                                        const uint8_t *left, const uint8_t *right, uint32_t inner,
                                                        uint32_t edge, int64_t length) {
    int64_t x = 0;
    const __m256i vinner = _mm256_set1_epi32((int)inner), vedge = _mm256_set1_epi32((int)edge);
    const __m256i half = _mm256_set1_epi32(1 << 23);
#define LOAD8(p) _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)((p) + x)))
    for (; x + 8 <= length; x += 8) {
        __m256i sum = LOAD8(window[0]);
        for (int i = 1; i < width; i++) sum = _mm256_add_epi32(sum, LOAD8(window[i]));
        __m256i ends = _mm256_add_epi32(LOAD8(left), LOAD8(right));
        __m256i total = _mm256_add_epi32(_mm256_add_epi32(_mm256_mullo_epi32(sum, vinner), _mm256_mullo_epi32(ends, vedge)), half);
        _mm_storel_epi64((__m128i *)(out + x), narrow8_avx2(_mm256_srli_epi32(total, 24)));
    }
#undef LOAD8
    box_row_scalar(out, window, width, left, right, inner, edge, x, length);
}
#endif

void cribo_box_blur_rows_u8(uint8_t *out, const uint8_t *in, int64_t row_length, int rows, int radius, uint32_t inner,
                            uint32_t edge) {
    enum { MAX_WIDTH = 255 };
    const uint8_t *window[MAX_WIDTH];
    int level = cribo_simd_level();
    int width = 2 * radius + 1;
    for (int y = 0; y < rows; y++) {
        uint8_t *row = out + (int64_t)y * row_length;
        const uint8_t *left = clamped_row(in, row_length, rows, y - radius - 1);
        const uint8_t *right = clamped_row(in, row_length, rows, y + radius + 1);
        if (width > MAX_WIDTH) {  // radius over 127 (σ over ~150): one tap at a time
            for (int64_t x = 0; x < row_length; x++) {
                uint32_t sum = 0;
                for (int k = y - radius; k <= y + radius; k++) sum += clamped_row(in, row_length, rows, k)[x];
                row[x] = (uint8_t)((sum * inner + ((uint32_t)left[x] + right[x]) * edge + (1u << 23)) >> 24);
            }
            continue;
        }
        for (int i = 0; i < width; i++) window[i] = clamped_row(in, row_length, rows, y - radius + i);
#if defined(__x86_64__)
        if (level == 2) { box_row_avx512(row, window, width, left, right, inner, edge, row_length); continue; }
        if (level == 1) { box_row_avx2(row, window, width, left, right, inner, edge, row_length); continue; }
#endif
        (void)level;
        box_row_scalar(row, window, width, left, right, inner, edge, 0, row_length);
    }
}
