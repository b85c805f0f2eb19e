/* SPDX-License-Identifier: MIT */
/* RTP tests: hand-written packets, build/parse round trips, every rejection, every prefix,
 * RFC 3550 A.1/A.3/A.8 receiver state, RFC 8285 elements and RFC 4733 telephone-events. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "vox/core.h"
#include "vox/rtp.h"

/* ---- helpers --------------------------------------------------------------------------------- */

/* Parses a copy of buf in a block of exactly len bytes, so that ASan sees any overread. */
static int parse_exact(const uint8_t *buf, size_t len, struct vox_rtp_view *v, struct vox_diag *d,
                       uint8_t **copy)
{
    uint8_t *c = malloc(len ? len : 1);

    assert_non_null(c);
    if (len)
        memcpy(c, buf, len);
    *copy = c;
    return vox_rtp_parse(len ? c : NULL, len, v, d);
}

static void assert_views_equal(const struct vox_rtp_view *a, const struct vox_rtp_view *b)
{
    unsigned i;

    assert_int_equal(a->version, b->version);
    assert_int_equal(a->padding, b->padding);
    assert_int_equal(a->extension, b->extension);
    assert_int_equal(a->csrc_count, b->csrc_count);
    assert_int_equal(a->marker, b->marker);
    assert_int_equal(a->payload_type, b->payload_type);
    assert_int_equal(a->seq, b->seq);
    assert_int_equal(a->timestamp, b->timestamp);
    assert_int_equal(a->ssrc, b->ssrc);
    for (i = 0; i < a->csrc_count; i++)
        assert_int_equal(a->csrc[i], b->csrc[i]);
    assert_int_equal(a->ext_profile, b->ext_profile);
    assert_int_equal(a->ext_len_bytes, b->ext_len_bytes);
    if (a->ext_len_bytes)
        assert_memory_equal(a->ext_data, b->ext_data, a->ext_len_bytes);
    assert_int_equal(a->payload_len_bytes, b->payload_len_bytes);
    if (a->payload_len_bytes)
        assert_memory_equal(a->payload, b->payload, a->payload_len_bytes);
    assert_int_equal(a->padding_len_bytes, b->padding_len_bytes);
}

/* ---- hand-written packets -------------------------------------------------------------------- */

/* A PCMU packet as a softphone sends it: V=2, no P/X/CC, M=0, PT 0, seq 7588 (0x1da4),
 * timestamp 40960 (0xa000), SSRC 0xdeadbeef, then 160 bytes of u-law silence (0xff). */
static const uint8_t pcmu_header[12] = {0x80, 0x00, 0x1d, 0xa4, 0x00, 0x00,
                                        0xa0, 0x00, 0xde, 0xad, 0xbe, 0xef};

/*
 * Everything at once, written by hand:
 *   b2        V=2 P=1 X=1 CC=2
 *   e0        M=1 PT=96
 *   ff ff     seq 65535
 *   ff ff ff f0              timestamp 0xfffffff0
 *   11 22 33 44              SSRC
 *   aa aa aa aa bb bb bb bb  CSRC x 2
 *   be de 00 02              RFC 8285 one-byte extension, 2 words
 *   10 ab                    element ID 1, L=0: 1 byte 0xab
 *   22 01 02 03              element ID 2, L=2: 3 bytes 01 02 03
 *   00 00                    padding inside the extension
 *   01 02 03                 payload
 *   00 00 03                 RTP padding, count 3
 */
static const uint8_t full_packet[] = {0xb2, 0xe0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf0, 0x11, 0x22,
                                      0x33, 0x44, 0xaa, 0xaa, 0xaa, 0xaa, 0xbb, 0xbb, 0xbb, 0xbb,
                                      0xbe, 0xde, 0x00, 0x02, 0x10, 0xab, 0x22, 0x01, 0x02, 0x03,
                                      0x00, 0x00, 0x01, 0x02, 0x03, 0x00, 0x00, 0x03};

/* RFC 4733 DTMF digit 5 on PT 101, first packet of the event (marker), volume 10 (-10 dBm0),
 * duration 160, and its end packet: E bit, duration 800. */
static const uint8_t dtmf_start[16] = {0x80, 0xe5, 0x12, 0x34, 0x00, 0x01, 0x00, 0x00,
                                       0x0a, 0x0b, 0x0c, 0x0d, 0x05, 0x0a, 0x00, 0xa0};
static const uint8_t dtmf_end[16] = {0x80, 0x65, 0x12, 0x39, 0x00, 0x01, 0x00, 0x00,
                                     0x0a, 0x0b, 0x0c, 0x0d, 0x05, 0x8a, 0x03, 0x20};

