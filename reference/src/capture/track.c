/* SPDX-License-Identifier: MIT */
/*
 * Call and stream tracking: SIP messages by Call-ID, SDP media lines as the addresses where
 * RTP is expected, and RTP streams by (5-tuple, SSRC), as tshark's RTP analysis keys them.
 * Entries leave the tables only when they are finished and written out (cap_tracker_evict,
 * with --finished); otherwise the report lists every call. The three hash indices are
 * open-addressing tables of 16-byte slots (the full hash and a 32-bit index): a probe touches
 * one slot's cache line, and the entry itself only when the hash matches.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "capture/internal.h"
#include "vox/multipart.h"

static const char *const state_names[CAP_CALL_STATE__COUNT] = {
    [CAP_CALL_SETUP] = "setup",       [CAP_CALL_PROCEEDING] = "proceeding",
    [CAP_CALL_ANSWERED] = "answered", [CAP_CALL_CONFIRMED] = "in-call",
    [CAP_CALL_ENDED] = "completed",   [CAP_CALL_CANCELLED] = "cancelled",
    [CAP_CALL_FAILED] = "rejected",   [CAP_CALL_OTHER] = "other",
};

const char *cap_call_state_name(enum cap_call_state s)
{
    return (unsigned)s < CAP_CALL_STATE__COUNT ? state_names[s] : "?";
}

/* ---- the index ------------------------------------------------------------------------------ */

static int index_init(struct cap_index *ix, size_t slots)
{
    ix->slot = malloc(slots * sizeof *ix->slot);
    if (!ix->slot) {
        memset(ix, 0, sizeof *ix);
        return VOX_ENOMEM;
    }
    for (size_t i = 0; i < slots; i++)
        ix->slot[i].idx = CAP_NONE;
    ix->mask = slots - 1;
    ix->used = 0;
    return 0;
}

static void index_free(struct cap_index *ix)
{
    free(ix->slot);
    memset(ix, 0, sizeof *ix);
}

static void index_put(struct cap_index *ix, uint64_t h, uint32_t idx)
{
    size_t i = h & ix->mask;

    while (ix->slot[i].idx != CAP_NONE)
        i = (i + 1) & ix->mask;
    ix->slot[i].hash = h;
    ix->slot[i].idx = idx;
    ix->used++;
}

/* Keeps the load under one half; doubles the table when the next insert would pass it. */
static int index_reserve(struct cap_index *ix)
{
    struct cap_index bigger;
    size_t slots = ix->mask + 1;
    int rc;

    if ((ix->used + 1) * 2 <= slots)
        return 0;
    rc = index_init(&bigger, slots * 2);
    if (rc)
        return rc;
    for (size_t i = 0; i < slots; i++)
        if (ix->slot[i].idx != CAP_NONE)
            index_put(&bigger, ix->slot[i].hash, ix->slot[i].idx);
    index_free(ix);
    *ix = bigger;
    return 0;
}

/* Removes entry `idx` (key hash `h`), shifting the probe run back over its slot (linear probing
 * needs no tombstones: a later entry moves up when its home slot is not between the hole and
 * itself). */
static void index_del(struct cap_index *ix, uint64_t h, uint32_t idx)
{
    size_t i = h & ix->mask, j;

    while (ix->slot[i].idx != idx) {
        if (ix->slot[i].idx == CAP_NONE)
            return; /* not there: nothing to do */
        i = (i + 1) & ix->mask;
    }
    for (j = i;;) {
        size_t home;

        j = (j + 1) & ix->mask;
        if (ix->slot[j].idx == CAP_NONE)
            break;
        home = ix->slot[j].hash & ix->mask;
        /* may slot j's entry move to the hole at i? only if its home is not in (i, j] */
        if (i <= j ? home <= i || home > j : home <= i && home > j) {
            ix->slot[i] = ix->slot[j];
            i = j;
        }
    }
    ix->slot[i].idx = CAP_NONE;
    ix->used--;
}

static void free_push(struct cap_free *f, uint32_t *next_free, uint32_t v)
{
    *next_free = f->head;
    f->head = v;
    f->n++;
}

/* Takes the top of a non-empty free stack; `next_free` is that entry's own link. */
static uint32_t free_pop(struct cap_free *f, uint32_t next_free)
{
    uint32_t v = f->head;

    f->head = next_free;
    f->n--;
    return v;
}

/* Room for one more in a call's list of indices (its streams, its SDP addresses). */
static int list_reserve(uint32_t **v, uint32_t n, uint32_t *cap)
{
    if (n == *cap) {
        uint32_t ncap = *cap ? *cap * 2 : 4;
        uint32_t *p = realloc(*v, ncap * sizeof *p);

        if (!p)
            return VOX_ENOMEM;
        *v = p;
        *cap = ncap;
    }
    return 0;
}

