/* SPDX-License-Identifier: MIT */
/* RTP (RFC 3550) parser and builder, A.1/A.3/A.8 receiver state, RFC 8285 elements, RFC 4733. */
#include <limits.h>
#include <string.h>

#include "vox/rtp.h"

#define SEQ_MOD 65536u

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* RTCP packet types that may reach the RTP port under rtcp-mux (RFC 5761 §4). */
static const char *rtcp_name(unsigned pt)
{
    switch (pt) {
    case 200:
        return "SR";
    case 201:
        return "RR";
    case 202:
        return "SDES";
    case 203:
        return "BYE";
    case 204:
        return "APP";
    case 205:
        return "RTPFB";
    case 206:
        return "PSFB";
    case 207:
        return "XR";
    default:
        return "unassigned";
    }
}

/* RFC 5761 §4: RTCP packet types 192..223 fill the octet where RTP has M + PT 64..95. */
static bool is_rtcp_octet(uint8_t b)
{
    return b >= 192 && b <= 223;
}

bool vox_rtp_is_rtcp(const uint8_t *buf, size_t len_bytes)
{
    return buf && len_bytes >= 2 && buf[0] >> 6 == VOX_RTP_VERSION && is_rtcp_octet(buf[1]);
}

int vox_rtp_parse(const uint8_t *buf, size_t len_bytes, struct vox_rtp_view *out,
                  struct vox_diag *diag)
{
    struct vox_rtp_view v;
    size_t len = buf ? len_bytes : 0, off, end;
    unsigned i;
    int rc;

    memset(&v, 0, sizeof(v));
    if (len == 0) {
        vox_diag_set(diag, "rtp: fixed header at byte 0: empty packet, need %d bytes",
                     VOX_RTP_HEADER_BYTES);
        rc = VOX_EINCOMPLETE;
        goto fail;
    }
    v.version = buf[0] >> 6;
    if (v.version != VOX_RTP_VERSION) {
        vox_diag_set(diag, "rtp: version at byte 0: %u, want 2", v.version);
        rc = VOX_EMALFORMED;
        goto fail;
    }
    if (len >= 2 && is_rtcp_octet(buf[1])) {
        vox_diag_set(diag,
                     "rtp: payload type at byte 1: octet %u is RTCP packet type %u (%s), looks "
                     "like RTCP (RFC 5761 §4: marker with PT %u)",
                     buf[1], buf[1], rtcp_name(buf[1]), buf[1] & 0x7fu);
        rc = VOX_EMALFORMED;
        goto fail;
    }
    if (len < VOX_RTP_HEADER_BYTES) {
        vox_diag_set(diag, "rtp: fixed header at byte %zu: packet too short, %zu bytes, need %d",
                     len, len, VOX_RTP_HEADER_BYTES);
        rc = VOX_EINCOMPLETE;
        goto fail;
    }
    v.padding = (buf[0] >> 5) & 1;
    v.extension = (buf[0] >> 4) & 1;
    v.csrc_count = buf[0] & 0x0f;
    v.marker = buf[1] >> 7;
    v.payload_type = buf[1] & 0x7f;
    v.seq = rd16(buf + 2);
    v.timestamp = rd32(buf + 4);
    v.ssrc = rd32(buf + 8);
    off = VOX_RTP_HEADER_BYTES;

    if (len - off < 4u * v.csrc_count) {
        vox_diag_set(diag, "rtp: CSRC list at byte %zu: %u CSRC(s) need %u bytes, %zu left", off,
                     v.csrc_count, 4u * v.csrc_count, len - off);
        rc = VOX_EINCOMPLETE;
        goto fail;
    }
    for (i = 0; i < v.csrc_count; i++, off += 4)
        v.csrc[i] = rd32(buf + off);

    if (v.extension) {
        size_t words;

        if (len - off < 4) {
            vox_diag_set(diag, "rtp: extension header at byte %zu: need 4 bytes, %zu left", off,
                         len - off);
            rc = VOX_EINCOMPLETE;
            goto fail;
        }
        v.ext_profile = rd16(buf + off);
        words = rd16(buf + off + 2);
        off += 4;
        if (len - off < words * 4) {
            vox_diag_set(diag,
                         "rtp: extension body at byte %zu: length %zu words needs %zu bytes, "
                         "%zu left",
                         off, words, words * 4, len - off);
            rc = VOX_EINCOMPLETE;
            goto fail;
        }
        v.ext_data = buf + off;
        v.ext_len_bytes = words * 4;
        off += words * 4;
    }

