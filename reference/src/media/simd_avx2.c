/* SPDX-License-Identifier: MIT */
/* SIMD kernels, AVX2 level (this file alone is built with -mavx2; used only when detected). */
#include <immintrin.h>

#include "vox/simd.h"

/* The reference (simd.c): it computes the tails, so they are right by definition. */
extern const struct vox_simd_ops vox_simd_ops_scalar;

/*
 * 16 int16 per vector. Most AVX2 integer instructions work on the two 128-bit lanes apart
 * (unpack, pack): the SSE2 algorithms carry over lane by lane, and a cross-lane permute puts
 * the result back in order where a pack or unpack mixed the lanes. Unaligned loads and stores
 * throughout.
 */

/* packs_epi32 of int32 vectors a and b (8 values each) works per lane and gives, in 64-bit
 * quarters, [a0-3, b0-3 | a4-7, b4-7]; taking the quarters in the order 0, 2, 1, 3 makes it
 * [a0-7 | b0-7]. */
#define PACK_ORDER _MM_SHUFFLE(3, 1, 2, 0)

static void gain_avx2(const int16_t *in, int16_t *out, size_t samples, int16_t gain_q12)
{
    /* As in the SSE2 level: pmaddwd of (x, 1) by (gain, 2048) = x * gain + 2048, exactly. */
    const __m256i k = _mm256_set1_epi32(
        (int)((uint32_t)(1 << (VOX_SIMD_GAIN_SHIFT - 1)) << 16 | (uint16_t)gain_q12));
    const __m256i one = _mm256_set1_epi16(1);
    size_t i = 0;

    for (; i + 16 <= samples; i += 16) {
        __m256i x = _mm256_loadu_si256((const __m256i *)(in + i));
        __m256i lo = _mm256_madd_epi16(_mm256_unpacklo_epi16(x, one), k);
        __m256i hi = _mm256_madd_epi16(_mm256_unpackhi_epi16(x, one), k);

        lo = _mm256_srai_epi32(lo, VOX_SIMD_GAIN_SHIFT);
        hi = _mm256_srai_epi32(hi, VOX_SIMD_GAIN_SHIFT);
        /* unpacklo/hi and packs both work per lane, so the order comes back by itself. */
        _mm256_storeu_si256((__m256i *)(out + i), _mm256_packs_epi32(lo, hi));
    }
    if (i < samples)
        vox_simd_ops_scalar.gain(in + i, out + i, samples - i, gain_q12);
}

static void mix_avx2(const int16_t *a, const int16_t *b, int16_t *out, size_t samples)
{
    size_t i = 0;

    for (; i + 16 <= samples; i += 16) {
        __m256i x = _mm256_loadu_si256((const __m256i *)(a + i));
        __m256i y = _mm256_loadu_si256((const __m256i *)(b + i));

        _mm256_storeu_si256((__m256i *)(out + i), _mm256_adds_epi16(x, y));
    }
    if (i < samples)
        vox_simd_ops_scalar.mix(a + i, b + i, out + i, samples - i);
}

static uint64_t sum_squares_avx2(const int16_t *in, size_t samples)
{
    const __m256i zero = _mm256_setzero_si256();
    __m256i acc = zero; /* four uint64 partial sums */
    uint64_t lanes[4];
    size_t i = 0;

    for (; i + 16 <= samples; i += 16) {
        __m256i x = _mm256_loadu_si256((const __m256i *)(in + i));
        /* Pairs of squares, <= 2^31 each: exact as uint32, so zero-extended (see SSE2). */
        __m256i sq = _mm256_madd_epi16(x, x);

        acc = _mm256_add_epi64(acc, _mm256_unpacklo_epi32(sq, zero));
        acc = _mm256_add_epi64(acc, _mm256_unpackhi_epi32(sq, zero));
    }
    _mm256_storeu_si256((__m256i *)lanes, acc);
    return lanes[0] + lanes[1] + lanes[2] + lanes[3] +
           (i < samples ? vox_simd_ops_scalar.sum_squares(in + i, samples - i) : 0);
}

static void s16_to_f32_avx2(const int16_t *in, float *out, size_t samples)
{
    const __m256 scale = _mm256_set1_ps(1.0f / 32768.0f); /* 2^-15: exact */
    size_t i = 0;

    for (; i + 16 <= samples; i += 16) {
        __m256i lo = _mm256_cvtepi16_epi32(_mm_loadu_si128((const __m128i *)(in + i)));
        __m256i hi = _mm256_cvtepi16_epi32(_mm_loadu_si128((const __m128i *)(in + i + 8)));

        _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_cvtepi32_ps(lo), scale));
        _mm256_storeu_ps(out + i + 8, _mm256_mul_ps(_mm256_cvtepi32_ps(hi), scale));
    }
    if (i < samples)
        vox_simd_ops_scalar.s16_to_f32(in + i, out + i, samples - i);
}

