/* SPDX-License-Identifier: MIT */
/* The HTTP API server over real loopback sockets, and the JSON and Prometheus writers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "vox/core.h"
#include "vox/httpd.h"

/* ---- a tiny HTTP/1.1 client ------------------------------------------------------------------ */

struct reply {
    int status;
    char head[4096]; /* status line and headers, NUL-terminated */
    char *body;      /* malloc'd, NUL-terminated */
    size_t body_len;
};

/* Sends `req` as is to 127.0.0.1:port and reads until the server closes (the requests say
 * Connection: close). Fails the test on a socket error or after a 5 s silence. */
static void http_raw(unsigned port, const char *req, size_t req_len, struct reply *out)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct timeval tv = {.tv_sec = 5};
    size_t cap = 1 << 16, len = 0, off = 0;
    char *buf = malloc(cap + 1), *end;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ssize_t n;

    memset(out, 0, sizeof(*out));
    assert_non_null(buf);
    assert_true(fd >= 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
        fail_msg("connect to port %u: %s", port, strerror(errno));
    while (off < req_len) {
        n = send(fd, req + off, req_len - off, MSG_NOSIGNAL);
        if (n <= 0)
            break; /* the server may answer and close before reading everything */
        off += (size_t)n;
    }
    for (;;) {
        if (len == cap) {
            char *bigger = realloc(buf, 2 * cap + 1);

            assert_non_null(bigger);
            buf = bigger;
            cap *= 2;
        }
        n = recv(fd, buf + len, cap - len, 0);
        if (n < 0 && errno == ECONNRESET && len > 0)
            break;
        if (n < 0)
            fail_msg("recv: %s", strerror(errno));
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = 0;
    end = strstr(buf, "\r\n\r\n");
    if (!end) {
        fail_msg("no end of headers in %zu bytes: '%s'", len, buf);
        return;
    }
    assert_true((size_t)(end - buf) < sizeof(out->head));
    memcpy(out->head, buf, (size_t)(end - buf));
    out->head[end - buf] = 0;
    assert_int_equal(sscanf(buf, "HTTP/1.%*d %d", &out->status), 1);
    out->body_len = len - (size_t)(end + 4 - buf);
    out->body = malloc(out->body_len + 1);
    assert_non_null(out->body);
    memcpy(out->body, end + 4, out->body_len);
    out->body[out->body_len] = 0;
    free(buf);
}

static void http_get(unsigned port, const char *method, const char *target, struct reply *out)
{
    char req[1024];
    int n =
        snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                 method, target);

    http_raw(port, req, (size_t)n, out);
}

/* The value of header `name` (case-insensitive), copied into buf; NULL when absent. */
static const char *header(const struct reply *r, const char *name, char *buf, size_t len)
{
    const char *p = strstr(r->head, "\r\n");
    size_t nlen = strlen(name);

    while (p) {
        const char *line = p + 2, *eol = strstr(line, "\r\n");
        size_t llen = eol ? (size_t)(eol - line) : strlen(line);

        if (llen > nlen && !strncasecmp(line, name, nlen) && line[nlen] == ':') {
            const char *v = line + nlen + 1;

            while (*v == ' ')
                v++;
            snprintf(buf, len, "%.*s", (int)(llen - (size_t)(v - line)), v);
            return buf;
        }
        p = eol;
    }
    return NULL;
}

static void reply_free(struct reply *r)
{
    free(r->body);
    r->body = NULL;
}

/* ---- the handler under test ------------------------------------------------------------------ */

struct ctx {
    _Atomic int calls;
};

static void write_metrics(struct vox_buf *b)
{
    vox_prom_metric(b, "vox_sessions_active", "gauge", "Recording sessions in progress.", NULL, 12);
    vox_prom_metric(b, "vox_cache_lookups_total", "counter", "Session cache lookups.",
                    "result=\"hit\"", 950);
    vox_prom_metric(b, "vox_cache_lookups_total", "counter", "Session cache lookups.",
                    "result=\"miss\"", 50);
    vox_prom_metric(b, "vox_cache_hit_ratio", "gauge", "Hits per lookup.", NULL, 0.95);
}

