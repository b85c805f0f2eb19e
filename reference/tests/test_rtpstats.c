/* SPDX-License-Identifier: MIT */
/* RTP stream statistics: synthetic streams with figures worked out by hand from the definitions
 * in capture/rtpstats.h, the E-model MOS, and tshark as an oracle: every public pcap of
 * scenarios/pcaps/ and a pcap of edge cases written here must give the figures that
 * `tshark -q -z rtp,streams` prints, to its printed precision. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "capture/rtpstats.h"

#ifndef VOX_SCENARIOS_DIR
#error "VOX_SCENARIOS_DIR must name the scenarios/ directory"
#endif

#define MS 1000000ull /* ns */

/* ---- helpers --------------------------------------------------------------------------------- */

static void assert_near(double got, double want, double eps)
{
    if (!(fabs(got - want) <= eps))
        fail_msg("got %.12f, wanted %.12f (within %g)", got, want, eps);
}

/* One packet of a synthetic stream. */
struct pkt {
    uint64_t t_ns;
    uint16_t seq;
    uint32_t ts;
    uint8_t pt;
    bool marker;
};

/* n packets of a steady 20 ms, 160-tick stream: seq0 + i, ts0 + 160 i, t0 + 20 ms i. */
static size_t steady(struct pkt *p, size_t n, uint64_t t0, uint16_t seq0, uint32_t ts0, uint8_t pt)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (struct pkt){t0 + i * 20 * MS, (uint16_t)(seq0 + i), ts0 + 160u * (uint32_t)i, pt,
                            false};
    return n;
}

static void drop(struct pkt *p, size_t *n, size_t at, size_t count)
{
    memmove(p + at, p + at + count, (*n - at - count) * sizeof *p);
    *n -= count;
}

static void feed(struct vox_rtpstats *st, const struct pkt *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        assert_int_equal(
            vox_rtpstats_packet(st, p[i].t_ns, p[i].seq, p[i].ts, p[i].pt, p[i].marker, 160), 0);
}

static void run(const struct pkt *p, size_t n, uint32_t clock_hz, struct vox_rtpstats_result *r)
{
    struct vox_rtpstats st;

    vox_rtpstats_init(&st, clock_hz);
    feed(&st, p, n);
    vox_rtpstats_result(&st, r);
}

/* ---- synthetic streams ----------------------------------------------------------------------- */

static void perfect_spacing(void **state)
{
    struct pkt p[50];
    struct vox_rtpstats_result r;
    size_t n = steady(p, 50, 1000 * MS, 1000, 12345, 0);

    (void)state;
    assert_true(sizeof(struct vox_rtpstats) <= 128);
    run(p, n, 8000, &r);
    assert_int_equal(r.packets, 50);
    assert_int_equal(r.expected, 50);
    assert_int_equal(r.lost, 0);
    assert_near(r.lost_pct, 0, 0);
    assert_int_equal(r.seq_errors, 0);
    assert_int_equal(r.duplicates + r.late + r.markers + r.loss_bursts, 0);
    assert_false(r.problem);
    assert_true(r.have_jitter);
    assert_near(r.max_delta_ms, 20, 0);
    assert_int_equal(r.max_delta_index, 1);
    assert_near(r.mean_jitter_ms, 0, 0);
    assert_near(r.max_jitter_ms, 0, 0);
    assert_near(r.max_skew_ms, 0, 0);
    assert_near(r.burst_ratio, 1, 0);
    assert_int_equal(r.first_ns, 1000 * MS);
    assert_int_equal(r.last_ns, 1000 * MS + 49 * 20 * MS);
    assert_int_equal(r.payload_bytes, 50 * 160);
    assert_int_equal(r.npts, 1);
    assert_int_equal(r.pts[0], 0);
    assert_false(r.pts_overflow);
}

static void planted_loss(void **state)
{
    struct pkt p[50];
    struct vox_rtpstats_result r;
    size_t n = steady(p, 50, 0, 0, 0, 8);

    (void)state;
    drop(p, &n, 10, 1); /* seq 10 */
    run(p, n, 8000, &r);
    assert_int_equal(r.packets, 49);
    assert_int_equal(r.expected, 50);
    assert_int_equal(r.lost, 1);
    assert_near(r.lost_pct, 2.0, 1e-12);
    assert_int_equal(r.seq_errors, 1);
    assert_int_equal(r.loss_bursts, 1);
    assert_true(r.problem);
    /* seq 11 arrives 40 ms after seq 9 with a timestamp 40 ms later: no jitter. */
    assert_near(r.max_delta_ms, 40, 0);
    assert_int_equal(r.max_delta_index, 10);
    assert_near(r.max_jitter_ms, 0, 0);
    /* BurstR = mean burst (1) x (1 - p). */
    assert_near(r.burst_ratio, 1.0 * (1 - 1 / 50.0), 1e-12);
}

static void burst_loss(void **state)
{
    struct pkt p[50];
    struct vox_rtpstats_result r;
    size_t n = steady(p, 50, 0, 0, 0, 0);

    (void)state;
    drop(p, &n, 30, 1); /* seq 30 */
    drop(p, &n, 10, 5); /* seq 10..14 */
    run(p, n, 8000, &r);
    assert_int_equal(r.packets, 44);
    assert_int_equal(r.lost, 6);
    assert_int_equal(r.seq_errors, 2);
    assert_int_equal(r.loss_bursts, 2);
    assert_near(r.max_delta_ms, 120, 0);
    /* mean burst 3 packets, p = 6 / 50 */
    assert_near(r.burst_ratio, 3.0 * (1 - 6 / 50.0), 1e-12);
}