/*
 * The calls, streams and endpoints live in mappings of their own: page-aligned, so that an
 * entry of a multiple of 64 bytes starts on a cache line (the stream's prefetch asks for exactly
 * its hot lines), and grown by mremap, which moves pages instead of copying them and touches no
 * new memory but the added entries. Copying into aligned_alloc'd memory at each doubling
 * instead cost about 30 ns a packet more (100,000 calls, 4.7 M packets). ASan does not guard
 * these mappings as it guards malloc's blocks.
 */
static size_t table_bytes(size_t cap, size_t size)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t pg = page > 0 ? (size_t)page : 4096;

    return (cap * size + pg - 1) / pg * pg;
}

/* Grows a table of `size`-byte entries to hold one more. */
static int grow(void *arrayp, size_t *cap, size_t n, size_t size)
{
    void **array = arrayp;
    size_t ncap;
    void *p;

    if (n < *cap)
        return 0;
    ncap = *cap ? *cap * 2 : 64;
    if (ncap > SIZE_MAX / size)
        return VOX_ENOMEM;
    if (*array)
        p = mremap(*array, table_bytes(*cap, size), table_bytes(ncap, size), MREMAP_MAYMOVE);
    else
        p = mmap(NULL, table_bytes(ncap, size), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                 -1, 0);
    if (p == MAP_FAILED)
        return VOX_ENOMEM;
    *array = p;
    *cap = ncap;
    return 0;
}

static void table_free(void *array, size_t cap, size_t size)
{
    if (array)
        munmap(array, table_bytes(cap, size));
}

static uint64_t hash_bytes(const void *data, size_t len, uint64_t h)
{
    const uint8_t *p = data;

    /* FNV-1a, then a final mix so that the low bits (the slot) depend on every byte. */
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    return h;
}

static uint64_t stream_hash(const struct vox_cap_tuple *t, uint32_t ssrc)
{
    uint64_t h = vox_cap_tuple_hash(t) ^ ssrc;

    h *= 0x9e3779b97f4a7c15ull;
    return h ^ h >> 31;
}

/* Word by word, as the tuple's hash: an RTP packet of no stream yet looks up both of its ends,
 * and cap_stream_candidate hashes them once more to ask for their slots. */
static uint64_t endpoint_hash(const uint8_t addr[16], uint16_t port)
{
    uint64_t a, b, h;

    memcpy(&a, addr, 8);
    memcpy(&b, addr + 8, 8);
    h = (a ^ 0x9e3779b97f4a7c15ull) * 0xff51afd7ed558ccdull;
    h = (h ^ h >> 33 ^ b) * 0xc4ceb9fe1a85ec53ull;
    h = (h ^ h >> 33 ^ port) * 0xff51afd7ed558ccdull;
    return h ^ h >> 33;
}

/* ---- setup ----------------------------------------------------------------------------------- */

int cap_tracker_init(struct cap_tracker *tr, const struct vox_capture_config *cfg,
                     struct vox_capture_stats *stats)
{
    int rc;

    memset(tr, 0, sizeof *tr);
    tr->stats = stats;
    tr->max_calls = cfg->max_calls;
    tr->max_streams = cfg->max_streams;
    tr->rtp_heuristic = cfg->rtp_heuristic;
    rc = index_init(&tr->call_index, 1024);
    if (!rc)
        rc = index_init(&tr->stream_index, 1024);
    if (!rc)
        rc = index_init(&tr->endpoint_index, 1024);
    if (rc)
        cap_tracker_free(tr);
    return rc;
}

void cap_tracker_free(struct cap_tracker *tr)
{
    for (size_t i = 0; i < tr->ncalls; i++) {
        free(tr->calls[i].streams);
        free(tr->calls[i].endpoints);
    }
    table_free(tr->calls, tr->cap_calls, sizeof *tr->calls);
    table_free(tr->streams, tr->cap_streams, sizeof *tr->streams);
    table_free(tr->endpoints, tr->cap_endpoints, sizeof *tr->endpoints);
    index_free(&tr->call_index);
    index_free(&tr->stream_index);
    index_free(&tr->endpoint_index);
    memset(tr, 0, sizeof *tr);
}

size_t cap_tracker_bytes(const struct cap_tracker *tr)
{
    size_t b = tr->cap_calls * sizeof *tr->calls + tr->cap_streams * sizeof *tr->streams +
               tr->cap_endpoints * sizeof *tr->endpoints;

    b += (tr->call_index.mask + 1 + tr->stream_index.mask + 1 + tr->endpoint_index.mask + 1) *
         sizeof(struct cap_slot);
    for (size_t i = 0; i < tr->ncalls; i++)
        b += (tr->calls[i].cap_streams + tr->calls[i].cap_endpoints) * sizeof(uint32_t);
    return b;
}

/* ---- SIP ------------------------------------------------------------------------------------- */

static uint64_t call_hash(const void *cid, size_t len_bytes)
{
    return hash_bytes(cid, len_bytes, 0xcbf29ce484222325ull);
}

uint64_t cap_call_prefetch(const struct cap_tracker *tr, const uint8_t *cid, size_t len_bytes)
{
    uint64_t h = call_hash(cid, len_bytes);

    __builtin_prefetch(&tr->call_index.slot[h & tr->call_index.mask]);
    return h;
}

