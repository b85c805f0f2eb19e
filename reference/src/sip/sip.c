/* SPDX-License-Identifier: MIT */
/* SIP message tokenizer, header-value parsers (URI, name-addr, Via, CSeq), validator, framer. */
#include "vox/sip.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- characters ------------------------------------------------------------------------------ */

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

static int is_alpha(unsigned char c)
{
    return (unsigned)((c | 0x20) - 'a') < 26u;
}

static int is_digit(unsigned char c)
{
    return (unsigned)(c - '0') < 10u;
}

static int is_alnum(unsigned char c)
{
    return is_alpha(c) || is_digit(c);
}

/* RFC 3261 §25.1 token characters: alphanum and -.!%*_+`'~ */
static const unsigned char token_chars[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 1, 1, 0, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

static int is_token(unsigned char c)
{
    return token_chars[c];
}

static int is_wsp(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* Whitespace inside a header value: SP, HTAB and the line breaks of folds, which the tokenizer
 * only lets through when followed by WSP (RFC 3261 §7.3.1: a fold is equivalent to SP). */
static int is_lws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int mem_ieq(const char *a, const char *b, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return 0;
    return 1;
}

static struct vox_str mkstr(const char *p, size_t len)
{
    struct vox_str s = {p, len};

    return s;
}

static struct vox_str trim(struct vox_str s)
{
    while (s.len && is_lws((unsigned char)s.p[0])) {
        s.p++;
        s.len--;
    }
    while (s.len && is_lws((unsigned char)s.p[s.len - 1]))
        s.len--;
    if (!s.len)
        s.p = NULL;
    return s;
}

struct vox_str vox_str_c(const char *s)
{
    return mkstr(s, s ? strlen(s) : 0);
}

size_t vox_str_copy(char *dst, size_t cap, struct vox_str s)
{
    size_t n = s.len < cap - 1 ? s.len : cap - 1;

    if (n) /* an empty view may have no pointer at all */
        memcpy(dst, s.p, n);
    dst[n] = 0;
    return s.len;
}

int vox_str_eq(struct vox_str s, const char *lit)
{
    size_t n = strlen(lit);

    return s.len == n && (n == 0 || memcmp(s.p, lit, n) == 0);
}

int vox_str_ieq(struct vox_str s, const char *lit)
{
    size_t n = strlen(lit);

    return s.len == n && mem_ieq(s.p, lit, n);
}

/* Parses a non-empty run of decimal digits filling all of s, any number of leading zeros
 * (RFC 4475 §3.1.1.1 "0068"); returns 0, or -1 when not digits or above max. */
static int parse_dec(struct vox_str s, unsigned long long max, unsigned long long *out)
{
    unsigned long long v = 0;
    size_t i;

    if (s.len == 0)
        return -1;
    for (i = 0; i < s.len; i++) {
        if (!is_digit((unsigned char)s.p[i]))
            return -1;
        if (v <= max) /* saturates above max: no overflow */
            v = v * 10 + (unsigned)(s.p[i] - '0');
    }
    if (v > max)
        return -1;
    *out = v;
    return 0;
}

/* ---- header names ---------------------------------------------------------------------------- */

static const char *const hdr_names[VOX_SIP_H__COUNT] = {NULL,
#define VOX__SIP_HDR_NAME(id, name, compact) name,
                                                        VOX_SIP_HEADER_MAP(VOX__SIP_HDR_NAME)
#undef VOX__SIP_HDR_NAME
};

const char *vox_sip_hdr_name(enum vox_sip_hdr id)
{
    if ((int)id <= 0 || id >= VOX_SIP_H__COUNT)
        return NULL;
    return hdr_names[id];
}

/* Candidates by name length and by compact letter, so that a lookup compares at most 5
 * names. Derived from VOX_SIP_HEADER_MAP; the test header_names_and_tokenizer checks that every
 * name and compact form of the map round-trips. */
#define MAX_NAME_LEN 19
static const unsigned char hdr_by_len[MAX_NAME_LEN + 1][5] = {
    [2] = {VOX_SIP_H_TO},
    [3] = {VOX_SIP_H_VIA},
    [4] = {VOX_SIP_H_CSEQ, VOX_SIP_H_FROM},
    [5] = {VOX_SIP_H_ALLOW, VOX_SIP_H_EVENT, VOX_SIP_H_ROUTE},
    [6] = {VOX_SIP_H_ACCEPT, VOX_SIP_H_SERVER},
    [7] = {VOX_SIP_H_CALL_ID, VOX_SIP_H_CONTACT, VOX_SIP_H_EXPIRES, VOX_SIP_H_REQUIRE,
           VOX_SIP_H_SUBJECT},
    [8] = {VOX_SIP_H_IDENTITY, VOX_SIP_H_REFER_TO},
    [9] = {VOX_SIP_H_SUPPORTED, VOX_SIP_H_TIMESTAMP},
    [10] = {VOX_SIP_H_CONTENT_ID, VOX_SIP_H_USER_AGENT},
    [11] = {VOX_SIP_H_REFERRED_BY, VOX_SIP_H_UNSUPPORTED},
    [12] = {VOX_SIP_H_ALLOW_EVENTS, VOX_SIP_H_CONTENT_TYPE, VOX_SIP_H_MAX_FORWARDS,
            VOX_SIP_H_MIME_VERSION, VOX_SIP_H_RECORD_ROUTE},
    [13] = {VOX_SIP_H_AUTHORIZATION, VOX_SIP_H_PROXY_REQUIRE},
    [14] = {VOX_SIP_H_ACCEPT_CONTACT, VOX_SIP_H_CONTENT_LENGTH, VOX_SIP_H_REJECT_CONTACT},
    [15] = {VOX_SIP_H_SESSION_EXPIRES},
    [16] = {VOX_SIP_H_CONTENT_ENCODING},
    [19] = {VOX_SIP_H_CONTENT_DISPOSITION, VOX_SIP_H_REQUEST_DISPOSITION},
};

static const unsigned char hdr_by_compact[26] = {
    ['a' - 'a'] = VOX_SIP_H_ACCEPT_CONTACT,
    ['b' - 'a'] = VOX_SIP_H_REFERRED_BY,
    ['c' - 'a'] = VOX_SIP_H_CONTENT_TYPE,
    ['d' - 'a'] = VOX_SIP_H_REQUEST_DISPOSITION,
    ['e' - 'a'] = VOX_SIP_H_CONTENT_ENCODING,
    ['f' - 'a'] = VOX_SIP_H_FROM,
    ['i' - 'a'] = VOX_SIP_H_CALL_ID,
    ['j' - 'a'] = VOX_SIP_H_REJECT_CONTACT,
    ['k' - 'a'] = VOX_SIP_H_SUPPORTED,
    ['l' - 'a'] = VOX_SIP_H_CONTENT_LENGTH,
    ['m' - 'a'] = VOX_SIP_H_CONTACT,
    ['o' - 'a'] = VOX_SIP_H_EVENT,
    ['r' - 'a'] = VOX_SIP_H_REFER_TO,
    ['s' - 'a'] = VOX_SIP_H_SUBJECT,
    ['t' - 'a'] = VOX_SIP_H_TO,
    ['u' - 'a'] = VOX_SIP_H_ALLOW_EVENTS,
    ['v' - 'a'] = VOX_SIP_H_VIA,
    ['x' - 'a'] = VOX_SIP_H_SESSION_EXPIRES,
    ['y' - 'a'] = VOX_SIP_H_IDENTITY,
};

enum vox_sip_hdr vox_sip_hdr_lookup(struct vox_str name)
{
    const unsigned char *cand;
    size_t i;

    if (name.len == 1) {
        unsigned char c = lower((unsigned char)name.p[0]);

        return (c >= 'a' && c <= 'z') ? (enum vox_sip_hdr)hdr_by_compact[c - 'a'] : VOX_SIP_H_OTHER;
    }
    if (name.len == 0 || name.len > MAX_NAME_LEN)
        return VOX_SIP_H_OTHER;
    cand = hdr_by_len[name.len];
    for (i = 0; i < 5 && cand[i]; i++) {
        const char *d = hdr_names[cand[i]];

        if (lower((unsigned char)d[0]) == lower((unsigned char)name.p[0]) &&
            mem_ieq(d, name.p, name.len))
            return (enum vox_sip_hdr)cand[i];
    }
    return VOX_SIP_H_OTHER;
}

/* Index of the first CR, LF or NUL at or after p (len when none). Eight bytes at a time: a word
 * with no byte below 0x0E (the classic "has less than" bit trick) cannot hold one, so headers
 * are scanned a word per step; a word that might is checked byte by byte. */
static size_t scan_line(const char *buf, size_t p, size_t len)
{
    for (;;) {
        while (len - p >= 8) {
            uint64_t x;

            memcpy(&x, buf + p, 8);
            if (((x - 0x0E0E0E0E0E0E0E0Eull) & ~x & 0x8080808080808080ull) != 0)
                break;
            p += 8;
        }
        {
            size_t end = len - p >= 8 ? p + 8 : len;

            for (; p < end; p++) {
                unsigned char c = (unsigned char)buf[p];

                if (c <= '\r' && (c == '\r' || c == '\n' || c == 0))
                    return p;
            }
        }
        if (p >= len)
            return len;
    }
}

/* ---- header tokenizer ------------------------------------------------------------------------ */

struct tok_fault {
    const char *why; /* static text */
    size_t offset;
    int lf_only; /* set when a line ended with a bare LF */
};

/* The tokenizer behind vox_sip_header_next; on EMALFORMED fills f. */
static int header_next(const char *buf, size_t len, size_t *pos, struct vox_sip_header *h,
                       struct tok_fault *f)
{
    size_t p = *pos, name_start, name_end, vstart, line_end;
    unsigned folds = 0;
    unsigned char c;

    if (p >= len)
        return VOX_EINCOMPLETE;
    c = (unsigned char)buf[p];
    if (c == '\r') {
        if (p + 1 >= len)
            return VOX_EINCOMPLETE;
        if (buf[p + 1] != '\n') {
            f->why = "bare CR (not followed by LF)";
            f->offset = p;
            return VOX_EMALFORMED;
        }
        *pos = p + 2;
        return 0;
    }
    if (c == '\n') {
        f->lf_only = 1;
        *pos = p + 1;
        return 0;
    }
    if (is_wsp(c)) {
        f->why = "continuation line (starts with whitespace) with no header field before it";
        f->offset = p;
        return VOX_EMALFORMED;
    }
    name_start = p;
    while (p < len && is_token((unsigned char)buf[p]))
        p++;
    if (p >= len)
        return VOX_EINCOMPLETE;
    if (p == name_start) {
        f->why = buf[p] == 0 ? "NUL byte in the header section"
                             : "header line does not start with a field name";
        f->offset = p;
        return VOX_EMALFORMED;
    }
    name_end = p;
    while (p < len && is_wsp((unsigned char)buf[p]))
        p++;
    if (p >= len)
        return VOX_EINCOMPLETE;
    if (buf[p] != ':') {
        f->why = "header field name not followed by ':'";
        f->offset = p;
        return VOX_EMALFORMED;
    }
    vstart = ++p;
    for (;;) {
        p = scan_line(buf, p, len);
        if (p >= len)
            return VOX_EINCOMPLETE;
        c = (unsigned char)buf[p];
        if (c == 0) {
            f->why = "NUL byte in a header value";
            f->offset = p;
            return VOX_EMALFORMED;
        }
        line_end = p;
        if (c == '\r') {
            if (p + 1 >= len)
                return VOX_EINCOMPLETE;
            if (buf[p + 1] != '\n') {
                f->why = "bare CR (not followed by LF) in a header value";
                f->offset = p;
                return VOX_EMALFORMED;
            }
            p += 2;
        } else {
            f->lf_only = 1;
            p += 1;
        }
        /* RFC 3261 §7.3.1: a line starting with WSP continues the field; only the next byte
         * tells, so a buffer ending right after a line break is incomplete */
        if (p >= len)
            return VOX_EINCOMPLETE;
        if (!is_wsp((unsigned char)buf[p]))
            break;
        folds++;
    }
    h->name = mkstr(buf + name_start, name_end - name_start);
    h->value = trim(mkstr(buf + vstart, line_end - vstart));
    h->id = vox_sip_hdr_lookup(h->name);
    h->folds = folds;
    h->line = 0;
    *pos = p;
    return 1;
}

int vox_sip_header_next(const char *buf, size_t len, size_t *pos, struct vox_sip_header *hdr,
                        struct vox_diag *diag)
{
    struct tok_fault f = {NULL, 0, 0};
    int rc;

    if (!buf || !pos || !hdr)
        return VOX_EINVAL;
    rc = header_next(buf, len, pos, hdr, &f);
    if (rc == VOX_EMALFORMED)
        vox_diag_set(diag, "offset %zu: %s", f.offset, f.why);
    return rc;
}

size_t vox_sip_unfold(struct vox_str value, char *dst, size_t cap)
{
    size_t i = 0, n = 0;

    while (i < value.len) {
        size_t j = i;
        int fold = 0;

        while (j < value.len && is_lws((unsigned char)value.p[j])) {
            fold |= value.p[j] == '\r' || value.p[j] == '\n';
            j++;
        }
        if (fold) {
            /* RFC 3261 §7.3.1: the whole run around a line break is one SP */
            if (n < cap)
                dst[n] = ' ';
            n++;
            i = j;
            continue;
        }
        if (j == i)
            j++;
        for (; i < j; i++, n++)
            if (n < cap)
                dst[n] = value.p[i];
    }
    if (n < cap)
        dst[n] = 0;
    return n;
}

/* ---- comma lists and parameters -------------------------------------------------------------- */

/* Index just past the closing quote of a quoted string opening at s[i] (s[i] == '"'), or
 * s.len + 1 when unterminated. */
static size_t skip_quoted(struct vox_str s, size_t i)
{
    for (i++; i < s.len; i++) {
        if (s.p[i] == '\\') {
            i++;
            continue;
        }
        if (s.p[i] == '"')
            return i + 1;
    }
    return s.len + 1;
}

int vox_sip_next_item(struct vox_str *cursor, struct vox_str *item)
{
    struct vox_str s = *cursor;
    size_t i = 0, start;
    int angle = 0;

    while (i < s.len && (is_lws((unsigned char)s.p[i]) || s.p[i] == ','))
        i++;
    if (i >= s.len) {
        *cursor = mkstr(NULL, 0);
        return 0;
    }
    start = i;
    while (i < s.len) {
        char c = s.p[i];

        if (c == '"') {
            i = skip_quoted(s, i);
            if (i > s.len)
                i = s.len;
            continue;
        }
        if (c == '<')
            angle = 1;
        else if (c == '>')
            angle = 0;
        else if (c == ',' && !angle)
            break;
        i++;
    }
    *item = trim(mkstr(s.p + start, i - start));
    *cursor = i < s.len ? mkstr(s.p + i + 1, s.len - i - 1) : mkstr(NULL, 0);
    return 1;
}

int vox_sip_param_next(struct vox_str *cursor, struct vox_str *name, struct vox_str *value)
{
    struct vox_str s = *cursor;
    size_t i = 0, start;

    while (i < s.len && (is_lws((unsigned char)s.p[i]) || s.p[i] == ';'))
        i++;
    start = i;
    while (i < s.len && is_token((unsigned char)s.p[i]))
        i++;
    if (i == start) {
        *cursor = mkstr(NULL, 0);
        return 0;
    }
    *name = mkstr(s.p + start, i - start);
    *value = mkstr(NULL, 0);
    while (i < s.len && is_lws((unsigned char)s.p[i]))
        i++;
    if (i < s.len && s.p[i] == '=') {
        i++;
        while (i < s.len && is_lws((unsigned char)s.p[i]))
            i++;
        if (i < s.len && s.p[i] == '"') {
            size_t end = skip_quoted(s, i);

            if (end > s.len) {
                *cursor = mkstr(NULL, 0);
                return 0;
            }
            *value = end - i > 2 ? mkstr(s.p + i + 1, end - i - 2) : mkstr(NULL, 0);
            i = end;
        } else {
            start = i;
            while (i < s.len && s.p[i] != ';' && !is_lws((unsigned char)s.p[i]))
                i++;
            *value = i > start ? mkstr(s.p + start, i - start) : mkstr(NULL, 0);
        }
    }
    *cursor = mkstr(s.p + i, s.len - i);
    return 1;
}

/* Strict check of a parameter list (what follows the first ';'): name [= token / host /
 * quoted-string] separated by ';' with optional LWS. 0 or -1. */
static int params_ok(struct vox_str s)
{
    size_t i = 0;

    if (!s.len)
        return 0; /* a lone trailing ';' is tolerated */
    for (;;) {
        size_t start;

        while (i < s.len && is_lws((unsigned char)s.p[i]))
            i++;
        start = i;
        while (i < s.len && is_token((unsigned char)s.p[i]))
            i++;
        if (i == start)
            return -1; /* empty or not a token: ";;" or ";=x" or a trailing ';' */
        while (i < s.len && is_lws((unsigned char)s.p[i]))
            i++;
        if (i < s.len && s.p[i] == '=') {
            i++;
            while (i < s.len && is_lws((unsigned char)s.p[i]))
                i++;
            if (i < s.len && s.p[i] == '"') {
                i = skip_quoted(s, i);
                if (i > s.len)
                    return -1; /* unterminated quoted value */
            } else {
                start = i;
                while (i < s.len && s.p[i] != ';' && s.p[i] != '"' &&
                       !is_lws((unsigned char)s.p[i]))
                    i++;
                if (i == start)
                    return -1;
            }
            while (i < s.len && is_lws((unsigned char)s.p[i]))
                i++;
        }
        if (i >= s.len)
            return 0;
        if (s.p[i] != ';')
            return -1;
        i++;
    }
}

int vox_sip_param_get(struct vox_str params, const char *name, struct vox_str *value)
{
    struct vox_str n, v;
    size_t len = strlen(name);

    while (vox_sip_param_next(&params, &n, &v)) {
        if (n.len == len && mem_ieq(n.p, name, len)) {
            if (value)
                *value = v;
            return 1;
        }
    }
    return 0;
}

size_t vox_sip_unquote(struct vox_str s, char *dst, size_t cap)
{
    size_t i, n = 0;

    for (i = 0; i < s.len; i++) {
        char c = s.p[i];

        if (c == '\\' && i + 1 < s.len)
            c = s.p[++i];
        if (n < cap)
            dst[n] = c;
        n++;
    }
    if (n < cap)
        dst[n] = 0;
    return n;
}

static int hexval(unsigned char c)
{
    if (is_digit(c))
        return c - '0';
    c = lower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int vox_sip_unescape(struct vox_str s, char *dst, size_t cap, size_t *out_len)
{
    size_t i, n = 0;

    for (i = 0; i < s.len; i++) {
        char c = s.p[i];

        if (c == '%') {
            int hi, lo;

            if (i + 2 >= s.len)
                return VOX_EMALFORMED;
            hi = hexval((unsigned char)s.p[i + 1]);
            lo = hexval((unsigned char)s.p[i + 2]);
            if (hi < 0 || lo < 0)
                return VOX_EMALFORMED;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (n < cap)
            dst[n] = c;
        n++;
    }
    if (n < cap)
        dst[n] = 0;
    if (out_len)
        *out_len = n;
    return 0;
}

/* ---- URIs ------------------------------------------------------------------------------------ */

static int is_host_char(unsigned char c)
{
    return is_alnum(c) || c == '-' || c == '.' || c == '_';
}

/* Parses host [":" port] at s[*i]; LWS around ':' when `lws` (Via sent-by). Stops at the first
 * byte that is not part of it. */
static int parse_hostport(struct vox_str s, size_t *ip, int lws, struct vox_str *host, int *v6,
                          unsigned *port)
{
    size_t i = *ip, start, j;
    unsigned long long v;

    *v6 = 0;
    *port = 0;
    if (i < s.len && s.p[i] == '[') {
        start = ++i;
        while (i < s.len && s.p[i] != ']') {
            unsigned char c = (unsigned char)s.p[i];

            if (!(hexval(c) >= 0 || c == ':' || c == '.'))
                return VOX_EMALFORMED;
            i++;
        }
        if (i >= s.len || i == start)
            return VOX_EMALFORMED;
        *host = mkstr(s.p + start, i - start);
        *v6 = 1;
        i++;
    } else {
        start = i;
        while (i < s.len && is_host_char((unsigned char)s.p[i]))
            i++;
        if (i == start)
            return VOX_EMALFORMED;
        *host = mkstr(s.p + start, i - start);
    }
    j = i;
    if (lws)
        while (j < s.len && is_lws((unsigned char)s.p[j]))
            j++;
    if (j < s.len && s.p[j] == ':') {
        j++;
        if (lws)
            while (j < s.len && is_lws((unsigned char)s.p[j]))
                j++;
        start = j;
        while (j < s.len && is_digit((unsigned char)s.p[j]))
            j++;
        if (parse_dec(mkstr(s.p + start, j - start), 65535, &v) < 0)
            return VOX_EMALFORMED;
        *port = (unsigned)v;
        i = j;
    }
    *ip = i;
    return 0;
}

int vox_sip_uri_parse(struct vox_str s, struct vox_sip_uri *u)
{
    size_t i = 0, at = 0, colon;
    int has_at = 0;

    memset(u, 0, sizeof(*u));
    if (!s.len || !is_alpha((unsigned char)s.p[0]))
        return VOX_EMALFORMED;
    while (i < s.len &&
           (is_alnum((unsigned char)s.p[i]) || s.p[i] == '+' || s.p[i] == '-' || s.p[i] == '.'))
        i++;
    if (i >= s.len || s.p[i] != ':')
        return VOX_EMALFORMED;
    u->scheme_str = mkstr(s.p, i);
    colon = i++;
    for (at = i; at < s.len; at++)
        if (is_lws((unsigned char)s.p[at]) || s.p[at] == 0 || s.p[at] == '<' || s.p[at] == '>' ||
            s.p[at] == '"')
            return VOX_EMALFORMED; /* RFC 4475 §3.1.2.7: no whitespace inside a URI */
    if (colon + 1 >= s.len)
        return VOX_EMALFORMED;
    u->rest = mkstr(s.p + colon + 1, s.len - colon - 1);
    if (vox_str_ieq(u->scheme_str, "tel")) {
        u->scheme = VOX_SIP_SCHEME_TEL;
        while (i < s.len && s.p[i] != ';' && s.p[i] != '?')
            i++;
        if (i == colon + 1)
            return VOX_EMALFORMED;
        u->user = mkstr(s.p + colon + 1, i - colon - 1);
        goto params;
    }
    if (vox_str_ieq(u->scheme_str, "sip"))
        u->scheme = VOX_SIP_SCHEME_SIP;
    else if (vox_str_ieq(u->scheme_str, "sips"))
        u->scheme = VOX_SIP_SCHEME_SIPS;
    else
        return 0; /* another absoluteURI: rest only */
    /* '@' may appear neither in the user part nor in params/headers unescaped (RFC 3261
     * §25.1), so the first one ends the userinfo */
    for (at = i; at < s.len; at++)
        if (s.p[at] == '@') {
            has_at = 1;
            break;
        }
    if (has_at) {
        size_t pw = i;

        while (pw < at && s.p[pw] != ':')
            pw++;
        if (pw == i)
            return VOX_EMALFORMED; /* "sip:@host" or "sip::pw@host" */
        u->user = mkstr(s.p + i, pw - i);
        if (pw < at)
            u->password = mkstr(s.p + pw + 1, at - pw - 1);
        i = at + 1;
    }
    if (parse_hostport(s, &i, 0, &u->host, &u->host_ipv6, &u->port) < 0)
        return VOX_EMALFORMED;
params:
    if (i < s.len && s.p[i] == ';') {
        size_t start = ++i;

        while (i < s.len && s.p[i] != '?')
            i++;
        u->params = mkstr(s.p + start, i - start);
    }
    if (i < s.len && s.p[i] == '?') {
        i++;
        u->headers = mkstr(s.p + i, s.len - i);
        i = s.len;
    }
    if (i != s.len)
        return VOX_EMALFORMED;
    return 0;
}

/* ---- name-addr ------------------------------------------------------------------------------- */

int vox_sip_nameaddr_parse(struct vox_str value, struct vox_sip_nameaddr *out)
{
    struct vox_str s = trim(value);
    size_t i = 0, lt, gt;

    memset(out, 0, sizeof(*out));
    if (!s.len)
        return VOX_EMALFORMED;
    if (s.len == 1 && s.p[0] == '*') {
        out->uri = s;
        return 0;
    }
    if (s.p[0] == '"') {
        size_t end = skip_quoted(s, 0);

        if (end > s.len)
            return VOX_EMALFORMED; /* unterminated quoted display name */
        out->display = end > 2 ? mkstr(s.p + 1, end - 2) : mkstr(NULL, 0);
        out->display_quoted = 1;
        i = end;
        while (i < s.len && is_lws((unsigned char)s.p[i]))
            i++;
        if (i >= s.len || s.p[i] != '<')
            return VOX_EMALFORMED;
        lt = i;
    } else {
        /* an unquoted display name is tokens: a ';' before any '<' starts the parameters of
         * an addr-spec, whose values may be quoted (Cisco CUBE: sip:x@y;media-index="0") */
        for (lt = 0; lt < s.len && s.p[lt] != '<' && s.p[lt] != ';'; lt++)
            if (s.p[lt] == '"')
                return VOX_EMALFORMED;
        if (lt < s.len && s.p[lt] == '<') {
            out->display = trim(mkstr(s.p, lt));
        } else {
            /* addr-spec: parameters after the URI belong to the header (RFC 3261 §20.10) */
            size_t semi = lt;

            out->uri = trim(mkstr(s.p, semi));
            if (!out->uri.len)
                return VOX_EMALFORMED;
            for (i = 0; i < out->uri.len; i++)
                if (is_lws((unsigned char)out->uri.p[i]))
                    return VOX_EMALFORMED; /* "Bob sip:bob@b.com": display without <> */
            /* "Bob;x <sip:b@b.com>" is no addr-spec either: '<' or '>' outside quotes */
            for (i = semi; i < s.len; i++) {
                if (s.p[i] == '"') {
                    i = skip_quoted(s, i) - 1;
                    if (i >= s.len)
                        return VOX_EMALFORMED; /* unterminated quoted value */
                } else if (s.p[i] == '<' || s.p[i] == '>') {
                    return VOX_EMALFORMED;
                }
            }
            if (semi < s.len)
                out->params = trim(mkstr(s.p + semi + 1, s.len - semi - 1));
            goto tag;
        }
    }
    for (gt = lt + 1; gt < s.len && s.p[gt] != '>'; gt++)
        if (s.p[gt] == '<' || s.p[gt] == '"')
            return VOX_EMALFORMED;
    if (gt >= s.len)
        return VOX_EMALFORMED; /* '<' without '>' */
    out->uri = trim(mkstr(s.p + lt + 1, gt - lt - 1));
    if (!out->uri.len)
        return VOX_EMALFORMED;
    i = gt + 1;
    while (i < s.len && is_lws((unsigned char)s.p[i]))
        i++;
    if (i < s.len) {
        if (s.p[i] != ';')
            return VOX_EMALFORMED;
        out->params = trim(mkstr(s.p + i + 1, s.len - i - 1));
    }
tag:
    if (out->params.len && params_ok(out->params) < 0)
        return VOX_EMALFORMED;
    out->has_tag = vox_sip_param_get(out->params, "tag", &out->tag);
    return 0;
}

/* ---- Via, CSeq, media types ------------------------------------------------------------------ */

static size_t skip_lws(struct vox_str s, size_t i)
{
    while (i < s.len && is_lws((unsigned char)s.p[i]))
        i++;
    return i;
}

/* A token at s[*i]; returns 0 and advances, or -1 when none. */
static int take_token(struct vox_str s, size_t *ip, struct vox_str *tok)
{
    size_t i = *ip;

    while (i < s.len && is_token((unsigned char)s.p[i]))
        i++;
    if (i == *ip)
        return -1;
    *tok = mkstr(s.p + *ip, i - *ip);
    *ip = i;
    return 0;
}

/* "/ token" with optional LWS around the slash (RFC 3261 §25.1 SLASH): Via's protocol
 * parts and media types. Advances *i past the token; -1 when absent. */
static int take_slash_token(struct vox_str s, size_t *i, struct vox_str *tok)
{
    *i = skip_lws(s, *i);
    if (*i >= s.len || s.p[*i] != '/')
        return -1;
    *i = skip_lws(s, *i + 1);
    return take_token(s, i, tok) < 0 ? -1 : 0;
}

/* What follows a value: nothing, or ";" and well-formed params (stored trimmed). */
static int take_params_tail(struct vox_str s, size_t i, struct vox_str *params)
{
    i = skip_lws(s, i);
    if (i >= s.len)
        return 0;
    if (s.p[i] != ';')
        return -1;
    *params = trim(mkstr(s.p + i + 1, s.len - i - 1));
    return params_ok(*params);
}

int vox_sip_via_parse(struct vox_str value, struct vox_sip_via *v)
{
    struct vox_str s = trim(value), rp;
    size_t i = 0, before;
    unsigned long long n;

    memset(v, 0, sizeof(*v));
    if (take_token(s, &i, &v->proto_name) < 0 || take_slash_token(s, &i, &v->proto_version) < 0 ||
        take_slash_token(s, &i, &v->transport) < 0)
        return VOX_EMALFORMED;
    before = i;
    i = skip_lws(s, i);
    if (i == before)
        return VOX_EMALFORMED; /* LWS between transport and sent-by is mandatory */
    if (parse_hostport(s, &i, 1, &v->host, &v->host_ipv6, &v->port) < 0 ||
        take_params_tail(s, i, &v->params) < 0)
        return VOX_EMALFORMED;
    vox_sip_param_get(v->params, "branch", &v->branch);
    vox_sip_param_get(v->params, "received", &v->received);
    if (vox_sip_param_get(v->params, "rport", &rp)) {
        v->has_rport = 1;
        if (rp.len) {
            if (parse_dec(rp, 65535, &n) < 0)
                return VOX_EMALFORMED;
            v->rport = (unsigned)n;
        }
    }
    return 0;
}

int vox_sip_cseq_parse(struct vox_str value, struct vox_sip_cseq *out)
{
    struct vox_str s = trim(value), num;
    size_t i = 0;
    unsigned long long n;

    memset(out, 0, sizeof(*out));
    while (i < s.len && is_digit((unsigned char)s.p[i]))
        i++;
    num = mkstr(s.p, i);
    /* RFC 3261 §8.1.1.5: the sequence number MUST be less than 2^31 */
    if (parse_dec(num, 0x7FFFFFFFull, &n) < 0)
        return VOX_EMALFORMED;
    if (i >= s.len || !is_lws((unsigned char)s.p[i]))
        return VOX_EMALFORMED;
    i = skip_lws(s, i);
    if (take_token(s, &i, &out->method) < 0 || i != s.len)
        return VOX_EMALFORMED;
    out->number = (uint32_t)n;
    return 0;
}

int vox_sip_media_type_parse(struct vox_str value, struct vox_sip_media_type *out)
{
    struct vox_str s = trim(value);
    size_t i = 0;

    memset(out, 0, sizeof(*out));
    if (take_token(s, &i, &out->type) < 0 || take_slash_token(s, &i, &out->subtype) < 0 ||
        take_params_tail(s, i, &out->params) < 0)
        return VOX_EMALFORMED;
    return 0;
}

int vox_sip_media_type_is(const struct vox_sip_media_type *mt, const char *type_subtype)
{
    const char *slash = strchr(type_subtype, '/');
    size_t tl;

    if (!slash)
        return 0;
    tl = (size_t)(slash - type_subtype);
    return mt->type.len == tl && mem_ieq(mt->type.p, type_subtype, tl) &&
           vox_str_ieq(mt->subtype, slash + 1);
}

/* ---- methods --------------------------------------------------------------------------------- */

enum vox_sip_method vox_sip_method_lookup(struct vox_str m)
{
    static const struct {
        const char *name;
        enum vox_sip_method id;
    } methods[] = {
        {"INVITE", VOX_SIP_METHOD_INVITE},   {"ACK", VOX_SIP_METHOD_ACK},
        {"BYE", VOX_SIP_METHOD_BYE},         {"CANCEL", VOX_SIP_METHOD_CANCEL},
        {"OPTIONS", VOX_SIP_METHOD_OPTIONS}, {"REGISTER", VOX_SIP_METHOD_REGISTER},
        {"PRACK", VOX_SIP_METHOD_PRACK},     {"SUBSCRIBE", VOX_SIP_METHOD_SUBSCRIBE},
        {"NOTIFY", VOX_SIP_METHOD_NOTIFY},   {"PUBLISH", VOX_SIP_METHOD_PUBLISH},
        {"INFO", VOX_SIP_METHOD_INFO},       {"REFER", VOX_SIP_METHOD_REFER},
        {"MESSAGE", VOX_SIP_METHOD_MESSAGE}, {"UPDATE", VOX_SIP_METHOD_UPDATE},
    };
    size_t i;

    for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (vox_str_eq(m, methods[i].name))
            return methods[i].id;
    return VOX_SIP_METHOD_OTHER;
}

/* ---- errors ---------------------------------------------------------------------------------- */

/* Fills e and diag. status 0 leaves the reason empty (a response, nothing to answer). */
static int fault(struct vox_sip_error *e, struct vox_diag *diag, int rc, int status,
                 const char *detail, size_t offset, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));

static int fault(struct vox_sip_error *e, struct vox_diag *diag, int rc, int status,
                 const char *detail, size_t offset, unsigned line, const char *fmt, ...)
{
    e->status = status;
    e->offset = offset;
    e->line = line;
    e->reason[0] = 0;
    if (status) {
        if (detail && *detail)
            snprintf(e->reason, sizeof(e->reason), "%s - %s", vox_sip_reason_phrase(status),
                     detail);
        else
            snprintf(e->reason, sizeof(e->reason), "%s", vox_sip_reason_phrase(status));
    }
    if (diag) {
        char text[sizeof(struct vox_diag)];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        if (line)
            vox_diag_set(diag, "line %u (offset %zu): %s", line, offset, text);
        else
            vox_diag_set(diag, "offset %zu: %s", offset, text);
    }
    return rc;
}

static unsigned count_lines(const char *buf, size_t from, size_t to)
{
    unsigned n = 0;

    for (; from < to; from++)
        if (buf[from] == '\n')
            n++;
    return n;
}

/* Content-Length value: 0 ok, -1 not a number, -2 above the message limit. */
static int parse_content_length(struct vox_str v, long *out)
{
    unsigned long long n = 0;
    size_t i;

    if (!v.len)
        return -1;
    for (i = 0; i < v.len; i++) {
        if (!is_digit((unsigned char)v.p[i]))
            return -1;
        if (n <= VOX_SIP_MAX_MSG_BYTES)
            n = n * 10 + (unsigned)(v.p[i] - '0');
    }
    if (n > VOX_SIP_MAX_MSG_BYTES)
        return -2;
    *out = (long)n;
    return 0;
}

/* ---- start line ------------------------------------------------------------------------------ */

/* "SIP/" 1*DIGIT "." 1*DIGIT: 1 for SIP/2.0 (any case), 0 for another version, -1 otherwise */
static int check_version(struct vox_str v)
{
    size_t i = 4, d;

    if (v.len < 7 || !mem_ieq(v.p, "SIP/", 4))
        return -1;
    for (d = i; i < v.len && is_digit((unsigned char)v.p[i]); i++)
        ;
    if (i == d || i >= v.len || v.p[i] != '.')
        return -1;
    for (d = ++i; i < v.len && is_digit((unsigned char)v.p[i]); i++)
        ;
    if (i == d || i != v.len)
        return -1;
    return v.len == 7 && mem_ieq(v.p, "SIP/2.0", 7);
}

static int parse_start_line(const char *buf, size_t start, size_t end, struct vox_sip_msg *m,
                            unsigned line, struct vox_diag *diag)
{
    struct vox_str l = mkstr(buf + start, end - start);
    size_t i = 0, sp;
    int vc;

    if (l.len >= 4 && mem_ieq(l.p, "SIP/", 4)) {
        unsigned long long code;

        m->is_request = 0;
        while (i < l.len && l.p[i] != ' ')
            i++;
        m->version = mkstr(l.p, i);
        vc = check_version(m->version);
        if (vc <= 0)
            return fault(&m->error, diag, VOX_EMALFORMED, 0, NULL, start, line,
                         "status line has version '%.*s', expected SIP/2.0",
                         (int)(m->version.len > 32 ? 32 : m->version.len), m->version.p);
        if (i + 4 > l.len || l.p[i] != ' ' || parse_dec(mkstr(l.p + i + 1, 3), 999, &code) < 0 ||
            (i + 4 < l.len && l.p[i + 4] != ' ') || code < 100 || code > 699)
            return fault(&m->error, diag, VOX_EMALFORMED, 0, NULL, start + i, line,
                         "status line needs a 3-digit status code 100..699 after '%.*s '",
                         (int)m->version.len, m->version.p);
        m->status = (int)code;
        m->reason = i + 5 <= l.len ? mkstr(l.p + i + 5, l.len - i - 5) : mkstr(NULL, 0);
        if (!m->reason.len)
            m->reason.p = NULL;
        return 0;
    }
    m->is_request = 1;
    while (i < l.len && is_token((unsigned char)l.p[i]))
        i++;
    if (i == 0 || i >= l.len || l.p[i] != ' ')
        return fault(&m->error, diag, VOX_EMALFORMED, 400, "malformed Request-Line", start + i,
                     line, "request line must start with a method token and one SP");
    m->method = mkstr(l.p, i);
    m->method_id = vox_sip_method_lookup(m->method);
    sp = ++i;
    while (i < l.len && l.p[i] != ' ' && l.p[i] != '\t')
        i++;
    if (i == sp || i >= l.len || l.p[i] != ' ')
        return fault(&m->error, diag, VOX_EMALFORMED, 400, "malformed Request-Line", start + i,
                     line,
                     "Request-URI must be followed by one SP and the SIP version "
                     "(RFC 3261 §7.1: single SP separators, no spaces in the URI)");
    m->request_uri = mkstr(l.p + sp, i - sp);
    m->version = mkstr(l.p + i + 1, l.len - i - 1);
    vc = check_version(m->version);
    if (vc < 0)
        return fault(&m->error, diag, VOX_EMALFORMED, 400, "malformed Request-Line", start + i + 1,
                     line, "'%.*s' is not a SIP version (SIP/x.y)",
                     (int)(m->version.len > 32 ? 32 : m->version.len), m->version.p);
    if (vc == 0)
        return fault(&m->error, diag, VOX_EMALFORMED, 505, NULL, start + i + 1, line,
                     "unsupported SIP version '%.*s' (only SIP/2.0)", (int)m->version.len,
                     m->version.p);
    return 0;
}

/* ---- message parser -------------------------------------------------------------------------- */

static void msg_reset(struct vox_sip_msg *m)
{
    m->raw = mkstr(NULL, 0);
    m->is_request = 0;
    m->method = mkstr(NULL, 0);
    m->method_id = VOX_SIP_METHOD_OTHER;
    m->request_uri = mkstr(NULL, 0);
    m->version = mkstr(NULL, 0);
    m->status = 0;
    m->reason = mkstr(NULL, 0);
    m->nheaders = 0;
    memset(m->first, 0xff, sizeof(m->first)); /* -1 */
    m->content_length = -1;
    m->header_bytes = 0;
    m->body = mkstr(NULL, 0);
    m->msg_bytes = 0;
    m->warnings = 0;
    memset(&m->error, 0, sizeof(m->error));
}

int vox_sip_parse(const char *buf, size_t len, struct vox_sip_msg *m, struct vox_diag *diag)
{
    struct tok_fault f = {NULL, 0, 0};
    size_t p = 0, line_start;
    unsigned line = 1;
    int st, rc;

    if (!buf || !m)
        return VOX_EINVAL;
    msg_reset(m);
    m->raw = mkstr(buf, len);
    if (len > VOX_SIP_MAX_MSG_BYTES)
        return fault(&m->error, diag, VOX_ELIMIT, 513, NULL, VOX_SIP_MAX_MSG_BYTES, 0,
                     "message of %zu bytes exceeds the %u-byte limit", len,
                     (unsigned)VOX_SIP_MAX_MSG_BYTES);
    /* RFC 3261 §7.5: CRLFs before the start line are ignored */
    while (p < len && (buf[p] == '\n' || (buf[p] == '\r' && p + 1 < len && buf[p + 1] == '\n'))) {
        p += buf[p] == '\r' ? 2 : 1;
        line++;
    }
    line_start = p;
    /* until the start line is read, only "SIP/" tells a response (nothing to answer) */
    st = (len - p >= 4 && mem_ieq(buf + p, "SIP/", 4)) ? 0 : 400;
    p = scan_line(buf, p, len);
    if (p >= len || (buf[p] == '\r' && p + 1 >= len))
        return fault(&m->error, diag, VOX_EINCOMPLETE, st, "incomplete message", p, line,
                     "input ends inside the start line");
    if (buf[p] == 0 || (buf[p] == '\r' && buf[p + 1] != '\n'))
        return fault(&m->error, diag, VOX_EMALFORMED, st, "invalid character in start line", p,
                     line, "%s in the start line", buf[p] ? "bare CR" : "NUL byte");
    rc = parse_start_line(buf, line_start, p, m, line, diag);
    if (rc)
        return rc;
    st = m->is_request ? 400 : 0;
    if (buf[p] == '\n')
        m->warnings |= VOX_SIP_WARN_LF_ONLY;
    p += buf[p] == '\r' ? 2 : 1;
    line++;
    for (;;) {
        struct vox_sip_header h;
        size_t hstart = p;

        rc = header_next(buf, len, &p, &h, &f);
        if (rc == 0)
            break;
        if (rc == VOX_EINCOMPLETE)
            return fault(&m->error, diag, rc, st, "incomplete message", len, line,
                         "input ends inside the header section (no empty line)");
        if (rc < 0)
            return fault(&m->error, diag, rc, st, f.why, f.offset,
                         line + count_lines(buf, hstart, f.offset), "%s", f.why);
        if (m->nheaders >= VOX_SIP_MAX_HEADERS)
            return fault(&m->error, diag, VOX_ELIMIT, m->is_request ? 513 : 0, "too many headers",
                         hstart, line, "more than %d header fields", VOX_SIP_MAX_HEADERS);
        h.line = line;
        line += 1 + h.folds;
        if (h.folds)
            m->warnings |= VOX_SIP_WARN_FOLDED;
        if (h.id != VOX_SIP_H_OTHER && m->first[h.id] < 0)
            m->first[h.id] = (int16_t)m->nheaders;
        if (h.id == VOX_SIP_H_CONTENT_LENGTH) {
            long cl = 0;
            int r = parse_content_length(h.value, &cl);

            if (r == -2)
                return fault(&m->error, diag, VOX_ELIMIT, m->is_request ? 413 : 0, NULL,
                             (size_t)(h.value.p - buf), h.line,
                             "Content-Length %.*s exceeds the %u-byte message limit",
                             (int)(h.value.len > 24 ? 24 : h.value.len), h.value.p,
                             (unsigned)VOX_SIP_MAX_MSG_BYTES);
            if (r < 0)
                return fault(&m->error, diag, VOX_EMALFORMED, st, "invalid Content-Length",
                             (size_t)(h.value.p ? h.value.p - buf : (ptrdiff_t)hstart), h.line,
                             "Content-Length '%.*s' is not a non-negative decimal number",
                             (int)(h.value.len > 24 ? 24 : h.value.len), h.value.p);
            if (m->content_length >= 0 && m->content_length != cl)
                return fault(&m->error, diag, VOX_EMALFORMED, st, "conflicting Content-Length",
                             hstart, h.line, "Content-Length %ld disagrees with an earlier %ld", cl,
                             m->content_length);
            m->content_length = cl;
        }
        m->headers[m->nheaders++] = h;
    }
    if (f.lf_only)
        m->warnings |= VOX_SIP_WARN_LF_ONLY;
    m->header_bytes = p;
    if (m->content_length >= 0) {
        if ((size_t)m->content_length > len - p)
            return fault(&m->error, diag, VOX_EINCOMPLETE, st, "Content-Length larger than body",
                         len, line, "Content-Length is %ld but only %zu body bytes follow",
                         m->content_length, len - p);
        m->body = mkstr(buf + p, (size_t)m->content_length);
        if (len - p > (size_t)m->content_length)
            m->warnings |= VOX_SIP_WARN_TRAILING_BYTES;
    } else {
        m->body = mkstr(buf + p, len - p);
    }
    if (!m->body.len)
        m->body.p = NULL;
    m->msg_bytes = p + m->body.len;
    return 0;
}

/* ---- lookups and accessors ------------------------------------------------------------------- */

const struct vox_sip_header *vox_sip_find(const struct vox_sip_msg *m, enum vox_sip_hdr id,
                                          size_t from)
{
    size_t i;

    if ((int)id <= 0 || id >= VOX_SIP_H__COUNT || m->first[id] < 0)
        return NULL;
    i = from > (size_t)m->first[id] ? from : (size_t)m->first[id];
    for (; i < m->nheaders; i++)
        if (m->headers[i].id == id)
            return &m->headers[i];
    return NULL;
}

const struct vox_sip_header *vox_sip_find_name(const struct vox_sip_msg *m, const char *name)
{
    struct vox_str n = vox_str_c(name);
    enum vox_sip_hdr id = vox_sip_hdr_lookup(n);
    size_t i;

    if (id != VOX_SIP_H_OTHER)
        return vox_sip_find(m, id, 0);
    for (i = 0; i < m->nheaders; i++)
        if (m->headers[i].name.len == n.len && mem_ieq(m->headers[i].name.p, name, n.len))
            return &m->headers[i];
    return NULL;
}

void vox_sip_iter_init(struct vox_sip_iter *it, const struct vox_sip_msg *msg, enum vox_sip_hdr id)
{
    it->msg = msg;
    it->id = id;
    it->next_hdr = 0;
    it->rest = mkstr(NULL, 0);
}

int vox_sip_iter_next(struct vox_sip_iter *it, struct vox_str *item)
{
    for (;;) {
        const struct vox_sip_header *h;

        if (it->rest.len && vox_sip_next_item(&it->rest, item))
            return 1;
        h = vox_sip_find(it->msg, it->id, it->next_hdr);
        if (!h)
            return 0;
        it->next_hdr = (size_t)(h - it->msg->headers) + 1;
        it->rest = h->value;
    }
}

static int count_id(const struct vox_sip_msg *m, enum vox_sip_hdr id)
{
    size_t i;
    int n = 0;

    if (m->first[id] < 0)
        return 0;
    for (i = (size_t)m->first[id]; i < m->nheaders; i++)
        n += m->headers[i].id == id;
    return n;
}

int vox_sip_get_call_id(const struct vox_sip_msg *m, struct vox_str *call_id)
{
    const struct vox_sip_header *h = vox_sip_find(m, VOX_SIP_H_CALL_ID, 0);

    if (!h)
        return VOX_ENOENT;
    if (!h->value.len)
        return VOX_EMALFORMED;
    *call_id = h->value;
    return 0;
}

int vox_sip_get_cseq(const struct vox_sip_msg *m, struct vox_sip_cseq *cseq)
{
    const struct vox_sip_header *h = vox_sip_find(m, VOX_SIP_H_CSEQ, 0);

    if (!h)
        return VOX_ENOENT;
    return vox_sip_cseq_parse(h->value, cseq);
}

static int get_nameaddr(const struct vox_sip_msg *m, enum vox_sip_hdr id,
                        struct vox_sip_nameaddr *out)
{
    const struct vox_sip_header *h = vox_sip_find(m, id, 0);

    if (!h)
        return VOX_ENOENT;
    return vox_sip_nameaddr_parse(h->value, out);
}

int vox_sip_get_from(const struct vox_sip_msg *m, struct vox_sip_nameaddr *from)
{
    return get_nameaddr(m, VOX_SIP_H_FROM, from);
}

int vox_sip_get_to(const struct vox_sip_msg *m, struct vox_sip_nameaddr *to)
{
    return get_nameaddr(m, VOX_SIP_H_TO, to);
}

int vox_sip_get_contact(const struct vox_sip_msg *m, struct vox_sip_nameaddr *contact)
{
    struct vox_sip_iter it;
    struct vox_str item;

    vox_sip_iter_init(&it, m, VOX_SIP_H_CONTACT);
    if (!vox_sip_iter_next(&it, &item))
        return VOX_ENOENT;
    return vox_sip_nameaddr_parse(item, contact);
}

int vox_sip_get_via(const struct vox_sip_msg *m, size_t index, struct vox_sip_via *via)
{
    struct vox_sip_iter it;
    struct vox_str item;
    size_t n = 0;

    vox_sip_iter_init(&it, m, VOX_SIP_H_VIA);
    while (vox_sip_iter_next(&it, &item))
        if (n++ == index)
            return vox_sip_via_parse(item, via);
    return VOX_ENOENT;
}

size_t vox_sip_via_count(const struct vox_sip_msg *m)
{
    struct vox_sip_iter it;
    struct vox_str item;
    size_t n = 0;

    vox_sip_iter_init(&it, m, VOX_SIP_H_VIA);
    while (vox_sip_iter_next(&it, &item))
        n++;
    return n;
}

int vox_sip_get_content_type(const struct vox_sip_msg *m, struct vox_sip_media_type *type)
{
    const struct vox_sip_header *h = vox_sip_find(m, VOX_SIP_H_CONTENT_TYPE, 0);

    if (!h)
        return VOX_ENOENT;
    return vox_sip_media_type_parse(h->value, type);
}

int vox_sip_get_content_length(const struct vox_sip_msg *m, size_t *len_bytes)
{
    if (m->content_length < 0)
        return VOX_ENOENT;
    *len_bytes = (size_t)m->content_length;
    return 0;
}

int vox_sip_get_max_forwards(const struct vox_sip_msg *m, unsigned *hops)
{
    const struct vox_sip_header *h = vox_sip_find(m, VOX_SIP_H_MAX_FORWARDS, 0);
    unsigned long long v;

    if (!h)
        return VOX_ENOENT;
    if (parse_dec(h->value, 255, &v) < 0)
        return VOX_EMALFORMED;
    *hops = (unsigned)v;
    return 0;
}

int vox_sip_get_expires(const struct vox_sip_msg *m, uint32_t *seconds)
{
    const struct vox_sip_header *h = vox_sip_find(m, VOX_SIP_H_EXPIRES, 0);
    unsigned long long v = 0;
    size_t i;

    if (!h)
        return VOX_ENOENT;
    if (!h->value.len)
        return VOX_EMALFORMED;
    for (i = 0; i < h->value.len; i++) {
        if (!is_digit((unsigned char)h->value.p[i]))
            return VOX_EMALFORMED;
        /* RFC 3261 §20.19: larger values are taken as 2^32-1 */
        if (v < 0xFFFFFFFFull)
            v = v * 10 + (unsigned)(h->value.p[i] - '0');
    }
    *seconds = v > 0xFFFFFFFFull ? 0xFFFFFFFFu : (uint32_t)v;
    return 0;
}

int vox_sip_has_option(const struct vox_sip_msg *m, enum vox_sip_hdr id, const char *tag)
{
    struct vox_sip_iter it;
    struct vox_str item;

    vox_sip_iter_init(&it, m, id);
    while (vox_sip_iter_next(&it, &item))
        if (vox_str_ieq(item, tag))
            return 1;
    return 0;
}

/* ---- validation ------------------------------------------------------------------------------ */

/* Offset of header h in the parsed input. */
static size_t hdr_offset(const struct vox_sip_msg *m, const struct vox_sip_header *h)
{
    return (h && m->raw.p) ? (size_t)(h->name.p - m->raw.p) : 0;
}

/* Checks that a single-valued header is present exactly once. */
static int need_one(struct vox_sip_msg *m, enum vox_sip_hdr id, int st, struct vox_diag *diag,
                    const struct vox_sip_header **out)
{
    const struct vox_sip_header *h = vox_sip_find(m, id, 0);
    char detail[64];

    if (!h) {
        snprintf(detail, sizeof(detail), "missing %s", vox_sip_hdr_name(id));
        return fault(&m->error, diag, VOX_EMALFORMED, st, detail, m->header_bytes, 0,
                     "mandatory header %s is missing (RFC 3261 §8.1.1)", vox_sip_hdr_name(id));
    }
    if (count_id(m, id) > 1) {
        const struct vox_sip_header *dup = vox_sip_find(m, id, (size_t)(h - m->headers) + 1);

        snprintf(detail, sizeof(detail), "duplicate %s", vox_sip_hdr_name(id));
        return fault(&m->error, diag, VOX_EMALFORMED, st, detail, hdr_offset(m, dup), dup->line,
                     "%s appears more than once", vox_sip_hdr_name(id));
    }
    *out = h;
    return 0;
}

static int bad_header(struct vox_sip_msg *m, const struct vox_sip_header *h, int st,
                      struct vox_diag *diag, const char *what)
{
    char detail[64];

    snprintf(detail, sizeof(detail), "malformed %s", vox_sip_hdr_name(h->id));
    return fault(&m->error, diag, VOX_EMALFORMED, st, detail, hdr_offset(m, h), h->line,
                 "%s: %s: '%.*s'", vox_sip_hdr_name(h->id), what,
                 (int)(h->value.len > 80 ? 80 : h->value.len), h->value.p ? h->value.p : "");
}

int vox_sip_validate(struct vox_sip_msg *m, struct vox_diag *diag)
{
    const struct vox_sip_header *h;
    struct vox_sip_nameaddr na;
    struct vox_sip_cseq cseq;
    struct vox_sip_via via;
    struct vox_sip_uri uri;
    struct vox_str item;
    int st, rc;

    if (!m)
        return VOX_EINVAL;
    st = m->is_request ? 400 : 0;
    memset(&m->error, 0, sizeof(m->error));
    if (m->is_request) {
        if (vox_sip_uri_parse(m->request_uri, &uri) < 0)
            return fault(
                &m->error, diag, VOX_EMALFORMED, 400, "malformed Request-URI",
                (size_t)(m->request_uri.p - m->raw.p), 1, "Request-URI '%.*s' does not parse",
                (int)(m->request_uri.len > 80 ? 80 : m->request_uri.len), m->request_uri.p);
        if (uri.scheme == VOX_SIP_SCHEME_OTHER)
            return fault(&m->error, diag, VOX_EMALFORMED, 416, NULL,
                         (size_t)(m->request_uri.p - m->raw.p), 1,
                         "Request-URI scheme '%.*s' is not sip, sips or tel",
                         (int)uri.scheme_str.len, uri.scheme_str.p);
    }
    /* Via: at least one; the top one must parse */
    h = vox_sip_find(m, VOX_SIP_H_VIA, 0);
    if (!h)
        return fault(&m->error, diag, VOX_EMALFORMED, st, "missing Via", m->header_bytes, 0,
                     "mandatory header Via is missing (RFC 3261 §8.1.1.7)");
    {
        struct vox_str cur = h->value;

        if (!vox_sip_next_item(&cur, &item) || vox_sip_via_parse(item, &via) < 0)
            return bad_header(m, h, st, diag, "not SIP/2.0/transport sent-by[;params]");
        if (!vox_str_ieq(via.proto_name, "SIP") || !vox_str_eq(via.proto_version, "2.0"))
            return bad_header(m, h, st, diag, "sent-protocol is not SIP/2.0");
        if (!via.branch.len)
            m->warnings |= VOX_SIP_WARN_NO_BRANCH;
        else if (via.branch.len < 7 || memcmp(via.branch.p, "z9hG4bK", 7) != 0)
            m->warnings |= VOX_SIP_WARN_OLD_BRANCH;
    }
    rc = need_one(m, VOX_SIP_H_FROM, st, diag, &h);
    if (rc)
        return rc;
    if (vox_sip_nameaddr_parse(h->value, &na) < 0 || vox_sip_uri_parse(na.uri, &uri) < 0)
        return bad_header(m, h, st, diag, "not a name-addr or addr-spec with a valid URI");
    rc = need_one(m, VOX_SIP_H_TO, st, diag, &h);
    if (rc)
        return rc;
    if (vox_sip_nameaddr_parse(h->value, &na) < 0 || vox_sip_uri_parse(na.uri, &uri) < 0)
        return bad_header(m, h, st, diag, "not a name-addr or addr-spec with a valid URI");
    rc = need_one(m, VOX_SIP_H_CALL_ID, st, diag, &h);
    if (rc)
        return rc;
    if (!h->value.len)
        return bad_header(m, h, st, diag, "empty Call-ID");
    rc = need_one(m, VOX_SIP_H_CSEQ, st, diag, &h);
    if (rc)
        return rc;
    if (vox_sip_cseq_parse(h->value, &cseq) < 0)
        return bad_header(m, h, st, diag, "expected a number below 2^31, LWS and a method");
    /* RFC 3261 §8.1.1.5: the CSeq method matches the request method */
    if (m->is_request && !(cseq.method.len == m->method.len &&
                           memcmp(cseq.method.p, m->method.p, m->method.len) == 0))
        return bad_header(m, h, st, diag, "method differs from the Request-Line's");
    if (m->is_request) {
        unsigned hops;

        h = vox_sip_find(m, VOX_SIP_H_MAX_FORWARDS, 0);
        if (!h)
            m->warnings |= VOX_SIP_WARN_NO_MAX_FORWARDS;
        else if (vox_sip_get_max_forwards(m, &hops) < 0)
            return bad_header(m, h, st, diag, "not a number 0..255");
    }
    h = vox_sip_find(m, VOX_SIP_H_EXPIRES, 0);
    if (h) {
        uint32_t secs;

        if (vox_sip_get_expires(m, &secs) < 0)
            return bad_header(m, h, st, diag, "not a number of seconds");
    }
    h = vox_sip_find(m, VOX_SIP_H_CONTENT_TYPE, 0);
    if (h) {
        struct vox_sip_media_type mt;

        if (vox_sip_media_type_parse(h->value, &mt) < 0)
            return bad_header(m, h, st, diag, "not type/subtype[;params]");
    }
    return 0;
}

/* ---- framing --------------------------------------------------------------------------------- */

int vox_sip_frame(const char *buf, size_t len, enum vox_sip_transport transport,
                  struct vox_sip_frame *out, struct vox_diag *diag)
{
    struct tok_fault f = {NULL, 0, 0};
    size_t p = 0, start, avail, limit;
    unsigned crlfs = 0, line = 1;
    long cl = -1;
    int st, stream = transport == VOX_SIP_TRANSPORT_STREAM;
    const char *nl;

    if (!buf || !out)
        return VOX_EINVAL;
    memset(out, 0, sizeof(*out));
    /* RFC 5626 §3.5.1 keep-alives: CRLFCRLF pings (and stray CRLFs, RFC 3261 §7.5) */
    while (p < len) {
        if (buf[p] == '\r' && p + 1 < len && buf[p + 1] == '\n')
            p += 2;
        else if (buf[p] == '\n')
            p += 1;
        else
            break;
        crlfs++;
    }
    out->skip = p;
    out->pings = crlfs / 2;
    if (p >= len || (buf[p] == '\r' && p + 1 >= len))
        return VOX_EINCOMPLETE;
    start = p;
    line += crlfs;
    avail = len - start;
    limit = avail < VOX_SIP_MAX_MSG_BYTES ? avail : VOX_SIP_MAX_MSG_BYTES;
    st = (avail >= 4 && mem_ieq(buf + start, "SIP/", 4)) ? 0 : 400;
    nl = memchr(buf + start, '\n', limit);
    if (!nl) {
        if (avail >= VOX_SIP_MAX_MSG_BYTES)
            return fault(&out->error, diag, VOX_ELIMIT, st ? 513 : 0, NULL, start, line,
                         "no end of the start line within %u bytes",
                         (unsigned)VOX_SIP_MAX_MSG_BYTES);
        if (stream)
            return VOX_EINCOMPLETE;
        return fault(&out->error, diag, VOX_EMALFORMED, st, "incomplete message", len, line,
                     "datagram ends inside the start line");
    }
    p = (size_t)(nl - buf) + 1;
    line++;
    for (;;) {
        struct vox_sip_header h;
        size_t hstart = p;

        /* the header block may not run past the message limit: feed at most that much */
        int rc = header_next(buf, start + limit, &p, &h, &f);
        if (rc == 0)
            break;
        if (rc == VOX_EINCOMPLETE) {
            if (avail >= VOX_SIP_MAX_MSG_BYTES)
                return fault(&out->error, diag, VOX_ELIMIT, st ? 513 : 0, NULL, start, 0,
                             "header section longer than %u bytes",
                             (unsigned)VOX_SIP_MAX_MSG_BYTES);
            if (stream)
                return VOX_EINCOMPLETE;
            return fault(&out->error, diag, VOX_EMALFORMED, st, "incomplete message", len, line,
                         "datagram ends inside the header section (no empty line)");
        }
        if (rc < 0)
            return fault(&out->error, diag, rc, st, f.why, f.offset,
                         line + count_lines(buf, hstart, f.offset), "%s", f.why);
        if (h.id == VOX_SIP_H_CONTENT_LENGTH) {
            long v = 0;
            int r = parse_content_length(h.value, &v);

            if (r == -2)
                return fault(&out->error, diag, VOX_ELIMIT, st ? 413 : 0, NULL,
                             (size_t)(h.value.p - buf), line,
                             "Content-Length exceeds the %u-byte message limit",
                             (unsigned)VOX_SIP_MAX_MSG_BYTES);
            if (r < 0 || (cl >= 0 && v != cl))
                return fault(&out->error, diag, VOX_EMALFORMED, st, "invalid Content-Length",
                             hstart, line, "Content-Length '%.*s' is %s",
                             (int)(h.value.len > 24 ? 24 : h.value.len), h.value.p ? h.value.p : "",
                             r < 0 ? "not a non-negative number" : "in conflict with another");
            cl = v;
        }
        line += 1 + h.folds;
    }
    out->header_len = p - start;
    if (cl < 0) {
        if (stream)
            return fault(&out->error, diag, VOX_EMALFORMED, st, "missing Content-Length", p, line,
                         "Content-Length is mandatory on a stream (RFC 3261 §18.3)");
        out->body_len = len - p;
    } else {
        if (out->header_len + (size_t)cl > VOX_SIP_MAX_MSG_BYTES)
            return fault(&out->error, diag, VOX_ELIMIT, st ? 513 : 0, NULL, start, 0,
                         "message of %zu bytes exceeds the %u-byte limit",
                         out->header_len + (size_t)cl, (unsigned)VOX_SIP_MAX_MSG_BYTES);
        if ((size_t)cl > len - p) {
            if (stream)
                return VOX_EINCOMPLETE;
            return fault(&out->error, diag, VOX_EMALFORMED, st, "Content-Length exceeds datagram",
                         p, line, "Content-Length %ld but the datagram has %zu body bytes", cl,
                         len - p);
        }
        out->body_len = (size_t)cl;
    }
    out->len = out->header_len + out->body_len;
    if (out->len > VOX_SIP_MAX_MSG_BYTES)
        return fault(&out->error, diag, VOX_ELIMIT, st ? 513 : 0, NULL, start, 0,
                     "message of %zu bytes exceeds the %u-byte limit", out->len,
                     (unsigned)VOX_SIP_MAX_MSG_BYTES);
    return 0;
}
