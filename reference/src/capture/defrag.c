/* SPDX-License-Identifier: MIT */
/* IPv4 (RFC 791 §3.2) and IPv6 (RFC 8200 §4.5) fragment reassembly with bounded memory; the
 * model and the rules are in reasm.h. */
#include <stdio.h>
#include <string.h>

#include "capture/reasm.h"

#define DEF_MAX_BYTES     ((size_t)4 << 20)
#define DEF_MAX_DATAGRAMS 1024u
#define DEF_MAX_FRAGMENTS 128u
#define DEF_TIMEOUT_NS    (30ull * 1000000000ull)
#define MAX_FRAGMENTS_CAP 8192u /* 65535 / 8: more can never be needed */
#define IP_MAX_LEN        65535u
#define IPV6_HDR_BYTES    40u
#define OUT_BUF_BYTES     (IP_MAX_LEN + IPV6_HDR_BYTES)

/* One fragment held: payload bytes [off, off + len) of the datagram. */
struct frag {
    struct frag *next; /* sorted by offset, never overlapping */
    uint32_t off;
    uint32_t len;
    uint8_t data[];
};

/* A datagram in progress (or a dead entry of a dropped one, holding no data). */
struct dgram {
    struct vox_cap_tuple key; /* src, dst, family; proto and ID in proto/sport/dport */
    uint64_t hash;
    struct dgram *hnext;
    struct dgram *older, *newer; /* age list, by first fragment */
    uint64_t first_ns;
    struct frag *frags;
    uint32_t nfrags;
    uint32_t covered; /* distinct payload bytes held */
    uint32_t end;     /* payload length, once the last fragment is in */
    bool have_last;
    bool dead;
    enum vox_defrag_drop dead_reason;
    uint8_t *hdr;    /* first fragment's header / unfragmentable part, once it is in */
    size_t hdr_len;  /* IPv4: IHL x 4; IPv6: up to the Fragment header */
    size_t nh_off;   /* IPv6: offset of the Next Header byte that named the Fragment header */
    uint8_t next_nh; /* IPv6: the Fragment header's Next Header */
    size_t bytes;    /* data + hdr held, as counted in bytes_held */
};

struct vox_defrag {
    struct vox_defrag_config cfg;
    struct dgram **buckets;
    size_t mask;
    struct dgram *oldest, *newest;
    uint8_t *out_buf; /* OUT_BUF_BYTES, at the first completion */
    struct vox_defrag_stats st;
};

/* One fragment as parsed from a packet. */
struct fragment {
    struct vox_cap_tuple key;
    uint32_t id;
    uint32_t off, len; /* payload offset and length, bytes */
    bool more;
    const uint8_t *data;
    const uint8_t *hdr; /* what to save from the fragment at offset 0 */
    size_t hdr_len;
    size_t nh_off;
    uint8_t next_nh;
};

static const char *const drop_names[VOX_DEFRAG_DROP__COUNT] = {
    "timeout", "memory", "overlap", "too big", "malformed", "too many fragments",
};

