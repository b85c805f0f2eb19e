/* SPDX-License-Identifier: MIT */
/* Reassembly tests: IPv4/IPv6 fragments (order, duplicates, overlaps, short last fragments,
 * limits, timeouts) and TCP streams of SIP messages (order, retransmissions, keep-alives,
 * resynchronisation, gaps, sequence wrap, both directions, limits). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/reasm.h"
#include "vox/sip.h"

#define NS_PER_S 1000000000ull

/* ---- helpers --------------------------------------------------------------------------------- */

static uint32_t rng_state = 0x12345678u;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static void shuffle(size_t *v, size_t n)
{
    size_t i;

    for (i = n; i > 1; i--) {
        size_t j = rnd() % i, t = v[i - 1];

        v[i - 1] = v[j];
        v[j] = t;
    }
}

static void identity(size_t *v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        v[i] = i;
}

/* A packet built by a test, in a block of exactly its length (ASan sees any overread). */
struct pkt {
    uint8_t *b;
    size_t len;
};

static struct pkt pkt_new(size_t len)
{
    struct pkt p = {malloc(len ? len : 1), len};

    assert_non_null(p.b);
    memset(p.b, 0, len ? len : 1);
    return p;
}

static void pkts_free(struct pkt *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(p[i].b);
}

static void fill_payload(uint8_t *p, size_t n, uint8_t seed)
{
    size_t i;

    for (i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 31 + seed + (i >> 8));
}

/* ---- IPv4 fragments ----------------------------------------------------------------------------
 */

static const uint8_t src4[4] = {192, 0, 2, 1}, dst4[4] = {192, 0, 2, 2};