    end = len;
    if (v.padding) {
        /* RFC 3550 §5.1: the last octet counts the padding octets, itself included. */
        unsigned pad = buf[len - 1];

        if (off == len) {
            vox_diag_set(
                diag, "rtp: padding at byte %zu: P bit set but no bytes follow the headers", off);
            rc = VOX_EMALFORMED;
            goto fail;
        }
        if (pad == 0) {
            vox_diag_set(diag, "rtp: padding at byte %zu: P bit set but pad count is 0", len - 1);
            rc = VOX_EMALFORMED;
            goto fail;
        }
        if (pad > len - off) {
            vox_diag_set(diag,
                         "rtp: padding at byte %zu: pad count %u is larger than the %zu bytes "
                         "after the headers (from byte %zu)",
                         len - 1, pad, len - off, off);
            rc = VOX_EMALFORMED;
            goto fail;
        }
        v.padding_len_bytes = (uint8_t)pad;
        end = len - pad;
    }
    v.payload = buf + off;
    v.payload_len_bytes = end - off;
    *out = v;
    return 0;
fail:
    memset(out, 0, sizeof(*out));
    return rc;
}

int vox_rtp_build(const struct vox_rtp_view *pkt, uint8_t *buf, size_t cap_bytes,
                  struct vox_diag *diag)
{
    size_t hdr, total, off;
    unsigned i;

    if (pkt->version != VOX_RTP_VERSION) {
        vox_diag_set(diag, "rtp build: version %u, want 2", pkt->version);
        return VOX_ERANGE;
    }
    if (pkt->csrc_count > VOX_RTP_MAX_CSRC) {
        vox_diag_set(diag, "rtp build: csrc_count %u is over 15", pkt->csrc_count);
        return VOX_ERANGE;
    }
    if (pkt->payload_type > VOX_RTP_MAX_PT) {
        vox_diag_set(diag, "rtp build: payload_type %u is over 127", pkt->payload_type);
        return VOX_ERANGE;
    }
    if (pkt->padding != (pkt->padding_len_bytes > 0)) {
        vox_diag_set(diag, "rtp build: padding flag %d disagrees with padding_len_bytes %u",
                     pkt->padding, pkt->padding_len_bytes);
        return VOX_ERANGE;
    }
    if (!pkt->extension && pkt->ext_len_bytes) {
        vox_diag_set(diag, "rtp build: ext_len_bytes %zu without the extension flag",
                     pkt->ext_len_bytes);
        return VOX_ERANGE;
    }
    if (pkt->ext_len_bytes % 4 || pkt->ext_len_bytes > 4u * 0xffff) {
        vox_diag_set(diag,
                     "rtp build: ext_len_bytes %zu must be a multiple of 4 and at most 262140",
                     pkt->ext_len_bytes);
        return VOX_ERANGE;
    }
    if ((!pkt->ext_data && pkt->ext_len_bytes) || (!pkt->payload && pkt->payload_len_bytes)) {
        vox_diag_set(diag, "rtp build: NULL %s with a non-zero length",
                     pkt->payload ? "ext_data" : "payload");
        return VOX_ERANGE;
    }
    hdr =
        VOX_RTP_HEADER_BYTES + 4u * pkt->csrc_count + (pkt->extension ? 4 + pkt->ext_len_bytes : 0);
    if (pkt->payload_len_bytes > (size_t)INT_MAX - hdr - pkt->padding_len_bytes) {
        vox_diag_set(diag, "rtp build: payload of %zu bytes is too large", pkt->payload_len_bytes);
        return VOX_ERANGE;
    }
    total = hdr + pkt->payload_len_bytes + pkt->padding_len_bytes;
    if (!buf || total > cap_bytes) {
        vox_diag_set(diag, "rtp build: packet needs %zu bytes, buffer has %zu", total,
                     buf ? cap_bytes : 0);
        return VOX_ERANGE;
    }
    /* The payload first: it may be in place already, overlapping where the header goes. */
    if (pkt->payload_len_bytes)
        memmove(buf + hdr, pkt->payload, pkt->payload_len_bytes);
    buf[0] = (uint8_t)(VOX_RTP_VERSION << 6 | (pkt->padding ? 0x20 : 0) |
                       (pkt->extension ? 0x10 : 0) | pkt->csrc_count);
    buf[1] = (uint8_t)((pkt->marker ? 0x80 : 0) | pkt->payload_type);
    wr16(buf + 2, pkt->seq);
    wr32(buf + 4, pkt->timestamp);
    wr32(buf + 8, pkt->ssrc);
    off = VOX_RTP_HEADER_BYTES;
    for (i = 0; i < pkt->csrc_count; i++, off += 4)
        wr32(buf + off, pkt->csrc[i]);
    if (pkt->extension) {
        wr16(buf + off, pkt->ext_profile);
        wr16(buf + off + 2, (uint16_t)(pkt->ext_len_bytes / 4));
        if (pkt->ext_len_bytes)
            memcpy(buf + off + 4, pkt->ext_data, pkt->ext_len_bytes);
    }
    if (pkt->padding_len_bytes) {
        off = hdr + pkt->payload_len_bytes;
        memset(buf + off, 0, pkt->padding_len_bytes - 1u);
        buf[total - 1] = pkt->padding_len_bytes;
    }
    return (int)total;
}

