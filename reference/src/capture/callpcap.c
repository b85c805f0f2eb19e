/* SPDX-License-Identifier: MIT */
/*
 * Per-call pcap files (vox_capture_config.pcap_dir; docs/capture.md, "Per-call pcap files").
 *
 * Every frame that the engine attributes to a call goes, as captured (link-layer bytes, caplen,
 * len, timestamp), to that call's file. A frame reaches a call by one of three paths:
 * - its call is known while it is handled (an RTP packet of a known stream): queued at once;
 * - its UDP payload waits for the end of the batch (capture.c's cap_pending): queued with its
 *   call unknown, and told its call when the batch is classified;
 * - it is an IP fragment or a TCP segment: its call is known only once the datagram is
 *   reassembled or a SIP message is framed from the stream. The original frames are kept here
 *   until then, rather than one synthesised frame carrying the whole message, because a user
 *   opens the file in Wireshark to see what was on the wire. A reassembled datagram's
 *   fragments travel with it along the two paths above. A TCP direction's data segments are
 *   held in arrival order with their sequence numbers; when the reassembler hands over a
 *   message, its place in the stream is found by matching its first bytes against the held
 *   payloads at or after the end of the previous message (the reassembler does not say where a
 *   message lay, and its own framing, keep-alives and resyncs need not be redone here), and
 *   every held segment that carried one of its bytes is queued for its call. A segment shared
 *   by two messages goes to both calls' files. The SYNs of a connection go with its first
 *   message, so that a reader of the file sees where the streams start; a retransmission of
 *   bytes already framed goes, when it arrives, to the calls of the recent messages it
 *   repeats.
 * The queue is written at the end of each batch, put back in arrival order, so that a call's
 * file is in capture order; only frames held across batches (fragments, TCP segments) can land
 * behind a later frame of the same call that was written in an earlier batch.
 *
 * Bounds: at most max_open files are open (an LRU; a closed file is reopened in append mode);
 * held frames are bounded like the reassemblers' own state (bytes and entries, oldest out
 * first, and timeouts). A message or datagram whose frames were let go is written with what is
 * left and counted in pcap_incomplete; failed opens and writes are counted in
 * pcap_write_errors, and the file is given up (a torn record cannot be appended to).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture/callpcap.h"
#include "capture/internal.h"

#define CP_PENDING       (CAP_NONE - 1) /* a queued frame whose call the batch's end tells */
#define MATCH_BYTES      256u           /* bytes of a message matched to find it in a stream */
#define RECENT_MESSAGES  8u /* messages remembered per direction, for their retransmissions */
#define FRAG_TIMEOUT_NS  (30ull * 1000000000ull)             /* as the defragmenter's */
#define STREAM_MAX_BYTES (4 * (size_t)VOX_SIP_MAX_MSG_BYTES) /* frame bytes held per direction */
#define DEF_FRAG_BYTES   ((size_t)16 << 20)
#define DEF_DATAGRAMS    1024u
#define DEF_TCP_BYTES    ((size_t)32 << 20)
#define DEF_TCP_STREAMS  4096u
#define DEF_TCP_TIMEOUT  (120ull * 1000000000ull)
#define CALL_BUF_BYTES   ((size_t)64 << 10) /* frames buffered per call */
#define DEF_BUF_BYTES    ((size_t)32 << 20)

/* A copy of one captured frame. */
struct cp_frame {
    struct cp_frame *next;
    uint64_t index;         /* arrival number */
    struct pcap_pkthdr hdr; /* as libpcap gave it */
    uint32_t frag_off;      /* IP fragments: payload bytes [off, off + len) of the datagram */
    uint32_t frag_len;
    uint8_t frag_last; /* IP fragments: the one with MF / M clear */
    uint8_t data[];
};

/* The frames held for an IP datagram in reassembly, keyed as the defragmenter keys it. */
struct cp_dgram {
    struct vox_cap_tuple key;
    uint64_t hash;
    struct cp_dgram *hnext;
    struct cp_dgram *older, *newer; /* by first fragment */
    uint64_t first_ns;
    struct cp_frame *frames, **tail;
    size_t bytes;
};

/* A TCP data segment held: payload bytes [seq, seq + len) of its direction. */
struct cp_seg {
    struct cp_seg *next;
    uint32_t seq, len;
    uint32_t last_call;      /* the call it was last queued for; CAP_NONE: none yet */
    uint32_t last_gen;       /* ... and that call slot's generation then */
    const uint8_t *payload;  /* in frames' copy, or in own[] */
    struct cp_frame *frames; /* the frame, or a fragmented segment's fragments */
    size_t bytes;
    uint8_t own[];
};

/* A message framed from a direction: bytes [from, to), of `call` (while its slot's generation
 * is still `gen`: a finished call's slot may since hold another call). */
struct cp_done {
    uint32_t from, to, call, gen;
};

/* One direction of a TCP connection. */
struct cp_stream {
    struct vox_cap_tuple t;
    uint64_t hash;
    struct cp_stream *hnext;
    struct cp_stream *prev, *next; /* by last activity, least recent first */
    uint64_t last_ns;
    uint32_t cursor; /* the sequence number after the last message framed */
    bool have_cursor;
    struct cp_seg *segs, **tail; /* in arrival order */
    struct cp_frame *syn;        /* written with the connection's first message */
    size_t bytes;
    struct cp_done done[RECENT_MESSAGES]; /* the last messages framed, a ring */
    uint32_t ndone;
};

/* A frame queued for the end of the batch; its bytes are in the queue's arena. */
struct cp_qent {
    uint64_t index;
    uint32_t call;
    uint32_t off;
    struct pcap_pkthdr hdr;
};

/* An open file. */
struct cp_slot {
    pcap_dumper_t *d;
    uint32_t call;
    uint32_t prev, next; /* LRU, least recently used first; CAP_NONE ends */
};

/* A set of 64-bit hashes: open addressing, at most half full; 0 marks a free entry. */
struct cp_hset {
    uint64_t *k;
    size_t mask, n;
};

/* What the writer knows of a call's file, by the tracker's call slot. */
struct cp_call {
    uint8_t *buf; /* frames not yet written: each a pcap_pkthdr, then its bytes */
    uint32_t len, cap;
    uint32_t prev, next; /* calls with a buffer, least recently appended first */
    uint32_t slot;       /* its open file; CAP_NONE: closed */
    uint32_t gen;        /* calls retired from this slot so far */
    uint8_t created;
    uint8_t broken; /* a write failed: nothing more goes to it */
    uint8_t listed; /* on the buffer list */
};