static void duplicate(void **state)
{
    struct pkt p[51];
    struct vox_rtpstats_result r;
    size_t n = steady(p, 50, 0, 0, 0, 0);

    (void)state;
    memmove(p + 11, p + 10, (n - 10) * sizeof *p);
    n++;
    p[11].t_ns = p[10].t_ns + 1 * MS; /* seq 10 again, 1 ms later */
    run(p, n, 8000, &r);
    assert_int_equal(r.packets, 51);
    assert_int_equal(r.expected, 50);
    assert_int_equal(r.lost, -1);
    assert_near(r.lost_pct, -2.0, 1e-12);
    assert_int_equal(r.duplicates, 1);
    assert_int_equal(r.late, 0);
    assert_int_equal(r.seq_errors, 1);
    assert_true(r.problem);
    /* The copy: D = |1 - 0| ms, J = 1/16. seq 11: 19 ms after it, 20 ms of timestamp: D = 1,
     * J = (15/16 + 1) / 16. */
    assert_near(r.max_jitter_ms, (15.0 / 16 + 1) / 16, 1e-12);
    assert_near(r.burst_ratio, 1, 0);
}

static void reorder(void **state)
{
    struct pkt p[50], tmp;
    struct vox_rtpstats_result r;
    size_t n = steady(p, 50, 0, 0, 0, 0);

    (void)state;
    /* seq 11 arrives at 200 ms and seq 10 at 220 ms */
    tmp = p[10];
    p[10].seq = p[11].seq;
    p[10].ts = p[11].ts;
    p[11].seq = tmp.seq;
    p[11].ts = tmp.ts;
    run(p, n, 8000, &r);
    assert_int_equal(r.packets, 50);
    assert_int_equal(r.lost, 0);
    assert_int_equal(r.seq_errors, 2); /* the jump to 11, then 10 behind it */
    assert_int_equal(r.late, 1);
    assert_int_equal(r.duplicates, 0);
    assert_int_equal(r.loss_bursts, 0); /* the hole was filled */
    /* seq 11: D = |20 - 40| -> J = 1.25; seq 10: D = |20 - (-20)| -> J = (15 x 1.25 + 40) / 16;
     * seq 12: D = |20 - 40| -> J = (15 J + 20) / 16 = 4.6923828125, the maximum. */
    assert_near(r.max_jitter_ms, (15 * ((15 * 1.25 + 40) / 16) + 20) / 16, 1e-12);
    assert_near(r.max_jitter_ms, 4.6923828125, 1e-12);
    assert_near(r.max_delta_ms, 20, 0);
}

static void seq_wrap(void **state)
{
    struct pkt p[20];
    struct vox_rtpstats_result r;
    size_t n = steady(p, 20, 0, 65526, 0xFFFFFD00u, 0); /* the timestamp wraps too */

    (void)state;
    run(p, n, 8000, &r);
    assert_int_equal(r.expected, 20);
    assert_int_equal(r.lost, 0);
    assert_int_equal(r.seq_errors, 0);
    assert_false(r.problem);
    assert_near(r.max_jitter_ms, 0, 0);

    drop(p, &n, 10, 1); /* seq 0 */
    run(p, n, 8000, &r);
    assert_int_equal(r.expected, 20);
    assert_int_equal(r.lost, 1);
    assert_int_equal(r.seq_errors, 1);
    assert_int_equal(r.loss_bursts, 1);
}

static void timestamp_jump(void **state)
{
    struct pkt p[30];
    struct vox_rtpstats_result r;
    size_t n = steady(p, 30, 0, 0, 0, 0);

    (void)state;
    for (size_t i = 20; i < n; i++)
        p[i].ts += 8000; /* 1 s of timestamp skipped at packet 20, arrival keeps its pace */
    run(p, n, 8000, &r);
    /* D = |20 - 1020| = 1000 ms: J = 62.5, a regular packet, so it is the maximum. */
    assert_near(r.max_jitter_ms, 62.5, 1e-12);
    assert_near(r.max_skew_ms, 1000, 1e-3);
    assert_false(r.problem);

    p[20].marker = true; /* a talkspurt start: its J is not a candidate, the next one's is */
    run(p, n, 8000, &r);
    assert_near(r.max_jitter_ms, 62.5 * 15 / 16, 1e-12);
    assert_int_equal(r.markers, 1);

    /* A timestamp before the first one: a wrong timestamp, left out of every figure. */
    steady(p, 30, 0, 0, 80000, 0);
    p[15].ts = 1000;
    run(p, n, 8000, &r);
    assert_true(r.problem);
    /* It does not move the reference sequence number either: packet 16 then looks like a jump
     * over a loss (a sequence error), and is measured from packet 14: 40 ms of arrival and 40 ms
     * of timestamp, D = 0. */
    assert_int_equal(r.seq_errors, 1);
    assert_int_equal(r.lost, 0);
    assert_near(r.max_delta_ms, 40, 0);
    assert_int_equal(r.max_delta_index, 16);
    assert_near(r.max_jitter_ms, 0, 0);
}

static void arrival_jitter_pattern(void **state)
{
    struct pkt p[50];
    struct vox_rtpstats_result r;
    size_t n = steady(p, 50, 0, 0, 0, 0);
    double q = pow(15.0 / 16, 49);

    (void)state;
    for (size_t i = 1; i < n; i += 2)
        p[i].t_ns += 2 * MS; /* odd packets 2 ms late: every D is 2 ms */
    run(p, n, 8000, &r);
    /* J_k = 2 (1 - (15/16)^k) for k = 1..49; all packets regular, so the mean is their
     * average: (2 / 49) (49 - 15 (1 - (15/16)^49)). */
    assert_near(r.max_jitter_ms, 2 * (1 - q), 1e-12);
    assert_near(r.jitter_ms, 2 * (1 - q), 1e-12);
    assert_near(r.mean_jitter_ms, 2.0 / 49 * (49 - 15 * (1 - q)), 1e-12);
    assert_near(r.max_delta_ms, 22, 0);
    assert_int_equal(r.max_delta_index, 1);
}

