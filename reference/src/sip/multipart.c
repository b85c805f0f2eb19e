/* SPDX-License-Identifier: MIT */
/* Multipart MIME (RFC 2046 §5.1) iterator: parts as views, tolerant of a missing close. */
#include "vox/multipart.h"

#include <string.h>

static struct vox_str mkstr(const char *p, size_t len)
{
    struct vox_str s = {len ? p : NULL, len};

    return s;
}

/*
 * Is there a delimiter line at body[x] (x at a line start)? "--" boundary ["--"] *(SP/HTAB)
 * then CRLF, LF or the end of the body (RFC 2046 §5.1.1 transport-padding). Returns 0 (no), 1
 * (delimiter) or 2 (close delimiter) and stores in *next where the following part (or the
 * epilogue) starts.
 */
static int delim_at(struct vox_multipart *mp, size_t x, size_t *next)
{
    const char *b = mp->body;
    size_t blen = mp->boundary.len, j;
    int close = 0;

    if (mp->len - x < 2 + blen || b[x] != '-' || b[x + 1] != '-' ||
        memcmp(b + x + 2, mp->boundary.p, blen) != 0)
        return 0;
    j = x + 2 + blen;
    if (mp->len - j >= 2 && b[j] == '-' && b[j + 1] == '-') {
        close = 1;
        j += 2;
    }
    while (j < mp->len && (b[j] == ' ' || b[j] == '\t'))
        j++;
    if (j == mp->len) {
        *next = j;
    } else if (b[j] == '\r' && j + 1 < mp->len && b[j + 1] == '\n') {
        *next = j + 2;
    } else if (b[j] == '\n') {
        *next = j + 1;
        mp->lf_only = 1;
    } else {
        return 0; /* "--boundaryX": content that merely starts like a delimiter */
    }
    return close ? 2 : 1;
}

/* The first delimiter line at or after `from` that starts a line: 1 or 2 (see delim_at) with
 * its line start in *dl, or 0 when there is none. */
static int find_delim(struct vox_multipart *mp, size_t from, size_t *dl, size_t *next)
{
    char needle[3 + VOX_MULTIPART_MAX_BOUNDARY];
    size_t nlen = 3 + mp->boundary.len, s = from;
    int k;

    if (from <= mp->len && (from == 0 || mp->body[from - 1] == '\n')) {
        k = delim_at(mp, from, next);
        if (k) {
            *dl = from;
            return k;
        }
    }
    needle[0] = '\n';
    needle[1] = '-';
    needle[2] = '-';
    memcpy(needle + 3, mp->boundary.p, mp->boundary.len);
    while (s < mp->len) {
        const char *q = memmem(mp->body + s, mp->len - s, needle, nlen);
        size_t x;

        if (!q)
            return 0;
        x = (size_t)(q - mp->body) + 1;
        k = delim_at(mp, x, next);
        if (k) {
            *dl = x;
            return k;
        }
        s = x;
    }
    return 0;
}

/* Removes the line break before a delimiter line at `end`: it belongs to the delimiter. */
static size_t before_break(const char *b, size_t start, size_t end)
{
    if (end > start && b[end - 1] == '\n')
        end--;
    if (end > start && b[end - 1] == '\r')
        end--;
    return end;
}

int vox_multipart_init(struct vox_multipart *mp, struct vox_str content_type, const char *body,
                       size_t len, unsigned flags, struct vox_diag *diag)
{
    struct vox_sip_media_type mt;
    size_t dl = 0, next = 0;
    int k;

    if (!mp || (!body && len))
        return VOX_EINVAL;
    memset(mp, 0, sizeof(*mp));
    mp->body = body;
    mp->len = len;
    mp->flags = flags;
    if (vox_sip_media_type_parse(content_type, &mt) < 0 || !vox_str_ieq(mt.type, "multipart")) {
        vox_diag_set(diag, "Content-Type '%.*s' is not multipart/...",
                     (int)(content_type.len > 80 ? 80 : content_type.len),
                     content_type.p ? content_type.p : "");
        return VOX_EMALFORMED;
    }
    if (!vox_sip_param_get(mt.params, "boundary", &mp->boundary) || mp->boundary.len == 0 ||
        mp->boundary.len > VOX_MULTIPART_MAX_BOUNDARY) {
        vox_diag_set(diag,
                     "multipart Content-Type needs a boundary parameter of 1..%d "
                     "characters (RFC 2046 §5.1.1)",
                     VOX_MULTIPART_MAX_BOUNDARY);
        return VOX_EMALFORMED;
    }
    k = find_delim(mp, 0, &dl, &next);
    if (!k) {
        vox_diag_set(diag, "no '--%.*s' delimiter line in the %zu-byte body", (int)mp->boundary.len,
                     mp->boundary.p, len);
        return VOX_EMALFORMED;
    }
    mp->preamble = mkstr(body, before_break(body, 0, dl));
    if (k == 2) {
        /* a close delimiter first: no parts at all */
        mp->epilogue = mkstr(body + next, len - next);
        mp->done = 1;
    }
    mp->pos = next;
    return 0;
}

