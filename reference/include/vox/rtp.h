/* SPDX-License-Identifier: MIT */
/* RTP (RFC 3550): zero-copy parser, builder, sequence arithmetic, receiver statistics
 * (Appendix A.1, A.3, A.8), header extensions (RFC 8285) and telephone-events (RFC 4733). */
#ifndef VOX_RTP_H
#define VOX_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vox/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VOX_RTP_VERSION       2
#define VOX_RTP_HEADER_BYTES  12 /* fixed header, RFC 3550 §5.1 */
#define VOX_RTP_MAX_CSRC      15
#define VOX_RTP_MAX_PT        127
#define VOX_RTP_EXT_PROFILE_1 0xBEDEu /* RFC 8285 §4.2 one-byte elements */

/* RFC 3550 Appendix A.1 constants. */
#define VOX_RTP_MIN_SEQUENTIAL 2
#define VOX_RTP_MAX_DROPOUT    3000
#define VOX_RTP_MAX_MISORDER   100

/*
 * One RTP packet. vox_rtp_parse() fills it as a *view*: `ext_data` and `payload` point into
 * the caller's buffer (no copy; valid while that buffer is), the other fields are decoded to
 * host order. vox_rtp_build() reads the same struct as the description of the packet to write.
 *
 * `payload_len_bytes` excludes the padding; `padding_len_bytes` is the RFC 3550 pad count (the
 * last octet of the packet, counting itself), 0 when the P bit is clear.
 */
struct vox_rtp_view {
    uint8_t version; /* always 2 after a successful parse */
    bool padding;    /* P bit */
    bool extension;  /* X bit */
    uint8_t csrc_count;
    bool marker;
    uint8_t payload_type; /* 0..127 */
    uint16_t seq;
    uint32_t timestamp;
    uint32_t ssrc;
    uint32_t csrc[VOX_RTP_MAX_CSRC]; /* the first csrc_count are set, host order */
    /* Header extension (RFC 3550 §5.3.1), only when `extension`: the 16-bit profile and the
     * extension body after its 4-byte header (ext_len_bytes = 4 x the length field). */
    uint16_t ext_profile;
    const uint8_t *ext_data;
    size_t ext_len_bytes;
    const uint8_t *payload;
    size_t payload_len_bytes;
    uint8_t padding_len_bytes;
};

/*
 * Parses one RTP packet of `len_bytes` bytes (a whole UDP datagram) into *out without copying.
 * Returns 0, or:
 * - VOX_EINCOMPLETE: the packet ends before a part its header announces (the 12-byte fixed
 *   header, the CSRC list, the extension header or the extension body): a truncated datagram,
 *   more bytes would have made it parse;
 * - VOX_EMALFORMED: bytes that no amount of extra data would fix: version != 2; a second byte
 *   of 192..223 (marker set and PT 64..95): an RTCP packet (SR 200 .. APP 204, RTPFB, PSFB,
 *   XR, ...) on the RTP path, which RFC 5761 §4 tells apart by exactly this octet; the P bit
 *   with a pad count of 0 or a pad count larger than what follows the headers.
 * An empty buffer is VOX_EINCOMPLETE. On error `diag` (may be NULL) reads
 * "rtp: <part> at byte <offset>: <why>" and *out is zeroed. Thread-safe, no allocation.
 */
int vox_rtp_parse(const uint8_t *buf, size_t len_bytes, struct vox_rtp_view *out,
                  struct vox_diag *diag);

/*
 * True when the datagram is RTCP rather than RTP by RFC 5761 §4 (version 2 and a second octet
 * of 192..223): the demultiplexing test for rtcp-mux. Needs at least 2 bytes.
 */
bool vox_rtp_is_rtcp(const uint8_t *buf, size_t len_bytes);

/*
 * Writes the packet `pkt` describes (header, CSRCs, extension, payload, padding) into
 * buf[0, cap_bytes). The P bit is written when padding_len_bytes > 0: the padding is
 * padding_len_bytes - 1 zero octets then the count. The payload may overlap `buf` (it is moved
 * with memmove before the header is written, so it may already sit at its final place); the
 * extension data must not. Returns the packet length in bytes, or VOX_ERANGE when it does not
 * fit (nothing useful is written then) or a field is out of range: version != 2, csrc_count >
 * 15, payload_type > 127, `padding` disagreeing with padding_len_bytes, `extension` clear with
 * ext_len_bytes > 0, ext_len_bytes not a multiple of 4 or over 4 x 65535, a NULL pointer with a
 * non-zero length. `diag` (may be NULL) names the field. Thread-safe.
 */
