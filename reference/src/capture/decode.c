/* SPDX-License-Identifier: MIT */
/*
 * Packet decoder of the capture engine. Hand-written: libpcap delivers frames but decodes
 * nothing, and no Debian library offers a zero-copy C decoder for these few headers (libtrace
 * and libnids are either heavier or unmaintained). Bounds are checked before every read.
 */
#include "capture/decode.h"

#include <netinet/in.h>

static const char *const verdict_names[VOX_CAP_VERDICT__COUNT] = {
    [VOX_CAP_OK] = "ok",
    [VOX_CAP_FRAGMENT] = "fragment",
    [VOX_CAP_NOT_IP] = "not-ip",
    [VOX_CAP_OTHER_PROTO] = "other-proto",
    [VOX_CAP_BAD_LINK] = "bad-link",
    [VOX_CAP_BAD_IP] = "bad-ip",
    [VOX_CAP_BAD_L4] = "bad-l4",
    [VOX_CAP_TRUNCATED] = "truncated",
};

const char *vox_cap_verdict_name(enum vox_cap_verdict v)
{
    return (unsigned)v < VOX_CAP_VERDICT__COUNT ? verdict_names[v] : "?";
}

static inline uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* UDP or TCP header at l4[0..len); `wire` is what the IP header says the L4 part holds. */
static enum vox_cap_verdict decode_l4(uint8_t proto, const uint8_t *l4, size_t len, size_t wire,
                                      struct vox_cap_pkt *out)
{
    out->tuple.proto = proto;
    if (proto == IPPROTO_UDP) {
        size_t ulen;

        if (len < 8)
            return wire >= 8 ? VOX_CAP_TRUNCATED : VOX_CAP_BAD_L4;
        ulen = rd16(l4 + 4);
        /* RFC 768: the length covers header and data; 0 is legal only in IPv6 jumbograms. */
        if (ulen < 8 || ulen > wire)
            return VOX_CAP_BAD_L4;
        out->tuple.sport = rd16(l4);
        out->tuple.dport = rd16(l4 + 2);
        out->payload = l4 + 8;
        out->wire_payload_bytes = ulen - 8;
        out->payload_len_bytes = (len < ulen ? len : ulen) - 8;
    } else if (proto == IPPROTO_TCP) {
        size_t off;

        if (len < 20)
            return wire >= 20 ? VOX_CAP_TRUNCATED : VOX_CAP_BAD_L4;
        off = (size_t)(l4[12] >> 4) * 4;
        if (off < 20 || off > wire)
            return VOX_CAP_BAD_L4;
        if (off > len)
            return VOX_CAP_TRUNCATED;
        out->tuple.sport = rd16(l4);
        out->tuple.dport = rd16(l4 + 2);
        out->tcp_seq = rd32(l4 + 4);
        out->tcp_flags = l4[13];
        out->payload = l4 + off;
        out->wire_payload_bytes = wire - off;
        out->payload_len_bytes = len - off;
    } else {
        return VOX_CAP_OTHER_PROTO;
    }
    out->truncated = out->payload_len_bytes < out->wire_payload_bytes;
    return VOX_CAP_OK;
}

static enum vox_cap_verdict decode_ipv4(const uint8_t *ip, size_t len, struct vox_cap_pkt *out)
{
    size_t ihl, total;
    uint16_t frag;

    if (len < 20)
        return VOX_CAP_TRUNCATED;
    ihl = (size_t)(ip[0] & 0x0f) * 4;
    total = rd16(ip + 2);
    if (ihl < 20 || total < ihl)
        return VOX_CAP_BAD_IP;
    if (len < ihl)
        return VOX_CAP_TRUNCATED;
    if (len > total)
        len = total; /* Ethernet padding of short frames */
    out->tuple.family = 4;
    vox_cap_addr_v4(out->tuple.src, ip + 12);
    vox_cap_addr_v4(out->tuple.dst, ip + 16);
    out->l3 = ip;
    out->l3_len_bytes = len;
    frag = rd16(ip + 6);
    if (frag & 0x3fff) /* MF or a fragment offset: RFC 791 */
        return VOX_CAP_FRAGMENT;
    return decode_l4(ip[9], ip + ihl, len - ihl, total - ihl, out);
}

static enum vox_cap_verdict decode_ipv6(const uint8_t *ip, size_t len, struct vox_cap_pkt *out)
{
    size_t off = 40, total;
    uint8_t nh;

    if (len < 40)
        return VOX_CAP_TRUNCATED;
    total = 40 + (size_t)rd16(ip + 4);
    if (total == 40 && ip[6] == 0) /* RFC 2675 jumbogram: not on a VoIP path */
        return VOX_CAP_BAD_IP;
    if (len > total)
        len = total;
    out->tuple.family = 6;
    memcpy(out->tuple.src, ip + 8, 16);
    memcpy(out->tuple.dst, ip + 24, 16);
    out->l3 = ip;
    out->l3_len_bytes = len;
    nh = ip[6];
    /* RFC 8200 §4: walk the extension headers up to the upper layer; a bounded loop, since each
     * header advances `off` by at least 8 bytes. */
    for (;;) {
        uint8_t prev = nh;

        switch (nh) {
        case 0:  /* hop-by-hop options */
        case 43: /* routing */
        case 60: /* destination options */
            if (off + 8 > len)
                return off + 8 > total ? VOX_CAP_BAD_IP : VOX_CAP_TRUNCATED;
            nh = ip[off];
            off += 8 + (size_t)ip[off + 1] * 8;
            if (off > total)
                return VOX_CAP_BAD_IP;
            break;
        case 51: /* AH: length in 4-byte units, minus 2 (RFC 4302 §2.2) */
            if (off + 8 > len)
                return off + 8 > total ? VOX_CAP_BAD_IP : VOX_CAP_TRUNCATED;
            nh = ip[off];
            off += ((size_t)ip[off + 1] + 2) * 4;
            if (off > total)
                return VOX_CAP_BAD_IP;
            break;
        case 44: /* fragment */
            if (off + 8 > total)
                return VOX_CAP_BAD_IP;
            out->frag_hdr = (uint16_t)off;
            out->frag_nh = prev;
            return VOX_CAP_FRAGMENT;
        default:
            if (off > len)
                return VOX_CAP_TRUNCATED;
            return decode_l4(nh, ip + off, len - off, total - off, out);
        }
    }
}

