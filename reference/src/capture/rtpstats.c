/* SPDX-License-Identifier: MIT */
/* RTP stream statistics with tshark's definitions (see rtpstats.h) and the G.107 E-model. */
#include "capture/rtpstats.h"

#include <ctype.h>
#include <math.h>
#include <string.h>

_Static_assert(sizeof(struct vox_rtpstats) <= 128, "per-stream RTP state must stay small");

/* flags */
#define RTPSTATS_F_UNDER       0x01u /* tshark's wrap state: below the first seq, cycle counted */
#define RTPSTATS_F_PROBLEM     0x02u /* a sequence error or a wrong timestamp */
#define RTPSTATS_F_PREV_CN     0x04u /* the previous packet was comfort noise */
#define RTPSTATS_F_HAVE_JITTER 0x08u /* a regular packet with a known clock was seen */
#define RTPSTATS_F_PTS_FULL    0x10u /* more distinct payload types than pts[] holds */

#define NS_PER_S       1000000000u
#define RELATIVE_LIMIT (1ull << 50) /* ns: times at or above it are taken as epoch times */

/*
 * An arrival time in ms as tshark's nstime_to_msec() computes it: seconds x 1000 + nanoseconds /
 * 10^6. Relative times (below 2^50 ns) are used as they are; epoch times are measured from the
 * whole second of the stream's first packet, to keep the double's resolution.
 */
static double to_ms(const struct vox_rtpstats *st, uint64_t ns)
{
    uint64_t origin = st->first_ns >= RELATIVE_LIMIT ? st->first_ns - st->first_ns % NS_PER_S : 0;
    int64_t d = (int64_t)(ns - origin);

    return (double)(d / (int64_t)NS_PER_S) * 1000.0 + (double)(d % (int64_t)NS_PER_S) / 1000000.0;
}

uint32_t vox_rtpstats_static_clock_hz(uint8_t pt)
{
    /* RFC 3551 §6 tables 4 and 5 (plus CN 13 of RFC 3389 and the old CN 19), as tshark has
     * them: 20-24, 27, 29, 30 are unassigned, 35-95 unassigned or dynamic. */
    static const uint32_t hz[35] = {
        8000, 8000,  8000,  8000, 8000,  8000,  16000, 8000,  8000,  8000,  44100, 44100,
        8000, 8000,  90000, 8000, 11025, 22050, 8000,  8000,  0,     0,     0,     0,
        0,    90000, 90000, 0,    90000, 0,     0,     90000, 90000, 90000, 90000,
    };

    return pt < 35 ? hz[pt] : 0;
}

void vox_rtpstats_init(struct vox_rtpstats *st, uint32_t clock_rate_hz)
{
    uint32_t khz = clock_rate_hz / 1000;

    memset(st, 0, sizeof *st);
    st->clock_khz = khz > UINT16_MAX ? UINT16_MAX : (uint16_t)khz;
    st->event_pt = VOX_RTPSTATS_NO_PT;
    memset(st->pts, VOX_RTPSTATS_NO_PT, sizeof st->pts);
}

int vox_rtpstats_set_event_pt(struct vox_rtpstats *st, uint8_t pt)
{
    if (pt > 127 && pt != VOX_RTPSTATS_NO_PT)
        return VOX_EINVAL;
    st->event_pt = pt;
    return 0;
}

/* Clock of payload type pt in whole kHz (tshark divides by clock / 1000 in integers), 0 when
 * unknown. */
static uint32_t pt_khz(const struct vox_rtpstats *st, uint8_t pt)
{
    if (pt == st->event_pt)
        return 0;
    if (pt < 96)
        return vox_rtpstats_static_clock_hz(pt) / 1000;
    return st->clock_khz;
}

static void note_pt(struct vox_rtpstats *st, uint8_t pt)
{
    for (unsigned i = 0; i < VOX_RTPSTATS_MAX_PTS; i++) {
        if (st->pts[i] == pt)
            return;
        if (st->pts[i] == VOX_RTPSTATS_NO_PT) {
            st->pts[i] = pt;
            return;
        }
    }
    st->flags |= RTPSTATS_F_PTS_FULL;
}