struct cap_callpcap {
    struct cap_callpcap_config cfg;
    struct vox_capture_stats *st;
    pcap_t *dead;
    char *path; /* dir + "/" + a name */
    size_t dir_len, path_cap;
    /* open files */
    struct cp_slot *slots;
    uint32_t nslots, lru_head, lru_tail, free_head;
    struct cp_call *calls;
    size_t cap_calls;
    uint64_t opens;
    /* the Call-ID hashes of retired calls whose files this run made: a later call of the same
     * Call-ID appends to the file; or gave up after a failed write: it leaves the file alone */
    struct cp_hset made, given_up;
    /* calls' buffers */
    uint32_t buf_head, buf_tail;
    size_t buf_bytes, call_buf_bytes, max_buf_bytes;
    /* the frame being handled, and the fragments before it of the datagram it completed */
    const struct pcap_pkthdr *cur_hdr;
    const uint8_t *cur_data;
    uint64_t cur_index, cur_ns, next_index;
    struct cp_frame *group;
    /* the batch's queue */
    struct cp_qent *q;
    size_t nq, cap_q;
    uint8_t *arena;
    size_t arena_used, arena_cap;
    /* held for fragments */
    struct cp_dgram **dbuckets;
    size_t dmask;
    struct cp_dgram *doldest, *dnewest;
    uint32_t ndgrams;
    size_t dbytes;
    /* held for TCP */
    struct cp_stream **sbuckets;
    size_t smask;
    struct cp_stream *shead, *stail;
    uint32_t nstreams;
    size_t sbytes;
};

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- names and the folder -------------------------------------------------------------------- */

int cap_callpcap_name(const char *call_id, uint64_t id_hash, char *out, size_t cap)
{
    char keep[CAP_CALLPCAP_NAME_KEEP + 1];
    size_t n = 0;

    for (const char *p = call_id; *p && n < CAP_CALLPCAP_NAME_KEEP; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-' || c == '@';

        keep[n++] = ok ? c : '_';
    }
    if (n && keep[0] == '.') /* no hidden files, no "." or ".." */
        keep[0] = '_';
    keep[n] = 0;
    return snprintf(out, cap, "%s-%016" PRIx64 ".pcap", keep, id_hash);
}

int cap_callpcap_file_nano(FILE *f)
{
    uint8_t m[4];
    long pos = ftell(f);
    size_t n;

    if (pos < 0 || fseek(f, 0, SEEK_SET) != 0)
        return 1;
    n = fread(m, 1, sizeof m, f);
    if (fseek(f, pos, SEEK_SET) != 0)
        return 1;
    /* the pcap magic in either byte order: a1b2c3d4 is microseconds, a1b23c4d nanoseconds */
    if (n == 4 && ((m[0] == 0xa1 && m[1] == 0xb2 && m[2] == 0xc3 && m[3] == 0xd4) ||
                   (m[0] == 0xd4 && m[1] == 0xc3 && m[2] == 0xb2 && m[3] == 0xa1)))
        return 0;
    return 1;
}

/* mkdir -p: every missing component of `dir`. Returns 0 or an errno value. */
static int make_dirs(const char *dir)
{
    size_t len = strlen(dir);
    char *p = malloc(len + 1);
    int e = 0;

    if (!p)
        return ENOMEM;
    memcpy(p, dir, len + 1);
    for (size_t i = 1; i <= len && !e; i++) {
        if (p[i] != '/' && p[i] != 0)
            continue;
        if (p[i - 1] == '/')
            continue;
        p[i] = 0;
        if (mkdir(p, 0777) != 0 && errno != EEXIST)
            e = errno;
        p[i] = dir[i];
    }
    free(p);
    return e;
}

/* ---- files ----------------------------------------------------------------------------------- */

static void lru_unlink(struct cap_callpcap *cp, uint32_t s)
{
    struct cp_slot *x = &cp->slots[s];

    if (x->prev != CAP_NONE)
        cp->slots[x->prev].next = x->next;
    else
        cp->lru_head = x->next;
    if (x->next != CAP_NONE)
        cp->slots[x->next].prev = x->prev;
    else
        cp->lru_tail = x->prev;
    x->prev = x->next = CAP_NONE;
}

static void lru_append(struct cap_callpcap *cp, uint32_t s)
{
    struct cp_slot *x = &cp->slots[s];

    x->prev = cp->lru_tail;
    x->next = CAP_NONE;
    if (cp->lru_tail != CAP_NONE)
        cp->slots[cp->lru_tail].next = s;
    else
        cp->lru_head = s;
    cp->lru_tail = s;
}

/* Closes open file s; a failed flush counts and gives the file up (unless `quiet`). */
static void close_slot(struct cap_callpcap *cp, uint32_t s, bool quiet)
{
    struct cp_slot *x = &cp->slots[s];
    struct cp_call *c = &cp->calls[x->call];

    if ((pcap_dump_flush(x->d) != 0 || ferror(pcap_dump_file(x->d))) && !quiet) {
        cp->st->pcap_write_errors++;
        c->broken = 1;
    }
    pcap_dump_close(x->d);
    x->d = NULL;
    c->slot = CAP_NONE;
    lru_unlink(cp, s);
    x->next = cp->free_head;
    cp->free_head = s;
}

static void close_all(struct cap_callpcap *cp)
{
    while (cp->lru_head != CAP_NONE)
        close_slot(cp, cp->lru_head, false);
}

/* How many calls slot n has seen retired (0 for a slot the table has not reached). */
static uint32_t call_gen(const struct cap_callpcap *cp, uint32_t n)
{
    return n < cp->cap_calls ? cp->calls[n].gen : 0;
}

/* Makes room for call n in the per-call table. */
static bool calls_reserve(struct cap_callpcap *cp, uint32_t n)
{
    size_t ncap = cp->cap_calls ? cp->cap_calls : 1024;
    struct cp_call *p;

    if (n < cp->cap_calls)
        return true;
    while (ncap <= n)
        ncap *= 2;
    p = realloc(cp->calls, ncap * sizeof *p);
    if (!p)
        return false;
    for (size_t i = cp->cap_calls; i < ncap; i++)
        p[i] = (struct cp_call){NULL, 0, 0, CAP_NONE, CAP_NONE, CAP_NONE, 0, 0, 0, 0};
    cp->calls = p;
    cp->cap_calls = ncap;
    return true;
}

static uint64_t hset_key(uint64_t h)
{
    return h ? h : 1; /* 0 marks a free entry */
}

static bool hset_has(const struct cp_hset *set, uint64_t h)
{
    uint64_t k = hset_key(h);

    if (!set->k)
        return false;
    for (size_t i = k & set->mask; set->k[i]; i = (i + 1) & set->mask)
        if (set->k[i] == k)
            return true;
    return false;
}

/* Puts key k (not in the table) in the first free entry of its probe sequence. */
static void hset_put(uint64_t *t, size_t mask, uint64_t k)
{
    size_t i = k & mask;

    while (t[i])
        i = (i + 1) & mask;
    t[i] = k;
}

