/* SPDX-License-Identifier: MIT */
/* libFuzzer target: RTP parse -> build -> parse (views and bytes must agree), RFC 8285 elements,
 * RFC 4733 events, and the parsed packet driven through a jitter buffer and the RFC 3550 A.1
 * state by a schedule read from the input (abort() on any inconsistency). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vox/jitter.h"
#include "vox/rtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_rtp: check failed at line %d: %s\n", __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void same_view(const struct vox_rtp_view *a, const struct vox_rtp_view *b)
{
    unsigned i;

    CHECK(a->version == b->version && a->padding == b->padding);
    CHECK(a->extension == b->extension && a->csrc_count == b->csrc_count);
    CHECK(a->marker == b->marker && a->payload_type == b->payload_type);
    CHECK(a->seq == b->seq && a->timestamp == b->timestamp && a->ssrc == b->ssrc);
    for (i = 0; i < a->csrc_count; i++)
        CHECK(a->csrc[i] == b->csrc[i]);
    CHECK(a->ext_profile == b->ext_profile && a->ext_len_bytes == b->ext_len_bytes);
    CHECK(!a->ext_len_bytes || !memcmp(a->ext_data, b->ext_data, a->ext_len_bytes));
    CHECK(a->payload_len_bytes == b->payload_len_bytes);
    CHECK(!a->payload_len_bytes || !memcmp(a->payload, b->payload, a->payload_len_bytes));
    CHECK(a->padding_len_bytes == b->padding_len_bytes);
}

static void ext_elements(const struct vox_rtp_view *v)
{
    struct vox_rtp_ext_iter it;
    struct vox_rtp_ext_elem e;
    size_t count = 0;
    int rc;

    vox_rtp_ext_iter_init(&it, v);
    while ((rc = vox_rtp_ext_next(&it, &e, NULL)) == 1) {
        CHECK(e.data >= v->ext_data && e.data + e.len_bytes <= v->ext_data + v->ext_len_bytes);
        CHECK(++count <= v->ext_len_bytes);
    }
    CHECK(rc == 0 || rc == VOX_EMALFORMED);
    CHECK(vox_rtp_ext_next(&it, &e, NULL) == 0); /* stays at the end */
}

static void telephone_event(const struct vox_rtp_view *v)
{
    struct vox_rtp_event ev;
    uint8_t b[4];
    int rc = vox_rtp_event_from_packet(v, v->payload_type, &ev, NULL);

    if (v->payload_len_bytes < VOX_RTP_EVENT_BYTES) {
        CHECK(rc == VOX_EINCOMPLETE);
        return;
    }
    CHECK(rc == 1);
    CHECK(ev.volume <= 63);
    CHECK((vox_rtp_event_name(ev.event) != NULL) == (ev.event <= VOX_RTP_EVENT_FLASH));
    CHECK(vox_rtp_event_build(&ev, b, sizeof(b)) == 4);
    CHECK(!memcmp(b, v->payload, 4));
    CHECK(vox_rtp_event_from_packet(v, (uint8_t)(v->payload_type ^ 1), &ev, NULL) == 0);
}

/* What the pops have seen so far. */
struct playout {
    struct vox_jitter *jb;
    const struct vox_rtp_view *v; /* every packet pushed carries this one's payload */
    bool have_last;
    uint16_t last;
    uint64_t resyncs;
};

/*
 * Pops until the buffer has nothing for `mode` (the first pop of a DEADLINE round is forced,
 * the rest WAIT). Checks that every item follows the previous one plus the positions skipped
 * before it, and that payloads and timestamps come back intact.
 */
static void pop_all(struct playout *pl, enum vox_jitter_pop_mode mode)
{
    struct vox_jitter_packet p;
    struct vox_jitter_stats s;
    unsigned guard;
    int rc;

    for (guard = 0; (rc = vox_jitter_pop(pl->jb, mode, &p)) != VOX_JITTER_NONE; guard++) {
        /* Each round ends within the window (depth <= 12): a hang is a bug too. */
        CHECK(guard < 64);
        CHECK(rc == VOX_JITTER_PACKET || rc == VOX_JITTER_LOST);
        vox_jitter_stats(pl->jb, &s);
        if (pl->have_last && s.resyncs == pl->resyncs)
            CHECK(p.seq == (uint16_t)(pl->last + 1 + p.skipped_before));
        pl->resyncs = s.resyncs;
        pl->have_last = true;
        pl->last = p.seq;
        if (rc == VOX_JITTER_PACKET) {
            CHECK(p.payload_len_bytes == pl->v->payload_len_bytes);
            CHECK(!p.payload_len_bytes || !memcmp(p.payload, pl->v->payload, p.payload_len_bytes));
            CHECK(p.timestamp == pl->v->timestamp + 160u * p.seq);
        } else {
            CHECK(!p.payload && !p.payload_len_bytes);
        }
        if (mode == VOX_JITTER_DEADLINE)
            mode = VOX_JITTER_WAIT;
    }
}

