/* SPDX-License-Identifier: MIT */
/* libFuzzer target: IP defragmentation and TCP reassembly of SIP messages (capture/reasm.h).
 * The first input byte picks a mode:
 *   0  raw packets to the defragmenter (IPv4 or IPv6), small limits: counters must balance;
 *   1  a datagram built from the input, cut into fragments, fed shuffled with duplicates: the
 *      reassembled datagram must equal the original;
 *   2  raw segments on four streams (SYN/FIN/RST, seq jumps, expiry), small limits: counters
 *      must balance, every message delivered must be exactly one framed SIP message;
 *   3  a byte stream cut into segments fed shuffled with overlapping copies must give exactly
 *      the messages and counters that the same stream fed in one segment gives.
 * abort() on any inconsistency. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/reasm.h"
#include "vox/sip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_reasm: check failed at line %d: %s\n", __LINE__, #cond);         \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Reads input bytes in order; 0 once they run out. */
struct reader {
    const uint8_t *p;
    size_t n, pos;
};

static uint8_t byte(struct reader *rd)
{
    return rd->pos < rd->n ? rd->p[rd->pos++] : 0;
}

static uint16_t u16(struct reader *rd)
{
    uint16_t hi = byte(rd);

    return (uint16_t)(hi << 8 | byte(rd));
}

/* A copy of p[0..n) in a block of exactly n bytes, so that ASan sees any overread. */
static uint8_t *exact_copy(const uint8_t *p, size_t n)
{
    uint8_t *c = malloc(n ? n : 1);

    CHECK(c != NULL);
    if (n)
        memcpy(c, p, n);
    return c;
}

/* ---- defragmentation ------------------------------------------------------------------------- */

static void defrag_check(const struct vox_defrag *d, const struct vox_defrag_config *cfg)
{
    struct vox_defrag_stats s;

    vox_defrag_stats(d, &s);
    CHECK(s.fragments_in ==
          s.fragments_held + s.fragments_reassembled + s.duplicates + s.fragments_discarded);
    CHECK(s.bytes_held <= cfg->max_bytes && s.bytes_held <= s.bytes_peak);
    CHECK(s.datagrams_held <= cfg->max_datagrams);
}

static void defrag_raw(struct reader *rd)
{
    struct vox_defrag_config cfg = {8192, 8, 16, 5000, NULL};
    struct vox_defrag *d = NULL;
    uint64_t ts = 0;

    CHECK(vox_defrag_create(&cfg, &d, NULL) == 0);
    while (rd->pos + 3 <= rd->n) {
        uint8_t ctl = byte(rd);
        size_t len = u16(rd) % 2048;
        struct vox_defrag_out out;
        struct vox_diag diag = {{0}};
        uint8_t *pkt;
        int rc;

        if (len > rd->n - rd->pos)
            len = rd->n - rd->pos;
        pkt = exact_copy(rd->p + rd->pos, len);
        rd->pos += len;
        ts += (uint64_t)(ctl >> 2) * 100;
        rc = (ctl & 1) ? vox_defrag_ipv6(d, pkt, len, ts, &out, &diag)
                       : vox_defrag_ipv4(d, pkt, len, ts, &out, &diag);
        CHECK(rc == VOX_DEFRAG_HELD || rc == VOX_DEFRAG_COMPLETE || rc == VOX_DEFRAG_DROPPED);
        if (rc == VOX_DEFRAG_COMPLETE) {
            unsigned sum = 0;
            size_t i;

            CHECK(out.datagram != NULL && out.len_bytes >= 20 && out.len_bytes <= 65535 + 40);
            for (i = 0; i < out.len_bytes; i++) /* every byte must be readable */
                sum += out.datagram[i];
            (void)sum;
            CHECK((out.datagram[0] >> 4) == ((ctl & 1) ? 6 : 4));
        }
        if (rc == VOX_DEFRAG_DROPPED) {
            CHECK((unsigned)out.reason < VOX_DEFRAG_DROP__COUNT);
            CHECK(diag.text[0] != '\0');
        }
        if (ctl & 2)
            vox_defrag_expire(d, ts);
        free(pkt);
        defrag_check(d, &cfg);
    }
    vox_defrag_destroy(d);
}

