/* SPDX-License-Identifier: MIT */
/* SIMD kernels, SSE2 level (x86-64 baseline; this file alone is built with -msse2). */
#include <emmintrin.h>

#include "vox/simd.h"

/* The reference (simd.c): it computes the tails, so they are right by definition. */
extern const struct vox_simd_ops vox_simd_ops_scalar;

/* 8 int16 per vector. Unaligned loads and stores throughout: any alignment is allowed, and
 * on the CPUs that run this the cost of an aligned buffer through loadu is nil. */

static void gain_sse2(const int16_t *in, int16_t *out, size_t samples, int16_t gain_q12)
{
    /* pmaddwd on (x, 1) pairs against (gain, 2048) pairs gives x * gain + 2048 in 32 bits;
     * it cannot overflow (|x * gain| <= 2^30). packssdw then saturates to int16. */
    const __m128i k = _mm_set1_epi32(
        (int)((uint32_t)(1 << (VOX_SIMD_GAIN_SHIFT - 1)) << 16 | (uint16_t)gain_q12));
    const __m128i one = _mm_set1_epi16(1);
    size_t i = 0;

    for (; i + 8 <= samples; i += 8) {
        __m128i x = _mm_loadu_si128((const __m128i *)(in + i));
        __m128i lo = _mm_madd_epi16(_mm_unpacklo_epi16(x, one), k);
        __m128i hi = _mm_madd_epi16(_mm_unpackhi_epi16(x, one), k);

        lo = _mm_srai_epi32(lo, VOX_SIMD_GAIN_SHIFT);
        hi = _mm_srai_epi32(hi, VOX_SIMD_GAIN_SHIFT);
        _mm_storeu_si128((__m128i *)(out + i), _mm_packs_epi32(lo, hi));
    }
    if (i < samples)
        vox_simd_ops_scalar.gain(in + i, out + i, samples - i, gain_q12);
}

static void mix_sse2(const int16_t *a, const int16_t *b, int16_t *out, size_t samples)
{
    size_t i = 0;

    for (; i + 8 <= samples; i += 8) {
        __m128i x = _mm_loadu_si128((const __m128i *)(a + i));
        __m128i y = _mm_loadu_si128((const __m128i *)(b + i));

        _mm_storeu_si128((__m128i *)(out + i), _mm_adds_epi16(x, y));
    }
    if (i < samples)
        vox_simd_ops_scalar.mix(a + i, b + i, out + i, samples - i);
}

static uint64_t sum_squares_sse2(const int16_t *in, size_t samples)
{
    const __m128i zero = _mm_setzero_si128();
    __m128i acc = zero; /* two uint64 partial sums */
    uint64_t lanes[2];
    size_t i = 0;

    for (; i + 8 <= samples; i += 8) {
        __m128i x = _mm_loadu_si128((const __m128i *)(in + i));
        /* x0^2 + x1^2 <= 2^31: exact as uint32 (pmaddwd's int32 wraps only when x0 = x1 =
         * -32768, to 0x80000000, which is 2^31 unsigned), so zero-extend, never sign-extend. */
        __m128i sq = _mm_madd_epi16(x, x);

        acc = _mm_add_epi64(acc, _mm_unpacklo_epi32(sq, zero));
        acc = _mm_add_epi64(acc, _mm_unpackhi_epi32(sq, zero));
    }
    _mm_storeu_si128((__m128i *)lanes, acc);
    return lanes[0] + lanes[1] +
           (i < samples ? vox_simd_ops_scalar.sum_squares(in + i, samples - i) : 0);
}

static void s16_to_f32_sse2(const int16_t *in, float *out, size_t samples)
{
    const __m128 scale = _mm_set1_ps(1.0f / 32768.0f); /* 2^-15: exact */
    const __m128i zero = _mm_setzero_si128();
    size_t i = 0;

    for (; i + 8 <= samples; i += 8) {
        __m128i x = _mm_loadu_si128((const __m128i *)(in + i));
        /* x in the high half of each int32, then an arithmetic shift: sign extension. */
        __m128i lo = _mm_srai_epi32(_mm_unpacklo_epi16(zero, x), 16);
        __m128i hi = _mm_srai_epi32(_mm_unpackhi_epi16(zero, x), 16);

        _mm_storeu_ps(out + i, _mm_mul_ps(_mm_cvtepi32_ps(lo), scale));
        _mm_storeu_ps(out + i + 4, _mm_mul_ps(_mm_cvtepi32_ps(hi), scale));
    }
    if (i < samples)
        vox_simd_ops_scalar.s16_to_f32(in + i, out + i, samples - i);
}

