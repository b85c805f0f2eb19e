/* SPDX-License-Identifier: MIT */
/* SIP printers: responses built from a parsed request (RFC 3261 §8.2.6) and generic requests. */
#include "vox/sip.h"

#include <stdio.h>
#include <string.h>

/* An output buffer that stops writing, and remembers it, when full. */
struct out {
    char *p;
    size_t cap;
    size_t len;
    int full;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (n == 0)
        return;
    if (o->full || n > o->cap - o->len) {
        size_t room = o->cap - o->len;

        if (!o->full && room) {
            memcpy(o->p + o->len, s, room);
            o->len += room;
        }
        o->full = 1;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void puts_(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

static void put_str(struct out *o, struct vox_str s)
{
    if (s.len)
        put(o, s.p, s.len);
}

/* Copies a header value with every fold replaced by one SP. */
static void put_unfolded(struct out *o, struct vox_str v)
{
    size_t i = 0, start = 0;

    if (!v.len)
        return;
    while (i < v.len) {
        if (v.p[i] == '\r' || v.p[i] == '\n') {
            size_t j = i;

            /* the whitespace before the line break belongs to the fold too */
            while (j > start && (v.p[j - 1] == ' ' || v.p[j - 1] == '\t'))
                j--;
            put(o, v.p + start, j - start);
            put(o, " ", 1);
            while (i < v.len &&
                   (v.p[i] == '\r' || v.p[i] == '\n' || v.p[i] == ' ' || v.p[i] == '\t'))
                i++;
            start = i;
            continue;
        }
        i++;
    }
    put(o, v.p + start, v.len - start);
}

static void put_uint(struct out *o, unsigned long v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof(tmp), "%lu", v);

    put(o, tmp, (size_t)n);
}

static void put_header(struct out *o, enum vox_sip_hdr id, struct vox_str value)
{
    puts_(o, vox_sip_hdr_name(id));
    put(o, ": ", 2);
    put_unfolded(o, value);
    put(o, "\r\n", 2);
}

static void put_all(struct out *o, const struct vox_sip_msg *m, enum vox_sip_hdr id)
{
    size_t i;

    for (i = 0; i < m->nheaders; i++)
        if (m->headers[i].id == id)
            put_header(o, id, m->headers[i].value);
}

/* Caller strings may not break a header line. */
static int line_safe(const char *s)
{
    return s && !strpbrk(s, "\r\n");
}

static int fields_safe(const struct vox_sip_field *f, size_t n)
{
    size_t i;

    if (n && !f)
        return 0;
    for (i = 0; i < n; i++)
        if (!line_safe(f[i].name) || !*f[i].name || strpbrk(f[i].name, " \t:") ||
            !line_safe(f[i].value))
            return 0;
    return 1;
}

static void put_fields(struct out *o, const struct vox_sip_field *f, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        puts_(o, f[i].name);
        put(o, ": ", 2);
        puts_(o, f[i].value);
        put(o, "\r\n", 2);
    }
}

static void put_body(struct out *o, const char *content_type, struct vox_str body)
{
    if (body.len && content_type) {
        put(o, "Content-Type: ", 14);
        puts_(o, content_type);
        put(o, "\r\n", 2);
    }
    put(o, "Content-Length: ", 16);
    put_uint(o, (unsigned long)body.len);
    put(o, "\r\n\r\n", 4);
    put_str(o, body);
}

static int finish(struct out *o, size_t *out_len)
{
    if (out_len)
        *out_len = o->len;
    if (o->full)
        return VOX_ERANGE;
    if (o->len < o->cap)
        o->p[o->len] = 0;
    return 0;
}

const char *vox_sip_reason_phrase(int status)
{
    switch (status) {
    case 100:
        return "Trying";
    case 180:
        return "Ringing";
    case 181:
        return "Call Is Being Forwarded";
    case 182:
        return "Queued";
    case 183:
        return "Session Progress";
    case 200:
        return "OK";
    case 202:
        return "Accepted";
    case 300:
        return "Multiple Choices";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Moved Temporarily";
    case 305:
        return "Use Proxy";
    case 380:
        return "Alternative Service";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 402:
        return "Payment Required";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 407:
        return "Proxy Authentication Required";
    case 408:
        return "Request Timeout";
    case 410:
        return "Gone";
    case 413:
        return "Request Entity Too Large";
    case 414:
        return "Request-URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 416:
        return "Unsupported URI Scheme";
    case 420:
        return "Bad Extension";
    case 421:
        return "Extension Required";
    case 423:
        return "Interval Too Brief";
    case 480:
        return "Temporarily Unavailable";
    case 481:
        return "Call/Transaction Does Not Exist";
    case 482:
        return "Loop Detected";
    case 483:
        return "Too Many Hops";
    case 484:
        return "Address Incomplete";
    case 485:
        return "Ambiguous";
    case 486:
        return "Busy Here";
    case 487:
        return "Request Terminated";
    case 488:
        return "Not Acceptable Here";
    case 491:
        return "Request Pending";
    case 493:
        return "Undecipherable";
    case 500:
        return "Server Internal Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Server Time-out";
    case 505:
        return "Version Not Supported";
    case 513:
        return "Message Too Large";
    case 600:
        return "Busy Everywhere";
    case 603:
        return "Decline";
    case 604:
        return "Does Not Exist Anywhere";
    case 606:
        return "Not Acceptable";
    default:
        return "Unknown";
    }
}

int vox_sip_print_response(const struct vox_sip_msg *req, const struct vox_sip_response_spec *spec,
                           char *buf, size_t cap, size_t *out_len)
{
    struct out o = {buf, cap, 0, 0};
    const struct vox_sip_header *h;
    const char *reason;

    if (out_len)
        *out_len = 0;
    if (!req || !spec || (!buf && cap) || !req->is_request || spec->status < 100 ||
        spec->status > 699)
        return VOX_EINVAL;
    reason = spec->reason ? spec->reason : vox_sip_reason_phrase(spec->status);
    if (!line_safe(reason) ||
        (spec->to_tag &&
         (!line_safe(spec->to_tag) || strpbrk(spec->to_tag, " \t;,<>\"") || !*spec->to_tag)) ||
        !fields_safe(spec->headers, spec->nheaders) ||
        (spec->content_type && !line_safe(spec->content_type)))
        return VOX_EINVAL;

    put(&o, "SIP/2.0 ", 8);
    put_uint(&o, (unsigned long)spec->status);
    put(&o, " ", 1);
    puts_(&o, reason);
    put(&o, "\r\n", 2);
    /* RFC 3261 §8.2.6.2: Via values in the same order; one line per request line keeps it */
    put_all(&o, req, VOX_SIP_H_VIA);
    /* RFC 3261 §12.1.1: a dialog-creating response copies Record-Route */
    if (spec->status > 100 && spec->status < 300 &&
        (req->method_id == VOX_SIP_METHOD_INVITE || req->method_id == VOX_SIP_METHOD_SUBSCRIBE ||
         req->method_id == VOX_SIP_METHOD_REFER || req->method_id == VOX_SIP_METHOD_NOTIFY))
        put_all(&o, req, VOX_SIP_H_RECORD_ROUTE);
    h = vox_sip_find(req, VOX_SIP_H_FROM, 0);
    if (h)
        put_header(&o, VOX_SIP_H_FROM, h->value);
    h = vox_sip_find(req, VOX_SIP_H_TO, 0);
    if (h) {
        struct vox_sip_nameaddr to;

        puts_(&o, "To: ");
        put_unfolded(&o, h->value);
        /* RFC 3261 §8.2.6.2: the UAS adds a tag unless the request had one (in-dialog) */
        if (spec->to_tag && spec->status > 100 && vox_sip_nameaddr_parse(h->value, &to) == 0 &&
            !to.has_tag && !(to.uri.len == 1 && to.uri.p[0] == '*')) {
            /* "To: <sip:x>;" (a dangling ';' is tolerated) must not become ";;tag=" */
            if (h->value.p[h->value.len - 1] == ';')
                put(&o, "tag=", 4);
            else
                put(&o, ";tag=", 5);
            puts_(&o, spec->to_tag);
        }
        put(&o, "\r\n", 2);
    }
    h = vox_sip_find(req, VOX_SIP_H_CALL_ID, 0);
    if (h)
        put_header(&o, VOX_SIP_H_CALL_ID, h->value);
    h = vox_sip_find(req, VOX_SIP_H_CSEQ, 0);
    if (h)
        put_header(&o, VOX_SIP_H_CSEQ, h->value);
    put_fields(&o, spec->headers, spec->nheaders);
    put_body(&o, spec->content_type, spec->body);
    return finish(&o, out_len);
}

int vox_sip_print_request(const struct vox_sip_request_spec *spec, char *buf, size_t cap,
                          size_t *out_len)
{
    struct out o = {buf, cap, 0, 0};

    if (out_len)
        *out_len = 0;
    if (!spec || (!buf && cap) || !spec->method || !*spec->method || !spec->request_uri ||
        !*spec->request_uri || strpbrk(spec->method, " \t\r\n") ||
        strpbrk(spec->request_uri, " \t\r\n") || !fields_safe(spec->headers, spec->nheaders) ||
        (spec->content_type && !line_safe(spec->content_type)))
        return VOX_EINVAL;
    puts_(&o, spec->method);
    put(&o, " ", 1);
    puts_(&o, spec->request_uri);
    put(&o, " SIP/2.0\r\n", 10);
    put_fields(&o, spec->headers, spec->nheaders);
    put_body(&o, spec->content_type, spec->body);
    return finish(&o, out_len);
}