/* One fragment of payload[off..off+len) of datagram `id`, as an IPv4 or IPv6 packet (with a
 * Destination Options header before the Fragment header when dopts). */
static uint8_t *build_fragment(bool v6, bool dopts, const uint8_t *payload, size_t off, size_t len,
                               bool more, uint16_t id, size_t *out_len)
{
    size_t hl = v6 ? (dopts ? 56 : 48) : 20, n = hl + len;
    uint8_t *p = calloc(1, n);

    CHECK(p != NULL);
    if (!v6) {
        uint16_t fo = (uint16_t)((more ? 0x2000 : 0) | off / 8);

        p[0] = 0x45;
        p[2] = (uint8_t)(n >> 8);
        p[3] = (uint8_t)n;
        p[4] = (uint8_t)(id >> 8);
        p[5] = (uint8_t)id;
        p[6] = (uint8_t)(fo >> 8);
        p[7] = (uint8_t)fo;
        p[8] = 64;
        p[9] = 17;
        p[12] = 10;
        p[15] = 1;
        p[16] = 10;
        p[19] = 2;
    } else {
        size_t f = dopts ? 48 : 40;

        p[0] = 0x60;
        p[4] = (uint8_t)((n - 40) >> 8);
        p[5] = (uint8_t)(n - 40);
        p[6] = dopts ? 60 : 44;
        p[7] = 64;
        p[8] = 0x20;
        p[23] = 1;
        p[24] = 0x20;
        p[39] = 2;
        if (dopts) {
            p[40] = 44;
            p[42] = 1; /* PadN */
            p[43] = 4;
        }
        p[f] = 17;
        p[f + 2] = (uint8_t)(off >> 8);
        p[f + 3] = (uint8_t)((off & 0xf8) | (more ? 1 : 0));
        p[f + 6] = (uint8_t)(id >> 8);
        p[f + 7] = (uint8_t)id;
    }
    memcpy(p + hl, payload + off, len);
    *out_len = n;
    return p;
}

