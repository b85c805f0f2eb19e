/* SPDX-License-Identifier: MIT */
/* The HTTP API server on libmicrohttpd, and the text/JSON/Prometheus writers for its bodies. */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vox/alloc.h"
#include "vox/httpd.h"

/* ---- text buffer ----------------------------------------------------------------------------- */

void vox_buf_init(struct vox_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->oom = 0;
}

void vox_buf_free(struct vox_buf *b)
{
    vox_free(vox_allocator_default(), b->data, b->cap);
    vox_buf_init(b);
}

/* Makes room for `extra` more bytes plus the NUL; returns 0, or -1 after setting oom. */
static int reserve(struct vox_buf *b, size_t extra)
{
    size_t need, cap;
    char *p;

    if (b->oom)
        return -1;
    if (extra > VOX_BUF_MAX_BYTES - b->len) {
        b->oom = 1;
        return -1;
    }
    need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    p = vox_alloc(vox_allocator_default(), cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    if (b->len)
        memcpy(p, b->data, b->len);
    p[b->len] = 0;
    vox_free(vox_allocator_default(), b->data, b->cap);
    b->data = p;
    b->cap = cap;
    return 0;
}

void vox_buf_append(struct vox_buf *b, const char *s, size_t len)
{
    if (reserve(b, len))
        return;
    if (len)
        memcpy(b->data + b->len, s, len);
    b->len += len;
    b->data[b->len] = 0;
}

static void buf_vprintf(struct vox_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;

    if (reserve(b, 0))
        return;
    va_copy(ap2, ap);
    n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        b->data[b->len] = 0;
        b->oom = 1;
        return;
    }
    if ((size_t)n >= b->cap - b->len) {
        /* Did not fit: grow to the exact size and format again. */
        b->data[b->len] = 0;
        if (reserve(b, (size_t)n))
            return;
        vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    }
    b->len += (size_t)n;
}

void vox_buf_printf(struct vox_buf *b, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    buf_vprintf(b, fmt, ap);
    va_end(ap);
}

/* Length of the valid UTF-8 sequence at s (1..4 bytes), or 0 when it is not valid (RFC 3629 §4:
 * no overlongs, no surrogates, nothing past U+10FFFF). */
static size_t utf8_len(const unsigned char *s)
{
    unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xBF;
    size_t n, i;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4;
    else
        return 0;
    if (c == 0xE0)
        lo = 0xA0;
    else if (c == 0xED)
        hi = 0x9F;
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    /* A NUL terminator fails the range check, so nothing past the string is read. */
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return n;
}

void vox_buf_json_str(struct vox_buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s, *run;

    if (!s) {
        vox_buf_append(b, "null", 4);
        return;
    }
    vox_buf_append(b, "\"", 1);
    run = p;
    while (*p) {
        char esc[8];
        size_t n = utf8_len(p);

        if (n && *p >= 0x20 && *p != '"' && *p != '\\') {
            p += n;
            continue;
        }
        vox_buf_append(b, (const char *)run, (size_t)(p - run));
        if (!n) {
            vox_buf_append(b, "\xEF\xBF\xBD", 3); /* U+FFFD REPLACEMENT CHARACTER */
        } else if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            vox_buf_append(b, esc, 2);
        } else if (*p == '\n') {
            vox_buf_append(b, "\\n", 2);
        } else if (*p == '\r') {
            vox_buf_append(b, "\\r", 2);
        } else if (*p == '\t') {
            vox_buf_append(b, "\\t", 2);
        } else {
            snprintf(esc, sizeof(esc), "\\u%04x", *p);
            vox_buf_append(b, esc, 6);
        }
        p++;
        run = p;
    }
    vox_buf_append(b, (const char *)run, (size_t)(p - run));
    vox_buf_append(b, "\"", 1);
}

/* ---- Prometheus ------------------------------------------------------------------------------ */

static int prom_name_ok(const char *name)
{
    const char *p;

    if (!name || !*name || (*name >= '0' && *name <= '9'))
        return 0;
    for (p = name; *p; p++) {
        char c = *p;

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == ':'))
            return 0;
    }
    return 1;
}