static void epoch_times(void **state)
{
    struct pkt p[200];
    struct vox_rtpstats_result rel, epoch;
    size_t n = steady(p, 200, 0, 0, 0, 0);

    (void)state;
    for (size_t i = 0; i < n; i++)
        p[i].t_ns += (uint64_t)((i * 2654435761u) % 4093) * 1000; /* 0 .. 4 ms of wobble */
    run(p, n, 8000, &rel);
    for (size_t i = 0; i < n; i++)
        p[i].t_ns += 1700000000ull * 1000000000ull + 123456789; /* Nov 2023, in ns */
    run(p, n, 8000, &epoch);
    assert_true(rel.max_jitter_ms > 0.5);
    assert_near(epoch.max_jitter_ms, rel.max_jitter_ms, 1e-9);
    assert_near(epoch.mean_jitter_ms, rel.mean_jitter_ms, 1e-9);
    assert_near(epoch.max_delta_ms, rel.max_delta_ms, 1e-9);
    assert_near(epoch.max_skew_ms, rel.max_skew_ms, 1e-3);
    assert_int_equal(epoch.first_ns - rel.first_ns, 1700000000ull * 1000000000ull + 123456789);
}

static void unknown_clock(void **state)
{
    struct pkt p[50];
    struct vox_rtpstats_result r;
    size_t n = steady(p, 50, 0, 0, 0, 96);

    (void)state;
    for (size_t i = 1; i < n; i += 2)
        p[i].t_ns += 2 * MS;
    run(p, n, 0, &r);
    assert_false(r.have_jitter);
    assert_near(r.max_jitter_ms, 0, 0);
    assert_near(r.mean_jitter_ms, 0, 0);
    assert_near(r.max_skew_ms, 0, 0);
    assert_near(r.max_delta_ms, 22, 0); /* delta needs no clock */
    assert_int_equal(r.lost, 0);

    run(p, n, 8000, &r); /* the same with the SDP's clock */
    assert_true(r.have_jitter);
    assert_near(r.max_jitter_ms, 2 * (1 - pow(15.0 / 16, 49)), 1e-12);
    run(p, n, 999, &r); /* below 1 kHz: unknown */
    assert_false(r.have_jitter);
}

static void telephone_event_and_cn(void **state)
{
    struct pkt p[40];
    struct vox_rtpstats st;
    struct vox_rtpstats_result r;
    size_t n = steady(p, 30, 0, 0, 0, 8);

    (void)state;
    /* Packets 10..14: a DTMF event (PT 101, its timestamp frozen at 1600, marker on the first).
     * Audio resumes at packet 15 (ts 2400): its D is measured from the event's last arrival
     * (280 ms) and from the nominal time of packet 9 (180 ms): |20 - 120| = 100 -> J = 6.25. */
    for (size_t i = 10; i < 15; i++) {
        p[i].pt = 101;
        p[i].ts = 1600;
    }
    p[10].marker = true;
    vox_rtpstats_init(&st, 8000);
    assert_int_equal(vox_rtpstats_set_event_pt(&st, 101), 0);
    feed(&st, p, n);
    vox_rtpstats_result(&st, &r);
    assert_near(r.max_jitter_ms, 6.25, 1e-12);
    assert_int_equal(r.npts, 2);
    assert_int_equal(r.pts[0], 8);
    assert_int_equal(r.pts[1], 101);
    assert_int_equal(r.markers, 1);
    assert_int_equal(vox_rtpstats_set_event_pt(&st, 200), VOX_EINVAL);
    assert_int_equal(vox_rtpstats_set_event_pt(&st, VOX_RTPSTATS_NO_PT), 0);

    /* Comfort noise at packet 10 (t 200 ms, ts 1600), then silence; audio resumes at 410 ms
     * with ts 3200: D = 10 ms (J = 0.625) but it follows CN, so it is no candidate; the next
     * one (D = 0, J = 0.5859375) is; the 210 ms delta is left out of max delta. */
    n = steady(p, 12, 0, 0, 0, 0);
    p[10].pt = 13;
    p[11] = (struct pkt){410 * MS, 11, 3200, 0, false};
    p[12] = (struct pkt){430 * MS, 12, 3360, 0, false};
    n = 13;
    run(p, n, 8000, &r);
    assert_near(r.max_jitter_ms, 0.625 * 15 / 16, 1e-12);
    assert_near(r.max_delta_ms, 20, 0);
    assert_int_equal(r.npts, 2);
    assert_int_equal(r.pts[1], 13);
}

static void payload_types_and_errors(void **state)
{
    struct vox_rtpstats st;
    struct vox_rtpstats_result r;

    (void)state;
    vox_rtpstats_init(&st, 8000);
    vox_rtpstats_result(&st, &r);
    assert_int_equal(r.packets, 0);
    assert_int_equal(r.expected, 0);
    assert_int_equal(vox_rtpstats_packet(&st, 0, 1, 0, 128, false, 0), VOX_EINVAL);
    for (uint8_t i = 0; i < 6; i++)
        assert_int_equal(vox_rtpstats_packet(&st, i * 20 * MS, i, i * 160u, i, false, 10), 0);
    vox_rtpstats_result(&st, &r);
    assert_int_equal(r.packets, 6);
    assert_int_equal(r.npts, VOX_RTPSTATS_MAX_PTS);
    assert_true(r.pts_overflow);
    assert_int_equal(r.payload_bytes, 60);
    assert_int_equal(vox_rtpstats_static_clock_hz(9), 8000);
    assert_int_equal(vox_rtpstats_static_clock_hz(14), 90000);
    assert_int_equal(vox_rtpstats_static_clock_hz(20), 0);
    assert_int_equal(vox_rtpstats_static_clock_hz(96), 0);
}