/* Adds h to the set; false when there is no memory for it. */
static bool hset_add(struct cp_hset *set, uint64_t h)
{
    if (hset_has(set, h))
        return true;
    if (!set->k || 2 * (set->n + 1) > set->mask + 1) {
        size_t ncap = set->k ? 2 * (set->mask + 1) : 1024;
        uint64_t *t = calloc(ncap, sizeof *t);

        if (!t)
            return false;
        for (size_t j = 0; set->k && j <= set->mask; j++)
            if (set->k[j])
                hset_put(t, ncap - 1, set->k[j]);
        free(set->k);
        set->k = t;
        set->mask = ncap - 1;
    }
    hset_put(set->k, set->mask, hset_key(h));
    set->n++;
    return true;
}

static size_t hset_bytes(const struct cp_hset *set)
{
    return set->k ? (set->mask + 1) * sizeof *set->k : 0;
}

/* The open file of call n: the most recently used; opens it (closing the least recently used
 * one when max_open are open), in append mode when this run wrote it before, for this call or
 * for an earlier one of the same Call-ID. NULL on failure. */
static pcap_dumper_t *file_of(struct cap_callpcap *cp, uint32_t n)
{
    const struct cap_call *call = &cp->cfg.tr->calls[n];
    struct cp_call *c = &cp->calls[n];
    pcap_dumper_t *d;
    bool append;
    uint32_t s;

    if (c->slot != CAP_NONE) {
        if (cp->lru_tail != c->slot) {
            lru_unlink(cp, c->slot);
            lru_append(cp, c->slot);
        }
        return cp->slots[c->slot].d;
    }
    if (!c->created && hset_has(&cp->given_up, call->id_hash)) {
        /* an earlier call of this Call-ID tore the file: what it holds stays as it is */
        cp->st->pcap_write_errors++;
        c->broken = 1;
        return NULL;
    }
    if (cp->free_head == CAP_NONE)
        close_slot(cp, cp->lru_head, false);
    cap_callpcap_name(call->call_id, call->id_hash, cp->path + cp->dir_len + 1,
                      cp->path_cap - cp->dir_len - 1);
    /* The first open of a run starts the file anew (a file of an earlier run is replaced). */
    append = c->created || hset_has(&cp->made, call->id_hash);
    d = append ? pcap_dump_open_append(cp->dead, cp->path) : pcap_dump_open(cp->dead, cp->path);
    cp->opens++;
    if (!d) {
        cp->st->pcap_write_errors++;
        c->broken = 1;
        return NULL;
    }
    if (!append)
        cp->st->pcap_files++;
    c->created = 1;
    s = cp->free_head;
    cp->free_head = cp->slots[s].next;
    cp->slots[s].d = d;
    cp->slots[s].call = n;
    c->slot = s;
    lru_append(cp, s);
    return d;
}

/* pcap_dump, then the check that stdio's write went through: disk full and the like count
 * once, and give the file up. False then. */
static bool dump(struct cap_callpcap *cp, uint32_t n, pcap_dumper_t *d, const struct pcap_pkthdr *h,
                 const uint8_t *data)
{
    pcap_dump((u_char *)d, h, data);
    if (ferror(pcap_dump_file(d))) {
        cp->st->pcap_write_errors++;
        cp->calls[n].broken = 1;
        close_slot(cp, cp->calls[n].slot, true);
        return false;
    }
    cp->st->pcap_frames++;
    return true;
}

static void buf_unlist(struct cap_callpcap *cp, uint32_t n)
{
    struct cp_call *c = &cp->calls[n];

    if (!c->listed)
        return;
    if (c->prev != CAP_NONE)
        cp->calls[c->prev].next = c->next;
    else
        cp->buf_head = c->next;
    if (c->next != CAP_NONE)
        cp->calls[c->next].prev = c->prev;
    else
        cp->buf_tail = c->prev;
    c->prev = c->next = CAP_NONE;
    c->listed = 0;
}

/* Call n's buffer becomes the most recently appended to. */
static void buf_touch(struct cap_callpcap *cp, uint32_t n)
{
    struct cp_call *c = &cp->calls[n];

    if (c->listed && cp->buf_tail == n)
        return;
    buf_unlist(cp, n);
    c->prev = cp->buf_tail;
    c->next = CAP_NONE;
    if (cp->buf_tail != CAP_NONE)
        cp->calls[cp->buf_tail].next = n;
    else
        cp->buf_head = n;
    cp->buf_tail = n;
    c->listed = 1;
}

static void buf_release(struct cap_callpcap *cp, uint32_t n)
{
    struct cp_call *c = &cp->calls[n];

    buf_unlist(cp, n);
    free(c->buf);
    cp->buf_bytes -= c->cap;
    c->buf = NULL;
    c->len = c->cap = 0;
}

/* Writes call n's buffered frames to its file. */
static void drain(struct cap_callpcap *cp, uint32_t n)
{
    struct cp_call *c = &cp->calls[n];
    pcap_dumper_t *d;
    size_t pos = 0;

    if (c->len == 0)
        return;
    d = c->broken ? NULL : file_of(cp, n);
    while (d && pos < c->len) {
        struct pcap_pkthdr h;

        memcpy(&h, c->buf + pos, sizeof h);
        pos += sizeof h;
        if (!dump(cp, n, d, &h, c->buf + pos))
            break;
        pos += h.caplen;
    }
    c->len = 0;
}

/*
 * Appends a frame to call n's buffer. Buffers are written when full (CALL_BUF_BYTES) or when
 * all of them together pass max_buf_bytes (the least recently appended first), and at the end
 * of a run: with more calls at once than files open, a call's file is then reopened once per
 * buffer instead of once per frame.
 */
static void write_frame(struct cap_callpcap *cp, uint32_t n, const struct pcap_pkthdr *hdr,
                        const uint8_t *data)
{
    struct pcap_pkthdr h = *hdr;
    size_t rec = sizeof h + hdr->caplen;
    struct cp_call *c;

    if (n >= cp->cfg.tr->ncalls || !calls_reserve(cp, n)) {
        cp->st->pcap_write_errors++;
        return;
    }
    c = &cp->calls[n];
    if (c->broken)
        return;
    if (cp->cfg.src_nano && !cp->cfg.out_nano)
        h.ts.tv_usec /= 1000;
    if (c->len + rec > c->cap && c->cap < cp->call_buf_bytes) {
        size_t ncap = c->cap ? c->cap : 2048;
        uint8_t *b;

        while (ncap < c->len + rec && ncap < cp->call_buf_bytes)
            ncap *= 2;
        if (ncap > cp->call_buf_bytes)
            ncap = cp->call_buf_bytes;
        b = realloc(c->buf, ncap);
        if (b) {
            cp->buf_bytes += ncap - c->cap;
            c->buf = b;
            c->cap = (uint32_t)ncap;
            buf_touch(cp, n);
        }
    }
    if (c->len + rec > c->cap) {
        drain(cp, n);
        if (c->broken)
            return;
    }
    if (rec > c->cap) { /* larger than a buffer (or no memory for one): straight to the file */
        pcap_dumper_t *d = file_of(cp, n);

        if (d)
            dump(cp, n, d, &h, data);
        return;
    }
    memcpy(c->buf + c->len, &h, sizeof h);
    memcpy(c->buf + c->len + sizeof h, data, hdr->caplen);
    c->len += (uint32_t)rec;
    buf_touch(cp, n);
    while (cp->buf_bytes > cp->max_buf_bytes && cp->buf_head != CAP_NONE && cp->buf_head != n) {
        uint32_t v = cp->buf_head;

        drain(cp, v);
        buf_release(cp, v);
    }
}