static bool is_cn(uint8_t pt)
{
    return pt == 13 || pt == 19; /* RFC 3389 comfort noise, and its pre-RFC number */
}

/* a - b for 16-bit sequence numbers, in [-32768, 32767]. */
static int32_t seq_delta(uint16_t a, uint16_t b)
{
    int32_t d = (int32_t)(uint16_t)(a - b);

    return d >= 0x8000 ? d - 0x10000 : d;
}

/*
 * Our own duplicate / late / loss-burst bookkeeping over a window of the last
 * VOX_RTPSTATS_SEQ_WINDOW sequence numbers below the highest one received. A burst is a run of
 * missing numbers; the highest number is always received, so a jump opens a new run at the top.
 */
static void track_window(struct vox_rtpstats *st, uint16_t seq)
{
    int32_t d = seq_delta(seq, st->highest_seq);

    if (d > 0) {
        if (d > 1)
            st->loss_bursts++;
        st->seen_mask = d >= VOX_RTPSTATS_SEQ_WINDOW ? 1u : (st->seen_mask << d) | 1u;
        st->highest_seq = seq;
        return;
    }
    uint32_t i = (uint32_t)-d;

    if (i >= VOX_RTPSTATS_SEQ_WINDOW) {
        st->late++; /* too old to tell whether it is a copy */
        return;
    }
    if (st->seen_mask & (1u << i)) {
        st->duplicates++;
        return;
    }
    st->late++;
    st->seen_mask |= 1u << i;
    /* The hole at i is filled: with both neighbours received the run is gone, with neither it
     * is split in two, otherwise it just shrank. Beyond the window counts as received. */
    bool newer = (st->seen_mask >> (i - 1)) & 1u;
    bool older = i + 1 >= VOX_RTPSTATS_SEQ_WINDOW || ((st->seen_mask >> (i + 1)) & 1u);

    if (newer && older) {
        if (st->loss_bursts)
            st->loss_bursts--;
    } else if (!newer && !older) {
        st->loss_bursts++;
    }
}

static void first_packet(struct vox_rtpstats *st, uint64_t arrival_ns, uint16_t seq,
                         uint32_t rtp_ts, uint8_t pt)
{
    st->first_ns = st->last_ns = st->ref_ns = arrival_ns;
    st->first_seq = st->last_seq = st->ref_seq = st->highest_seq = seq;
    st->first_ts = rtp_ts;
    st->seen_mask = 1;
    if (is_cn(pt))
        st->flags |= RTPSTATS_F_PREV_CN;
}