/* ---- E-model ------------------------------------------------------------------------------- */

static double mos_of(enum vox_rtpstats_codec c, uint32_t expected, int32_t lost, double jit)
{
    struct vox_rtpstats_result r = {0};
    struct vox_rtpstats_quality q;

    r.expected = expected;
    r.lost = lost;
    r.packets = (uint32_t)((int32_t)expected - lost);
    r.burst_ratio = 1;
    r.max_jitter_ms = jit;
    assert_int_equal(vox_rtpstats_mos(&r, c, 0, &q), 0);
    return q.mos;
}

static void mos_moves_with_loss_and_jitter(void **state)
{
    static const int loss[] = {0, 1, 5, 10, 20};
    static const double jit[] = {0, 5, 20, 60, 150};
    double prev = 5;

    (void)state;
    assert_near(mos_of(VOX_RTPSTATS_CODEC_G711, 1000, 0, 0), 4.4, 0.02);
    for (size_t i = 0; i < sizeof loss / sizeof loss[0]; i++) {
        double m = mos_of(VOX_RTPSTATS_CODEC_G711, 1000, loss[i] * 10, 0);

        assert_true(m < prev);
        prev = m;
    }
    assert_true(mos_of(VOX_RTPSTATS_CODEC_G711, 1000, 100, 0) < 3.6); /* not stuck at 4.5 */
    prev = 5;
    for (size_t i = 0; i < sizeof jit / sizeof jit[0]; i++) {
        double m = mos_of(VOX_RTPSTATS_CODEC_G711, 1000, 0, jit[i]);

        assert_true(m < prev);
        prev = m;
    }
    /* The codec matters: G.729A below G.711, no PLC below PLC under loss. */
    assert_true(mos_of(VOX_RTPSTATS_CODEC_G729, 1000, 0, 0) <
                mos_of(VOX_RTPSTATS_CODEC_G711, 1000, 0, 0) - 0.2);
    assert_true(mos_of(VOX_RTPSTATS_CODEC_G711_NOPLC, 1000, 50, 0) <
                mos_of(VOX_RTPSTATS_CODEC_G711, 1000, 50, 0) - 0.5);
    /* Bursty loss hurts more than random loss at the same rate. */
    assert_true(vox_rtpstats_r_factor(VOX_RTPSTATS_CODEC_G711, 5, 3, 20) <
                vox_rtpstats_r_factor(VOX_RTPSTATS_CODEC_G711, 5, 1, 20));
    /* G.107 (B-4) corners and a hand value: R = 93.2 - 0.48 (Id at 20 ms). */
    assert_near(vox_rtpstats_mos_from_r(-3), 1, 0);
    assert_near(vox_rtpstats_mos_from_r(120), 4.5, 0);
    assert_near(vox_rtpstats_mos_from_r(92.72), 1 + 0.035 * 92.72 + 92.72 * 32.72 * 7.28 * 7e-6,
                1e-12);
    assert_near(vox_rtpstats_r_factor(VOX_RTPSTATS_CODEC_G711, 0, 1, 20), 92.72, 1e-12);
    /* Ie,eff at 10 % random loss: 95 x 10 / (10 + 25.1). */
    assert_near(vox_rtpstats_r_factor(VOX_RTPSTATS_CODEC_G711, 10, 1, 0), 93.2 - 950 / 35.1, 1e-9);
}

static void mos_from_streams(void **state)
{
    struct pkt p[1000];
    struct vox_rtpstats_result r;
    struct vox_rtpstats_quality q;
    double prev = 5;
    size_t n;

    (void)state;
    /* Loss: every 10th, 5th, 3rd packet dropped. */
    static const size_t every[] = {0, 10, 5, 3};
    for (size_t k = 0; k < 4; k++) {
        n = steady(p, 1000, 0, 0, 0, 0);
        for (size_t i = every[k] ? 1 : n; i < n; i += every[k] - 1)
            drop(p, &n, i, 1);
        run(p, n, 8000, &r);
        assert_int_equal(vox_rtpstats_mos(&r, VOX_RTPSTATS_CODEC_G711, 0, &q), 0);
        assert_true(q.mos < prev);
        prev = q.mos;
        if (k == 1) {
            assert_near(q.loss_pct, 10, 0.2);
            assert_true(q.mos < 3.7);
        }
    }
    /* Jitter: odd packets 0, 5, 15, 40 ms late. */
    prev = 5;
    static const uint64_t late_ms[] = {0, 5, 15, 40};
    for (size_t k = 0; k < 4; k++) {
        n = steady(p, 500, 0, 0, 0, 0);
        for (size_t i = 1; i < n; i += 2)
            p[i].t_ns += late_ms[k] * MS;
        run(p, n, 8000, &r);
        assert_int_equal(vox_rtpstats_mos(&r, VOX_RTPSTATS_CODEC_G711, 0, &q), 0);
        assert_true(q.mos < prev);
        prev = q.mos;
    }
    assert_int_equal(vox_rtpstats_mos(&r, VOX_RTPSTATS_CODEC_EVENT, 0, &q), VOX_EINVAL);
    assert_int_equal(vox_rtpstats_mos(&r, VOX_RTPSTATS_CODEC_G711, -1, &q), VOX_EINVAL);
    assert_int_equal(vox_rtpstats_mos(&r, VOX_RTPSTATS_CODEC__COUNT, 0, &q), VOX_EINVAL);
}

