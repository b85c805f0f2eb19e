/* SPDX-License-Identifier: MIT */
/* TCP stream reassembly into SIP messages (RFC 3261 §18.3 framing) with bounded memory,
 * out-of-order and retransmission handling, gap skipping and resynchronisation; the model is
 * in reasm.h. */
#include <string.h>

#include "capture/reasm.h"
#include "vox/sip.h"

#define DEF_MAX_STREAMS    4096u
#define DEF_MAX_BYTES      ((size_t)64 << 20)
#define DEF_TIMEOUT_NS     (120ull * 1000000000ull)
#define DEF_GAP_TIMEOUT_NS (2ull * 1000000000ull)
#define MIN_MSG_BYTES      4096u
#define MAX_OOO_PIECES     512u
#define BUF_MIN_BYTES      1024u
#define BUF_KEEP_BYTES     4096u /* an empty buffer larger than this is freed */
#define LATE_SYN_WINDOW    (1u << 20)

/* Out-of-order bytes [seq, seq + len), in a list sorted by seq, never overlapping. */
struct seg {
    struct seg *next;
    uint32_t seq;
    uint32_t len;
    uint64_t ts_ns;
    uint8_t data[];
};

/* One direction of a connection. */
struct stream {
    struct vox_cap_tuple t;
    uint64_t hash;
    struct stream *hnext;
    struct stream *lru_prev, *lru_next; /* by last activity, least recent first */
    struct stream *gap_prev, *gap_next; /* on the gap list while ooo is not empty */
    uint64_t last_ns;
    uint64_t gap_ns; /* since when the first gap has been waiting */
    uint32_t next_seq;
    uint32_t isn;
    uint32_t fin_seq;
    bool have_isn;
    bool fin;
    bool syncing;    /* discarding until a start line */
    bool line_start; /* the next byte is at the start of a line (for sync) */
    bool sync_lost;  /* bytes discarded since sync mode began */
    uint8_t *buf;    /* in-order bytes of an incomplete message (or start line) */
    size_t len, cap;
    size_t need; /* buf cannot hold a whole message before this many bytes (0: unknown) */
    size_t skip; /* bytes still to discard of an oversize message of known length */
    struct seg *ooo;
    size_t ooo_bytes;
    uint32_t ooo_count;
};

struct vox_tcpreasm {
    struct vox_tcpreasm_config cfg;
    struct stream **buckets;
    size_t mask;
    struct stream *lru_head, *lru_tail;
    struct stream *gap_head, *gap_tail;
    bool nomem; /* an allocation failed during the current call */
    struct vox_tcpreasm_stats st;
};

/* ---- accounting -------------------------------------------------------------------------- */

static void hold(struct vox_tcpreasm *r, size_t n)
{
    r->st.bytes_held += n;
    if (r->st.bytes_held > r->st.bytes_peak)
        r->st.bytes_peak = r->st.bytes_held;
}

static void discard(struct vox_tcpreasm *r, size_t n)
{
    r->st.bytes_discarded += n;
}

/* ---- stream life cycle -------------------------------------------------------------------- */

static void lru_unlink(struct vox_tcpreasm *r, struct stream *s)
{
    if (s->lru_prev)
        s->lru_prev->lru_next = s->lru_next;
    else
        r->lru_head = s->lru_next;
    if (s->lru_next)
        s->lru_next->lru_prev = s->lru_prev;
    else
        r->lru_tail = s->lru_prev;
    s->lru_prev = s->lru_next = NULL;
}

static void lru_append(struct vox_tcpreasm *r, struct stream *s)
{
    s->lru_prev = r->lru_tail;
    s->lru_next = NULL;
    if (r->lru_tail)
        r->lru_tail->lru_next = s;
    else
        r->lru_head = s;
    r->lru_tail = s;
}

static bool on_gap_list(const struct vox_tcpreasm *r, const struct stream *s)
{
    return s->gap_prev || r->gap_head == s;
}

static void gap_unlink(struct vox_tcpreasm *r, struct stream *s)
{
    if (!on_gap_list(r, s))
        return;
    if (s->gap_prev)
        s->gap_prev->gap_next = s->gap_next;
    else
        r->gap_head = s->gap_next;
    if (s->gap_next)
        s->gap_next->gap_prev = s->gap_prev;
    else
        r->gap_tail = s->gap_prev;
    s->gap_prev = s->gap_next = NULL;
}

