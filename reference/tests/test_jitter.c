/* SPDX-License-Identifier: MIT */
/* Jitter buffer tests: order, every permutation of a window, duplicates, late packets, exact
 * loss counts, the 65535 -> 0 wrap, depth limits, restarts, drain, and a randomized run
 * against a simple model. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "vox/core.h"
#include "vox/jitter.h"

/* ---- helpers --------------------------------------------------------------------------------- */

#define TS0 0xfffff000u /* timestamps wrap past 2^32 in the long runs */

/* The payload of the packet with stream index i: its length and bytes derive from i. */
static size_t payload_of(uint32_t i, uint8_t *buf)
{
    size_t n = 1 + i % 37, k;

    for (k = 0; k < n; k++)
        buf[k] = (uint8_t)(i * 31 + k);
    return n;
}

/* Pushes the packet of stream index i with sequence number (base + i) mod 2^16. */
static int push_idx(struct vox_jitter *jb, uint16_t base, uint32_t i)
{
    uint8_t payload[64];
    struct vox_rtp_view v = {.version = 2};

    v.seq = (uint16_t)(base + i);
    v.timestamp = TS0 + 160 * i;
    v.marker = i % 50 == 0;
    v.payload_type = 8;
    v.payload = payload;
    v.payload_len_bytes = payload_of(i, payload);
    return vox_jitter_push(jb, &v);
}

/* Checks that `p` is the packet of stream index i. */
static void assert_packet(const struct vox_jitter_packet *p, uint16_t base, uint32_t i)
{
    uint8_t payload[64];
    size_t n = payload_of(i, payload);

    assert_int_equal(p->seq, (uint16_t)(base + i));
    assert_int_equal(p->timestamp, TS0 + 160 * i);
    assert_true(p->ts_known);
    assert_int_equal(p->marker, i % 50 == 0);
    assert_int_equal(p->payload_type, 8);
    assert_int_equal(p->payload_len_bytes, n);
    assert_memory_equal(p->payload, payload, n);
}

static struct vox_jitter *make(uint32_t depth)
{
    struct vox_jitter_config cfg = {.depth_packets = depth, .max_payload_bytes = 64};
    struct vox_jitter *jb = NULL;

    assert_int_equal(vox_jitter_create(&cfg, &jb, NULL), 0);
    return jb;
}

/* received = played + duplicates + late + jumps + overflow_drops + oversize + depth */
static void assert_balanced(const struct vox_jitter *jb)
{
    struct vox_jitter_stats s;

    vox_jitter_stats(jb, &s);
    assert_int_equal(s.received, s.played + s.duplicates + s.late + s.jumps + s.overflow_drops +
                                     s.oversize + s.depth);
}

static int pop(struct vox_jitter *jb, enum vox_jitter_pop_mode mode, struct vox_jitter_packet *p)
{
    memset(p, 0x5a, sizeof(*p));
    return vox_jitter_pop(jb, mode, p);
}

/* ---- tests ----------------------------------------------------------------------------------- */

static void create_limits(void **st)
{
    struct vox_jitter_config cfg = {.depth_packets = VOX_JITTER_MAX_DEPTH + 1};
    struct vox_jitter *jb = (struct vox_jitter *)&cfg;
    struct vox_jitter_packet p;
    struct vox_jitter_stats s;
    struct vox_diag d = {{0}};
    static const uint8_t big[1501] = {0};
    struct vox_rtp_view v = {.version = 2, .payload = big, .payload_len_bytes = 65};

    (void)st;
    assert_int_equal(vox_jitter_create(&cfg, &jb, &d), VOX_EINVAL);
    assert_null(jb);
    assert_non_null(strstr(d.text, "depth 1025 packets"));
    cfg = (struct vox_jitter_config){.max_payload_bytes = 65536};
    assert_int_equal(vox_jitter_create(&cfg, &jb, &d), VOX_EINVAL);
    /* Defaults: depth 16, 1500 bytes. */
    assert_int_equal(vox_jitter_create(NULL, &jb, NULL), 0);
    assert_int_equal(pop(jb, VOX_JITTER_DEADLINE, &p), VOX_JITTER_NONE); /* no base yet */
    v.payload_len_bytes = 1500;
    assert_int_equal(vox_jitter_push(jb, &v), VOX_JITTER_QUEUED);
    v.payload_len_bytes = 1501;
    assert_int_equal(vox_jitter_push(jb, &v), VOX_ERANGE);
    vox_jitter_destroy(jb);
    vox_jitter_destroy(NULL);

    jb = make(4);
    assert_int_equal(vox_jitter_push(jb, &v), VOX_ERANGE); /* over 64 */
    v.payload = NULL;
    v.payload_len_bytes = 3;
    assert_int_equal(vox_jitter_push(jb, &v), VOX_EINVAL);
    vox_jitter_stats(jb, &s);
    assert_int_equal(s.received, 1);
    assert_int_equal(s.oversize, 1);
    assert_balanced(jb);
    vox_jitter_destroy(jb);
}

