// SPDX-License-Identifier: Apache-2.0
// See cribo_image.h. Integer arithmetic only: the vector paths and the scalar tails give identical bytes.
#include "cribo_image.h"
#include "cribo_kernels.h"

#include <math.h>
#include <string.h>

// The hue shift mixes float and double steps exactly as Pillow's C code does: no contraction into fused
// multiply-adds anywhere in this file.
#pragma STDC FP_CONTRACT OFF
#pragma clang fp contract(off)

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

// MARK: - Hue shift (Pillow's rgb2hsv / hsv2rgb)

static inline uint8_t clamp_u8(int64_t value) { return value < 0 ? 0 : value > 255 ? 255 : (uint8_t)value; }

static void hue_scalar(uint8_t *out, const uint8_t *in, int64_t from, int64_t count, uint8_t offset) {
    for (int64_t k = from; k < count; k++) {
        int r = in[3 * k], g = in[3 * k + 1], b = in[3 * k + 2];
        int maxc = r > g ? (r > b ? r : b) : (g > b ? g : b);
        int minc = r < g ? (r < b ? r : b) : (g < b ? g : b);
        uint8_t h = 0, s = 0, v = (uint8_t)maxc;
        if (minc != maxc) {
            int cr = maxc - minc;
            float saturation = (float)cr / (float)maxc;
            float rc = (float)(maxc - r) / (float)cr, gc = (float)(maxc - g) / (float)cr, bc = (float)(maxc - b) / (float)cr;
            float hue;
            if (r == maxc) hue = bc - gc;
            else if (g == maxc) hue = (float)(2.0 + (double)rc - (double)bc);
            else hue = (float)(4.0 + (double)gc - (double)rc);
            double wrapped = (double)hue / 6.0 + 1.0;  // fmod(x, 1) on [5/6, 11/6]
            hue = (float)(wrapped >= 1.0 ? wrapped - 1.0 : wrapped);
            h = clamp_u8((int64_t)((double)hue * 255.0));
            s = clamp_u8((int64_t)((double)saturation * 255.0));
        }
        h = (uint8_t)(h + offset);
        uint8_t *o = out + 3 * k;
        if (s == 0) {
            o[0] = o[1] = o[2] = v;
            continue;
        }
        double h6 = (double)h * 6.0 / 255.0, sector = floor(h6);
        float f = (float)(h6 - sector), fs = (float)((double)s / 255.0);
        double vd = (double)v;
        uint8_t p = clamp_u8((int64_t)round(vd * (1.0 - (double)fs)));
        uint8_t q = clamp_u8((int64_t)round(vd * (1.0 - (double)(fs * f))));
        uint8_t t = clamp_u8((int64_t)round(vd * (1.0 - (double)fs * (1.0 - (double)f))));
        switch ((int)sector % 6) {
        case 0: o[0] = v; o[1] = t; o[2] = p; break;
        case 1: o[0] = q; o[1] = v; o[2] = p; break;
        case 2: o[0] = p; o[1] = v; o[2] = t; break;
        case 3: o[0] = p; o[1] = q; o[2] = v; break;
        case 4: o[0] = t; o[1] = p; o[2] = v; break;
        default: o[0] = v; o[1] = p; o[2] = q; break;
        }
    }
}

#if defined(__x86_64__)
#define HUE_TARGET __attribute__((target("avx512f")))

