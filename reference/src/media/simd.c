/* SPDX-License-Identifier: MIT */
/* SIMD kernels: the scalar reference level, and the one-time choice of the level in use. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "vox/simd.h"

/*
 * The backend files, compiled only where simd.cmake says (it also defines VOX_SIMD_HAVE_* for
 * this file alone). They call the scalar table for their tails, so a tail is computed by the
 * reference code itself.
 */
extern const struct vox_simd_ops vox_simd_ops_scalar;
#ifdef VOX_SIMD_HAVE_SSE2
extern const struct vox_simd_ops vox_simd_ops_sse2;
#endif
#ifdef VOX_SIMD_HAVE_AVX2
extern const struct vox_simd_ops vox_simd_ops_avx2;
#endif
#ifdef VOX_SIMD_HAVE_NEON
extern const struct vox_simd_ops vox_simd_ops_neon;
#endif

/* ---- the scalar level: the definition of every result ------------------------------------- */

static int16_t sat16(int32_t v)
{
    return (int16_t)(v > INT16_MAX ? INT16_MAX : v < INT16_MIN ? INT16_MIN : v);
}

static void gain_scalar(const int16_t *in, int16_t *out, size_t samples, int16_t gain_q12)
{
    size_t i;

    /* |in * gain| <= 2^30, so the product and the rounding term fit in int32. Right shift of a
     * negative int32 is arithmetic with gcc and clang (implementation-defined in C17). */
    for (i = 0; i < samples; i++)
        out[i] = sat16(((int32_t)in[i] * gain_q12 + (1 << (VOX_SIMD_GAIN_SHIFT - 1))) >>
                       VOX_SIMD_GAIN_SHIFT);
}

static void mix_scalar(const int16_t *a, const int16_t *b, int16_t *out, size_t samples)
{
    size_t i;

    for (i = 0; i < samples; i++)
        out[i] = sat16((int32_t)a[i] + b[i]);
}

static uint64_t sum_squares_scalar(const int16_t *in, size_t samples)
{
    uint64_t sum = 0;
    size_t i;

    for (i = 0; i < samples; i++)
        sum += (uint64_t)((int32_t)in[i] * in[i]);
    return sum;
}

static void s16_to_f32_scalar(const int16_t *in, float *out, size_t samples)
{
    size_t i;

    /* A division by a power of two: exact, and the same as the SIMD levels' multiply by
     * 2^-15. */
    for (i = 0; i < samples; i++)
        out[i] = (float)in[i] / 32768.0f;
}

static int16_t f32_to_s16_one(float x)
{
    float y = x * 32768.0f; /* exact (or +-inf): a power of two */

    if (y != y) /* NaN */
        return 0;
    /* Clamping before rounding gives the same as rounding then saturating: both are monotonic
     * and the bounds are integers. In range, lrintf cannot overflow. */
    if (y >= 32767.0f)
        return INT16_MAX;
    if (y <= -32768.0f)
        return INT16_MIN;
    return (int16_t)lrintf(y); /* the current rounding mode: ties to even by default */
}

static void f32_to_s16_scalar(const float *in, int16_t *out, size_t samples)
{
    size_t i;

    for (i = 0; i < samples; i++)
        out[i] = f32_to_s16_one(in[i]);
}

static void interleave_scalar(const int16_t *left, const int16_t *right, int16_t *out,
                              size_t frames)
{
    size_t i;

    for (i = 0; i < frames; i++) {
        out[2 * i] = left[i];
        out[2 * i + 1] = right[i];
    }
}

static void deinterleave_scalar(const int16_t *in, int16_t *left, int16_t *right, size_t frames)
{
    size_t i;

    for (i = 0; i < frames; i++) {
        left[i] = in[2 * i];
        right[i] = in[2 * i + 1];
    }
}

const struct vox_simd_ops vox_simd_ops_scalar = {
    .name = "scalar",
    .level = VOX_SIMD_SCALAR,
    .gain = gain_scalar,
    .mix = mix_scalar,
    .sum_squares = sum_squares_scalar,
    .s16_to_f32 = s16_to_f32_scalar,
    .f32_to_s16 = f32_to_s16_scalar,
    .interleave = interleave_scalar,
    .deinterleave = deinterleave_scalar,
};

/* ---- dispatch ----------------------------------------------------------------------------- */

static const char *const level_names[VOX_SIMD_LEVEL_COUNT] = {"scalar", "sse2", "avx2", "neon"};

/* Filled once by choose(): the levels this build has and this CPU runs, and the one in use. */
static pthread_once_t choose_once = PTHREAD_ONCE_INIT;
static const struct vox_simd_ops *supported[VOX_SIMD_LEVEL_COUNT];
static _Atomic(const struct vox_simd_ops *) active;

