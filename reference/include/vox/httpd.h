/* SPDX-License-Identifier: MIT */
/* The SIPREC server's HTTP API (libmicrohttpd), and the text, JSON and Prometheus writers its
 * handlers fill responses with. */
#ifndef VOX_HTTPD_H
#define VOX_HTTPD_H

#include <stddef.h>

#include "vox/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- growable text buffer ------------------------------------------------------------------ */

/*
 * A growable text buffer that stays NUL-terminated (data is NULL until the first append).
 * Appends never fail loudly: when memory runs out or the buffer would pass VOX_BUF_MAX_BYTES,
 * `oom` is set, the append is dropped, and every later append is ignored, so a handler can
 * write its whole body and check once. Memory comes from the default allocator. Not
 * thread-safe: one owner.
 */
struct vox_buf {
    char *data; /* len bytes + NUL; NULL while empty */
    size_t len; /* bytes written, NUL excluded */
    size_t cap; /* bytes allocated */
    int oom;    /* an append failed: the content is incomplete */
};

#define VOX_BUF_MAX_BYTES (64u << 20) /* hard cap: no response body grows past 64 MiB */

/* Makes an empty buffer (no allocation). */
void vox_buf_init(struct vox_buf *b);

/* Frees the memory and leaves the buffer empty (as after init). */
void vox_buf_free(struct vox_buf *b);

/* Appends printf-style text. */
void vox_buf_printf(struct vox_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends `len` bytes as they are. */
void vox_buf_append(struct vox_buf *b, const char *s, size_t len);

/*
 * Appends `s` as a JSON string literal, quotes included (RFC 8259 §7): `"` and `\` escaped,
 * control characters as \n, \t, ... or \u00XX, and bytes that are not valid UTF-8 replaced by
 * U+FFFD, so the output is valid JSON whatever a peer put in a Call-ID. NULL appends `null`.
 */
void vox_buf_json_str(struct vox_buf *b, const char *s);

/*
 * Appends one sample in the Prometheus text exposition format 0.0.4: the `# HELP` and `# TYPE`
 * lines the first time `name` appears in the buffer, then `name{labels} value`. `type` is
 * "counter" or "gauge"; `help` is escaped (\\ and \n); `labels` is NULL or the inside of the
 * braces, already formatted (`backend="pool",shard="3"`); the value is written so that it reads
 * back exactly (integers as integers, NaN, +Inf, -Inf). Samples of one name must be appended
 * one after another (the format requires a metric's samples to be grouped). A name that is not
 * a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) or an unknown type marks the buffer failed
 * (`oom`), so that the endpoint answers 500 instead of serving output a scraper rejects.
 */
void vox_prom_metric(struct vox_buf *b, const char *name, const char *type, const char *help,
                     const char *labels, double value);

/*
 * Appends a histogram `name`: HELP and TYPE, then name_bucket{le="..."} for each of the `n`
 * upper bounds `le` (ascending) and for +Inf, cumulative, then name_sum and name_count.
 * `counts` holds n + 1 per-bucket (not cumulative) counts, the last one above le[n - 1].
 * Invalid names or bounds not ascending mark the buffer failed, as above.
 */
void vox_prom_histogram(struct vox_buf *b, const char *name, const char *help, const double *le,
                        const uint64_t *counts, size_t n, double sum);

/* The Content-Type of the Prometheus text format. */
#define VOX_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* ---- server -------------------------------------------------------------------------------- */

/* A request as the handler sees it. Strings are valid during the handler call only. */
struct vox_http_request {
    const char *method; /* "GET" or "HEAD" (other methods never reach the handler) */
    const char *path;   /* percent-decoded path, "/api/sessions" */
    /* The query arguments, NULL when there are none: "a=1&b=x%20y", rebuilt from the decoded
     * arguments with every byte outside [A-Za-z0-9-._~] percent-encoded again, so that '&' and
     * '=' inside a value cannot be mistaken for separators. */
    const char *query;
};

/* A response the handler fills: status 200 and "application/json" are preset; content_type
 * must point at a string that outlives the call (a literal). For HEAD the body is measured for
 * Content-Length but not sent. */
struct vox_http_response {
    int status;
    const char *content_type;
    struct vox_buf body;
};

/* Called for each GET/HEAD request, on the server's thread(s): concurrently when threads > 1. */
typedef void (*vox_http_handler)(void *ctx, const struct vox_http_request *req,
                                 struct vox_http_response *resp);

struct vox_httpd_config {
    const char *bind_address; /* IPv4 or IPv6 literal; NULL: "127.0.0.1" */
    unsigned port;            /* 0: an ephemeral port (see vox_httpd_port) */
    unsigned threads;         /* 0 or 1: one internal polling thread (epoll); more: a pool */
    vox_http_handler handler; /* required */
    void *ctx;                /* passed to the handler (borrowed) */
    unsigned max_connections; /* concurrent connections; 0: 64 */
    unsigned timeout_s;       /* idle connection timeout; 0: 10 s */
    size_t max_request_bytes; /* request line + headers; 0: 16 KiB; larger gets a 4xx */
};

struct vox_httpd;

#define VOX_HTTPD_MAX_THREADS 64

/*
 * Starts a server listening on bind_address:port and stores it in *out (owned by the caller,
 * stopped with vox_httpd_stop). Only GET and HEAD reach the handler; any other method gets 405
 * with `Allow: GET, HEAD`. A handler whose body hit OOM gets 500 instead of a truncated body.
 * Returns 0; VOX_EINVAL with `diag` for a missing handler, a bad address, a port over 65535 or
 * over VOX_HTTPD_MAX_THREADS threads; the negated errno of the failing bind or listen (for
 * example -EADDRINUSE) with a diag such as "HTTP API: cannot listen on 127.0.0.1:8080: Address
 * already in use"; or VOX_EIO when libmicrohttpd fails for another reason.
 */
int vox_httpd_start(const struct vox_httpd_config *cfg, struct vox_httpd **out,
                    struct vox_diag *diag);

/* The port the server listens on (the ephemeral one chosen when cfg->port was 0). */
unsigned vox_httpd_port(const struct vox_httpd *h);

/* Stops accepting, closes every connection, waits for the server's threads (and so for
 * running handlers) and frees the server. NULL is a no-op. */
void vox_httpd_stop(struct vox_httpd *h);

#ifdef __cplusplus
}
#endif

#endif /* VOX_HTTPD_H */