static void defrag_oracle(struct reader *rd)
{
    struct vox_defrag_config cfg = {0};
    struct vox_defrag *d = NULL;
    uint8_t ctl = byte(rd), sched[64], payload[4096];
    bool v6 = ctl & 1, dopts = v6 && (ctl & 2);
    size_t len = 1 + u16(rd) % sizeof(payload), cut[65], n = 0, order[64], fed[64], nfed = 0;
    size_t i, pos = 0, whole_len = 0, hl = v6 ? (dopts ? 48 : 40) : 20;
    uint8_t *whole;

    for (i = 0; i < sizeof(sched); i++)
        sched[i] = byte(rd);
    for (i = 0; i < len; i++)
        payload[i] = byte(rd);
    /* cut points on 8-byte boundaries */
    cut[n++] = 0;
    while (n < 64) {
        size_t step = 8 * (1 + (size_t)sched[n] % 64);

        if (pos + step >= len)
            break;
        pos += step;
        cut[n++] = pos;
    }
    cut[n] = len;
    for (i = 0; i < n; i++)
        order[i] = i;
    for (i = n; i > 1; i--) {
        size_t j = sched[i % 64] % i, t = order[i - 1];

        order[i - 1] = order[j];
        order[j] = t;
    }
    /* the original datagram, as reassembly must give it back */
    whole = build_fragment(v6, false, payload, 0, len, false, 0, &whole_len);
    if (v6) {
        /* unfragmented: no Fragment header; with dopts, the options header stays */
        size_t wl = hl + len;
        uint8_t *w = calloc(1, wl);

        CHECK(w != NULL);
        memcpy(w, whole, 40);
        w[4] = (uint8_t)((wl - 40) >> 8);
        w[5] = (uint8_t)(wl - 40);
        w[6] = dopts ? 60 : 17;
        if (dopts) {
            w[40] = 17;
            w[42] = 1;
            w[43] = 4;
        }
        memcpy(w + hl, payload, len);
        free(whole);
        whole = w;
        whole_len = wl;
    } else {
        whole[4] = whole[5] = 0x12;
    }
    CHECK(vox_defrag_create(&cfg, &d, NULL) == 0);
    for (i = 0; i < n; i++) {
        size_t k = order[i], pl;
        struct vox_defrag_out out;
        uint8_t *p =
            build_fragment(v6, dopts, payload, cut[k], cut[k + 1] - cut[k], k + 1 < n, 0x1212, &pl);
        int rc = v6 ? vox_defrag_ipv6(d, p, pl, i, &out, NULL)
                    : vox_defrag_ipv4(d, p, pl, i, &out, NULL);

        if (i + 1 < n) {
            CHECK(rc == VOX_DEFRAG_HELD);
        } else {
            CHECK(rc == VOX_DEFRAG_COMPLETE);
            CHECK(out.len_bytes == whole_len);
            if (!v6) /* the checksum is recomputed: compare the rest */
                CHECK(!memcmp(out.datagram, whole, 10) &&
                      !memcmp(out.datagram + 12, whole + 12, whole_len - 12));
            else
                CHECK(!memcmp(out.datagram, whole, whole_len));
        }
        free(p);
        fed[nfed++] = k;
        /* now and then a duplicate of a fragment already fed (never after the last) */
        if (i + 1 < n && (sched[(i * 7) % 64] & 1)) {
            size_t j = fed[sched[(i * 3) % 64] % nfed];

            p = build_fragment(v6, dopts, payload, cut[j], cut[j + 1] - cut[j], j + 1 < n, 0x1212,
                               &pl);
            rc = v6 ? vox_defrag_ipv6(d, p, pl, i, &out, NULL)
                    : vox_defrag_ipv4(d, p, pl, i, &out, NULL);
            CHECK(rc == VOX_DEFRAG_HELD);
            free(p);
        }
    }
    defrag_check(d, &(struct vox_defrag_config){(size_t)4 << 20, 1024, 128, 0, NULL});
    free(whole);
    vox_defrag_destroy(d);
}

/* ---- TCP ------------------------------------------------------------------------------------- */

/* What on_msg saw: the messages back to back, and their lengths. */
struct sink {
    uint8_t *bytes;
    size_t len, cap;
    size_t *lens;
    size_t n, ncap;
    size_t max_msg;
};

static void on_msg(void *user, const struct vox_cap_tuple *t, const uint8_t *msg, size_t len,
                   uint64_t ts_ns)
{
    struct sink *k = user;
    struct vox_sip_frame f;

    (void)ts_ns;
    CHECK(t != NULL && msg != NULL && len > 0 && len <= k->max_msg);
    CHECK(vox_sip_frame((const char *)msg, len, VOX_SIP_TRANSPORT_STREAM, &f, NULL) == 0);
    CHECK(f.skip == 0 && f.len == len);
    CHECK((msg[0] >= 'A' && msg[0] <= 'Z') || (msg[0] >= 'a' && msg[0] <= 'z'));
    if (k->len + len > k->cap) {
        k->cap = (k->len + len) * 2;
        k->bytes = realloc(k->bytes, k->cap);
        CHECK(k->bytes != NULL);
    }
    memcpy(k->bytes + k->len, msg, len);
    k->len += len;
    if (k->n == k->ncap) {
        k->ncap = k->ncap ? k->ncap * 2 : 16;
        k->lens = realloc(k->lens, k->ncap * sizeof(*k->lens));
        CHECK(k->lens != NULL);
    }
    k->lens[k->n++] = len;
}

static void sink_free(struct sink *k)
{
    free(k->bytes);
    free(k->lens);
}

static void tcp_check(const struct vox_tcpreasm *r, const struct vox_tcpreasm_config *cfg)
{
    struct vox_tcpreasm_stats s;

    vox_tcpreasm_stats(r, &s);
    CHECK(s.bytes == s.bytes_delivered + s.keepalive_bytes + s.retransmitted_bytes +
                         s.bytes_discarded + s.bytes_held);
    CHECK(s.bytes_held <= cfg->max_bytes && s.bytes_held <= s.bytes_peak);
    CHECK(s.streams_open <= cfg->max_streams && s.streams_open <= s.streams_peak);
}