/* ---- RFC 3550 Appendix A.1 / A.3 / A.8 ------------------------------------------------------- */

/* A.1 init_seq(): the jitter state survives a re-synchronisation (it does not depend on
 * sequence numbers). */
static void init_seq(struct vox_rtp_source *s, uint16_t seq)
{
    s->base_seq = seq;
    s->max_seq = seq;
    s->bad_seq = SEQ_MOD + 1; /* so seq == bad_seq is false */
    s->cycles = 0;
    s->received = 0;
    s->received_prior = 0;
    s->expected_prior = 0;
}

void vox_rtp_source_init(struct vox_rtp_source *s, uint16_t seq)
{
    memset(s, 0, sizeof(*s));
    init_seq(s, seq);
    s->max_seq = (uint16_t)(seq - 1);
    s->probation = VOX_RTP_MIN_SEQUENTIAL;
}

bool vox_rtp_source_update(struct vox_rtp_source *s, uint16_t seq)
{
    uint16_t udelta = (uint16_t)(seq - s->max_seq);

    if (s->probation) {
        /* A.1 compares seq == max_seq + 1 in int arithmetic, which misses 65535 -> 0. */
        if (seq == (uint16_t)(s->max_seq + 1)) {
            s->probation--;
            s->max_seq = seq;
            if (s->probation == 0) {
                init_seq(s, seq);
                s->received++;
                return true;
            }
        } else {
            s->probation = VOX_RTP_MIN_SEQUENTIAL - 1;
            s->max_seq = seq;
        }
        return false;
    } else if (udelta < VOX_RTP_MAX_DROPOUT) {
        /* In order, with a permissible gap; a smaller number means it wrapped. */
        if (seq < s->max_seq)
            s->cycles += SEQ_MOD;
        s->max_seq = seq;
    } else if (udelta <= SEQ_MOD - VOX_RTP_MAX_MISORDER) {
        /* A very large jump: two sequential packets mean the sender restarted. */
        if (seq == s->bad_seq) {
            init_seq(s, seq);
        } else {
            s->bad_seq = (seq + 1u) & (SEQ_MOD - 1);
            return false;
        }
    }
    /* else: a duplicate or a reordered packet, counted as A.1 does */
    s->received++;
    return true;
}

uint32_t vox_rtp_source_ext_max(const struct vox_rtp_source *s)
{
    return s->cycles + s->max_seq;
}

void vox_rtp_source_jitter(struct vox_rtp_source *s, uint32_t rtp_ts, uint32_t arrival_ts)
{
    uint32_t transit = arrival_ts - rtp_ts;
    int32_t d;
    uint64_t ad;

    if (!s->have_transit) {
        s->transit = transit;
        s->have_transit = true;
        return;
    }
    d = vox_rtp_ts_delta(transit, s->transit);
    s->transit = transit;
    ad = d < 0 ? (uint64_t)(-(int64_t)d) : (uint64_t)d;
    /* A.8: J += |D| - J/16 with J scaled by 16; the subtraction never goes below zero. */
    s->jitter_q4 = s->jitter_q4 - ((s->jitter_q4 + 8) >> 4) + ad;
}

void vox_rtp_source_report(struct vox_rtp_source *s, struct vox_rtp_report *out)
{
    uint32_t expected_interval, received_interval;
    int64_t lost, lost_interval;

    out->ext_max = vox_rtp_source_ext_max(s);
    out->expected = out->ext_max - s->base_seq + 1;
    out->received = s->received;
    lost = (int64_t)out->expected - (int64_t)s->received;
    /* A.3: the cumulative count is a 24-bit signed field. */
    if (lost > 0x7fffff)
        lost = 0x7fffff;
    else if (lost < -0x800000)
        lost = -0x800000;
    out->lost = (int32_t)lost;
    expected_interval = out->expected - s->expected_prior;
    s->expected_prior = out->expected;
    received_interval = s->received - s->received_prior;
    s->received_prior = s->received;
    lost_interval = (int64_t)expected_interval - (int64_t)received_interval;
    if (expected_interval == 0 || lost_interval <= 0) {
        out->fraction_lost = 0;
    } else {
        int64_t f = (lost_interval << 8) / expected_interval;

        out->fraction_lost = (uint8_t)(f > 255 ? 255 : f);
    }
    out->jitter = (uint32_t)(s->jitter_q4 >> 4 > UINT32_MAX ? UINT32_MAX : s->jitter_q4 >> 4);
}

/* ---- RFC 8285 elements ----------------------------------------------------------------------- */

