// SPDX-License-Identifier: Apache-2.0
// Small hot loops written in C with explicit SIMD (AVX-512 or AVX2 chosen at run time, scalar elsewhere), where
// the Swift versions measured slower.
#ifndef CRIBO_KERNELS_H
#define CRIBO_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Merges `count` candidate similarities (memory rows first_index, first_index+1, ...) into a top-K list sorted
/// by similarity descending (`similarities`, `indices`, K entries). A candidate enters only when strictly
/// greater than the current K-th similarity (so NaN never enters), and is placed after the entries equal to it:
/// with chunks arriving in increasing memory order, the lower memory index wins every tie. Candidates are
/// compared with the K-th similarity 16 (AVX-512) or 8 (AVX2) at a time, and only those above it are inserted.
void cribo_topk_merge(float *similarities, int32_t *indices, int k, const float *candidates, int count,
                      int64_t first_index);

#ifdef __cplusplus
}
#endif

#endif