static void known_packets(void **st)
{
    uint8_t pkt[172], out[200];
    struct vox_rtp_view v;
    struct vox_rtp_ext_iter it;
    struct vox_rtp_ext_elem e;
    int n;

    (void)st;
    memcpy(pkt, pcmu_header, 12);
    memset(pkt + 12, 0xff, 160);
    assert_int_equal(vox_rtp_parse(pkt, sizeof(pkt), &v, NULL), 0);
    assert_int_equal(v.version, 2);
    assert_false(v.padding);
    assert_false(v.extension);
    assert_int_equal(v.csrc_count, 0);
    assert_false(v.marker);
    assert_int_equal(v.payload_type, 0);
    assert_int_equal(v.seq, 7588);
    assert_int_equal(v.timestamp, 40960);
    assert_int_equal(v.ssrc, 0xdeadbeefu);
    assert_ptr_equal(v.payload, pkt + 12); /* a view, no copy */
    assert_int_equal(v.payload_len_bytes, 160);
    assert_int_equal(v.padding_len_bytes, 0);
    /* The builder writes the very same bytes. */
    n = vox_rtp_build(&v, out, sizeof(out), NULL);
    assert_int_equal(n, 172);
    assert_memory_equal(out, pkt, 172);

    assert_int_equal(vox_rtp_parse(full_packet, sizeof(full_packet), &v, NULL), 0);
    assert_true(v.padding);
    assert_true(v.extension);
    assert_int_equal(v.csrc_count, 2);
    assert_true(v.marker);
    assert_int_equal(v.payload_type, 96);
    assert_int_equal(v.seq, 65535);
    assert_int_equal(v.timestamp, 0xfffffff0u);
    assert_int_equal(v.ssrc, 0x11223344u);
    assert_int_equal(v.csrc[0], 0xaaaaaaaau);
    assert_int_equal(v.csrc[1], 0xbbbbbbbbu);
    assert_int_equal(v.ext_profile, 0xbede);
    assert_ptr_equal(v.ext_data, full_packet + 24);
    assert_int_equal(v.ext_len_bytes, 8);
    assert_ptr_equal(v.payload, full_packet + 32);
    assert_int_equal(v.payload_len_bytes, 3);
    assert_int_equal(v.padding_len_bytes, 3);
    assert_int_equal(vox_rtp_ext_form(&v), VOX_RTP_EXT_ONE_BYTE);
    vox_rtp_ext_iter_init(&it, &v);
    assert_int_equal(vox_rtp_ext_next(&it, &e, NULL), 1);
    assert_int_equal(e.id, 1);
    assert_int_equal(e.len_bytes, 1);
    assert_int_equal(e.data[0], 0xab);
    assert_int_equal(vox_rtp_ext_next(&it, &e, NULL), 1);
    assert_int_equal(e.id, 2);
    assert_int_equal(e.len_bytes, 3);
    assert_memory_equal(e.data, "\x01\x02\x03", 3);
    assert_int_equal(vox_rtp_ext_next(&it, &e, NULL), 0);
    n = vox_rtp_build(&v, out, sizeof(out), NULL);
    assert_int_equal(n, sizeof(full_packet));
    assert_memory_equal(out, full_packet, sizeof(full_packet));
}

/* ---- round trips ----------------------------------------------------------------------------- */

static void round_trips(void **st)
{
    static const unsigned ccs[] = {0, 1, 15};
    static const size_t ext_lens[] = {0, 4, 8, 64};
    static const uint16_t profiles[] = {0xbede, 0x1000, 0x1234};
    static const uint8_t pads[] = {0, 1, 4, 255};
    static const size_t payload_lens[] = {0, 1, 160};
    uint8_t ext[64], payload[160], buf[1024], small[1024];
    unsigned ci, ei, pi, ai, li, mi, count = 0;
    size_t i;

    (void)st;
    for (i = 0; i < sizeof(ext); i++)
        ext[i] = (uint8_t)(i * 7 + 1);
    for (i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)(255 - i);
    for (ci = 0; ci < 3; ci++)
        for (ei = 0; ei < 5; ei++) /* 0: no extension, then each length */
            for (ai = 0; ai < 4; ai++)
                for (li = 0; li < 3; li++)
                    for (mi = 0; mi < 2; mi++)
                        for (pi = 0; pi < 3; pi++) {
                            struct vox_rtp_view in = {0}, out;
                            unsigned k;
                            int n;

                            if (pi > 0 && ei == 0)
                                continue;
                            in.version = 2;
                            in.csrc_count = (uint8_t)ccs[ci];
                            for (k = 0; k < in.csrc_count; k++)
                                in.csrc[k] = 0x01020304u * (k + 1);
                            in.extension = ei > 0;
                            if (in.extension) {
                                in.ext_profile = profiles[pi];
                                in.ext_len_bytes = ext_lens[ei - 1];
                                in.ext_data = ext;
                            }
                            in.padding = pads[ai] > 0;
                            in.padding_len_bytes = pads[ai];
                            in.marker = mi;
                            in.payload_type = (uint8_t)(mi ? 101 : 8);
                            in.seq = (uint16_t)(65530 + count);
                            in.timestamp = 0xffffff00u + count * 160;
                            in.ssrc = 0xcafe0000u + count;
                            in.payload = payload;
                            in.payload_len_bytes = payload_lens[li];
                            n = vox_rtp_build(&in, buf, sizeof(buf), NULL);
                            assert_true(n > 0);
                            assert_int_equal(vox_rtp_parse(buf, (size_t)n, &out, NULL), 0);
                            assert_views_equal(&in, &out);
                            /* An exact-size buffer fits, one byte less does not. */
                            assert_int_equal(vox_rtp_build(&in, small, (size_t)n, NULL), n);
                            assert_memory_equal(small, buf, (size_t)n);
                            assert_int_equal(vox_rtp_build(&in, small, (size_t)n - 1, NULL),
                                             VOX_ERANGE);
                            count++;
                        }
    assert_int_equal(count, 3 * (1 + 4 * 3) * 4 * 3 * 2);
}

