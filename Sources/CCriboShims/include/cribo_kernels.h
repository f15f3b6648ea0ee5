// SPDX-License-Identifier: Apache-2.0
// Small hot loops written in C with explicit SIMD (AVX-512 or AVX2 chosen at run time, scalar elsewhere), where
// the Swift versions measured slower.
#ifndef CRIBO_KERNELS_H
#define CRIBO_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The widest SIMD level of this CPU, decided once: 2 AVX-512F, 1 AVX2 and FMA, 0 neither (or not
/// x86-64).
int cribo_simd_level(void);

/// Caps cribo_simd_level at `level` for the calling thread (2 lifts the cap): lets the tests run the AVX2 and scalar
/// paths on an AVX-512 machine. Every kernel gives the same results at every level.
void cribo_simd_limit(int level);

/// Merges `count` candidate similarities (memory rows first_index, first_index+1, ...) into a top-K list sorted
/// by similarity descending (`similarities`, `indices`, K entries). A candidate enters only when strictly
/// greater than the current K-th similarity (so NaN never enters), and is placed after the entries equal to it:
/// with chunks arriving in increasing memory order, the lower memory index wins every tie. Candidates are
/// compared with the K-th similarity 16 (AVX-512) or 8 (AVX2) at a time, and only those above it are inserted.
void cribo_topk_merge(float *similarities, int32_t *indices, int k, const float *candidates, int count,
                      int64_t first_index);

/// In place: y <- exp(y - max y) / sum exp(y - max y), with the exponential of cribo's fastExp (CriboNN
/// VectorMath.swift: the same clamp, range reduction and degree-7 polynomial, evaluated lane by lane with the same
/// roundings) and the maximum and the sum reduced 16 (AVX-512) or 8 (AVX2) lanes at a time.
void cribo_exp_normalize(float *y, int count);

/// Exact-erf GELU, y = (0.5·x)·(1 + erf(x·√½)), with cribo's fastErf and fastExp (CriboNN VectorMath.swift) evaluated
/// lane by lane with the same roundings, 16 (AVX-512) or 8 (AVX2) values at a time: the results are those of the
/// Swift loop, bit for bit.
void cribo_gelu_forward(float *output, const float *input, int64_t count);

/// Backward of cribo_gelu_forward, accumulating: dx += dy·(Φ(x) + x·φ(x)), Φ(x) = 0.5·(1 + erf(x·√½)),
/// φ(x) = exp((−0.5·x)·x)·(1/√(2π)); bit for bit the Swift loop's results.
void cribo_gelu_backward(float *d_input, const float *d_output, const float *input, int64_t count);

/// One AdamW update of `count` parameters, PyTorch's order of operations as in CriboNN's AdamW.step, each an IEEE
/// single-precision operation (no fused multiply-add), 16 or 8 lanes at a time: the results are those of the
/// scalar loop, bit for bit.
///   if apply_decay: p *= decay;  m = b1*m + (1-b1)*g;  v = b2*v + ((1-b2)*g)*g;
///   p -= step_size * (m / (sqrt(v) / bias_correction2_root + eps))
void cribo_adamw_update(float *parameters, const float *gradients, float *first_moment, float *second_moment,
                        int64_t count, int apply_decay, float decay, float beta1, float beta2, float eps,
                        float step_size, float bias_correction2_root);

#ifdef __cplusplus
}
#endif

#endif