static void codec_lookup(void **state)
{
    (void)state;
    assert_int_equal(vox_rtpstats_codec_from_pt(0), VOX_RTPSTATS_CODEC_G711);
    assert_int_equal(vox_rtpstats_codec_from_pt(8), VOX_RTPSTATS_CODEC_G711);
    assert_int_equal(vox_rtpstats_codec_from_pt(9), VOX_RTPSTATS_CODEC_G722);
    assert_int_equal(vox_rtpstats_codec_from_pt(18), VOX_RTPSTATS_CODEC_G729);
    assert_int_equal(vox_rtpstats_codec_from_pt(13), VOX_RTPSTATS_CODEC_CN);
    assert_int_equal(vox_rtpstats_codec_from_pt(96), VOX_RTPSTATS_CODEC_UNKNOWN);
    assert_int_equal(vox_rtpstats_codec_from_name("pcmu", 4), VOX_RTPSTATS_CODEC_G711);
    assert_int_equal(vox_rtpstats_codec_from_name("PCMA", 4), VOX_RTPSTATS_CODEC_G711);
    assert_int_equal(vox_rtpstats_codec_from_name("G722/8000", 4), VOX_RTPSTATS_CODEC_G722);
    assert_int_equal(vox_rtpstats_codec_from_name("G729", 4), VOX_RTPSTATS_CODEC_G729);
    assert_int_equal(vox_rtpstats_codec_from_name("OPUS", 4), VOX_RTPSTATS_CODEC_OPUS);
    assert_int_equal(vox_rtpstats_codec_from_name("telephone-event", 15), VOX_RTPSTATS_CODEC_EVENT);
    assert_int_equal(vox_rtpstats_codec_from_name("PCM", 3), VOX_RTPSTATS_CODEC_UNKNOWN);
    assert_int_equal(vox_rtpstats_codec_from_name(NULL, 0), VOX_RTPSTATS_CODEC_UNKNOWN);
    assert_non_null(vox_rtpstats_codec_info(VOX_RTPSTATS_CODEC_G729));
    assert_near(vox_rtpstats_codec_info(VOX_RTPSTATS_CODEC_G729)->ie, 11, 0);
    assert_near(vox_rtpstats_codec_info(VOX_RTPSTATS_CODEC_G711_NOPLC)->bpl, 4.3, 0);
    assert_null(vox_rtpstats_codec_info(VOX_RTPSTATS_CODEC__COUNT));
}

/* ---- tshark as the oracle -------------------------------------------------------------------- */

#define MAX_STREAMS 32
#define MAX_ROWS    20000

struct row {
    char src[48], dst[48];
    unsigned sport, dport;
    uint32_t ssrc;
    uint64_t t_ns;
    uint16_t seq;
    uint32_t ts;
    uint8_t pt;
    bool marker;
    uint32_t payload_bytes;
};

struct ostream {
    char src[48], dst[48];
    unsigned sport, dport;
    uint32_t ssrc;
    bool matched;
    struct vox_rtpstats st;
};

/* Dynamic payload types as the capture's SDP maps them: clock in Hz, and whether it is a
 * telephone-event. */
struct dynmap {
    uint32_t clock_hz[128];
    bool event[128];
};

static struct row rows[MAX_ROWS];

static bool have_tshark(void)
{
    return system("tshark -v >/dev/null 2>&1") == 0;
}

/* "1126267422.159542000" -> ns, exactly. */
static uint64_t parse_epoch_ns(const char *s)
{
    uint64_t sec = strtoull(s, NULL, 10), frac = 0;
    const char *dot = strchr(s, '.');
    int digits = 0;

    if (dot)
        for (const char *c = dot + 1; *c >= '0' && *c <= '9' && digits < 9; c++, digits++)
            frac = frac * 10 + (uint64_t)(*c - '0');
    for (; digits < 9; digits++)
        frac *= 10;
    return sec * 1000000000ull + frac;
}

/* Splits line at tabs (in place) into at most max fields; returns the count. */
static size_t split_tabs(char *line, char **f, size_t max)
{
    size_t n = 0;

    line[strcspn(line, "\r\n")] = 0;
    f[n++] = line;
    for (char *c = line; *c && n < max; c++)
        if (*c == '\t') {
            *c = 0;
            f[n++] = c + 1;
        }
    return n;
}

/* The first value of a tshark field that may hold several (comma-aggregated). */
static void first_value(char *dst, size_t cap, const char *a, const char *b)
{
    const char *s = *a ? a : b;

    snprintf(dst, cap, "%.*s", (int)strcspn(s, ","), s);
}

static void read_sdp_map(const char *pcap, const char *decode_as, struct dynmap *m)
{
    char cmd[1024], *line = NULL;
    size_t cap = 0;
    FILE *f;

    memset(m, 0, sizeof *m);
    snprintf(cmd, sizeof cmd, "tshark -r '%s' %s -Y sdp -T fields -e sdp.media_attr 2>/dev/null",
             pcap, decode_as);
    f = popen(cmd, "r");
    assert_non_null(f);
    while (getline(&line, &cap, f) > 0) {
        for (char *a = strstr(line, "rtpmap:"); a; a = strstr(a + 1, "rtpmap:")) {
            unsigned pt, hz;
            char name[64];

            if (sscanf(a, "rtpmap:%u %63[^/]/%u", &pt, name, &hz) == 3 && pt >= 96 && pt < 128) {
                m->clock_hz[pt] = hz;
                m->event[pt] = strcasecmp(name, "telephone-event") == 0;
            }
        }
    }
    free(line);
    pclose(f);
}