int vox_rtpstats_packet(struct vox_rtpstats *st, uint64_t arrival_ns, uint16_t seq, uint32_t rtp_ts,
                        uint8_t pt, bool marker, uint32_t payload_bytes)
{
    if (pt > 127)
        return VOX_EINVAL;
    note_pt(st, pt);
    st->markers += marker;
    st->payload_bytes = payload_bytes > UINT32_MAX - st->payload_bytes
                            ? UINT32_MAX
                            : st->payload_bytes + payload_bytes;
    if (st->packets == 0) {
        first_packet(st, arrival_ns, seq, rtp_ts, pt);
        st->packets = 1;
        return 0;
    }
    st->last_ns = arrival_ns;
    track_window(st, seq);

    /* In time sequence: within 2^31 ticks after the first timestamp, modulo 2^32 (a timestamp
     * exactly 2^31 ahead counts only across the wrap, as in tshark). */
    uint32_t ts_off = rtp_ts - st->first_ts;
    bool in_time = rtp_ts >= st->first_ts ? ts_off < 0x80000000u : ts_off <= 0x80000000u;
    bool wrong_seq = false;

    /* tshark's cycle count: a drop below the first number starts a new cycle, climbing back
     * above it re-arms the detection. */
    if (in_time && !(st->flags & RTPSTATS_F_UNDER) &&
        (seq < st->first_seq || (seq == 0 && st->last_seq == 65535))) {
        st->cycles++;
        st->flags |= RTPSTATS_F_UNDER;
    } else if (in_time && (st->flags & RTPSTATS_F_UNDER) && seq > st->first_seq) {
        st->flags &= (uint8_t)~RTPSTATS_F_UNDER;
    }

    /* Sequence errors against tshark's reference number (see rtpstats.h). */
    int32_t ref = st->ref_seq;

    if (in_time && (seq == ref + 1 || (ref == 65535 && seq == 0))) {
        st->ref_seq = seq;
    } else if (in_time && (seq > ref + 1 || ref - seq > 0xFF00)) {
        st->ref_seq = seq;
        wrong_seq = true;
    } else if (seq <= ref) {
        wrong_seq = true;
    }
    st->seq_errors += wrong_seq;

    bool cn = is_cn(pt);
    bool follows_cn = (st->flags & RTPSTATS_F_PREV_CN) != 0;

    st->flags = (uint8_t)((st->flags & ~RTPSTATS_F_PREV_CN) | (cn ? RTPSTATS_F_PREV_CN : 0));

    uint32_t khz = pt_khz(st, pt);
    /* Times in ms as doubles, computed the way tshark computes them from its relative frame
     * times, so that the rounding is the same too (see rtpstats.h on the origin). */
    double now_ms = to_ms(st, arrival_ns);
    double delta_ms = now_ms - to_ms(st, st->ref_ns);
    double jitter_now = 0;

    if (in_time && khz) {
        double nominal_ms = (double)ts_off / khz;
        double expected_ms = to_ms(st, st->ref_ns) + (nominal_ms - st->ref_nominal_ms);
        double diff_ms = fabs(now_ms - expected_ms);
        double skew_ms = nominal_ms - (now_ms - to_ms(st, st->first_ns));

        /* RFC 3550 §6.4.1: J += (|D| - J) / 16, written as tshark evaluates it. */
        st->jitter_ms = (15 * st->jitter_ms + diff_ms) / 16;
        jitter_now = st->jitter_ms;
        st->ref_nominal_ms = nominal_ms;
        if (fabs(skew_ms) > fabs((double)st->max_skew_ms))
            st->max_skew_ms = (float)skew_ms;
    }

    if (in_time && !marker && !cn && !follows_cn) {
        uint32_t n = st->packets; /* packets before this one: >= 1 */

        if (delta_ms > st->max_delta_ms) {
            st->max_delta_ms = delta_ms;
            st->max_delta_index = n;
        }
        if (khz) {
            if (st->jitter_ms > st->max_jitter_ms)
                st->max_jitter_ms = st->jitter_ms;
            st->mean_jitter_ms = (st->mean_jitter_ms * (n - 1) + jitter_now) / n;
            st->flags |= RTPSTATS_F_HAVE_JITTER;
        }
    }
    if (!in_time || wrong_seq)
        st->flags |= RTPSTATS_F_PROBLEM;
    if (in_time)
        st->ref_ns = arrival_ns;
    st->last_seq = seq;
    st->packets++;
    return 0;
}