static uint16_t checksum(const uint8_t *h, size_t len)
{
    uint32_t sum = 0;
    size_t i;

    for (i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)(h[i] << 8 | h[i + 1]);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* An IPv4 header of ihl bytes (20 or 24: one 4-byte option, copied flag set). */
static void v4_header(uint8_t *h, size_t ihl, size_t total, uint16_t id, uint16_t flags_off,
                      uint8_t proto)
{
    uint16_t ck;

    h[0] = (uint8_t)(0x40 | ihl / 4);
    h[1] = 0;
    h[2] = (uint8_t)(total >> 8);
    h[3] = (uint8_t)total;
    h[4] = (uint8_t)(id >> 8);
    h[5] = (uint8_t)id;
    h[6] = (uint8_t)(flags_off >> 8);
    h[7] = (uint8_t)flags_off;
    h[8] = 64;
    h[9] = proto;
    h[10] = h[11] = 0;
    memcpy(h + 12, src4, 4);
    memcpy(h + 16, dst4, 4);
    if (ihl == 24) {
        h[20] = 0x94; /* Router Alert, copied */
        h[21] = 4;
        h[22] = h[23] = 0;
    }
    ck = checksum(h, ihl);
    h[10] = (uint8_t)(ck >> 8);
    h[11] = (uint8_t)ck;
}

/* The unfragmented datagram, as reassembly must give it back. */
static struct pkt v4_whole(const uint8_t *payload, size_t plen, uint16_t id, uint8_t proto,
                           size_t ihl)
{
    struct pkt p = pkt_new(ihl + plen);

    v4_header(p.b, ihl, ihl + plen, id, 0, proto);
    memcpy(p.b + ihl, payload, plen);
    return p;
}

/* One fragment: payload[off .. off + len), MF as given. */
static struct pkt v4_frag(const uint8_t *payload, uint32_t off, uint32_t len, bool mf, uint16_t id,
                          uint8_t proto, size_t ihl)
{
    struct pkt p = pkt_new(ihl + len);

    v4_header(p.b, ihl, ihl + len, id, (uint16_t)((mf ? 0x2000 : 0) | off / 8), proto);
    memcpy(p.b + ihl, payload + off, len);
    return p;
}

/* Splits payload[0..plen) into fragments of the given sizes (the last takes the rest). */
static size_t v4_split(struct pkt *out, const uint8_t *payload, size_t plen, const size_t *sizes,
                       size_t n, uint16_t id, uint8_t proto, size_t ihl)
{
    size_t i, off = 0;

    for (i = 0; i < n; i++) {
        size_t len = i + 1 == n ? plen - off : sizes[i];

        out[i] = v4_frag(payload, (uint32_t)off, (uint32_t)len, i + 1 < n, id, proto, ihl);
        off += len;
    }
    return n;
}

static void defrag_balance(const struct vox_defrag *d)
{
    struct vox_defrag_stats s;

    vox_defrag_stats(d, &s);
    assert_int_equal(s.fragments_in, s.fragments_held + s.fragments_reassembled + s.duplicates +
                                         s.fragments_discarded);
    assert_true(s.bytes_held <= s.bytes_peak);
}

/* Feeds pkts in `order`; every feed but the last must be HELD, the last COMPLETE and equal to
 * `whole` (header checksum recomputed and valid). */
static void feed_expect_whole(struct vox_defrag *d, const struct pkt *pkts, const size_t *order,
                              size_t n, int family, const struct pkt *whole)
{
    struct vox_defrag_out out;
    struct vox_diag diag = {{0}};
    size_t i;

    for (i = 0; i < n; i++) {
        const struct pkt *p = &pkts[order[i]];
        int rc = family == 4 ? vox_defrag_ipv4(d, p->b, p->len, 1000 + i, &out, &diag)
                             : vox_defrag_ipv6(d, p->b, p->len, 1000 + i, &out, &diag);
        if (i + 1 < n) {
            assert_int_equal(rc, VOX_DEFRAG_HELD);
        } else {
            assert_int_equal(rc, VOX_DEFRAG_COMPLETE);
            assert_int_equal(out.len_bytes, whole->len);
            assert_memory_equal(out.datagram, whole->b, whole->len);
            if (family == 4)
                assert_int_equal(checksum(out.datagram, (out.datagram[0] & 0xf) * 4u), 0);
        }
    }
    defrag_balance(d);
}

static struct vox_defrag *defrag_new(size_t max_bytes, uint32_t max_datagrams,
                                     uint32_t max_fragments, uint64_t timeout_ns)
{
    struct vox_defrag_config cfg = {max_bytes, max_datagrams, max_fragments, timeout_ns, NULL};
    struct vox_defrag *d = NULL;

    assert_int_equal(vox_defrag_create(&cfg, &d, NULL), 0);
    assert_non_null(d);
    return d;
}

/* A 1.4 KB datagram in 3 fragments and a 5 KB one in 5 and in 4, in order, reversed, and in
 * 30 shuffles each; then every permutation of 4 fragments. */
static void v4_orders(void **st)
{
    static const size_t s3[] = {480, 480}, s5[] = {1200, 1200, 1200, 1200},
                        s4[] = {1480, 1480, 1480};
    static const struct {
        size_t plen, n;
        const size_t *sizes;
    } cases[] = {{1400, 3, s3}, {5000, 5, s5}, {5000, 4, s4}};
    uint8_t payload[5000];
    struct vox_defrag *d = defrag_new(0, 0, 0, 0);
    struct vox_defrag_stats s;
    size_t c, k, completed = 0;

    (void)st;
    fill_payload(payload, sizeof(payload), 7);
    for (c = 0; c < 3; c++) {
        struct pkt fr[5], whole = v4_whole(payload, cases[c].plen, (uint16_t)(0x100 + c), 17, 20);
        size_t order[5], n = cases[c].n;

        v4_split(fr, payload, cases[c].plen, cases[c].sizes, n, (uint16_t)(0x100 + c), 17, 20);
        identity(order, n);
        feed_expect_whole(d, fr, order, n, 4, &whole);
        for (k = 0; k < n; k++)
            order[k] = n - 1 - k;
        feed_expect_whole(d, fr, order, n, 4, &whole);
        completed += 2;
        for (k = 0; k < 30; k++) {
            identity(order, n);
            shuffle(order, n);
            feed_expect_whole(d, fr, order, n, 4, &whole);
            completed++;
        }
        pkts_free(fr, n);
        free(whole.b);
    }
    /* every permutation of 4 fragments, options in the header (IHL 6) */
    {
        struct pkt fr[4], whole = v4_whole(payload, 2000, 0x4444, 6, 24);
        size_t order[4], a, b, cc, dd;
        static const size_t sz[] = {512, 512, 512};

        v4_split(fr, payload, 2000, sz, 4, 0x4444, 6, 24);
        for (a = 0; a < 4; a++)
            for (b = 0; b < 4; b++)
                for (cc = 0; cc < 4; cc++)
                    for (dd = 0; dd < 4; dd++) {
                        if (a == b || a == cc || a == dd || b == cc || b == dd || cc == dd)
                            continue;
                        order[0] = a;
                        order[1] = b;
                        order[2] = cc;
                        order[3] = dd;
                        feed_expect_whole(d, fr, order, 4, 4, &whole);
                        completed++;
                    }
        pkts_free(fr, 4);
        free(whole.b);
    }
    vox_defrag_stats(d, &s);
    assert_int_equal(s.completed, completed);
    assert_int_equal(s.fragments_held, 0);
    assert_int_equal(s.bytes_held, 0);
    assert_int_equal(s.datagrams_held, 0);
    assert_int_equal(s.duplicates, 0);
    for (k = 0; k < VOX_DEFRAG_DROP__COUNT; k++)
        assert_int_equal(s.dropped[k], 0);
    vox_defrag_destroy(d);
}

/* Each fragment fed twice, and the middle one three times: duplicates ignored and counted. */
static void v4_duplicates(void **st)
{
    uint8_t payload[3000];
    static const size_t sz[] = {1000, 1000};
    struct pkt fr[3], whole;
    struct vox_defrag *d = defrag_new(0, 0, 0, 0);
    struct vox_defrag_out out;
    struct vox_defrag_stats s;
    static const size_t order[] = {1, 1, 0, 1, 0, 2};
    size_t i;

    (void)st;
    fill_payload(payload, sizeof(payload), 3);
    v4_split(fr, payload, 3000, sz, 3, 77, 17, 20);
    whole = v4_whole(payload, 3000, 77, 17, 20);
    for (i = 0; i < 6; i++) {
        int rc = vox_defrag_ipv4(d, fr[order[i]].b, fr[order[i]].len, 5, &out, NULL);

        assert_int_equal(rc, i < 5 ? VOX_DEFRAG_HELD : VOX_DEFRAG_COMPLETE);
    }
    assert_int_equal(out.len_bytes, whole.len);
    assert_memory_equal(out.datagram, whole.b, whole.len);
    vox_defrag_stats(d, &s);
    assert_int_equal(s.fragments_in, 6);
    assert_int_equal(s.duplicates, 3);
    assert_int_equal(s.fragments_reassembled, 3);
    assert_int_equal(s.completed, 1);
    defrag_balance(d);
    pkts_free(fr, 3);
    free(whole.b);
    vox_defrag_destroy(d);
}

/* Overlaps drop the whole datagram (our IPv4 policy, as RFC 5722 for IPv6); its other fragments
 * are discarded as they come, and after its timeout the key is free again. */
static void v4_overlap(void **st)
{
    uint8_t payload[64];
    struct vox_defrag *d = defrag_new(0, 0, 0, 10 * NS_PER_S);
    struct vox_defrag_out out;
    struct vox_defrag_stats s;
    struct vox_diag diag = {{0}};
    struct pkt a, b, c, e, whole;
    size_t order[3] = {0, 1, 2};
    struct pkt fr[3];
    static const size_t sz[] = {16, 16};

    (void)st;
    fill_payload(payload, sizeof(payload), 9);
    a = v4_frag(payload, 0, 16, true, 5, 17, 20);
    b = v4_frag(payload, 8, 16, true, 5, 17, 20); /* bytes 8..24 overlap a's 8..16 */
    c = v4_frag(payload, 24, 40, false, 5, 17, 20);
    e = v4_frag(payload, 16, 8, true, 5, 17, 20);
    assert_int_equal(vox_defrag_ipv4(d, a.b, a.len, 0, &out, NULL), VOX_DEFRAG_HELD);
    assert_int_equal(vox_defrag_ipv4(d, b.b, b.len, 1, &out, &diag), VOX_DEFRAG_DROPPED);
    assert_int_equal(out.reason, VOX_DEFRAG_DROP_OVERLAP);
    assert_non_null(strstr(diag.text, "overlap"));
    assert_string_equal(vox_defrag_drop_name(out.reason), "overlap");
    /* the rest of that datagram never completes it */
    assert_int_equal(vox_defrag_ipv4(d, c.b, c.len, 2, &out, NULL), VOX_DEFRAG_DROPPED);
    assert_int_equal(out.reason, VOX_DEFRAG_DROP_OVERLAP);
    assert_int_equal(vox_defrag_ipv4(d, e.b, e.len, 3, &out, NULL), VOX_DEFRAG_DROPPED);
    vox_defrag_stats(d, &s);
    assert_int_equal(s.dropped[VOX_DEFRAG_DROP_OVERLAP], 1);
    assert_int_equal(s.fragments_discarded, 4);
    assert_int_equal(s.bytes_held, 0);
    assert_int_equal(s.datagrams_held, 1); /* the dead entry */
    defrag_balance(d);
    /* a later fragment that overlaps from the left (new datagram, same key after expiry) */
    assert_int_equal(vox_defrag_expire(d, 11 * NS_PER_S), 0); /* dead entries are not counted */
    vox_defrag_stats(d, &s);
    assert_int_equal(s.datagrams_held, 0);
    assert_int_equal(s.dropped[VOX_DEFRAG_DROP_TIMEOUT], 0);
    assert_int_equal(vox_defrag_ipv4(d, e.b, e.len, 20 * NS_PER_S, &out, NULL), VOX_DEFRAG_HELD);
    assert_int_equal(vox_defrag_ipv4(d, b.b, b.len, 20 * NS_PER_S, &out, NULL), VOX_DEFRAG_DROPPED);
    assert_int_equal(out.reason, VOX_DEFRAG_DROP_OVERLAP);
    /* and the same key works again once the dead entry has expired */
    vox_defrag_expire(d, 40 * NS_PER_S);
    v4_split(fr, payload, 64, sz, 3, 5, 17, 20);
    whole = v4_whole(payload, 64, 5, 17, 20);
    feed_expect_whole(d, fr, order, 3, 4, &whole);
    pkts_free(fr, 3);
    free(a.b);
    free(b.b);
    free(c.b);
    free(e.b);
    free(whole.b);
    vox_defrag_destroy(d);
}

/* Final fragments of 1..7 bytes (the bug lippycat worked around), first and last. */
static void v4_short_last(void **st)
{
    uint8_t payload[1480 + 7];
    struct vox_defrag *d = defrag_new(0, 0, 0, 0);
    unsigned k;

    (void)st;
    fill_payload(payload, sizeof(payload), 1);
    for (k = 1; k <= 7; k++) {
        static const size_t sz[] = {1480};
        struct pkt fr[2], whole = v4_whole(payload, 1480 + k, (uint16_t)k, 17, 20);
        size_t fwd[2] = {0, 1}, rev[2] = {1, 0};

        v4_split(fr, payload, 1480 + k, sz, 2, (uint16_t)k, 17, 20);
        assert_int_equal(fr[1].len, 20 + k);
        feed_expect_whole(d, fr, fwd, 2, 4, &whole);
        feed_expect_whole(d, fr, rev, 2, 4, &whole);
        pkts_free(fr, 2);
        free(whole.b);
    }
    vox_defrag_destroy(d);
}

/* A datagram missing a fragment is dropped after the timeout, by expire() or by a later feed;
 * the missing fragment alone then starts a new datagram. */
static void v4_timeout(void **st)
{
    uint8_t payload[300];
    static const size_t sz[] = {96, 96};
    struct pkt fr[3], other;
    struct vox_defrag *d = defrag_new(0, 0, 0, 5 * NS_PER_S);
    struct vox_defrag_out out;
    struct vox_defrag_stats s;

    (void)st;
    fill_payload(payload, sizeof(payload), 5);
    v4_split(fr, payload, 300, sz, 3, 9, 17, 20);
    other = v4_frag(payload, 0, 96, true, 10, 17, 20);
    assert_int_equal(vox_defrag_ipv4(d, fr[0].b, fr[0].len, NS_PER_S, &out, NULL), 0);
    assert_int_equal(vox_defrag_ipv4(d, fr[2].b, fr[2].len, 2 * NS_PER_S, &out, NULL), 0);
    assert_int_equal(vox_defrag_expire(d, 6 * NS_PER_S), 0); /* 5 s after the first: not yet */
    assert_int_equal(vox_defrag_expire(d, 6 * NS_PER_S + 1), 1);
    vox_defrag_stats(d, &s);
    assert_int_equal(s.dropped[VOX_DEFRAG_DROP_TIMEOUT], 1);
    assert_int_equal(s.fragments_discarded, 2);
    assert_int_equal(s.bytes_held, 0);
    assert_int_equal(s.datagrams_held, 0);
    /* expiry while feeding: datagram 9 again, then another one 6 s later */
    assert_int_equal(vox_defrag_ipv4(d, fr[1].b, fr[1].len, 10 * NS_PER_S, &out, NULL), 0);
    assert_int_equal(vox_defrag_ipv4(d, other.b, other.len, 16 * NS_PER_S, &out, NULL), 0);
    vox_defrag_stats(d, &s);
    assert_int_equal(s.dropped[VOX_DEFRAG_DROP_TIMEOUT], 2);
    assert_int_equal(s.datagrams_held, 1);
    assert_int_equal(s.completed, 0);
    defrag_balance(d);
    pkts_free(fr, 3);
    free(other.b);
    vox_defrag_destroy(d);
}

/* max_bytes: the oldest datagram in progress is evicted for a new one; a datagram that cannot
 * fit at all is dropped. max_datagrams evicts the oldest too. */
static void v4_memory_cap(void **st)
{
    uint8_t payload[4000];
    static const size_t sz[] = {1000, 1000};
    struct pkt a[3], b[3], whole_b, big[2];
    struct vox_defrag *d = defrag_new(3000, 0, 0, 0);
    struct vox_defrag_out out;
    struct vox_defrag_stats s;
    size_t order[3] = {0, 1, 2};
    static const size_t bsz[] = {2000};

    (void)st;
    fill_payload(payload, sizeof(payload), 11);
    v4_split(a, payload, 2500, sz, 3, 1, 17, 20);
    v4_split(b, payload, 2500, sz, 3, 2, 17, 20);
    whole_b = v4_whole(payload, 2500, 2, 17, 20);
    assert_int_equal(vox_defrag_ipv4(d, a[0].b, a[0].len, 1, &out, NULL), 0);
    assert_int_equal(vox_defrag_ipv4(d, a[1].b, a[1].len, 2, &out, NULL), 0);
    vox_defrag_stats(d, &s);
    assert_int_equal(s.bytes_held, 2020); /* 2000 data + the first fragment's header */
    /* b's first fragment (1020 bytes) does not fit beside a: a goes */
    feed_expect_whole(d, b, order, 3, 4, &whole_b);
    vox_defrag_stats(d, &s);
    assert_int_equal(s.dropped[VOX_DEFRAG_DROP_MEMORY], 1);
    assert_true(s.bytes_peak <= 3000);
    /* a's last fragment finds a dead entry */
    assert_int_equal(vox_defrag_ipv4(d, a[2].b, a[2].len, 3, &out, NULL), VOX_DEFRAG_DROPPED);
    assert_int_equal(out.reason, VOX_DEFRAG_DROP_MEMORY);
    /* one fragment larger than the cap */
    v4_split(big, payload, 4000, bsz, 2, 3, 17, 20);
    assert_int_equal(vox_defrag_ipv4(d, big[1].b, big[1].len, 4, &out, NULL),
                     VOX_DEFRAG_HELD); /* 2000 bytes fit */
    assert_int_equal(vox_defrag_ipv4(d, big[0].b, big[0].len, 5, &out, NULL), VOX_DEFRAG_DROPPED);
    assert_int_equal(out.reason, VOX_DEFRAG_DROP_MEMORY);
    vox_defrag_stats(d, &s);
    assert_int_equal(s.dropped[VOX_DEFRAG_DROP_MEMORY], 2);
    assert_int_equal(s.bytes_held, 0);
    defrag_balance(d);
    pkts_free(a, 3);
    pkts_free(b, 3);
    pkts_free(big, 2);
    free(whole_b.b);
    vox_defrag_destroy(d);

    /* max_datagrams = 2: a third datagram evicts the first */
    d = defrag_new(0, 2, 0, 0);
    {
        struct pkt f1 = v4_frag(payload, 0, 8, true, 21, 17, 20);
        struct pkt f2 = v4_frag(payload, 0, 8, true, 22, 17, 20);
        struct pkt f3 = v4_frag(payload, 0, 8, true, 23, 17, 20);

        assert_int_equal(vox_defrag_ipv4(d, f1.b, f1.len, 1, &out, NULL), 0);
        assert_int_equal(vox_defrag_ipv4(d, f2.b, f2.len, 2, &out, NULL), 0);
        assert_int_equal(vox_defrag_ipv4(d, f3.b, f3.len, 3, &out, NULL), 0);
        vox_defrag_stats(d, &s);
        assert_int_equal(s.dropped[VOX_DEFRAG_DROP_MEMORY], 1);
        assert_int_equal(s.datagrams_held, 2);
        assert_int_equal(s.datagrams_peak, 2);
        defrag_balance(d);
        free(f1.b);
        free(f2.b);
        free(f3.b);
    }
    vox_defrag_destroy(d); /* frees what is held: ASan checks for leaks */
}

/* Over 65535 bytes: the highest offset (65528) with 16 bytes, and with 8 bytes (fits). */
static void v4_too_big(void **st)
{
    uint8_t *payload = calloc(1, 65600);
    struct vox_defrag *d = defrag_new(0, 0, 0, 0);
    struct vox_defrag_out out;
    struct vox_defrag_stats s;
    struct pkt over, fits;

    (void)st;
    assert_non_null(payload);
    over = v4_frag(payload, 65528, 16, false, 1, 17, 20);
    fits = v4_frag(payload, 65504, 8, false, 2, 17, 20);
    assert_int_equal(vox_defrag_ipv4(d, over.b, over.len, 0, &out, NULL), VOX_DEFRAG_DROPPED);
    assert_int_equal(out.reason, VOX_DEFRAG_DROP_TOO_BIG);
    assert_int_equal(vox_defrag_ipv4(d, fits.b, fits.len, 0, &out, NULL), VOX_DEFRAG_HELD);
    vox_defrag_stats(d, &s);
    assert_int_equal(s.dropped[VOX_DEFRAG_DROP_TOO_BIG], 1);
    defrag_balance(d);
    free(over.b);
    free(fits.b);
    free(payload);
    vox_defrag_destroy(d);
}

/* Three datagrams interleaved: two IDs, and one ID again with another protocol (part of the
 * RFC 791 key). */
static void v4_interleaved(void **st)
{
    uint8_t p1[1400], p2[1400], p3[1400];
    static const size_t sz[] = {400, 400, 400};
    struct pkt f[3][4], w[3];
    struct vox_defrag *d = defrag_new(0, 0, 0, 0);
    struct vox_defrag_out out;
    struct vox_defrag_stats s;
    size_t i, k, done = 0;
    bool seen[3] = {false, false, false};

    (void)st;
    fill_payload(p1, sizeof(p1), 1);
    fill_payload(p2, sizeof(p2), 2);
    fill_payload(p3, sizeof(p3), 3);
    v4_split(f[0], p1, 1400, sz, 4, 100, 17, 20);
    v4_split(f[1], p2, 1400, sz, 4, 101, 17, 20);
    v4_split(f[2], p3, 1400, sz, 4, 100, 6, 20);
    w[0] = v4_whole(p1, 1400, 100, 17, 20);
    w[1] = v4_whole(p2, 1400, 101, 17, 20);
    w[2] = v4_whole(p3, 1400, 100, 6, 20);
    for (k = 0; k < 4; k++)
        for (i = 0; i < 3; i++) {
            const struct pkt *p = &f[i][3 - k];
            int rc = vox_defrag_ipv4(d, p->b, p->len, 1, &out, NULL);

            if (k < 3) {
                assert_int_equal(rc, VOX_DEFRAG_HELD);
                continue;
            }
            assert_int_equal(rc, VOX_DEFRAG_COMPLETE);
            assert_int_equal(out.len_bytes, w[i].len);
            assert_memory_equal(out.datagram, w[i].b, w[i].len);
            seen[i] = true;
            done++;
        }
    assert_int_equal(done, 3);
    assert_true(seen[0] && seen[1] && seen[2]);
    vox_defrag_stats(d, &s);
    assert_int_equal(s.completed, 3);
    assert_int_equal(s.datagrams_peak, 3);
    for (i = 0; i < 3; i++) {
        pkts_free(f[i], 4);
        free(w[i].b);
    }
    vox_defrag_destroy(d);
}

/* Bad fragments and non-fragments. */
static void v4_malformed_and_passthrough(void **st)
{
    uint8_t payload[200], raw[64];
    struct vox_defrag *d = defrag_new(0, 0, 4, 0);
    struct vox_defrag_out out;
    struct vox_defrag_stats s;
    struct vox_diag diag = {{0}};
    struct pkt odd = v4_frag(payload, 0, 12, true, 1, 17, 20); /* MF with 12 bytes */
    struct pkt empty = v4_frag(payload, 8, 0, true, 2, 17, 20);
    struct pkt whole = v4_whole(payload, 30, 3, 17, 20), padded = pkt_new(60);
    struct pkt many[6];
    static const size_t sz[] = {8, 8, 8, 8, 8};
    size_t i;

    (void)st;
    fill_payload(payload, sizeof(payload), 4);
    assert_int_equal(vox_defrag_ipv4(d, odd.b, odd.len, 0, &out, &diag), VOX_DEFRAG_DROPPED);
    assert_int_equal(out.reason, VOX_DEFRAG_DROP_MALFORMED);
    assert_non_null(strstr(diag.text, "multiple of 8"));
    assert_int_equal(vox_defrag_ipv4(d, empty.b, empty.len, 0, &out, NULL), VOX_DEFRAG_DROPPED);
    /* not a fragment: returned as is, Ethernet padding cut off */
    memcpy(padded.b, whole.b, whole.len);
    assert_int_equal(vox_defrag_ipv4(d, padded.b, padded.len, 0, &out, NULL), VOX_DEFRAG_COMPLETE);
    assert_ptr_equal(out.datagram, padded.b);
    assert_int_equal(out.len_bytes, 50);
    /* truncated capture of a fragment; garbage; short */
    assert_int_equal(vox_defrag_ipv4(d, odd.b, 25, 0, &out, NULL), VOX_DEFRAG_DROPPED);
    assert_int_equal(out.reason, VOX_DEFRAG_DROP_MALFORMED);
    memset(raw, 0xff, sizeof(raw));
    assert_int_equal(vox_defrag_ipv4(d, raw, sizeof(raw), 0, &out, &diag), VOX_DEFRAG_DROPPED);
    assert_int_equal(out.reason, VOX_DEFRAG_DROP_MALFORMED);
    assert_int_equal(vox_defrag_ipv4(d, raw, 3, 0, &out, NULL), VOX_DEFRAG_DROPPED);
    assert_int_equal(vox_defrag_ipv4(d, NULL, 3, 0, &out, NULL), VOX_EINVAL);
    assert_int_equal(vox_defrag_ipv4(NULL, raw, 3, 0, &out, NULL), VOX_EINVAL);
    /* more than max_fragments (4) */
    v4_split(many, payload, 48, sz, 6, 50, 17, 20);
    for (i = 0; i < 4; i++)
        assert_int_equal(vox_defrag_ipv4(d, many[i].b, many[i].len, 0, &out, NULL), 0);
    assert_int_equal(vox_defrag_ipv4(d, many[4].b, many[4].len, 0, &out, NULL), VOX_DEFRAG_DROPPED);
    assert_int_equal(out.reason, VOX_DEFRAG_DROP_FRAGMENTS);
    /* a second, different end */
    {
        struct pkt e1 = v4_frag(payload, 16, 8, false, 60, 17, 20);
        struct pkt e2 = v4_frag(payload, 16, 16, false, 60, 17, 20);

        assert_int_equal(vox_defrag_ipv4(d, e1.b, e1.len, 0, &out, NULL), 0);
        assert_int_equal(vox_defrag_ipv4(d, e2.b, e2.len, 0, &out, NULL), VOX_DEFRAG_DROPPED);
        assert_int_equal(out.reason, VOX_DEFRAG_DROP_MALFORMED);
        free(e1.b);
        free(e2.b);
    }
    vox_defrag_stats(d, &s);
    /* odd, empty, two unkeyed, e2; the truncated odd found odd's dead entry */
    assert_int_equal(s.dropped[VOX_DEFRAG_DROP_MALFORMED], 5);
    assert_int_equal(s.dropped[VOX_DEFRAG_DROP_FRAGMENTS], 1);
    assert_int_equal(s.completed, 0);
    defrag_balance(d);
    pkts_free(many, 6);
    free(odd.b);
    free(empty.b);
    free(whole.b);
    free(padded.b);
    vox_defrag_destroy(d);
}

/* ---- IPv6 fragments ----------------------------------------------------------------------------
 */

static const uint8_t src6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
static const uint8_t dst6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};

