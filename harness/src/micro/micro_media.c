/* SPDX-License-Identifier: MIT */
/* Media micro benchmarks: frame handling approaches, frame pool vs fresh, G.711, Opus. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "micro.h"
#include "vox/frame.h"
#include "vox/g711.h"
#include "vox/opus_codec.h"
#include "vox/simd.h"

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

/* A gain of 1.5 (Q4.12) with saturation: the same kernel (vox_simd, best level) in every arm. */
#define GAIN_Q12 6144

static void gain(const int16_t *in, int16_t *out, size_t n)
{
    vox_simd_gain(in, out, n, GAIN_Q12);
}

static void bm_frame(struct vox_gb_state *st, void *v)
{
    struct frame_ctx *c = v;
    const struct vox_frame *src = &c->source;
    const int64_t batch = vox_gb_batch(st, BATCH);
    int64_t i;

    while (vox_gb_keep_running_batch(st, batch)) {
        for (i = 0; i < batch; i++) {
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

/* ---- 3-stage pipeline: decode -> gain -> mix ------------------------------------------------ */

/*
 * The Rust media core's pipeline table (500 frames, copy vs zero-copy). Per frame: stage 1
 * decodes a 160-byte µ-law packet into a frame, stage 2 applies a gain, stage 3 mixes in the
 * other party's frame (saturating add); each stage hands the frame to the next.
 *   copy:     every hand-over is a deep copy into a fresh frame (a pipeline of owned buffers);
 *   zerocopy: hand-overs pass a reference (clone + release) and stages write in place (the
 *             frame is unshared, so make_writable copies nothing); stage 1 allocates fresh;
 *   pooled:   zerocopy, with stage 1 taking its frame from a frame pool.
 * The sample work (decode, gain, mix) is the same in every arm; one iteration = 500 frames.
 */
#define PIPE_FRAMES 500

enum pipe_arm { PIPE_COPY, PIPE_ZEROCOPY, PIPE_POOLED };
static const char *const pipe_names[] = {"copy", "zerocopy", "pooled"};

struct pipe_ctx {
    struct vox_allocator *alloc;
    struct vox_frame_pool *pool;
    struct vox_frame other; /* the far end, mixed in at stage 3 */
    uint8_t packet[160];
    enum pipe_arm arm;
};

static struct pipe_ctx pctx[3];

/* Hands `f` to the next stage: a deep copy (copy arm) or the reference itself. */
static int hand_over(const struct pipe_ctx *c, struct vox_frame *f)
{
    struct vox_frame next;
    int rc;

    if (c->arm == PIPE_COPY)
        rc = vox_frame_copy(c->alloc, f, &next);
    else
        rc = (vox_frame_clone(f, &next), 0);
    vox_frame_release(f);
    *f = next;
    return rc ? rc : vox_frame_make_writable(c->alloc, f);
}

static void bm_pipeline(struct vox_gb_state *st, void *v)
{
    struct pipe_ctx *c = v;
    int i;

    while (vox_gb_keep_running(st)) {
        for (i = 0; i < PIPE_FRAMES; i++) {
            struct vox_frame f = {0};
            int rc = c->arm == PIPE_POOLED ? vox_frame_pool_get(c->pool, &f)
                                           : vox_frame_alloc(c->alloc, 8000, 1, 160, &f);

            if (rc == 0) {
                vox_g711_ulaw_decode(c->packet, f.data, 160);
                rc = hand_over(c, &f);
            }
            if (rc == 0) {
                gain(f.data, f.data, 160);
                rc = hand_over(c, &f);
            }
            if (rc) {
                vox_frame_release(&f);
                vox_gb_skip_with_error(st, "frame allocation failed");
                return;
            }
            vox_simd_mix(f.data, c->other.data, f.data, 160);
            vox_gb_do_not_optimize(f.data);
            vox_frame_release(&f);
        }
    }
    vox_gb_set_items_processed(st, vox_gb_max_iterations(st) * PIPE_FRAMES);
}

static int pipeline_prepare(const struct vox_micro_opts *opts, struct vox_diag *diag)
{
    struct vox_frame_pool_config pc = {
        .rate_hz = 8000, .channels = 1, .samples = 160, .initial = 16, .max = 64};
    char name[64];
    int a, i;

    for (a = 0; a < 3; a++) {
        struct pipe_ctx *c = &pctx[a];

        c->arm = (enum pipe_arm)a;
        c->alloc = media_alloc;
        pc.alloc = media_alloc;
        if (vox_frame_pool_create(&pc, &c->pool, diag) != 0 ||
            vox_frame_alloc(media_alloc, 8000, 1, 160, &c->other) != 0)
            return VOX_ENOMEM;
        for (i = 0; i < 160; i++) {
            c->packet[i] = (uint8_t)(i * 37 + 11);
            c->other.data[i] = (int16_t)(3000.0 * sin(2 * M_PI * 300.0 * i / 8000));
        }
        snprintf(name, sizeof(name), "pipeline/%s", pipe_names[a]);
        vox_micro_timing(vox_gb_unit(vox_gb_register(name, bm_pipeline, c), VOX_GB_US), opts);
    }
    return 0;
}

/* ---- G.711: samples per second, in frame-sized calls ------------------------------------------
 */

/*
 * One iteration codes one second of 8 kHz audio (8000 samples) in 50 calls of 160 samples, as
 * an RTP path does. The signal is speech-like (two tones and noise, all amplitudes), so the
 * encoder sees every segment and both signs; items = samples.
 */
#define G711_SAMPLES 8000
#define G711_FRAME   160

enum g711_op { ULAW_ENC, ALAW_ENC, ULAW_DEC, ALAW_DEC };

static int16_t g711_pcm[G711_SAMPLES];
static uint8_t g711_codes[2][G711_SAMPLES];
static const enum g711_op g711_ops[4] = {ULAW_ENC, ALAW_ENC, ULAW_DEC, ALAW_DEC};

static void g711_prepare(void)
{
    uint32_t seed = 12345;
    int i;

    for (i = 0; i < G711_SAMPLES; i++) {
        double env = 0.5 + 0.5 * sin(2 * M_PI * 3.0 * i / 8000); /* syllable-rate envelope */

        seed = seed * 1664525u + 1013904223u;
        g711_pcm[i] = (int16_t)(env * (14000.0 * sin(2 * M_PI * 440.0 * i / 8000) +
                                       6000.0 * sin(2 * M_PI * 1330.0 * i / 8000)) +
                                (double)(int16_t)(seed >> 16) / 16.0);
    }
    vox_g711_ulaw_encode(g711_pcm, g711_codes[0], G711_SAMPLES);
    vox_g711_alaw_encode(g711_pcm, g711_codes[1], G711_SAMPLES);
}

static void bm_g711(struct vox_gb_state *st, void *v)
{
    enum g711_op op = *(const enum g711_op *)v;
    uint8_t codes[G711_SAMPLES];
    int16_t pcm[G711_SAMPLES];
    int i;

    while (vox_gb_keep_running(st)) {
        for (i = 0; i < G711_SAMPLES; i += G711_FRAME) {
            switch (op) {
            case ULAW_ENC:
                vox_g711_ulaw_encode(g711_pcm + i, codes + i, G711_FRAME);
                break;
            case ALAW_ENC:
                vox_g711_alaw_encode(g711_pcm + i, codes + i, G711_FRAME);
                break;
            case ULAW_DEC:
                vox_g711_ulaw_decode(g711_codes[0] + i, pcm + i, G711_FRAME);
                break;
            case ALAW_DEC:
                vox_g711_alaw_decode(g711_codes[1] + i, pcm + i, G711_FRAME);
                break;
            }
        }
        vox_gb_do_not_optimize(codes);
        vox_gb_do_not_optimize(pcm);
        vox_gb_clobber_memory();
    }
    vox_gb_set_items_processed(st, vox_gb_max_iterations(st) * G711_SAMPLES);
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
    rc = pipeline_prepare(opts, &diag);
    if (rc) {
        fprintf(stderr, "voxbench-micro: pipeline: %s\n",
                diag.text[0] ? diag.text : "out of memory");
        return rc;
    }
    g711_prepare();
    for (s = 0; s < 4; s++) {
        static const char *const names[4] = {"g711/encode/ulaw", "g711/encode/alaw",
                                             "g711/decode/ulaw", "g711/decode/alaw"};

        vox_micro_timing(
            vox_gb_unit(vox_gb_register(names[s], bm_g711, (void *)&g711_ops[s]), VOX_GB_US), opts);
    }
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
    for (a = 0; a < 3; a++) {
        vox_frame_release(&pctx[a].other);
        vox_frame_pool_destroy(pctx[a].pool);
        pctx[a].pool = NULL;
    }
    vox_allocator_destroy(media_alloc);
    media_alloc = NULL;
}