enum vox_cap_verdict vox_cap_decode_ip(const uint8_t *l3, size_t len, struct vox_cap_pkt *out)
{
    memset(out, 0, sizeof *out);
    if (len < 1)
        return VOX_CAP_TRUNCATED;
    switch (l3[0] >> 4) {
    case 4:
        return decode_ipv4(l3, len, out);
    case 6:
        return decode_ipv6(l3, len, out);
    default:
        return VOX_CAP_BAD_IP;
    }
}

/* The frame's ethertype `type` with the L3 header at p[0..len). */
static enum vox_cap_verdict by_ethertype(uint16_t type, const uint8_t *p, size_t len, uint16_t vlan,
                                         struct vox_cap_pkt *out)
{
    enum vox_cap_verdict v;

    if (type != 0x0800 && type != 0x86dd)
        return VOX_CAP_NOT_IP;
    v = vox_cap_decode_ip(p, len, out);
    out->vlan = vlan;
    /* An ethertype that promises one IP version and a header of the other is corrupt. */
    if (v != VOX_CAP_BAD_IP && v != VOX_CAP_TRUNCATED &&
        out->tuple.family != (type == 0x0800 ? 4 : 6))
        return VOX_CAP_BAD_IP;
    return v;
}

enum vox_cap_verdict vox_cap_decode(int link, const uint8_t *data, size_t caplen,
                                    struct vox_cap_pkt *out)
{
    uint16_t vlan = 0, type;
    size_t off;

    switch (link) {
    case VOX_CAP_LINK_EN10MB:
        if (caplen < 14)
            return VOX_CAP_BAD_LINK;
        off = 12;
        type = rd16(data + off);
        /* 802.1Q (0x8100), 802.1ad (0x88a8) and the old QinQ 0x9100: at most 4 tags. */
        for (int tags = 0; type == 0x8100 || type == 0x88a8 || type == 0x9100; tags++) {
            if (tags == 4 || caplen < off + 6)
                return VOX_CAP_BAD_LINK;
            vlan = rd16(data + off + 2) & 0x0fff;
            off += 4;
            type = rd16(data + off);
        }
        off += 2;
        return by_ethertype(type, data + off, caplen - off, vlan, out);
    case VOX_CAP_LINK_SLL:
        if (caplen < 16)
            return VOX_CAP_BAD_LINK;
        return by_ethertype(rd16(data + 14), data + 16, caplen - 16, 0, out);
    case VOX_CAP_LINK_SLL2:
        if (caplen < 20)
            return VOX_CAP_BAD_LINK;
        return by_ethertype(rd16(data), data + 20, caplen - 20, 0, out);
    case VOX_CAP_LINK_NULL:
    case VOX_CAP_LINK_LOOP: {
        uint32_t fam;

        if (caplen < 4)
            return VOX_CAP_BAD_LINK;
        if (link == VOX_CAP_LINK_LOOP) {
            fam = rd32(data);
        } else {
            memcpy(&fam, data, 4);
            /* The writer's byte order is unknown: accept both. */
            if (fam > 0xffff)
                fam = __builtin_bswap32(fam);
        }
        /* AF_INET is 2 everywhere; AF_INET6 is 10, 24, 28 or 30 depending on the OS. */
        if (fam == 2)
            return by_ethertype(0x0800, data + 4, caplen - 4, 0, out);
        if (fam == 10 || fam == 24 || fam == 28 || fam == 30)
            return by_ethertype(0x86dd, data + 4, caplen - 4, 0, out);
        memset(out, 0, sizeof *out);
        return VOX_CAP_NOT_IP;
    }
    case VOX_CAP_LINK_RAW:
    case VOX_CAP_LINK_RAW101:
    case 14: /* DLT_RAW on OpenBSD */
        return vox_cap_decode_ip(data, caplen, out);
    case VOX_CAP_LINK_IPV4:
        return by_ethertype(0x0800, data, caplen, 0, out);
    case VOX_CAP_LINK_IPV6:
        return by_ethertype(0x86dd, data, caplen, 0, out);
    default:
        memset(out, 0, sizeof *out);
        return VOX_CAP_BAD_LINK;
    }
}

int vox_cap_link_supported(int link)
{
    switch (link) {
    case VOX_CAP_LINK_NULL:
    case VOX_CAP_LINK_EN10MB:
    case VOX_CAP_LINK_RAW:
    case VOX_CAP_LINK_RAW101:
    case 14:
    case VOX_CAP_LINK_LOOP:
    case VOX_CAP_LINK_SLL:
    case VOX_CAP_LINK_IPV4:
    case VOX_CAP_LINK_IPV6:
    case VOX_CAP_LINK_SLL2:
        return 1;
    default:
        return 0;
    }
}