static void in_order_passthrough(void **st)
{
    struct vox_jitter *jb = make(4);
    struct vox_jitter_packet p;
    struct vox_jitter_stats s;
    uint32_t i;

    (void)st;
    for (i = 0; i < 100; i++) {
        assert_int_equal(push_idx(jb, 100, i), VOX_JITTER_QUEUED);
        assert_int_equal(pop(jb, VOX_JITTER_WAIT, &p), VOX_JITTER_PACKET);
        assert_packet(&p, 100, i);
        assert_int_equal(p.skipped_before, 0);
        assert_int_equal(pop(jb, VOX_JITTER_WAIT, &p), VOX_JITTER_NONE);
    }
    vox_jitter_stats(jb, &s);
    assert_int_equal(s.received, 100);
    assert_int_equal(s.played, 100);
    assert_int_equal(s.lost + s.late + s.duplicates + s.reordered + s.overflow_drops, 0);
    assert_int_equal(s.depth, 0);
    assert_int_equal(s.peak_depth, 1);
    vox_jitter_destroy(jb);
}

static bool next_permutation(uint32_t *a, int n)
{
    int i = n - 2, j = n - 1;

    while (i >= 0 && a[i] >= a[i + 1])
        i--;
    if (i < 0)
        return false;
    while (a[j] <= a[i])
        j--;
    uint32_t t = a[i];
    a[i] = a[j];
    a[j] = t;
    for (i++, j = n - 1; i < j; i++, j--) {
        t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
    return true;
}

/*
 * After a first packet sets the base, packets 1..5 arrive in every one of the 120 orders,
 * with a WAIT pop after each push. Depth 6: all come out in order, nothing lost. Depth 5: when
 * packet 5 (the window's last position) arrives before 1, packet 1 is reported lost and comes
 * late. Both runs straddle the 65535 -> 0 wrap.
 */
static void every_permutation(void **st)
{
    static const uint16_t bases[] = {1000, 65533};
    unsigned b, depth;

    (void)st;
    for (b = 0; b < 2; b++)
        for (depth = 5; depth <= 6; depth++) {
            uint32_t perm[5] = {1, 2, 3, 4, 5};
            unsigned perms = 0;

            do {
                struct vox_jitter *jb = make(depth);
                struct vox_jitter_packet p;
                struct vox_jitter_stats s;
                uint32_t expect = 1, top = 0, reordered = 0, k;
                bool one_lost = false;

                assert_int_equal(push_idx(jb, bases[b], 0), VOX_JITTER_QUEUED);
                assert_int_equal(pop(jb, VOX_JITTER_WAIT, &p), VOX_JITTER_PACKET);
                for (k = 0; k < 5; k++) {
                    int rc = push_idx(jb, bases[b], perm[k]);

                    if (perm[k] == 1 && one_lost) {
                        assert_int_equal(rc, VOX_JITTER_LATE);
                    } else {
                        assert_int_equal(rc, VOX_JITTER_QUEUED);
                        if (perm[k] < top)
                            reordered++;
                        top = perm[k] > top ? perm[k] : top;
                    }
                    while ((rc = pop(jb, VOX_JITTER_WAIT, &p)) != VOX_JITTER_NONE) {
                        if (rc == VOX_JITTER_LOST) {
                            assert_int_equal(depth, 5);
                            assert_int_equal(expect, 1);
                            assert_int_equal(p.seq, (uint16_t)(bases[b] + 1));
                            /* Interpolated between packet 0 and the next held one. */
                            assert_true(p.ts_known);
                            assert_int_equal(p.timestamp, TS0 + 160);
                            assert_null(p.payload);
                            one_lost = true;
                        } else {
                            assert_packet(&p, bases[b], expect);
                        }
                        expect++;
                    }
                }
                assert_int_equal(expect, 6);
                /* Lost exactly when 5 came before 1 in a depth-5 window. */
                k = 0;
                while (perm[k] != 1 && perm[k] != 5)
                    k++;
                assert_int_equal(one_lost, depth == 5 && perm[k] == 5);
                vox_jitter_stats(jb, &s);
                assert_int_equal(s.played, one_lost ? 5 : 6);
                assert_int_equal(s.lost, one_lost);
                assert_int_equal(s.late, one_lost);
                assert_int_equal(s.reordered, reordered);
                assert_int_equal(s.depth, 0);
                assert_balanced(jb);
                vox_jitter_destroy(jb);
                perms++;
            } while (next_permutation(perm, 5));
            assert_int_equal(perms, 120);
        }
}

static void duplicates_and_late(void **st)
{
    struct vox_jitter *jb = make(4);
    struct vox_jitter_packet p;
    struct vox_jitter_stats s;

    (void)st;
    assert_int_equal(push_idx(jb, 500, 0), VOX_JITTER_QUEUED);
    assert_int_equal(push_idx(jb, 500, 0), VOX_JITTER_DUPLICATE); /* held: duplicate */
    assert_int_equal(push_idx(jb, 500, 2), VOX_JITTER_QUEUED);
    assert_int_equal(push_idx(jb, 500, 2), VOX_JITTER_DUPLICATE);
    assert_int_equal(pop(jb, VOX_JITTER_WAIT, &p), VOX_JITTER_PACKET);
    assert_packet(&p, 500, 0);
    assert_int_equal(push_idx(jb, 500, 0), VOX_JITTER_LATE); /* played: late */
    /* Before the base: late too (the first packet sets the base). */
    assert_int_equal(vox_rtp_seq_delta(499, 500), -1);
    {
        uint8_t b[1] = {0};
        struct vox_rtp_view v = {.version = 2, .seq = 499, .payload = b, .payload_len_bytes = 1};

        assert_int_equal(vox_jitter_push(jb, &v), VOX_JITTER_LATE);
    }
    /* The playout deadline of 1 passes: reported lost; when it comes, it is late. */
    assert_int_equal(pop(jb, VOX_JITTER_WAIT, &p), VOX_JITTER_NONE);
    assert_int_equal(pop(jb, VOX_JITTER_DEADLINE, &p), VOX_JITTER_LOST);
    assert_int_equal(p.seq, 501);
    assert_true(p.ts_known);
    assert_int_equal(p.timestamp, TS0 + 160);
    assert_int_equal(p.payload_type, 8);
    assert_int_equal(push_idx(jb, 500, 1), VOX_JITTER_LATE);
    assert_int_equal(pop(jb, VOX_JITTER_WAIT, &p), VOX_JITTER_PACKET);
    assert_packet(&p, 500, 2);
    vox_jitter_stats(jb, &s);
    assert_int_equal(s.received, 7);
    assert_int_equal(s.duplicates, 2);
    assert_int_equal(s.late, 3);
    assert_int_equal(s.played, 2);
    assert_int_equal(s.lost, 1);
    assert_int_equal(s.reordered, 0);
    assert_balanced(jb);
    vox_jitter_destroy(jb);
}

static void loss_counts_and_timestamps(void **st)
{
    struct vox_jitter *jb = make(8);
    struct vox_jitter_packet p;
    struct vox_jitter_stats s;
    uint32_t i;

    (void)st;
    /* 0, 2, 5, 6 arrive; the WAIT pop plays 0 and then waits for 1 (window not full). */
    assert_int_equal(push_idx(jb, 65534, 0), VOX_JITTER_QUEUED);
    assert_int_equal(pop(jb, VOX_JITTER_WAIT, &p), VOX_JITTER_PACKET);
    assert_int_equal(push_idx(jb, 65534, 2), VOX_JITTER_QUEUED);
    assert_int_equal(push_idx(jb, 65534, 5), VOX_JITTER_QUEUED);
    assert_int_equal(push_idx(jb, 65534, 6), VOX_JITTER_QUEUED);
    assert_int_equal(pop(jb, VOX_JITTER_WAIT, &p), VOX_JITTER_NONE);
    /* 8 is the last position of the window [1, 9): waiting for 1 is now useless. */
    assert_int_equal(push_idx(jb, 65534, 8), VOX_JITTER_QUEUED);
    assert_int_equal(pop(jb, VOX_JITTER_WAIT, &p), VOX_JITTER_LOST);
    assert_int_equal(p.seq, 65535);
    assert_int_equal(p.timestamp, TS0 + 160); /* between 0 and 2 */
    assert_int_equal(pop(jb, VOX_JITTER_WAIT, &p), VOX_JITTER_PACKET);
    assert_packet(&p, 65534, 2);
    assert_int_equal(p.seq, 0);
    /* The window [3, 11) is not full: WAIT waits, DRAIN reports the gaps. */
    assert_int_equal(pop(jb, VOX_JITTER_WAIT, &p), VOX_JITTER_NONE);
    for (i = 3; i <= 4; i++) {
        assert_int_equal(pop(jb, VOX_JITTER_DRAIN, &p), VOX_JITTER_LOST);
        assert_int_equal(p.seq, (uint16_t)(65534 + i));
        assert_true(p.ts_known);
        assert_int_equal(p.timestamp, TS0 + 160 * i);
    }
    for (i = 5; i <= 8; i++) {
        int rc = pop(jb, VOX_JITTER_DRAIN, &p);

        if (i == 7) {
            assert_int_equal(rc, VOX_JITTER_LOST);
            assert_int_equal(p.timestamp, TS0 + 160 * 7);
        } else {
            assert_int_equal(rc, VOX_JITTER_PACKET);
            assert_packet(&p, 65534, i);
        }
    }
    assert_int_equal(pop(jb, VOX_JITTER_DRAIN, &p), VOX_JITTER_NONE);
    /* Past the end, a deadline extrapolates with the last step (160). */
    assert_int_equal(pop(jb, VOX_JITTER_DEADLINE, &p), VOX_JITTER_LOST);
    assert_int_equal(p.seq, (uint16_t)(65534 + 9));
    assert_int_equal(p.timestamp, TS0 + 160 * 9);
    vox_jitter_stats(jb, &s);
    assert_int_equal(s.received, 5);
    assert_int_equal(s.played, 5);
    assert_int_equal(s.lost, 5); /* 1, 3, 4, 7, 9 */
    assert_int_equal(s.reordered, 0);
    assert_int_equal(s.peak_depth, 4);
    assert_balanced(jb);
    vox_jitter_destroy(jb);

    /* With a single packet seen, nothing tells a lost one's timestamp. */
    jb = make(8);
    assert_int_equal(push_idx(jb, 7, 0), VOX_JITTER_QUEUED);
    assert_int_equal(pop(jb, VOX_JITTER_WAIT, &p), VOX_JITTER_PACKET);
    assert_int_equal(pop(jb, VOX_JITTER_DEADLINE, &p), VOX_JITTER_LOST);
    assert_false(p.ts_known);
    assert_int_equal(p.seq, 8);
    vox_jitter_destroy(jb);
}

static void overflow_and_depth(void **st)
{
    struct vox_jitter *jb = make(4);
    struct vox_jitter_packet p;
    struct vox_jitter_stats s;
    uint32_t i;

    (void)st;
    for (i = 0; i < 4; i++)
        assert_int_equal(push_idx(jb, 65530, i), VOX_JITTER_QUEUED);
    vox_jitter_stats(jb, &s);
    assert_int_equal(s.depth, 4);
    /* 4 does not fit in [0, 4): the window slides by one, forcing out packet 0. */
    assert_int_equal(push_idx(jb, 65530, 4), VOX_JITTER_QUEUED);
    vox_jitter_stats(jb, &s);
    assert_int_equal(s.depth, 4);
    assert_int_equal(s.peak_depth, 4);
    assert_int_equal(s.overflow_drops, 1);
    assert_int_equal(s.lost, 0);
    assert_int_equal(pop(jb, VOX_JITTER_WAIT, &p), VOX_JITTER_PACKET);
    assert_packet(&p, 65530, 1);
    assert_int_equal(p.skipped_before, 1);
    /* 20 when the window is [2, 6): slides to [17, 21): 2, 3, 4 dropped, 5..16 lost. */
    assert_int_equal(push_idx(jb, 65530, 20), VOX_JITTER_QUEUED);
    vox_jitter_stats(jb, &s);
    assert_int_equal(s.overflow_drops, 4);
    assert_int_equal(s.lost, 12);
    assert_int_equal(s.depth, 1);
    /* 20 is the window's last position: waiting for 17 is useless. */
    assert_int_equal(pop(jb, VOX_JITTER_WAIT, &p), VOX_JITTER_LOST);
    assert_int_equal(p.seq, (uint16_t)(65530 + 17));
    assert_int_equal(p.skipped_before, 15);
    /* Interpolated between packet 1 (the last played) and 20. */
    assert_int_equal(p.timestamp, TS0 + 160 * 17);
    /* [18, 22) is not full: WAIT waits for 18, a deadline gives it up. */
    assert_int_equal(pop(jb, VOX_JITTER_WAIT, &p), VOX_JITTER_NONE);
    for (i = 18; i <= 19; i++) {
        assert_int_equal(pop(jb, VOX_JITTER_DEADLINE, &p), VOX_JITTER_LOST);
        assert_int_equal(p.seq, (uint16_t)(65530 + i));
        assert_int_equal(p.skipped_before, 0);
        assert_int_equal(p.timestamp, TS0 + 160 * i);
    }
    assert_int_equal(pop(jb, VOX_JITTER_WAIT, &p), VOX_JITTER_PACKET);
    assert_packet(&p, 65530, 20);
    assert_int_equal(push_idx(jb, 65530, 3), VOX_JITTER_LATE); /* slid out long ago */
    vox_jitter_stats(jb, &s);
    assert_int_equal(s.lost, 15);
    assert_int_equal(s.played, 2);
    /* Positions from the base: played + lost + overflow-dropped = 0 .. 20. */
    assert_int_equal(s.played + s.lost + s.overflow_drops, 21);
    assert_balanced(jb);
    vox_jitter_destroy(jb);

    /* Depth 1: every new packet pushes the previous one out unless it was played. */
    jb = make(1);
    for (i = 0; i < 10; i++)
        assert_int_equal(push_idx(jb, 0, i), VOX_JITTER_QUEUED);
    assert_int_equal(pop(jb, VOX_JITTER_WAIT, &p), VOX_JITTER_PACKET);
    assert_packet(&p, 0, 9);
    assert_int_equal(p.skipped_before, 9);
    vox_jitter_stats(jb, &s);
    assert_int_equal(s.overflow_drops, 9);
    assert_int_equal(s.peak_depth, 1);
    vox_jitter_destroy(jb);
}

static void jumps_resync(void **st)
{
    struct vox_jitter *jb = make(8);
    struct vox_jitter_packet p;
    struct vox_jitter_stats s;

    (void)st;
    assert_int_equal(push_idx(jb, 0, 100), VOX_JITTER_QUEUED);
    assert_int_equal(pop(jb, VOX_JITTER_WAIT, &p), VOX_JITTER_PACKET);
    /* MAX_DROPOUT ahead: held back; the stream goes on normally. */
    assert_int_equal(push_idx(jb, 0, 101 + VOX_RTP_MAX_DROPOUT), VOX_JITTER_JUMP);
    assert_int_equal(push_idx(jb, 0, 101), VOX_JITTER_QUEUED);
    assert_int_equal(push_idx(jb, 0, 102), VOX_JITTER_QUEUED);
    /* The sender restarted at 9000: the second packet in sequence confirms it. */
    assert_int_equal(push_idx(jb, 0, 9000), VOX_JITTER_JUMP);
    assert_int_equal(push_idx(jb, 0, 9001), VOX_JITTER_QUEUED);
    vox_jitter_stats(jb, &s);
    assert_int_equal(s.resyncs, 1);
    assert_int_equal(s.jumps, 2);
    assert_int_equal(s.overflow_drops, 2); /* 101 and 102 */
    assert_int_equal(s.depth, 1);
    assert_int_equal(pop(jb, VOX_JITTER_WAIT, &p), VOX_JITTER_PACKET);
    assert_packet(&p, 0, 9001);
    /* ... and back to a lower number: late, then confirmed by its successor. */
    assert_int_equal(push_idx(jb, 0, 5000), VOX_JITTER_LATE);
    assert_int_equal(push_idx(jb, 0, 5001), VOX_JITTER_QUEUED);
    assert_int_equal(pop(jb, VOX_JITTER_WAIT, &p), VOX_JITTER_PACKET);
    assert_packet(&p, 0, 5001);
    /* Exactly MAX_MISORDER behind counts as a jump (as in A.1), but its successor is then
     * only MAX_MISORDER - 1 behind: an ordinary late packet, no resync. */
    assert_int_equal(push_idx(jb, 0, 5002 - VOX_RTP_MAX_MISORDER), VOX_JITTER_LATE);
    assert_int_equal(push_idx(jb, 0, 5003 - VOX_RTP_MAX_MISORDER), VOX_JITTER_LATE);
    vox_jitter_stats(jb, &s);
    assert_int_equal(s.resyncs, 2);
    assert_int_equal(s.late, 3);
    assert_balanced(jb);
    vox_jitter_destroy(jb);

    /* A slide just under MAX_DROPOUT: all intermediate positions count as lost. */
    jb = make(8);
    assert_int_equal(push_idx(jb, 0, 0), VOX_JITTER_QUEUED);
    assert_int_equal(push_idx(jb, 0, VOX_RTP_MAX_DROPOUT - 1), VOX_JITTER_QUEUED);
    vox_jitter_stats(jb, &s);
    assert_int_equal(s.overflow_drops, 1);
    assert_int_equal(s.lost, VOX_RTP_MAX_DROPOUT - 1 - 8);
    vox_jitter_destroy(jb);
}

static void drain_at_end(void **st)
{
    struct vox_jitter *jb = make(16);
    struct vox_jitter_packet p;
    struct vox_jitter_stats s;
    static const uint32_t order[] = {0, 3, 1, 7, 8, 4};
    static const int expect[] = {0, 1, -2, 3, 4, -5, -6, 7, 8};
    unsigned k;

    (void)st;
    for (k = 0; k < 6; k++)
        assert_int_equal(push_idx(jb, 40000, order[k]), VOX_JITTER_QUEUED);
    for (k = 0; k < 9; k++) {
        int rc = pop(jb, VOX_JITTER_DRAIN, &p);

        if (expect[k] < 0) {
            assert_int_equal(rc, VOX_JITTER_LOST);
            assert_int_equal(p.seq, 40000 - expect[k]);
        } else {
            assert_int_equal(rc, VOX_JITTER_PACKET);
            assert_packet(&p, 40000, (uint32_t)expect[k]);
        }
    }
    assert_int_equal(pop(jb, VOX_JITTER_DRAIN, &p), VOX_JITTER_NONE);
    assert_int_equal(pop(jb, VOX_JITTER_WAIT, &p), VOX_JITTER_NONE);
    vox_jitter_stats(jb, &s);
    assert_int_equal(s.played, 6);
    assert_int_equal(s.lost, 3);
    assert_int_equal(s.reordered, 2); /* 1 after 3, 4 after 8 */
    assert_int_equal(s.depth, 0);
    assert_int_equal(s.peak_depth, 6);
    assert_balanced(jb);
    vox_jitter_destroy(jb);
}

/* ---- randomized run against a model -------------------------------------------------------- */

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)((rng_state >> 11) % n);
}