/* Writes every buffer and frees them; flushes every open file. */
static void drain_all(struct cap_callpcap *cp)
{
    while (cp->buf_head != CAP_NONE) {
        uint32_t n = cp->buf_head;

        drain(cp, n);
        buf_release(cp, n);
    }
    for (uint32_t s = cp->lru_head, next; s != CAP_NONE; s = next) {
        next = cp->slots[s].next;
        if (pcap_dump_flush(cp->slots[s].d) != 0) {
            cp->st->pcap_write_errors++;
            cp->calls[cp->slots[s].call].broken = 1;
            close_slot(cp, s, true);
        }
    }
}

/* ---- the queue --------------------------------------------------------------------------------
 */

static bool queue_add(struct cap_callpcap *cp, uint64_t index, const struct pcap_pkthdr *hdr,
                      const uint8_t *data, uint32_t call)
{
    struct cp_qent *e;

    if (cp->nq == cp->cap_q) {
        size_t ncap = cp->cap_q ? cp->cap_q * 2 : 64;
        struct cp_qent *q = realloc(cp->q, ncap * sizeof *q);

        if (!q)
            goto fail;
        cp->q = q;
        cp->cap_q = ncap;
    }
    if (cp->arena_used + hdr->caplen > cp->arena_cap) {
        size_t ncap = cp->arena_cap ? cp->arena_cap : 65536;
        uint8_t *a;

        while (ncap < cp->arena_used + hdr->caplen)
            ncap *= 2;
        a = realloc(cp->arena, ncap);
        if (!a)
            goto fail;
        cp->arena = a;
        cp->arena_cap = ncap;
    }
    e = &cp->q[cp->nq++];
    e->index = index;
    e->call = call;
    e->off = (uint32_t)cp->arena_used;
    e->hdr = *hdr;
    memcpy(cp->arena + cp->arena_used, data, hdr->caplen);
    cp->arena_used += hdr->caplen;
    return true;
fail:
    cp->st->pcap_write_errors++; /* out of memory: the frame is not written */
    return false;
}

static void queue_frames(struct cap_callpcap *cp, const struct cp_frame *f, uint32_t call)
{
    for (; f; f = f->next)
        queue_add(cp, f->index, &f->hdr, f->data, call);
}

/* Queues the frame group: the datagram's earlier fragments, then the frame being handled. */
static void queue_group(struct cap_callpcap *cp, uint32_t call)
{
    queue_frames(cp, cp->group, call);
    if (cp->cur_hdr)
        queue_add(cp, cp->cur_index, cp->cur_hdr, cp->cur_data, call);
}

void cap_callpcap_defer(struct cap_callpcap *cp, uint32_t *first, uint32_t *count)
{
    size_t before = cp->nq;

    queue_group(cp, CP_PENDING);
    *first = (uint32_t)before;
    *count = (uint32_t)(cp->nq - before);
}

void cap_callpcap_resolve(struct cap_callpcap *cp, uint32_t first, uint32_t count, uint32_t call)
{
    for (size_t i = first; i < (size_t)first + count && i < cp->nq; i++)
        cp->q[i].call = call;
}

void cap_callpcap_flush(struct cap_callpcap *cp)
{
    /* Arrival order: the queue is in order but for frames held back (fragments, TCP
     * segments), so an insertion sort is linear in practice; it is stable, so a frame queued
     * for two calls keeps its order. */
    for (size_t i = 1; i < cp->nq; i++) {
        struct cp_qent e = cp->q[i];
        size_t j = i;

        while (j > 0 && cp->q[j - 1].index > e.index) {
            cp->q[j] = cp->q[j - 1];
            j--;
        }
        cp->q[j] = e;
    }
    for (size_t i = 0; i < cp->nq; i++)
        if (cp->q[i].call < CP_PENDING)
            write_frame(cp, cp->q[i].call, &cp->q[i].hdr, cp->arena + cp->q[i].off);
    cp->nq = 0;
    cp->arena_used = 0;
    if (cp->arena_cap > ((size_t)16 << 20)) { /* a burst of held frames: give it back */
        free(cp->arena);
        cp->arena = NULL;
        cp->arena_cap = 0;
    }
}

void cap_callpcap_sync(struct cap_callpcap *cp)
{
    drain_all(cp);
}

void cap_callpcap_retire(struct cap_callpcap *cp, uint32_t n)
{
    struct cp_call *c;

    if (cp->nq)
        cap_callpcap_flush(cp); /* frames queued for it go to its file, not its successor's */
    if (!calls_reserve(cp, n))
        return; /* no memory: nothing can have been written for that slot either */
    c = &cp->calls[n];
    drain(cp, n);
    if (c->cap)
        buf_release(cp, n);
    if (c->slot != CAP_NONE)
        close_slot(cp, c->slot, false); /* flushed: the file is complete on disk */
    if (c->created &&
        !hset_add(c->broken ? &cp->given_up : &cp->made, cp->cfg.tr->calls[n].id_hash))
        cp->st->pcap_write_errors++; /* a later call of this Call-ID would replace the file */
    c->created = 0;
    c->broken = 0;
    c->gen++;
}

/* ---- frames ---------------------------------------------------------------------------------- */

static struct cp_frame *copy_frame(uint64_t index, const struct pcap_pkthdr *hdr,
                                   const uint8_t *data)
{
    struct cp_frame *f = malloc(sizeof *f + hdr->caplen);

    if (!f)
        return NULL;
    memset(f, 0, sizeof *f);
    f->index = index;
    f->hdr = *hdr;
    memcpy(f->data, data, hdr->caplen);
    return f;
}

static size_t frame_bytes(const struct cp_frame *f)
{
    return sizeof *f + f->hdr.caplen;
}

static size_t free_frames(struct cp_frame *f)
{
    size_t b = 0;

    while (f) {
        struct cp_frame *next = f->next;

        b += frame_bytes(f);
        free(f);
        f = next;
    }
    return b;
}

static struct cp_frame *copy_current(struct cap_callpcap *cp)
{
    return cp->cur_hdr ? copy_frame(cp->cur_index, cp->cur_hdr, cp->cur_data) : NULL;
}