static void build_in_place_and_bad_fields(void **st)
{
    uint8_t buf[64];
    struct vox_rtp_view v = {.version = 2, .payload_type = 0, .seq = 1, .timestamp = 2, .ssrc = 3};
    struct vox_rtp_view b, out;
    struct vox_diag d = {{0}};

    (void)st;
    /* The payload already sits where it goes: the header is written in front of it. */
    memcpy(buf + 12, "hello", 5);
    v.payload = buf + 12;
    v.payload_len_bytes = 5;
    assert_int_equal(vox_rtp_build(&v, buf, sizeof(buf), NULL), 17);
    assert_int_equal(vox_rtp_parse(buf, 17, &out, NULL), 0);
    assert_memory_equal(out.payload, "hello", 5);
    /* Overlapping the header region: moved first, then the header goes over the old bytes. */
    memcpy(buf, "world", 5);
    v.payload = buf;
    assert_int_equal(vox_rtp_build(&v, buf, sizeof(buf), NULL), 17);
    assert_int_equal(vox_rtp_parse(buf, 17, &out, NULL), 0);
    assert_memory_equal(out.payload, "world", 5);
    v.payload = NULL;
    v.payload_len_bytes = 0;

    b = v;
    b.csrc_count = 16;
    assert_int_equal(vox_rtp_build(&b, buf, sizeof(buf), &d), VOX_ERANGE);
    assert_non_null(strstr(d.text, "csrc_count 16"));
    b = v;
    b.payload_type = 128;
    assert_int_equal(vox_rtp_build(&b, buf, sizeof(buf), &d), VOX_ERANGE);
    assert_non_null(strstr(d.text, "payload_type 128"));
    b = v;
    b.version = 1;
    assert_int_equal(vox_rtp_build(&b, buf, sizeof(buf), &d), VOX_ERANGE);
    assert_non_null(strstr(d.text, "version 1"));
    b = v;
    b.padding = true;
    assert_int_equal(vox_rtp_build(&b, buf, sizeof(buf), &d), VOX_ERANGE);
    assert_non_null(strstr(d.text, "padding"));
    b = v;
    b.padding_len_bytes = 4;
    assert_int_equal(vox_rtp_build(&b, buf, sizeof(buf), &d), VOX_ERANGE);
    b = v;
    b.extension = true;
    b.ext_data = buf;
    b.ext_len_bytes = 6;
    assert_int_equal(vox_rtp_build(&b, buf + 32, 32, &d), VOX_ERANGE);
    assert_non_null(strstr(d.text, "multiple of 4"));
    b.extension = false;
    b.ext_len_bytes = 4;
    assert_int_equal(vox_rtp_build(&b, buf + 32, 32, &d), VOX_ERANGE);
    assert_non_null(strstr(d.text, "without the extension flag"));
    b = v;
    b.payload_len_bytes = 3;
    assert_int_equal(vox_rtp_build(&b, buf, sizeof(buf), &d), VOX_ERANGE);
    assert_non_null(strstr(d.text, "NULL payload"));
    assert_int_equal(vox_rtp_build(&v, buf, 11, &d), VOX_ERANGE);
    assert_non_null(strstr(d.text, "needs 12 bytes, buffer has 11"));
    assert_int_equal(vox_rtp_build(&v, NULL, 100, NULL), VOX_ERANGE);
}

/* ---- rejections ------------------------------------------------------------------------------ */

static void expect_reject(const char *name, const uint8_t *pkt, size_t len, int want_rc,
                          const char *want1, const char *want2)
{
    struct vox_rtp_view v;
    struct vox_diag d = {{0}};
    uint8_t *copy;
    int rc;

    memset(&v, 0x5a, sizeof(v));
    rc = parse_exact(pkt, len, &v, &d, &copy);
    free(copy);
    if (rc != want_rc || !strstr(d.text, want1) || (want2 && !strstr(d.text, want2)))
        fail_msg("%s: rc %s, diag \"%s\"; wanted %s and \"%s\"", name, vox_err_name(rc), d.text,
                 vox_err_name(want_rc), want1);
    /* A failed parse leaves no stale view behind. */
    assert_null(v.payload);
    assert_int_equal(v.payload_len_bytes, 0);
    assert_int_equal(v.seq, 0);
}

