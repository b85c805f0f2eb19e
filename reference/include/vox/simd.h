/* SPDX-License-Identifier: MIT */
/* SIMD audio kernels (gain, mix, RMS, conversions, stereo (de)interleave) with run-time dispatch.
 */
#ifndef VOX_SIMD_H
#define VOX_SIMD_H

#include <stddef.h>
#include <stdint.h>

#include "vox/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Every kernel has one exactly defined result (given below), and every level computes it
 * bit for bit: a level only changes the speed. The scalar level is the reference.
 *
 * Common rules for every kernel:
 *   - Any count, 0 included (pointers may then be NULL), and any alignment of the buffers
 *     (a sample's natural alignment: 2 bytes for int16, 4 for float).
 *   - Buffers must not overlap, except where a kernel says "in place": there the output may
 *     be the very same pointer as the named input (never a partial overlap).
 *   - Counts are in samples (per buffer), or in frames (one left plus one right sample) for
 *     (de)interleave.
 *   - Thread-safe: kernels keep no state.
 *   - The float kernels assume the default floating-point environment (round to nearest even,
 *     no flush-to-zero); under another rounding mode the levels may disagree.
 */

enum vox_simd_level {
    VOX_SIMD_SCALAR = 0, /* portable C, the reference */
    VOX_SIMD_SSE2 = 1,   /* x86-64 baseline */
    VOX_SIMD_AVX2 = 2,   /* x86-64 with AVX2, detected at run time */
    VOX_SIMD_NEON = 3,   /* AArch64 Advanced SIMD (baseline there) */
};
#define VOX_SIMD_LEVEL_COUNT 4

/*
 * Gains are signed Q4.12 fixed point in an int16: gain = gain_q12 / 4096, so the range is
 * [-8.0, +7.99976] (about +18.06 dB at most) in steps of 1/4096; 4096 is unity, negative gains
 * invert the phase.
 */
#define VOX_SIMD_GAIN_SHIFT 12
#define VOX_SIMD_GAIN_UNITY 4096

/* The table of one level: its name and one function pointer per kernel. */
struct vox_simd_ops {
    const char *name;          /* "scalar", "sse2", "avx2", "neon" */
    enum vox_simd_level level; /* the same, as the enum */

    /* out[i] = sat16((in[i] * gain_q12 + 2048) >> 12), computed in 32-bit integers with an
     * arithmetic (flooring) shift: the gain rounded half up (towards +infinity), then
     * saturated to [-32768, 32767]. In place (out == in) allowed. */
    void (*gain)(const int16_t *in, int16_t *out, size_t samples, int16_t gain_q12);
    /* out[i] = sat16(a[i] + b[i]): saturating add. In place (out == a or out == b) allowed. */
    void (*mix)(const int16_t *a, const int16_t *b, int16_t *out, size_t samples);
    /* The exact sum of in[i]^2 over the buffer. Each square is at most 2^30, so the sum cannot
     * overflow for samples <= 2^34 - 1 (17,179,869,183); beyond that it wraps modulo 2^64 (the
     * same on every level). */
    uint64_t (*sum_squares)(const int16_t *in, size_t samples);
    /* out[i] = in[i] / 32768.0f (exact: [-1.0, 0.99997]). */
    void (*s16_to_f32)(const int16_t *in, float *out, size_t samples);
    /* out[i] = in[i] * 32768 rounded to the nearest integer, ties to even (as lrintf and
     * cvtps2dq do in the default mode), saturated to [-32768, 32767]; NaN (any sign or
     * payload) gives 0, +inf 32767, -inf -32768. So 1.0 gives 32767 and -1.0 gives -32768. */
    void (*f32_to_s16)(const float *in, int16_t *out, size_t samples);
    /* out[2i] = left[i], out[2i + 1] = right[i] for i < frames (out holds 2 x frames). */
    void (*interleave)(const int16_t *left, const int16_t *right, int16_t *out, size_t frames);
    /* left[i] = in[2i], right[i] = in[2i + 1] for i < frames (in holds 2 x frames). */
    void (*deinterleave)(const int16_t *in, int16_t *left, int16_t *right, size_t frames);
};

/*
 * The table in use: the best level this build has and this CPU runs (avx2, else sse2 on
 * x86-64; neon on AArch64; scalar elsewhere), chosen once, at the first call of any function of
 * this header, then never again (a function-pointer table: no detection per call).
 *
 * The environment variable VOX_SIMD=scalar|sse2|avx2|neon (case-insensitive; read once, at
 * that first call) selects a level instead, to compare levels or to rule one out. A value
 * that is not a level name, or names a level that this build or CPU lacks, is reported once
 * on stderr ("voxbench: VOX_SIMD=...") and the best level is used; empty means unset.
 * Never NULL. Thread-safe.
 */
const struct vox_simd_ops *vox_simd(void);

/*
 * The table of `level`, or NULL when that level is not compiled into this build or this CPU
 * cannot run it (VOX_SIMD plays no part here). Scalar is always available. Thread-safe.
 */
const struct vox_simd_ops *vox_simd_ops_for(enum vox_simd_level level);

/* The name of a level ("scalar", "sse2", "avx2", "neon"), or "unknown" when out of range. */
const char *vox_simd_level_name(enum vox_simd_level level);

/* Finds a level by name (case-insensitive). Returns 0, or VOX_EUNKNOWN_BACKEND for a name that
 * is not a level (whether or not the level is available: see vox_simd_ops_for). */
int vox_simd_level_parse(const char *name, enum vox_simd_level *out);

/* ---- the kernels of vox_simd(), for callers that do not hold a table ------------------------ */

void vox_simd_gain(const int16_t *in, int16_t *out, size_t samples, int16_t gain_q12);
void vox_simd_mix(const int16_t *a, const int16_t *b, int16_t *out, size_t samples);
uint64_t vox_simd_sum_squares(const int16_t *in, size_t samples);
void vox_simd_s16_to_f32(const int16_t *in, float *out, size_t samples);
void vox_simd_f32_to_s16(const float *in, int16_t *out, size_t samples);
void vox_simd_interleave(const int16_t *left, const int16_t *right, int16_t *out, size_t frames);
void vox_simd_deinterleave(const int16_t *in, int16_t *left, int16_t *right, size_t frames);

/* RMS of a buffer in sample units (0 to 32768): vox_simd_rms_from_sum of its sum of squares. */
double vox_simd_rms(const int16_t *in, size_t samples);

/* sqrt((double)sum_squares / (double)samples), 0.0 when samples is 0. The one place RMS is
 * computed, so an RMS is the same whichever level summed the squares. */
double vox_simd_rms_from_sum(uint64_t sum_squares, size_t samples);

/* ---- gain helpers -----------------------------------------------------------------------------
 */

/*
 * A linear gain in Q4.12: round(gain * 4096), ties away from zero, saturated to
 * [-32768, 32767] (so gains >= 7.99976 give 32767, <= -8.0 give -32768); NaN gives 0.
 */
int16_t vox_simd_gain_q12_from_linear(double gain);

/*
 * A gain in decibels (20 log10) in Q4.12: vox_simd_gain_q12_from_linear(10^(db / 20)). So 0 dB
 * is 4096, +6.02 dB 8192; above +18.06 dB saturates to 32767; below about -78.3 dB (and -inf)
 * gives 0; NaN gives 0. Always non-negative.
 */
int16_t vox_simd_gain_q12_from_db(double db);

#ifdef __cplusplus
}
#endif

#endif /* VOX_SIMD_H */
