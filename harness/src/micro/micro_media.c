/* SPDX-License-Identifier: MIT */
/* Media micro benchmarks: frame handling approaches, frame pool vs fresh, Opus per frame. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "micro.h"
#include "vox/frame.h"
#include "vox/opus_codec.h"

/*
 * The Rust media core's frame table, with equal work in every arm (its "pooled" arm did no
 * sample work at all; shared/research/stt_media.md). One operation = take an input frame,
 * apply a gain into an output frame, let both go:
 *   traditional: the input is deep-copied (as a copying pipeline hands frames on) and the
 *                output freshly allocated;
 *   zerocopy:    the input is a reference to the source (clone) and the output freshly
 *                allocated;
 *   pooled:      the input is a clone and the output comes from a frame pool.
 * Small frames are 160 samples mono (20 ms at 8 kHz), large 320 samples stereo (20 ms at
 * 16 kHz, 2 channels), as in the guide. Timed in batches of 100 operations, so the clock is
 * read once per 100.
 */
#define BATCH 100

enum approach { TRADITIONAL, ZEROCOPY, POOLED };
static const char *const approach_names[] = {"traditional", "zerocopy", "pooled"};

struct frame_ctx {
    struct vox_allocator *alloc;
    struct vox_frame source;
    struct vox_frame_pool *pool;
    enum approach approach;
};

static struct frame_ctx fctx[2][3];
static struct vox_allocator *media_alloc;

/* A Q14 gain of 1.5 with saturation: the same arithmetic in every arm. */
static void gain(const int16_t *in, int16_t *out, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        int32_t y = ((int32_t)in[i] * 24576 + 8192) >> 14;

        out[i] = (int16_t)(y > 32767 ? 32767 : y < -32768 ? -32768 : y);
    }
}

static void bm_frame(struct vox_gb_state *st, void *v)
{
    struct frame_ctx *c = v;
    const struct vox_frame *src = &c->source;
    int i;

    while (vox_gb_keep_running_batch(st, BATCH)) {
        for (i = 0; i < BATCH; i++) {
            struct vox_frame in, out;
            int rc;

            if (c->approach == TRADITIONAL)
                rc = vox_frame_copy(c->alloc, src, &in);
            else
                rc = (vox_frame_clone(src, &in), 0);
            if (rc == 0)
                rc = c->approach == POOLED ? vox_frame_pool_get(c->pool, &out)
                                           : vox_frame_alloc(c->alloc, src->rate_hz, src->channels,
                                                             src->samples, &out);
            if (rc) {
                vox_gb_skip_with_error(st, "frame allocation failed");
                return;
            }
            gain(in.data, out.data, vox_frame_values(&in));
            vox_gb_do_not_optimize(out.data);
            vox_frame_release(&in);
            vox_frame_release(&out);
        }
    }
    vox_gb_set_items_processed(st, vox_gb_max_iterations(st));
}

/*
 * Pool vs fresh, the guide's second table: 1000 frames, each obtained, written and released
 * in turn (the guide's loop pops and pushes one frame at a time; holding 1000 at once would
 * only measure a 64-frame pool overflowing). "clone" takes a zero-copy reference to a source
 * frame instead: the cost of vox_frame_clone + vox_frame_release.
 */
static void bm_churn1000(struct vox_gb_state *st, void *v)
{
    struct frame_ctx *c = v;
    int i;

    while (vox_gb_keep_running(st)) {
        for (i = 0; i < 1000; i++) {
            struct vox_frame f;
            int rc = c->approach == POOLED     ? vox_frame_pool_get(c->pool, &f)
                     : c->approach == ZEROCOPY ? (vox_frame_clone(&c->source, &f), 0)
                                               : vox_frame_alloc(c->alloc, 8000, 1, 160, &f);

            if (rc) {
                vox_gb_skip_with_error(st, "frame allocation failed");
                return;
            }
            /* A clone is read, never written: its storage is shared. */
            if (c->approach != ZEROCOPY)
                f.data[0] = (int16_t)i;
            vox_gb_do_not_optimize(f.data);
            vox_frame_release(&f);
        }
    }
    vox_gb_set_items_processed(st, vox_gb_max_iterations(st) * 1000);
}

/* ---- Opus: cost of one 20 ms frame ----------------------------------------------------------- */

struct opus_ctx {
    uint32_t rate_hz;
    int16_t pcm[960];
    uint8_t pkt[1500];
    int pkt_len;
};

static struct opus_ctx octx[3];

static void bm_opus_encode(struct vox_gb_state *st, void *v)
{
    struct opus_ctx *c = v;
    struct vox_opus_enc *e;
    uint32_t frame = c->rate_hz / 50;

    if (vox_opus_encoder_create(c->rate_hz, 1, 24000, &e, NULL) != 0) {
        vox_gb_skip_with_error(st, "encoder");
        return;
    }
    while (vox_gb_keep_running(st)) {
        int n = vox_opus_encode(e, c->pcm, frame, c->pkt, sizeof(c->pkt));

        vox_gb_do_not_optimize(&n);
    }
    vox_gb_set_items_processed(st, vox_gb_max_iterations(st));
    vox_opus_encoder_destroy(e);
}