/* Eight floats to int32 in [-32768, 32767], as f32_to_s16_one in simd.c. */
static __m256i f32_to_s32_avx2(__m256 x)
{
    const __m256 scale = _mm256_set1_ps(32768.0f);
    const __m256 lo = _mm256_set1_ps(-32768.0f), hi = _mm256_set1_ps(32767.0f);

    x = _mm256_mul_ps(x, scale);
    /* NaN is unordered: the EQ_OQ mask clears it to +0.0, before min/max (which would return
     * their second operand for a NaN). */
    x = _mm256_and_ps(x, _mm256_cmp_ps(x, x, _CMP_EQ_OQ));
    x = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
    return _mm256_cvtps_epi32(x); /* MXCSR rounding: to nearest even by default */
}

static void f32_to_s16_avx2(const float *in, int16_t *out, size_t samples)
{
    size_t i = 0;

    for (; i + 16 <= samples; i += 16) {
        __m256i lo = f32_to_s32_avx2(_mm256_loadu_ps(in + i));
        __m256i hi = f32_to_s32_avx2(_mm256_loadu_ps(in + i + 8));

        _mm256_storeu_si256((__m256i *)(out + i),
                            _mm256_permute4x64_epi64(_mm256_packs_epi32(lo, hi), PACK_ORDER));
    }
    if (i < samples)
        vox_simd_ops_scalar.f32_to_s16(in + i, out + i, samples - i);
}

static void interleave_avx2(const int16_t *left, const int16_t *right, int16_t *out, size_t frames)
{
    size_t i = 0;

    for (; i + 16 <= frames; i += 16) {
        __m256i l = _mm256_loadu_si256((const __m256i *)(left + i));
        __m256i r = _mm256_loadu_si256((const __m256i *)(right + i));
        /* Per lane: lo = frames 0-3 | 8-11, hi = frames 4-7 | 12-15. */
        __m256i lo = _mm256_unpacklo_epi16(l, r);
        __m256i hi = _mm256_unpackhi_epi16(l, r);

        _mm256_storeu_si256((__m256i *)(out + 2 * i), _mm256_permute2x128_si256(lo, hi, 0x20));
        _mm256_storeu_si256((__m256i *)(out + 2 * i + 16), _mm256_permute2x128_si256(lo, hi, 0x31));
    }
    if (i < frames)
        vox_simd_ops_scalar.interleave(left + i, right + i, out + 2 * i, frames - i);
}

static void deinterleave_avx2(const int16_t *in, int16_t *left, int16_t *right, size_t frames)
{
    size_t i = 0;

    for (; i + 16 <= frames; i += 16) {
        /* One frame per int32 (left low, right high), as in the SSE2 level. */
        __m256i v0 = _mm256_loadu_si256((const __m256i *)(in + 2 * i));
        __m256i v1 = _mm256_loadu_si256((const __m256i *)(in + 2 * i + 16));
        __m256i l0 = _mm256_srai_epi32(_mm256_slli_epi32(v0, 16), 16);
        __m256i l1 = _mm256_srai_epi32(_mm256_slli_epi32(v1, 16), 16);
        __m256i r0 = _mm256_srai_epi32(v0, 16);
        __m256i r1 = _mm256_srai_epi32(v1, 16);

        _mm256_storeu_si256((__m256i *)(left + i),
                            _mm256_permute4x64_epi64(_mm256_packs_epi32(l0, l1), PACK_ORDER));
        _mm256_storeu_si256((__m256i *)(right + i),
                            _mm256_permute4x64_epi64(_mm256_packs_epi32(r0, r1), PACK_ORDER));
    }
    if (i < frames)
        vox_simd_ops_scalar.deinterleave(in + 2 * i, left + i, right + i, frames - i);
}

const struct vox_simd_ops vox_simd_ops_avx2 = {
    .name = "avx2",
    .level = VOX_SIMD_AVX2,
    .gain = gain_avx2,
    .mix = mix_avx2,
    .sum_squares = sum_squares_avx2,
    .s16_to_f32 = s16_to_f32_avx2,
    .f32_to_s16 = f32_to_s16_avx2,
    .interleave = interleave_avx2,
    .deinterleave = deinterleave_avx2,
};