static void tcp_raw(struct reader *rd)
{
    struct sink k = {.max_msg = 4096};
    struct vox_tcpreasm_config cfg = {.max_streams = 3,
                                      .max_bytes = 8192,
                                      .max_msg_bytes = 4096,
                                      .timeout_ns = 5000,
                                      .gap_timeout_ns = 1000,
                                      .on_msg = on_msg,
                                      .user = &k};
    struct vox_tcpreasm *r = NULL;
    uint32_t cursor[4] = {0, 0x7ffffff0u, 0xfffffff0u, 12345};
    uint64_t ts = 0;

    CHECK(vox_tcpreasm_create(&cfg, &r, NULL) == 0);
    while (rd->pos + 5 <= rd->n) {
        uint8_t flags = byte(rd), ctl = byte(rd);
        int16_t delta = (int16_t)u16(rd);
        size_t len = byte(rd), idx = ctl & 3;
        struct vox_cap_tuple t;
        uint32_t seq;
        uint8_t *p;

        if (len > rd->n - rd->pos)
            len = rd->n - rd->pos;
        memset(&t, 0, sizeof(t));
        t.src[15] = (uint8_t)(1 + (idx & 1));
        t.dst[15] = (uint8_t)(2 - (idx & 1));
        t.sport = (idx & 1) ? 5060 : 40000;
        t.dport = (idx & 1) ? 40000 : 5060;
        t.sport = (uint16_t)(t.sport + (idx >> 1));
        t.family = 6;
        t.proto = 6;
        seq = cursor[idx] + (uint32_t)(int32_t)delta;
        cursor[idx] = seq + (uint32_t)len + ((flags & VOX_CAP_TCP_SYN) ? 1u : 0u);
        p = exact_copy(rd->p + rd->pos, len);
        rd->pos += len;
        ts += (uint64_t)(ctl >> 2) * 40;
        CHECK(vox_tcpreasm_segment(r, &t, seq, flags & 0x1f, p, len, ts) == 0);
        if (ctl & 0x80)
            vox_tcpreasm_expire(r, ts);
        free(p);
        tcp_check(r, &cfg);
    }
    vox_tcpreasm_destroy(r);
    sink_free(&k);
}

#define ORACLE_MAX_STREAM 16384
#define ORACLE_MAX_SEGS   48