void cap_callpcap_frame(struct cap_callpcap *cp, const struct pcap_pkthdr *hdr, const uint8_t *data,
                        uint64_t ts_ns)
{
    cp->cur_hdr = hdr;
    cp->cur_data = data;
    cp->cur_index = cp->next_index++;
    cp->cur_ns = ts_ns;
}

/* ---- IP fragments ---------------------------------------------------------------------------- */

/* The datagram key (as defrag.c keys it: RFC 791 §3.2, RFC 8200 §4.5) and the fragment's
 * place in its datagram. False when the header cannot be read (the defragmenter drops it). */
static bool frag_key(const struct vox_cap_pkt *pk, struct vox_cap_tuple *key, uint32_t *off,
                     uint32_t *len, uint8_t *last)
{
    const uint8_t *ip = pk->l3;
    size_t total;

    memset(key, 0, sizeof *key);
    memcpy(key->src, pk->tuple.src, 16);
    memcpy(key->dst, pk->tuple.dst, 16);
    key->family = pk->tuple.family;
    if (pk->tuple.family == 4) {
        size_t ihl;
        uint16_t fo;

        if (pk->l3_len_bytes < 20)
            return false;
        ihl = (size_t)(ip[0] & 0x0f) * 4;
        total = be16(ip + 2);
        fo = be16(ip + 6);
        key->proto = ip[9];
        key->sport = be16(ip + 4);
        *off = (uint32_t)(fo & 0x1fff) * 8;
        *len = total > ihl ? (uint32_t)(total - ihl) : 0;
        *last = !(fo & 0x2000);
        return true;
    } else {
        size_t fh = pk->frag_hdr;
        uint32_t id;
        uint16_t fo;

        if (pk->l3_len_bytes < 40 || fh + 8 > pk->l3_len_bytes)
            return false;
        id = be32(ip + fh + 4);
        fo = be16(ip + fh + 2);
        total = 40 + (size_t)be16(ip + 4);
        key->sport = (uint16_t)(id >> 16);
        key->dport = (uint16_t)id;
        *off = fo & 0xfff8u;
        *len = total > fh + 8 ? (uint32_t)(total - fh - 8) : 0;
        *last = !(fo & 1);
        return true;
    }
}

static struct cp_dgram *dgram_find(struct cap_callpcap *cp, const struct vox_cap_tuple *key,
                                   uint64_t h)
{
    struct cp_dgram *g;

    for (g = cp->dbuckets[h & cp->dmask]; g; g = g->hnext)
        if (g->hash == h && vox_cap_tuple_eq(&g->key, key))
            return g;
    return NULL;
}

/* Unlinks g and frees it with the frames it still holds. */
static void dgram_free(struct cap_callpcap *cp, struct cp_dgram *g)
{
    struct cp_dgram **pp = &cp->dbuckets[g->hash & cp->dmask];

    while (*pp && *pp != g)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = g->hnext;
    if (cp->doldest == g)
        cp->doldest = g->newer;
    else
        g->older->newer = g->newer;
    if (cp->dnewest == g)
        cp->dnewest = g->older;
    else
        g->newer->older = g->older;
    free_frames(g->frames);
    cp->dbytes -= g->bytes;
    cp->ndgrams--;
    free(g);
}

void cap_callpcap_frag_held(struct cap_callpcap *cp, const struct vox_cap_pkt *pk)
{
    struct vox_cap_tuple key;
    struct cp_dgram *g;
    struct cp_frame *f;
    uint32_t off, len;
    uint8_t last;
    uint64_t h;

    if (!cp->cur_hdr || !frag_key(pk, &key, &off, &len, &last))
        return;
    h = vox_cap_tuple_hash(&key);
    g = dgram_find(cp, &key, h);
    if (!g) {
        if (cp->ndgrams >= cp->cfg.max_datagrams && cp->doldest)
            dgram_free(cp, cp->doldest);
        g = calloc(1, sizeof *g);
        if (!g)
            return;
        g->key = key;
        g->hash = h;
        g->first_ns = cp->cur_ns;
        g->tail = &g->frames;
        g->hnext = cp->dbuckets[h & cp->dmask];
        cp->dbuckets[h & cp->dmask] = g;
        g->older = cp->dnewest;
        if (cp->dnewest)
            cp->dnewest->newer = g;
        else
            cp->doldest = g;
        cp->dnewest = g;
        cp->ndgrams++;
    }
    f = copy_current(cp);
    if (!f)
        return;
    f->frag_off = off;
    f->frag_len = len;
    f->frag_last = last;
    /* the oldest other datagrams go first; a frame that cannot fit even alone is not kept */
    while (cp->dbytes + frame_bytes(f) > cp->cfg.max_frag_bytes && cp->doldest && cp->doldest != g)
        dgram_free(cp, cp->doldest);
    if (cp->dbytes + frame_bytes(f) > cp->cfg.max_frag_bytes) {
        free(f);
        return;
    }
    *g->tail = f;
    g->tail = &f->next;
    g->bytes += frame_bytes(f);
    cp->dbytes += frame_bytes(f);
}

void cap_callpcap_frag_dropped(struct cap_callpcap *cp, const struct vox_cap_pkt *pk)
{
    struct vox_cap_tuple key;
    struct cp_dgram *g;
    uint32_t off, len;
    uint8_t last;
    uint64_t h;

    if (!frag_key(pk, &key, &off, &len, &last))
        return;
    h = vox_cap_tuple_hash(&key);
    g = dgram_find(cp, &key, h);
    if (g)
        dgram_free(cp, g);
}

/* Do the fragments held (plus the last one, [off, off + len)) cover the whole datagram? */
static bool frags_cover(const struct cp_frame *list, uint32_t off, uint32_t len, uint8_t last)
{
    uint64_t end = last ? (uint64_t)off + len : UINT64_MAX, x = 0;
    bool moved = true;

    for (const struct cp_frame *f = list; f && end == UINT64_MAX; f = f->next)
        if (f->frag_last)
            end = (uint64_t)f->frag_off + f->frag_len;
    if (end == UINT64_MAX)
        return false;
    /* a handful of fragments: sweep until the covered prefix stops growing */
    while (x < end && moved) {
        moved = false;
        if (off <= x && (uint64_t)off + len > x) {
            x = (uint64_t)off + len;
            moved = true;
        }
        for (const struct cp_frame *f = list; f; f = f->next)
            if (f->frag_off <= x && (uint64_t)f->frag_off + f->frag_len > x) {
                x = (uint64_t)f->frag_off + f->frag_len;
                moved = true;
            }
    }
    return x >= end;
}