int vox_rtp_build(const struct vox_rtp_view *pkt, uint8_t *buf, size_t cap_bytes,
                  struct vox_diag *diag);

/* ---- sequence and timestamp arithmetic ----------------------------------------------------- */

/* a - b for 16-bit sequence numbers, modulo 2^16, in [-32768, 32767]: 0 - 65535 = 1. */
static inline int16_t vox_rtp_seq_delta(uint16_t a, uint16_t b)
{
    uint16_t d = (uint16_t)(a - b);

    return d >= 0x8000u ? (int16_t)((int32_t)d - 0x10000) : (int16_t)d;
}

/* a - b for 32-bit timestamps, modulo 2^32, in [-2^31, 2^31 - 1]: 5 - 0xFFFFFFFB = 10. */
static inline int32_t vox_rtp_ts_delta(uint32_t a, uint32_t b)
{
    uint32_t d = a - b;

    return d >= 0x80000000u ? (int32_t)(d - 0x80000000u) + INT32_MIN : (int32_t)d;
}

/* ---- receiver state of one source: RFC 3550 Appendix A.1, A.3, A.8 ------------------------- */

/*
 * Per-SSRC reception state. The fields follow Appendix A.1 (read them, do not write them).
 * Lifecycle: vox_rtp_source_init() with the first packet's sequence number, then
 * vox_rtp_source_update() for every packet, the first one included.
 */
struct vox_rtp_source {
    uint16_t max_seq;        /* highest sequence number seen */
    uint32_t cycles;         /* shifted count of sequence number cycles (multiple of 2^16) */
    uint32_t base_seq;       /* base sequence number */
    uint32_t bad_seq;        /* last 'bad' sequence number + 1 (65537: none) */
    uint32_t probation;      /* sequential packets still needed before the source is valid */
    uint32_t received;       /* packets received (valid ones) */
    uint32_t expected_prior; /* `expected` at the last report */
    uint32_t received_prior; /* `received` at the last report */
    uint32_t transit;        /* relative transit time of the previous packet (A.8) */
    bool have_transit;       /* false until the first jitter sample */
    uint64_t jitter_q4;      /* interarrival jitter x 16, timestamp units (A.8 integer form) */
};

/* Starts tracking a new source whose first packet has sequence `seq`: A.1's init_seq() then
 * max_seq = seq - 1 and probation = VOX_RTP_MIN_SEQUENTIAL. */
void vox_rtp_source_init(struct vox_rtp_source *s, uint16_t seq);

/*
 * A.1 update_seq(): accounts for a packet with sequence `seq`. Returns true when the packet is
 * valid for the statistics, false while the source is on probation (VOX_RTP_MIN_SEQUENTIAL
 * sequential packets are needed) or when the sequence number made a jump of VOX_RTP_MAX_DROPOUT
 * or more ahead / VOX_RTP_MAX_MISORDER or more behind; a second packet in sequence after
 * such a jump re-synchronises (the sender restarted). Duplicates and packets misordered by
 * less than VOX_RTP_MAX_MISORDER are valid (and counted in `received`, as in A.1). Unlike A.1's
 * code, the probation test is done modulo 2^16, so a source starting at 65535 -> 0 is accepted.
 */
bool vox_rtp_source_update(struct vox_rtp_source *s, uint16_t seq);

/* Extended highest sequence number received: cycles + max_seq (A.3). */
uint32_t vox_rtp_source_ext_max(const struct vox_rtp_source *s);

/*
 * A.8 interarrival jitter: feeds one packet's RTP timestamp and its arrival time expressed in
 * the same clock (arrival_ts: wall clock x clock rate, any origin, modulo 2^32). Uses A.8's
 * integer form J += |D| - (J + 8) / 16, with J kept x 16; the first call only records the
 * transit time. Both wrap correctly across 2^32.
 */
void vox_rtp_source_jitter(struct vox_rtp_source *s, uint32_t rtp_ts, uint32_t arrival_ts);

/* Reception report figures of A.3 (and the jitter of A.8). */
struct vox_rtp_report {
    uint32_t ext_max;      /* extended highest sequence number received */
    uint32_t expected;     /* ext_max - base_seq + 1 */
    uint32_t received;     /* valid packets received */
    int32_t lost;          /* expected - received, clamped to the 24-bit signed field */
    uint8_t fraction_lost; /* lost in the interval since the last report, x 256 */
    uint32_t jitter;       /* interarrival jitter in timestamp units (J / 16) */
};