void cap_call_candidate(const struct cap_tracker *tr, uint64_t h)
{
    const struct cap_index *ix = &tr->call_index;

    for (size_t i = h & ix->mask; ix->slot[i].idx != CAP_NONE; i = (i + 1) & ix->mask)
        if (ix->slot[i].hash == h) {
            const char *c = (const char *)&tr->calls[ix->slot[i].idx];

            /* a message reads the key and the parties and counts in the rest */
            for (size_t off = 0; off < sizeof(struct cap_call); off += 64)
                __builtin_prefetch(c + off, 1);
            return;
        }
}

static uint32_t call_find_or_add(struct cap_tracker *tr, struct vox_str cid, uint64_t ts_ns)
{
    size_t len = cid.len < CAP_CALL_ID_MAX ? cid.len : CAP_CALL_ID_MAX;
    uint64_t h = call_hash(cid.p, cid.len);
    struct cap_index *ix = &tr->call_index;
    struct cap_call *c;
    uint32_t n;

    for (size_t i = h & ix->mask; ix->slot[i].idx != CAP_NONE; i = (i + 1) & ix->mask) {
        const struct cap_call *k = &tr->calls[ix->slot[i].idx];

        if (ix->slot[i].hash == h && strncmp(k->call_id, cid.p, len) == 0 && k->call_id[len] == 0)
            return ix->slot[i].idx;
    }
    if ((tr->max_calls && cap_tracker_calls(tr) >= tr->max_calls) || index_reserve(ix) ||
        (!tr->free_calls.n && (tr->ncalls >= CAP_NONE - 1 ||
                               grow(&tr->calls, &tr->cap_calls, tr->ncalls, sizeof *tr->calls)))) {
        tr->stats->calls_dropped++;
        return CAP_NONE;
    }
    if (tr->free_calls.n)
        n = free_pop(&tr->free_calls, tr->calls[tr->free_calls.head].next_free);
    else
        n = (uint32_t)tr->ncalls++;
    c = &tr->calls[n];
    memset(c, 0, sizeof *c);
    vox_str_copy(c->call_id, sizeof c->call_id, cid);
    c->id_hash = h;
    c->state = CAP_CALL_OTHER;
    c->first_ns = ts_ns;
    index_put(ix, h, n);
    tr->stats->calls++;
    return n;
}

/* The URI of a From/To value, or the raw value when it does not parse. */
static void copy_party(char *dst, const struct vox_sip_msg *m, enum vox_sip_hdr id)
{
    const struct vox_sip_header *h = vox_sip_find(m, id, 0);
    struct vox_sip_nameaddr na;

    if (!h)
        return;
    if (vox_sip_nameaddr_parse(h->value, &na) == 0)
        vox_str_copy(dst, CAP_PARTY_MAX + 1, na.uri);
    else
        vox_str_copy(dst, CAP_PARTY_MAX + 1, h->value);
}

/* The encoding name of a static payload type (RFC 3551 §6), "" when none; its clock rate is
 * vox_rtpstats_static_clock_hz(), the table the statistics use. */
static const char *static_pt_name(uint8_t pt)
{
    static const char *const names[19] = {
        "PCMU", "",    "",      "GSM", "G723", "DVI4", "DVI4", "LPC",  "PCMA", "G722",
        "L16",  "L16", "QCELP", "CN",  "MPA",  "G728", "DVI4", "DVI4", "G729",
    };

    return pt < 19 ? names[pt] : "";
}

static uint32_t endpoint_find(const struct cap_tracker *tr, const uint8_t addr[16], uint16_t port)
{
    uint64_t h = endpoint_hash(addr, port);
    const struct cap_index *ix = &tr->endpoint_index;

    for (size_t i = h & ix->mask; ix->slot[i].idx != CAP_NONE; i = (i + 1) & ix->mask) {
        const struct cap_endpoint *e = &tr->endpoints[ix->slot[i].idx];

        if (ix->slot[i].hash == h && e->port == port && memcmp(e->addr, addr, 16) == 0)
            return ix->slot[i].idx;
    }
    return CAP_NONE;
}

/* Adds or takes over (port reuse by a later call) the endpoint addr:port. */
static struct cap_endpoint *endpoint_set(struct cap_tracker *tr, const uint8_t addr[16],
                                         uint8_t family, uint16_t port, uint32_t call, int rtcp)
{
    uint32_t n = endpoint_find(tr, addr, port), prev = CAP_NONE;
    struct cap_call *c = &tr->calls[call];
    struct cap_endpoint *e;

    /* The call lists the addresses it announced, to let them go with it: room first, so that
     * nothing fails once a slot is taken. */
    if (list_reserve(&c->endpoints, c->nendpoints, &c->cap_endpoints))
        return NULL;
    if (n == CAP_NONE) {
        if (index_reserve(&tr->endpoint_index) ||
            (!tr->free_endpoints.n &&
             (tr->nendpoints >= CAP_NONE - 1 ||
              grow(&tr->endpoints, &tr->cap_endpoints, tr->nendpoints, sizeof *tr->endpoints))))
            return NULL;
        if (tr->free_endpoints.n)
            n = free_pop(&tr->free_endpoints, tr->endpoints[tr->free_endpoints.head].next_free);
        else
            n = (uint32_t)tr->nendpoints++;
        index_put(&tr->endpoint_index, endpoint_hash(addr, port), n);
    } else {
        prev = tr->endpoints[n].call;
    }
    if (prev != call)
        c->endpoints[c->nendpoints++] = n;
    e = &tr->endpoints[n];
    memset(e, 0, sizeof *e);
    memcpy(e->addr, addr, 16);
    e->port = port;
    e->family = family;
    e->call = call;
    e->rtcp = (uint8_t)rtcp;
    return e;
}