static void rejections(void **st)
{
    uint8_t p[64] = {0};
    unsigned t;

    (void)st;
    expect_reject("empty", p, 0, VOX_EINCOMPLETE, "fixed header at byte 0", "empty");
    memcpy(p, pcmu_header, 12);
    expect_reject("short", p, 11, VOX_EINCOMPLETE, "fixed header at byte 11", "too short");
    expect_reject("one byte", p, 1, VOX_EINCOMPLETE, "fixed header at byte 1", "too short");

    p[0] = 0x40; /* version 1 */
    expect_reject("version 1", p, 12, VOX_EMALFORMED, "version at byte 0: 1", "want 2");
    p[0] = 0x00;
    expect_reject("version 0", p, 12, VOX_EMALFORMED, "version at byte 0: 0", NULL);
    p[0] = 0xc0;
    expect_reject("version 3", p, 1, VOX_EMALFORMED, "version at byte 0: 3", NULL);

    /* RTCP on the RTP path: an SR (RFC 3550 §6.4.1) with no report blocks, 28 bytes:
     * 80 c8 00 06 | SSRC | NTP ts (8) | RTP ts | packet count | octet count. */
    memset(p, 0, 28);
    p[0] = 0x80;
    p[1] = 200;
    p[3] = 6;
    expect_reject("rtcp SR", p, 28, VOX_EMALFORMED, "RTCP packet type 200 (SR)", "looks like RTCP");
    for (t = 201; t <= 204; t++) {
        static const char *const names[] = {"(RR)", "(SDES)", "(BYE)", "(APP)"};

        p[1] = (uint8_t)t;
        expect_reject("rtcp", p, 28, VOX_EMALFORMED, names[t - 201], "at byte 1");
    }
    p[1] = 201;
    expect_reject("rtcp RR short", p, 8, VOX_EMALFORMED, "looks like RTCP", NULL);
    assert_true(vox_rtp_is_rtcp(p, 8));
    assert_false(vox_rtp_is_rtcp(pcmu_header, 12));
    assert_false(vox_rtp_is_rtcp(p, 1));

    /* CSRC list past the end: CC=3 needs 12 bytes after the fixed header. */
    memcpy(p, pcmu_header, 12);
    p[0] = 0x83;
    expect_reject("csrc", p, 20, VOX_EINCOMPLETE, "CSRC list at byte 12", "3 CSRC(s) need 12");

    /* Extension header past the end. */
    p[0] = 0x90;
    memset(p + 12, 0, 8);
    expect_reject("ext header", p, 14, VOX_EINCOMPLETE, "extension header at byte 12",
                  "need 4 bytes, 2 left");
    /* Extension body past the end: 2 words announced, 1 present. */
    p[12] = 0xbe;
    p[13] = 0xde;
    p[15] = 2;
    expect_reject("ext body", p, 20, VOX_EINCOMPLETE, "extension body at byte 16",
                  "needs 8 bytes, 4 left");
    /* ... and after the CSRCs. */
    p[0] = 0x91;
    memset(p + 12, 0, 4);
    p[16] = 0x10;
    p[17] = 0x00;
    p[18] = 0x00;
    p[19] = 0x01;
    expect_reject("ext body after csrc", p, 22, VOX_EINCOMPLETE, "extension body at byte 20",
                  "length 1 words");

    /* Padding: count 0, count larger than what is left, nothing after the headers. */
    memcpy(p, pcmu_header, 12);
    p[0] = 0xa0;
    memset(p + 12, 0x11, 8);
    p[19] = 0;
    expect_reject("pad 0", p, 20, VOX_EMALFORMED, "padding at byte 19", "pad count is 0");
    p[19] = 9;
    expect_reject("pad 9 of 8", p, 20, VOX_EMALFORMED, "padding at byte 19",
                  "pad count 9 is larger than the 8 bytes");
    p[19] = 8; /* the whole payload area is padding: valid, empty payload */
    {
        struct vox_rtp_view v;

        assert_int_equal(vox_rtp_parse(p, 20, &v, NULL), 0);
        assert_int_equal(v.payload_len_bytes, 0);
        assert_int_equal(v.padding_len_bytes, 8);
    }
    expect_reject("pad nothing", p, 12, VOX_EMALFORMED, "padding at byte 12", "no bytes follow");
    /* With CSRC and extension, the pad count is checked against what follows both. */
    p[0] = 0xb1;
    memset(p + 12, 0, 8);
    p[21] = 6; /* 22 bytes: 12 + 4 + 4 + 2 left */
    expect_reject("pad past ext", p, 22, VOX_EMALFORMED, "pad count 6 is larger than the 2 bytes",
                  "from byte 20");
}

