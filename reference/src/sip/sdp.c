/* SPDX-License-Identifier: MIT */
/* SDP (RFC 4566) parser into views, order/presence validator, recording-server answer writer. */
#include "vox/sdp.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static struct vox_str mkstr(const char *p, size_t len)
{
    struct vox_str s = {len ? p : NULL, len};

    return s;
}

static int is_digit(unsigned char c)
{
    return (unsigned)(c - '0') < 10u;
}

static int parse_u64(struct vox_str s, unsigned max_digits, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (!s.len || s.len > max_digits)
        return -1;
    for (i = 0; i < s.len; i++) {
        if (!is_digit((unsigned char)s.p[i]))
            return -1;
        v = v * 10 + (unsigned)(s.p[i] - '0');
    }
    *out = v;
    return 0;
}

static int parse_uns(struct vox_str s, unsigned max_digits, unsigned max, unsigned *out)
{
    uint64_t v;

    if (max_digits > 9 || parse_u64(s, max_digits, &v) < 0 || v > max)
        return -1;
    *out = (unsigned)v;
    return 0;
}

/* Splits on runs of SP into at most max fields; the last field takes the rest of the line.
 * Returns the number of fields. */
static size_t split_sp(struct vox_str s, struct vox_str *f, size_t max)
{
    size_t n = 0, i = 0;

    while (i < s.len && n < max) {
        size_t start;

        while (i < s.len && s.p[i] == ' ')
            i++;
        if (i >= s.len)
            break;
        start = i;
        if (n == max - 1) {
            size_t end = s.len;

            while (end > start && s.p[end - 1] == ' ')
                end--;
            f[n++] = mkstr(s.p + start, end - start);
            break;
        }
        while (i < s.len && s.p[i] != ' ')
            i++;
        f[n++] = mkstr(s.p + start, i - start);
    }
    return n;
}