/// C `round` (half away from zero) of non-negative x: floor(x) + (x − floor(x) ≥ 0.5), the difference being exact.
HUE_TARGET static inline __m512d round_nonnegative(__m512d x) {
    __m512d low = _mm512_roundscale_pd(x, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    __mmask8 up = _mm512_cmp_pd_mask(_mm512_sub_pd(x, low), _mm512_set1_pd(0.5), _CMP_GE_OQ);
    return _mm512_mask_add_pd(low, up, low, _mm512_set1_pd(1.0));
}

HUE_TARGET static inline __m256i clamp_lanes(__m256i x) {
    return _mm256_min_epi32(_mm256_max_epi32(x, _mm256_setzero_si256()), _mm256_set1_epi32(255));
}

HUE_TARGET static inline __m256i select_epi32(__m256i no, __m256i yes, __m256i mask) { return _mm256_blendv_epi8(no, yes, mask); }

HUE_TARGET static void hue_avx512(uint8_t *out, const uint8_t *in, int64_t count, uint8_t offset) {
    int64_t k = 0;
    int32_t lanes[3][8];
    const __m512d one = _mm512_set1_pd(1.0), d255 = _mm512_set1_pd(255.0);
    for (; k + 8 <= count; k += 8) {
        for (int j = 0; j < 8; j++) {
            lanes[0][j] = in[3 * (k + j)];
            lanes[1][j] = in[3 * (k + j) + 1];
            lanes[2][j] = in[3 * (k + j) + 2];
        }
        __m256i r = _mm256_loadu_si256((const __m256i *)lanes[0]), g = _mm256_loadu_si256((const __m256i *)lanes[1]);
        __m256i b = _mm256_loadu_si256((const __m256i *)lanes[2]);
        __m256i maxc = _mm256_max_epi32(_mm256_max_epi32(r, g), b), minc = _mm256_min_epi32(_mm256_min_epi32(r, g), b);
        __m256i cr = _mm256_sub_epi32(maxc, minc);
        __m256i gray = _mm256_cmpeq_epi32(cr, _mm256_setzero_si256());
        // rgb2hsv: float32 quotients (denominators kept non-zero on gray lanes, which are overwritten below)
        __m256 crf = _mm256_cvtepi32_ps(_mm256_max_epi32(cr, _mm256_set1_epi32(1)));
        __m256 saturation = _mm256_div_ps(_mm256_cvtepi32_ps(cr), _mm256_cvtepi32_ps(_mm256_max_epi32(maxc, _mm256_set1_epi32(1))));
        __m256 rc = _mm256_div_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(maxc, r)), crf);
        __m256 gc = _mm256_div_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(maxc, g)), crf);
        __m256 bc = _mm256_div_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(maxc, b)), crf);
        __m512d rcd = _mm512_cvtps_pd(rc), gcd = _mm512_cvtps_pd(gc), bcd = _mm512_cvtps_pd(bc);
        __m256 hueR = _mm256_sub_ps(bc, gc);
        __m256 hueG = _mm512_cvtpd_ps(_mm512_sub_pd(_mm512_add_pd(_mm512_set1_pd(2.0), rcd), bcd));
        __m256 hueB = _mm512_cvtpd_ps(_mm512_sub_pd(_mm512_add_pd(_mm512_set1_pd(4.0), gcd), rcd));
        __m256 hue = _mm256_blendv_ps(hueB, hueG, _mm256_castsi256_ps(_mm256_cmpeq_epi32(g, maxc)));
        hue = _mm256_blendv_ps(hue, hueR, _mm256_castsi256_ps(_mm256_cmpeq_epi32(r, maxc)));
        __m512d wrapped = _mm512_add_pd(_mm512_div_pd(_mm512_cvtps_pd(hue), _mm512_set1_pd(6.0)), one);
        wrapped = _mm512_mask_sub_pd(wrapped, _mm512_cmp_pd_mask(wrapped, one, _CMP_GE_OQ), wrapped, one);
        __m512d hue1 = _mm512_cvtps_pd(_mm512_cvtpd_ps(wrapped));
        __m256i h = clamp_lanes(_mm512_cvttpd_epi32(_mm512_mul_pd(hue1, d255)));
        __m256i s = clamp_lanes(_mm512_cvttpd_epi32(_mm512_mul_pd(_mm512_cvtps_pd(saturation), d255)));
        h = _mm256_andnot_si256(gray, h);
        s = _mm256_andnot_si256(gray, s);
        h = _mm256_and_si256(_mm256_add_epi32(h, _mm256_set1_epi32(offset)), _mm256_set1_epi32(255));
        // hsv2rgb
        __m512d h6 = _mm512_div_pd(_mm512_mul_pd(_mm512_cvtepi32_pd(h), _mm512_set1_pd(6.0)), d255);
        __m512d sector = _mm512_roundscale_pd(h6, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
        __m256 f = _mm512_cvtpd_ps(_mm512_sub_pd(h6, sector));
        __m256 fs = _mm512_cvtpd_ps(_mm512_div_pd(_mm512_cvtepi32_pd(s), d255));
        __m512d vd = _mm512_cvtepi32_pd(maxc), fsd = _mm512_cvtps_pd(fs), fd = _mm512_cvtps_pd(f);
        __m256i p = clamp_lanes(_mm512_cvttpd_epi32(round_nonnegative(_mm512_mul_pd(vd, _mm512_sub_pd(one, fsd)))));
        __m256i q = clamp_lanes(_mm512_cvttpd_epi32(round_nonnegative(
            _mm512_mul_pd(vd, _mm512_sub_pd(one, _mm512_cvtps_pd(_mm256_mul_ps(fs, f)))))));
        __m256i t = clamp_lanes(_mm512_cvttpd_epi32(round_nonnegative(
            _mm512_mul_pd(vd, _mm512_sub_pd(one, _mm512_mul_pd(fsd, _mm512_sub_pd(one, fd)))))));
        __m256i i = _mm512_cvttpd_epi32(sector);
        i = select_epi32(i, _mm256_setzero_si256(), _mm256_cmpeq_epi32(i, _mm256_set1_epi32(6)));  // i % 6 for 0...6
#define IS(n) _mm256_cmpeq_epi32(i, _mm256_set1_epi32(n))
        __m256i v = maxc;
        __m256i red = select_epi32(select_epi32(select_epi32(v, q, IS(1)), p, _mm256_or_si256(IS(2), IS(3))), t, IS(4));
        __m256i green = select_epi32(select_epi32(select_epi32(p, t, IS(0)), v, _mm256_or_si256(IS(1), IS(2))), q, IS(3));
        __m256i blue = select_epi32(select_epi32(select_epi32(v, p, _mm256_or_si256(IS(0), IS(1))), t, IS(2)), q, IS(5));
#undef IS
        __m256i flat = _mm256_cmpeq_epi32(s, _mm256_setzero_si256());
        red = select_epi32(red, v, flat);
        green = select_epi32(green, v, flat);
        blue = select_epi32(blue, v, flat);
        _mm256_storeu_si256((__m256i *)lanes[0], red);
        _mm256_storeu_si256((__m256i *)lanes[1], green);
        _mm256_storeu_si256((__m256i *)lanes[2], blue);
        for (int j = 0; j < 8; j++) {
            out[3 * (k + j)] = (uint8_t)lanes[0][j];
            out[3 * (k + j) + 1] = (uint8_t)lanes[1][j];
            out[3 * (k + j) + 2] = (uint8_t)lanes[2][j];
        }
    }
    hue_scalar(out, in, k, count, offset);
}
#endif

void cribo_hue_shift_rgb(uint8_t *out, const uint8_t *in, int64_t count, uint8_t offset) {
#if defined(__x86_64__)
    if (cribo_simd_level() == 2) {
        hue_avx512(out, in, count, offset);
        return;
    }
#endif
    hue_scalar(out, in, 0, count, offset);
}