/* Every prefix of a valid packet parses or is rejected, and never reads past its end. */
static void every_prefix(void **st)
{
    uint8_t plain[12 + 8 + 8 + 20];
    struct vox_rtp_view v;
    size_t len;
    uint8_t *copy;
    int rc;

    (void)st;
    for (len = 0; len <= sizeof(full_packet); len++) {
        struct vox_diag d = {{0}};

        rc = parse_exact(full_packet, len, &v, &d, &copy);
        if (rc == 0) {
            assert_true(v.payload >= copy && v.payload + v.payload_len_bytes <= copy + len);
            assert_int_equal(v.payload_len_bytes + v.padding_len_bytes,
                             (size_t)(copy + len - v.payload));
        } else {
            assert_true(rc == VOX_EINCOMPLETE || rc == VOX_EMALFORMED);
            assert_true(d.text[0] != 0);
            /* Before the end of the extension it can only be a truncation. */
            if (len < 32)
                assert_int_equal(rc, VOX_EINCOMPLETE);
        }
        free(copy);
    }
    /* Without padding the outcome of each prefix is exact. */
    memset(plain, 0x33, sizeof(plain));
    memcpy(plain, "\x92\x08\x00\x01\x00\x00\x00\x02\x00\x00\x00\x03", 12); /* CC=2, X */
    memcpy(plain + 20, "\x12\x34\x00\x01", 4);
    for (len = 0; len <= sizeof(plain); len++) {
        rc = parse_exact(plain, len, &v, NULL, &copy);
        if (len < 28) {
            assert_int_equal(rc, VOX_EINCOMPLETE);
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(v.payload_len_bytes, len - 28);
            assert_ptr_equal(v.payload, copy + 28);
        }
        free(copy);
    }
}

/* ---- sequence arithmetic and the A.1 state ------------------------------------------------- */

static void seq_ts_arithmetic(void **st)
{
    (void)st;
    assert_int_equal(vox_rtp_seq_delta(0, 65535), 1);
    assert_int_equal(vox_rtp_seq_delta(65535, 0), -1);
    assert_int_equal(vox_rtp_seq_delta(5, 65530), 11);
    assert_int_equal(vox_rtp_seq_delta(32767, 0), 32767);
    assert_int_equal(vox_rtp_seq_delta(32768, 0), -32768);
    assert_int_equal(vox_rtp_seq_delta(100, 100), 0);
    assert_int_equal(vox_rtp_ts_delta(5, 0xfffffffbu), 10);
    assert_int_equal(vox_rtp_ts_delta(0xfffffffbu, 5), -10);
    assert_int_equal(vox_rtp_ts_delta(0x7fffffffu, 0), INT32_MAX);
    assert_int_equal(vox_rtp_ts_delta(0x80000000u, 0), INT32_MIN);
    assert_int_equal(vox_rtp_ts_delta(160, 0), 160);
}

static void a1_probation(void **st)
{
    struct vox_rtp_source s;
    struct vox_rtp_report r;

    (void)st;
    /* MIN_SEQUENTIAL = 2: the first packet is on probation, the second validates. */
    vox_rtp_source_init(&s, 100);
    assert_false(vox_rtp_source_update(&s, 100));
    assert_true(vox_rtp_source_update(&s, 101));
    assert_int_equal(s.base_seq, 101);
    assert_int_equal(s.received, 1);
    assert_true(vox_rtp_source_update(&s, 102));
    vox_rtp_source_report(&s, &r);
    assert_int_equal(r.expected, 2);
    assert_int_equal(r.received, 2);
    assert_int_equal(r.lost, 0);

    /* Out of sequence during probation restarts it. */
    vox_rtp_source_init(&s, 100);
    assert_false(vox_rtp_source_update(&s, 100));
    assert_false(vox_rtp_source_update(&s, 105));
    assert_int_equal(s.probation, 1);
    assert_true(vox_rtp_source_update(&s, 106));
    assert_int_equal(s.base_seq, 106);

    /* Probation across the wrap (A.1's int comparison would miss 65535 -> 0). */
    vox_rtp_source_init(&s, 65535);
    assert_false(vox_rtp_source_update(&s, 65535));
    assert_true(vox_rtp_source_update(&s, 0));
    assert_int_equal(s.base_seq, 0);
}

/* A valid source whose last packet was `seq`. */
static void valid_source(struct vox_rtp_source *s, uint16_t seq)
{
    vox_rtp_source_init(s, (uint16_t)(seq - 1));
    assert_false(vox_rtp_source_update(s, (uint16_t)(seq - 1)));
    assert_true(vox_rtp_source_update(s, seq));
}

