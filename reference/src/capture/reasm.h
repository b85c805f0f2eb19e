/* SPDX-License-Identifier: MIT */
/* Internal to the capture engine: IPv4/IPv6 fragment reassembly (defrag.c) and TCP stream
 * reassembly into SIP messages (tcpreasm.c). */
#ifndef VOX_CAPTURE_REASM_H
#define VOX_CAPTURE_REASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture/tuple.h"
#include "vox/alloc.h"
#include "vox/err.h"

/* ==== IP fragment reassembly ================================================================= */

/*
 * Model. A datagram in progress is keyed per RFC 791 §3.2 by (src, dst, protocol, ID) for
 * IPv4 and per RFC 8200 §4.5 by (src, dst, Identification) for IPv6; fragments of any key may
 * interleave. Each fragment is copied; the datagram completes when its first fragment (offset
 * 0), its last one (MF = 0) and every byte in between have arrived, in any order.
 *
 * Rules (each broken rule drops the whole datagram, counted once by reason):
 * - Exact duplicates (same offset and length) are ignored and counted; the first copy wins.
 * - Any other overlap drops the datagram (VOX_DEFRAG_DROP_OVERLAP): RFC 5722 for IPv6, and the
 *   same policy for IPv4 (as Linux since 4.19): overlapping bytes have no single meaning (the
 *   classic IDS-evasion trick), so a capture engine must not pick one reading of them.
 * - A fragment other than the last must carry a non-zero multiple of 8 bytes (RFC 791 §3.2,
 *   RFC 8200 §4.5); the last one may be of any length, 0..7 bytes included. Data beyond a
 *   known end, or two different ends, is malformed (VOX_DEFRAG_DROP_MALFORMED).
 * - A datagram whose reassembled length would exceed 65535 bytes (IPv4 total length; IPv6
 *   payload length, no jumbograms) is VOX_DEFRAG_DROP_TOO_BIG.
 * - More than max_fragments fragments: VOX_DEFRAG_DROP_FRAGMENTS.
 * A dropped datagram keeps a small "dead" entry (no data) until its timeout, so that its
 * remaining fragments are discarded (fragments_discarded) instead of starting a new datagram
 * that would only time out; they return VOX_DEFRAG_DROPPED with the original reason.
 *
 * Limits: at most max_datagrams in progress (a new one evicts the oldest: DROP_MEMORY) and
 * max_bytes of fragment data and saved headers held in all (the oldest other datagrams are
 * evicted until the new fragment fits; when it cannot fit even alone, its own datagram is
 * dropped: DROP_MEMORY). A datagram not complete timeout_ns after its first fragment arrived
 * is dropped (DROP_TIMEOUT). Expiry runs on every feed, with the packet's timestamp as the
 * clock, and on vox_defrag_expire(). A fragment that arrives after its datagram completed (a
 * late duplicate) starts a new datagram that will time out, as in the kernel.
 *
 * Reassembled output: IPv4: the first fragment's header (options included), total length set,
 * MF and offset cleared (DF and the reserved bit kept), header checksum recomputed, then the
 * payload. IPv6: the first fragment's unfragmentable part (IPv6 header and the extension
 * headers before the Fragment header), with the Fragment header removed, Payload Length set
 * and the Next Header field that named the Fragment header set to the Fragment header's Next
 * Header (RFC 8200 §4.5), then the payload.
 *
 * Not thread-safe: one owner at a time. Memory: a hash table at create, one node per fragment
 * held, one 64 KiB output buffer allocated at the first completed datagram.
 */
struct vox_defrag;

struct vox_defrag_config {
    size_t max_bytes;            /* fragment data + saved headers held in all; 0: 4 MiB */
    uint32_t max_datagrams;      /* datagrams in progress (dead entries included); 0: 1024 */
    uint32_t max_fragments;      /* fragments per datagram; 0: 128 */
    uint64_t timeout_ns;         /* since the first fragment; 0: 30 s (Linux ipfrag_time) */
    struct vox_allocator *alloc; /* NULL: the default allocator */
};

/* Why a datagram was dropped (index of vox_defrag_stats.dropped). */
enum vox_defrag_drop {
    VOX_DEFRAG_DROP_TIMEOUT = 0, /* not complete within timeout_ns */
    VOX_DEFRAG_DROP_MEMORY,      /* evicted, or would not fit in max_bytes / max_datagrams */
    VOX_DEFRAG_DROP_OVERLAP,     /* two fragments overlap and are not exact duplicates */
    VOX_DEFRAG_DROP_TOO_BIG,     /* would exceed 65535 bytes */
    VOX_DEFRAG_DROP_MALFORMED,   /* bad header, truncated capture, misaligned/ambiguous fragment */
    VOX_DEFRAG_DROP_FRAGMENTS,   /* more than max_fragments */
    VOX_DEFRAG_DROP__COUNT
};

