/* SPDX-License-Identifier: MIT */
/* The capture engine's RTP stream statistics (the figures of `tshark -z rtp,streams`, computed
 * the same way) and an ITU-T G.107 E-model MOS estimate. */
#ifndef VOX_CAPTURE_RTPSTATS_H
#define VOX_CAPTURE_RTPSTATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vox/err.h"

/*
 * What the figures mean. They follow the definitions of Wireshark 4.0's RTP stream analysis
 * (what `tshark -q -z rtp,streams` prints), re-implemented here from their description, so that
 * the same packets give the same numbers to the printed precision (checked against tshark by
 * reference/tests/test_rtpstats.c). One stream = one SSRC between one pair of transport
 * addresses in one direction. "ms" figures are doubles in milliseconds. Checked against Debian's
 * tshark 4.0.17; later Wireshark releases (4.4 on) measure nominal times from the previous
 * packet's extended timestamp instead of the first one, which changes the jitter after a
 * telephone-event or a timestamp going backwards.
 *
 * Arrival times: give them in ns since the capture's first frame (tshark's frame.time_relative;
 * for a live capture, since its start). They are turned into ms as tshark does (seconds x 1000
 * + nanoseconds / 10^6, in double) and every figure is computed in tshark's order of operations,
 * so that even the rounding agrees and a value on a printed-digit boundary prints the same.
 * Times of 2^50 ns (13 days) and more are taken as epoch times and measured from the whole
 * second of the stream's first packet instead: the figures keep their precision (a double of
 * epoch milliseconds would only resolve 0.2 us) but may differ from tshark's in the last bit.
 *
 * - A packet is *in time sequence* when its RTP timestamp is at most 2^31 ticks ahead of the
 *   stream's FIRST timestamp (modulo 2^32). A packet that is not (timestamp before the first
 *   one) is flagged "wrong timestamp": it does not move the reference time or timestamp.
 * - Nominal time of a packet: (timestamp - first timestamp) mod 2^32 / (clock_rate_hz / 1000)
 *   in ms; the division by the clock in kHz is an integer division, as in tshark (exact for
 *   every rate that is a multiple of 1000 Hz; 11025 Hz counts as 11 kHz).
 * - Per in-time-sequence packet with a known clock: D = |(arrival - arrival of the previous
 *   in-time packet) - (nominal - nominal of the previous clocked packet)| in ms, and the
 *   interarrival jitter J = J + (D - J) / 16 in floating point (RFC 3550 §6.4.1's filter,
 *   in ms, starting at 0 on the first packet). Note "previous clocked packet": packets of
 *   unknown clock (telephone-event, unknown dynamic PT) move the arrival reference but not the
 *   nominal one, so the audio packet after a DTMF event sees a large D (tshark does the same).
 * - A packet is *regular* unless it is the first, has the marker bit, is comfort noise (PT 13
 *   or 19), follows a comfort-noise packet, or has a wrong timestamp. Only regular packets feed
 *   max delta, max jitter and mean jitter (and only those with a known clock feed the jitter).
 * - Delta: arrival - arrival of the previous in-time packet. Max delta: the largest over the
 *   regular packets (0 when none).
 * - Mean jitter: tshark's running figure: at each regular clocked packet, with n the number of
 *   packets before it, mean = (mean x (n - 1) + J) / n. It is an average over the packets, not
 *   over the jitter samples: excluded packets still count in n.
 * - Expected = last packet's sequence number + 65536 x cycles - first sequence number + 1, where
 *   a cycle is counted when an in-time packet's sequence number drops below the first one (or
 *   goes 65535 -> 0) and re-armed once one climbs above it. Lost = expected - packets (negative
 *   with duplicates); lost % = lost x 100 / expected. "Last packet" is the last one received,
 *   not the highest: a late packet at the very end makes the loss negative, as in tshark.
 * - Sequence errors (tshark's "wrong sequence number"): an in-time packet whose number is
 *   neither the reference + 1 nor 65535 -> 0 and is ahead of it (or more than 0xFF00 behind:
 *   a wrap over lost packets) moves the reference and counts one; any packet at or behind the
 *   reference counts one (late or duplicate). `problem` is set by a sequence error or a wrong
 *   timestamp (tshark's "X").
 * - Skew: nominal time - (arrival - first arrival) in ms; max skew keeps the signed value of the
 *   largest magnitude.
 * Counted on the side, with our own definitions (tshark has no such columns):
 * - duplicates (a sequence number already received) and late packets (behind the highest one
 *   received, not received before), told apart exactly within VOX_RTPSTATS_SEQ_WINDOW numbers
 *   of the highest (an older packet counts as late);
 * - loss bursts: the number of runs of missing sequence numbers, kept exact within the window
 *   (a late packet that fills a hole closes, shrinks or splits a run);
 * - markers: packets with the marker bit; payload_bytes (saturates at 2^32 - 1).
 *
 * Clock: static payload types (0..95) use their RFC 3551 clock (the table tshark uses: G.722
 * is 8000 Hz); dynamic ones (96..127) use the clock given to vox_rtpstats_init(), 0 meaning
 * unknown (no jitter or skew for them); the telephone-event payload type set with
 * vox_rtpstats_set_event_pt() has no clock (RFC 4733 §2.2.1: its timestamp does not advance).
 *
 * Cost: 128 bytes per stream, no allocation, a few divisions per packet. Not thread-safe per
 * stream (one writer).
 */