void cap_callpcap_frag_complete(struct cap_callpcap *cp, const struct vox_cap_pkt *pk)
{
    struct vox_cap_tuple key;
    struct cp_dgram *g;
    uint32_t off, len;
    uint8_t last;
    uint64_t h;

    free_frames(cp->group);
    cp->group = NULL;
    if (!frag_key(pk, &key, &off, &len, &last))
        return;
    h = vox_cap_tuple_hash(&key);
    g = dgram_find(cp, &key, h);
    if (g) {
        cp->group = g->frames;
        cp->dbytes -= g->bytes;
        g->frames = NULL;
        g->bytes = 0;
        dgram_free(cp, g);
    }
    if (!frags_cover(cp->group, off, len, last))
        cp->st->pcap_incomplete++;
}

void cap_callpcap_frag_done(struct cap_callpcap *cp)
{
    free_frames(cp->group);
    cp->group = NULL;
}

/* ---- TCP --------------------------------------------------------------------------------------
 */

static struct cp_stream *stream_find(struct cap_callpcap *cp, const struct vox_cap_tuple *t,
                                     uint64_t h)
{
    struct cp_stream *s;

    for (s = cp->sbuckets[h & cp->smask]; s; s = s->hnext)
        if (s->hash == h && vox_cap_tuple_eq(&s->t, t))
            return s;
    return NULL;
}

static void stream_unlink_lru(struct cap_callpcap *cp, struct cp_stream *s)
{
    if (cp->shead == s)
        cp->shead = s->next;
    else
        s->prev->next = s->next;
    if (cp->stail == s)
        cp->stail = s->prev;
    else
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
}

static void stream_touch(struct cap_callpcap *cp, struct cp_stream *s)
{
    s->last_ns = cp->cur_ns;
    if (cp->stail == s)
        return;
    stream_unlink_lru(cp, s);
    s->prev = cp->stail;
    if (cp->stail)
        cp->stail->next = s;
    else
        cp->shead = s;
    cp->stail = s;
}

static void seg_free(struct cap_callpcap *cp, struct cp_stream *s, struct cp_seg *g)
{
    free_frames(g->frames);
    s->bytes -= g->bytes;
    cp->sbytes -= g->bytes;
    free(g);
}

/* Drops the oldest segment of s. */
static void stream_drop_oldest(struct cap_callpcap *cp, struct cp_stream *s)
{
    struct cp_seg *g = s->segs;

    s->segs = g->next;
    if (!s->segs)
        s->tail = &s->segs;
    seg_free(cp, s, g);
}

/* Lets go of everything held for s (a new connection on its ports keeps the entry). */
static void stream_clear(struct cap_callpcap *cp, struct cp_stream *s)
{
    while (s->segs)
        stream_drop_oldest(cp, s);
    if (s->syn) {
        s->bytes -= frame_bytes(s->syn);
        cp->sbytes -= frame_bytes(s->syn);
        free(s->syn);
        s->syn = NULL;
    }
    s->have_cursor = false;
    s->ndone = 0;
}

static void stream_free(struct cap_callpcap *cp, struct cp_stream *s)
{
    struct cp_stream **pp = &cp->sbuckets[s->hash & cp->smask];

    stream_clear(cp, s);
    while (*pp && *pp != s)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = s->hnext;
    stream_unlink_lru(cp, s);
    cp->nstreams--;
    free(s);
}

static struct cp_stream *stream_new(struct cap_callpcap *cp, const struct vox_cap_tuple *t,
                                    uint64_t h)
{
    struct cp_stream *s;

    if (cp->nstreams >= cp->cfg.max_tcp_streams && cp->shead)
        stream_free(cp, cp->shead);
    s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->t = *t;
    s->hash = h;
    s->tail = &s->segs;
    s->hnext = cp->sbuckets[h & cp->smask];
    cp->sbuckets[h & cp->smask] = s;
    s->prev = cp->stail;
    if (cp->stail)
        cp->stail->next = s;
    else
        cp->shead = s;
    cp->stail = s;
    cp->nstreams++;
    return s;
}

/* Queues the SYN held for s, if any, for `call`, and lets it go. */
static void queue_syn(struct cap_callpcap *cp, struct cp_stream *s, uint32_t call)
{
    if (!s->syn)
        return;
    queue_frames(cp, s->syn, call);
    s->bytes -= frame_bytes(s->syn);
    cp->sbytes -= frame_bytes(s->syn);
    free(s->syn);
    s->syn = NULL;
}

/*
 * A segment with bytes before the cursor, framed already: a retransmission. It goes at once to
 * the calls of the recent messages it overlaps. Returns the last such call (CAP_NONE: none).
 */
static uint32_t queue_retransmission(struct cap_callpcap *cp, const struct cp_stream *s,
                                     uint32_t seq, size_t len)
{
    uint32_t last = CAP_NONE, k = s->ndone > RECENT_MESSAGES ? s->ndone - RECENT_MESSAGES : 0;

    for (; k < s->ndone; k++) {
        /* oldest first, so that a frame shared by two messages goes in their order */
        const struct cp_done *d = &s->done[k % RECENT_MESSAGES];
        int64_t from = (int32_t)(d->from - seq), to = (int32_t)(d->to - seq);

        if (from < (int64_t)len && to > 0 && d->call != last && call_gen(cp, d->call) == d->gen) {
            queue_group(cp, d->call);
            last = d->call;
        }
    }
    return last;
}