/* Four floats to int32 in [-32768, 32767], as f32_to_s16_one in simd.c. */
static __m128i f32_to_s32_sse2(__m128 x)
{
    const __m128 scale = _mm_set1_ps(32768.0f);
    const __m128 lo = _mm_set1_ps(-32768.0f), hi = _mm_set1_ps(32767.0f);

    x = _mm_mul_ps(x, scale);
    /* NaN compares unequal to itself: the mask clears it to +0.0. Done first, because
     * minps/maxps return their second operand when either is NaN. */
    x = _mm_and_ps(x, _mm_cmpeq_ps(x, x));
    x = _mm_min_ps(_mm_max_ps(x, lo), hi);
    return _mm_cvtps_epi32(x); /* MXCSR rounding: to nearest even by default */
}

static void f32_to_s16_sse2(const float *in, int16_t *out, size_t samples)
{
    size_t i = 0;

    for (; i + 8 <= samples; i += 8) {
        __m128i lo = f32_to_s32_sse2(_mm_loadu_ps(in + i));
        __m128i hi = f32_to_s32_sse2(_mm_loadu_ps(in + i + 4));

        _mm_storeu_si128((__m128i *)(out + i), _mm_packs_epi32(lo, hi));
    }
    if (i < samples)
        vox_simd_ops_scalar.f32_to_s16(in + i, out + i, samples - i);
}

static void interleave_sse2(const int16_t *left, const int16_t *right, int16_t *out, size_t frames)
{
    size_t i = 0;

    for (; i + 8 <= frames; i += 8) {
        __m128i l = _mm_loadu_si128((const __m128i *)(left + i));
        __m128i r = _mm_loadu_si128((const __m128i *)(right + i));

        _mm_storeu_si128((__m128i *)(out + 2 * i), _mm_unpacklo_epi16(l, r));
        _mm_storeu_si128((__m128i *)(out + 2 * i + 8), _mm_unpackhi_epi16(l, r));
    }
    if (i < frames)
        vox_simd_ops_scalar.interleave(left + i, right + i, out + 2 * i, frames - i);
}

static void deinterleave_sse2(const int16_t *in, int16_t *left, int16_t *right, size_t frames)
{
    size_t i = 0;

    for (; i + 8 <= frames; i += 8) {
        /* Each int32 holds one frame: left in the low half, right in the high half. Shifts
         * sign-extend either half to int32, and packssdw (exact: values fit) narrows back. */
        __m128i v0 = _mm_loadu_si128((const __m128i *)(in + 2 * i));
        __m128i v1 = _mm_loadu_si128((const __m128i *)(in + 2 * i + 8));
        __m128i l0 = _mm_srai_epi32(_mm_slli_epi32(v0, 16), 16);
        __m128i l1 = _mm_srai_epi32(_mm_slli_epi32(v1, 16), 16);

        _mm_storeu_si128((__m128i *)(left + i), _mm_packs_epi32(l0, l1));
        _mm_storeu_si128((__m128i *)(right + i),
                         _mm_packs_epi32(_mm_srai_epi32(v0, 16), _mm_srai_epi32(v1, 16)));
    }
    if (i < frames)
        vox_simd_ops_scalar.deinterleave(in + 2 * i, left + i, right + i, frames - i);
}

const struct vox_simd_ops vox_simd_ops_sse2 = {
    .name = "sse2",
    .level = VOX_SIMD_SSE2,
    .gain = gain_sse2,
    .mix = mix_sse2,
    .sum_squares = sum_squares_sse2,
    .s16_to_f32 = s16_to_f32_sse2,
    .f32_to_s16 = f32_to_s16_sse2,
    .interleave = interleave_sse2,
    .deinterleave = deinterleave_sse2,
};
