/* SPDX-License-Identifier: MIT */
/* A fixed-memory RTP jitter buffer: reorders by sequence number, drops duplicates and late
 * packets, reports losses so that a decoder can conceal them. */
#ifndef VOX_JITTER_H
#define VOX_JITTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vox/alloc.h"
#include "vox/err.h"
#include "vox/rtp.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Model. The buffer holds a *window* of `depth_packets` consecutive sequence numbers starting
 * at `next`, the next sequence number to play out. Depth is counted in packets, not in time:
 * with a fixed packetisation time, depth_packets = delay_ms / ptime_ms (20 ms frames and a
 * depth of 10 wait for up to 200 ms). The first packet pushed sets `next` (the base); one that
 * arrives later with a lower number is late. Sequence numbers wrap at 65535 -> 0: positions are
 * tracked internally as 64-bit extended numbers.
 *
 * A pushed packet relative to the window, d = seq - next (modulo 2^16, signed):
 * - d < 0: *late* (already played out, reported lost, or older than the window): dropped;
 * - already held: *duplicate*, dropped;
 * - 0 <= d < depth: stored (a *reordered* one when a higher number arrived before it);
 * - depth <= d < VOX_RTP_MAX_DROPOUT: *overflow*: the window slides forward so that the packet
 *   is its last position. Held packets that slide out are dropped (overflow_drops), positions
 *   that slide out empty count as lost; neither is returned by pop (the next popped item says
 *   how many positions were skipped before it);
 * - d >= VOX_RTP_MAX_DROPOUT (or d <= -VOX_RTP_MAX_MISORDER, already counted late): a suspected
 *   restart of the sender: the packet is dropped (counted in `jumps`, or `late`), but when the
 *   next packet pushed follows it in sequence the buffer *resyncs* as RFC 3550 A.1 does:
 *   every held packet is dropped (overflow_drops) and the window restarts at that packet.
 *
 * Memory: one block at create (slots + depth x max_payload_bytes), nothing per packet.
 * Not thread-safe: one owner at a time.
 */
struct vox_jitter;

#define VOX_JITTER_MAX_DEPTH 1024 /* < VOX_RTP_MAX_DROPOUT, so overflow and jumps differ */

struct vox_jitter_config {
    uint32_t depth_packets;      /* window in packets, 1..VOX_JITTER_MAX_DEPTH; 0: 16 */
    uint32_t max_payload_bytes;  /* largest payload stored; 0: 1500 */
    struct vox_allocator *alloc; /* the one block comes from here; NULL: default allocator */
};

/* What became of a pushed packet (vox_jitter_push returns one of these, or an error). */
enum vox_jitter_push_result {
    VOX_JITTER_QUEUED = 0, /* stored (possibly after an overflow slide or a resync) */
    VOX_JITTER_DUPLICATE,  /* that sequence number is already held */
    VOX_JITTER_LATE,       /* behind the window */
    VOX_JITTER_JUMP,       /* too far ahead: held back as a suspected restart (see above) */
};

/* What vox_jitter_pop returned. */
enum vox_jitter_pop_result {
    VOX_JITTER_NONE = 0, /* nothing to play yet (or nothing left when draining) */
    VOX_JITTER_PACKET,   /* out describes a packet */
    VOX_JITTER_LOST,     /* out->seq never arrived: conceal it (PLC) */
};

/* How hard vox_jitter_pop tries. */
enum vox_jitter_pop_mode {
    /* Returns the next packet when held. When it is missing, reports it lost only once waiting
     * longer is useless: a packet at the window's last position (next + depth - 1) is held. */
    VOX_JITTER_WAIT = 0,
    /* The playout deadline of the next position has passed: always returns the packet or a
     * lost marker (even when nothing is held), once a first packet has set the base. */
    VOX_JITTER_DEADLINE,
    /* End of stream: plays out what is held, reporting the gaps between held packets lost;
     * VOX_JITTER_NONE once nothing is held. Gaps after the last held packet are not reported. */
    VOX_JITTER_DRAIN,
};

/*
 * An item popped: a packet, or a lost marker (payload NULL, length 0, marker false, the
 * payload type of the previous item). The payload points into the buffer's memory and stays
 * valid until the next push or pop on it.
 */
struct vox_jitter_packet {
    uint16_t seq;
    uint32_t timestamp; /* the packet's; for a lost one the expected value when ts_known */
    bool ts_known;      /* always true for packets; for lost ones see vox_jitter_pop */
    bool marker;
    uint8_t payload_type;
    const uint8_t *payload;
    size_t payload_len_bytes;
    uint32_t skipped_before; /* positions skipped by an overflow slide just before this one */
};

/* Counters since create. With `depth` the packets held now, every push is accounted for:
 * received = played + duplicates + late + jumps + overflow_drops + oversize + depth. */
struct vox_jitter_stats {
    uint64_t received;       /* vox_jitter_push calls with a packet */
    uint64_t played;         /* packets returned by pop */
    uint64_t duplicates;     /* dropped: already held */
    uint64_t late;           /* dropped: behind the window */
    uint64_t lost;           /* positions given up: lost markers + empty positions slid out */
    uint64_t reordered;      /* stored after a higher sequence number (in time) */
    uint64_t overflow_drops; /* held packets dropped by an overflow slide or a resync */
    uint64_t jumps;          /* dropped: too far ahead (suspected restart) */
    uint64_t oversize;       /* rejected: payload over max_payload_bytes */
    uint64_t resyncs;        /* restarts of the window after a confirmed jump */
    uint32_t depth;          /* packets held now */
    uint32_t peak_depth;     /* most packets held at once */
};

/*
 * Creates a buffer (cfg may be NULL for the defaults) and stores it in *out (owned by the
 * caller, freed with vox_jitter_destroy). Returns 0, VOX_EINVAL (depth over
 * VOX_JITTER_MAX_DEPTH, max_payload_bytes over 65535) or VOX_ENOMEM, with `diag`.
 */
int vox_jitter_create(const struct vox_jitter_config *cfg, struct vox_jitter **out,
                      struct vox_diag *diag);

/* Frees the buffer and everything it holds. NULL is a no-op. */
void vox_jitter_destroy(struct vox_jitter *jb);

/*
 * Offers one packet (its seq, timestamp, marker, payload type and payload are used; the
 * payload is copied). Returns a vox_jitter_push_result (>= 0, see the model above), or
 * VOX_ERANGE when the payload is over max_payload_bytes (counted in `oversize`), or VOX_EINVAL
 * for a NULL payload with a non-zero length (not counted).
 */
int vox_jitter_push(struct vox_jitter *jb, const struct vox_rtp_view *pkt);

/*
 * Takes the next item in sequence order per `mode` and returns a vox_jitter_pop_result; *out
 * is filled for PACKET and LOST. A lost marker's timestamp is known (ts_known) when it can be
 * derived: interpolated between the previous item and the next held packet, else extrapolated
 * from one of them with the last timestamp step seen between consecutive packets.
 */
int vox_jitter_pop(struct vox_jitter *jb, enum vox_jitter_pop_mode mode,
                   struct vox_jitter_packet *out);

/* Copies the counters into *out. */
void vox_jitter_stats(const struct vox_jitter *jb, struct vox_jitter_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* VOX_JITTER_H */