static int err_line(struct vox_diag *diag, int rc, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int err_line(struct vox_diag *diag, int rc, unsigned line, const char *fmt, ...)
{
    va_list ap;
    int n = 0;

    if (!diag)
        return rc;
    if (line)
        n = snprintf(diag->text, sizeof(diag->text), "line %u: ", line);
    if (n < 0)
        n = 0;
    va_start(ap, fmt);
    vsnprintf(diag->text + n, sizeof(diag->text) - (size_t)n, fmt, ap);
    va_end(ap);
    return rc;
}

#define SHOW(s) (int)((s).len > 40 ? 40 : (s).len), ((s).p ? (s).p : "")

const char *vox_sdp_dir_name(enum vox_sdp_dir dir)
{
    switch (dir) {
    case VOX_SDP_DIR_SENDRECV:
        return "sendrecv";
    case VOX_SDP_DIR_SENDONLY:
        return "sendonly";
    case VOX_SDP_DIR_RECVONLY:
        return "recvonly";
    case VOX_SDP_DIR_INACTIVE:
        return "inactive";
    default:
        return "";
    }
}

static enum vox_sdp_dir dir_of(struct vox_str name)
{
    if (vox_str_eq(name, "sendrecv"))
        return VOX_SDP_DIR_SENDRECV;
    if (vox_str_eq(name, "sendonly"))
        return VOX_SDP_DIR_SENDONLY;
    if (vox_str_eq(name, "recvonly"))
        return VOX_SDP_DIR_RECVONLY;
    if (vox_str_eq(name, "inactive"))
        return VOX_SDP_DIR_INACTIVE;
    return VOX_SDP_DIR_UNSET;
}

/* Walks the lines of an SDP: returns 1 with the line (without its break) in *l, 0 at the end,
 * VOX_EMALFORMED on a NUL or bare CR (*bad = its offset). */
struct lines {
    const char *p;
    size_t len, pos;
    unsigned no;
    int lf_only;
};

static int next_line(struct lines *w, struct vox_str *l, size_t *bad)
{
    size_t i = w->pos, start = w->pos;

    if (i >= w->len)
        return 0;
    while (i < w->len) {
        unsigned char c = (unsigned char)w->p[i];

        if (c <= '\r' && (c == '\r' || c == '\n' || c == 0))
            break;
        i++;
    }
    w->no++;
    *l = mkstr(w->p + start, i - start);
    if (i >= w->len) {
        w->pos = i;
        return 1;
    }
    if (w->p[i] == 0 || (w->p[i] == '\r' && (i + 1 >= w->len || w->p[i + 1] != '\n'))) {
        *bad = i;
        return VOX_EMALFORMED;
    }
    if (w->p[i] == '\n')
        w->lf_only = 1;
    w->pos = i + (w->p[i] == '\r' ? 2 : 1);
    return 1;
}

static int parse_conn(struct vox_str v, struct vox_sdp_conn *c, unsigned line,
                      struct vox_diag *diag)
{
    struct vox_str f[3];
    size_t i;

    if (split_sp(v, f, 3) != 3 || memchr(f[2].p, ' ', f[2].len))
        return err_line(diag, VOX_EMALFORMED, line,
                        "c=: expected '<nettype> <addrtype> <address>', got '%.*s'", SHOW(v));
    c->present = 1;
    c->nettype = f[0];
    c->addrtype = f[1];
    c->line = line;
    for (i = 0; i < f[2].len && f[2].p[i] != '/'; i++)
        ;
    c->address = mkstr(f[2].p, i);
    c->suffix = i < f[2].len ? mkstr(f[2].p + i + 1, f[2].len - i - 1) : mkstr(NULL, 0);
    if (!c->address.len)
        return err_line(diag, VOX_EMALFORMED, line, "c=: empty connection address");
    return 0;
}

static int parse_media(struct vox_str v, struct vox_sdp_media *m, unsigned line,
                       struct vox_diag *diag)
{
    struct vox_str f[4], port, rest;
    size_t i, slash;
    int rtp;

    memset(m, 0, sizeof(*m));
    m->line = line;
    if (split_sp(v, f, 4) != 4)
        return err_line(diag, VOX_EMALFORMED, line,
                        "m=: expected '<media> <port> <proto> <fmt> ...', got '%.*s'", SHOW(v));
    m->type = f[0];
    for (slash = 0; slash < f[1].len && f[1].p[slash] != '/'; slash++)
        ;
    port = mkstr(f[1].p, slash);
    if (parse_uns(port, 5, 65535, &m->port) < 0)
        return err_line(diag, VOX_EMALFORMED, line, "m=: port '%.*s' is not a number 0..65535",
                        SHOW(f[1]));
    m->port_count = 1;
    if (slash < f[1].len &&
        (parse_uns(mkstr(f[1].p + slash + 1, f[1].len - slash - 1), 5, 65535, &m->port_count) < 0 ||
         m->port_count == 0))
        return err_line(diag, VOX_EMALFORMED, line, "m=: port count in '%.*s' is not 1..65535",
                        SHOW(f[1]));
    m->proto = f[2];
    rtp = m->proto.len >= 3 && memmem(m->proto.p, m->proto.len, "RTP", 3) != NULL;
    rest = f[3];
    i = 0;
    while (i < rest.len) {
        struct vox_sdp_fmt *fm;
        size_t start;
        unsigned pt;

        while (i < rest.len && rest.p[i] == ' ')
            i++;
        if (i >= rest.len)
            break;
        start = i;
        while (i < rest.len && rest.p[i] != ' ')
            i++;
        if (m->nfmts >= VOX_SDP_MAX_FMTS)
            return err_line(diag, VOX_ELIMIT, line, "m=: more than %d formats", VOX_SDP_MAX_FMTS);
        fm = &m->fmts[m->nfmts++];
        fm->fmt = mkstr(rest.p + start, i - start);
        fm->pt = -1;
        fm->channels = 1;
        if (rtp) {
            if (parse_uns(fm->fmt, 3, 127, &pt) < 0)
                return err_line(diag, VOX_EMALFORMED, line,
                                "m=: RTP format '%.*s' is not a payload type 0..127",
                                SHOW(fm->fmt));
            fm->pt = (int)pt;
        }
    }
    if (!m->nfmts)
        return err_line(diag, VOX_EMALFORMED, line, "m=: no format listed");
    return 0;
}

/* a=rtpmap:<pt> <encoding>/<clock>[/<channels>] (RFC 4566 §6) */
static int parse_rtpmap(struct vox_str v, struct vox_sdp_media *m, unsigned line,
                        struct vox_diag *diag)
{
    struct vox_str f[2], enc, clock, ch = {NULL, 0};
    unsigned pt, clock_hz, channels = 1;
    size_t i, s1, s2;

    if (split_sp(v, f, 2) != 2 || parse_uns(f[0], 3, 127, &pt) < 0)
        return err_line(diag, VOX_EMALFORMED, line,
                        "a=rtpmap: expected '<payload type> <encoding>/<clock>', got '%.*s'",
                        SHOW(v));
    for (s1 = 0; s1 < f[1].len && f[1].p[s1] != '/'; s1++)
        ;
    for (s2 = s1 + 1; s2 < f[1].len && f[1].p[s2] != '/'; s2++)
        ;
    enc = mkstr(f[1].p, s1);
    if (s1 >= f[1].len || !enc.len)
        return err_line(diag, VOX_EMALFORMED, line, "a=rtpmap: '%.*s' lacks '<encoding>/<clock>'",
                        SHOW(f[1]));
    clock = mkstr(f[1].p + s1 + 1, (s2 < f[1].len ? s2 : f[1].len) - s1 - 1);
    if (s2 < f[1].len)
        ch = mkstr(f[1].p + s2 + 1, f[1].len - s2 - 1);
    if (parse_uns(clock, 9, 999999999, &clock_hz) < 0 || clock_hz == 0 ||
        (s2 < f[1].len && (parse_uns(ch, 3, 255, &channels) < 0 || channels == 0)))
        return err_line(diag, VOX_EMALFORMED, line,
                        "a=rtpmap: clock rate or channels in '%.*s' is not a positive number",
                        SHOW(f[1]));
    for (i = 0; i < m->nfmts; i++) {
        struct vox_sdp_fmt *fm = &m->fmts[i];

        if (fm->pt == (int)pt) {
            fm->has_rtpmap = 1;
            fm->encoding = enc;
            fm->clock_hz = clock_hz;
            fm->channels = channels;
        }
    }
    return 0;
}

static void parse_fmtp(struct vox_str v, struct vox_sdp_media *m)
{
    struct vox_str f[2];
    size_t i, n = split_sp(v, f, 2);

    if (n < 1)
        return;
    for (i = 0; i < m->nfmts; i++)
        if (m->fmts[i].fmt.len == f[0].len && memcmp(m->fmts[i].fmt.p, f[0].p, f[0].len) == 0)
            m->fmts[i].fmtp = n == 2 ? f[1] : mkstr(NULL, 0);
}

static int parse_attr(struct vox_sdp *sdp, struct vox_str v, unsigned line, struct vox_diag *diag)
{
    struct vox_sdp_media *m = sdp->nmedia ? &sdp->media[sdp->nmedia - 1] : NULL;
    struct vox_sdp_attr *a;
    enum vox_sdp_dir d;
    size_t i;

    if (sdp->nattrs >= VOX_SDP_MAX_ATTRS)
        return err_line(diag, VOX_ELIMIT, line, "more than %d a= lines", VOX_SDP_MAX_ATTRS);
    for (i = 0; i < v.len && v.p[i] != ':'; i++)
        ;
    if (i == 0)
        return err_line(diag, VOX_EMALFORMED, line, "a=: empty attribute name");
    a = &sdp->attrs[sdp->nattrs++];
    a->name = mkstr(v.p, i);
    a->has_value = i < v.len;
    a->value = a->has_value ? mkstr(v.p + i + 1, v.len - i - 1) : mkstr(NULL, 0);
    a->line = line;
    if (m)
        m->nattrs++;
    else
        sdp->session_nattrs++;
    d = a->has_value ? VOX_SDP_DIR_UNSET : dir_of(a->name);
    if (d != VOX_SDP_DIR_UNSET) {
        if (m)
            m->dir = d;
        else
            sdp->dir = d;
        return 0;
    }
    if (!m)
        return 0;
    if (vox_str_eq(a->name, "rtpmap"))
        return parse_rtpmap(a->value, m, line, diag);
    if (vox_str_eq(a->name, "fmtp"))
        parse_fmtp(a->value, m);
    else if (vox_str_eq(a->name, "label"))
        m->label = a->value;
    else if (vox_str_eq(a->name, "mid"))
        m->mid = a->value;
    else if (vox_str_eq(a->name, "content"))
        m->content = a->value;
    else if (vox_str_eq(a->name, "rtcp"))
        m->rtcp = a->value;
    else if (vox_str_eq(a->name, "ptime")) {
        struct vox_str pv = a->value;
        size_t j;

        /* some clients write "20.0": the integer part is what counts */
        for (j = 0; j < pv.len && pv.p[j] != '.'; j++)
            ;
        if (parse_uns(mkstr(pv.p, j), 5, 65535, &m->ptime_ms) < 0)
            return err_line(diag, VOX_EMALFORMED, line, "a=ptime: '%.*s' is not milliseconds",
                            SHOW(pv));
    }
    return 0;
}

int vox_sdp_parse(const char *buf, size_t len, struct vox_sdp *sdp, struct vox_diag *diag)
{
    struct lines w = {buf, len, 0, 0, 0};
    struct vox_str l;
    size_t bad = 0;
    int rc, have_t = 0;

    if (!buf || !sdp)
        return VOX_EINVAL;
    sdp->raw = mkstr(buf, len);
    sdp->version = 0;
    memset(&sdp->origin, 0, sizeof(sdp->origin));
    sdp->session_name = mkstr(NULL, 0);
    memset(&sdp->conn, 0, sizeof(sdp->conn));
    sdp->t_start = sdp->t_stop = 0;
    sdp->dir = VOX_SDP_DIR_UNSET;
    sdp->nattrs = sdp->session_nattrs = sdp->nmedia = 0;
    sdp->lines = 0;
    sdp->lf_only = 0;
    sdp->seen = 0;
    while ((rc = next_line(&w, &l, &bad)) != 0) {
        struct vox_str v;
        unsigned char type;

        sdp->lines = w.no;
        if (rc < 0)
            return err_line(diag, rc, w.no, "%s (offset %zu)",
                            buf[bad] ? "bare CR (not followed by LF)" : "NUL byte", bad);
        if (!l.len)
            continue;
        type = (unsigned char)l.p[0];
        if (l.len < 2 || type < 'a' || type > 'z' || l.p[1] != '=')
            return err_line(diag, VOX_EMALFORMED, w.no,
                            "expected '<letter>=<value>' (RFC 4566 §5), got '%.*s'", SHOW(l));
        sdp->seen |= 1u << (type - 'a');
        v = mkstr(l.p + 2, l.len - 2);
        switch (type) {
        case 'v':
            if (parse_uns(v, 3, 999, &sdp->version) < 0 || sdp->version != 0)
                return err_line(diag, VOX_EMALFORMED, w.no, "v=: version '%.*s' is not 0", SHOW(v));
            break;
        case 'o': {
            struct vox_str f[6];

            if (split_sp(v, f, 6) != 6 || memchr(f[5].p, ' ', f[5].len))
                return err_line(diag, VOX_EMALFORMED, w.no,
                                "o=: expected '<username> <sess-id> <sess-version> <nettype> "
                                "<addrtype> <address>', got '%.*s'",
                                SHOW(v));
            sdp->origin.username = f[0];
            sdp->origin.sess_id = f[1];
            sdp->origin.sess_version = f[2];
            sdp->origin.nettype = f[3];
            sdp->origin.addrtype = f[4];
            sdp->origin.address = f[5];
            break;
        }
        case 's':
            sdp->session_name = v;
            break;
        case 'c':
            rc = parse_conn(v, sdp->nmedia ? &sdp->media[sdp->nmedia - 1].conn : &sdp->conn, w.no,
                            diag);
            if (rc)
                return rc;
            break;
        case 't': {
            struct vox_str f[3];
            uint64_t a, b;

            if (split_sp(v, f, 3) != 2 || parse_u64(f[0], 19, &a) < 0 ||
                parse_u64(f[1], 19, &b) < 0)
                return err_line(diag, VOX_EMALFORMED, w.no,
                                "t=: expected '<start-time> <stop-time>', got '%.*s'", SHOW(v));
            if (!have_t) {
                sdp->t_start = a;
                sdp->t_stop = b;
                have_t = 1;
            }
            break;
        }
        case 'm':
            if (sdp->nmedia >= VOX_SDP_MAX_MEDIA)
                return err_line(diag, VOX_ELIMIT, w.no, "more than %d m= lines", VOX_SDP_MAX_MEDIA);
            rc = parse_media(v, &sdp->media[sdp->nmedia], w.no, diag);
            sdp->media[sdp->nmedia].attr_first = sdp->nattrs;
            sdp->nmedia++;
            if (rc)
                return rc;
            break;
        case 'a':
            rc = parse_attr(sdp, v, w.no, diag);
            if (rc)
                return rc;
            break;
        default:
            break; /* i u e p b r z k and unknown letters: validate judges them */
        }
    }
    sdp->lf_only = (unsigned)w.lf_only;
    return 0;
}

/* ---- validation ------------------------------------------------------------------------------ */

/* Session-level order (RFC 4566 §5): rank of each letter, -1 when not allowed there. */
static int session_rank(unsigned char c)
{
    switch (c) {
    case 'v':
        return 0;
    case 'o':
        return 1;
    case 's':
        return 2;
    case 'i':
        return 3;
    case 'u':
        return 4;
    case 'e':
        return 5;
    case 'p':
        return 6;
    case 'c':
        return 7;
    case 'b':
        return 8;
    case 't':
        return 9;
    case 'r':
        return 9;
    case 'z':
        return 10;
    case 'k':
        return 11;
    case 'a':
        return 12;
    case 'm':
        return 13;
    default:
        return -1;
    }
}

static int media_rank(unsigned char c)
{
    switch (c) {
    case 'm':
        return 0;
    case 'i':
        return 1;
    case 'c':
        return 2;
    case 'b':
        return 3;
    case 'k':
        return 4;
    case 'a':
        return 5;
    default:
        return -1;
    }
}

static const char *rfc_section(unsigned char c)
{
    switch (c) {
    case 'v':
        return "§5.1";
    case 'o':
        return "§5.2";
    case 's':
        return "§5.3";
    case 't':
        return "§5.9";
    case 'c':
        return "§5.7";
    default:
        return "§5";
    }
}

int vox_sdp_validate(const struct vox_sdp *sdp, struct vox_diag *diag)
{
    struct lines w;
    struct vox_str l;
    size_t bad, media = 0;
    unsigned once = 0; /* letters seen in the current level that may appear once */
    int rank = -1, in_media = 0, first = 1, rc;
    unsigned char prev = 0;

    if (!sdp)
        return VOX_EINVAL;
    w.p = sdp->raw.p;
    w.len = sdp->raw.len;
    w.pos = 0;
    w.no = 0;
    w.lf_only = 0;
    while ((rc = next_line(&w, &l, &bad)) != 0) {
        unsigned char c;
        int r;

        if (rc < 0)
            return err_line(diag, rc, w.no, "NUL byte or bare CR");
        if (!l.len)
            continue;
        if (l.len < 2 || l.p[1] != '=' || l.p[0] < 'a' || l.p[0] > 'z')
            return err_line(diag, VOX_EMALFORMED, w.no, "not a '<letter>=' line");
        c = (unsigned char)l.p[0];
        if (first && c != 'v')
            return err_line(diag, VOX_EMALFORMED, w.no,
                            "the first line must be 'v=' (RFC 4566 §5.1), got '%c='", c);
        first = 0;
        if (c == 'm') {
            if (!in_media) {
                if (!(sdp->seen & (1u << ('o' - 'a'))))
                    return err_line(diag, VOX_EMALFORMED, 0, "missing 'o=' line (RFC 4566 §5.2)");
                if (!(sdp->seen & (1u << ('s' - 'a'))))
                    return err_line(diag, VOX_EMALFORMED, 0, "missing 's=' line (RFC 4566 §5.3)");
                if (!(sdp->seen & (1u << ('t' - 'a'))) || rank < 9)
                    return err_line(diag, VOX_EMALFORMED, w.no,
                                    "missing 't=' line before the first 'm=' (RFC 4566 §5.9)");
            }
            if (media < sdp->nmedia && !sdp->conn.present && !sdp->media[media].conn.present)
                return err_line(diag, VOX_EMALFORMED, w.no,
                                "no 'c=' at session level nor in this media description "
                                "(RFC 4566 §5.7)");
            in_media = 1;
            media++;
            rank = 0;
            once = 0;
            prev = c;
            continue;
        }
        r = in_media ? media_rank(c) : session_rank(c);
        if (r < 0)
            return err_line(diag, VOX_EMALFORMED, w.no, "'%c=' is %s", c,
                            session_rank(c) < 0 ? "not an SDP line type (RFC 4566 §5)"
                                                : "not allowed in a media description");
        if (r < rank)
            return err_line(diag, VOX_EMALFORMED, w.no,
                            "'%c=' after '%c=' is out of order (RFC "
                            "4566 %s)",
                            c, prev, rfc_section(c));
        if (c == 'r' && prev != 't' && prev != 'r')
            return err_line(diag, VOX_EMALFORMED, w.no, "'r=' must follow 't=' (RFC 4566 §5.10)");
        if (c == 'v' || c == 'o' || c == 's' || c == 'i' || c == 'u' || c == 'z' || c == 'k' ||
            (c == 'c' && !in_media)) {
            if (once & (1u << (c - 'a')))
                return err_line(diag, VOX_EMALFORMED, w.no, "more than one '%c=' line%s", c,
                                in_media ? " in this media description" : "");
            once |= 1u << (c - 'a');
        }
        rank = r;
        prev = c;
    }
    if (first)
        return err_line(diag, VOX_EMALFORMED, 0, "empty description (no 'v=' line)");
    if (!in_media) {
        if (!(sdp->seen & (1u << ('o' - 'a'))))
            return err_line(diag, VOX_EMALFORMED, 0, "missing 'o=' line (RFC 4566 §5.2)");
        if (!(sdp->seen & (1u << ('s' - 'a'))))
            return err_line(diag, VOX_EMALFORMED, 0, "missing 's=' line (RFC 4566 §5.3)");
        if (!(sdp->seen & (1u << ('t' - 'a'))))
            return err_line(diag, VOX_EMALFORMED, 0, "missing 't=' line (RFC 4566 §5.9)");
    }
    return 0;
}

enum vox_sdp_dir vox_sdp_media_dir(const struct vox_sdp *sdp, size_t i)
{
    if (i < sdp->nmedia && sdp->media[i].dir != VOX_SDP_DIR_UNSET)
        return sdp->media[i].dir;
    if (sdp->dir != VOX_SDP_DIR_UNSET)
        return sdp->dir;
    return VOX_SDP_DIR_SENDRECV;
}

const struct vox_sdp_conn *vox_sdp_media_conn(const struct vox_sdp *sdp, size_t i)
{
    if (i < sdp->nmedia && sdp->media[i].conn.present)
        return &sdp->media[i].conn;
    return sdp->conn.present ? &sdp->conn : NULL;
}

int vox_sdp_attr_get(const struct vox_sdp *sdp, int media, const char *name, struct vox_str *value)
{
    size_t i, first, n;

    if (media < 0) {
        first = 0;
        n = sdp->session_nattrs;
    } else if ((size_t)media < sdp->nmedia) {
        first = sdp->media[media].attr_first;
        n = sdp->media[media].nattrs;
    } else {
        return 0;
    }
    for (i = first; i < first + n; i++)
        if (vox_str_eq(sdp->attrs[i].name, name)) {
            if (value)
                *value = sdp->attrs[i].value;
            return 1;
        }
    return 0;
}

/* ---- answer writer --------------------------------------------------------------------------- */

struct out {
    char *p;
    size_t cap, len;
    int full;
};

static void outf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void outf(struct out *o, const char *fmt, ...)
{
    size_t room = o->cap - o->len;
    va_list ap;
    int n;

    if (o->full)
        return;
    va_start(ap, fmt);
    n = vsnprintf(o->p ? o->p + o->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= room) {
        o->full = 1;
        o->len = o->cap;
        return;
    }
    o->len += (size_t)n;
}

/* The encoding name and clock of a format: from its rtpmap, or the static table of RFC 3551
 * for the payload types that need none. 0 when unknown. */
static int fmt_codec(const struct vox_sdp_fmt *f, struct vox_str *name, unsigned *clock)
{
    static const struct {
        int pt;
        const char *name;
    } statics[] = {{0, "PCMU"}, {3, "GSM"}, {4, "G723"}, {8, "PCMA"}, {9, "G722"}, {18, "G729"}};
    size_t i;

    if (f->has_rtpmap) {
        *name = f->encoding;
        *clock = f->clock_hz;
        return 1;
    }
    for (i = 0; i < sizeof(statics) / sizeof(statics[0]); i++)
        if (f->pt == statics[i].pt) {
            *name = vox_str_c(statics[i].name);
            *clock = 8000;
            return 1;
        }
    return 0;
}

static int is_te(struct vox_str name)
{
    return vox_str_ieq(name, "telephone-event");
}

static int listed(const char *const *codecs, size_t n, struct vox_str name)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (vox_str_ieq(name, codecs[i]))
            return 1;
    return 0;
}