static int parse_addr(struct vox_str a, uint8_t out[16], uint8_t *family)
{
    char buf[64];
    uint8_t v4[4];

    if (a.len == 0 || a.len >= sizeof buf)
        return -1;
    memcpy(buf, a.p, a.len);
    buf[a.len] = 0;
    if (inet_pton(AF_INET, buf, v4) == 1) {
        if (!v4[0] && !v4[1] && !v4[2] && !v4[3]) /* 0.0.0.0: RFC 2543 hold */
            return -1;
        vox_cap_addr_v4(out, v4);
        *family = 4;
        return 0;
    }
    if (inet_pton(AF_INET6, buf, out) == 1) {
        *family = 6;
        return 0;
    }
    return -1; /* a host name: RTP cannot be matched to it */
}

/* Registers the RTP and RTCP addresses of every RTP media line of an SDP. */
static void track_sdp(struct cap_tracker *tr, uint32_t call, struct vox_str body)
{
    struct vox_sdp *sdp = &tr->sdp;

    if (vox_sdp_parse(body.p, body.len, sdp, NULL) != 0) {
        tr->calls[call].sdp_bad++;
        return;
    }
    for (size_t i = 0; i < sdp->nmedia; i++) {
        const struct vox_sdp_media *m = &sdp->media[i];
        const struct vox_sdp_conn *conn = m->conn.present ? &m->conn : &sdp->conn;
        struct cap_endpoint *e;
        uint8_t addr[16], family;
        unsigned rtcp_port = m->port + 1;

        if (m->port == 0 || !conn->present || parse_addr(conn->address, addr, &family) != 0)
            continue;
        if (m->proto.len < 3 || memcmp(m->proto.p, "RTP", 3) != 0) {
            /* "UDP/TLS/RTP/SAVP" and the like: RTP somewhere in the name. */
            if (!memmem(m->proto.p, m->proto.len, "RTP", 3))
                continue;
        }
        e = endpoint_set(tr, addr, family, (uint16_t)m->port, call, 0);
        if (!e)
            return;
        for (size_t f = 0; f < m->nfmts && e->npt < CAP_ENDPOINT_CODECS; f++) {
            const struct vox_sdp_fmt *fmt = &m->fmts[f];

            if (fmt->pt < 0)
                continue;
            e->pt[e->npt] = (uint8_t)fmt->pt;
            if (fmt->has_rtpmap) {
                e->clock_hz[e->npt] = fmt->clock_hz;
                vox_str_copy(e->codec[e->npt], CAP_CODEC_NAME_MAX, fmt->encoding);
            } else {
                e->clock_hz[e->npt] = vox_rtpstats_static_clock_hz((uint8_t)fmt->pt);
                strcpy(e->codec[e->npt], static_pt_name((uint8_t)fmt->pt));
            }
            e->npt++;
        }
        /* RFC 3605: a=rtcp:PORT [IN IP4 addr]; the port alone is what matters here. */
        if (m->rtcp.len) {
            unsigned p = 0;
            size_t k = 0;

            while (k < m->rtcp.len && m->rtcp.p[k] >= '0' && m->rtcp.p[k] <= '9' && p < 65536)
                p = p * 10 + (unsigned)(m->rtcp.p[k++] - '0');
            if (k && p && p < 65536)
                rtcp_port = p;
        }
        if (rtcp_port < 65536 && rtcp_port != m->port)
            endpoint_set(tr, addr, family, (uint16_t)rtcp_port, call, 1);
    }
}

static void track_body(struct cap_tracker *tr, uint32_t call, const struct vox_sip_msg *m)
{
    const struct vox_sip_header *ct;
    struct vox_mime_part part;

    if (m->body.len == 0)
        return;
    ct = vox_sip_find(m, VOX_SIP_H_CONTENT_TYPE, 0);
    if (!ct)
        return;
    if (vox_multipart_find(ct->value, m->body.p, m->body.len, "application/sdp", &part, NULL))
        return;
    if (m->is_request && m->method_id == VOX_SIP_METHOD_INVITE)
        tr->calls[call].invites_with_sdp++;
    track_sdp(tr, call, part.body);
}