static void bm_opus_decode(struct vox_gb_state *st, void *v)
{
    struct opus_ctx *c = v;
    struct vox_opus_dec *d;
    int16_t out[960];
    uint32_t frame = c->rate_hz / 50;

    if (vox_opus_decoder_create(c->rate_hz, 1, &d, NULL) != 0) {
        vox_gb_skip_with_error(st, "decoder");
        return;
    }
    while (vox_gb_keep_running(st)) {
        int n = vox_opus_decode(d, c->pkt, (size_t)c->pkt_len, out, frame);

        vox_gb_do_not_optimize(&n);
        vox_gb_do_not_optimize(out);
    }
    vox_gb_set_items_processed(st, vox_gb_max_iterations(st));
    vox_opus_decoder_destroy(d);
}

static int opus_prepare(struct opus_ctx *c, uint32_t rate)
{
    struct vox_opus_enc *e;
    uint32_t i, frame = rate / 50;

    c->rate_hz = rate;
    for (i = 0; i < frame; i++)
        c->pcm[i] = (int16_t)(4000.0 * sin(2 * M_PI * 440.0 * i / rate));
    if (vox_opus_encoder_create(rate, 1, 24000, &e, NULL) != 0)
        return -1;
    c->pkt_len = vox_opus_encode(e, c->pcm, frame, c->pkt, sizeof(c->pkt));
    vox_opus_encoder_destroy(e);
    return c->pkt_len > 0 ? 0 : -1;
}

int vox_micro_media_register(const struct vox_micro_opts *opts)
{
    static const struct {
        const char *name;
        uint32_t rate, samples;
        uint16_t channels;
    } shapes[2] = {{"small", 8000, 160, 1}, {"large", 16000, 320, 2}};
    static const uint32_t rates[3] = {8000, 16000, 48000};
    struct vox_diag diag = {{0}};
    char name[128];
    int s, a, rc;

    /* Frames come from the first allocator of the run (--alloc). */
    rc = vox_allocator_create(opts->allocs.names[0], NULL, &media_alloc, &diag);
    if (rc) {
        fprintf(stderr, "voxbench-micro: %s\n", diag.text);
        return rc;
    }
    for (s = 0; s < 2; s++) {
        for (a = 0; a < 3; a++) {
            struct frame_ctx *c = &fctx[s][a];
            struct vox_frame_pool_config pc = {.rate_hz = shapes[s].rate,
                                               .channels = shapes[s].channels,
                                               .samples = shapes[s].samples,
                                               .initial = 16,
                                               .max = 64,
                                               .alloc = media_alloc};

            c->alloc = media_alloc;
            c->approach = (enum approach)a;
            if (vox_frame_alloc(media_alloc, shapes[s].rate, shapes[s].channels, shapes[s].samples,
                                &c->source) != 0 ||
                vox_frame_pool_create(&pc, &c->pool, &diag) != 0) {
                fprintf(stderr, "voxbench-micro: frames: %s\n",
                        diag.text[0] ? diag.text : "out of memory");
                return VOX_ENOMEM;
            }
            memset(c->source.data, 0x11, vox_frame_values(&c->source) * sizeof(int16_t));
            snprintf(name, sizeof(name), "frame/%s/%s", shapes[s].name, approach_names[a]);
            vox_micro_timing(vox_gb_register(name, bm_frame, c), opts);
        }
    }
    vox_micro_timing(
        vox_gb_unit(vox_gb_register("frame/churn1000/fresh", bm_churn1000, &fctx[0][TRADITIONAL]),
                    VOX_GB_US),
        opts);
    vox_micro_timing(
        vox_gb_unit(vox_gb_register("frame/churn1000/pooled", bm_churn1000, &fctx[0][POOLED]),
                    VOX_GB_US),
        opts);
    vox_micro_timing(
        vox_gb_unit(vox_gb_register("frame/churn1000/clone", bm_churn1000, &fctx[0][ZEROCOPY]),
                    VOX_GB_US),
        opts);
    for (s = 0; s < 3; s++) {
        if (opus_prepare(&octx[s], rates[s]) != 0) {
            fprintf(stderr, "voxbench-micro: opus: cannot encode a test frame at %u Hz\n",
                    rates[s]);
            return VOX_EIO;
        }
        snprintf(name, sizeof(name), "opus/encode/%u", rates[s]);
        vox_micro_timing(vox_gb_unit(vox_gb_register(name, bm_opus_encode, &octx[s]), VOX_GB_US),
                         opts);
        snprintf(name, sizeof(name), "opus/decode/%u", rates[s]);
        vox_micro_timing(vox_gb_unit(vox_gb_register(name, bm_opus_decode, &octx[s]), VOX_GB_US),
                         opts);
    }
    return 0;
}

void vox_micro_media_cleanup(void)
{
    int s, a;

    for (s = 0; s < 2; s++)
        for (a = 0; a < 3; a++) {
            vox_frame_release(&fctx[s][a].source);
            vox_frame_pool_destroy(fctx[s][a].pool);
            fctx[s][a].pool = NULL;
        }
    vox_allocator_destroy(media_alloc);
    media_alloc = NULL;
}