static size_t read_rows(const char *pcap, const char *decode_as)
{
    char cmd[1024], *line = NULL;
    size_t cap = 0, n = 0;
    FILE *f;

    snprintf(cmd, sizeof cmd,
             "tshark -r '%s' %s -Y rtp -T fields -E separator=/t -e frame.time_epoch -e ip.src "
             "-e ipv6.src -e udp.srcport -e ip.dst -e ipv6.dst -e udp.dstport -e rtp.ssrc "
             "-e rtp.seq -e rtp.timestamp -e rtp.p_type -e rtp.marker -e udp.length -e rtp.cc "
             "2>/dev/null",
             pcap, decode_as);
    f = popen(cmd, "r");
    assert_non_null(f);
    while (getline(&line, &cap, f) > 0) {
        char *fl[16];
        struct row *r = &rows[n];

        if (split_tabs(line, fl, 16) < 14 || !*fl[7])
            continue; /* not tapped by tshark either: no RTP header (e.g. version 3) */
        assert_true(n < MAX_ROWS);
        memset(r, 0, sizeof *r);
        r->t_ns = parse_epoch_ns(fl[0]);
        first_value(r->src, sizeof r->src, fl[1], fl[2]);
        r->sport = (unsigned)strtoul(fl[3], NULL, 10);
        first_value(r->dst, sizeof r->dst, fl[4], fl[5]);
        r->dport = (unsigned)strtoul(fl[6], NULL, 10);
        r->ssrc = (uint32_t)strtoul(fl[7], NULL, 0);
        r->seq = (uint16_t)strtoul(fl[8], NULL, 10);
        r->ts = (uint32_t)strtoul(fl[9], NULL, 10);
        r->pt = (uint8_t)strtoul(fl[10], NULL, 10);
        r->marker = strtoul(fl[11], NULL, 10) != 0 || strcmp(fl[11], "True") == 0;
        unsigned long udp = strtoul(fl[12], NULL, 10), hdr = 8 + 12 + 4 * strtoul(fl[13], NULL, 10);
        r->payload_bytes = udp > hdr ? (uint32_t)(udp - hdr) : 0;
        n++;
    }
    free(line);
    pclose(f);
    return n;
}

static struct ostream *find_stream(struct ostream *s, size_t n, const char *src, unsigned sport,
                                   const char *dst, unsigned dport, uint32_t ssrc)
{
    for (size_t i = 0; i < n; i++)
        if (s[i].ssrc == ssrc && s[i].sport == sport && s[i].dport == dport &&
            strcmp(s[i].src, src) == 0 && strcmp(s[i].dst, dst) == 0)
            return &s[i];
    return NULL;
}

/* Groups the rows by (src, sport, dst, dport, ssrc) as tshark does and feeds them; the clock of
 * each stream's dynamic payload types comes from the SDP map. Returns the stream count. */
static size_t feed_rows(size_t nrows, const struct dynmap *m, struct ostream *s)
{
    size_t n = 0;

    for (size_t i = 0; i < nrows; i++) {
        const struct row *r = &rows[i];
        struct ostream *o = find_stream(s, n, r->src, r->sport, r->dst, r->dport, r->ssrc);

        if (!o) {
            uint32_t clock = 0;
            uint8_t event = VOX_RTPSTATS_NO_PT;

            assert_true(n < MAX_STREAMS);
            o = &s[n++];
            memset(o, 0, sizeof *o);
            memcpy(o->src, r->src, sizeof o->src);
            memcpy(o->dst, r->dst, sizeof o->dst);
            o->sport = r->sport;
            o->dport = r->dport;
            o->ssrc = r->ssrc;
            for (size_t j = i; j < nrows; j++) {
                const struct row *q = &rows[j];

                if (q->ssrc != r->ssrc || q->sport != r->sport || q->dport != r->dport ||
                    strcmp(q->src, r->src) || strcmp(q->dst, r->dst) || q->pt < 96)
                    continue;
                if (m->event[q->pt])
                    event = q->pt;
                else if (!clock)
                    clock = m->clock_hz[q->pt];
            }
            vox_rtpstats_init(&o->st, clock);
            assert_int_equal(vox_rtpstats_set_event_pt(&o->st, event), 0);
        }
        assert_int_equal(
            vox_rtpstats_packet(&o->st, r->t_ns, r->seq, r->ts, r->pt, r->marker, r->payload_bytes),
            0);
    }
    return n;
}