uint32_t cap_track_sip(struct cap_tracker *tr, const struct vox_cap_tuple *t, const uint8_t *buf,
                       size_t len_bytes, uint64_t ts_ns, int tcp)
{
    struct vox_sip_msg *m = &tr->msg;
    struct vox_sip_cseq cseq;
    struct vox_str cid;
    struct cap_call *c;
    uint32_t n;
    int invite_tx;

    (void)t;
    if (vox_sip_parse((const char *)buf, len_bytes, m, NULL) != 0 ||
        vox_sip_get_call_id(m, &cid) != 0 || cid.len == 0) {
        tr->stats->sip_bad++;
        return CAP_NONE;
    }
    tr->stats->sip_messages++;
    n = call_find_or_add(tr, cid, ts_ns);
    if (n == CAP_NONE)
        return CAP_NONE;
    c = &tr->calls[n];
    c->messages++;
    c->last_ns = ts_ns;
    c->transports |= tcp ? 2 : 1;
    if (!c->from[0])
        copy_party(c->from, m, VOX_SIP_H_FROM);
    if (!c->to[0])
        copy_party(c->to, m, VOX_SIP_H_TO);
    invite_tx = vox_sip_get_cseq(m, &cseq) == 0 && vox_str_eq(cseq.method, "INVITE");
    if (m->is_request) {
        switch (m->method_id) {
        case VOX_SIP_METHOD_INVITE:
            c->requests[CAP_M_INVITE]++;
            if (!c->invite_ns) {
                c->invite_ns = ts_ns;
                if (c->state == CAP_CALL_OTHER)
                    c->state = CAP_CALL_SETUP;
            }
            break;
        case VOX_SIP_METHOD_ACK:
            c->requests[CAP_M_ACK]++;
            if (c->state == CAP_CALL_ANSWERED)
                c->state = CAP_CALL_CONFIRMED;
            break;
        case VOX_SIP_METHOD_BYE:
            c->requests[CAP_M_BYE]++;
            if (!c->end_ns)
                c->end_ns = ts_ns;
            if (c->state != CAP_CALL_OTHER)
                c->state = CAP_CALL_ENDED;
            break;
        case VOX_SIP_METHOD_CANCEL:
            c->requests[CAP_M_CANCEL]++;
            if (c->state == CAP_CALL_SETUP || c->state == CAP_CALL_PROCEEDING) {
                c->state = CAP_CALL_CANCELLED;
                c->end_ns = ts_ns;
            }
            break;
        default:
            c->requests[CAP_M_OTHER]++;
            break;
        }
    } else {
        int cls = m->status / 100;

        c->responses[cls >= 1 && cls <= 6 ? cls : 0]++;
        c->last_status = m->status;
        if (invite_tx && c->invite_ns) {
            if (cls == 1 && c->state == CAP_CALL_SETUP)
                c->state = CAP_CALL_PROCEEDING;
            if ((m->status == 180 || m->status == 183) && !c->ringing_ns)
                c->ringing_ns = ts_ns;
            if (cls == 2 && !c->answer_ns) {
                c->answer_ns = ts_ns;
                if (c->state == CAP_CALL_SETUP || c->state == CAP_CALL_PROCEEDING)
                    c->state = CAP_CALL_ANSWERED;
            }
            if (cls >= 3 && (c->state == CAP_CALL_SETUP || c->state == CAP_CALL_PROCEEDING)) {
                c->state = m->status == 487 ? CAP_CALL_CANCELLED : CAP_CALL_FAILED;
                c->end_ns = ts_ns;
            }
        }
    }
    track_body(tr, n, m);
    return n;
}

/* ---- RTP ------------------------------------------------------------------------------------- */

static inline uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int call_add_stream(struct cap_call *c, uint32_t s)
{
    if (list_reserve(&c->streams, c->nstreams, &c->cap_streams))
        return VOX_ENOMEM;
    c->streams[c->nstreams++] = s;
    return 0;
}