/* Whether a "# TYPE <name> " line is already in the buffer. */
static int prom_seen(const struct vox_buf *b, const char *name)
{
    size_t nlen = strlen(name);
    const char *p;

    if (!b->data)
        return 0;
    for (p = b->data; (p = strstr(p, "# TYPE ")) != NULL; p += 7) {
        if ((p == b->data || p[-1] == '\n') && !strncmp(p + 7, name, nlen) && p[7 + nlen] == ' ')
            return 1;
    }
    return 0;
}

/* The HELP (when there is one) and TYPE lines of a metric. */
static void prom_head(struct vox_buf *b, const char *name, const char *type, const char *help)
{
    if (help) {
        const char *p;

        vox_buf_printf(b, "# HELP %s ", name);
        /* Exposition format: in HELP text, backslash and line feed are escaped. */
        for (p = help; *p; p++) {
            if (*p == '\\')
                vox_buf_append(b, "\\\\", 2);
            else if (*p == '\n')
                vox_buf_append(b, "\\n", 2);
            else
                vox_buf_append(b, p, 1);
        }
        vox_buf_append(b, "\n", 1);
    }
    vox_buf_printf(b, "# TYPE %s %s\n", name, type);
}

/* Writes a value so that it parses back to the same double (Go's strconv, which Prometheus
 * uses, reads every form printed here). */
static void prom_value(struct vox_buf *b, double v)
{
    char num[40];

    if (v != v) {
        vox_buf_append(b, "NaN", 3);
    } else if (v > 1.7976931348623157e308) {
        vox_buf_append(b, "+Inf", 4);
    } else if (v < -1.7976931348623157e308) {
        vox_buf_append(b, "-Inf", 4);
    } else if (v > -9.0e18 && v < 9.0e18 && (double)(long long)v == v) {
        vox_buf_printf(b, "%lld", (long long)v);
    } else {
        snprintf(num, sizeof(num), "%.15g", v);
        if (strtod(num, NULL) != v)
            snprintf(num, sizeof(num), "%.17g", v);
        vox_buf_append(b, num, strlen(num));
    }
}

void vox_prom_metric(struct vox_buf *b, const char *name, const char *type, const char *help,
                     const char *labels, double value)
{
    if (!prom_name_ok(name) || !type || (strcmp(type, "counter") && strcmp(type, "gauge"))) {
        b->oom = 1;
        return;
    }
    if (!prom_seen(b, name))
        prom_head(b, name, type, help);
    if (labels && *labels)
        vox_buf_printf(b, "%s{%s} ", name, labels);
    else
        vox_buf_printf(b, "%s ", name);
    prom_value(b, value);
    vox_buf_append(b, "\n", 1);
}

void vox_prom_histogram(struct vox_buf *b, const char *name, const char *help, const double *le,
                        const uint64_t *counts, size_t n, double sum)
{
    char series[256];
    uint64_t total = 0;
    size_t i;

    if (!prom_name_ok(name) || strlen(name) + sizeof("_bucket") > sizeof(series)) {
        b->oom = 1;
        return;
    }
    for (i = 1; i < n; i++)
        if (!(le[i] > le[i - 1])) {
            b->oom = 1;
            return;
        }
    prom_head(b, name, "histogram", help);
    snprintf(series, sizeof(series), "%s_bucket", name);
    for (i = 0; i <= n; i++) {
        total += counts[i];
        if (i < n) {
            vox_buf_printf(b, "%s{le=\"", series);
            prom_value(b, le[i]);
            vox_buf_append(b, "\"} ", 3);
        } else {
            vox_buf_printf(b, "%s{le=\"+Inf\"} ", series);
        }
        prom_value(b, (double)total);
        vox_buf_append(b, "\n", 1);
    }
    vox_buf_printf(b, "%s_sum ", name);
    prom_value(b, sum);
    vox_buf_printf(b, "\n%s_count ", name);
    prom_value(b, (double)total);
    vox_buf_append(b, "\n", 1);
}