/* A short name of a drop reason ("overlap"), or "?" out of range. */
const char *vox_defrag_drop_name(enum vox_defrag_drop why);

/* What a feed returned (the non-negative results of vox_defrag_ipv4/_ipv6). */
enum vox_defrag_result {
    VOX_DEFRAG_HELD = 0, /* stored (or an ignored duplicate): the datagram is not complete */
    VOX_DEFRAG_COMPLETE, /* out->datagram holds the whole datagram */
    VOX_DEFRAG_DROPPED,  /* the fragment (and its datagram) was discarded: out->reason */
};

struct vox_defrag_out {
    const uint8_t *datagram;     /* COMPLETE: the IP datagram; see vox_defrag_ipv4 for owner */
    size_t len_bytes;            /* COMPLETE: its length (= IPv4 total length / 40 + IPv6 PL) */
    enum vox_defrag_drop reason; /* DROPPED: why */
};

/*
 * Counters since create. Every fragment fed is accounted for:
 * fragments_in = fragments_held + fragments_reassembled + duplicates + fragments_discarded.
 */
struct vox_defrag_stats {
    uint64_t fragments_in;          /* fragments fed (non-fragments passed through not counted) */
    uint64_t fragments_reassembled; /* fragments that went into completed datagrams */
    uint64_t duplicates;            /* exact duplicates ignored */
    uint64_t fragments_discarded;   /* malformed, or of a dropped/dead/evicted datagram */
    uint64_t completed;             /* datagrams reassembled */
    uint64_t dropped[VOX_DEFRAG_DROP__COUNT]; /* datagrams dropped, by reason */
    uint64_t fragments_held;                  /* now */
    uint32_t datagrams_held;                  /* in progress now (dead entries included) */
    uint32_t datagrams_peak;
    size_t bytes_held; /* fragment data + saved headers now */
    size_t bytes_peak;
};

/*
 * Creates a defragmenter (cfg may be NULL for the defaults) into *out, owned by the caller and
 * freed with vox_defrag_destroy. Returns 0, VOX_EINVAL (NULL out, max_fragments over 8192,
 * max_datagrams over 2^24) or VOX_ENOMEM, with `diag` (may be NULL).
 */
int vox_defrag_create(const struct vox_defrag_config *cfg, struct vox_defrag **out,
                      struct vox_diag *diag);

/* Frees the defragmenter and every fragment it holds (not counted as drops). NULL: no-op. */
void vox_defrag_destroy(struct vox_defrag *d);

/*
 * Feeds one IPv4 packet: pkt points to the IPv4 header, len_bytes is what was captured from
 * there (bytes past the header's total length, such as Ethernet padding, are ignored; fewer
 * bytes than the total length is a truncated capture: malformed). ts_ns is the capture time in
 * ns, also used as the clock for expiry. The packet is copied as needed; the caller keeps it.
 *
 * Returns a vox_defrag_result (>= 0) and fills *out, or VOX_EINVAL for a NULL argument. On
 * COMPLETE, out->datagram points into a buffer owned by the defragmenter, valid until the next
 * call on it (any vox_defrag_* function); a packet that is not a fragment (MF = 0, offset 0)
 * is returned COMPLETE as is, out->datagram pointing into pkt. On DROPPED `diag` (may be NULL)
 * names the fault and the datagram ("IPv4 fragment id 0x1234 offset 1480: overlaps ...").
 */
int vox_defrag_ipv4(struct vox_defrag *d, const uint8_t *pkt, size_t len_bytes, uint64_t ts_ns,
                    struct vox_defrag_out *out, struct vox_diag *diag);

/*
 * Feeds one IPv6 packet, pkt pointing to the IPv6 header, as vox_defrag_ipv4. The function
 * walks the extension headers itself (Hop-by-Hop, Routing and Destination Options may precede
 * the Fragment header, RFC 8200 §4.1): the caller passes any IPv6 packet whose chain holds a
 * Fragment header (Next Header 44). A packet without one is returned COMPLETE as is; an
 * "atomic fragment" (offset 0, M = 0, RFC 6946) is returned COMPLETE at once, its Fragment
 * header removed. Jumbograms (Payload Length 0) are malformed.
 */