/* The IPv6 header and, with `dopts`, an 8-byte Destination Options header (RFC 8200 §4.6)
 * naming `nh`; returns the length written (40 or 48) and the offset of the Next Header byte
 * that names what follows the unfragmentable part. */
static size_t v6_unfrag(uint8_t *h, size_t payload_len, bool dopts, uint8_t nh, size_t *nh_off)
{
    h[0] = 0x60;
    h[1] = h[2] = h[3] = 0;
    h[4] = (uint8_t)(payload_len >> 8);
    h[5] = (uint8_t)payload_len;
    h[7] = 64;
    memcpy(h + 8, src6, 16);
    memcpy(h + 24, dst6, 16);
    if (!dopts) {
        h[6] = nh;
        *nh_off = 6;
        return 40;
    }
    h[6] = 60;
    h[40] = nh;
    h[41] = 0;
    h[42] = 1; /* PadN, 4 bytes */
    h[43] = 4;
    memset(h + 44, 0, 4);
    *nh_off = 40;
    return 48;
}

static struct pkt v6_whole(const uint8_t *payload, size_t plen, bool dopts)
{
    size_t u = dopts ? 48 : 40, nh_off;
    struct pkt p = pkt_new(u + plen);

    v6_unfrag(p.b, u - 40 + plen, dopts, 17, &nh_off);
    memcpy(p.b + u, payload, plen);
    return p;
}

