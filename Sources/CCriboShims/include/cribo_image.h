// SPDX-License-Identifier: Apache-2.0
// uint8 image kernels of the augmentation and ingest paths, in C with explicit SIMD (AVX-512 or AVX2 chosen at run
// time, scalar elsewhere). All arithmetic is integer, so every path gives the same bytes as the scalar Swift loops
// they replace (CriboData Resample.swift and GaussianBlur.swift keep those loops as the tested reference).
#ifndef CRIBO_IMAGE_H
#define CRIBO_IMAGE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// One pass of Pillow's fixed-point separable resampling along the outer axis of a row-major array: every output
/// row y is a weighted sum of the input rows starts[y] ..< starts[y] + counts[y],
///   out[y][x] = clip8((2^21 + Σ_i in[starts[y] + i][x] · weights[y · kernel_size + i]) >> 22),
/// clip8 clamping to 0...255, with int32 sums as in Pillow's ImagingResampleVertical_8bpc. `row_length` bytes per
/// row (width × channels). A horizontal pass is this pass on the transposed image (cribo_transpose_u8).
void cribo_filter_rows_u8(uint8_t *out, const uint8_t *in, int64_t row_length, int out_rows, const int32_t *starts,
                          const int32_t *counts, const int32_t *weights, int kernel_size);

/// out[x][y][c] = in[y][x][c] for an image of `rows` × `columns` pixels of `channels` bytes.
void cribo_transpose_u8(uint8_t *out, const uint8_t *in, int rows, int columns, int channels);

/// One pass of Pillow's extended box blur (ImagingLineBoxBlur8) along the outer axis of a row-major array, edge
/// rows repeated: with R(k) = in[clamp(k, 0, rows − 1)],
///   out[y][x] = ((Σ_{k = y−radius}^{y+radius} R(k)[x]) · inner + (R(y−radius−1)[x] + R(y+radius+1)[x]) · edge
///                + 2^23) >> 24
/// in uint32 arithmetic (inner·(2·radius + 1) + 2·edge = 2^24, so every result is at most 255). `out` and `in`
/// must not overlap.
void cribo_box_blur_rows_u8(uint8_t *out, const uint8_t *in, int64_t row_length, int rows, int radius, uint32_t inner,
                            uint32_t edge);

/// torchvision's adjust_hue on a PIL image, for `count` interleaved RGB pixels: Pillow's rgb2hsv (float32 ratios and
/// the double-precision steps of Convert.c), the 8-bit hue plus `offset` (uint8(int32(shift·255)), wrapping), and
/// Pillow's hsv2rgb (C `round`). The AVX-512 path computes 8 pixels at a time with the same IEEE operations in the
/// same precisions as the scalar path (every quotient correctly rounded), so both give the same bytes.
void cribo_hue_shift_rgb(uint8_t *out, const uint8_t *in, int64_t count, uint8_t offset);

#ifdef __cplusplus
}
#endif

#endif