int vox_defrag_ipv6(struct vox_defrag *d, const uint8_t *pkt, size_t len_bytes, uint64_t ts_ns,
                    struct vox_defrag_out *out, struct vox_diag *diag);

/*
 * Drops every datagram whose first fragment is more than timeout_ns older than now_ns
 * (counted DROP_TIMEOUT; dead entries go silently). Returns how many datagrams with data were
 * dropped. Feeding does the same with the packet's timestamp.
 */
size_t vox_defrag_expire(struct vox_defrag *d, uint64_t now_ns);

/* Copies the counters into *out. */
void vox_defrag_stats(const struct vox_defrag *d, struct vox_defrag_stats *out);

/* ==== TCP stream reassembly into SIP messages ================================================ */

/* TCP header flag bits (RFC 9293 §3.1), as passed in tcp_flags. */
#define VOX_CAP_TCP_FIN 0x01u
#define VOX_CAP_TCP_SYN 0x02u
#define VOX_CAP_TCP_RST 0x04u
#define VOX_CAP_TCP_PSH 0x08u
#define VOX_CAP_TCP_ACK 0x10u

/* A start line longer than this is not considered a SIP start line when resynchronising. */
#define VOX_TCPREASM_MAX_START_LINE 2048

/*
 * Model. Each direction of a connection is one stream, keyed by the directional tuple. A
 * stream turns its bytes, in sequence order, into SIP messages delimited by Content-Length
 * (vox_sip_frame, RFC 3261 §18.3), and calls on_msg once per message, in stream order.
 *
 * - Start: a SYN sets the initial sequence number (ISN): the data starts at ISN + 1 and is
 *   expected to start with a message. A stream first seen without SYN (capture began
 *   mid-connection) starts at its first data segment's seq and in *sync* mode (below). Pure
 *   ACKs, FINs and RSTs never create a stream. A SYN with another ISN on an existing stream
 *   (port reuse) restarts it.
 * - Order: sequence numbers compare modulo 2^32 (RFC 9293 §3.4). Bytes before the next
 *   expected one are retransmissions and are dropped (counted), also when they only partly
 *   overlap (the first copy wins). Segments ahead of it are copied into an out-of-order list
 *   (trimmed against what it already holds) until the gap fills.
 * - In-order data that completes messages by itself is delivered straight from the caller's
 *   payload without a copy; an incomplete tail is copied into the stream's buffer.
 * - CRLF keep-alives between messages (RFC 5626 §3.5.1) are skipped and counted.
 * - Gaps: a gap that has not filled gap_timeout_ns after the data behind it arrived, or that
 *   would make the stream hold more than max_msg_bytes of out-of-order data (or 512 pieces),
 *   is skipped (counted): the partial message before it is discarded and the stream resumes,
 *   in sync mode, at the first byte after the gap.
 * - Sync mode: bytes are discarded until a line that is a plausible SIP start line (RFC 3261
 *   §7.1: "METHOD SP URI-with-colon SP SIP/2.0" or "SIP/2.0 SP 3DIGIT ..."), at the start of
 *   the data or after a LF; a message then starts there. A stream also enters sync mode on
 *   garbage: a message head that is not a start line or that vox_sip_frame rejects
 *   (malformed), or a message still incomplete at max_msg_bytes (oversize); the bad line is
 *   discarded first. A message over max_msg_bytes whose Content-Length is known (its header
 *   block is complete) is skipped exactly, as oversize, with no resync.
 * - FIN: when the stream reaches the FIN's sequence number, what is left (an incomplete
 *   message) is discarded and the stream freed. RST: both directions are freed at once,
 *   their incomplete data discarded.
 * - Limits: at most max_streams streams (a new one evicts the least recently active one) and
 *   max_bytes of stream data held over all streams (in-order buffers + out-of-order lists;
 *   the least recently active other streams are evicted until new data fits). A stream holds
 *   at most max_msg_bytes in-order plus max_msg_bytes out-of-order, so max_bytes must be at
 *   least 2 x max_msg_bytes. A stream idle for timeout_ns is freed (timed out).
 * - Expiry (gaps, idle streams) runs on every segment with its timestamp as the clock, and on
 *   vox_tcpreasm_expire().
 *
 * Not thread-safe; on_msg must not call into the same reassembler.
 */
struct vox_tcpreasm;

