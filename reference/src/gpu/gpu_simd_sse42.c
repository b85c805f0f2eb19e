/* SPDX-License-Identifier: MIT */
/* gpu backend "simd", SSE4.2 level: 16 bytes per compare (this file alone is built with
 * -msse4.2 and runs only after the CPU said it has SSE4.2). */
#include <immintrin.h>
#include <string.h>

#include "internal.h"

/* The vectors of this level (16-byte); the kernels are in gpu_simd_body.h. */
#define W            16u
#define VEC          __m128i
#define LOAD(p)      _mm_loadu_si128((const __m128i *)(const void *)(p))
#define SET1(c)      _mm_set1_epi8((char)(c))
#define EQ(a, b)     _mm_cmpeq_epi8((a), (b))
#define AND(a, b)    _mm_and_si128((a), (b))
#define OR(a, b)     _mm_or_si128((a), (b))
#define MASK(v)      ((uint32_t)_mm_movemask_epi8(v))
#define SIMD_KERNELS vox__gpu_simd_sse42
#define SIMD_NAME    "sse4.2"

#include "gpu_simd_body.h"