void cap_callpcap_tcp_segment(struct cap_callpcap *cp, const struct vox_cap_pkt *pk)
{
    const struct vox_cap_tuple *t = &pk->tuple;
    uint64_t h = vox_cap_tuple_hash(t);
    struct cp_stream *s = stream_find(cp, t, h);
    uint32_t seq = pk->tcp_seq;
    size_t len = pk->payload_len_bytes;
    uint32_t last = CAP_NONE;
    bool in_frame;
    struct cp_seg *g;
    struct cp_frame *f;

    if (!cp->cur_hdr)
        return;
    if (pk->tcp_flags & VOX_CAP_TCP_RST) {
        /* RFC 9293 §3.10.7: both directions are gone, as in the reassembler */
        struct vox_cap_tuple rev = vox_cap_tuple_reverse(t);
        struct cp_stream *o = stream_find(cp, &rev, vox_cap_tuple_hash(&rev));

        if (s)
            stream_free(cp, s);
        if (o)
            stream_free(cp, o);
        return;
    }
    if (pk->tcp_flags & VOX_CAP_TCP_SYN) {
        seq++; /* the SYN takes one sequence number */
        if (!s)
            s = stream_new(cp, t, h);
        if (!s)
            return;
        stream_clear(cp, s);
        stream_touch(cp, s);
        if (len == 0 && !cp->group) {
            s->syn = copy_current(cp);
            if (s->syn) {
                s->bytes += frame_bytes(s->syn);
                cp->sbytes += frame_bytes(s->syn);
            }
            return;
        }
    }
    if (len == 0)
        return; /* pure ACKs and FINs carry no message */
    if (!s)
        s = stream_new(cp, t, h);
    if (!s)
        return;
    stream_touch(cp, s);
    if (s->have_cursor && (int32_t)(seq - s->cursor) < 0) {
        last = queue_retransmission(cp, s, seq, len);
        if ((int32_t)(seq + (uint32_t)len - s->cursor) <= 0)
            return; /* nothing in it for a message still to come */
    }
    /* The payload is read where the frame copy holds it, unless the segment came in fragments
     * (it lives in the defragmenter's buffer). */
    in_frame = !cp->group && pk->payload >= cp->cur_data &&
               pk->payload + len <= cp->cur_data + cp->cur_hdr->caplen;
    g = malloc(sizeof *g + (in_frame ? 0 : len));
    f = copy_current(cp);
    if (!g || !f) {
        free(g);
        free(f);
        return;
    }
    g->next = NULL;
    g->seq = seq;
    g->len = (uint32_t)len;
    g->last_call = last;
    g->last_gen = last != CAP_NONE ? call_gen(cp, last) : 0;
    g->frames = cp->group; /* a fragmented segment's fragments, then its last frame */
    cp->group = NULL;
    if (in_frame) {
        g->payload = f->data + (pk->payload - cp->cur_data);
    } else {
        memcpy(g->own, pk->payload, len);
        g->payload = g->own;
    }
    {
        struct cp_frame **pp = &g->frames;

        while (*pp)
            pp = &(*pp)->next;
        *pp = f;
    }
    g->bytes = sizeof *g + (in_frame ? 0 : len);
    for (f = g->frames; f; f = f->next)
        g->bytes += frame_bytes(f);
    *s->tail = g;
    s->tail = &g->next;
    s->bytes += g->bytes;
    cp->sbytes += g->bytes;
    /* Bounds: a direction holds at most a few messages' worth; in all, the least recently
     * active directions go first. What goes was not yet known to be a call's (a message it
     * belonged to is counted pcap_incomplete when it is framed). */
    while (s->bytes > STREAM_MAX_BYTES && s->segs != g)
        stream_drop_oldest(cp, s);
    while (cp->sbytes > cp->cfg.max_tcp_bytes && cp->shead && cp->shead != s)
        stream_free(cp, cp->shead);
    while (cp->sbytes > cp->cfg.max_tcp_bytes && s->segs)
        stream_drop_oldest(cp, s);
}

/* Are the held bytes from seq on (in g, to start with) equal to m[0..n)? (Any held copy of a
 * byte will do.) */
static bool held_equal(const struct cp_stream *s, const struct cp_seg *g, uint32_t seq,
                       const uint8_t *m, size_t n)
{
    while (n > 0) {
        size_t off, k;

        /* g holds seq at first; then the next segment in arrival order usually does */
        if (!g || (uint32_t)(seq - g->seq) >= g->len)
            for (g = s->segs; g && (uint32_t)(seq - g->seq) >= g->len; g = g->next)
                ;
        if (!g)
            return false;
        off = seq - g->seq;
        k = g->len - off < n ? g->len - off : n;
        if (memcmp(g->payload + off, m, k) != 0)
            return false;
        seq += (uint32_t)k;
        m += k;
        n -= k;
        g = g->next;
    }
    return true;
}

/*
 * Where the message m[0..len) starts in s: the first place at or after the cursor (the end of
 * the previous message) where the held bytes match its first MATCH_BYTES bytes; failing that
 * (a new connection on the same ports), the first anywhere. Modulo 2^32 (RFC 9293 §3.4).
 */
static bool find_message(const struct cp_stream *s, const uint8_t *m, size_t len, uint32_t *at)
{
    size_t n = len < MATCH_BYTES ? len : MATCH_BYTES;
    bool found = false;

    for (int anywhere = 0; anywhere < 2 && !found; anywhere++) {
        if (anywhere && !s->have_cursor)
            break;
        for (const struct cp_seg *g = s->segs; g; g = g->next) {
            const uint8_t *p = g->payload, *end = g->payload + g->len;

            while (p < end && (p = memchr(p, m[0], (size_t)(end - p))) != NULL) {
                uint32_t seq = g->seq + (uint32_t)(p - g->payload);

                p++;
                if (!anywhere && s->have_cursor && (int32_t)(seq - s->cursor) < 0)
                    continue;
                if (found && (int32_t)(seq - *at) >= 0)
                    continue;
                if (held_equal(s, g, seq, m, n)) {
                    *at = seq;
                    found = true;
                }
            }
        }
    }
    return found;
}

/* Do the held segments cover [a, a + len)? */
static bool segs_cover(const struct cp_stream *s, uint32_t a, size_t len)
{
    uint64_t x = 0;
    bool moved = true;

    while (x < len && moved) {
        moved = false;
        for (const struct cp_seg *g = s->segs; g; g = g->next) {
            int64_t from = (int32_t)(g->seq - a), to = from + g->len;

            if (from <= (int64_t)x && to > (int64_t)x) {
                x = (uint64_t)to;
                moved = true;
            }
        }
    }
    return x >= len;
}

void cap_callpcap_tcp_msg(struct cap_callpcap *cp, const struct vox_cap_tuple *t,
                          const uint8_t *msg, size_t len_bytes, uint32_t call)
{
    struct cp_stream *s = stream_find(cp, t, vox_cap_tuple_hash(t));
    uint32_t at = 0, end;

    if (len_bytes == 0)
        return;
    if (!s || !find_message(s, msg, len_bytes, &at)) {
        cp->st->pcap_incomplete++; /* its first bytes were let go */
        return;
    }
    end = at + (uint32_t)len_bytes;
    if (!segs_cover(s, at, len_bytes))
        cp->st->pcap_incomplete++;
    if (call != CAP_NONE) {
        if (s->syn) {
            /* the connection's first message: its handshake's SYNs, both ways, go first */
            struct vox_cap_tuple rev = vox_cap_tuple_reverse(t);
            struct cp_stream *o = stream_find(cp, &rev, vox_cap_tuple_hash(&rev));

            queue_syn(cp, s, call);
            if (o)
                queue_syn(cp, o, call);
        }
        for (struct cp_seg *g = s->segs; g; g = g->next) {
            int64_t from = (int32_t)(g->seq - at), to = from + g->len;

            if (to > 0 && from < (int64_t)len_bytes &&
                (g->last_call != call || g->last_gen != call_gen(cp, call))) {
                queue_frames(cp, g->frames, call);
                g->last_call = call;
                g->last_gen = call_gen(cp, call);
            }
        }
    }
    s->cursor = end;
    s->have_cursor = true;
    /* what lies wholly before the cursor has had its use */
    for (struct cp_seg **pp = &s->segs; *pp;) {
        struct cp_seg *g = *pp;

        if ((int32_t)(g->seq + g->len - end) <= 0) {
            *pp = g->next;
            seg_free(cp, s, g);
        } else {
            pp = &g->next;
        }
    }
    s->tail = &s->segs;
    while (*s->tail)
        s->tail = &(*s->tail)->next;
    if (call != CAP_NONE)
        s->done[s->ndone++ % RECENT_MESSAGES] = (struct cp_done){at, end, call, call_gen(cp, call)};
}