int vox_multipart_next(struct vox_multipart *mp, struct vox_mime_part *part, struct vox_diag *diag)
{
    size_t p, dl = 0, next = 0, limit, bstart, hend;
    unsigned nh = 0;
    int k;

    if (!mp || !part)
        return VOX_EINVAL;
    if (mp->done)
        return 0;
    if (mp->pos >= mp->len) {
        /* the body ends right after a delimiter line: no part follows and no close came */
        mp->unterminated = 1;
        mp->done = 1;
        if (mp->flags & VOX_MULTIPART_STRICT) {
            vox_diag_set(diag, "body ends without the closing '--%.*s--' delimiter",
                         (int)mp->boundary.len, mp->boundary.p);
            return VOX_EMALFORMED;
        }
        return 0;
    }
    memset(part, 0, sizeof(*part));
    part->index = mp->count;
    p = hend = mp->pos;
    /* the next delimiter bounds this part, headers included; search from the line break that
     * may end an empty body right after the headers */
    k = find_delim(mp, p, &dl, &next);
    if (!k) {
        if (mp->flags & VOX_MULTIPART_STRICT) {
            vox_diag_set(diag, "part %u: body ends without the closing '--%.*s--' delimiter",
                         mp->count, (int)mp->boundary.len, mp->boundary.p);
            return VOX_EMALFORMED;
        }
        dl = mp->len;
    }
    /* one byte past the delimiter's line start lets the tokenizer see that the last header
     * line is not folded */
    limit = dl < mp->len ? dl + 1 : mp->len;
    while (p < dl) {
        struct vox_sip_header h;
        struct vox_diag hd;

        int rc = vox_sip_header_next(mp->body, limit, &p, &h, &hd);
        if (rc == 0)
            break; /* the empty line: the body follows */
        if (rc < 0) {
            vox_diag_set(diag, "part %u: %s", mp->count,
                         rc == VOX_EINCOMPLETE ? "headers do not end before the body does"
                                               : hd.text);
            return rc == VOX_EINCOMPLETE ? VOX_EMALFORMED : rc;
        }
        if (++nh > VOX_MULTIPART_MAX_PART_HEADERS) {
            vox_diag_set(diag, "part %u: more than %d header fields", mp->count,
                         VOX_MULTIPART_MAX_PART_HEADERS);
            return VOX_ELIMIT;
        }
        hend = p;
        if (h.id == VOX_SIP_H_CONTENT_TYPE)
            part->content_type = h.value;
        else if (h.id == VOX_SIP_H_CONTENT_DISPOSITION)
            part->content_disposition = h.value;
        else if (h.id == VOX_SIP_H_CONTENT_ID)
            part->content_id = h.value;
    }
    /* header block: up to (not including) the line break of its last field */
    part->headers = mkstr(mp->body + mp->pos, before_break(mp->body, mp->pos, hend) - mp->pos);
    bstart = p < dl ? p : dl;
    if (k)
        part->body = mkstr(mp->body + bstart, before_break(mp->body, bstart, dl) - bstart);
    else
        part->body = mkstr(mp->body + bstart, mp->len - bstart);
    if (part->content_type.len) {
        if (vox_sip_media_type_parse(part->content_type, &part->type) < 0) {
            vox_diag_set(diag, "part %u: Content-Type '%.*s' is not type/subtype", mp->count,
                         (int)(part->content_type.len > 80 ? 80 : part->content_type.len),
                         part->content_type.p);
            return VOX_EMALFORMED;
        }
    } else {
        /* RFC 2046 §5.1: the default is text/plain; charset=us-ascii */
        part->type.type = vox_str_c("text");
        part->type.subtype = vox_str_c("plain");
    }
    part->nested = vox_str_ieq(part->type.type, "multipart");
    if (part->content_disposition.len) {
        size_t i = 0;

        while (i < part->content_disposition.len && part->content_disposition.p[i] != ';' &&
               part->content_disposition.p[i] != ' ' && part->content_disposition.p[i] != '\t')
            i++;
        part->disposition_type = mkstr(part->content_disposition.p, i);
    }
    mp->count++;
    if (k == 2) {
        mp->epilogue = mkstr(mp->body + next, mp->len - next);
        mp->done = 1;
        mp->pos = mp->len;
    } else if (k == 1) {
        mp->pos = next;
    } else {
        mp->unterminated = 1;
        mp->done = 1;
        mp->pos = mp->len;
    }
    return 1;
}

int vox_multipart_find(struct vox_str content_type, const char *body, size_t len,
                       const char *type_subtype, struct vox_mime_part *part, struct vox_diag *diag)
{
    struct vox_sip_media_type mt;
    struct vox_multipart mp;
    int rc;

    if (!type_subtype || !part || (!body && len))
        return VOX_EINVAL;
    if (vox_sip_media_type_parse(content_type, &mt) < 0) {
        vox_diag_set(diag, "Content-Type '%.*s' is not type/subtype",
                     (int)(content_type.len > 80 ? 80 : content_type.len),
                     content_type.p ? content_type.p : "");
        return VOX_EMALFORMED;
    }
    if (!vox_str_ieq(mt.type, "multipart")) {
        if (!vox_sip_media_type_is(&mt, type_subtype))
            return VOX_ENOENT;
        memset(part, 0, sizeof(*part));
        part->content_type = content_type;
        part->type = mt;
        part->body = mkstr(body, len);
        return 0;
    }
    rc = vox_multipart_init(&mp, content_type, body, len, 0, diag);
    if (rc)
        return rc;
    while ((rc = vox_multipart_next(&mp, part, diag)) == 1)
        if (vox_sip_media_type_is(&part->type, type_subtype))
            return 0;
    return rc < 0 ? rc : VOX_ENOENT;
}