static void a1_wrap_and_loss(void **st)
{
    struct vox_rtp_source s;
    struct vox_rtp_report r;
    uint16_t q;

    (void)st;
    valid_source(&s, 65530);
    for (q = 65531; q != 3; q++)
        assert_true(vox_rtp_source_update(&s, q));
    assert_int_equal(s.cycles, 65536);
    assert_int_equal(s.max_seq, 2);
    assert_int_equal(vox_rtp_source_ext_max(&s), 65538);
    vox_rtp_source_report(&s, &r);
    assert_int_equal(r.ext_max, 65538);
    assert_int_equal(r.expected, 9); /* 65530 .. 65538 */
    assert_int_equal(r.received, 9);
    assert_int_equal(r.lost, 0);
    assert_int_equal(r.fraction_lost, 0);

    /* Next interval: 20 expected, every other one arrives -> fraction 128/256. */
    for (q = 4; q <= 22; q += 2)
        assert_true(vox_rtp_source_update(&s, q));
    vox_rtp_source_report(&s, &r);
    assert_int_equal(r.expected, 29);
    assert_int_equal(r.received, 19);
    assert_int_equal(r.lost, 10);
    assert_int_equal(r.fraction_lost, 128); /* 10 of 20: (10 << 8) / 20 */
    /* No loss in the following interval. */
    assert_true(vox_rtp_source_update(&s, 23));
    vox_rtp_source_report(&s, &r);
    assert_int_equal(r.fraction_lost, 0);
    assert_int_equal(r.lost, 10);

    /* A gap just under MAX_DROPOUT is a loss, not a jump. */
    valid_source(&s, 1000);
    assert_true(vox_rtp_source_update(&s, 1000 + VOX_RTP_MAX_DROPOUT - 1));
    vox_rtp_source_report(&s, &r);
    assert_int_equal(r.lost, VOX_RTP_MAX_DROPOUT - 2);
    assert_int_equal(r.fraction_lost,
                     (uint8_t)(((VOX_RTP_MAX_DROPOUT - 2) << 8) / VOX_RTP_MAX_DROPOUT));
}

static void a1_duplicates_misorder_jumps(void **st)
{
    struct vox_rtp_source s;
    struct vox_rtp_report r;

    (void)st;
    valid_source(&s, 200);
    assert_true(vox_rtp_source_update(&s, 201));
    assert_true(vox_rtp_source_update(&s, 205));
    /* Misordered within MAX_MISORDER: valid, max_seq unchanged. */
    assert_true(vox_rtp_source_update(&s, 203));
    assert_int_equal(s.max_seq, 205);
    /* Duplicate: counted, as in A.1, so `lost` can go negative. */
    assert_true(vox_rtp_source_update(&s, 205));
    assert_true(vox_rtp_source_update(&s, 205));
    vox_rtp_source_report(&s, &r);
    assert_int_equal(r.expected, 6); /* 200 .. 205 */
    assert_int_equal(r.received, 6); /* 200 201 205 203 205 205 */
    assert_int_equal(r.lost, 0);
    assert_true(vox_rtp_source_update(&s, 205));
    vox_rtp_source_report(&s, &r);
    assert_int_equal(r.lost, -1);
    assert_int_equal(r.fraction_lost, 0); /* more received than expected */

    /* Far behind (A.1: udelta <= 2^16 - MAX_MISORDER) is a jump; the packet after it
     * re-synchronises. */
    valid_source(&s, 1000);
    assert_false(vox_rtp_source_update(&s, 500));
    assert_int_equal(s.bad_seq, 501);
    assert_true(vox_rtp_source_update(&s, 501));
    assert_int_equal(s.base_seq, 501);
    assert_int_equal(s.max_seq, 501);
    assert_int_equal(s.received, 1);
    /* Exactly MAX_MISORDER behind is already a jump; its successor, one less behind, is a
     * misordered packet again (valid, no re-sync). */
    valid_source(&s, 1000);
    assert_false(vox_rtp_source_update(&s, 1000 - VOX_RTP_MAX_MISORDER));
    assert_true(vox_rtp_source_update(&s, 1000 - VOX_RTP_MAX_MISORDER + 1));
    assert_int_equal(s.max_seq, 1000);
    assert_int_equal(s.base_seq, 1000);

    /* A big jump ahead is ignored unless the next packet follows it. */
    valid_source(&s, 1000);
    assert_false(vox_rtp_source_update(&s, 5000));
    assert_true(vox_rtp_source_update(&s, 1001));
    assert_int_equal(s.max_seq, 1001);
    assert_false(vox_rtp_source_update(&s, 5000));
    assert_true(vox_rtp_source_update(&s, 5001)); /* restart: re-sync */
    assert_int_equal(s.base_seq, 5001);
    assert_int_equal(s.max_seq, 5001);
    assert_int_equal(s.cycles, 0);
    vox_rtp_source_report(&s, &r);
    assert_int_equal(r.expected, 1);
    assert_int_equal(r.received, 1);

    /* A restart across the wrap: 65535 then 0 confirm the jump. */
    valid_source(&s, 30000);
    assert_false(vox_rtp_source_update(&s, 65535));
    assert_true(vox_rtp_source_update(&s, 0));
    assert_int_equal(s.base_seq, 0);
}