enum vox_rtp_ext_form vox_rtp_ext_form(const struct vox_rtp_view *v)
{
    if (!v->extension)
        return VOX_RTP_EXT_NONE;
    if (v->ext_profile == VOX_RTP_EXT_PROFILE_1)
        return VOX_RTP_EXT_ONE_BYTE;
    if ((v->ext_profile & 0xfff0u) == 0x1000u)
        return VOX_RTP_EXT_TWO_BYTE;
    return VOX_RTP_EXT_OPAQUE;
}

void vox_rtp_ext_iter_init(struct vox_rtp_ext_iter *it, const struct vox_rtp_view *v)
{
    it->form = vox_rtp_ext_form(v);
    it->p = v->ext_data;
    it->offset = 0;
    it->left =
        it->form == VOX_RTP_EXT_ONE_BYTE || it->form == VOX_RTP_EXT_TWO_BYTE ? v->ext_len_bytes : 0;
}

int vox_rtp_ext_next(struct vox_rtp_ext_iter *it, struct vox_rtp_ext_elem *out,
                     struct vox_diag *diag)
{
    size_t hdr, len;
    unsigned id;

    /* RFC 8285 §4.2/§4.3: zero octets between elements are padding. */
    while (it->left && it->p[0] == 0) {
        it->p++;
        it->left--;
        it->offset++;
    }
    if (!it->left)
        return 0;
    if (it->form == VOX_RTP_EXT_ONE_BYTE) {
        id = it->p[0] >> 4;
        if (id == 15) {
            /* §4.2: ID 15 is reserved; the receiver stops processing the extension. */
            it->left = 0;
            return 0;
        }
        hdr = 1;
        len = (it->p[0] & 0x0fu) + 1u;
    } else {
        if (it->left < 2) {
            vox_diag_set(diag, "rtp extension: element at byte %zu: header needs 2 bytes, 1 left",
                         it->offset);
            it->left = 0;
            return VOX_EMALFORMED;
        }
        id = it->p[0];
        hdr = 2;
        len = it->p[1];
    }
    if (it->left - hdr < len) {
        vox_diag_set(diag, "rtp extension: element %u at byte %zu: %zu data bytes, %zu left", id,
                     it->offset, len, it->left - hdr);
        it->left = 0;
        return VOX_EMALFORMED;
    }
    out->id = (uint8_t)id;
    out->data = it->p + hdr;
    out->len_bytes = len;
    it->p += hdr + len;
    it->left -= hdr + len;
    it->offset += hdr + len;
    return 1;
}

/* ---- RFC 4733 telephone-event ---------------------------------------------------------------- */

int vox_rtp_event_parse(const uint8_t *payload, size_t len_bytes, struct vox_rtp_event *out,
                        struct vox_diag *diag)
{
    memset(out, 0, sizeof(*out));
    if (!payload || len_bytes < VOX_RTP_EVENT_BYTES) {
        vox_diag_set(diag, "telephone-event: payload of %zu bytes, an event needs %d",
                     payload ? len_bytes : 0, VOX_RTP_EVENT_BYTES);
        return VOX_EINCOMPLETE;
    }
    /* RFC 4733 §2.3: event(8) | E(1) R(1) volume(6) | duration(16) */
    out->event = payload[0];
    out->end = payload[1] >> 7;
    out->reserved = (payload[1] >> 6) & 1;
    out->volume = payload[1] & 0x3f;
    out->duration = rd16(payload + 2);
    return 0;
}

int vox_rtp_event_build(const struct vox_rtp_event *ev, uint8_t *buf, size_t cap_bytes)
{
    if (!buf || cap_bytes < VOX_RTP_EVENT_BYTES || ev->volume > 63)
        return VOX_ERANGE;
    buf[0] = ev->event;
    buf[1] = (uint8_t)((ev->end ? 0x80 : 0) | (ev->reserved ? 0x40 : 0) | ev->volume);
    wr16(buf + 2, ev->duration);
    return VOX_RTP_EVENT_BYTES;
}

const char *vox_rtp_event_name(uint8_t event)
{
    /* RFC 4733 §3.2, table 7 (DTMF named events). */
    static const char *const names[] = {"0", "1", "2", "3", "4", "5", "6", "7",    "8",
                                        "9", "*", "#", "A", "B", "C", "D", "flash"};

    return event < sizeof(names) / sizeof(names[0]) ? names[event] : NULL;
}

int vox_rtp_event_from_packet(const struct vox_rtp_view *v, uint8_t event_pt,
                              struct vox_rtp_event *out, struct vox_diag *diag)
{
    int rc;

    if (v->payload_type != event_pt)
        return 0;
    rc = vox_rtp_event_parse(v->payload, v->payload_len_bytes, out, diag);
    return rc ? rc : 1;
}