static uint32_t stream_add(struct cap_tracker *tr, const struct vox_cap_tuple *t, uint32_t ssrc,
                           uint8_t pt, const struct cap_endpoint *e, uint64_t h)
{
    struct cap_stream *s;
    uint32_t n, next_free;

    if ((tr->max_streams && cap_tracker_streams(tr) >= tr->max_streams) ||
        index_reserve(&tr->stream_index) ||
        (!tr->free_streams.n &&
         (tr->nstreams >= CAP_NONE - 1 ||
          grow(&tr->streams, &tr->cap_streams, tr->nstreams, sizeof *tr->streams)))) {
        tr->stats->streams_dropped++;
        return CAP_NONE;
    }
    /* a free slot, or the next one: taken below once nothing can fail */
    n = tr->free_streams.n ? tr->free_streams.head : (uint32_t)tr->nstreams;
    s = &tr->streams[n];
    next_free = n < tr->nstreams ? s->next_free : CAP_NONE;
    memset(s, 0, sizeof *s);
    s->tuple = *t;
    s->ssrc = ssrc;
    s->pt = pt;
    s->call = e ? e->call : CAP_NONE;
    s->clock_hz = vox_rtpstats_static_clock_hz(pt);
    snprintf(s->codec, sizeof s->codec, "%s", static_pt_name(pt));
    for (unsigned i = 0; e && i < e->npt; i++)
        if (e->pt[i] == pt) {
            s->clock_hz = e->clock_hz[i];
            snprintf(s->codec, sizeof s->codec, "%s", e->codec[i]);
        }
    if (s->call != CAP_NONE && call_add_stream(&tr->calls[s->call], n)) {
        memset(&s->tuple, 0, sizeof s->tuple); /* a free slot again: matches no packet */
        s->gone = true;
        s->next_free = next_free;
        tr->stats->streams_dropped++;
        return CAP_NONE;
    }
    /* The stream's codec rates its MOS; its dynamic clock and its telephone-event payload
     * type come from the SDP (RFC 4733 events take no part in the jitter). */
    s->codec_id = s->codec[0] ? vox_rtpstats_codec_from_name(s->codec, strlen(s->codec))
                              : vox_rtpstats_codec_from_pt(pt);
    vox_rtpstats_init(&s->st, s->clock_hz);
    for (unsigned i = 0; e && i < e->npt; i++)
        if (strcasecmp(e->codec[i], "telephone-event") == 0) {
            vox_rtpstats_set_event_pt(&s->st, e->pt[i]);
            break;
        }
    if (n == tr->nstreams)
        tr->nstreams++;
    else
        free_pop(&tr->free_streams, next_free);
    index_put(&tr->stream_index, h, n);
    tr->stats->streams++;
    return n;
}

/* Accounts one RTP packet to stream n. */
static void stream_packet(struct cap_tracker *tr, uint32_t n, const uint8_t *p, size_t len,
                          uint64_t ts_ns)
{
    struct cap_stream *s = &tr->streams[n];
    size_t hdr = 12 + (size_t)(p[0] & 0x0f) * 4;
    uint32_t payload = len > hdr ? (uint32_t)(len - hdr) : 0;
    uint16_t seq = (uint16_t)(p[2] << 8 | p[3]);

    s->bytes += len;
    tr->stats->rtp_packets++;
    /* Times from the capture's first frame, as tshark measures them, so that the jitter's
     * floating-point steps are the same as tshark's (see rtpstats.h). */
    vox_rtpstats_packet(&s->st, ts_ns - tr->origin_ns, seq, rd32(p + 4), (uint8_t)(p[1] & 0x7f),
                        (p[1] & 0x80) != 0, payload);
}

uint64_t cap_rtp_hash(const struct vox_cap_tuple *t, const uint8_t hdr[12])
{
    return stream_hash(t, rd32(hdr + 8));
}

/* The stream of (t, ssrc), or CAP_NONE. */
static uint32_t stream_find(const struct cap_tracker *tr, const struct vox_cap_tuple *t,
                            uint32_t ssrc, uint64_t h)
{
    const struct cap_index *ix = &tr->stream_index;

    for (size_t i = h & ix->mask; ix->slot[i].idx != CAP_NONE; i = (i + 1) & ix->mask) {
        const struct cap_stream *k = &tr->streams[ix->slot[i].idx];

        if (ix->slot[i].hash == h && k->ssrc == ssrc && vox_cap_tuple_eq(&k->tuple, t))
            return ix->slot[i].idx;
    }
    return CAP_NONE;
}

void cap_stream_prefetch(const struct cap_tracker *tr, uint64_t h)
{
    __builtin_prefetch(&tr->stream_index.slot[h & tr->stream_index.mask]);
}

uint32_t cap_stream_candidate(const struct cap_tracker *tr, uint64_t h,
                              const struct vox_cap_tuple *t)
{
    const struct cap_index *ix = &tr->stream_index;
    const struct cap_index *ex = &tr->endpoint_index;

    for (size_t i = h & ix->mask; ix->slot[i].idx != CAP_NONE; i = (i + 1) & ix->mask)
        if (ix->slot[i].hash == h) {
            const char *s = (const char *)&tr->streams[ix->slot[i].idx];

            /* the lines a packet touches: the key to the statistics */
            for (size_t off = 0; off < offsetof(struct cap_stream, pt); off += 64)
                __builtin_prefetch(s + off, 1);
            return ix->slot[i].idx;
        }
    /* A new stream (or not RTP at all): with many calls at once, the SDP addresses that
     * cap_track_rtp looks it up by were announced long ago, and their slots are cold. */
    __builtin_prefetch(&ex->slot[endpoint_hash(t->dst, t->dport) & ex->mask]);
    __builtin_prefetch(&ex->slot[endpoint_hash(t->src, t->sport) & ex->mask]);
    return CAP_NONE;
}