static void handler(void *v, const struct vox_http_request *req, struct vox_http_response *resp)
{
    struct ctx *c = v;

    atomic_fetch_add(&c->calls, 1);
    if (!strcmp(req->path, "/hello")) {
        vox_buf_printf(&resp->body, "{\"hello\":\"world\",\"method\":");
        vox_buf_json_str(&resp->body, req->method);
        vox_buf_printf(&resp->body, ",\"query\":");
        vox_buf_json_str(&resp->body, req->query);
        vox_buf_printf(&resp->body, "}");
    } else if (!strcmp(req->path, "/metrics")) {
        resp->content_type = VOX_PROM_CONTENT_TYPE;
        write_metrics(&resp->body);
    } else if (!strcmp(req->path, "/oom")) {
        vox_buf_printf(&resp->body, "partial");
        resp->body.oom = 1;
    } else if (!strcmp(req->path, "/big")) {
        int i;

        for (i = 0; i < 20000; i++)
            vox_buf_printf(&resp->body, "%05d\n", i);
        resp->content_type = "text/plain";
    } else {
        resp->status = 404;
        vox_buf_printf(&resp->body, "{\"error\":\"not found\",\"path\":");
        vox_buf_json_str(&resp->body, req->path);
        vox_buf_printf(&resp->body, "}");
    }
}

static struct vox_httpd *start(struct ctx *c, unsigned threads)
{
    struct vox_httpd_config cfg = {
        .bind_address = "127.0.0.1", .port = 0, .threads = threads, .handler = handler, .ctx = c};
    struct vox_httpd *h = NULL;
    struct vox_diag diag = {{0}};
    int rc = vox_httpd_start(&cfg, &h, &diag);

    if (rc)
        fail_msg("vox_httpd_start: %s: %s", vox_err_name(rc), diag.text);
    assert_true(vox_httpd_port(h) > 0);
    return h;
}

/* ---- server tests ---------------------------------------------------------------------------- */