static void detect(void)
{
    supported[VOX_SIMD_SCALAR] = &vox_simd_ops_scalar;
#ifdef VOX_SIMD_HAVE_SSE2
    supported[VOX_SIMD_SSE2] = &vox_simd_ops_sse2; /* part of x86-64 itself */
#endif
#ifdef VOX_SIMD_HAVE_AVX2
    /* libgcc's and compiler-rt's check includes the OS's saving of the YMM state (XGETBV). */
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2"))
        supported[VOX_SIMD_AVX2] = &vox_simd_ops_avx2;
#endif
#ifdef VOX_SIMD_HAVE_NEON
    supported[VOX_SIMD_NEON] = &vox_simd_ops_neon; /* mandatory in ARMv8-A (AArch64) */
#endif
}

static void choose(void)
{
    static const enum vox_simd_level preference[] = {VOX_SIMD_AVX2, VOX_SIMD_NEON, VOX_SIMD_SSE2,
                                                     VOX_SIMD_SCALAR};
    const struct vox_simd_ops *best = NULL;
    const char *env = getenv("VOX_SIMD");
    enum vox_simd_level want;
    size_t i;

    detect();
    for (i = 0; !best; i++)
        best = supported[preference[i]];
    if (env && *env) {
        if (vox_simd_level_parse(env, &want) != 0) {
            fprintf(stderr,
                    "voxbench: VOX_SIMD=%s is not a SIMD level (scalar, sse2, avx2, neon); "
                    "using %s\n",
                    env, best->name);
        } else if (!supported[want]) {
            fprintf(stderr,
                    "voxbench: VOX_SIMD=%s: level not available in this build or on this CPU; "
                    "using %s\n",
                    env, best->name);
        } else {
            best = supported[want];
        }
    }
    atomic_store_explicit(&active, best, memory_order_release);
}

static void ensure_chosen(void)
{
    pthread_once(&choose_once, choose);
}

/* The hot path: one acquire load (a plain load on x86 and a load-acquire on AArch64). */
static inline const struct vox_simd_ops *ops(void)
{
    const struct vox_simd_ops *o = atomic_load_explicit(&active, memory_order_acquire);

    if (__builtin_expect(o == NULL, 0)) {
        ensure_chosen();
        o = atomic_load_explicit(&active, memory_order_acquire);
    }
    return o;
}

const struct vox_simd_ops *vox_simd(void)
{
    return ops();
}

const struct vox_simd_ops *vox_simd_ops_for(enum vox_simd_level level)
{
    if ((unsigned)level >= VOX_SIMD_LEVEL_COUNT)
        return NULL;
    ensure_chosen();
    return supported[level];
}

const char *vox_simd_level_name(enum vox_simd_level level)
{
    return (unsigned)level < VOX_SIMD_LEVEL_COUNT ? level_names[level] : "unknown";
}

int vox_simd_level_parse(const char *name, enum vox_simd_level *out)
{
    unsigned i;

    for (i = 0; name && i < VOX_SIMD_LEVEL_COUNT; i++) {
        if (strcasecmp(name, level_names[i]) == 0) {
            *out = (enum vox_simd_level)i;
            return 0;
        }
    }
    return VOX_EUNKNOWN_BACKEND;
}

/* ---- wrappers over the level in use ------------------------------------------------------- */

void vox_simd_gain(const int16_t *in, int16_t *out, size_t samples, int16_t gain_q12)
{
    ops()->gain(in, out, samples, gain_q12);
}

void vox_simd_mix(const int16_t *a, const int16_t *b, int16_t *out, size_t samples)
{
    ops()->mix(a, b, out, samples);
}

uint64_t vox_simd_sum_squares(const int16_t *in, size_t samples)
{
    return ops()->sum_squares(in, samples);
}

void vox_simd_s16_to_f32(const int16_t *in, float *out, size_t samples)
{
    ops()->s16_to_f32(in, out, samples);
}

void vox_simd_f32_to_s16(const float *in, int16_t *out, size_t samples)
{
    ops()->f32_to_s16(in, out, samples);
}

void vox_simd_interleave(const int16_t *left, const int16_t *right, int16_t *out, size_t frames)
{
    ops()->interleave(left, right, out, frames);
}

void vox_simd_deinterleave(const int16_t *in, int16_t *left, int16_t *right, size_t frames)
{
    ops()->deinterleave(in, left, right, frames);
}

double vox_simd_rms_from_sum(uint64_t sum_squares, size_t samples)
{
    return samples ? sqrt((double)sum_squares / (double)samples) : 0.0;
}

double vox_simd_rms(const int16_t *in, size_t samples)
{
    return vox_simd_rms_from_sum(ops()->sum_squares(in, samples), samples);
}

/* ---- gain helpers ------------------------------------------------------------------------- */

int16_t vox_simd_gain_q12_from_linear(double gain)
{
    double q = gain * VOX_SIMD_GAIN_UNITY;

    if (q != q)
        return 0;
    if (q >= INT16_MAX)
        return INT16_MAX;
    if (q <= INT16_MIN)
        return INT16_MIN;
    return (int16_t)round(q);
}

int16_t vox_simd_gain_q12_from_db(double db)
{
    if (db != db)
        return 0;
    return vox_simd_gain_q12_from_linear(pow(10.0, db / 20.0));
}