int cap_track_rtp(struct cap_tracker *tr, const struct vox_cap_tuple *t, const uint8_t hdr[12],
                  size_t len, uint64_t ts_ns, uint64_t h, uint32_t hint, uint32_t *call)
{
    uint32_t ssrc = rd32(hdr + 8), n = CAP_NONE, e;

    *call = CAP_NONE;
    /* A hint names a stream with the same hash: almost always the one. */
    if (hint < tr->nstreams && tr->streams[hint].ssrc == ssrc &&
        vox_cap_tuple_eq(&tr->streams[hint].tuple, t))
        n = hint;
    else if (tr->nstreams)
        n = stream_find(tr, t, ssrc, h);
    if (n == CAP_NONE) {
        e = endpoint_find(tr, t->dst, t->dport);
        if (e == CAP_NONE)
            e = endpoint_find(tr, t->src, t->sport);
        /* Without an SDP, the heuristic wants even ports (RFC 3550 §11) and a static
         * payload type. */
        if (e == CAP_NONE &&
            !(tr->rtp_heuristic && t->sport % 2 == 0 && t->dport % 2 == 0 && (hdr[1] & 0x7f) <= 34))
            return 0;
        n = stream_add(tr, t, ssrc, (uint8_t)(hdr[1] & 0x7f),
                       e == CAP_NONE ? NULL : &tr->endpoints[e], h);
        if (n == CAP_NONE)
            return 1;
    }
    stream_packet(tr, n, hdr, len, ts_ns);
    *call = tr->streams[n].call;
    return 1;
}

/* ---- RTCP ------------------------------------------------------------------------------------ */

/* The stream of `call` with this SSRC that `addr` sends (`from`) or receives. */
static struct cap_stream *rtcp_stream(struct cap_tracker *tr, uint32_t call, uint32_t ssrc,
                                      const struct vox_cap_tuple *t, int from)
{
    const struct cap_call *c = &tr->calls[call];

    for (uint32_t i = 0; i < c->nstreams; i++) {
        struct cap_stream *s = &tr->streams[c->streams[i]];

        if (s->ssrc == ssrc && s->tuple.family == t->family &&
            !memcmp(from ? s->tuple.src : s->tuple.dst, t->src, sizeof t->src))
            return s;
    }
    return NULL;
}

/* An SR's sender info (RFC 3550 §6.4.1), `p` at the sender's SSRC. */
static void rtcp_sr(struct cap_rtcp *r, const uint8_t *p, uint64_t ts_ns)
{
    r->sr++;
    r->sender_packets = rd32(p + 16);
    r->sender_octets = rd32(p + 20);
    /* the middle 32 bits of the NTP timestamp: what a report block's LSR echoes */
    r->sr_ntp[1] = r->sr_ntp[0];
    r->sr_ns[1] = r->sr_ns[0];
    r->sr_ntp[0] = (uint32_t)(rd32(p + 4) << 16 | rd32(p + 8) >> 16);
    r->sr_ns[0] = ts_ns;
    if (r->nsr < CAP_RTCP_SRS)
        r->nsr++;
}

/* A report block about the stream (24 bytes). The round trip is measured as tshark does, from
 * the capture times alone: the block comes back DLSR after the receiver got the SR whose
 * NTP time its LSR echoes, so (block's time - SR's time - DLSR) is the way there and back
 * from this capture point, whatever the two ends' clocks say. */
static void rtcp_block(struct cap_rtcp *r, const uint8_t *b, uint64_t ts_ns)
{
    uint32_t lost = (uint32_t)b[5] << 16 | (uint32_t)b[6] << 8 | b[7];
    uint32_t lsr = rd32(b + 16);
    uint64_t back = (uint64_t)rd32(b + 20) * 1000000000u / 65536u; /* DLSR, 1/65536 s units */

    r->rr++;
    r->fraction_lost = b[4];
    r->cum_lost = (int32_t)(lost ^ 0x800000u) - 0x800000; /* sign-extend 24 bits */
    r->jitter = rd32(b + 12);
    if (r->jitter > r->max_jitter)
        r->max_jitter = r->jitter;
    for (uint8_t k = 0; lsr && k < r->nsr; k++) {
        if (r->sr_ntp[k] != lsr)
            continue;
        if (ts_ns >= r->sr_ns[k] + back) {
            uint64_t us = (ts_ns - r->sr_ns[k] - back) / 1000u;

            r->rtt_us = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
            if (r->rtt_us > r->max_rtt_us)
                r->max_rtt_us = r->rtt_us;
            r->rtt_n++;
        }
        break;
    }
}

/* The SRs and RRs of a compound RTCP packet of `call` (RFC 3550 §6.4; SDES, BYE, APP and
 * feedback packets are stepped over). A length that runs past the datagram is counted. */
static void rtcp_packet(struct cap_tracker *tr, uint32_t call, const struct vox_cap_tuple *t,
                        const uint8_t *p, size_t len, uint64_t ts_ns)
{
    while (len >= 4) {
        size_t plen = ((size_t)p[2] << 8 | p[3]) * 4 + 4;
        unsigned pt = p[1], count = p[0] & 0x1f;
        size_t head = pt == 200 ? 28 : 8; /* header, sender SSRC, and an SR's sender info */

        if ((p[0] >> 6) != 2 || plen > len ||
            ((pt == 200 || pt == 201) && head + (size_t)count * 24 > plen)) {
            tr->stats->rtcp_bad++;
            return;
        }
        if (pt == 200 || pt == 201) {
            struct cap_stream *s;

            if (pt == 200 && (s = rtcp_stream(tr, call, rd32(p + 4), t, 1)) != NULL)
                rtcp_sr(&s->rtcp, p + 4, ts_ns);
            for (unsigned k = 0; k < count; k++) {
                const uint8_t *b = p + head + (size_t)k * 24;

                if ((s = rtcp_stream(tr, call, rd32(b), t, 0)) != NULL)
                    rtcp_block(&s->rtcp, b, ts_ns);
            }
        }
        p += plen;
        len -= plen;
    }
}