const char *vox_defrag_drop_name(enum vox_defrag_drop why)
{
    return (unsigned)why < VOX_DEFRAG_DROP__COUNT ? drop_names[why] : "?";
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static const char *family_name(const struct fragment *f)
{
    return f->key.family == 4 ? "IPv4" : "IPv6";
}

/* ---- life cycle ------------------------------------------------------------------------------ */

int vox_defrag_create(const struct vox_defrag_config *cfg, struct vox_defrag **out,
                      struct vox_diag *diag)
{
    struct vox_defrag_config c = {DEF_MAX_BYTES, DEF_MAX_DATAGRAMS, DEF_MAX_FRAGMENTS,
                                  DEF_TIMEOUT_NS, NULL};
    struct vox_defrag *d = NULL;
    size_t nb = 1;

    if (!out) {
        vox_diag_set(diag, "defrag: NULL output pointer");
        return VOX_EINVAL;
    }
    *out = NULL;
    if (cfg) {
        c.max_bytes = cfg->max_bytes ? cfg->max_bytes : c.max_bytes;
        c.max_datagrams = cfg->max_datagrams ? cfg->max_datagrams : c.max_datagrams;
        c.max_fragments = cfg->max_fragments ? cfg->max_fragments : c.max_fragments;
        c.timeout_ns = cfg->timeout_ns ? cfg->timeout_ns : c.timeout_ns;
        c.alloc = cfg->alloc;
    }
    if (c.max_fragments > MAX_FRAGMENTS_CAP || c.max_datagrams > (1u << 24)) {
        vox_diag_set(diag,
                     "defrag: max_fragments %u (1..%u) or max_datagrams %u (1..%u) "
                     "out of range",
                     c.max_fragments, MAX_FRAGMENTS_CAP, c.max_datagrams, 1u << 24);
        return VOX_EINVAL;
    }
    if (!c.alloc)
        c.alloc = vox_allocator_default();
    while (nb < c.max_datagrams)
        nb <<= 1;
    d = c.alloc ? vox_alloc(c.alloc, sizeof(*d)) : NULL;
    if (!d)
        goto nomem;
    memset(d, 0, sizeof(*d));
    d->cfg = c;
    d->mask = nb - 1;
    d->buckets = vox_alloc_array(c.alloc, nb, sizeof(*d->buckets));
    if (!d->buckets)
        goto nomem;
    memset(d->buckets, 0, nb * sizeof(*d->buckets));
    *out = d;
    return 0;
nomem:
    if (d)
        vox_free(c.alloc, d, sizeof(*d));
    vox_diag_set(diag, "defrag: out of memory for a table of %zu datagrams", nb);
    return VOX_ENOMEM;
}

static void free_frags(struct vox_defrag *d, struct dgram *g)
{
    struct frag *f = g->frags, *next;

    for (; f; f = next) {
        next = f->next;
        vox_free(d->cfg.alloc, f, sizeof(*f) + f->len);
    }
    g->frags = NULL;
    if (g->hdr)
        vox_free(d->cfg.alloc, g->hdr, g->hdr_len);
    g->hdr = NULL;
    d->st.bytes_held -= g->bytes;
    d->st.fragments_held -= g->nfrags;
    g->bytes = 0;
    g->nfrags = 0;
    g->covered = 0;
}

/* Unlinks g from the table and the age list and frees it. */
static void remove_dgram(struct vox_defrag *d, struct dgram *g)
{
    struct dgram **pp = &d->buckets[g->hash & d->mask];

    while (*pp != g)
        pp = &(*pp)->hnext;
    *pp = g->hnext;
    if (g->older)
        g->older->newer = g->newer;
    else
        d->oldest = g->newer;
    if (g->newer)
        g->newer->older = g->older;
    else
        d->newest = g->older;
    free_frags(d, g);
    vox_free(d->cfg.alloc, g, sizeof(*g));
    d->st.datagrams_held--;
}

void vox_defrag_destroy(struct vox_defrag *d)
{
    if (!d)
        return;
    while (d->oldest)
        remove_dgram(d, d->oldest);
    vox_free(d->cfg.alloc, d->buckets, (d->mask + 1) * sizeof(*d->buckets));
    if (d->out_buf)
        vox_free(d->cfg.alloc, d->out_buf, OUT_BUF_BYTES);
    vox_free(d->cfg.alloc, d, sizeof(*d));
}

void vox_defrag_stats(const struct vox_defrag *d, struct vox_defrag_stats *out)
{
    if (d && out)
        *out = d->st;
}

/* Drops the data of a live datagram for `why` and leaves it dead (see reasm.h). */
static void drop_dgram(struct vox_defrag *d, struct dgram *g, enum vox_defrag_drop why)
{
    if (g->dead)
        return;
    d->st.dropped[why]++;
    d->st.fragments_discarded += g->nfrags;
    free_frags(d, g);
    g->dead = true;
    g->dead_reason = why;
}

size_t vox_defrag_expire(struct vox_defrag *d, uint64_t now_ns)
{
    size_t n = 0;

    if (!d)
        return 0;
    while (d->oldest && now_ns > d->oldest->first_ns &&
           now_ns - d->oldest->first_ns > d->cfg.timeout_ns) {
        struct dgram *g = d->oldest;

        if (!g->dead) {
            drop_dgram(d, g, VOX_DEFRAG_DROP_TIMEOUT);
            n++;
        }
        remove_dgram(d, g);
    }
    return n;
}

/* ---- the table --------------------------------------------------------------------------- */

static struct dgram *lookup(struct vox_defrag *d, const struct vox_cap_tuple *key, uint64_t h)
{
    struct dgram *g;

    for (g = d->buckets[h & d->mask]; g; g = g->hnext)
        if (g->hash == h && vox_cap_tuple_eq(&g->key, key))
            return g;
    return NULL;
}

/* A new, empty datagram; the oldest entry goes first when the table is full. */
static struct dgram *create_dgram(struct vox_defrag *d, const struct vox_cap_tuple *key, uint64_t h,
                                  uint64_t ts_ns)
{
    struct dgram *g;

    if (d->st.datagrams_held >= d->cfg.max_datagrams && d->oldest) {
        drop_dgram(d, d->oldest, VOX_DEFRAG_DROP_MEMORY);
        remove_dgram(d, d->oldest);
    }
    g = vox_alloc(d->cfg.alloc, sizeof(*g));
    if (!g)
        return NULL;
    memset(g, 0, sizeof(*g));
    g->key = *key;
    g->hash = h;
    g->first_ns = ts_ns;
    g->hnext = d->buckets[h & d->mask];
    d->buckets[h & d->mask] = g;
    g->older = d->newest;
    if (d->newest)
        d->newest->newer = g;
    else
        d->oldest = g;
    d->newest = g;
    d->st.datagrams_held++;
    if (d->st.datagrams_held > d->st.datagrams_peak)
        d->st.datagrams_peak = d->st.datagrams_held;
    return g;
}

/* Makes room for `need` more bytes by evicting the oldest live datagrams other than g.
 * Returns false when even that is not enough. */
static bool make_room(struct vox_defrag *d, const struct dgram *g, size_t need)
{
    struct dgram *v = d->oldest;

    if (need > d->cfg.max_bytes)
        return false;
    while (d->st.bytes_held + need > d->cfg.max_bytes) {
        while (v && (v == g || v->dead))
            v = v->newer;
        if (!v)
            return false;
        drop_dgram(d, v, VOX_DEFRAG_DROP_MEMORY);
        v = v->newer;
    }
    return true;
}

/* ---- reassembly -------------------------------------------------------------------------- */

static uint16_t ipv4_checksum(const uint8_t *h, size_t len)
{
    uint32_t sum = 0;
    size_t i;

    for (i = 0; i + 1 < len; i += 2)
        sum += be16(h + i);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* Writes the whole datagram into out_buf and frees g. Returns COMPLETE or DROPPED. */
static int assemble(struct vox_defrag *d, struct dgram *g, struct vox_defrag_out *out,
                    struct vox_diag *diag)
{
    size_t len = g->hdr_len + g->end, pos = g->hdr_len;
    const struct frag *f;
    uint8_t *o;

    if (len - (g->key.family == 6 ? IPV6_HDR_BYTES : 0) > IP_MAX_LEN) {
        vox_diag_set(diag, "IP datagram id 0x%x: %zu bytes reassembled, over the limit of %u",
                     (unsigned)g->key.sport << 16 | g->key.dport, len, IP_MAX_LEN);
        drop_dgram(d, g, VOX_DEFRAG_DROP_TOO_BIG);
        out->reason = VOX_DEFRAG_DROP_TOO_BIG;
        return VOX_DEFRAG_DROPPED;
    }
    if (!d->out_buf) {
        d->out_buf = vox_alloc(d->cfg.alloc, OUT_BUF_BYTES);
        if (!d->out_buf) {
            vox_diag_set(diag, "IP datagram: out of memory for the reassembly buffer");
            drop_dgram(d, g, VOX_DEFRAG_DROP_MEMORY);
            out->reason = VOX_DEFRAG_DROP_MEMORY;
            return VOX_DEFRAG_DROPPED;
        }
    }
    o = d->out_buf;
    memcpy(o, g->hdr, g->hdr_len);
    for (f = g->frags; f; f = f->next) {
        memcpy(o + pos, f->data, f->len);
        pos += f->len;
    }
    if (g->key.family == 4) {
        uint16_t ck;

        o[2] = (uint8_t)(len >> 8);
        o[3] = (uint8_t)len;
        o[6] &= 0xc0; /* keep the reserved bit and DF; clear MF and the offset */
        o[7] = 0;
        o[10] = o[11] = 0;
        ck = ipv4_checksum(o, g->hdr_len);
        o[10] = (uint8_t)(ck >> 8);
        o[11] = (uint8_t)ck;
    } else {
        size_t pl = len - IPV6_HDR_BYTES;

        o[4] = (uint8_t)(pl >> 8);
        o[5] = (uint8_t)pl;
        o[g->nh_off] = g->next_nh;
    }
    d->st.completed++;
    d->st.fragments_reassembled += g->nfrags;
    remove_dgram(d, g);
    out->datagram = o;
    out->len_bytes = len;
    return VOX_DEFRAG_COMPLETE;
}

/* Fails the current fragment of datagram g (already counted in fragments_in). */
static int fail(struct vox_defrag *d, struct dgram *g, enum vox_defrag_drop why,
                struct vox_defrag_out *out)
{
    d->st.fragments_discarded++;
    drop_dgram(d, g, why);
    out->reason = why;
    return VOX_DEFRAG_DROPPED;
}

static int add_fragment(struct vox_defrag *d, const struct fragment *f, uint64_t ts_ns,
                        enum vox_defrag_drop fault, struct vox_defrag_out *out,
                        struct vox_diag *diag)
{
    uint64_t h = vox_cap_tuple_hash(&f->key);
    uint32_t fend = f->off + f->len;
    struct dgram *g;
    struct frag **pp, *prev = NULL, *n;
    size_t need;

    vox_defrag_expire(d, ts_ns);
    g = lookup(d, &f->key, h);
    if (g && g->dead) {
        d->st.fragments_discarded++;
        out->reason = g->dead_reason;
        vox_diag_set(diag, "%s fragment id 0x%x offset %u: its datagram was dropped (%s)",
                     family_name(f), f->id, f->off, drop_names[g->dead_reason]);
        return VOX_DEFRAG_DROPPED;
    }
    if (!g) {
        g = create_dgram(d, &f->key, h, ts_ns);
        if (!g) {
            d->st.fragments_discarded++;
            d->st.dropped[VOX_DEFRAG_DROP_MEMORY]++;
            out->reason = VOX_DEFRAG_DROP_MEMORY;
            vox_diag_set(diag, "%s fragment id 0x%x: out of memory", family_name(f), f->id);
            return VOX_DEFRAG_DROPPED;
        }
    }
    /* a fault found while parsing (keyed): the whole datagram goes */
    if ((unsigned)fault < VOX_DEFRAG_DROP__COUNT)
        return fail(d, g, fault, out);
    if (g->nfrags >= d->cfg.max_fragments) {
        vox_diag_set(diag, "%s fragment id 0x%x offset %u: more than %u fragments", family_name(f),
                     f->id, f->off, d->cfg.max_fragments);
        return fail(d, g, VOX_DEFRAG_DROP_FRAGMENTS, out);
    }
    /* a datagram has one end: data past it, or two different ends, cannot be right */
    if (g->have_last && (fend > g->end || (!f->more && fend != g->end))) {
        vox_diag_set(diag,
                     "%s fragment id 0x%x offset %u length %u: beyond or moving the "
                     "end (%u bytes) set by the last fragment",
                     family_name(f), f->id, f->off, f->len, g->end);
        return fail(d, g, VOX_DEFRAG_DROP_MALFORMED, out);
    }
    pp = &g->frags;
    while (*pp && (*pp)->off < f->off) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (!f->more && !g->have_last) {
        const struct frag *last = g->frags;

        while (last && last->next)
            last = last->next;
        if (last && last->off + last->len > fend) {
            vox_diag_set(diag,
                         "%s fragment id 0x%x: last fragment ends at %u but data is "
                         "held up to %u",
                         family_name(f), f->id, fend, last->off + last->len);
            return fail(d, g, VOX_DEFRAG_DROP_MALFORMED, out);
        }
    }
    if (*pp && (*pp)->off == f->off && (*pp)->len == f->len) {
        d->st.duplicates++;
        return VOX_DEFRAG_HELD;
    }
    /* RFC 5722 §4 (IPv6), and our policy for IPv4 (reasm.h) */
    if ((prev && prev->off + prev->len > f->off) || (*pp && (*pp)->off < fend)) {
        const struct frag *o = (prev && prev->off + prev->len > f->off) ? prev : *pp;

        vox_diag_set(diag, "%s fragment id 0x%x bytes %u..%u overlap the fragment at %u..%u",
                     family_name(f), f->id, f->off, fend, o->off, o->off + o->len);
        return fail(d, g, VOX_DEFRAG_DROP_OVERLAP, out);
    }
    need = f->len + (f->off == 0 ? f->hdr_len : 0);
    if (!make_room(d, g, need)) {
        vox_diag_set(diag, "%s fragment id 0x%x: %zu more bytes do not fit in %zu", family_name(f),
                     f->id, need, d->cfg.max_bytes);
        return fail(d, g, VOX_DEFRAG_DROP_MEMORY, out);
    }
    n = vox_alloc(d->cfg.alloc, sizeof(*n) + f->len);
    if (!n)
        goto nomem;
    if (f->off == 0) {
        g->hdr = vox_alloc(d->cfg.alloc, f->hdr_len);
        if (!g->hdr) {
            vox_free(d->cfg.alloc, n, sizeof(*n) + f->len);
            goto nomem;
        }
        memcpy(g->hdr, f->hdr, f->hdr_len);
        g->hdr_len = f->hdr_len;
        g->nh_off = f->nh_off;
        g->next_nh = f->next_nh;
    }
    n->off = f->off;
    n->len = f->len;
    if (f->len)
        memcpy(n->data, f->data, f->len);
    n->next = *pp;
    *pp = n;
    g->nfrags++;
    g->covered += f->len;
    g->bytes += need;
    d->st.fragments_held++;
    d->st.bytes_held += need;
    if (d->st.bytes_held > d->st.bytes_peak)
        d->st.bytes_peak = d->st.bytes_held;
    if (!f->more) {
        g->have_last = true;
        g->end = fend;
    }
    if (g->hdr && g->have_last && g->covered == g->end)
        return assemble(d, g, out, diag);
    return VOX_DEFRAG_HELD;
nomem:
    vox_diag_set(diag, "%s fragment id 0x%x: out of memory", family_name(f), f->id);
    return fail(d, g, VOX_DEFRAG_DROP_MEMORY, out);
}

/* A packet that cannot even be keyed: counted as one malformed datagram. */
static int unkeyed(struct vox_defrag *d, struct vox_defrag_out *out)
{
    d->st.fragments_in++;
    d->st.fragments_discarded++;
    d->st.dropped[VOX_DEFRAG_DROP_MALFORMED]++;
    out->reason = VOX_DEFRAG_DROP_MALFORMED;
    return VOX_DEFRAG_DROPPED;
}

/* ---- IPv4 -------------------------------------------------------------------------------- */

int vox_defrag_ipv4(struct vox_defrag *d, const uint8_t *pkt, size_t len_bytes, uint64_t ts_ns,
                    struct vox_defrag_out *out, struct vox_diag *diag)
{
    struct fragment f;
    enum vox_defrag_drop fault = VOX_DEFRAG_DROP__COUNT;
    size_t ihl, total;
    uint16_t fo;

    if (!d || !out || (!pkt && len_bytes)) {
        vox_diag_set(diag, "defrag: NULL argument");
        return VOX_EINVAL;
    }
    memset(out, 0, sizeof(*out));
    if (len_bytes < 20 || pkt[0] >> 4 != 4 || (pkt[0] & 0xf) < 5 ||
        (ihl = (size_t)(pkt[0] & 0xf) * 4) > len_bytes) {
        vox_diag_set(diag, "IPv4 packet of %zu bytes: no valid IPv4 header", len_bytes);
        return unkeyed(d, out);
    }
    total = be16(pkt + 2);
    fo = be16(pkt + 6);
    if (!(fo & 0x2000) && !(fo & 0x1fff)) {
        if (total < ihl || total > len_bytes) {
            vox_diag_set(diag, "IPv4 packet: total length %zu, header %zu, captured %zu", total,
                         ihl, len_bytes);
            return unkeyed(d, out);
        }
        out->datagram = pkt;
        out->len_bytes = total;
        return VOX_DEFRAG_COMPLETE;
    }
    memset(&f, 0, sizeof(f));
    vox_cap_addr_v4(f.key.src, pkt + 12);
    vox_cap_addr_v4(f.key.dst, pkt + 16);
    f.key.family = 4;
    f.key.proto = pkt[9];
    f.key.sport = be16(pkt + 4);
    f.id = f.key.sport;
    f.off = (uint32_t)(fo & 0x1fff) * 8;
    f.more = (fo & 0x2000) != 0;
    f.hdr = pkt;
    f.hdr_len = ihl;
    d->st.fragments_in++;
    if (total < ihl || total > len_bytes) {
        vox_diag_set(diag,
                     "IPv4 fragment id 0x%x offset %u: total length %zu but header %zu "
                     "and %zu bytes captured",
                     f.id, f.off, total, ihl, len_bytes);
        fault = VOX_DEFRAG_DROP_MALFORMED;
    } else {
        f.data = pkt + ihl;
        f.len = (uint32_t)(total - ihl);
        if (f.off + f.len + ihl > IP_MAX_LEN) {
            vox_diag_set(diag,
                         "IPv4 fragment id 0x%x offset %u length %u: datagram over %u "
                         "bytes",
                         f.id, f.off, f.len, IP_MAX_LEN);
            fault = VOX_DEFRAG_DROP_TOO_BIG;
        } else if (f.more && (f.len == 0 || f.len % 8)) {
            /* RFC 791 §3.2: fragments break on 8-octet boundaries; only the last is shorter */
            vox_diag_set(diag,
                         "IPv4 fragment id 0x%x offset %u: %u bytes with MF set, not a "
                         "non-zero multiple of 8",
                         f.id, f.off, f.len);
            fault = VOX_DEFRAG_DROP_MALFORMED;
        }
    }
    return add_fragment(d, &f, ts_ns, fault, out, diag);
}

/* ---- IPv6 -------------------------------------------------------------------------------- */

int vox_defrag_ipv6(struct vox_defrag *d, const uint8_t *pkt, size_t len_bytes, uint64_t ts_ns,
                    struct vox_defrag_out *out, struct vox_diag *diag)
{
    struct fragment f;
    enum vox_defrag_drop fault = VOX_DEFRAG_DROP__COUNT;
    size_t len, off = IPV6_HDR_BYTES, nh_off = 6;
    uint8_t nh;
    uint16_t fo;

    if (!d || !out || (!pkt && len_bytes)) {
        vox_diag_set(diag, "defrag: NULL argument");
        return VOX_EINVAL;
    }
    memset(out, 0, sizeof(*out));
    if (len_bytes < IPV6_HDR_BYTES || pkt[0] >> 4 != 6 || be16(pkt + 4) == 0 ||
        IPV6_HDR_BYTES + be16(pkt + 4) > len_bytes) {
        vox_diag_set(diag,
                     "IPv6 packet of %zu bytes: no valid header, a jumbogram or a "
                     "truncated capture",
                     len_bytes);
        return unkeyed(d, out);
    }
    len = IPV6_HDR_BYTES + be16(pkt + 4);
    nh = pkt[6];
    /* RFC 8200 §4.1: only Hop-by-Hop (0), Destination Options (60) and Routing (43) come
     * before the Fragment header (44); each is (Hdr Ext Len + 1) x 8 bytes */
    while (nh == 0 || nh == 43 || nh == 60) {
        if (off + 8 > len) {
            vox_diag_set(diag,
                         "IPv6 packet: extension header %u at offset %zu runs past %zu "
                         "bytes",
                         nh, off, len);
            return unkeyed(d, out);
        }
        nh_off = off;
        nh = pkt[off];
        off += ((size_t)pkt[off + 1] + 1) * 8;
    }
    if (nh != 44) {
        out->datagram = pkt;
        out->len_bytes = len;
        return VOX_DEFRAG_COMPLETE;
    }
    if (off + 8 > len) {
        vox_diag_set(diag, "IPv6 packet: Fragment header at offset %zu runs past %zu bytes", off,
                     len);
        return unkeyed(d, out);
    }
    memset(&f, 0, sizeof(f));
    memcpy(f.key.src, pkt + 8, 16);
    memcpy(f.key.dst, pkt + 24, 16);
    f.key.family = 6;
    f.id = be32(pkt + off + 4);
    f.key.sport = (uint16_t)(f.id >> 16);
    f.key.dport = (uint16_t)f.id;
    fo = be16(pkt + off + 2);
    f.off = fo & 0xfff8u;
    f.more = fo & 1;
    f.data = pkt + off + 8;
    f.len = (uint32_t)(len - off - 8);
    f.hdr = pkt;
    f.hdr_len = off;
    f.nh_off = nh_off;
    f.next_nh = pkt[off];
    d->st.fragments_in++;
    if (f.off == 0 && !f.more) {
        /* RFC 6946 §4: an atomic fragment is reassembled in isolation */
        uint8_t *o = d->out_buf;
        size_t pl = off - IPV6_HDR_BYTES + f.len;

        if (!o)
            o = d->out_buf = vox_alloc(d->cfg.alloc, OUT_BUF_BYTES);
        if (!o) {
            d->st.fragments_discarded++;
            d->st.dropped[VOX_DEFRAG_DROP_MEMORY]++;
            out->reason = VOX_DEFRAG_DROP_MEMORY;
            vox_diag_set(diag, "IPv6 atomic fragment: out of memory");
            return VOX_DEFRAG_DROPPED;
        }
        memcpy(o, pkt, off);
        memcpy(o + off, f.data, f.len);
        o[4] = (uint8_t)(pl >> 8);
        o[5] = (uint8_t)pl;
        o[nh_off] = f.next_nh;
        d->st.fragments_reassembled++;
        d->st.completed++;
        out->datagram = o;
        out->len_bytes = IPV6_HDR_BYTES + pl;
        return VOX_DEFRAG_COMPLETE;
    }
    if (off - IPV6_HDR_BYTES + f.off + f.len > IP_MAX_LEN) {
        /* RFC 8200 §4.5: the reassembled Payload Length would exceed 65535 */
        vox_diag_set(diag, "IPv6 fragment id 0x%x offset %u length %u: datagram over %u bytes",
                     f.id, f.off, f.len, IP_MAX_LEN);
        fault = VOX_DEFRAG_DROP_TOO_BIG;
    } else if (f.more && (f.len == 0 || f.len % 8)) {
        /* RFC 8200 §4.5: a fragment with M = 1 must be a multiple of 8 bytes long */
        vox_diag_set(diag,
                     "IPv6 fragment id 0x%x offset %u: %u bytes with M set, not a "
                     "non-zero multiple of 8",
                     f.id, f.off, f.len);
        fault = VOX_DEFRAG_DROP_MALFORMED;
    }
    return add_fragment(d, &f, ts_ns, fault, out, diag);
}