/* ---- server ---------------------------------------------------------------------------------- */

#define DEFAULT_MAX_CONNECTIONS 64
#define DEFAULT_TIMEOUT_S       10
#define DEFAULT_REQUEST_BYTES   (16 * 1024)

struct vox_httpd {
    struct MHD_Daemon *daemon;
    vox_http_handler handler;
    void *ctx;
    unsigned port;
};

static const char *const text_plain = "text/plain; charset=utf-8";

/* Queues a response with `body` (copied) and returns what MHD_queue_response returned. */
static enum MHD_Result send_reply(struct MHD_Connection *conn, unsigned status,
                                  const char *content_type, const char *body, size_t len,
                                  const char *allow)
{
    struct MHD_Response *r;
    enum MHD_Result ret;

    r = MHD_create_response_from_buffer(len, (void *)(len ? body : ""), MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO; /* MHD closes the connection */
    if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type) != MHD_YES ||
        (allow && MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow) != MHD_YES)) {
        MHD_destroy_response(r);
        return MHD_NO;
    }
    ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static int unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

static void append_encoded(struct vox_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p;

    for (p = (const unsigned char *)s; *p; p++) {
        char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};

        if (unreserved(*p))
            vox_buf_append(b, (const char *)p, 1);
        else
            vox_buf_append(b, e, 3);
    }
}

static enum MHD_Result add_query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    struct vox_buf *q = cls;

    (void)kind;
    if (q->len)
        vox_buf_append(q, "&", 1);
    append_encoded(q, key ? key : "");
    if (value) {
        vox_buf_append(q, "=", 1);
        append_encoded(q, value);
    }
    return MHD_YES;
}

/*
 * MHD calls this once per request with the headers read (and again per chunk of a body, which
 * never happens: every request is answered at the first call; MHD then discards or refuses
 * what body remains and closes the connection when needed).
 */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    static const char not_allowed[] = "405 method not allowed: this API serves GET and HEAD\n";
    static const char failed[] = "500 internal error: the response could not be built\n";
    struct vox_httpd *h = cls;
    struct vox_http_request req = {.method = method, .path = url};
    struct vox_http_response resp = {.status = 200, .content_type = "application/json"};
    struct vox_buf query;
    enum MHD_Result ret;

    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)req_cls;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return send_reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, text_plain, not_allowed,
                          sizeof(not_allowed) - 1, "GET, HEAD");

    vox_buf_init(&query);
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, add_query_arg, &query);
    if (query.oom) {
        vox_buf_free(&query);
        return send_reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, text_plain, failed,
                          sizeof(failed) - 1, NULL);
    }
    req.query = query.len ? query.data : NULL;
    vox_buf_init(&resp.body);
    h->handler(h->ctx, &req, &resp);
    if (resp.body.oom || resp.status < 100 || resp.status > 599 || !resp.content_type)
        ret = send_reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, text_plain, failed,
                         sizeof(failed) - 1, NULL);
    else
        ret = send_reply(conn, (unsigned)resp.status, resp.content_type, resp.body.data,
                         resp.body.len, NULL);
    vox_buf_free(&resp.body);
    vox_buf_free(&query);
    return ret;
}

union addr {
    struct sockaddr sa;
    struct sockaddr_in in4;
    struct sockaddr_in6 in6;
};

/* "127.0.0.1:8080" or "[::1]:8080", for messages. */
static void addr_text(const char *host, unsigned port, int v6, char *buf, size_t len)
{
    snprintf(buf, len, v6 ? "[%s]:%u" : "%s:%u", host, port);
}

/*
 * libmicrohttpd returns NULL without saying why, so after a failed start the bind is tried
 * again here, the way MHD does it (SO_REUSEADDR), to name the cause. Returns the negated errno
 * of bind/listen, or 0 when they work (the failure was elsewhere in MHD).
 */
static int probe_listen(const union addr *a, socklen_t alen)
{
    int fd = socket(a->sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1, rc = 0;

    if (fd < 0)
        return VOX__ERR(errno);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (a->sa.sa_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, &a->sa, alen) != 0 || listen(fd, 16) != 0)
        rc = VOX__ERR(errno);
    close(fd);
    return rc;
}