static void get_json_and_query(void **st)
{
    struct ctx c = {0};
    struct vox_httpd *h = start(&c, 1);
    struct reply r;
    char v[256];

    (void)st;
    http_get(vox_httpd_port(h), "GET", "/hello", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(header(&r, "Content-Type", v, sizeof(v)), "application/json");
    assert_string_equal(r.body, "{\"hello\":\"world\",\"method\":\"GET\",\"query\":null}");
    assert_string_equal(header(&r, "Content-Length", v, sizeof(v)), "45");
    reply_free(&r);

    /* The query comes back decoded and re-encoded: separators inside values stay escaped. */
    http_get(vox_httpd_port(h), "GET", "/hello?a=1&b=x%20y&c=%26%3D&flag", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"hello\":\"world\",\"method\":\"GET\",\"query\":"
                                "\"a=1&b=x%20y&c=%26%3D&flag\"}");
    reply_free(&r);

    /* A large body (120 kB) arrives whole. */
    http_get(vox_httpd_port(h), "GET", "/big", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 20000 * 6);
    assert_memory_equal(r.body + 19999 * 6, "19999\n", 6);
    reply_free(&r);
    assert_int_equal(atomic_load(&c.calls), 3);
    vox_httpd_stop(h);
    vox_httpd_stop(NULL);
}

static void not_found_from_handler(void **st)
{
    struct ctx c = {0};
    struct vox_httpd *h = start(&c, 1);
    struct reply r;
    char v[256];

    (void)st;
    http_get(vox_httpd_port(h), "GET", "/api/no%22such", &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(header(&r, "Content-Type", v, sizeof(v)), "application/json");
    assert_string_equal(r.body, "{\"error\":\"not found\",\"path\":\"/api/no\\\"such\"}");
    reply_free(&r);
    vox_httpd_stop(h);
}

static void methods_other_than_get_get_405(void **st)
{
    static const char post[] = "POST /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                               "text/plain\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";
    static const char *const others[] = {"PUT", "DELETE", "OPTIONS", "PATCH"};
    struct ctx c = {0};
    struct vox_httpd *h = start(&c, 1);
    struct reply r;
    char v[256];
    size_t i;

    (void)st;
    http_raw(vox_httpd_port(h), post, sizeof(post) - 1, &r);
    assert_int_equal(r.status, 405);
    assert_non_null(header(&r, "Allow", v, sizeof(v)));
    assert_string_equal(v, "GET, HEAD");
    assert_non_null(strstr(r.body, "405"));
    reply_free(&r);
    for (i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        http_get(vox_httpd_port(h), others[i], "/hello", &r);
        assert_int_equal(r.status, 405);
        assert_string_equal(header(&r, "Allow", v, sizeof(v)), "GET, HEAD");
        reply_free(&r);
    }
    assert_int_equal(atomic_load(&c.calls), 0); /* the handler never saw them */
    vox_httpd_stop(h);
}

static void head_has_no_body(void **st)
{
    struct ctx c = {0};
    struct vox_httpd *h = start(&c, 1);
    struct reply r;
    char v[256];

    (void)st;
    http_get(vox_httpd_port(h), "HEAD", "/hello", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 0);
    assert_string_equal(header(&r, "Content-Type", v, sizeof(v)), "application/json");
    /* Content-Length says what the body would be: the GET one with "HEAD" for "GET". */
    assert_string_equal(header(&r, "Content-Length", v, sizeof(v)), "46");
    reply_free(&r);
    vox_httpd_stop(h);
}

static void oom_body_gets_500(void **st)
{
    struct ctx c = {0};
    struct vox_httpd *h = start(&c, 1);
    struct reply r;

    (void)st;
    http_get(vox_httpd_port(h), "GET", "/oom", &r);
    assert_int_equal(r.status, 500);
    assert_null(strstr(r.body, "partial"));
    reply_free(&r);
    vox_httpd_stop(h);
}

static void metrics_line_by_line(void **st)
{
    static const char *const want[] = {
        "# HELP vox_sessions_active Recording sessions in progress.",
        "# TYPE vox_sessions_active gauge",
        "vox_sessions_active 12",
        "# HELP vox_cache_lookups_total Session cache lookups.",
        "# TYPE vox_cache_lookups_total counter",
        "vox_cache_lookups_total{result=\"hit\"} 950",
        "vox_cache_lookups_total{result=\"miss\"} 50",
        "# HELP vox_cache_hit_ratio Hits per lookup.",
        "# TYPE vox_cache_hit_ratio gauge",
        "vox_cache_hit_ratio 0.95",
    };
    struct ctx c = {0};
    struct vox_httpd *h = start(&c, 2);
    struct reply r;
    char v[256], *line, *save = NULL;
    size_t i = 0;

    (void)st;
    http_get(vox_httpd_port(h), "GET", "/metrics", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(header(&r, "Content-Type", v, sizeof(v)), VOX_PROM_CONTENT_TYPE);
    assert_true(r.body_len > 0 && r.body[r.body_len - 1] == '\n');
    for (line = strtok_r(r.body, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        assert_true(i < sizeof(want) / sizeof(want[0]));
        assert_string_equal(line, want[i]);
        i++;
    }
    assert_int_equal(i, sizeof(want) / sizeof(want[0]));
    reply_free(&r);
    vox_httpd_stop(h);
}

static void oversized_request_refused(void **st)
{
    struct ctx c = {0};
    struct vox_httpd *h = start(&c, 1);
    size_t big = 40000;
    char *req = malloc(big + 200);
    struct reply r;
    int n;

    (void)st;
    assert_non_null(req);
    n = snprintf(req, 200, "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: ");
    memset(req + n, 'a', big);
    memcpy(req + n + big, "\r\nConnection: close\r\n\r\n", 24);
    http_raw(vox_httpd_port(h), req, (size_t)n + big + 23, &r);
    assert_true(r.status >= 400 && r.status < 500);
    reply_free(&r);
    free(req);
    assert_int_equal(atomic_load(&c.calls), 0);
    /* The server still serves afterwards. */
    http_get(vox_httpd_port(h), "GET", "/hello", &r);
    assert_int_equal(r.status, 200);
    reply_free(&r);
    vox_httpd_stop(h);
}

static void port_in_use_and_bad_config(void **st)
{
    struct ctx c = {0};
    struct vox_httpd *h = start(&c, 1), *h2 = (void *)1;
    struct vox_httpd_config cfg = {.bind_address = "127.0.0.1", .handler = handler, .ctx = &c};
    struct vox_diag diag = {{0}};
    char want[128];
    int rc;

    (void)st;
    cfg.port = vox_httpd_port(h);
    rc = vox_httpd_start(&cfg, &h2, &diag);
    assert_int_equal(rc, -EADDRINUSE);
    assert_null(h2);
    snprintf(want, sizeof(want), "HTTP API: cannot listen on 127.0.0.1:%u: Address already in use",
             cfg.port);
    assert_string_equal(diag.text, want);
    vox_httpd_stop(h);

    cfg.port = 0;
    cfg.bind_address = "localhost";
    assert_int_equal(vox_httpd_start(&cfg, &h2, &diag), VOX_EINVAL);
    assert_non_null(strstr(diag.text, "'localhost' is not an IPv4 or IPv6 address"));
    cfg.bind_address = NULL; /* default 127.0.0.1 */
    cfg.threads = VOX_HTTPD_MAX_THREADS + 1;
    assert_int_equal(vox_httpd_start(&cfg, &h2, &diag), VOX_EINVAL);
    cfg.threads = 0;
    cfg.port = 70000;
    assert_int_equal(vox_httpd_start(&cfg, &h2, &diag), VOX_EINVAL);
    cfg.port = 0;
    cfg.handler = NULL;
    assert_int_equal(vox_httpd_start(&cfg, &h2, &diag), VOX_EINVAL);
    assert_non_null(strstr(diag.text, "no request handler"));
    assert_int_equal(vox_httpd_start(NULL, &h2, NULL), VOX_EINVAL);
    cfg.handler = handler;
    assert_int_equal(vox_httpd_start(&cfg, &h2, NULL), 0);
    vox_httpd_stop(h2);
}

/* ---- writers --------------------------------------------------------------------------------- */

static void buf_grows_and_caps(void **st)
{
    struct vox_buf b;
    int i;

    (void)st;
    vox_buf_init(&b);
    assert_null(b.data);
    for (i = 0; i < 1000; i++)
        vox_buf_printf(&b, "%d,", i);
    assert_false(b.oom);
    assert_int_equal(b.len, strlen(b.data));
    assert_memory_equal(b.data, "0,1,2,", 6);
    assert_memory_equal(b.data + b.len - 4, "999,", 4);
    vox_buf_printf(&b, "%s", ""); /* an empty append keeps the text */
    assert_int_equal(b.len, strlen(b.data));
    /* Past the hard cap: the append is dropped, oom set, later appends ignored. */
    vox_buf_append(&b, "x", VOX_BUF_MAX_BYTES);
    assert_true(b.oom);
    i = (int)b.len;
    vox_buf_printf(&b, "more");
    assert_int_equal(b.len, (size_t)i);
    vox_buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_false(b.oom);
    vox_buf_free(&b);
}

static void json_strings(void **st)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"plain", "\"plain\""},
        {"", "\"\""},
        {"q\"b\\s/", "\"q\\\"b\\\\s/\""},
        {"a\nb\rc\td\x01\x1f", "\"a\\nb\\rc\\td\\u0001\\u001f\""},
        {"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x8E\x99",
         "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x8E\x99\""},
        /* Not UTF-8: a lone continuation byte, an overlong '/', a surrogate, a truncated
         * sequence at the end, and a byte that never starts one. */
        {"x\x80y", "\"x\xEF\xBF\xBDy\""},
        {"\xC0\xAF", "\"\xEF\xBF\xBD\xEF\xBF\xBD\""},
        {"\xED\xA0\x80", "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\""},
        {"ab\xE2\x82", "\"ab\xEF\xBF\xBD\xEF\xBF\xBD\""},
        {"\xFF", "\"\xEF\xBF\xBD\""},
    };
    struct vox_buf b;
    size_t i;

    (void)st;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vox_buf_init(&b);
        vox_buf_json_str(&b, cases[i].in);
        assert_string_equal(b.data, cases[i].out);
        vox_buf_free(&b);
    }
    vox_buf_init(&b);
    vox_buf_json_str(&b, NULL);
    assert_string_equal(b.data, "null");
    vox_buf_free(&b);
}