static const struct vox_sdp_fmt *choose_voice(const struct vox_sdp_media *m,
                                              const char *const *codecs, size_t n, int offer_order)
{
    struct vox_str name;
    unsigned clock;
    size_t i, j;

    if (offer_order) {
        for (j = 0; j < m->nfmts; j++)
            if (fmt_codec(&m->fmts[j], &name, &clock) && !is_te(name) && listed(codecs, n, name))
                return &m->fmts[j];
        return NULL;
    }
    for (i = 0; i < n; i++) {
        if (is_te(vox_str_c(codecs[i])))
            continue;
        for (j = 0; j < m->nfmts; j++)
            if (fmt_codec(&m->fmts[j], &name, &clock) && vox_str_ieq(name, codecs[i]))
                return &m->fmts[j];
    }
    return NULL;
}

static int safe(const char *s)
{
    return s && *s && !strpbrk(s, "\r\n ");
}

static void put_fmt_lines(struct out *o, const struct vox_sdp_fmt *f)
{
    struct vox_str name;
    unsigned clock;

    if (fmt_codec(f, &name, &clock)) {
        if (f->channels > 1)
            outf(o, "a=rtpmap:%d %.*s/%u/%u\r\n", f->pt, (int)name.len, name.p, clock, f->channels);
        else
            outf(o, "a=rtpmap:%d %.*s/%u\r\n", f->pt, (int)name.len, name.p, clock);
    }
    if (f->fmtp.len)
        outf(o, "a=fmtp:%.*s %.*s\r\n", (int)f->fmt.len, f->fmt.p, (int)f->fmtp.len, f->fmtp.p);
}