#define VOX_RTPSTATS_NO_PT      0xFFu /* no payload type (vox_rtpstats_set_event_pt) */
#define VOX_RTPSTATS_MAX_PTS    4     /* distinct payload types remembered per stream */
#define VOX_RTPSTATS_SEQ_WINDOW 32    /* sequence numbers behind the highest tracked exactly */

/* Per-stream state: read it through vox_rtpstats_result(); the fields are private. */
struct vox_rtpstats {
    uint64_t first_ns;        /* arrival of the first packet */
    uint64_t last_ns;         /* arrival of the latest packet */
    uint64_t ref_ns;          /* arrival of the latest in-time-sequence packet */
    double max_delta_ms;      /* largest delta of a regular packet */
    double jitter_ms;         /* current interarrival jitter J */
    double mean_jitter_ms;    /* tshark's running mean (see above) */
    double max_jitter_ms;     /* largest J of a regular clocked packet */
    double ref_nominal_ms;    /* nominal time of the latest clocked in-time packet */
    uint32_t packets;         /* packets fed, all of them */
    uint32_t max_delta_index; /* 0-based index in the stream of the packet of max_delta_ms */
    uint32_t seq_errors;
    uint32_t duplicates;
    uint32_t late;
    uint32_t markers;
    uint32_t loss_bursts;   /* runs of missing sequence numbers (see above) */
    uint32_t first_ts;      /* RTP timestamp of the first packet */
    uint32_t seen_mask;     /* bit i: highest_seq - i was received */
    uint32_t payload_bytes; /* saturating */
    float max_skew_ms;
    uint16_t first_seq;
    uint16_t last_seq;                 /* sequence number of the latest packet */
    uint16_t ref_seq;                  /* tshark's reference sequence number */
    uint16_t highest_seq;              /* highest sequence number received (mod 2^16) */
    uint16_t cycles;                   /* sequence number wraps (tshark's count) */
    uint16_t clock_khz;                /* clock of the dynamic payload types in kHz, 0: unknown */
    uint8_t event_pt;                  /* telephone-event payload type, VOX_RTPSTATS_NO_PT: none */
    uint8_t flags;                     /* RTPSTATS_F_* in rtpstats.c */
    uint8_t pts[VOX_RTPSTATS_MAX_PTS]; /* payload types seen, VOX_RTPSTATS_NO_PT: free slot */
};