int vox_httpd_start(const struct vox_httpd_config *cfg, struct vox_httpd **out,
                    struct vox_diag *diag)
{
    const char *host = cfg && cfg->bind_address ? cfg->bind_address : "127.0.0.1";
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;
    unsigned threads, max_conn, timeout_s;
    size_t max_req;
    union addr a;
    socklen_t alen;
    struct vox_httpd *h;
    const union MHD_DaemonInfo *info;
    char where[80];
    int v6, rc;

    if (!out)
        return VOX_EINVAL;
    *out = NULL;
    if (!cfg || !cfg->handler) {
        vox_diag_set(diag, "HTTP API: no request handler given");
        return VOX_EINVAL;
    }
    threads = cfg->threads ? cfg->threads : 1;
    max_conn = cfg->max_connections ? cfg->max_connections : DEFAULT_MAX_CONNECTIONS;
    timeout_s = cfg->timeout_s ? cfg->timeout_s : DEFAULT_TIMEOUT_S;
    max_req = cfg->max_request_bytes ? cfg->max_request_bytes : DEFAULT_REQUEST_BYTES;
    v6 = strchr(host, ':') != NULL;
    addr_text(host, cfg->port, v6, where, sizeof(where));
    if (cfg->port > 65535 || threads > VOX_HTTPD_MAX_THREADS) {
        vox_diag_set(diag, "HTTP API: %s: port over 65535 or %u threads (1..%d)", where, threads,
                     VOX_HTTPD_MAX_THREADS);
        return VOX_EINVAL;
    }
    memset(&a, 0, sizeof(a));
    if (v6) {
        a.in6.sin6_family = AF_INET6;
        a.in6.sin6_port = htons((uint16_t)cfg->port);
        rc = inet_pton(AF_INET6, host, &a.in6.sin6_addr);
        alen = sizeof(a.in6);
        flags |= MHD_USE_IPv6;
    } else {
        a.in4.sin_family = AF_INET;
        a.in4.sin_port = htons((uint16_t)cfg->port);
        rc = inet_pton(AF_INET, host, &a.in4.sin_addr);
        alen = sizeof(a.in4);
    }
    if (rc != 1) {
        vox_diag_set(diag, "HTTP API: '%s' is not an IPv4 or IPv6 address to listen on", host);
        return VOX_EINVAL;
    }

    h = vox_alloc(vox_allocator_default(), sizeof(*h));
    if (!h) {
        vox_diag_set(diag, "HTTP API: out of memory");
        return VOX_ENOMEM;
    }
    h->handler = cfg->handler;
    h->ctx = cfg->ctx;
    h->daemon =
        MHD_start_daemon(flags, (uint16_t)cfg->port, NULL, NULL, on_request, h,
                         MHD_OPTION_SOCK_ADDR, &a.sa, MHD_OPTION_THREAD_POOL_SIZE, threads,
                         MHD_OPTION_CONNECTION_LIMIT, max_conn, MHD_OPTION_CONNECTION_TIMEOUT,
                         timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT, max_req, MHD_OPTION_END);
    if (!h->daemon) {
        char msg[128];

        vox_free(vox_allocator_default(), h, sizeof(*h));
        rc = probe_listen(&a, alen);
        if (rc) {
            vox_diag_set(diag, "HTTP API: cannot listen on %s: %s", where,
                         strerror_r(-rc, msg, sizeof(msg)));
            return rc;
        }
        vox_diag_set(diag, "HTTP API: libmicrohttpd could not start on %s (%u threads)", where,
                     threads);
        return VOX_EIO;
    }
    info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info && info->port ? info->port : cfg->port;
    *out = h;
    return 0;
}

unsigned vox_httpd_port(const struct vox_httpd *h)
{
    return h->port;
}

void vox_httpd_stop(struct vox_httpd *h)
{
    if (!h)
        return;
    MHD_stop_daemon(h->daemon);
    vox_free(vox_allocator_default(), h, sizeof(*h));
}