/*
 * A.8 on a synthetic schedule: 8 kHz, 20 ms packets (160 ticks); arrival = send + 4000 +
 * extra delay, with delays 0, 16, 0, 48, 32, 32 ticks. The transit differences |D| are
 * 16, 16, 48, 16, 0 and the integer form J += |D| - (J + 8) / 16 (J x 16) gives
 *   J = 0 - 0 + 16 = 16; 16 - 1 + 16 = 31; 31 - 2 + 48 = 77; 77 - 5 + 16 = 88; 88 - 6 + 0 = 82
 * so the reported jitter is 82 / 16 = 5 ticks (the float form gives 5.17).
 */
static void a8_jitter(void **st)
{
    static const uint32_t delay[] = {0, 16, 0, 48, 32, 32};
    static const uint32_t origins[][2] = {{1000, 5000}, {0xffffff00u, 0xfffffff0u}};
    struct vox_rtp_source s;
    struct vox_rtp_report r;
    unsigned o, i;

    (void)st;
    for (o = 0; o < 2; o++) { /* second run: both clocks wrap past 2^32 mid-way */
        vox_rtp_source_init(&s, 1);
        for (i = 0; i < 6; i++) {
            uint32_t ts = origins[o][0] + 160 * i;

            vox_rtp_source_update(&s, (uint16_t)(1 + i));
            vox_rtp_source_jitter(&s, ts, origins[o][1] + 160 * i + 4000 + delay[i]);
        }
        assert_int_equal(s.jitter_q4, 82);
        vox_rtp_source_report(&s, &r);
        assert_int_equal(r.jitter, 5);
    }
    /* Constant transit: no jitter at all. */
    vox_rtp_source_init(&s, 1);
    for (i = 0; i < 50; i++)
        vox_rtp_source_jitter(&s, 160 * i, 160 * i + 777);
    assert_int_equal(s.jitter_q4, 0);
}

/* ---- RFC 8285 ----------------------------------------------------------------------------------
 */

static void ext_elements(void **st)
{
    /* Two-byte form (profile 0x1000 | appbits 3): ID 7 len 0, padding, ID 200 len 3. */
    static const uint8_t two[8] = {0x07, 0x00, 0x00, 0xc8, 0x03, 0x61, 0x62, 0x63};
    /* One-byte form: ID 3 len 2, then ID 15: stop, the rest is never read as elements. */
    static const uint8_t one_stop[4] = {0x31, 0x01, 0x02, 0xf0};
    /* One-byte element claiming 16 bytes in a 4-byte body. */
    static const uint8_t one_bad[4] = {0x1f, 0x00, 0x00, 0x00};
    static const uint8_t two_bad[4] = {0x00, 0x00, 0x00, 0x09};
    struct vox_rtp_view v = {.version = 2, .extension = true};
    struct vox_rtp_ext_iter it;
    struct vox_rtp_ext_elem e;
    struct vox_diag d = {{0}};

    (void)st;
    v.ext_profile = 0x1003;
    v.ext_data = two;
    v.ext_len_bytes = sizeof(two);
    assert_int_equal(vox_rtp_ext_form(&v), VOX_RTP_EXT_TWO_BYTE);
    vox_rtp_ext_iter_init(&it, &v);
    assert_int_equal(vox_rtp_ext_next(&it, &e, NULL), 1);
    assert_int_equal(e.id, 7);
    assert_int_equal(e.len_bytes, 0);
    assert_int_equal(vox_rtp_ext_next(&it, &e, NULL), 1);
    assert_int_equal(e.id, 200);
    assert_int_equal(e.len_bytes, 3);
    assert_memory_equal(e.data, "abc", 3);
    assert_int_equal(vox_rtp_ext_next(&it, &e, NULL), 0);

    v.ext_profile = 0xbede;
    v.ext_data = one_stop;
    v.ext_len_bytes = sizeof(one_stop);
    vox_rtp_ext_iter_init(&it, &v);
    assert_int_equal(vox_rtp_ext_next(&it, &e, NULL), 1);
    assert_int_equal(e.id, 3);
    assert_int_equal(e.len_bytes, 2);
    assert_int_equal(vox_rtp_ext_next(&it, &e, NULL), 0);

    v.ext_data = one_bad;
    vox_rtp_ext_iter_init(&it, &v);
    assert_int_equal(vox_rtp_ext_next(&it, &e, &d), VOX_EMALFORMED);
    assert_non_null(strstr(d.text, "element 1 at byte 0: 16 data bytes, 3 left"));
    assert_int_equal(vox_rtp_ext_next(&it, &e, NULL), 0);

    v.ext_profile = 0x1000;
    v.ext_data = two_bad;
    vox_rtp_ext_iter_init(&it, &v);
    assert_int_equal(vox_rtp_ext_next(&it, &e, &d), VOX_EMALFORMED);
    assert_non_null(strstr(d.text, "at byte 3: header needs 2 bytes"));

    v.ext_profile = 0x1234; /* opaque: no elements */
    assert_int_equal(vox_rtp_ext_form(&v), VOX_RTP_EXT_OPAQUE);
    vox_rtp_ext_iter_init(&it, &v);
    assert_int_equal(vox_rtp_ext_next(&it, &e, NULL), 0);
    v.extension = false;
    assert_int_equal(vox_rtp_ext_form(&v), VOX_RTP_EXT_NONE);
}