static void prometheus_histogram(void **st)
{
    static const double le[] = {0.001, 0.0025, 1};
    static const uint64_t counts[] = {3, 0, 5, 2}; /* the last one above 1 */
    static const double bad_le[] = {0.5, 0.5};
    struct vox_buf b;

    (void)st;
    vox_buf_init(&b);
    vox_prom_histogram(&b, "vox_setup_seconds", "INVITE to 200.", le, counts, 3, 12.5);
    assert_false(b.oom);
    assert_string_equal(b.data, "# HELP vox_setup_seconds INVITE to 200.\n"
                                "# TYPE vox_setup_seconds histogram\n"
                                "vox_setup_seconds_bucket{le=\"0.001\"} 3\n"
                                "vox_setup_seconds_bucket{le=\"0.0025\"} 3\n"
                                "vox_setup_seconds_bucket{le=\"1\"} 8\n"
                                "vox_setup_seconds_bucket{le=\"+Inf\"} 10\n"
                                "vox_setup_seconds_sum 12.5\n"
                                "vox_setup_seconds_count 10\n");
    vox_buf_free(&b);
    /* bounds that do not rise, or a bad name: the endpoint must fail, not serve it */
    vox_buf_init(&b);
    vox_prom_histogram(&b, "vox_h", NULL, bad_le, counts, 2, 0);
    assert_true(b.oom);
    vox_buf_free(&b);
    vox_buf_init(&b);
    vox_prom_histogram(&b, "1bad", NULL, le, counts, 3, 0);
    assert_true(b.oom);
    vox_buf_free(&b);
}