/* Checks one printed figure: our value formatted as tshark formats it must read the same. */
static void same(const char *what, const char *tshark, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void same(const char *what, const char *tshark, const char *fmt, ...)
{
    char ours[64];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(ours, sizeof ours, fmt, ap);
    va_end(ap);
    if (strcmp(ours, tshark) != 0)
        fail_msg("%s: tshark says %s, we say %s", what, tshark, ours);
}

/*
 * Runs the whole comparison on one capture: our figures against each row of
 * `tshark -q -z rtp,streams`. `decode_as` is passed to both tshark runs (e.g. to decode a port
 * as RTP). Returns the number of streams compared.
 */
static size_t compare_with_tshark(const char *pcap, const char *decode_as)
{
    static struct ostream streams[MAX_STREAMS];
    struct dynmap map;
    char cmd[1024], *line = NULL;
    size_t cap = 0, nstreams, nrows, compared = 0;
    uint64_t capture_start_ns = 0;
    FILE *f;

    /* Arrival times go in relative to the capture's first frame, as tshark computes them. */
    snprintf(cmd, sizeof cmd, "tshark -r '%s' -c 1 -T fields -e frame.time_epoch 2>/dev/null",
             pcap);
    f = popen(cmd, "r");
    assert_non_null(f);
    if (getline(&line, &cap, f) > 0)
        capture_start_ns = parse_epoch_ns(line);
    pclose(f);
    read_sdp_map(pcap, decode_as, &map);
    nrows = read_rows(pcap, decode_as);
    for (size_t i = 0; i < nrows; i++)
        rows[i].t_ns -= capture_start_ns;
    nstreams = feed_rows(nrows, &map, streams);

    snprintf(cmd, sizeof cmd, "tshark -r '%s' %s -q -z rtp,streams 2>/dev/null", pcap, decode_as);
    f = popen(cmd, "r");
    assert_non_null(f);
    while (getline(&line, &cap, f) > 0) {
        char *tok[40], *save = NULL, name[192];
        size_t nt = 0;
        struct vox_rtpstats_result r;
        struct ostream *o;
        bool problem;

        for (char *t = strtok_r(line, " \t\r\n", &save); t && nt < 40;
             t = strtok_r(NULL, " \t\r\n", &save))
            tok[nt++] = t;
        /* data rows: start end src sport dst dport 0xSSRC payload... pkts lost (pct) 6 x ms [X] */
        if (nt < 17 || strncmp(tok[6], "0x", 2) != 0)
            continue;
        problem = strcmp(tok[nt - 1], "X") == 0;
        char **tail = tok + nt - (problem ? 10 : 9); /* pkts lost (pct) minD meanD maxD minJ .. */
        size_t npayload_words = (size_t)(tail - (tok + 7));

        o = find_stream(streams, nstreams, tok[2], (unsigned)strtoul(tok[3], NULL, 10), tok[4],
                        (unsigned)strtoul(tok[5], NULL, 10), (uint32_t)strtoul(tok[6], NULL, 0));
        snprintf(name, sizeof name, "%s %s:%s -> %s:%s %s", pcap, tok[2], tok[3], tok[4], tok[5],
                 tok[6]);
        if (!o)
            fail_msg("%s: a stream tshark sees and we do not", name);
        o->matched = true;
        vox_rtpstats_result(&o->st, &r);
        print_message("  %s: %u pkts, lost %d, max delta %.3f, jitter mean %.3f max %.3f%s\n", name,
                      r.packets, r.lost, r.max_delta_ms, r.mean_jitter_ms, r.max_jitter_ms,
                      r.problem ? ", problem" : "");
        same(name, tok[0], "%.6f", (double)r.first_ns / 1e9);
        same(name, tok[1], "%.6f", (double)r.last_ns / 1e9);
        same(name, tail[0], "%u", r.packets);
        same(name, tail[1], "%d", r.lost);
        same(name, tail[2], "(%.1f%%)", r.lost_pct);
        same(name, tail[5], "%.3f", r.max_delta_ms);
        same(name, tail[7], "%.3f", r.mean_jitter_ms);
        same(name, tail[8], "%.3f", r.max_jitter_ms);
        assert_int_equal(problem, r.problem);
        /* the payload column names each payload type seen: "g711A, telephone-event" */
        assert_true(npayload_words >= 1);
        size_t commas = 0;
        for (char **w = tok + 7; w < tail; w++)
            commas += strchr(*w, ',') != NULL;
        assert_int_equal(commas + 1, r.npts);
        compared++;
    }
    free(line);
    pclose(f);
    for (size_t i = 0; i < nstreams; i++)
        if (!streams[i].matched)
            fail_msg("%s: stream 0x%08" PRIx32 " from %s:%u is not in tshark's table", pcap,
                     streams[i].ssrc, streams[i].src, streams[i].sport);
    return compared;
}

static void oracle_public_pcaps(void **state)
{
    static const struct {
        const char *file;
        size_t streams;
    } pcaps[] = {
        {"SIP_CALL_RTP_G711.pcap", 3},
        {"invite-opus-bye.pcap", 2},
        {"metasploit-sip-invite-spoof.pcap", 0},
        {"register-invite-reinvite-bye.pcap", 4},
        {"sip-over-tcp.pcap", 2},
        {"sip-rtp-g711.pcap", 2},
        {"sip-rtp-g722.pcap", 1},
        {"SIP_DTMF2.cap", 2},
    };

    (void)state;
    if (!have_tshark()) {
        print_message("tshark not installed: the oracle comparison is skipped\n");
        skip();
    }
    for (size_t i = 0; i < sizeof pcaps / sizeof pcaps[0]; i++) {
        char path[512];

        snprintf(path, sizeof path, "%s/pcaps/%s", VOX_SCENARIOS_DIR, pcaps[i].file);
        assert_int_equal(access(path, R_OK), 0);
        assert_int_equal(compare_with_tshark(path, ""), pcaps[i].streams);
    }
}

/* ---- a pcap of edge cases, written here ------------------------------------------------------ */

static void put16be(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32be(uint8_t *p, uint32_t v)
{
    put16be(p, (uint16_t)(v >> 16));
    put16be(p + 2, (uint16_t)v);
}

struct spkt {
    struct pkt p;
    uint32_t ssrc;
    uint16_t sport;
};

static int spkt_by_time(const void *a, const void *b)
{
    const struct spkt *x = a, *y = b;

    return x->p.t_ns < y->p.t_ns ? -1 : x->p.t_ns > y->p.t_ns;
}

/* Writes a nanosecond pcap (Ethernet, IPv4, UDP to port 5004, 160-byte payloads). */
static void write_pcap(const char *path, const struct spkt *s, size_t n)
{
    FILE *f = fopen(path, "wb");
    const uint32_t hdr[6] = {0xa1b23c4du, 2u | 4u << 16, 0, 0, 65535, 1}; /* host order */

    assert_non_null(f);
    assert_int_equal(fwrite(hdr, 4, 6, f), 6);
    for (size_t i = 0; i < n; i++) {
        uint8_t fr[14 + 20 + 8 + 12 + 160] = {0};
        uint8_t *ip = fr + 14, *udp = ip + 20, *rtp = udp + 8;
        uint32_t rec[4] = {(uint32_t)(s[i].p.t_ns / 1000000000u),
                           (uint32_t)(s[i].p.t_ns % 1000000000u), sizeof fr, sizeof fr};

        memcpy(fr, "\x00\x11\x22\x33\x44\x55\x00\x11\x22\x33\x44\x66\x08\x00", 14);
        ip[0] = 0x45;
        put16be(ip + 2, (uint16_t)(sizeof fr - 14));
        ip[8] = 64;
        ip[9] = 17;
        memcpy(ip + 12, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
        put16be(udp, s[i].sport);
        put16be(udp + 2, 5004);
        put16be(udp + 4, (uint16_t)(sizeof fr - 34));
        rtp[0] = 0x80;
        rtp[1] = (uint8_t)((s[i].p.marker ? 0x80 : 0) | s[i].p.pt);
        put16be(rtp + 2, s[i].p.seq);
        put32be(rtp + 4, s[i].p.ts);
        put32be(rtp + 8, s[i].ssrc);
        memset(rtp + 12, 0xff, 160);
        assert_int_equal(fwrite(rec, 4, 4, f), 4);
        assert_int_equal(fwrite(fr, 1, sizeof fr, f), sizeof fr);
    }
    assert_int_equal(fclose(f), 0);
}

static size_t add_stream(struct spkt *out, const struct pkt *p, size_t n, uint32_t ssrc,
                         uint16_t sport)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (struct spkt){p[i], ssrc, sport};
    return n;
}

static void oracle_edge_cases(void **state)
{
    static struct spkt all[1200];
    struct pkt p[300];
    size_t n, total = 0;
    char path[] = "/tmp/vox-rtpstats-XXXXXX";
    int fd;

    (void)state;
    if (!have_tshark()) {
        print_message("tshark not installed: the oracle comparison is skipped\n");
        skip();
    }
    /* 1: sequence and timestamp wrap, arrival wobble, a reorder, a duplicate, a burst loss. */
    n = steady(p, 40, 0, 65520, 0xFFFFF000u, 0);
    for (size_t i = 0; i < n; i++)
        p[i].t_ns += (i % 3) * MS;
    p[0].marker = true;
    struct pkt t = p[10];
    p[10].seq = p[11].seq, p[10].ts = p[11].ts, p[11].seq = t.seq, p[11].ts = t.ts;
    memmove(p + 16, p + 15, (n - 15) * sizeof *p);
    n++;
    p[16].t_ns += 5 * MS;
    drop(&p[0], &n, 22, 3);
    total += add_stream(all + total, p, n, 0x1111, 6000);

    /* 2: timestamps backwards (behind the previous one, then behind the first), comfort noise,
     * a marker with a timestamp jump, and a late packet at the very end (negative loss). */
    n = steady(p, 40, 1 * MS, 100, 100000, 0);
    for (size_t i = 0; i < n; i++) {
        p[i].t_ns += (i * 7919 % 5) * 300000;
        if (i >= 30)
            p[i].ts += 16000;
    }
    p[10].ts -= 8000;
    p[12].ts = 50000;
    p[20].pt = p[21].pt = p[22].pt = 13;
    p[30].marker = true;
    p[n] = (struct pkt){p[n - 1].t_ns + 20 * MS, 120, p[n - 1].ts + 160, 0, false};
    n++;
    total += add_stream(all + total, p, n, 0x2222, 6002);

    /* 3: a payload type tshark has no clock for (dynamic, no SDP), then PCMA; a reorder. */
    n = steady(p, 20, 2 * MS, 0, 0, 96);
    for (size_t i = 0; i < n; i++) {
        p[i].t_ns += (i % 4) * 200000;
        if (i >= 15)
            p[i].pt = 8;
    }
    t = p[5], p[5] = p[7], p[7] = t;
    total += add_stream(all + total, p, n, 0x3333, 6004);

    /* 4: a long stream with scattered and burst losses and growing jitter. */
    n = steady(p, 300, 3 * MS, 30000, 777, 8);
    for (size_t i = 0; i < n; i++)
        p[i].t_ns += (uint64_t)((i * 2654435761u) % (1 + i / 10)) * 100000;
    for (int i = 250; i > 5; i -= 37)
        drop(p, &n, (size_t)i, (size_t)(i % 3 + 1));
    total += add_stream(all + total, p, n, 0x4444, 6006);

    qsort(all, total, sizeof all[0], spkt_by_time);
    fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_pcap(path, all, total);
    size_t compared = compare_with_tshark(path, "-d udp.port==5004,rtp");
    unlink(path);
    assert_int_equal(compared, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(perfect_spacing),
        cmocka_unit_test(planted_loss),
        cmocka_unit_test(burst_loss),
        cmocka_unit_test(duplicate),
        cmocka_unit_test(reorder),
        cmocka_unit_test(seq_wrap),
        cmocka_unit_test(timestamp_jump),
        cmocka_unit_test(arrival_jitter_pattern),
        cmocka_unit_test(epoch_times),
        cmocka_unit_test(unknown_clock),
        cmocka_unit_test(telephone_event_and_cn),
        cmocka_unit_test(payload_types_and_errors),
        cmocka_unit_test(mos_moves_with_loss_and_jitter),
        cmocka_unit_test(mos_from_streams),
        cmocka_unit_test(codec_lookup),
        cmocka_unit_test(oracle_public_pcaps),
        cmocka_unit_test(oracle_edge_cases),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