static struct pkt v6_frag(const uint8_t *payload, uint32_t off, uint32_t len, bool more,
                          uint32_t id, bool dopts)
{
    size_t u = dopts ? 48 : 40, nh_off;
    struct pkt p = pkt_new(u + 8 + len);
    uint8_t *f = p.b + u;

    v6_unfrag(p.b, u - 40 + 8 + len, dopts, 44, &nh_off);
    f[0] = 17;
    f[1] = 0;
    f[2] = (uint8_t)(off >> 8);
    f[3] = (uint8_t)((off & 0xf8) | (more ? 1 : 0));
    f[4] = (uint8_t)(id >> 24);
    f[5] = (uint8_t)(id >> 16);
    f[6] = (uint8_t)(id >> 8);
    f[7] = (uint8_t)id;
    memcpy(f + 8, payload + off, len);
    return p;
}

static void v6_split(struct pkt *out, const uint8_t *payload, size_t plen, const size_t *sizes,
                     size_t n, uint32_t id, bool dopts)
{
    size_t i, off = 0;

    for (i = 0; i < n; i++) {
        size_t len = i + 1 == n ? plen - off : sizes[i];

        out[i] = v6_frag(payload, (uint32_t)off, (uint32_t)len, i + 1 < n, id, dopts);
        off += len;
    }
}

/* In order, reversed, shuffled, with and without an extension header before the Fragment
 * header, short last fragments, and the IPv4 datagram with the same number as ID. */
static void v6_basics(void **st)
{
    uint8_t payload[5003];
    static const size_t sz[] = {1232, 1232, 1232, 1232};
    struct vox_defrag *d = defrag_new(0, 0, 0, 0);
    struct vox_defrag_stats s;
    int dopts;
    size_t k, completed = 0;

    (void)st;
    fill_payload(payload, sizeof(payload), 6);
    for (dopts = 0; dopts < 2; dopts++) {
        struct pkt fr[5], whole = v6_whole(payload, 5003, dopts);
        size_t order[5];

        v6_split(fr, payload, 5003, sz, 5, 0xdeadbeefu, dopts);
        assert_int_equal(fr[4].len, (dopts ? 48u : 40u) + 8 + 75);
        identity(order, 5);
        feed_expect_whole(d, fr, order, 5, 6, &whole);
        for (k = 0; k < 5; k++)
            order[k] = 4 - k;
        feed_expect_whole(d, fr, order, 5, 6, &whole);
        completed += 2;
        for (k = 0; k < 20; k++) {
            identity(order, 5);
            shuffle(order, 5);
            feed_expect_whole(d, fr, order, 5, 6, &whole);
            completed++;
        }
        pkts_free(fr, 5);
        free(whole.b);
    }
    for (k = 1; k <= 7; k++) {
        static const size_t one[] = {1232};
        struct pkt fr[2], whole = v6_whole(payload, 1232 + k, false);
        size_t rev[2] = {1, 0};

        v6_split(fr, payload, 1232 + k, one, 2, (uint32_t)k, false);
        feed_expect_whole(d, fr, rev, 2, 6, &whole);
        completed++;
        pkts_free(fr, 2);
        free(whole.b);
    }
    /* IPv4 and IPv6 with the same ID at the same time do not mix */
    {
        static const size_t one[] = {96};
        struct pkt f4[2], f6[2], w4 = v4_whole(payload, 100, 7, 17, 20);
        struct pkt w6 = v6_whole(payload + 1, 100, false);
        struct vox_defrag_out out;

        v4_split(f4, payload, 100, one, 2, 7, 17, 20);
        v6_split(f6, payload + 1, 100, one, 2, 7, false);
        assert_int_equal(vox_defrag_ipv4(d, f4[0].b, f4[0].len, 1, &out, NULL), 0);
        assert_int_equal(vox_defrag_ipv6(d, f6[0].b, f6[0].len, 1, &out, NULL), 0);
        assert_int_equal(vox_defrag_ipv6(d, f6[1].b, f6[1].len, 1, &out, NULL), 1);
        assert_memory_equal(out.datagram, w6.b, w6.len);
        assert_int_equal(vox_defrag_ipv4(d, f4[1].b, f4[1].len, 1, &out, NULL), 1);
        assert_memory_equal(out.datagram, w4.b, w4.len);
        completed += 2;
        pkts_free(f4, 2);
        pkts_free(f6, 2);
        free(w4.b);
        free(w6.b);
    }
    vox_defrag_stats(d, &s);
    assert_int_equal(s.completed, completed);
    assert_int_equal(s.bytes_held, 0);
    assert_int_equal(s.datagrams_held, 0);
    vox_defrag_destroy(d);
}

/* RFC 5722 overlap, RFC 8200 misaligned and too big, RFC 6946 atomic fragment, pass-through,
 * duplicates and the timeout. */
static void v6_rules(void **st)
{
    uint8_t payload[256];
    struct vox_defrag *d = defrag_new(0, 0, 0, 3 * NS_PER_S);
    struct vox_defrag_out out;
    struct vox_defrag_stats s;
    uint8_t *zeros = calloc(1, 65600);
    struct pkt a, b, odd, atomic, whole, plain, t1, big;

    (void)st;
    assert_non_null(zeros);
    fill_payload(payload, sizeof(payload), 8);
    a = v6_frag(payload, 0, 64, true, 1, false);
    b = v6_frag(payload, 56, 64, true, 1, false);
    odd = v6_frag(payload, 0, 60, true, 2, false);
    atomic = v6_frag(payload, 0, 100, false, 3, true);
    whole = v6_whole(payload, 100, true);
    plain = v6_whole(payload, 20, false);
    t1 = v6_frag(payload, 0, 64, true, 4, false);
    big = v6_frag(zeros, 65528, 16, false, 5, false);

    assert_int_equal(vox_defrag_ipv6(d, a.b, a.len, 0, &out, NULL), VOX_DEFRAG_HELD);
    assert_int_equal(vox_defrag_ipv6(d, a.b, a.len, 0, &out, NULL), VOX_DEFRAG_HELD); /* dup */
    assert_int_equal(vox_defrag_ipv6(d, b.b, b.len, 0, &out, NULL), VOX_DEFRAG_DROPPED);
    assert_int_equal(out.reason, VOX_DEFRAG_DROP_OVERLAP);
    assert_int_equal(vox_defrag_ipv6(d, odd.b, odd.len, 0, &out, NULL), VOX_DEFRAG_DROPPED);
    assert_int_equal(out.reason, VOX_DEFRAG_DROP_MALFORMED);
    assert_int_equal(vox_defrag_ipv6(d, big.b, big.len, 0, &out, NULL), VOX_DEFRAG_DROPPED);
    assert_int_equal(out.reason, VOX_DEFRAG_DROP_TOO_BIG);
    /* atomic fragment: back at once, without its Fragment header */
    assert_int_equal(vox_defrag_ipv6(d, atomic.b, atomic.len, 0, &out, NULL), VOX_DEFRAG_COMPLETE);
    assert_int_equal(out.len_bytes, whole.len);
    assert_memory_equal(out.datagram, whole.b, whole.len);
    /* no Fragment header: as is */
    assert_int_equal(vox_defrag_ipv6(d, plain.b, plain.len, 0, &out, NULL), VOX_DEFRAG_COMPLETE);
    assert_ptr_equal(out.datagram, plain.b);
    assert_int_equal(out.len_bytes, 60);
    /* truncated, jumbogram, garbage */
    assert_int_equal(vox_defrag_ipv6(d, a.b, a.len - 1, 0, &out, NULL), VOX_DEFRAG_DROPPED);
    plain.b[4] = plain.b[5] = 0;
    assert_int_equal(vox_defrag_ipv6(d, plain.b, plain.len, 0, &out, NULL), VOX_DEFRAG_DROPPED);
    assert_int_equal(vox_defrag_ipv6(d, payload, 40, 0, &out, NULL), VOX_DEFRAG_DROPPED);
    /* timeout */
    assert_int_equal(vox_defrag_ipv6(d, t1.b, t1.len, NS_PER_S, &out, NULL), VOX_DEFRAG_HELD);
    assert_int_equal(vox_defrag_expire(d, 5 * NS_PER_S), 1);
    vox_defrag_stats(d, &s);
    assert_int_equal(s.dropped[VOX_DEFRAG_DROP_OVERLAP], 1);
    assert_int_equal(s.dropped[VOX_DEFRAG_DROP_TOO_BIG], 1);
    assert_int_equal(s.dropped[VOX_DEFRAG_DROP_TIMEOUT], 1);
    assert_int_equal(s.dropped[VOX_DEFRAG_DROP_MALFORMED], 4);
    assert_int_equal(s.duplicates, 1);
    assert_int_equal(s.completed, 1);
    assert_int_equal(s.datagrams_held, 0);
    assert_int_equal(s.bytes_held, 0);
    defrag_balance(d);
    free(a.b);
    free(b.b);
    free(odd.b);
    free(atomic.b);
    free(whole.b);
    free(plain.b);
    free(t1.b);
    free(big.b);
    free(zeros);
    vox_defrag_destroy(d);
}