static void prometheus_writer(void **st)
{
    struct vox_buf b;
    char want[1024];

    (void)st;
    vox_buf_init(&b);
    vox_prom_metric(&b, "vox_up", "gauge", "Line one\nwith a \\ backslash.", NULL, 1);
    vox_prom_metric(&b, "vox_alloc_bytes", "gauge", "Bytes.", "backend=\"pool\"", 1e20);
    vox_prom_metric(&b, "vox_alloc_bytes", "gauge", "Bytes.", "backend=\"system\"", -3.5);
    vox_prom_metric(&b, "vox_ratio", "gauge", NULL, "", 0.1);
    vox_prom_metric(&b, "vox_nan", "gauge", "n", NULL, NAN);
    vox_prom_metric(&b, "vox_inf", "gauge", "i", "x=\"+\"", INFINITY);
    vox_prom_metric(&b, "vox_inf", "gauge", "i", "x=\"-\"", -INFINITY);
    vox_prom_metric(&b, "vox:rule_total", "counter", "r", NULL, 18446744073709551615.0);
    vox_prom_metric(&b, "vox_third", "gauge", "t", NULL, 1.0 / 3.0);
    snprintf(want, sizeof(want),
             "# HELP vox_up Line one\\nwith a \\\\ backslash.\n"
             "# TYPE vox_up gauge\n"
             "vox_up 1\n"
             "# HELP vox_alloc_bytes Bytes.\n"
             "# TYPE vox_alloc_bytes gauge\n"
             "vox_alloc_bytes{backend=\"pool\"} 1e+20\n"
             "vox_alloc_bytes{backend=\"system\"} -3.5\n"
             "# TYPE vox_ratio gauge\n"
             "vox_ratio 0.1\n"
             "# HELP vox_nan n\n# TYPE vox_nan gauge\nvox_nan NaN\n"
             "# HELP vox_inf i\n# TYPE vox_inf gauge\n"
             "vox_inf{x=\"+\"} +Inf\nvox_inf{x=\"-\"} -Inf\n"
             "# HELP vox:rule_total r\n# TYPE vox:rule_total counter\n"
             "vox:rule_total 1.8446744073709552e+19\n"
             "# HELP vox_third t\n# TYPE vox_third gauge\n"
             "vox_third 0.33333333333333331\n");
    assert_string_equal(b.data, want);
    assert_false(b.oom);
    /* A name that is a prefix of one already written still gets its own TYPE. */
    vox_prom_metric(&b, "vox_alloc", "gauge", "p", NULL, 2);
    assert_non_null(strstr(b.data, "# TYPE vox_alloc gauge\nvox_alloc 2\n"));
    assert_false(b.oom);
    vox_buf_free(&b);

    /* Bad names and types fail the buffer rather than writing what a scraper rejects. */
    vox_buf_init(&b);
    vox_prom_metric(&b, "9lives", "gauge", "h", NULL, 1);
    assert_true(b.oom);
    vox_buf_free(&b);
    vox_buf_init(&b);
    vox_prom_metric(&b, "bad-name", "gauge", "h", NULL, 1);
    assert_true(b.oom);
    vox_buf_free(&b);
    vox_buf_init(&b);
    vox_prom_metric(&b, "ok", "histogram", "h", NULL, 1);
    assert_true(b.oom);
    vox_buf_free(&b);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(buf_grows_and_caps),
        cmocka_unit_test(json_strings),
        cmocka_unit_test(prometheus_writer),
        cmocka_unit_test(get_json_and_query),
        cmocka_unit_test(not_found_from_handler),
        cmocka_unit_test(methods_other_than_get_get_405),
        cmocka_unit_test(head_has_no_body),
        cmocka_unit_test(oom_body_gets_500),
        cmocka_unit_test(metrics_line_by_line),
        cmocka_unit_test(prometheus_histogram),
        cmocka_unit_test(oversized_request_refused),
        cmocka_unit_test(port_in_use_and_bad_config),
    };

    (void)argc;
    vox_process_prepare(argv);
    return cmocka_run_group_tests_name("httpd", tests, NULL, NULL);
}