/* (Re)starts the wait of s's first gap at ts_ns: s goes to the gap list's tail. */
static void gap_start(struct vox_tcpreasm *r, struct stream *s, uint64_t ts_ns)
{
    gap_unlink(r, s);
    s->gap_ns = ts_ns;
    s->gap_prev = r->gap_tail;
    if (r->gap_tail)
        r->gap_tail->gap_next = s;
    else
        r->gap_head = s;
    r->gap_tail = s;
}

static void free_buf(struct vox_tcpreasm *r, struct stream *s)
{
    if (s->buf)
        vox_free(r->cfg.alloc, s->buf, s->cap);
    s->buf = NULL;
    s->cap = 0;
}

/* Discards the partial message held in order. */
static void drop_partial(struct vox_tcpreasm *r, struct stream *s)
{
    discard(r, s->len);
    r->st.bytes_held -= s->len;
    s->len = 0;
    s->need = 0;
    s->skip = 0;
}

/* Discards everything s holds, unlinks and frees it. */
static void free_stream(struct vox_tcpreasm *r, struct stream *s)
{
    struct stream **pp = &r->buckets[s->hash & r->mask];
    struct seg *g, *next;

    drop_partial(r, s);
    free_buf(r, s);
    for (g = s->ooo; g; g = next) {
        next = g->next;
        discard(r, g->len);
        r->st.bytes_held -= g->len;
        vox_free(r->cfg.alloc, g, sizeof(*g) + g->len);
    }
    while (*pp != s)
        pp = &(*pp)->hnext;
    *pp = s->hnext;
    lru_unlink(r, s);
    gap_unlink(r, s);
    vox_free(r->cfg.alloc, s, sizeof(*s));
    r->st.streams_open--;
}

static struct stream *lookup(struct vox_tcpreasm *r, const struct vox_cap_tuple *t, uint64_t h)
{
    struct stream *s;

    for (s = r->buckets[h & r->mask]; s; s = s->hnext)
        if (s->hash == h && vox_cap_tuple_eq(&s->t, t))
            return s;
    return NULL;
}

static struct stream *new_stream(struct vox_tcpreasm *r, const struct vox_cap_tuple *t, uint64_t h)
{
    struct stream *s;

    if (r->st.streams_open >= r->cfg.max_streams && r->lru_head) {
        free_stream(r, r->lru_head);
        r->st.streams_evicted++;
    }
    s = vox_alloc(r->cfg.alloc, sizeof(*s));
    if (!s) {
        r->nomem = true;
        return NULL;
    }
    memset(s, 0, sizeof(*s));
    s->t = *t;
    s->hash = h;
    s->line_start = true;
    s->hnext = r->buckets[h & r->mask];
    r->buckets[h & r->mask] = s;
    lru_append(r, s);
    r->st.streams_open++;
    if (r->st.streams_open > r->st.streams_peak)
        r->st.streams_peak = r->st.streams_open;
    return s;
}

/* Makes room for n more bytes held, evicting the least recently active streams other than s.
 * False when even that is not enough (cannot happen when max_bytes >= 2 x max_msg_bytes). */
static bool make_room(struct vox_tcpreasm *r, const struct stream *s, size_t n)
{
    while (r->st.bytes_held + n > r->cfg.max_bytes) {
        struct stream *v = r->lru_head == s ? s->lru_next : r->lru_head;

        if (!v)
            return false;
        free_stream(r, v);
        r->st.streams_evicted++;
    }
    return true;
}

/* ---- SIP start lines ----------------------------------------------------------------------- */

static bool is_token_char(uint8_t c)
{
    /* RFC 3261 §25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" /
     * "'" / "~") */
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("-.!%*_+`'~", c));
}