/* ---- TCP: SIP messages -------------------------------------------------------------------------
 */

/* A SIP message with a Content-Length body of exactly body_len bytes. */
static size_t sip_msg(char *out, size_t cap, const char *start_line, int n, size_t body_len)
{
    int h = snprintf(out, cap,
                     "%s\r\n"
                     "Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK-%d\r\n"
                     "Max-Forwards: 70\r\n"
                     "From: <sip:alice@example.com>;tag=a%d\r\n"
                     "To: <sip:bob@example.com>\r\n"
                     "Call-ID: call-%d@example.com\r\n"
                     "CSeq: %d INVITE\r\n"
                     "Contact: <sip:alice@192.0.2.1:5060;transport=tcp>\r\n"
                     "Content-Type: application/sdp\r\n"
                     "Content-Length: %zu\r\n"
                     "\r\n",
                     start_line, n, n, n, n + 1, body_len);
    size_t i;

    assert_true(h > 0 && (size_t)h + body_len <= cap);
    for (i = 0; i < body_len; i++)
        out[h + i] = (i % 64 == 62) ? '\r' : (i % 64 == 63) ? '\n' : (char)('a' + (i + n) % 26);
    if (body_len >= 2) {
        out[h + body_len - 2] = '\r'; /* bodies (SDP) end with CRLF */
        out[h + body_len - 1] = '\n';
    }
    return (size_t)h + body_len;
}

static size_t invite(char *out, size_t cap, int n, size_t body_len)
{
    return sip_msg(out, cap, "INVITE sip:bob@example.com SIP/2.0", n, body_len);
}

static size_t ok200(char *out, size_t cap, int n, size_t body_len)
{
    return sip_msg(out, cap, "SIP/2.0 200 OK", n, body_len);
}

#define SINK_MAX 64

/* What on_msg saw. */
struct sink {
    size_t n;
    char *msg[SINK_MAX];
    size_t len[SINK_MAX];
    uint64_t ts[SINK_MAX];
    struct vox_cap_tuple t[SINK_MAX];
    const uint8_t *ptr[SINK_MAX]; /* where the bytes were (zero-copy checks) */
};

static void on_msg(void *user, const struct vox_cap_tuple *t, const uint8_t *msg, size_t len,
                   uint64_t ts_ns)
{
    struct sink *k = user;
    struct vox_sip_frame f;

    assert_true(k->n < SINK_MAX);
    /* every message delivered is exactly one framed message */
    assert_int_equal(vox_sip_frame((const char *)msg, len, VOX_SIP_TRANSPORT_STREAM, &f, NULL), 0);
    assert_int_equal(f.skip, 0);
    assert_int_equal(f.len, len);
    k->msg[k->n] = malloc(len);
    assert_non_null(k->msg[k->n]);
    memcpy(k->msg[k->n], msg, len);
    k->len[k->n] = len;
    k->ts[k->n] = ts_ns;
    k->t[k->n] = *t;
    k->ptr[k->n] = msg;
    k->n++;
}

static void sink_clear(struct sink *k)
{
    size_t i;

    for (i = 0; i < k->n; i++)
        free(k->msg[i]);
    memset(k, 0, sizeof(*k));
}

static void assert_msg(const struct sink *k, size_t i, const char *m, size_t len)
{
    assert_true(i < k->n);
    assert_int_equal(k->len[i], len);
    assert_memory_equal(k->msg[i], m, len);
}

static struct vox_cap_tuple tuple_ab(void)
{
    struct vox_cap_tuple t;
    static const uint8_t a[4] = {10, 0, 0, 1}, b[4] = {10, 0, 0, 2};

    memset(&t, 0, sizeof(t));
    vox_cap_addr_v4(t.src, a);
    vox_cap_addr_v4(t.dst, b);
    t.sport = 40000;
    t.dport = 5060;
    t.family = 4;
    t.proto = 6;
    return t;
}

static struct vox_tcpreasm *reasm_new(struct sink *k, uint32_t max_streams, size_t max_bytes,
                                      size_t max_msg, uint64_t timeout_ns, uint64_t gap_ns)
{
    struct vox_tcpreasm_config cfg = {.max_streams = max_streams,
                                      .max_bytes = max_bytes,
                                      .max_msg_bytes = max_msg,
                                      .timeout_ns = timeout_ns,
                                      .gap_timeout_ns = gap_ns,
                                      .on_msg = on_msg,
                                      .user = k};
    struct vox_tcpreasm *r = NULL;

    memset(k, 0, sizeof(*k));
    assert_int_equal(vox_tcpreasm_create(&cfg, &r, NULL), 0);
    return r;
}

static void tcp_balance(const struct vox_tcpreasm *r)
{
    struct vox_tcpreasm_stats s;

    vox_tcpreasm_stats(r, &s);
    assert_int_equal(s.bytes, s.bytes_delivered + s.keepalive_bytes + s.retransmitted_bytes +
                                  s.bytes_discarded + s.bytes_held);
    assert_true(s.bytes_held <= s.bytes_peak);
}

/* Feeds stream[from..to) at isn + 1 + from. */
static void seg(struct vox_tcpreasm *r, const struct vox_cap_tuple *t, uint32_t isn,
                const char *stream, size_t from, size_t to, uint64_t ts)
{
    assert_int_equal(vox_tcpreasm_segment(r, t, isn + 1 + (uint32_t)from, VOX_CAP_TCP_ACK,
                                          (const uint8_t *)stream + from, to - from, ts),
                     0);
}

static void syn(struct vox_tcpreasm *r, const struct vox_cap_tuple *t, uint32_t isn)
{
    assert_int_equal(vox_tcpreasm_segment(r, t, isn, VOX_CAP_TCP_SYN, NULL, 0, 0), 0);
}

/* Cuts [0, len) into n pieces at fixed points. */
static void cuts(size_t len, size_t n, size_t *at)
{
    size_t i;

    for (i = 0; i <= n; i++)
        at[i] = len * i / n;
}

/* A 3 KB INVITE in 7 segments: in order (on_msg once, at the 7th, with its timestamp), then
 * shuffled many times, with ISNs at and across the 2^32 wrap. */
static void tcp_invite_7_segments(void **st)
{
    static char m[4096];
    static const uint32_t isns[] = {1000, 0xffffff00u, 0xfffffffeu, 0xffffffffu};
    size_t len = invite(m, sizeof(m), 1, 2800), at[8], order[7];
    struct vox_cap_tuple t = tuple_ab();
    struct sink k;
    struct vox_tcpreasm *r;
    struct vox_tcpreasm_stats s;
    size_t i, round, ii;

    (void)st;
    assert_true(len > 3000);
    cuts(len, 7, at);
    for (ii = 0; ii < 4; ii++) {
        r = reasm_new(&k, 0, 0, 0, 0, 0);
        syn(r, &t, isns[ii]);
        for (i = 0; i < 7; i++) {
            seg(r, &t, isns[ii], m, at[i], at[i + 1], 100 + i);
            assert_int_equal(k.n, i == 6 ? 1 : 0);
        }
        assert_msg(&k, 0, m, len);
        assert_int_equal(k.ts[0], 106);
        assert_true(vox_cap_tuple_eq(&k.t[0], &t));
        vox_tcpreasm_stats(r, &s);
        assert_int_equal(s.messages, 1);
        assert_int_equal(s.out_of_order, 0);
        assert_int_equal(s.retransmitted_bytes, 0);
        assert_int_equal(s.bytes_held, 0);
        assert_int_equal(s.streams_open, 1);
        tcp_balance(r);
        sink_clear(&k);
        vox_tcpreasm_destroy(r);
    }
    for (round = 0; round < 40; round++) {
        uint32_t isn = isns[round % 4];

        r = reasm_new(&k, 0, 0, 0, 0, 0);
        syn(r, &t, isn);
        identity(order, 7);
        shuffle(order, 7);
        for (i = 0; i < 7; i++)
            seg(r, &t, isn, m, at[order[i]], at[order[i] + 1], 200 + i);
        assert_int_equal(k.n, 1);
        assert_msg(&k, 0, m, len);
        vox_tcpreasm_stats(r, &s);
        assert_int_equal(s.bytes_held, 0);
        assert_int_equal(s.resyncs + s.malformed + s.gaps_skipped + s.bytes_discarded, 0);
        tcp_balance(r);
        sink_clear(&k);
        vox_tcpreasm_destroy(r);
    }
}

/* Retransmissions and partial overlaps, shuffled: the message comes out once, intact, and
 * every byte offered beyond it is counted retransmitted. Overlapping copies carry different
 * bytes: the first copy wins. */