void vox_rtpstats_result(const struct vox_rtpstats *st, struct vox_rtpstats_result *out)
{
    memset(out, 0, sizeof *out);
    out->packets = st->packets;
    if (st->packets) {
        out->expected =
            (uint32_t)st->last_seq + (uint32_t)st->cycles * 65536u - (uint32_t)st->first_seq + 1u;
        out->lost = (int32_t)(out->expected - st->packets);
        if (out->expected)
            out->lost_pct = (double)out->lost * 100.0 / (double)out->expected;
    }
    out->seq_errors = st->seq_errors;
    out->duplicates = st->duplicates;
    out->late = st->late;
    out->markers = st->markers;
    out->loss_bursts = st->loss_bursts;
    out->burst_ratio = 1.0;
    if (out->lost > 0 && st->loss_bursts && out->expected > (uint32_t)out->lost) {
        /* G.113 BurstR: observed mean burst length over the one random loss at the same rate
         * would give, 1 / (1 - p). */
        double p = (double)out->lost / out->expected;

        out->burst_ratio = ((double)out->lost / st->loss_bursts) * (1.0 - p);
    }
    out->problem = (st->flags & RTPSTATS_F_PROBLEM) != 0;
    out->max_delta_ms = st->max_delta_ms;
    out->max_delta_index = st->max_delta_index;
    out->have_jitter = (st->flags & RTPSTATS_F_HAVE_JITTER) != 0;
    out->mean_jitter_ms = st->mean_jitter_ms;
    out->max_jitter_ms = st->max_jitter_ms;
    out->jitter_ms = st->jitter_ms;
    out->max_skew_ms = st->max_skew_ms;
    out->first_ns = st->first_ns;
    out->last_ns = st->last_ns;
    out->payload_bytes = st->payload_bytes;
    for (unsigned i = 0; i < VOX_RTPSTATS_MAX_PTS && st->pts[i] != VOX_RTPSTATS_NO_PT; i++)
        out->pts[out->npts++] = st->pts[i];
    out->pts_overflow = (st->flags & RTPSTATS_F_PTS_FULL) != 0;
}

/* ---- E-model ------------------------------------------------------------------------------ */

/*
 * Ie and Bpl from ITU-T G.113 Appendix I (random loss) where it has them: G.711 0 / 25.1 with
 * the PLC of G.711 Appendix I, 0 / 4.3 without; G.729A+VAD 11 / 19.0; G.723.1 6.3 kbit/s
 * 15 / 16.1. G.722 and Opus have no narrowband-scale figures there: both are rated like
 * G.711+PLC (Ie 0, Bpl 25.1): the narrowband E-model cannot credit their wider band, and their
 * concealment is at least as good (Opus's optional in-band FEC is not credited). Look-ahead:
 * G.729 5 ms, G.723.1 7.5 ms, G.722 1.5 ms (QMF), Opus 6.5 ms (its 26.5 ms at 20 ms frames).
 */
static const struct vox_rtpstats_codec_info codecs[VOX_RTPSTATS_CODEC__COUNT] = {
    [VOX_RTPSTATS_CODEC_UNKNOWN] = {"unknown (as G.711+PLC)", 0, 25.1, 20, 0},
    [VOX_RTPSTATS_CODEC_G711] = {"G.711+PLC", 0, 25.1, 20, 0},
    [VOX_RTPSTATS_CODEC_G711_NOPLC] = {"G.711", 0, 4.3, 20, 0},
    [VOX_RTPSTATS_CODEC_G722] = {"G.722", 0, 25.1, 20, 1.5},
    [VOX_RTPSTATS_CODEC_G723] = {"G.723.1", 15, 16.1, 30, 7.5},
    [VOX_RTPSTATS_CODEC_G729] = {"G.729A", 11, 19.0, 20, 5},
    [VOX_RTPSTATS_CODEC_OPUS] = {"Opus", 0, 25.1, 20, 6.5},
    [VOX_RTPSTATS_CODEC_EVENT] = {"telephone-event", 0, 0, 0, 0},
    [VOX_RTPSTATS_CODEC_CN] = {"CN", 0, 0, 0, 0},
};

const struct vox_rtpstats_codec_info *vox_rtpstats_codec_info(enum vox_rtpstats_codec codec)
{
    return (unsigned)codec < VOX_RTPSTATS_CODEC__COUNT ? &codecs[codec] : NULL;
}

enum vox_rtpstats_codec vox_rtpstats_codec_from_pt(uint8_t pt)
{
    switch (pt) {
    case 0:
    case 8:
        return VOX_RTPSTATS_CODEC_G711;
    case 4:
        return VOX_RTPSTATS_CODEC_G723;
    case 9:
        return VOX_RTPSTATS_CODEC_G722;
    case 13:
    case 19:
        return VOX_RTPSTATS_CODEC_CN;
    case 18:
        return VOX_RTPSTATS_CODEC_G729;
    default:
        return VOX_RTPSTATS_CODEC_UNKNOWN;
    }
}