/* ---- life cycle -------------------------------------------------------------------------------
 */

void cap_callpcap_expire(struct cap_callpcap *cp, uint64_t now_ns)
{
    while (cp->doldest && now_ns > cp->doldest->first_ns &&
           now_ns - cp->doldest->first_ns > FRAG_TIMEOUT_NS)
        dgram_free(cp, cp->doldest);
    while (cp->shead && now_ns > cp->shead->last_ns &&
           now_ns - cp->shead->last_ns > cp->cfg.tcp_timeout_ns)
        stream_free(cp, cp->shead);
}

size_t cap_callpcap_bytes(const struct cap_callpcap *cp)
{
    return cp->dbytes + cp->sbytes + cp->buf_bytes + cp->arena_cap + cp->cap_q * sizeof *cp->q +
           cp->cap_calls * sizeof *cp->calls + cp->nslots * sizeof *cp->slots +
           hset_bytes(&cp->made) + hset_bytes(&cp->given_up) +
           (cp->dmask + 1) * sizeof *cp->dbuckets + (cp->smask + 1) * sizeof *cp->sbuckets;
}

static int slots_init(struct cap_callpcap *cp, unsigned n)
{
    struct cp_slot *s = calloc(n, sizeof *s);

    if (!s)
        return VOX_ENOMEM;
    free(cp->slots);
    cp->slots = s;
    cp->nslots = n;
    cp->lru_head = cp->lru_tail = CAP_NONE;
    for (uint32_t i = 0; i < n; i++) {
        s[i].prev = CAP_NONE;
        s[i].next = i + 1 < n ? i + 1 : CAP_NONE;
    }
    cp->free_head = 0;
    return 0;
}

void cap_callpcap_set_limits(struct cap_callpcap *cp, unsigned max_open, size_t call_buf_bytes,
                             size_t max_buf_bytes)
{
    drain_all(cp);
    close_all(cp);
    slots_init(cp, max_open ? max_open : CAP_CALLPCAP_MAX_OPEN);
    cp->call_buf_bytes = call_buf_bytes ? call_buf_bytes : CALL_BUF_BYTES;
    cp->max_buf_bytes = max_buf_bytes ? max_buf_bytes : cp->cfg.max_buf_bytes;
}

uint64_t cap_callpcap_opens(const struct cap_callpcap *cp)
{
    return cp->opens;
}

int cap_callpcap_create(const struct cap_callpcap_config *cfg, struct cap_callpcap **out,
                        struct vox_diag *diag)
{
    struct cap_callpcap *cp = calloc(1, sizeof *cp);
    size_t nb;
    struct stat sb;
    int e;

    *out = NULL;
    if (!cp)
        return VOX_ENOMEM;
    cp->cfg = *cfg;
    cp->st = cfg->stats;
    cp->buf_head = cp->buf_tail = CAP_NONE;
    cp->lru_head = cp->lru_tail = cp->free_head = CAP_NONE;
    if (!cp->cfg.max_buf_bytes)
        cp->cfg.max_buf_bytes = DEF_BUF_BYTES;
    cp->call_buf_bytes = CALL_BUF_BYTES;
    cp->max_buf_bytes = cp->cfg.max_buf_bytes;
    if (!cp->cfg.max_open)
        cp->cfg.max_open = CAP_CALLPCAP_MAX_OPEN;
    if (!cp->cfg.max_frag_bytes)
        cp->cfg.max_frag_bytes = DEF_FRAG_BYTES;
    if (!cp->cfg.max_datagrams)
        cp->cfg.max_datagrams = DEF_DATAGRAMS;
    if (!cp->cfg.max_tcp_bytes)
        cp->cfg.max_tcp_bytes = DEF_TCP_BYTES;
    if (!cp->cfg.max_tcp_streams)
        cp->cfg.max_tcp_streams = DEF_TCP_STREAMS;
    if (!cp->cfg.tcp_timeout_ns)
        cp->cfg.tcp_timeout_ns = DEF_TCP_TIMEOUT;
    e = make_dirs(cfg->dir);
    if (!e && stat(cfg->dir, &sb) != 0)
        e = errno;
    if (!e && !S_ISDIR(sb.st_mode))
        e = ENOTDIR;
    if (!e && access(cfg->dir, W_OK | X_OK) != 0)
        e = errno;
    if (e) {
        vox_diag_set(diag, "per-call pcap folder %s: %s", cfg->dir, strerror(e));
        free(cp);
        return e == ENOMEM ? VOX_ENOMEM : VOX_EIO;
    }
    cp->dir_len = strlen(cfg->dir);
    cp->path_cap = cp->dir_len + 1 + CAP_CALLPCAP_NAME_KEEP + 32;
    cp->path = malloc(cp->path_cap);
    cp->dead = pcap_open_dead_with_tstamp_precision(
        cfg->link, cfg->snaplen > 0 ? cfg->snaplen : 262144,
        cfg->out_nano ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO);
    for (nb = 1; nb < cp->cfg.max_datagrams; nb <<= 1)
        ;
    cp->dbuckets = calloc(nb, sizeof *cp->dbuckets);
    cp->dmask = nb - 1;
    for (nb = 1; nb < cp->cfg.max_tcp_streams; nb <<= 1)
        ;
    cp->sbuckets = calloc(nb, sizeof *cp->sbuckets);
    cp->smask = nb - 1;
    if (!cp->path || !cp->dead || !cp->dbuckets || !cp->sbuckets ||
        slots_init(cp, cp->cfg.max_open) != 0) {
        vox_diag_set(diag, "per-call pcap folder %s: out of memory", cfg->dir);
        cap_callpcap_destroy(cp);
        return VOX_ENOMEM;
    }
    memcpy(cp->path, cfg->dir, cp->dir_len);
    cp->path[cp->dir_len] = '/';
    *out = cp;
    return 0;
}

void cap_callpcap_destroy(struct cap_callpcap *cp)
{
    if (!cp)
        return;
    if (cp->slots) {
        drain_all(cp);
        close_all(cp);
    }
    while (cp->dbuckets && cp->doldest)
        dgram_free(cp, cp->doldest);
    while (cp->sbuckets && cp->shead)
        stream_free(cp, cp->shead);
    free_frames(cp->group);
    if (cp->dead)
        pcap_close(cp->dead);
    free(cp->dbuckets);
    free(cp->sbuckets);
    free(cp->slots);
    for (size_t i = 0; i < cp->cap_calls; i++)
        free(cp->calls[i].buf);
    free(cp->calls);
    free(cp->made.k);
    free(cp->given_up.k);
    free(cp->q);
    free(cp->arena);
    free(cp->path);
    free(cp);
}
