/* SPDX-License-Identifier: MIT */
/* gpu backend "simd", AVX2 level: 32 bytes per compare (this file alone is built with -mavx2
 * and runs only after the CPU said it has AVX2). */
#include <immintrin.h>
#include <string.h>

#include "internal.h"

/* The vectors of this level (32-byte); the kernels are in gpu_simd_body.h. */
#define W            32u
#define VEC          __m256i
#define LOAD(p)      _mm256_loadu_si256((const __m256i *)(const void *)(p))
#define SET1(c)      _mm256_set1_epi8((char)(c))
#define EQ(a, b)     _mm256_cmpeq_epi8((a), (b))
#define AND(a, b)    _mm256_and_si256((a), (b))
#define OR(a, b)     _mm256_or_si256((a), (b))
#define MASK(v)      ((uint32_t)_mm256_movemask_epi8(v))
#define SIMD_KERNELS vox__gpu_simd_avx2
#define SIMD_NAME    "avx2"

#include "gpu_simd_body.h"