static bool is_alpha(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool sip_version(const uint8_t *p)
{
    return (p[0] | 0x20) == 's' && (p[1] | 0x20) == 'i' && (p[2] | 0x20) == 'p' &&
           !memcmp(p + 3, "/2.0", 4);
}

/* A whole line (no CR LF) that is a Request-Line or a Status-Line (RFC 3261 §7.1, §7.2),
 * checked strictly enough that header and body lines do not pass. Every byte is printable. */
static bool line_ok(const uint8_t *p, size_t n)
{
    size_t i = 0, m, u;
    bool colon = false;

    for (i = 0; i < n; i++)
        if (p[i] < 0x20 || p[i] > 0x7e)
            return false;
    if (n >= 11 && sip_version(p) && p[7] == ' ') {
        for (i = 8; i < 11; i++)
            if (p[i] < '0' || p[i] > '9')
                return false;
        return n == 11 || p[11] == ' ';
    }
    for (m = 0; m < n && m <= 32 && is_token_char(p[m]); m++)
        ;
    if (m == 0 || m > 32 || !is_alpha(p[0]) || m >= n || p[m] != ' ')
        return false;
    for (u = m + 1; u < n && p[u] != ' '; u++)
        colon |= p[u] == ':';
    /* URI of at least "a:b", then exactly " SIP/2.0" to the end */
    return colon && u - (m + 1) >= 3 && n - u == 8 && sip_version(p + u + 1);
}

/*
 * Does v[0..n) start with a SIP start line? 1: yes, complete; 0: it has no LF yet but could
 * still become one; -1: it is not one. A prefix that answers -1 never answers otherwise once
 * longer, so the answer does not depend on how the stream was cut into segments.
 */
static int start_line(const uint8_t *v, size_t n)
{
    size_t lim = n < VOX_TCPREASM_MAX_START_LINE ? n : VOX_TCPREASM_MAX_START_LINE, len;
    const uint8_t *nl = memchr(v, '\n', lim);

    if (!nl) {
        size_t i;

        if (n >= VOX_TCPREASM_MAX_START_LINE)
            return -1;
        if (n && !is_alpha(v[0]))
            return -1;
        for (i = 0; i < n; i++)
            if ((v[i] < 0x20 || v[i] > 0x7e) && !(v[i] == '\r' && i + 1 == n))
                return -1;
        return 0;
    }
    len = (size_t)(nl - v);
    if (len && v[len - 1] == '\r')
        len--;
    return line_ok(v, len) ? 1 : -1;
}

/* ---- turning in-order bytes into messages --------------------------------------------------- */

/* The Content-Length of a message whose header block m[0..header_len) is complete (its first
 * line a start line), or SIZE_MAX when it cannot be read (then nothing is inferred from it). */
static size_t content_length(const uint8_t *m, size_t header_len)
{
    const uint8_t *nl = memchr(m, '\n', header_len);
    size_t pos = nl ? (size_t)(nl - m) + 1 : header_len, i, v;
    struct vox_sip_header h;

    while (vox_sip_header_next((const char *)m, header_len, &pos, &h, NULL) == 1) {
        if (h.id != VOX_SIP_H_CONTENT_LENGTH)
            continue;
        if (!h.value.len || h.value.len > 6)
            return SIZE_MAX;
        for (i = 0, v = 0; i < h.value.len; i++) {
            if (h.value.p[i] < '0' || h.value.p[i] > '9')
                return SIZE_MAX;
            v = v * 10 + (size_t)(h.value.p[i] - '0');
        }
        return v;
    }
    return SIZE_MAX;
}

/* Garbage at v[*pos]: discards through the end of its line (or all of v) and enters sync. */
static void garbage(struct vox_tcpreasm *r, struct stream *s, const uint8_t *v, size_t n,
                    size_t *pos)
{
    const uint8_t *nl = memchr(v + *pos, '\n', n - *pos);
    size_t cut = nl ? (size_t)(nl - v) + 1 : n;

    discard(r, cut - *pos);
    *pos = cut;
    s->line_start = nl != NULL;
    s->syncing = true;
    s->sync_lost = true;
}

/*
 * Sync mode: discards v[pos..) up to the first candidate line start (the start of v when
 * s->line_start, or after an LF) that holds a complete start line; leaves sync mode there.
 * Returns the new position, which is n when nothing matched or the candidate is incomplete
 * (then *keep is where the bytes to keep begin).
 */
static size_t sync_scan(struct vox_tcpreasm *r, struct stream *s, const uint8_t *v, size_t n,
                        size_t pos, size_t *keep)
{
    size_t c = pos;
    bool cand = s->line_start;

    *keep = n;
    for (;;) {
        const uint8_t *nl;

        if (cand) {
            int sl = start_line(v + c, n - c);

            if (sl == 1) {
                if (c > pos) {
                    discard(r, c - pos);
                    s->sync_lost = true;
                }
                if (s->sync_lost)
                    r->st.resyncs++;
                s->syncing = false;
                s->sync_lost = false;
                return c;
            }
            if (sl == 0) {
                if (c > pos)
                    s->sync_lost = true;
                discard(r, c - pos);
                s->line_start = true;
                *keep = c;
                return n;
            }
        }
        nl = memchr(v + c, '\n', n - c);
        if (!nl)
            break;
        c = (size_t)(nl - v) + 1;
        cand = true;
    }
    discard(r, n - pos);
    s->sync_lost |= n > pos;
    s->line_start = false;
    return n;
}

/*
 * Delivers every complete message of v[0..n), the stream's next in-order bytes, skipping
 * keep-alives and resynchronising over garbage. Returns how many bytes were consumed (each
 * counted delivered, keep-alive or discarded); the caller keeps the rest, which is less than
 * max_msg_bytes.
 */
static size_t drain(struct vox_tcpreasm *r, struct stream *s, const uint8_t *v, size_t n,
                    uint64_t ts_ns)
{
    size_t pos = 0;

    s->need = 0;
    while (pos < n) {
        struct vox_sip_frame f;
        int rc, sl;

        if (s->syncing) {
            size_t keep;

            pos = sync_scan(r, s, v, n, pos, &keep);
            if (pos == n)
                return keep;
        }
        rc = vox_sip_frame((const char *)v + pos, n - pos, VOX_SIP_TRANSPORT_STREAM, &f, NULL);
        /* RFC 5626 §3.5.1: CRLF keep-alives between messages */
        r->st.keepalive_bytes += f.skip;
        pos += f.skip;
        if (pos == n || (v[pos] == '\r' && pos + 1 == n))
            return pos; /* nothing more, or a CR whose LF is still to come */
        sl = start_line(v + pos, n - pos);
        if (sl < 0) {
            r->st.malformed++;
            garbage(r, s, v, n, &pos);
            continue;
        }
        if (rc == 0) {
            if (f.len > r->cfg.max_msg_bytes) {
                r->st.oversize++;
                discard(r, f.len);
            } else {
                r->st.messages++;
                r->st.bytes_delivered += f.len;
                r->cfg.on_msg(r->cfg.user, &s->t, v + pos, f.len, ts_ns);
            }
            pos += f.len;
            s->line_start = true;
            continue;
        }
        if (rc == VOX_EINCOMPLETE) {
            /* headers complete (header_len set), body not: the length is known */
            size_t cl = f.header_len ? content_length(v + pos, f.header_len) : SIZE_MAX;
            size_t need = cl == SIZE_MAX ? 0 : f.header_len + cl;

            if (need > r->cfg.max_msg_bytes) {
                /* too large, but of known length: skip exactly it, no resync needed */
                r->st.oversize++;
                discard(r, n - pos);
                s->skip = need - (n - pos);
                return n;
            }
            if (n - pos < r->cfg.max_msg_bytes) {
                s->need = need;
                return pos;
            }
            r->st.oversize++; /* still incomplete at the size limit */
        } else if (rc == VOX_ELIMIT) {
            r->st.oversize++;
        } else {
            r->st.malformed++;
        }
        garbage(r, s, v, n, &pos);
    }
    return pos;
}

/* Makes s->buf hold at least `need` bytes (need <= max_msg_bytes). */
static bool buf_grow(struct vox_tcpreasm *r, struct stream *s, size_t need)
{
    size_t cap = s->cap ? s->cap : BUF_MIN_BYTES;
    uint8_t *b;

    if (need <= s->cap)
        return true;
    while (cap < need)
        cap *= 2;
    if (cap > r->cfg.max_msg_bytes)
        cap = r->cfg.max_msg_bytes;
    b = vox_alloc(r->cfg.alloc, cap);
    if (!b)
        return false;
    if (s->len)
        memcpy(b, s->buf, s->len);
    free_buf(r, s);
    s->buf = b;
    s->cap = cap;
    return true;
}

/* The stream's next n bytes in sequence: delivers what completes, keeps the rest. */
static void in_order(struct vox_tcpreasm *r, struct stream *s, const uint8_t *p, size_t n,
                     uint64_t ts_ns)
{
    s->next_seq += (uint32_t)n;
    if (s->skip) {
        size_t k = n < s->skip ? n : s->skip;

        discard(r, k);
        s->skip -= k;
        p += k;
        n -= k;
    }
    if (s->len == 0) {
        /* fast path: messages straight from the caller's bytes, no copy */
        size_t used = drain(r, s, p, n, ts_ns);

        p += used;
        n -= used;
    }
    while (n > 0) {
        size_t room = r->cfg.max_msg_bytes - s->len, k = n < room ? n : room, used;

        if (!make_room(r, s, k) || !buf_grow(r, s, s->len + k)) {
            r->nomem = true;
            discard(r, n);
            drop_partial(r, s);
            s->syncing = true;
            s->sync_lost = true;
            s->line_start = false;
            break;
        }
        memcpy(s->buf + s->len, p, k);
        s->len += k;
        hold(r, k);
        p += k;
        n -= k;
        if (s->len < s->need)
            continue; /* the body is not all there yet: framing again would find no more */
        used = drain(r, s, s->buf, s->len, ts_ns);
        if (used) {
            memmove(s->buf, s->buf + used, s->len - used);
            s->len -= used;
            r->st.bytes_held -= used;
        }
    }
    if (s->len == 0 && s->cap > BUF_KEEP_BYTES)
        free_buf(r, s);
}

/*
 * Moves the out-of-order pieces that are now in sequence into the stream. A message they
 * complete was complete when the last of its bytes arrived: the later of the piece's time and
 * floor_ns (the time of the segment that filled the gap; 0 when a gap was given up).
 */
static void pull(struct vox_tcpreasm *r, struct stream *s, uint64_t floor_ns, uint64_t now_ns)
{
    bool moved = false;

    while (s->ooo && (int32_t)(s->ooo->seq - s->next_seq) <= 0) {
        struct seg *g = s->ooo;
        uint32_t old = s->next_seq - g->seq;

        s->ooo = g->next;
        s->ooo_bytes -= g->len;
        s->ooo_count--;
        r->st.bytes_held -= g->len;
        if (old >= g->len) {
            r->st.retransmitted_bytes += g->len;
        } else {
            r->st.retransmitted_bytes += old;
            in_order(r, s, g->data + old, g->len - old, g->ts_ns > floor_ns ? g->ts_ns : floor_ns);
        }
        vox_free(r->cfg.alloc, g, sizeof(*g) + g->len);
        moved = true;
    }
    if (!s->ooo)
        gap_unlink(r, s);
    else if (moved)
        gap_start(r, s, now_ns); /* the next gap waits from now */
}

/* Gives up the gap before the first out-of-order piece (s->ooo must not be empty); floor_ns
 * and now_ns as for pull. */
static void skip_gap(struct vox_tcpreasm *r, struct stream *s, uint64_t floor_ns, uint64_t now_ns)
{
    r->st.gaps_skipped++;
    r->st.gap_bytes += s->ooo->seq - s->next_seq;
    /* the partial message needed the missing bytes */
    drop_partial(r, s);
    s->syncing = true;
    s->line_start = true;
    s->next_seq = s->ooo->seq;
    pull(r, s, floor_ns, now_ns);
}

/* Stores bytes [seq, seq + n) that lie ahead of the stream, trimmed against what is held. */
static void out_of_order(struct vox_tcpreasm *r, struct stream *s, uint32_t seq, const uint8_t *p,
                         size_t n, uint64_t ts_ns)
{
    uint64_t a = seq - s->next_seq, b = a + n, base = a;
    struct seg **pp = &s->ooo;
    bool was_empty = s->ooo == NULL;

    r->st.out_of_order++;
    while (a < b) {
        struct seg *g;
        uint64_t sa = 0, sb = 0, piece_end;

        while (*pp && (uint64_t)((*pp)->seq - s->next_seq) + (*pp)->len <= a)
            pp = &(*pp)->next;
        if (*pp) {
            sa = (*pp)->seq - s->next_seq;
            sb = sa + (*pp)->len;
        }
        if (*pp && sa <= a) {
            /* already held: the first copy wins */
            piece_end = sb < b ? sb : b;
            r->st.retransmitted_bytes += piece_end - a;
            a = piece_end;
            continue;
        }
        piece_end = (*pp && sa < b) ? sa : b;
        g = vox_alloc(r->cfg.alloc, sizeof(*g) + (size_t)(piece_end - a));
        if (!g) {
            r->nomem = true;
            discard(r, (size_t)(b - a));
            break;
        }
        g->seq = (uint32_t)(s->next_seq + a);
        g->len = (uint32_t)(piece_end - a);
        g->ts_ns = ts_ns;
        memcpy(g->data, p + (a - base), g->len);
        g->next = *pp;
        *pp = g;
        pp = &g->next;
        s->ooo_bytes += g->len;
        s->ooo_count++;
        hold(r, g->len);
        a = piece_end;
    }
    if (was_empty && s->ooo)
        gap_start(r, s, ts_ns);
}

/* The payload of a segment of stream s, at seq. */
static void data(struct vox_tcpreasm *r, struct stream *s, uint32_t seq, const uint8_t *p, size_t n,
                 uint64_t ts_ns)
{
    while (n > 0) {
        int32_t d = (int32_t)(seq - s->next_seq);

        if (d <= 0) {
            size_t old = (size_t)(-(int64_t)d);

            if (old >= n) {
                r->st.retransmitted_bytes += n;
                return;
            }
            r->st.retransmitted_bytes += old;
            in_order(r, s, p + old, n - old, ts_ns);
            pull(r, s, ts_ns, ts_ns);
            return;
        }
        if (s->ooo_bytes + n <= r->cfg.max_msg_bytes && s->ooo_count < MAX_OOO_PIECES &&
            make_room(r, s, n)) {
            out_of_order(r, s, seq, p, n, ts_ns);
            return;
        }
        /* over the stream's out-of-order cap: give up the first gap and look again */
        if (s->ooo) {
            skip_gap(r, s, ts_ns, ts_ns);
            continue;
        }
        r->st.gaps_skipped++;
        r->st.gap_bytes += (uint32_t)d;
        drop_partial(r, s);
        s->syncing = true;
        s->line_start = true;
        s->next_seq = seq;
    }
}

/* Frees s when it has reached its FIN. Returns true when it did. */
static bool fin_close(struct vox_tcpreasm *r, struct stream *s)
{
    if (!s->fin || (int32_t)(s->next_seq - s->fin_seq) < 0)
        return false;
    free_stream(r, s);
    r->st.streams_closed++;
    return true;
}

/* ---- public ------------------------------------------------------------------------------ */

int vox_tcpreasm_create(const struct vox_tcpreasm_config *cfg, struct vox_tcpreasm **out,
                        struct vox_diag *diag)
{
    struct vox_tcpreasm_config c;
    struct vox_tcpreasm *r = NULL;
    size_t nb = 1;

    if (!out || !cfg || !cfg->on_msg) {
        vox_diag_set(diag, "tcpreasm: NULL %s",
                     !out   ? "output pointer"
                     : !cfg ? "config"
                            : "on_msg callback");
        return VOX_EINVAL;
    }
    *out = NULL;
    c = *cfg;
    c.max_streams = c.max_streams ? c.max_streams : DEF_MAX_STREAMS;
    c.max_msg_bytes = c.max_msg_bytes ? c.max_msg_bytes : VOX_SIP_MAX_MSG_BYTES;
    c.max_bytes = c.max_bytes ? c.max_bytes : DEF_MAX_BYTES;
    c.timeout_ns = c.timeout_ns ? c.timeout_ns : DEF_TIMEOUT_NS;
    c.gap_timeout_ns = c.gap_timeout_ns ? c.gap_timeout_ns : DEF_GAP_TIMEOUT_NS;
    if (c.gap_timeout_ns > c.timeout_ns)
        c.gap_timeout_ns = c.timeout_ns;
    if (c.max_msg_bytes < MIN_MSG_BYTES || c.max_msg_bytes > VOX_SIP_MAX_MSG_BYTES ||
        c.max_bytes / 2 < c.max_msg_bytes || c.max_streams > (1u << 24)) {
        vox_diag_set(diag,
                     "tcpreasm: max_msg_bytes %zu (%u..%u), max_bytes %zu (at least twice "
                     "that) or max_streams %u (1..%u) out of range",
                     c.max_msg_bytes, MIN_MSG_BYTES, (unsigned)VOX_SIP_MAX_MSG_BYTES, c.max_bytes,
                     c.max_streams, 1u << 24);
        return VOX_EINVAL;
    }
    if (!c.alloc)
        c.alloc = vox_allocator_default();
    while (nb < c.max_streams)
        nb <<= 1;
    r = c.alloc ? vox_alloc(c.alloc, sizeof(*r)) : NULL;
    if (!r)
        goto nomem;
    memset(r, 0, sizeof(*r));
    r->cfg = c;
    r->mask = nb - 1;
    r->buckets = vox_alloc_array(c.alloc, nb, sizeof(*r->buckets));
    if (!r->buckets)
        goto nomem;
    memset(r->buckets, 0, nb * sizeof(*r->buckets));
    *out = r;
    return 0;
nomem:
    if (r)
        vox_free(c.alloc, r, sizeof(*r));
    vox_diag_set(diag, "tcpreasm: out of memory for a table of %zu streams", nb);
    return VOX_ENOMEM;
}

void vox_tcpreasm_destroy(struct vox_tcpreasm *r)
{
    if (!r)
        return;
    while (r->lru_head)
        free_stream(r, r->lru_head);
    vox_free(r->cfg.alloc, r->buckets, (r->mask + 1) * sizeof(*r->buckets));
    vox_free(r->cfg.alloc, r, sizeof(*r));
}

void vox_tcpreasm_stats(const struct vox_tcpreasm *r, struct vox_tcpreasm_stats *out)
{
    if (r && out)
        *out = r->st;
}

size_t vox_tcpreasm_expire(struct vox_tcpreasm *r, uint64_t now_ns)
{
    struct stream *s;
    size_t n = 0;

    if (!r)
        return 0;
    /* each round empties the head's list or restarts its wait at now: the loop ends */
    while ((s = r->gap_head) && now_ns > s->gap_ns && now_ns - s->gap_ns > r->cfg.gap_timeout_ns) {
        skip_gap(r, s, 0, now_ns);
        if (fin_close(r, s))
            n++;
    }
    while ((s = r->lru_head) && now_ns > s->last_ns && now_ns - s->last_ns > r->cfg.timeout_ns) {
        free_stream(r, s);
        r->st.streams_timed_out++;
        n++;
    }
    return n;
}

int vox_tcpreasm_segment(struct vox_tcpreasm *r, const struct vox_cap_tuple *t, uint32_t seq,
                         uint8_t tcp_flags, const uint8_t *payload, size_t len_bytes,
                         uint64_t ts_ns)
{
    struct stream *s;
    uint64_t h;

    if (!r || !t || (!payload && len_bytes))
        return VOX_EINVAL;
    r->nomem = false;
    r->st.segments++;
    r->st.bytes += len_bytes;
    vox_tcpreasm_expire(r, ts_ns);
    h = vox_cap_tuple_hash(t);
    s = lookup(r, t, h);
    if (tcp_flags & VOX_CAP_TCP_RST) {
        /* RFC 9293 §3.10.7: the connection is gone, both ways; data on a RST is not data */
        struct vox_cap_tuple rev = vox_cap_tuple_reverse(t);
        struct stream *o = lookup(r, &rev, vox_cap_tuple_hash(&rev));

        discard(r, len_bytes);
        if (s) {
            free_stream(r, s);
            r->st.streams_closed++;
        }
        if (o) {
            free_stream(r, o);
            r->st.streams_closed++;
        }
        return 0;
    }
    if (tcp_flags & VOX_CAP_TCP_SYN) {
        if (s && !(s->have_isn && s->isn == seq) &&
            !(!s->have_isn && s->next_seq - (seq + 1) < LATE_SYN_WINDOW)) {
            /* a new connection on the same ports */
            free_stream(r, s);
            r->st.streams_closed++;
            s = NULL;
        }
        if (!s) {
            s = new_stream(r, t, h);
            if (s)
                s->next_seq = seq + 1;
        }
        if (s) {
            s->isn = seq;
            s->have_isn = true;
        }
        seq++; /* the SYN takes one sequence number; data follows it */
    } else if (!s) {
        if (len_bytes == 0 || (tcp_flags & VOX_CAP_TCP_FIN)) {
            discard(r, len_bytes);
            return 0;
        }
        /* first seen mid-connection: start here, at the next start line */
        s = new_stream(r, t, h);
        if (s) {
            s->next_seq = seq;
            s->syncing = true;
        }
    }
    if (!s) {
        discard(r, len_bytes);
        return VOX_ENOMEM;
    }
    s->last_ns = ts_ns;
    lru_unlink(r, s);
    lru_append(r, s);
    if (tcp_flags & VOX_CAP_TCP_FIN) {
        s->fin = true;
        s->fin_seq = seq + (uint32_t)len_bytes;
    }
    data(r, s, seq, payload, len_bytes, ts_ns);
    fin_close(r, s);
    return r->nomem ? VOX_ENOMEM : 0;
}