struct vox_tcpreasm_config {
    uint32_t max_streams;    /* 0: 4096 */
    size_t max_bytes;        /* held over all streams; 0: 64 MiB */
    size_t max_msg_bytes;    /* largest message, 4096..VOX_SIP_MAX_MSG_BYTES; 0: the latter */
    uint64_t timeout_ns;     /* idle stream lifetime; 0: 120 s */
    uint64_t gap_timeout_ns; /* wait for a missing segment; 0: 2 s (capped at timeout_ns) */
    /*
     * Required. Called once per complete SIP message, in stream order. t is the stream's
     * (directional) tuple; msg[0..len_bytes) is the message from its start line to the end of
     * its body (no keep-alive CRLFs), valid only during the call (it may point into the
     * caller's payload or into the reassembler's buffers). ts_ns is the timestamp of the
     * segment that completed it: the latest of the segments its bytes came in (a message
     * behind a skipped gap keeps the time its bytes arrived, not the time of the skip).
     */
    void (*on_msg)(void *user, const struct vox_cap_tuple *t, const uint8_t *msg, size_t len_bytes,
                   uint64_t ts_ns);
    void *user;                  /* passed to on_msg */
    struct vox_allocator *alloc; /* NULL: the default allocator */
};

/*
 * Counters since create. Every payload byte offered is accounted for:
 * bytes = bytes_delivered + keepalive_bytes + retransmitted_bytes + bytes_discarded + bytes_held.
 */
struct vox_tcpreasm_stats {
    uint64_t segments;            /* vox_tcpreasm_segment calls with valid arguments */
    uint64_t bytes;               /* payload bytes offered */
    uint64_t messages;            /* on_msg calls */
    uint64_t bytes_delivered;     /* in those messages */
    uint64_t keepalive_bytes;     /* CRLFs skipped between messages */
    uint64_t out_of_order;        /* segments that arrived ahead of a gap */
    uint64_t retransmitted_bytes; /* bytes received before (delivered, or held), dropped */
    uint64_t gaps_skipped;        /* gaps given up (timeout, buffer cap) */
    uint64_t gap_bytes;           /* sequence space skipped by them (never received) */
    uint64_t resyncs;             /* times bytes were discarded to find a start line */
    uint64_t malformed;           /* message heads not SIP or rejected by vox_sip_frame */
    uint64_t oversize;            /* messages over max_msg_bytes */
    uint64_t bytes_discarded;     /* received bytes thrown away (sync, close, eviction, caps) */
    uint64_t streams_open;        /* now */
    uint64_t streams_peak;
    uint64_t streams_closed;    /* by FIN or RST */
    uint64_t streams_evicted;   /* by max_streams or max_bytes */
    uint64_t streams_timed_out; /* idle for timeout_ns */
    size_t bytes_held;          /* buffered now (in-order partial messages + out-of-order) */
    size_t bytes_peak;
};

/*
 * Creates a reassembler into *out (owned by the caller, freed with vox_tcpreasm_destroy).
 * Returns 0, VOX_EINVAL (NULL cfg/on_msg/out, max_msg_bytes out of range, max_bytes below
 * 2 x max_msg_bytes, max_streams over 2^24) or VOX_ENOMEM, with `diag` (may be NULL).
 */
int vox_tcpreasm_create(const struct vox_tcpreasm_config *cfg, struct vox_tcpreasm **out,
                        struct vox_diag *diag);

/* Frees every stream and buffer, delivering nothing more. NULL: no-op. */
void vox_tcpreasm_destroy(struct vox_tcpreasm *r);

/*
 * Feeds one TCP segment of the stream t (directional; t->proto should be 6): its sequence
 * number, its flags (VOX_CAP_TCP_*) and its payload payload[0..len_bytes) (may be NULL when
 * len_bytes is 0), captured at ts_ns (ns, also the clock for expiry). Calls on_msg for every
 * message this completes. The payload is copied when it must be kept; the caller keeps it.
 * Returns 0, VOX_EINVAL (NULL r or t, NULL payload with a length; not counted) or VOX_ENOMEM
 * (the data that could not be stored is counted discarded and the stream resynchronises).
 */
int vox_tcpreasm_segment(struct vox_tcpreasm *r, const struct vox_cap_tuple *t, uint32_t seq,
                         uint8_t tcp_flags, const uint8_t *payload, size_t len_bytes,
                         uint64_t ts_ns);

/*
 * Skips gaps older than gap_timeout_ns (delivering the messages behind them) and frees
 * streams idle for more than timeout_ns, at time now_ns. Returns the streams freed.
 */
size_t vox_tcpreasm_expire(struct vox_tcpreasm *r, uint64_t now_ns);

/* Copies the counters into *out. */
void vox_tcpreasm_stats(const struct vox_tcpreasm *r, struct vox_tcpreasm_stats *out);

#endif /* VOX_CAPTURE_REASM_H */