/*
 * Fills *out per A.3 and starts a new interval: fraction_lost covers the packets since the
 * previous call (0 when none were expected or more arrived than were expected, duplicates).
 */
void vox_rtp_source_report(struct vox_rtp_source *s, struct vox_rtp_report *out);

/* ---- RFC 8285 header extension elements ---------------------------------------------------- */

enum vox_rtp_ext_form {
    VOX_RTP_EXT_NONE = 0, /* no extension */
    VOX_RTP_EXT_OPAQUE,   /* a profile-specific extension (RFC 3550 §5.3.1) */
    VOX_RTP_EXT_ONE_BYTE, /* profile 0xBEDE (RFC 8285 §4.2) */
    VOX_RTP_EXT_TWO_BYTE, /* profile 0x100X (RFC 8285 §4.3), X the 4 appbits */
};

/* Which form the view's extension has. */
enum vox_rtp_ext_form vox_rtp_ext_form(const struct vox_rtp_view *v);

/* Walks the elements of a one-byte or two-byte extension; a plain struct, no allocation. */
struct vox_rtp_ext_iter {
    const uint8_t *p;
    size_t left;
    size_t offset; /* byte offset of p inside the extension body */
    enum vox_rtp_ext_form form;
};

/* One element: the local identifier (1..14 one-byte, 1..255 two-byte) and its data (a view). */
struct vox_rtp_ext_elem {
    uint8_t id;
    const uint8_t *data;
    size_t len_bytes;
};

/* Prepares an iterator over the view's extension (empty when it is not RFC 8285). */
void vox_rtp_ext_iter_init(struct vox_rtp_ext_iter *it, const struct vox_rtp_view *v);

/*
 * Stores the next element in *out and returns 1; returns 0 at the end (padding octets are
 * skipped; a one-byte ID of 15 ends the walk, RFC 8285 §4.2); returns VOX_EMALFORMED when an
 * element runs past the extension body (`diag` gives its offset within the body).
 */
int vox_rtp_ext_next(struct vox_rtp_ext_iter *it, struct vox_rtp_ext_elem *out,
                     struct vox_diag *diag);

/* ---- RFC 4733 telephone-event payload -------------------------------------------------------- */

#define VOX_RTP_EVENT_BYTES 4
#define VOX_RTP_EVENT_FLASH 16

/* One named event block (RFC 4733 §2.3). */
struct vox_rtp_event {
    uint8_t event;     /* 0-9 digits, 10 '*', 11 '#', 12-15 'A'-'D', 16 flash, others allowed */
    bool end;          /* E bit: last packet(s) of the event */
    bool reserved;     /* R bit: senders write 0, receivers ignore */
    uint8_t volume;    /* 0..63: power level in -dBm0 (0 loudest) */
    uint16_t duration; /* in timestamp units since the event's timestamp */
};

/*
 * Parses the first event block of a telephone-event payload (`len_bytes` >= 4; bytes after the
 * first block, such as RFC 2198 leftovers, are ignored). Returns 0 or VOX_EINCOMPLETE (fewer
 * than 4 bytes, with `diag`).
 */
int vox_rtp_event_parse(const uint8_t *payload, size_t len_bytes, struct vox_rtp_event *out,
                        struct vox_diag *diag);

/* Writes one 4-byte event block. Returns 4, or VOX_ERANGE (cap_bytes < 4, volume > 63). */
int vox_rtp_event_build(const struct vox_rtp_event *ev, uint8_t *buf, size_t cap_bytes);

/* The DTMF name of an event code: "0".."9", "*", "#", "A".."D", "flash"; NULL above 16. */
const char *vox_rtp_event_name(uint8_t event);

/*
 * Telephone-events use a dynamic payload type negotiated in SDP (a=rtpmap:<pt>
 * telephone-event/8000), so the caller passes it as `event_pt`. Returns 1 and fills *out when
 * the packet carries that payload type and a valid event block, 0 when its payload type is
 * another one, VOX_EINCOMPLETE when it is a telephone-event shorter than 4 bytes.
 */
int vox_rtp_event_from_packet(const struct vox_rtp_view *v, uint8_t event_pt,
                              struct vox_rtp_event *out, struct vox_diag *diag);

#ifdef __cplusplus
}
#endif

#endif /* VOX_RTP_H */
