/* SPDX-License-Identifier: MIT */
/* SIMD kernel micro benchmarks: every kernel at every level this CPU runs, in samples/s. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "micro.h"
#include "vox/simd.h"

/*
 * "simd/<kernel>/<level>/<samples>": one iteration is one kernel call on a buffer of 160
 * samples (20 ms at 8 kHz) or 4096 samples, timed in batches of 16 calls so that the clock is
 * read once per batch. items/s counts samples (frames for (de)interleave, i.e. samples per
 * channel); buffers are 64-byte aligned and hold a speech-like signal at about -12 dBFS, so
 * that gain (x1.5) and mix saturate rarely, as in a call. The kernels are called through the
 * table, from another translation unit: the compiler cannot drop or hoist the work, and
 * vox_gb_do_not_optimize() after each call keeps the stores.
 */
#define BATCH       16
#define MAX_SAMPLES 4096

enum kernel { GAIN, MIX, RMS, S16_TO_F32, F32_TO_S16, INTERLEAVE, DEINTERLEAVE, KERNEL_COUNT };
static const char *const kernel_names[KERNEL_COUNT] = {
    "gain", "mix", "rms", "s16_to_f32", "f32_to_s16", "interleave", "deinterleave"};

struct simd_ctx {
    const struct vox_simd_ops *ops;
};

static struct simd_ctx sctx[VOX_SIMD_LEVEL_COUNT];

/* Inputs a, b (mono), f (a as float), st (a and b interleaved); outputs out, out2, fout. */
static int16_t *a, *b, *st_in, *out, *out2;
static float *f, *fout;

static void bm_gain(struct vox_gb_state *st, void *v)
{
    const struct vox_simd_ops *o = ((const struct simd_ctx *)v)->ops;
    size_t n = (size_t)vox_gb_range_arg(st, 0);
    const int64_t batch = vox_gb_batch(st, BATCH);
    int64_t i;

    while (vox_gb_keep_running_batch(st, batch)) {
        for (i = 0; i < batch; i++) {
            o->gain(a, out, n, 6144);
            vox_gb_do_not_optimize(out);
        }
    }
    vox_gb_set_items_processed(st, vox_gb_max_iterations(st) * (int64_t)n);
}

static void bm_mix(struct vox_gb_state *st, void *v)
{
    const struct vox_simd_ops *o = ((const struct simd_ctx *)v)->ops;
    size_t n = (size_t)vox_gb_range_arg(st, 0);
    const int64_t batch = vox_gb_batch(st, BATCH);
    int64_t i;

    while (vox_gb_keep_running_batch(st, batch)) {
        for (i = 0; i < batch; i++) {
            o->mix(a, b, out, n);
            vox_gb_do_not_optimize(out);
        }
    }
    vox_gb_set_items_processed(st, vox_gb_max_iterations(st) * (int64_t)n);
}

static void bm_rms(struct vox_gb_state *st, void *v)
{
    const struct vox_simd_ops *o = ((const struct simd_ctx *)v)->ops;
    size_t n = (size_t)vox_gb_range_arg(st, 0);
    const int64_t batch = vox_gb_batch(st, BATCH);
    int64_t i;

    while (vox_gb_keep_running_batch(st, batch)) {
        for (i = 0; i < batch; i++) {
            double r = vox_simd_rms_from_sum(o->sum_squares(a, n), n);

            vox_gb_do_not_optimize(&r);
        }
    }
    vox_gb_set_items_processed(st, vox_gb_max_iterations(st) * (int64_t)n);
}

static void bm_s16_to_f32(struct vox_gb_state *st, void *v)
{
    const struct vox_simd_ops *o = ((const struct simd_ctx *)v)->ops;
    size_t n = (size_t)vox_gb_range_arg(st, 0);
    const int64_t batch = vox_gb_batch(st, BATCH);
    int64_t i;

    while (vox_gb_keep_running_batch(st, batch)) {
        for (i = 0; i < batch; i++) {
            o->s16_to_f32(a, fout, n);
            vox_gb_do_not_optimize(fout);
        }
    }
    vox_gb_set_items_processed(st, vox_gb_max_iterations(st) * (int64_t)n);
}

static void bm_f32_to_s16(struct vox_gb_state *st, void *v)
{
    const struct vox_simd_ops *o = ((const struct simd_ctx *)v)->ops;
    size_t n = (size_t)vox_gb_range_arg(st, 0);
    const int64_t batch = vox_gb_batch(st, BATCH);
    int64_t i;

    while (vox_gb_keep_running_batch(st, batch)) {
        for (i = 0; i < batch; i++) {
            o->f32_to_s16(f, out, n);
            vox_gb_do_not_optimize(out);
        }
    }
    vox_gb_set_items_processed(st, vox_gb_max_iterations(st) * (int64_t)n);
}