/*
 * The input bytes are also a schedule: each one pushes the parsed packet with a sequence
 * number near the running one (now and then far away), or pops in WAIT or DEADLINE mode; a
 * DRAIN ends it. The same sequence numbers feed the A.1 state. The counters must balance.
 */
static void jitter_and_source(const struct vox_rtp_view *v, const uint8_t *data, size_t size)
{
    struct vox_jitter_config cfg = {.depth_packets = 1 + v->seq % 12, .max_payload_bytes = 256};
    struct playout pl = {.v = v};
    struct vox_jitter_stats s;
    struct vox_rtp_source src;
    struct vox_rtp_report r;
    struct vox_rtp_view pkt = *v;
    uint16_t cur = v->seq;
    size_t i, n = size < 1024 ? size : 1024;

    CHECK(vox_jitter_create(&cfg, &pl.jb, NULL) == 0);
    vox_rtp_source_init(&src, v->seq);
    /* cppcheck-suppress knownConditionTrueFalse ; false positive, n is min(size, 1024) */
    for (i = 0; i < n; i++) {
        uint8_t b = data[i];
        int rc;

        if (b >= 0xc0) {
            pop_all(&pl, b >= 0xe0 ? VOX_JITTER_DEADLINE : VOX_JITTER_WAIT);
            continue;
        }
        /* push: mostly -8..+7 around the running number, sometimes a far jump */
        if ((b & 0x3f) == 0x3f)
            pkt.seq = (uint16_t)(cur + 3000 + b);
        else if ((b & 0x3f) == 0x3e)
            pkt.seq = (uint16_t)(cur - 200);
        else
            pkt.seq = (uint16_t)(cur + (b & 0x0f) - 8);
        pkt.timestamp = v->timestamp + 160u * pkt.seq;
        pkt.marker = b & 0x40;
        cur++;
        rc = vox_jitter_push(pl.jb, &pkt);
        CHECK(rc >= 0 || (rc == VOX_ERANGE && pkt.payload_len_bytes > 256));
        vox_rtp_source_update(&src, pkt.seq);
        vox_rtp_source_jitter(&src, pkt.timestamp, (uint32_t)(pkt.timestamp + b * 7u));
    }
    pop_all(&pl, VOX_JITTER_DRAIN);
    vox_jitter_stats(pl.jb, &s);
    CHECK(s.depth == 0);
    CHECK(s.received ==
          s.played + s.duplicates + s.late + s.jumps + s.overflow_drops + s.oversize + s.depth);
    CHECK(s.peak_depth <= cfg.depth_packets);
    vox_jitter_destroy(pl.jb);

    vox_rtp_source_report(&src, &r);
    CHECK(r.expected == r.ext_max - src.base_seq + 1);
    CHECK(r.lost >= -0x800000 && r.lost <= 0x7fffff);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vox_rtp_view v, w;
    struct vox_diag d = {{0}};
    uint8_t *out;
    int rc, n;

    rc = vox_rtp_parse(data, size, &v, &d);
    if (rc != 0) {
        CHECK(rc == VOX_EINCOMPLETE || rc == VOX_EMALFORMED);
        CHECK(d.text[0] != '\0');
        CHECK(!vox_rtp_is_rtcp(data, size) || rc == VOX_EMALFORMED);
        return 0;
    }
    CHECK(!vox_rtp_is_rtcp(data, size));
    CHECK(v.version == 2 && v.payload_type <= 127 && v.csrc_count <= 15);
    CHECK(v.payload >= data &&
          v.payload + v.payload_len_bytes + v.padding_len_bytes == data + size);
    CHECK(v.padding == (v.padding_len_bytes > 0));

    /* Build it again: the same bytes except the padding filler, which is written as zeros. */
    out = malloc(size);
    CHECK(out != NULL);
    n = vox_rtp_build(&v, out, size, NULL);
    CHECK(n >= 0 && (size_t)n == size);
    CHECK(!memcmp(out, data, size - v.padding_len_bytes));
    CHECK(out[size - 1] == data[size - 1]);
    CHECK(vox_rtp_build(&v, out, size - 1, NULL) == VOX_ERANGE);
    CHECK(vox_rtp_parse(out, size, &w, NULL) == 0);
    same_view(&v, &w);
    free(out);

    ext_elements(&v);
    telephone_event(&v);
    jitter_and_source(&v, data, size);
    return 0;
}