/*
 * The documented rules written the plain way: positions are the stream indices themselves
 * (no wrap, no ring), held packets a flag per index.
 */
struct model {
    bool started, jump_pending;
    int64_t next, top, jump_idx;
    uint32_t depth, held_n;
    bool *held;
    struct vox_jitter_stats st;
};

static int model_push(struct model *m, int64_t i)
{
    int64_t d;

    m->st.received++;
    if (!m->started) {
        m->started = true;
        m->next = m->top = i;
        goto store;
    }
    d = i - m->next;
    if (d >= VOX_RTP_MAX_DROPOUT || d <= -VOX_RTP_MAX_MISORDER) {
        if (m->jump_pending && i == m->jump_idx) {
            int64_t k;

            for (k = m->next; k < m->next + m->depth; k++)
                m->held[k] = false;
            m->st.overflow_drops += m->held_n;
            m->held_n = 0;
            m->next = m->top = i;
            m->jump_pending = false;
            m->st.resyncs++;
            goto store;
        }
        m->jump_pending = true;
        m->jump_idx = i + 1;
        if (d < 0) {
            m->st.late++;
            return VOX_JITTER_LATE;
        }
        m->st.jumps++;
        return VOX_JITTER_JUMP;
    }
    if (d < 0) {
        m->st.late++;
        return VOX_JITTER_LATE;
    }
    while (i >= m->next + m->depth) {
        if (m->held[m->next]) {
            m->held[m->next] = false;
            m->held_n--;
            m->st.overflow_drops++;
        } else {
            m->st.lost++;
        }
        m->next++;
    }
store:
    if (m->held[i]) {
        m->st.duplicates++;
        return VOX_JITTER_DUPLICATE;
    }
    m->held[i] = true;
    m->held_n++;
    if (m->held_n > m->st.peak_depth)
        m->st.peak_depth = m->held_n;
    if (i < m->top)
        m->st.reordered++;
    else
        m->top = i;
    return VOX_JITTER_QUEUED;
}