/*
 * Starts an empty stream. `clock_rate_hz` is the RTP clock of the stream's dynamic payload
 * types (the SDP rtpmap rate, e.g. 48000 for opus), 0 when unknown; below 1000 Hz counts as
 * unknown. Static payload types always use their RFC 3551 clock. Never fails.
 */
void vox_rtpstats_init(struct vox_rtpstats *st, uint32_t clock_rate_hz);

/*
 * Names the stream's telephone-event payload type (RFC 4733, from the SDP rtpmap), whose
 * packets take no part in the jitter; VOX_RTPSTATS_NO_PT for none (the default). Call it before
 * the first packet. Returns 0, or VOX_EINVAL for a payload type above 127 other than NO_PT.
 */
int vox_rtpstats_set_event_pt(struct vox_rtpstats *st, uint8_t pt);

/*
 * Accounts one RTP packet, in capture order: `arrival_ns` its capture time in ns (any origin,
 * the same for all packets of the stream), `seq`, `rtp_ts`, `pt` (0..127) and `marker` from
 * its header, `payload_bytes` its payload length (after the header, CSRCs and extension).
 * Returns 0, or VOX_EINVAL when pt > 127 (the packet is then not counted). No allocation.
 */
int vox_rtpstats_packet(struct vox_rtpstats *st, uint64_t arrival_ns, uint16_t seq, uint32_t rtp_ts,
                        uint8_t pt, bool marker, uint32_t payload_bytes);

/* The figures of one stream (definitions at the top of this file). */
struct vox_rtpstats_result {
    uint32_t packets;
    uint32_t expected;
    int32_t lost;    /* expected - packets: negative with duplicates */
    double lost_pct; /* lost x 100 / expected (0 when expected is 0) */
    uint32_t seq_errors;
    uint32_t duplicates;
    uint32_t late;
    uint32_t markers;
    uint32_t loss_bursts;
    double burst_ratio; /* ITU-T G.113 BurstR estimate: mean burst / (1 / (1 - p)); 1 if no loss */
    bool problem;       /* a sequence error or a wrong timestamp was seen (tshark's "X") */
    double max_delta_ms;
    uint32_t max_delta_index; /* 0-based index of the packet that had it */
    bool have_jitter;         /* false: no regular packet had a known clock; jitter figures 0 */
    double mean_jitter_ms;
    double max_jitter_ms;
    double jitter_ms; /* the filter's value after the latest packet */
    double max_skew_ms;
    uint64_t first_ns, last_ns; /* arrival of the first and of the latest packet */
    uint64_t payload_bytes;
    uint8_t npts;                      /* distinct payload types seen (at most MAX_PTS) */
    uint8_t pts[VOX_RTPSTATS_MAX_PTS]; /* in order of first appearance */
    bool pts_overflow;                 /* more than MAX_PTS distinct payload types */
};

/* Fills *out from the state (which is not changed: call it at any time). */
void vox_rtpstats_result(const struct vox_rtpstats *st, struct vox_rtpstats_result *out);

/* RFC 3551 clock of a static payload type in Hz as tshark knows it, 0 for dynamic/unassigned. */
uint32_t vox_rtpstats_static_clock_hz(uint8_t pt);

/* ---- ITU-T G.107 E-model ------------------------------------------------------------------ */

/* Codecs the E-model knows (impairment figures in vox_rtpstats_codec_info()). */
enum vox_rtpstats_codec {
    VOX_RTPSTATS_CODEC_UNKNOWN = 0, /* rated as G.711 with PLC */
    VOX_RTPSTATS_CODEC_G711,        /* PCMU / PCMA with packet loss concealment */
    VOX_RTPSTATS_CODEC_G711_NOPLC,  /* PCMU / PCMA without concealment */
    VOX_RTPSTATS_CODEC_G722,
    VOX_RTPSTATS_CODEC_G723,
    VOX_RTPSTATS_CODEC_G729,
    VOX_RTPSTATS_CODEC_OPUS,
    VOX_RTPSTATS_CODEC_EVENT, /* telephone-event: not speech, no MOS */
    VOX_RTPSTATS_CODEC_CN,    /* comfort noise: not speech, no MOS */
    VOX_RTPSTATS_CODEC__COUNT,
};