static void tcp_retransmissions(void **st)
{
    static char m[4096];
    static char junk[4096];
    size_t len = invite(m, sizeof(m), 2, 2600), round;
    struct vox_cap_tuple t = tuple_ab();

    (void)st;
    memset(junk, 'X', sizeof(junk));
    for (round = 0; round < 30; round++) {
        struct sink k;
        struct vox_tcpreasm *r = reasm_new(&k, 0, 0, 0, 0, 0);
        struct vox_tcpreasm_stats s;
        size_t from[16], to[16], order[16], n = 0, i, offered = 0, pos = 0;

        /* overlapping pieces covering the message, then full duplicates of some */
        while (pos < len) {
            size_t start = pos > 100 ? pos - rnd() % 100 : 0, end = pos + 300 + rnd() % 400;

            from[n] = start;
            to[n] = end < len ? end : len;
            pos = to[n];
            n++;
        }
        from[n] = 0;
        to[n] = 500;
        n++;
        from[n] = len - 200;
        to[n] = len;
        n++;
        identity(order, n);
        shuffle(order, n);
        syn(r, &t, 5000);
        for (i = 0; i < n; i++) {
            seg(r, &t, 5000, m, from[order[i]], to[order[i]], i);
            offered += to[order[i]] - from[order[i]];
        }
        assert_int_equal(k.n, 1);
        assert_msg(&k, 0, m, len);
        /* once delivered, a retransmission with other bytes changes nothing */
        assert_int_equal(vox_tcpreasm_segment(r, &t, 5001, 0, (const uint8_t *)junk, len, 99), 0);
        assert_int_equal(k.n, 1);
        vox_tcpreasm_stats(r, &s);
        /* (offered - len) of overlaps, then the whole junk copy */
        assert_int_equal(s.retransmitted_bytes, offered);
        assert_int_equal(s.bytes_delivered, len);
        assert_int_equal(s.bytes_held, 0);
        tcp_balance(r);
        sink_clear(&k);
        vox_tcpreasm_destroy(r);
    }
    /* out-of-order copies: the first one held wins, byte for byte */
    {
        struct sink k;
        struct vox_tcpreasm *r = reasm_new(&k, 0, 0, 0, 0, 0);
        struct vox_tcpreasm_stats s;

        syn(r, &t, 0);
        seg(r, &t, 0, m, 1000, 2000, 1);
        /* 900..2100 garbled: only 900..1000 and 2000..2100 are new */
        assert_int_equal(vox_tcpreasm_segment(r, &t, 1 + 900, 0, (const uint8_t *)junk, 1200, 2),
                         0);
        seg(r, &t, 0, m, 900, 1000, 3);
        seg(r, &t, 0, m, 2000, len, 4);
        assert_int_equal(k.n, 0);
        seg(r, &t, 0, m, 0, 900, 5);
        assert_int_equal(k.n, 1);
        assert_int_equal(k.len[0], len);
        assert_memory_equal(k.msg[0], m, 900);
        assert_memory_equal(k.msg[0] + 900, junk, 100);
        assert_memory_equal(k.msg[0] + 1000, m + 1000, 1000);
        assert_memory_equal(k.msg[0] + 2000, junk, 100);
        assert_memory_equal(k.msg[0] + 2100, m + 2100, len - 2100);
        assert_int_equal(k.ts[0], 5);
        vox_tcpreasm_stats(r, &s);
        assert_int_equal(s.retransmitted_bytes, 1000 + 100 + 100);
        assert_int_equal(s.out_of_order, 4);
        tcp_balance(r);
        sink_clear(&k);
        vox_tcpreasm_destroy(r);
    }
}

/* Two messages in one segment (both straight from the payload, no copy); a message split, then
 * two more in the next segment; CRLF keep-alives between and alone. */
static void tcp_boundaries(void **st)
{
    static char a[2048], b[2048], c[2048], buf[8192];
    size_t la = invite(a, sizeof(a), 10, 300), lb = ok200(b, sizeof(b), 11, 0);
    size_t lc = invite(c, sizeof(c), 12, 150), n = 0;
    struct vox_cap_tuple t = tuple_ab();
    struct sink k;
    struct vox_tcpreasm *r = reasm_new(&k, 0, 0, 0, 0, 0);
    struct vox_tcpreasm_stats s;
    uint32_t seq = 101;

    (void)st;
    syn(r, &t, 100);
    /* A B in one segment */
    memcpy(buf, a, la);
    memcpy(buf + la, b, lb);
    assert_int_equal(vox_tcpreasm_segment(r, &t, seq, 0, (uint8_t *)buf, la + lb, 1), 0);
    seq += (uint32_t)(la + lb);
    assert_int_equal(k.n, 2);
    assert_msg(&k, 0, a, la);
    assert_msg(&k, 1, b, lb);
    assert_ptr_equal(k.ptr[0], (uint8_t *)buf);
    assert_ptr_equal(k.ptr[1], (uint8_t *)buf + la);
    /* C split: its first 100 bytes, then the rest followed by A and B */
    n = 0;
    memcpy(buf, c, lc);
    n += lc;
    memcpy(buf + n, a, la);
    n += la;
    memcpy(buf + n, b, lb);
    n += lb;
    assert_int_equal(vox_tcpreasm_segment(r, &t, seq, 0, (uint8_t *)buf, 100, 2), 0);
    assert_int_equal(k.n, 2);
    assert_int_equal(vox_tcpreasm_segment(r, &t, seq + 100, 0, (uint8_t *)buf + 100, n - 100, 3),
                     0);
    seq += (uint32_t)n;
    assert_int_equal(k.n, 5);
    assert_msg(&k, 2, c, lc);
    assert_msg(&k, 3, a, la);
    assert_msg(&k, 4, b, lb);
    assert_int_equal(k.ts[2], 3);
    /* keep-alives: alone, split in the middle of a CRLF, and before a message */
    assert_int_equal(vox_tcpreasm_segment(r, &t, seq, 0, (const uint8_t *)"\r\n\r\n", 4, 4), 0);
    assert_int_equal(vox_tcpreasm_segment(r, &t, seq + 4, 0, (const uint8_t *)"\r\n\r", 3, 5), 0);
    memcpy(buf, "\n\r\n\r\n", 5);
    memcpy(buf + 5, b, lb);
    assert_int_equal(vox_tcpreasm_segment(r, &t, seq + 7, 0, (uint8_t *)buf, 5 + lb, 6), 0);
    assert_int_equal(k.n, 6);
    assert_msg(&k, 5, b, lb);
    vox_tcpreasm_stats(r, &s);
    assert_int_equal(s.keepalive_bytes, 12);
    assert_int_equal(s.messages, 6);
    assert_int_equal(s.malformed + s.resyncs + s.bytes_discarded, 0);
    assert_int_equal(s.bytes_held, 0);
    tcp_balance(r);
    sink_clear(&k);
    vox_tcpreasm_destroy(r);
}

/* Capture began mid-call: the first segment (no SYN) starts inside a message body; the stream
 * resynchronises on the next start line. A stream that starts cleanly needs no resync. */
static void tcp_mid_message_start(void **st)
{
    static char a[4096], b[2048], buf[8192];
    size_t la = invite(a, sizeof(a), 20, 1000), lb = ok200(b, sizeof(b), 21, 10), tail = 700;
    struct vox_cap_tuple t = tuple_ab();
    struct sink k;
    struct vox_tcpreasm *r = reasm_new(&k, 0, 0, 0, 0, 0);
    struct vox_tcpreasm_stats s;

    (void)st;
    /* the last 700 bytes of A (inside its body), then half of B; then the rest of B */
    memcpy(buf, a + la - tail, tail);
    memcpy(buf + tail, b, lb);
    assert_int_equal(
        vox_tcpreasm_segment(r, &t, 777777, VOX_CAP_TCP_ACK, (uint8_t *)buf, tail + lb / 2, 1), 0);
    assert_int_equal(k.n, 0);
    assert_int_equal(vox_tcpreasm_segment(r, &t, 777777 + (uint32_t)(tail + lb / 2),
                                          VOX_CAP_TCP_ACK, (uint8_t *)buf + tail + lb / 2,
                                          lb - lb / 2, 2),
                     0);
    assert_int_equal(k.n, 1);
    assert_msg(&k, 0, b, lb);
    vox_tcpreasm_stats(r, &s);
    assert_int_equal(s.resyncs, 1);
    assert_int_equal(s.bytes_discarded, tail);
    assert_int_equal(s.malformed, 0);
    tcp_balance(r);
    sink_clear(&k);
    vox_tcpreasm_destroy(r);

    /* no SYN, but the first segment starts with a message */
    r = reasm_new(&k, 0, 0, 0, 0, 0);
    assert_int_equal(vox_tcpreasm_segment(r, &t, 5, VOX_CAP_TCP_ACK, (uint8_t *)b, lb, 1), 0);
    assert_int_equal(k.n, 1);
    vox_tcpreasm_stats(r, &s);
    assert_int_equal(s.resyncs + s.bytes_discarded, 0);
    /* pure ACKs and FINs do not create streams */
    t.sport++;
    assert_int_equal(vox_tcpreasm_segment(r, &t, 5, VOX_CAP_TCP_ACK, NULL, 0, 1), 0);
    assert_int_equal(vox_tcpreasm_segment(r, &t, 5, VOX_CAP_TCP_FIN, (uint8_t *)b, 10, 1), 0);
    vox_tcpreasm_stats(r, &s);
    assert_int_equal(s.streams_open, 1);
    tcp_balance(r);
    sink_clear(&k);
    vox_tcpreasm_destroy(r);
}

/* Garbage between messages: counted, skipped, the next message still comes. */
static void tcp_garbage(void **st)
{
    static char a[2048], buf[8192];
    size_t la = invite(a, sizeof(a), 30, 100), n;
    static const char junk[] = "HELLO WORLD THIS IS NOT SIP\r\n\x01\x02garbage\nmore: x\r\n";
    struct vox_cap_tuple t = tuple_ab();
    struct sink k;
    struct vox_tcpreasm *r = reasm_new(&k, 0, 0, 0, 0, 0);
    struct vox_tcpreasm_stats s;

    (void)st;
    memcpy(buf, a, la);
    memcpy(buf + la, junk, sizeof(junk) - 1);
    memcpy(buf + la + sizeof(junk) - 1, a, la);
    n = 2 * la + sizeof(junk) - 1;
    syn(r, &t, 0);
    assert_int_equal(vox_tcpreasm_segment(r, &t, 1, 0, (uint8_t *)buf, n, 1), 0);
    assert_int_equal(k.n, 2);
    assert_msg(&k, 0, a, la);
    assert_msg(&k, 1, a, la);
    vox_tcpreasm_stats(r, &s);
    assert_int_equal(s.malformed, 1);
    assert_int_equal(s.resyncs, 1);
    assert_int_equal(s.bytes_discarded, sizeof(junk) - 1);
    /* a head that vox_sip_frame rejects (no Content-Length on a stream), byte by byte */
    {
        static const char bad[] = "OPTIONS sip:x@y SIP/2.0\r\nVia: SIP/2.0/TCP h\r\n\r\n";
        uint32_t seq = 1 + (uint32_t)n;
        size_t i;

        for (i = 0; i < sizeof(bad) - 1; i++)
            assert_int_equal(vox_tcpreasm_segment(r, &t, seq++, 0, (const uint8_t *)bad + i, 1, 2),
                             0);
        for (i = 0; i < la; i++)
            assert_int_equal(vox_tcpreasm_segment(r, &t, seq++, 0, (const uint8_t *)a + i, 1, 3),
                             0);
        assert_int_equal(k.n, 3);
        assert_msg(&k, 2, a, la);
        vox_tcpreasm_stats(r, &s);
        assert_int_equal(s.malformed, 2);
        assert_int_equal(s.resyncs, 2);
        assert_int_equal(s.bytes_discarded, sizeof(junk) - 1 + sizeof(bad) - 1);
    }
    tcp_balance(r);
    sink_clear(&k);
    vox_tcpreasm_destroy(r);
}