static void tcp_oracle(struct reader *rd)
{
    struct sink ka = {.max_msg = VOX_SIP_MAX_MSG_BYTES}, kb = ka;
    struct vox_tcpreasm_config cfg = {.on_msg = on_msg};
    struct vox_tcpreasm *ra = NULL, *rb = NULL;
    struct vox_tcpreasm_stats sa, sb;
    struct vox_cap_tuple t;
    uint8_t sched[64];
    uint32_t isn;
    size_t i, len, cuts[ORACLE_MAX_SEGS + 1], ncut = 0, from[2 * ORACLE_MAX_SEGS],
                                              to[2 * ORACLE_MAX_SEGS], order[2 * ORACLE_MAX_SEGS],
                                              nseg = 0, want;
    const uint8_t *stream;

    for (i = 0; i < sizeof(sched); i++)
        sched[i] = byte(rd);
    isn = (uint32_t)sched[0] << 24 | (uint32_t)sched[1] << 16 | (uint32_t)sched[2] << 8 | sched[3];
    if (sched[4] & 1)
        isn = 0xffffffffu - sched[5] * 64u; /* near the wrap */
    stream = rd->p + rd->pos;
    len = rd->n - rd->pos;
    if (len > ORACLE_MAX_STREAM)
        len = ORACLE_MAX_STREAM;
    if (!len)
        return;
    memset(&t, 0, sizeof(t));
    t.family = 4;
    t.proto = 6;
    t.sport = 5060;
    t.dport = 5061;

    /* A: the whole stream in one segment */
    cfg.user = &ka;
    CHECK(vox_tcpreasm_create(&cfg, &ra, NULL) == 0);
    CHECK(vox_tcpreasm_segment(ra, &t, isn, VOX_CAP_TCP_SYN, NULL, 0, 0) == 0);
    CHECK(vox_tcpreasm_segment(ra, &t, isn + 1, VOX_CAP_TCP_ACK, stream, len, 1) == 0);

    /* B: cut at sorted points, plus overlapping copies, shuffled */
    want = 1 + sched[6] % ORACLE_MAX_SEGS;
    cuts[ncut++] = 0;
    for (i = 1; i < want; i++) {
        size_t c = len * sched[(7 + i) % 64] / 256;

        if (c > cuts[ncut - 1])
            cuts[ncut++] = c;
    }
    cuts[ncut] = len;
    for (i = 0; i < ncut; i++) {
        from[nseg] = cuts[i];
        to[nseg] = cuts[i + 1];
        nseg++;
        if (sched[(i * 5 + 1) % 64] & 0x10) { /* a retransmission spanning the boundary */
            size_t a = cuts[i] > 7 ? cuts[i] - 7 : 0, b = cuts[i + 1] + 5;

            from[nseg] = a;
            to[nseg] = b < len ? b : len;
            nseg++;
        }
    }
    for (i = 0; i < nseg; i++)
        order[i] = i;
    for (i = nseg; i > 1; i--) {
        size_t j = sched[(i * 11) % 64] % i, tmp = order[i - 1];

        order[i - 1] = order[j];
        order[j] = tmp;
    }
    cfg.user = &kb;
    CHECK(vox_tcpreasm_create(&cfg, &rb, NULL) == 0);
    CHECK(vox_tcpreasm_segment(rb, &t, isn, VOX_CAP_TCP_SYN, NULL, 0, 0) == 0);
    for (i = 0; i < nseg; i++) {
        size_t k = order[i];
        uint8_t *p = exact_copy(stream + from[k], to[k] - from[k]);

        CHECK(vox_tcpreasm_segment(rb, &t, isn + 1 + (uint32_t)from[k], VOX_CAP_TCP_ACK, p,
                                   to[k] - from[k], 1) == 0);
        free(p);
    }
    vox_tcpreasm_stats(ra, &sa);
    vox_tcpreasm_stats(rb, &sb);
    tcp_check(ra, &(struct vox_tcpreasm_config){.max_streams = 4096, .max_bytes = 64u << 20});
    tcp_check(rb, &(struct vox_tcpreasm_config){.max_streams = 4096, .max_bytes = 64u << 20});
    CHECK(sb.gaps_skipped == 0 && sa.gaps_skipped == 0);
    CHECK(ka.n == kb.n && ka.len == kb.len);
    CHECK(!ka.n || !memcmp(ka.lens, kb.lens, ka.n * sizeof(*ka.lens)));
    CHECK(!ka.len || !memcmp(ka.bytes, kb.bytes, ka.len));
    CHECK(sa.messages == sb.messages && sa.bytes_delivered == sb.bytes_delivered);
    CHECK(sa.keepalive_bytes == sb.keepalive_bytes);
    CHECK(sa.malformed == sb.malformed && sa.oversize == sb.oversize);
    CHECK(sa.resyncs == sb.resyncs);
    CHECK(sa.bytes_discarded == sb.bytes_discarded && sa.bytes_held == sb.bytes_held);
    vox_tcpreasm_destroy(ra);
    vox_tcpreasm_destroy(rb);
    sink_free(&ka);
    sink_free(&kb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct reader rd = {data, size, 1};

    if (size < 1)
        return 0;
    switch (data[0] % 4) {
    case 0:
        defrag_raw(&rd);
        break;
    case 1:
        defrag_oracle(&rd);
        break;
    case 2:
        tcp_raw(&rd);
        break;
    default:
        tcp_oracle(&rd);
        break;
    }
    return 0;
}
