/* SPDX-License-Identifier: MIT */
/* The capture engine's flow identity: one transport 5-tuple, IPv4 or IPv6, as read off a packet. */
#ifndef VOX_CAPTURE_TUPLE_H
#define VOX_CAPTURE_TUPLE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/*
 * Addresses are kept in 16 bytes: an IPv4 address is stored as its IPv4-mapped IPv6 form
 * (::ffff:a.b.c.d, RFC 4291 §2.5.5.2), so one comparison serves both families. Ports are in host
 * order. A tuple is directional: src is the packet's sender. Zero-initialise before filling, so
 * that padding compares equal.
 */
struct vox_cap_tuple {
    uint8_t src[16];
    uint8_t dst[16];
    uint16_t sport;
    uint16_t dport;
    uint8_t family; /* 4 or 6 */
    uint8_t proto;  /* IPPROTO_UDP (17) or IPPROTO_TCP (6) */
    uint8_t pad[2];
};

/* Stores a 4-byte IPv4 address (network order) in its IPv4-mapped form. */
static inline void vox_cap_addr_v4(uint8_t out[16], const uint8_t v4[4])
{
    memset(out, 0, 10);
    out[10] = 0xff;
    out[11] = 0xff;
    memcpy(out + 12, v4, 4);
}

static inline bool vox_cap_tuple_eq(const struct vox_cap_tuple *a, const struct vox_cap_tuple *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

/* The same flow seen from the other side (src and dst swapped). */
static inline struct vox_cap_tuple vox_cap_tuple_reverse(const struct vox_cap_tuple *t)
{
    struct vox_cap_tuple r = *t;

    memcpy(r.src, t->dst, 16);
    memcpy(r.dst, t->src, 16);
    r.sport = t->dport;
    r.dport = t->sport;
    return r;
}

/* A 64-bit hash of the tuple (for hash tables; not cryptographic). */
static inline uint64_t vox_cap_tuple_hash(const struct vox_cap_tuple *t)
{
    const uint8_t *p = (const uint8_t *)t;
    uint64_t h = 0x9e3779b97f4a7c15ull;

    for (size_t i = 0; i < sizeof *t; i += 8) {
        uint64_t w;

        memcpy(&w, p + i, 8);
        h ^= w;
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 33;
    }
    return h;
}

#endif /* VOX_CAPTURE_TUPLE_H */