/* A segment that never arrives: after gap_timeout_ns (by expire(), or by a later segment's
 * clock) the gap is skipped and the messages behind it come out. A gap inside a message drops
 * that message only. */
static void tcp_gap_timeout(void **st)
{
    static char m1[2048], m2[2048], m3[2048], m4[2048];
    size_t l1 = invite(m1, sizeof(m1), 41, 100), l2 = invite(m2, sizeof(m2), 42, 200);
    size_t l3 = ok200(m3, sizeof(m3), 43, 0), l4 = invite(m4, sizeof(m4), 44, 50);
    struct vox_cap_tuple t = tuple_ab(), o = vox_cap_tuple_reverse(&t);
    struct sink k;
    struct vox_tcpreasm *r = reasm_new(&k, 0, 0, 0, 10 * NS_PER_S, NS_PER_S);
    struct vox_tcpreasm_stats s;
    uint32_t seq = 1;

    (void)st;
    syn(r, &t, 0);
    assert_int_equal(vox_tcpreasm_segment(r, &t, seq, 0, (uint8_t *)m1, l1, NS_PER_S), 0);
    seq += (uint32_t)l1;
    /* m2 is lost */
    assert_int_equal(
        vox_tcpreasm_segment(r, &t, seq + (uint32_t)l2, 0, (uint8_t *)m3, l3, 2 * NS_PER_S), 0);
    assert_int_equal(vox_tcpreasm_segment(r, &t, seq + (uint32_t)(l2 + l3), 0, (uint8_t *)m4, l4,
                                          2 * NS_PER_S + 5),
                     0);
    assert_int_equal(k.n, 1);
    assert_int_equal(vox_tcpreasm_expire(r, 3 * NS_PER_S), 0); /* exactly 1 s: not yet */
    assert_int_equal(k.n, 1);
    vox_tcpreasm_expire(r, 3 * NS_PER_S + 1);
    assert_int_equal(k.n, 3);
    assert_msg(&k, 1, m3, l3);
    assert_msg(&k, 2, m4, l4);
    assert_int_equal(k.ts[1], 2 * NS_PER_S); /* the segment that completed it */
    assert_int_equal(k.ts[2], 2 * NS_PER_S + 5);
    vox_tcpreasm_stats(r, &s);
    assert_int_equal(s.gaps_skipped, 1);
    assert_int_equal(s.gap_bytes, l2);
    assert_int_equal(s.out_of_order, 2);
    assert_int_equal(s.bytes_held, 0);
    assert_int_equal(s.resyncs, 0);
    /* m2's late arrival is old news */
    assert_int_equal(vox_tcpreasm_segment(r, &t, seq, 0, (uint8_t *)m2, l2, 4 * NS_PER_S), 0);
    assert_int_equal(k.n, 3);
    seq += (uint32_t)(l2 + l3 + l4);
    /* a gap inside m1: its first 50 bytes come, the next 100 never; m3 follows; the clock of a
     * later segment on another stream skips the gap */
    assert_int_equal(vox_tcpreasm_segment(r, &t, seq, 0, (uint8_t *)m1, 50, 5 * NS_PER_S), 0);
    assert_int_equal(
        vox_tcpreasm_segment(r, &t, seq + 150, 0, (uint8_t *)m1 + 150, l1 - 150, 5 * NS_PER_S), 0);
    assert_int_equal(
        vox_tcpreasm_segment(r, &t, seq + (uint32_t)l1, 0, (uint8_t *)m3, l3, 5 * NS_PER_S), 0);
    assert_int_equal(k.n, 3);
    assert_int_equal(vox_tcpreasm_segment(r, &o, 1, 0, (uint8_t *)m4, l4, 6 * NS_PER_S + 1), 0);
    assert_int_equal(k.n, 5);
    assert_msg(&k, 3, m3, l3); /* the expiry runs first */
    assert_int_equal(k.ts[3], 5 * NS_PER_S);
    assert_msg(&k, 4, m4, l4); /* then the other stream's segment */
    assert_true(vox_cap_tuple_eq(&k.t[4], &o));
    vox_tcpreasm_stats(r, &s);
    assert_int_equal(s.gaps_skipped, 2);
    assert_int_equal(s.gap_bytes, l2 + 100);
    assert_int_equal(s.bytes_discarded, 50 + (l1 - 150)); /* m1's head, then its tail (sync) */
    assert_int_equal(s.resyncs, 1);
    tcp_balance(r);
    /* idle streams time out */
    assert_int_equal(vox_tcpreasm_expire(r, 100 * NS_PER_S), 2);
    vox_tcpreasm_stats(r, &s);
    assert_int_equal(s.streams_timed_out, 2);
    assert_int_equal(s.streams_open, 0);
    sink_clear(&k);
    vox_tcpreasm_destroy(r);
}

/* Both directions of one connection, interleaved segment by segment. */
static void tcp_both_directions(void **st)
{
    static char a[4096], b[4096];
    size_t la = invite(a, sizeof(a), 50, 2000), lb = ok200(b, sizeof(b), 50, 1500), ca[6], cb[6];
    struct vox_cap_tuple t = tuple_ab(), o = vox_cap_tuple_reverse(&t);
    struct sink k;
    struct vox_tcpreasm *r = reasm_new(&k, 0, 0, 0, 0, 0);
    struct vox_tcpreasm_stats s;
    size_t i;

    (void)st;
    cuts(la, 5, ca);
    cuts(lb, 5, cb);
    syn(r, &t, 0x7ffffff0u);
    syn(r, &o, 0xfffffff0u);
    for (i = 0; i < 5; i++) {
        seg(r, &o, 0xfffffff0u, b, cb[4 - i], cb[5 - i], 10 + i); /* reversed */
        seg(r, &t, 0x7ffffff0u, a, ca[i], ca[i + 1], 10 + i);
    }
    assert_int_equal(k.n, 2);
    assert_msg(&k, 0, b, lb); /* the 200 completes first: its first bytes came last-but-one */
    assert_true(vox_cap_tuple_eq(&k.t[0], &o));
    assert_msg(&k, 1, a, la);
    assert_true(vox_cap_tuple_eq(&k.t[1], &t));
    vox_tcpreasm_stats(r, &s);
    assert_int_equal(s.streams_open, 2);
    assert_int_equal(s.streams_peak, 2);
    /* FIN of one side with a partial message: discarded and freed; RST frees the other */
    assert_int_equal(vox_tcpreasm_segment(r, &t, 0x7ffffff1u + (uint32_t)la,
                                          VOX_CAP_TCP_FIN | VOX_CAP_TCP_ACK, (uint8_t *)a, 40, 20),
                     0);
    vox_tcpreasm_stats(r, &s);
    assert_int_equal(s.streams_open, 1);
    assert_int_equal(s.streams_closed, 1);
    assert_int_equal(s.bytes_discarded, 40);
    assert_int_equal(
        vox_tcpreasm_segment(r, &o, 0xfffffff1u + (uint32_t)lb, 0, (uint8_t *)b, 60, 21), 0);
    assert_int_equal(vox_tcpreasm_segment(r, &t, 0, VOX_CAP_TCP_RST, NULL, 0, 22), 0);
    vox_tcpreasm_stats(r, &s);
    assert_int_equal(s.streams_open, 0);
    assert_int_equal(s.streams_closed, 2);
    assert_int_equal(s.bytes_discarded, 100);
    assert_int_equal(s.bytes_held, 0);
    tcp_balance(r);
    sink_clear(&k);
    vox_tcpreasm_destroy(r);
}

/* FIN behind a gap closes once the gap fills; a SYN with a new ISN restarts the stream. */
static void tcp_fin_and_syn(void **st)
{
    static char a[2048];
    size_t la = invite(a, sizeof(a), 60, 100);
    struct vox_cap_tuple t = tuple_ab();
    struct sink k;
    struct vox_tcpreasm *r = reasm_new(&k, 0, 0, 0, 0, 0);
    struct vox_tcpreasm_stats s;

    (void)st;
    syn(r, &t, 10);
    assert_int_equal(
        vox_tcpreasm_segment(r, &t, 11 + 100, VOX_CAP_TCP_FIN, (uint8_t *)a + 100, la - 100, 1), 0);
    vox_tcpreasm_stats(r, &s);
    assert_int_equal(s.streams_open, 1);
    syn(r, &t, 10); /* retransmitted SYN: nothing changes */
    seg(r, &t, 10, a, 0, 100, 2);
    assert_int_equal(k.n, 1);
    vox_tcpreasm_stats(r, &s);
    assert_int_equal(s.streams_open, 0);
    assert_int_equal(s.streams_closed, 1);
    /* new connection, same ports: half a message, then a SYN with another ISN */
    syn(r, &t, 500);
    seg(r, &t, 500, a, 0, 50, 3);
    syn(r, &t, 9000);
    seg(r, &t, 9000, a, 0, la, 4);
    assert_int_equal(k.n, 2);
    assert_msg(&k, 1, a, la);
    vox_tcpreasm_stats(r, &s);
    assert_int_equal(s.bytes_discarded, 50);
    assert_int_equal(s.streams_closed, 2);
    tcp_balance(r);
    sink_clear(&k);
    vox_tcpreasm_destroy(r);
}

/* Limits: max_bytes evicts the least recently active streams; max_streams too; a message over
 * max_msg_bytes is dropped and the next one still comes; too much out-of-order data skips the
 * gap without waiting. */