/* E-model inputs of a codec. */
struct vox_rtpstats_codec_info {
    const char *name;    /* "G.711+PLC", ... */
    double ie;           /* equipment impairment factor Ie */
    double bpl;          /* packet-loss robustness factor Bpl (random loss) */
    double frame_ms;     /* packet duration assumed: 20 ms, 30 ms for G.723.1 */
    double lookahead_ms; /* algorithmic delay beyond the frame */
};

/* The codec of a static payload type (0, 8 -> G711, 9 -> G722, 4 -> G723, 18 -> G729,
 * 13, 19 -> CN); UNKNOWN for the others and for dynamic ones. */
enum vox_rtpstats_codec vox_rtpstats_codec_from_pt(uint8_t pt);

/* The codec of an SDP encoding name (a view of `len_bytes` bytes, case-insensitive): "PCMU",
 * "PCMA", "G722", "G723", "G729" (and "G729A"), "opus", "telephone-event", "CN"; UNKNOWN
 * otherwise. */
enum vox_rtpstats_codec vox_rtpstats_codec_from_name(const char *name, size_t len_bytes);

/* Figures of `codec` (the UNKNOWN entry holds the G.711+PLC figures); NULL when out of range. */
const struct vox_rtpstats_codec_info *vox_rtpstats_codec_info(enum vox_rtpstats_codec codec);

/*
 * ITU-T G.107 rating factor R = Ro - Is - Id - Ie,eff + A with the default parameters
 * (Ro - Is = 93.2, A = 0):
 * - Ie,eff = Ie + (95 - Ie) x Ppl / (Ppl / BurstR + Bpl), Ppl the loss in % (clamped to
 *   0..100), BurstR the burst ratio (values < 1 taken as 1: random loss);
 * - Id from the one-way mouth-to-ear delay d in ms with Cole & Rosenbluth's fit of G.107's
 *   delay impairment at default echo parameters: Id = 0.024 d + 0.11 (d - 177.3) for d > 177.3.
 * Returns R (may be below 0 or, never here, above 100). `codec` out of range rates as UNKNOWN.
 */
double vox_rtpstats_r_factor(enum vox_rtpstats_codec codec, double loss_pct, double burst_ratio,
                             double delay_ms);

/* G.107 (B-4): MOS_CQE from R: 1 below R = 0, 4.5 above 100, else
 * 1 + 0.035 R + R (R - 60) (100 - R) 7e-6 (floored at 1). */
double vox_rtpstats_mos_from_r(double r);

/* A MOS estimate and what went into it. */
struct vox_rtpstats_quality {
    double loss_pct;    /* Ppl: max(lost, 0) x 100 / expected */
    double burst_ratio; /* as used (>= 1) */
    double delay_ms;    /* one-way delay assumed */
    double r;           /* rating factor */
    double mos;         /* 1.0 .. 4.5 */
};

/*
 * Estimates the listening quality of a stream from its figures. The one-way delay is the
 * codec's frame + look-ahead, plus a jitter buffer of 2 x max jitter (the depth an adaptive
 * buffer needs to absorb the worst jitter seen, so that it discards nothing), plus
 * `network_delay_ms` (a passive capture cannot measure it: 0 if unknown). Loss and burst ratio
 * come from `res`. Returns 0, VOX_EINVAL for a codec that is not speech (EVENT, CN) or out of
 * range, or a negative network delay.
 */
int vox_rtpstats_mos(const struct vox_rtpstats_result *res, enum vox_rtpstats_codec codec,
                     double network_delay_ms, struct vox_rtpstats_quality *out);

#endif /* VOX_CAPTURE_RTPSTATS_H */