static void bm_interleave(struct vox_gb_state *st, void *v)
{
    const struct vox_simd_ops *o = ((const struct simd_ctx *)v)->ops;
    size_t n = (size_t)vox_gb_range_arg(st, 0);
    const int64_t batch = vox_gb_batch(st, BATCH);
    int64_t i;

    while (vox_gb_keep_running_batch(st, batch)) {
        for (i = 0; i < batch; i++) {
            o->interleave(a, b, out, n);
            vox_gb_do_not_optimize(out);
        }
    }
    vox_gb_set_items_processed(st, vox_gb_max_iterations(st) * (int64_t)n);
}

static void bm_deinterleave(struct vox_gb_state *st, void *v)
{
    const struct vox_simd_ops *o = ((const struct simd_ctx *)v)->ops;
    size_t n = (size_t)vox_gb_range_arg(st, 0);
    const int64_t batch = vox_gb_batch(st, BATCH);
    int64_t i;

    while (vox_gb_keep_running_batch(st, batch)) {
        for (i = 0; i < batch; i++) {
            o->deinterleave(st_in, out, out2, n);
            vox_gb_do_not_optimize(out);
            vox_gb_do_not_optimize(out2);
        }
    }
    vox_gb_set_items_processed(st, vox_gb_max_iterations(st) * (int64_t)n);
}

static const vox_gb_fn kernel_fns[KERNEL_COUNT] = {
    bm_gain, bm_mix, bm_rms, bm_s16_to_f32, bm_f32_to_s16, bm_interleave, bm_deinterleave};

static void *alloc64(size_t bytes)
{
    return aligned_alloc(64, (bytes + 63) & ~(size_t)63);
}

int vox_micro_simd_register(const struct vox_micro_opts *opts)
{
    uint64_t noise = 0x2545f4914f6cdd1dull;
    char name[128];
    size_t i;
    int k, l;

    a = alloc64(MAX_SAMPLES * sizeof(*a));
    b = alloc64(MAX_SAMPLES * sizeof(*b));
    st_in = alloc64(2 * MAX_SAMPLES * sizeof(*st_in));
    out = alloc64(2 * MAX_SAMPLES * sizeof(*out));
    out2 = alloc64(MAX_SAMPLES * sizeof(*out2));
    f = alloc64(MAX_SAMPLES * sizeof(*f));
    fout = alloc64(MAX_SAMPLES * sizeof(*fout));
    if (!a || !b || !st_in || !out || !out2 || !f || !fout) {
        fprintf(stderr, "voxbench-micro: simd: out of memory\n");
        return VOX_ENOMEM;
    }
    /* Two tones plus a little noise, peaks near -12 dBFS. */
    for (i = 0; i < MAX_SAMPLES; i++) {
        double t = (double)i / 8000.0;

        noise ^= noise << 13;
        noise ^= noise >> 7;
        noise ^= noise << 17;
        a[i] = (int16_t)(5000.0 * sin(2 * M_PI * 440.0 * t) + 2500.0 * sin(2 * M_PI * 1230.0 * t) +
                         (double)(int)(noise % 801) - 400.0);
        b[i] = (int16_t)(6000.0 * sin(2 * M_PI * 300.0 * t + 1.0));
    }
    vox_simd_ops_for(VOX_SIMD_SCALAR)->s16_to_f32(a, f, MAX_SAMPLES);
    vox_simd_ops_for(VOX_SIMD_SCALAR)->interleave(a, b, st_in, MAX_SAMPLES);

    for (l = 0; l < VOX_SIMD_LEVEL_COUNT; l++)
        sctx[l].ops = vox_simd_ops_for((enum vox_simd_level)l);
    for (k = 0; k < KERNEL_COUNT; k++) {
        for (l = 0; l < VOX_SIMD_LEVEL_COUNT; l++) {
            struct vox_gb_bench *bench;

            if (!sctx[l].ops)
                continue; /* not in this build, or not on this CPU */
            snprintf(name, sizeof(name), "simd/%s/%s", kernel_names[k], sctx[l].ops->name);
            bench = vox_gb_register(name, kernel_fns[k], &sctx[l]);
            vox_gb_arg(bench, 160);
            vox_gb_arg(bench, MAX_SAMPLES);
            vox_micro_timing(bench, opts);
        }
    }
    return 0;
}

void vox_micro_simd_cleanup(void)
{
    free(a);
    free(b);
    free(st_in);
    free(out);
    free(out2);
    free(f);
    free(fout);
    a = b = st_in = out = out2 = NULL;
    f = fout = NULL;
}