int vox_sdp_answer(const struct vox_sdp *offer, const struct vox_sdp_answer_config *cfg, char *buf,
                   size_t cap, size_t *out_len, struct vox_diag *diag)
{
    static const char *const default_codecs[] = {"PCMU", "PCMA", "opus", "telephone-event"};
    struct out o = {buf, cap, 0, 0};
    const char *const *codecs;
    const char *ip;
    size_t ncodecs, i;

    if (out_len)
        *out_len = 0;
    if (!offer || !cfg || (!buf && cap) || !safe(cfg->address))
        return err_line(diag, VOX_EINVAL, 0,
                        "answer needs an offer and an address without "
                        "spaces or line breaks");
    if (cfg->nports != offer->nmedia || (cfg->nports && !cfg->ports))
        return err_line(diag, VOX_EINVAL, 0, "%zu ports given for %zu offered m= lines",
                        cfg->nports, offer->nmedia);
    if ((cfg->username && !safe(cfg->username)) ||
        (cfg->session_name && strpbrk(cfg->session_name, "\r\n")))
        return err_line(diag, VOX_EINVAL, 0, "username or session name has a line break");
    codecs = cfg->codecs ? cfg->codecs : default_codecs;
    ncodecs = cfg->codecs ? cfg->ncodecs : sizeof(default_codecs) / sizeof(default_codecs[0]);
    for (i = 0; i < ncodecs; i++)
        if (!safe(codecs[i]))
            return err_line(diag, VOX_EINVAL, 0, "codec name %zu is empty or has spaces", i);
    ip = strchr(cfg->address, ':') ? "IP6" : "IP4";

    outf(&o, "v=0\r\n");
    outf(&o, "o=%s %llu %llu IN %s %s\r\n", cfg->username ? cfg->username : "-",
         (unsigned long long)cfg->sess_id, (unsigned long long)cfg->sess_version, ip, cfg->address);
    outf(&o, "s=%s\r\n", cfg->session_name && *cfg->session_name ? cfg->session_name : "-");
    outf(&o, "c=IN %s %s\r\n", ip, cfg->address);
    outf(&o, "t=0 0\r\n");
    for (i = 0; i < offer->nmedia; i++) {
        const struct vox_sdp_media *m = &offer->media[i];
        const struct vox_sdp_fmt *voice = NULL, *te = NULL;
        enum vox_sdp_dir od = vox_sdp_media_dir(offer, i);
        int reject = m->port == 0 || cfg->ports[i] == 0 || cfg->ports[i] > 65535 ||
                     !vox_str_ieq(m->type, "audio") ||
                     !(vox_str_eq(m->proto, "RTP/AVP") || vox_str_eq(m->proto, "RTP/AVPF"));

        if (!reject) {
            voice = choose_voice(m, codecs, ncodecs, cfg->prefer_offer_order);
            reject = voice == NULL;
        }
        if (!reject && listed(codecs, ncodecs, vox_str_c("telephone-event"))) {
            struct vox_str vn;
            unsigned vclock = 0;
            size_t j;

            fmt_codec(voice, &vn, &vclock);
            /* RFC 4733 §7.1.1: events at the clock rate of the voice codec */
            for (j = 0; j < m->nfmts && !te; j++)
                if (m->fmts[j].has_rtpmap && is_te(m->fmts[j].encoding) &&
                    m->fmts[j].clock_hz == vclock)
                    te = &m->fmts[j];
        }
        if (reject) {
            /* RFC 3264 §6: a rejected stream keeps its m= line with port 0 */
            outf(&o, "m=%.*s 0 %.*s %.*s\r\n", (int)m->type.len, m->type.p, (int)m->proto.len,
                 m->proto.p, (int)m->fmts[0].fmt.len, m->fmts[0].fmt.p);
        } else {
            outf(&o, "m=audio %u %.*s %d", cfg->ports[i], (int)m->proto.len, m->proto.p, voice->pt);
            if (te)
                outf(&o, " %d", te->pt);
            outf(&o, "\r\n");
            put_fmt_lines(&o, voice);
            if (te)
                put_fmt_lines(&o, te);
            if (m->ptime_ms)
                outf(&o, "a=ptime:%u\r\n", m->ptime_ms);
        }
        if (m->label.len)
            outf(&o, "a=label:%.*s\r\n", (int)m->label.len, m->label.p);
        if (m->mid.len)
            outf(&o, "a=mid:%.*s\r\n", (int)m->mid.len, m->mid.p);
        if (!reject)
            outf(&o, "a=%s\r\n",
                 od == VOX_SDP_DIR_SENDONLY || od == VOX_SDP_DIR_SENDRECV ? "recvonly"
                                                                          : "inactive");
    }
    if (out_len)
        *out_len = o.len;
    if (o.full)
        return err_line(diag, VOX_ERANGE, 0, "answer does not fit in %zu bytes", cap);
    return 0;
}
