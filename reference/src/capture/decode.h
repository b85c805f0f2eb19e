/* SPDX-License-Identifier: MIT */
/* The capture engine's packet decoder: link layer, IPv4/IPv6, UDP/TCP, as views into the frame. */
#ifndef VOX_CAPTURE_DECODE_H
#define VOX_CAPTURE_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "capture/tuple.h"

/* Link types the decoder reads (the pcap LINKTYPE_ / DLT_ values). */
#define VOX_CAP_LINK_NULL   0   /* BSD loopback: 4-byte address family in host order */
#define VOX_CAP_LINK_EN10MB 1   /* Ethernet II, with any number of 802.1Q / 802.1ad tags */
#define VOX_CAP_LINK_RAW    12  /* raw IPv4 or IPv6 (DLT_RAW on Linux) */
#define VOX_CAP_LINK_RAW101 101 /* LINKTYPE_RAW as written in files */
#define VOX_CAP_LINK_LOOP   108 /* OpenBSD loopback: 4-byte family in network order */
#define VOX_CAP_LINK_SLL    113 /* Linux cooked capture v1 */
#define VOX_CAP_LINK_IPV4   228
#define VOX_CAP_LINK_IPV6   229
#define VOX_CAP_LINK_SLL2   276 /* Linux cooked capture v2 */

/* What the decoder made of a frame. Every value but OK is counted by the engine. */
enum vox_cap_verdict {
    VOX_CAP_OK = 0,      /* a UDP or TCP packet: tuple and payload are set */
    VOX_CAP_FRAGMENT,    /* an IP fragment: l3 is set, hand it to the defragmenter */
    VOX_CAP_NOT_IP,      /* ARP, LLDP, other ethertypes */
    VOX_CAP_OTHER_PROTO, /* IP but neither UDP nor TCP (ICMP, SCTP, ESP ...) */
    VOX_CAP_BAD_LINK,    /* link header shorter than its type needs, unknown link type */
    VOX_CAP_BAD_IP,      /* version, header length, total length or extension chain wrong */
    VOX_CAP_BAD_L4,      /* UDP length or TCP data offset wrong */
    VOX_CAP_TRUNCATED,   /* the frame was cut (snap length) inside the IP or L4 header */
    VOX_CAP_VERDICT__COUNT,
};

/* "ok", "fragment", "not-ip" ... (for counters and messages). */
const char *vox_cap_verdict_name(enum vox_cap_verdict v);

/*
 * One decoded packet: views into the caller's frame (valid while it is). `payload_len_bytes`
 * is what the capture holds of the UDP/TCP payload: less than `wire_payload_bytes` when the
 * frame was cut by the snap length (`truncated` is then 1).
 */
struct vox_cap_pkt {
    struct vox_cap_tuple tuple;
    const uint8_t *l3; /* the IP header */
    size_t l3_len_bytes;
    const uint8_t *payload;
    size_t payload_len_bytes;
    size_t wire_payload_bytes;
    uint32_t tcp_seq;  /* TCP only */
    uint8_t tcp_flags; /* TCP only: FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10 */
    uint8_t truncated;
    uint16_t vlan;     /* the innermost 802.1Q VLAN id, 0 when untagged */
    uint16_t frag_hdr; /* FRAGMENT on IPv6: offset of the Fragment header from l3 */
    uint8_t frag_nh;   /* FRAGMENT on IPv6: the Next Header value that named it (44's source) */
};

/*
 * Decodes one frame of link type `link` (VOX_CAP_LINK_*), `caplen` bytes as captured, into
 * *out. Never reads outside data[0..caplen). Ethernet padding beyond the IP total length is
 * ignored. Returns the verdict; *out is fully set only for VOX_CAP_OK, and l3/l3_len_bytes
 * (+ frag_hdr/frag_nh for IPv6) for VOX_CAP_FRAGMENT.
 */
enum vox_cap_verdict vox_cap_decode(int link, const uint8_t *data, size_t caplen,
                                    struct vox_cap_pkt *out);

/* The same from the IP header on (a reassembled datagram, or a raw frame). */
enum vox_cap_verdict vox_cap_decode_ip(const uint8_t *l3, size_t len, struct vox_cap_pkt *out);

/* 1 when the decoder knows link type `link`. */
int vox_cap_link_supported(int link);

#endif /* VOX_CAPTURE_DECODE_H */
