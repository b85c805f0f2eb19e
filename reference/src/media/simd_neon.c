/* SPDX-License-Identifier: MIT */
/* SIMD kernels, NEON level (AArch64, where Advanced SIMD is always present). */
#include <arm_neon.h>

#include "vox/simd.h"

/* The reference (simd.c): it computes the tails, so they are right by definition. */
extern const struct vox_simd_ops vox_simd_ops_scalar;

/*
 * 8 int16 per vector, written as plainly as the scalar code: NEON has a widening multiply,
 * saturating add and narrow, and structure loads and stores, so every kernel is a direct
 * transcription. vld1q/vst1q need only the element's alignment.
 */

/* x * gain + 2048 >> 12 on four samples, in int32 (|x * gain| <= 2^30: no overflow). */
static int32x4_t gain4(int16x4_t x, int16x4_t g)
{
    int32x4_t p = vaddq_s32(vmull_s16(x, g), vdupq_n_s32(1 << (VOX_SIMD_GAIN_SHIFT - 1)));

    return vshrq_n_s32(p, VOX_SIMD_GAIN_SHIFT); /* arithmetic shift */
}

static void gain_neon(const int16_t *in, int16_t *out, size_t samples, int16_t gain_q12)
{
    const int16x4_t g = vdup_n_s16(gain_q12);
    size_t i = 0;

    for (; i + 8 <= samples; i += 8) {
        int16x8_t x = vld1q_s16(in + i);
        /* vqmovn_s32: saturating narrow to int16. */
        int16x4_t lo = vqmovn_s32(gain4(vget_low_s16(x), g));
        int16x4_t hi = vqmovn_s32(gain4(vget_high_s16(x), g));

        vst1q_s16(out + i, vcombine_s16(lo, hi));
    }
    if (i < samples)
        vox_simd_ops_scalar.gain(in + i, out + i, samples - i, gain_q12);
}

static void mix_neon(const int16_t *a, const int16_t *b, int16_t *out, size_t samples)
{
    size_t i = 0;

    for (; i + 8 <= samples; i += 8)
        vst1q_s16(out + i, vqaddq_s16(vld1q_s16(a + i), vld1q_s16(b + i))); /* saturating */
    if (i < samples)
        vox_simd_ops_scalar.mix(a + i, b + i, out + i, samples - i);
}

static uint64_t sum_squares_neon(const int16_t *in, size_t samples)
{
    uint64x2_t acc = vdupq_n_u64(0);
    size_t i = 0;

    for (; i + 8 <= samples; i += 8) {
        int16x8_t x = vld1q_s16(in + i);
        /* Squares are in [0, 2^30]: exact in int32, and the same bits as uint32. */
        uint32x4_t lo = vreinterpretq_u32_s32(vmull_s16(vget_low_s16(x), vget_low_s16(x)));
        uint32x4_t hi = vreinterpretq_u32_s32(vmull_s16(vget_high_s16(x), vget_high_s16(x)));

        /* vpadalq_u32: adds adjacent uint32 pairs into the uint64 lanes of acc. */
        acc = vpadalq_u32(acc, lo);
        acc = vpadalq_u32(acc, hi);
    }
    return vgetq_lane_u64(acc, 0) + vgetq_lane_u64(acc, 1) +
           (i < samples ? vox_simd_ops_scalar.sum_squares(in + i, samples - i) : 0);
}

static void s16_to_f32_neon(const int16_t *in, float *out, size_t samples)
{
    size_t i = 0;

    for (; i + 8 <= samples; i += 8) {
        int16x8_t x = vld1q_s16(in + i);
        float32x4_t lo = vcvtq_f32_s32(vmovl_s16(vget_low_s16(x)));
        float32x4_t hi = vcvtq_f32_s32(vmovl_s16(vget_high_s16(x)));

        /* 2^-15: exact. */
        vst1q_f32(out + i, vmulq_n_f32(lo, 1.0f / 32768.0f));
        vst1q_f32(out + i + 4, vmulq_n_f32(hi, 1.0f / 32768.0f));
    }
    if (i < samples)
        vox_simd_ops_scalar.s16_to_f32(in + i, out + i, samples - i);
}

/*
 * Four floats to int16. vcvtnq_s32_f32 (FCVTNS) rounds to nearest with ties to even whatever
 * the FPCR mode, gives 0 for NaN and saturates to the int32 range (so +-inf too); vqmovn_s32
 * then saturates to int16. That is f32_to_s16_one in simd.c, with no special case.
 */
static int16x4_t f32_to_s16_4(float32x4_t x)
{
    return vqmovn_s32(vcvtnq_s32_f32(vmulq_n_f32(x, 32768.0f)));
}

static void f32_to_s16_neon(const float *in, int16_t *out, size_t samples)
{
    size_t i = 0;

    for (; i + 8 <= samples; i += 8) {
        int16x4_t lo = f32_to_s16_4(vld1q_f32(in + i));
        int16x4_t hi = f32_to_s16_4(vld1q_f32(in + i + 4));

        vst1q_s16(out + i, vcombine_s16(lo, hi));
    }
    if (i < samples)
        vox_simd_ops_scalar.f32_to_s16(in + i, out + i, samples - i);
}

static void interleave_neon(const int16_t *left, const int16_t *right, int16_t *out, size_t frames)
{
    size_t i = 0;

    for (; i + 8 <= frames; i += 8) {
        int16x8x2_t v;

        v.val[0] = vld1q_s16(left + i);
        v.val[1] = vld1q_s16(right + i);
        vst2q_s16(out + 2 * i, v); /* stores val[0][k], val[1][k] alternately */
    }
    if (i < frames)
        vox_simd_ops_scalar.interleave(left + i, right + i, out + 2 * i, frames - i);
}

static void deinterleave_neon(const int16_t *in, int16_t *left, int16_t *right, size_t frames)
{
    size_t i = 0;

    for (; i + 8 <= frames; i += 8) {
        int16x8x2_t v = vld2q_s16(in + 2 * i); /* even elements to val[0], odd to val[1] */

        vst1q_s16(left + i, v.val[0]);
        vst1q_s16(right + i, v.val[1]);
    }
    if (i < frames)
        vox_simd_ops_scalar.deinterleave(in + 2 * i, left + i, right + i, frames - i);
}

const struct vox_simd_ops vox_simd_ops_neon = {
    .name = "neon",
    .level = VOX_SIMD_NEON,
    .gain = gain_neon,
    .mix = mix_neon,
    .sum_squares = sum_squares_neon,
    .s16_to_f32 = s16_to_f32_neon,
    .f32_to_s16 = f32_to_s16_neon,
    .interleave = interleave_neon,
    .deinterleave = deinterleave_neon,
};