int cap_track_udp(struct cap_tracker *tr, const struct vox_cap_tuple *t, const uint8_t *p,
                  size_t len, uint64_t ts_ns, uint32_t *call)
{
    uint32_t e;

    *call = CAP_NONE;
    if (len >= 8 && (p[0] >> 6) == 2 && p[1] >= 192 && p[1] <= 223) {
        /* RTCP of the calls whose SDP announced either end: its reports go to their streams */
        e = endpoint_find(tr, t->dst, t->dport);
        if (e == CAP_NONE)
            e = endpoint_find(tr, t->src, t->sport);
        if (e == CAP_NONE)
            return 0;
        tr->stats->rtcp_packets++;
        *call = tr->endpoints[e].call;
        rtcp_packet(tr, *call, t, p, len, ts_ns);
        return 1;
    }
    if (!cap_rtp_shaped(p, len))
        return 0;
    return cap_track_rtp(tr, t, p, len, ts_ns, cap_rtp_hash(t, p), CAP_NONE, call);
}

/* ---- eviction -------------------------------------------------------------------------------- */

/* The capture time of the stream's latest packet (0: none yet). */
static uint64_t stream_last_ns(const struct cap_tracker *tr, const struct cap_stream *s)
{
    return s->st.packets ? tr->origin_ns + s->st.last_ns : 0;
}

/* Removes stream n from the index and frees its slot. */
static void stream_remove(struct cap_tracker *tr, uint32_t n)
{
    struct cap_stream *s = &tr->streams[n];

    index_del(&tr->stream_index, stream_hash(&s->tuple, s->ssrc), n);
    memset(&s->tuple, 0, sizeof s->tuple);
    s->gone = true;
    free_push(&tr->free_streams, &s->next_free, n);
}

static void call_remove(struct cap_tracker *tr, uint32_t n)
{
    struct cap_call *c = &tr->calls[n];

    for (uint32_t i = 0; i < c->nstreams; i++)
        stream_remove(tr, c->streams[i]);
    for (uint32_t i = 0; i < c->nendpoints; i++) {
        struct cap_endpoint *e = &tr->endpoints[c->endpoints[i]];

        if (e->gone || e->call != n)
            continue; /* taken over by a later call's SDP */
        index_del(&tr->endpoint_index, endpoint_hash(e->addr, e->port), c->endpoints[i]);
        e->gone = true;
        e->call = CAP_NONE;
        free_push(&tr->free_endpoints, &e->next_free, c->endpoints[i]);
    }
    index_del(&tr->call_index, c->id_hash, n);
    free(c->streams);
    free(c->endpoints);
    c->streams = c->endpoints = NULL;
    c->nstreams = c->cap_streams = c->nendpoints = c->cap_endpoints = 0;
    c->gone = true;
    free_push(&tr->free_calls, &c->next_free, n);
}

size_t cap_tracker_evict(struct cap_tracker *tr, uint64_t now_ns, uint64_t linger_ns,
                         uint64_t idle_ns, cap_done_fn done, void *user)
{
    int all = now_ns == UINT64_MAX;
    size_t finished = 0;

    for (uint32_t n = 0; n < tr->ncalls; n++) {
        const struct cap_call *c = &tr->calls[n];
        uint64_t last = c->last_ns;
        int ended = c->state == CAP_CALL_ENDED || c->state == CAP_CALL_CANCELLED ||
                    c->state == CAP_CALL_FAILED;
        const char *why;

        if (c->gone)
            continue;
        for (uint32_t i = 0; i < c->nstreams; i++) {
            uint64_t l = stream_last_ns(tr, &tr->streams[c->streams[i]]);

            if (l > last)
                last = l;
        }
        if (all)
            why = "end";
        else if (now_ns > last && now_ns - last > idle_ns)
            why = "idle";
        else if (ended && now_ns > last && now_ns - last > linger_ns)
            why = "ended";
        else
            continue;
        done(user, tr, n, CAP_NONE, why);
        call_remove(tr, n);
        finished++;
    }
    for (uint32_t n = 0; n < tr->nstreams; n++) {
        const struct cap_stream *s = &tr->streams[n];
        uint64_t last = stream_last_ns(tr, s);

        if (s->gone || s->call != CAP_NONE || !(all || (now_ns > last && now_ns - last > idle_ns)))
            continue;
        done(user, tr, CAP_NONE, n, all ? "end" : "idle");
        stream_remove(tr, n);
        finished++;
    }
    return finished;
}