static bool name_is(const char *name, size_t len, const char *want)
{
    size_t n = strlen(want);

    if (len != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (tolower((unsigned char)name[i]) != tolower((unsigned char)want[i]))
            return false;
    return true;
}

enum vox_rtpstats_codec vox_rtpstats_codec_from_name(const char *name, size_t len_bytes)
{
    static const struct {
        const char *name;
        enum vox_rtpstats_codec codec;
    } names[] = {
        {"PCMU", VOX_RTPSTATS_CODEC_G711}, {"PCMA", VOX_RTPSTATS_CODEC_G711},
        {"G722", VOX_RTPSTATS_CODEC_G722}, {"G723", VOX_RTPSTATS_CODEC_G723},
        {"G729", VOX_RTPSTATS_CODEC_G729}, {"G729A", VOX_RTPSTATS_CODEC_G729},
        {"opus", VOX_RTPSTATS_CODEC_OPUS}, {"telephone-event", VOX_RTPSTATS_CODEC_EVENT},
        {"CN", VOX_RTPSTATS_CODEC_CN},
    };

    if (!name)
        return VOX_RTPSTATS_CODEC_UNKNOWN;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (name_is(name, len_bytes, names[i].name))
            return names[i].codec;
    return VOX_RTPSTATS_CODEC_UNKNOWN;
}

double vox_rtpstats_r_factor(enum vox_rtpstats_codec codec, double loss_pct, double burst_ratio,
                             double delay_ms)
{
    const struct vox_rtpstats_codec_info *c = vox_rtpstats_codec_info(codec);
    double ppl = loss_pct < 0 ? 0 : loss_pct > 100 ? 100 : loss_pct;
    double burst = burst_ratio < 1 ? 1 : burst_ratio;
    double d = delay_ms < 0 ? 0 : delay_ms;

    if (!c || codec == VOX_RTPSTATS_CODEC_EVENT || codec == VOX_RTPSTATS_CODEC_CN)
        c = &codecs[VOX_RTPSTATS_CODEC_UNKNOWN];

    /* G.107 (7-29): effective equipment impairment under loss. */
    double ie_eff = c->ie + (95 - c->ie) * ppl / (ppl / burst + c->bpl);
    /* Cole & Rosenbluth (2001), fit of G.107's Id at default echo parameters. */
    double id = 0.024 * d + (d > 177.3 ? 0.11 * (d - 177.3) : 0);

    return 93.2 - id - ie_eff;
}

double vox_rtpstats_mos_from_r(double r)
{
    if (r <= 0)
        return 1.0;
    if (r >= 100)
        return 4.5;
    double mos = 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6;

    return mos < 1 ? 1.0 : mos;
}

int vox_rtpstats_mos(const struct vox_rtpstats_result *res, enum vox_rtpstats_codec codec,
                     double network_delay_ms, struct vox_rtpstats_quality *out)
{
    const struct vox_rtpstats_codec_info *c = vox_rtpstats_codec_info(codec);

    if (!c || codec == VOX_RTPSTATS_CODEC_EVENT || codec == VOX_RTPSTATS_CODEC_CN ||
        !(network_delay_ms >= 0))
        return VOX_EINVAL;
    memset(out, 0, sizeof *out);
    if (res->expected && res->lost > 0)
        out->loss_pct = (double)res->lost * 100.0 / (double)res->expected;
    out->burst_ratio = res->burst_ratio < 1 ? 1 : res->burst_ratio;
    out->delay_ms = c->frame_ms + c->lookahead_ms + 2 * res->max_jitter_ms + network_delay_ms;
    out->r = vox_rtpstats_r_factor(codec, out->loss_pct, out->burst_ratio, out->delay_ms);
    out->mos = vox_rtpstats_mos_from_r(out->r);
    return 0;
}