/* Returns the pop result; *idx is the position it concerns. */
static int model_pop(struct model *m, enum vox_jitter_pop_mode mode, int64_t *idx)
{
    if (!m->started)
        return VOX_JITTER_NONE;
    *idx = m->next;
    if (m->held[m->next]) {
        m->held[m->next] = false;
        m->held_n--;
        m->next++;
        m->st.played++;
        return VOX_JITTER_PACKET;
    }
    if (mode == VOX_JITTER_WAIT && (!m->held_n || m->top < m->next + m->depth - 1))
        return VOX_JITTER_NONE;
    if (mode == VOX_JITTER_DRAIN && !m->held_n)
        return VOX_JITTER_NONE;
    m->next++;
    m->st.lost++;
    return VOX_JITTER_LOST;
}

struct arrival {
    uint32_t key;
    uint32_t idx;
};

static int by_key(const void *a, const void *b)
{
    const struct arrival *x = a, *y = b;

    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

struct run_params {
    uint64_t seed;
    uint32_t depth;
    uint32_t spread;       /* arrival key = index + [0, spread): overtakes by <= spread - 2 */
    unsigned drop_pct;     /* packets never sent */
    uint32_t drop_gap;     /* at least this many packets between two drops */
    unsigned dup_pct;      /* packets sent twice (the copy up to spread + 3 later) */
    unsigned deadline_pct; /* after a push, one DEADLINE pop instead of WAIT */
    bool exact;            /* the parameters guarantee exact loss reporting (see below) */
};

/*
 * N packets from sequence 65000 (so the numbers wrap) and timestamps that wrap past 2^32,
 * dropped, duplicated and displaced per `r`; a WAIT pop loop after each push, DRAIN at the
 * end. Every push and pop result is compared with the model, and the output is checked to be
 * continuous: each item's index follows the previous one plus the positions skipped before it.
 *
 * `exact` runs have no deadline pops and either no drops, or drops at least depth + 4 apart
 * with displacements of at most one: then no packet that was sent is ever lost or dropped,
 * and exactly the dropped ones are counted lost (reported by a marker, or skipped by a
 * one-position slide when the packet after the window's edge overtook the one at its edge).
 */
static void random_run(const struct run_params *r)
{
    enum { N = 6000, SLACK = 256 };
    const uint16_t base = 65000;
    struct arrival *arr = calloc(2 * N, sizeof(*arr));
    bool *dropped = calloc(N, sizeof(bool));
    uint8_t *outputs = calloc(N + SLACK, 1); /* per index: 1 played, 2 lost, 3 skipped */
    struct model m = {.depth = r->depth, .held = calloc(N + 8192, sizeof(bool))};
    struct vox_jitter *jb = make(r->depth);
    struct vox_jitter_packet p;
    struct vox_jitter_stats s;
    uint32_t n = 0, i, k, ndrop = 0, ndup = 0, last_drop = 0;
    int64_t prev = -1;

    assert_non_null(arr);
    assert_non_null(dropped);
    assert_non_null(outputs);
    assert_non_null(m.held);
    rng_state = r->seed;
    for (i = 0; i < N; i++) {
        bool first = i == 0, last = i == N - 1;

        if (!first && !last && i - last_drop >= r->drop_gap && rnd(100) < r->drop_pct) {
            dropped[i] = true;
            last_drop = i;
            ndrop++;
            continue;
        }
        arr[n].idx = i;
        arr[n++].key = first ? 0 : i + rnd(r->spread);
        if (!first && rnd(100) < r->dup_pct) {
            arr[n].idx = i;
            arr[n++].key = i + rnd(r->spread + 4);
            ndup++;
        }
    }
    qsort(arr, n, sizeof(*arr), by_key);

    for (k = 0; k <= n; k++) {
        enum vox_jitter_pop_mode mode = VOX_JITTER_WAIT;
        int rc, want;
        int64_t idx = -1, q;

        if (k < n) {
            rc = push_idx(jb, base, arr[k].idx);
            want = model_push(&m, arr[k].idx);
            if (rc != want)
                fail_msg("seed %llx: push %u of index %u: got %d, model %d",
                         (unsigned long long)r->seed, k, arr[k].idx, rc, want);
            if (r->deadline_pct && rnd(100) < r->deadline_pct)
                mode = VOX_JITTER_DEADLINE;
        } else {
            mode = VOX_JITTER_DRAIN;
        }
        for (;;) {
            rc = pop(jb, mode, &p);
            want = model_pop(&m, mode, &idx);
            if (rc != want)
                fail_msg("seed %llx: pop after push %u: got %d, model %d at index %lld",
                         (unsigned long long)r->seed, k, rc, want, (long long)idx);
            if (rc == VOX_JITTER_NONE)
                break;
            assert_true(idx > prev && idx < N + SLACK);
            assert_int_equal(p.seq, (uint16_t)(base + idx));
            assert_int_equal(idx, prev + 1 + p.skipped_before);
            for (q = prev + 1; q < idx; q++)
                outputs[q] = 3;
            if (rc == VOX_JITTER_PACKET) {
                assert_packet(&p, base, (uint32_t)idx);
                outputs[idx] = 1;
            } else {
                /* Timestamps are linear in this stream: any estimate must be exact. */
                if (p.ts_known)
                    assert_int_equal(p.timestamp, TS0 + 160 * (uint32_t)idx);
                assert_null(p.payload);
                outputs[idx] = 2;
            }
            prev = idx;
            if (mode == VOX_JITTER_DEADLINE)
                mode = VOX_JITTER_WAIT; /* one forced pop, then what is ready */
        }
    }
    vox_jitter_stats(jb, &s);
    assert_int_equal(s.received, m.st.received);
    assert_int_equal(s.played, m.st.played);
    assert_int_equal(s.duplicates, m.st.duplicates);
    assert_int_equal(s.late, m.st.late);
    assert_int_equal(s.lost, m.st.lost);
    assert_int_equal(s.reordered, m.st.reordered);
    assert_int_equal(s.overflow_drops, m.st.overflow_drops);
    assert_int_equal(s.jumps, m.st.jumps);
    assert_int_equal(s.resyncs, m.st.resyncs);
    assert_int_equal(s.peak_depth, m.st.peak_depth);
    assert_int_equal(s.depth, 0);
    assert_int_equal(s.received, n);
    assert_int_equal(s.resyncs, 0);
    assert_balanced(jb);
    /* Every position up to the last item was played, lost or dropped by an overflow slide. */
    assert_int_equal(s.played + s.lost + s.overflow_drops, (uint64_t)(prev + 1));
    assert_true(s.reordered > 0 || r->spread <= 2 || r->depth == 1);
    if (r->exact) {
        for (i = 0; i < N; i++) {
            if (dropped[i])
                assert_true(outputs[i] == 2 || outputs[i] == 3);
            else
                assert_int_equal(outputs[i], 1);
        }
        assert_int_equal(prev, N - 1);
        assert_int_equal(s.lost, ndrop);
        assert_int_equal(s.played, N - ndrop);
        assert_int_equal(s.duplicates + s.late, ndup);
        assert_int_equal(s.overflow_drops, 0);
    }
    vox_jitter_destroy(jb);
    free(m.held);
    free(outputs);
    free(dropped);
    free(arr);
}

static void randomized_against_model(void **st)
{
    static const struct run_params runs[] = {
        /* exact: reordering up to depth - 1, no loss */
        {.seed = 0x9e3779b97f4a7c15ull, .depth = 8, .spread = 8, .dup_pct = 3, .exact = true},
        /* exact: isolated drops with small displacements */
        {.seed = 0x0123456789abcdefull,
         .depth = 16,
         .spread = 3,
         .drop_pct = 10,
         .drop_gap = 20,
         .dup_pct = 10,
         .exact = true},
        /* beyond the depth: late packets, overflow slides dropping held packets */
        {.seed = 0x5eed5eed5eed5eedull, .depth = 8, .spread = 20, .drop_pct = 5, .dup_pct = 5},
        /* loss bursts and deadline pops */
        {.seed = 0xfeedfacecafebeefull,
         .depth = 6,
         .spread = 10,
         .drop_pct = 15,
         .dup_pct = 3,
         .deadline_pct = 5},
        {.seed = 0x1111222233334444ull,
         .depth = 1,
         .spread = 3,
         .drop_pct = 2,
         .dup_pct = 2,
         .deadline_pct = 2},
    };
    unsigned i;

    (void)st;
    for (i = 0; i < sizeof(runs) / sizeof(runs[0]); i++)
        random_run(&runs[i]);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(create_limits),
        cmocka_unit_test(in_order_passthrough),
        cmocka_unit_test(every_permutation),
        cmocka_unit_test(duplicates_and_late),
        cmocka_unit_test(loss_counts_and_timestamps),
        cmocka_unit_test(overflow_and_depth),
        cmocka_unit_test(jumps_resync),
        cmocka_unit_test(drain_at_end),
        cmocka_unit_test(randomized_against_model),
    };

    (void)argc;
    vox_process_prepare(argv);
    return cmocka_run_group_tests_name("jitter", tests, NULL, NULL);
}