static void tcp_limits(void **st)
{
    static char a[8192], big[8192], small[2048];
    size_t la = invite(a, sizeof(a), 70, 3000), ls = ok200(small, sizeof(small), 71, 20), i;
    size_t lbig = invite(big, sizeof(big), 72, 5000);
    struct vox_cap_tuple t = tuple_ab();
    struct sink k;
    struct vox_tcpreasm *r = reasm_new(&k, 0, 8192, 4096, 0, 0);
    struct vox_tcpreasm_stats s;

    (void)st;
    /* four streams each hold 3000 bytes of a message: the cap (8192) keeps two */
    for (i = 0; i < 4; i++) {
        struct vox_cap_tuple u = t;

        u.sport = (uint16_t)(1000 + i);
        syn(r, &u, 0);
        seg(r, &u, 0, a, 0, 3000, i);
        vox_tcpreasm_stats(r, &s);
        assert_true(s.bytes_held <= 8192);
    }
    vox_tcpreasm_stats(r, &s);
    assert_int_equal(s.streams_evicted, 2);
    assert_int_equal(s.streams_open, 2);
    assert_int_equal(s.bytes_held, 6000);
    assert_int_equal(s.bytes_discarded, 6000);
    assert_int_equal(s.bytes_peak, 6000);
    /* the newest still completes */
    t.sport = 1003;
    seg(r, &t, 0, a, 3000, la, 10);
    assert_int_equal(k.n, 1);
    assert_msg(&k, 0, a, la);
    tcp_balance(r);
    sink_clear(&k);
    vox_tcpreasm_destroy(r);

    /* max_streams = 2 */
    r = reasm_new(&k, 2, 0, 0, 0, 0);
    for (i = 0; i < 3; i++) {
        struct vox_cap_tuple u = tuple_ab();

        u.sport = (uint16_t)(2000 + i);
        syn(r, &u, 0);
    }
    vox_tcpreasm_stats(r, &s);
    assert_int_equal(s.streams_evicted, 1);
    assert_int_equal(s.streams_open, 2);
    sink_clear(&k);
    vox_tcpreasm_destroy(r);

    /* oversize: big (> 4096 bytes, in one segment) is dropped whole, small then arrives */
    r = reasm_new(&k, 0, 0, 4096, 0, 0);
    t = tuple_ab();
    syn(r, &t, 0);
    assert_true(lbig > 4096);
    seg(r, &t, 0, big, 0, lbig, 1);
    assert_int_equal(vox_tcpreasm_segment(r, &t, 1 + (uint32_t)lbig, 0, (uint8_t *)small, ls, 2),
                     0);
    assert_int_equal(k.n, 1);
    assert_msg(&k, 0, small, ls);
    vox_tcpreasm_stats(r, &s);
    assert_int_equal(s.oversize, 1);
    assert_int_equal(s.bytes_discarded, lbig);
    assert_int_equal(s.resyncs, 0);
    tcp_balance(r);
    /* the same message in 1000-byte segments: its length is known once its headers are in,
     * so it is skipped exactly, with no resync */
    {
        uint32_t seq = 1 + (uint32_t)(lbig + ls);
        size_t off;

        for (off = 0; off < lbig; off += 1000) {
            size_t n = lbig - off < 1000 ? lbig - off : 1000;

            assert_int_equal(vox_tcpreasm_segment(r, &t, seq, 0, (uint8_t *)big + off, n, 3), 0);
            seq += (uint32_t)n;
        }
        assert_int_equal(vox_tcpreasm_segment(r, &t, seq, 0, (uint8_t *)small, ls, 4), 0);
        assert_int_equal(k.n, 2);
        assert_msg(&k, 1, small, ls);
        vox_tcpreasm_stats(r, &s);
        assert_int_equal(s.oversize, 2);
        assert_int_equal(s.resyncs, 0);
        assert_int_equal(s.bytes_discarded, 2 * lbig);
        assert_int_equal(s.bytes_held, 0);
        tcp_balance(r);
        seq += (uint32_t)ls;
        /* a header block that has not ended at max_msg_bytes: dropped there, then resync */
        {
            static char hb[8192];
            size_t lh = (size_t)snprintf(hb, sizeof(hb), "INVITE sip:a@b SIP/2.0\r\n"), j;

            for (j = 0; j < 80; j++)
                lh += (size_t)snprintf(hb + lh, sizeof(hb) - lh, "X-Pad-%02zu: %060zu\r\n", j, j);
            lh += (size_t)snprintf(hb + lh, sizeof(hb) - lh, "Content-Length: 0\r\n\r\n");
            assert_true(lh > 4096);
            for (off = 0; off < lh; off += 1000) {
                size_t n = lh - off < 1000 ? lh - off : 1000;

                assert_int_equal(vox_tcpreasm_segment(r, &t, seq, 0, (uint8_t *)hb + off, n, 5), 0);
                seq += (uint32_t)n;
            }
            assert_int_equal(vox_tcpreasm_segment(r, &t, seq, 0, (uint8_t *)small, ls, 6), 0);
            assert_int_equal(k.n, 3);
            assert_msg(&k, 2, small, ls);
            vox_tcpreasm_stats(r, &s);
            assert_int_equal(s.oversize, 3);
            assert_int_equal(s.resyncs, 1);
            assert_int_equal(s.bytes_discarded, 2 * lbig + lh);
            assert_int_equal(s.bytes_held, 0);
        }
    }
    sink_clear(&k);
    vox_tcpreasm_destroy(r);

    /* out-of-order cap (max_msg_bytes = 4096): the gap is skipped without a timeout */
    r = reasm_new(&k, 0, 0, 4096, 0, 0);
    syn(r, &t, 0);
    for (i = 0; i < 3; i++) {
        /* the small message over and over, with a 10-byte hole before them */
        assert_int_equal(
            vox_tcpreasm_segment(r, &t, 11 + (uint32_t)(i * ls), 0, (uint8_t *)small, ls, 1), 0);
    }
    assert_int_equal(k.n, 0);
    {
        size_t nseg = 4096 / ls + 1;

        for (i = 3; i < nseg; i++)
            assert_int_equal(
                vox_tcpreasm_segment(r, &t, 11 + (uint32_t)(i * ls), 0, (uint8_t *)small, ls, 1),
                0);
        /* the one that overflowed the cap skipped the gap: all are out, with no timeout */
        assert_int_equal(k.n, nseg);
        vox_tcpreasm_stats(r, &s);
        assert_int_equal(s.gaps_skipped, 1);
        assert_int_equal(s.gap_bytes, 10);
        assert_int_equal(s.bytes_held, 0);
    }
    tcp_balance(r);
    sink_clear(&k);
    vox_tcpreasm_destroy(r);
}

/* Bad arguments and configurations; destroy with data held (ASan: no leak). */
static void tcp_args_and_destroy(void **st)
{
    static char a[2048];
    size_t la = invite(a, sizeof(a), 80, 500);
    struct vox_tcpreasm_config cfg = {.on_msg = on_msg};
    struct vox_tcpreasm *r = NULL;
    struct vox_diag diag = {{0}};
    struct vox_cap_tuple t = tuple_ab();
    struct sink k;

    (void)st;
    assert_int_equal(vox_tcpreasm_create(NULL, &r, NULL), VOX_EINVAL);
    cfg.on_msg = NULL;
    assert_int_equal(vox_tcpreasm_create(&cfg, &r, &diag), VOX_EINVAL);
    assert_non_null(strstr(diag.text, "on_msg"));
    cfg.on_msg = on_msg;
    cfg.max_msg_bytes = 100;
    assert_int_equal(vox_tcpreasm_create(&cfg, &r, NULL), VOX_EINVAL);
    cfg.max_msg_bytes = 8192;
    cfg.max_bytes = 10000;
    assert_int_equal(vox_tcpreasm_create(&cfg, &r, NULL), VOX_EINVAL);
    assert_null(r);
    vox_tcpreasm_destroy(NULL);

    r = reasm_new(&k, 0, 0, 0, 0, 0);
    assert_int_equal(vox_tcpreasm_segment(r, &t, 1, 0, NULL, 5, 0), VOX_EINVAL);
    assert_int_equal(vox_tcpreasm_segment(NULL, &t, 1, 0, NULL, 0, 0), VOX_EINVAL);
    syn(r, &t, 0);
    seg(r, &t, 0, a, 0, la / 2, 1);       /* a partial message */
    seg(r, &t, 0, a, la / 2 + 10, la, 2); /* and out-of-order data */
    t.sport++;
    seg(r, &t, 0, a, 0, 100, 3); /* another stream, mid-connection */
    assert_int_equal(k.n, 0);
    tcp_balance(r);
    vox_tcpreasm_destroy(r);
    {
        struct vox_defrag_config dc = {.max_fragments = 9000};
        struct vox_defrag *d = NULL;

        assert_int_equal(vox_defrag_create(&dc, &d, NULL), VOX_EINVAL);
        assert_int_equal(vox_defrag_create(NULL, NULL, NULL), VOX_EINVAL);
        vox_defrag_destroy(NULL);
    }
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(v4_orders),
        cmocka_unit_test(v4_duplicates),
        cmocka_unit_test(v4_overlap),
        cmocka_unit_test(v4_short_last),
        cmocka_unit_test(v4_timeout),
        cmocka_unit_test(v4_memory_cap),
        cmocka_unit_test(v4_too_big),
        cmocka_unit_test(v4_interleaved),
        cmocka_unit_test(v4_malformed_and_passthrough),
        cmocka_unit_test(v6_basics),
        cmocka_unit_test(v6_rules),
        cmocka_unit_test(tcp_invite_7_segments),
        cmocka_unit_test(tcp_retransmissions),
        cmocka_unit_test(tcp_boundaries),
        cmocka_unit_test(tcp_mid_message_start),
        cmocka_unit_test(tcp_garbage),
        cmocka_unit_test(tcp_gap_timeout),
        cmocka_unit_test(tcp_both_directions),
        cmocka_unit_test(tcp_fin_and_syn),
        cmocka_unit_test(tcp_limits),
        cmocka_unit_test(tcp_args_and_destroy),
    };

    (void)argc;
    (void)argv;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