/* ---- RFC 4733 ----------------------------------------------------------------------------------
 */

static void telephone_events(void **st)
{
    static const char *const names[] = {"0", "1", "2", "3", "4", "5", "6", "7",    "8",
                                        "9", "*", "#", "A", "B", "C", "D", "flash"};
    struct vox_rtp_view v;
    struct vox_rtp_event ev, back;
    struct vox_diag d = {{0}};
    uint8_t buf[4];
    unsigned i, e;

    (void)st;
    assert_int_equal(vox_rtp_parse(dtmf_start, sizeof(dtmf_start), &v, NULL), 0);
    assert_true(v.marker);
    assert_int_equal(v.payload_type, 101);
    assert_int_equal(vox_rtp_event_from_packet(&v, 101, &ev, NULL), 1);
    assert_int_equal(ev.event, 5);
    assert_string_equal(vox_rtp_event_name(ev.event), "5");
    assert_false(ev.end);
    assert_false(ev.reserved);
    assert_int_equal(ev.volume, 10);
    assert_int_equal(ev.duration, 160);
    assert_int_equal(vox_rtp_event_build(&ev, buf, sizeof(buf)), 4);
    assert_memory_equal(buf, dtmf_start + 12, 4);
    /* Another payload type (negotiated differently) is not a telephone-event. */
    assert_int_equal(vox_rtp_event_from_packet(&v, 96, &ev, NULL), 0);

    assert_int_equal(vox_rtp_parse(dtmf_end, sizeof(dtmf_end), &v, NULL), 0);
    assert_int_equal(vox_rtp_event_from_packet(&v, 101, &ev, NULL), 1);
    assert_true(ev.end);
    assert_int_equal(ev.duration, 800);
    /* A telephone-event cut to 3 bytes. */
    assert_int_equal(vox_rtp_parse(dtmf_end, 15, &v, NULL), 0);
    assert_int_equal(vox_rtp_event_from_packet(&v, 101, &ev, &d), VOX_EINCOMPLETE);
    assert_non_null(strstr(d.text, "payload of 3 bytes, an event needs 4"));
    assert_int_equal(vox_rtp_event_parse(NULL, 0, &ev, NULL), VOX_EINCOMPLETE);

    for (i = 0; i <= 16; i++)
        assert_string_equal(vox_rtp_event_name((uint8_t)i), names[i]);
    assert_null(vox_rtp_event_name(17));
    assert_null(vox_rtp_event_name(255));

    /* Round trips over every field combination the wire can carry. */
    for (e = 0; e < 256; e += 17)
        for (i = 0; i < 64 * 4; i++) {
            ev = (struct vox_rtp_event){.event = (uint8_t)e,
                                        .end = i & 1,
                                        .reserved = (i >> 1) & 1,
                                        .volume = (uint8_t)(i >> 2),
                                        .duration = (uint16_t)(i * 257)};
            assert_int_equal(vox_rtp_event_build(&ev, buf, sizeof(buf)), 4);
            assert_int_equal(vox_rtp_event_parse(buf, 4, &back, NULL), 0);
            assert_memory_equal(&ev, &back, sizeof(ev));
        }
    ev.volume = 64;
    assert_int_equal(vox_rtp_event_build(&ev, buf, sizeof(buf)), VOX_ERANGE);
    ev.volume = 0;
    assert_int_equal(vox_rtp_event_build(&ev, buf, 3), VOX_ERANGE);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_packets),
        cmocka_unit_test(round_trips),
        cmocka_unit_test(build_in_place_and_bad_fields),
        cmocka_unit_test(rejections),
        cmocka_unit_test(every_prefix),
        cmocka_unit_test(seq_ts_arithmetic),
        cmocka_unit_test(a1_probation),
        cmocka_unit_test(a1_wrap_and_loss),
        cmocka_unit_test(a1_duplicates_misorder_jumps),
        cmocka_unit_test(a8_jitter),
        cmocka_unit_test(ext_elements),
        cmocka_unit_test(telephone_events),
    };

    (void)argc;
    vox_process_prepare(argv);
    return cmocka_run_group_tests_name("rtp", tests, NULL, NULL);
}
