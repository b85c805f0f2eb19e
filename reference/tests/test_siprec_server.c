/* SPDX-License-Identifier: MIT */
/* The SIPREC server in this process, driven over real UDP/TCP sockets on 127.0.0.1: SIPREC
 * INVITEs with two labelled streams, RTP, BYE, re-INVITE pause/resume and stream removal,
 * CANCEL, OPTIONS, rejections (488 non-SIPREC, 420, 400, 503 busy and ports), retransmissions,
 * media timeout with BYE, shutdown with sessions open, the HTTP API and the configuration. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "siprec/internal.h" /* srs_closers_hold, srs_files_hold */
#include "test_util.h"
#include "vox/core.h"
#include "vox/g711.h"
#include "vox/rtp.h"
#include "vox/siprec.h"
#include "vox/wav.h"

/* ---- a server in a thread ------------------------------------------------------------------- */

struct srv {
    struct vox_srs *srs;
    pthread_t thread;
    char dir[64];
    unsigned sip_port, http_port;
};

static void *srv_main(void *arg)
{
    vox_srs_run(((struct srv *)arg)->srs);
    return NULL;
}

/* Starts a server with defaults for tests plus "KEY=value" overrides (NULL-terminated). */
static void srv_start(struct srv *sv, ...)
{
    struct vox_srs_config cfg;
    struct vox_diag diag = {{0}};
    va_list ap;
    const char *kv;

    snprintf(sv->dir, sizeof(sv->dir), "/tmp/vox-srs-test-XXXXXX");
    assert_non_null(mkdtemp(sv->dir));
    assert_int_equal(vox_srs_config_init(&cfg), 0);
    assert_int_equal(vox_srs_config_set(&cfg, "SIP_PORT", "0", "test", &diag), 0);
    assert_int_equal(vox_srs_config_set(&cfg, "HTTP_PORT", "0", "test", &diag), 0);
    assert_int_equal(vox_srs_config_set(&cfg, "RECORDING_DIR", sv->dir, "test", &diag), 0);
    assert_int_equal(vox_srs_config_set(&cfg, "LOG_LEVEL", "0", "test", &diag), 0);
    assert_int_equal(vox_srs_config_set(&cfg, "WORKER_POOL_SIZE", "2", "test", &diag), 0);
    /* a port range of its own per test program run, away from other tests */
    assert_int_equal(vox_srs_config_set(&cfg, "RTP_PORT_MIN", "31000", "test", &diag), 0);
    assert_int_equal(vox_srs_config_set(&cfg, "RTP_PORT_MAX", "31999", "test", &diag), 0);
    va_start(ap, sv);
    while ((kv = va_arg(ap, const char *)) != NULL) {
        char key[64];
        const char *eq = strchr(kv, '=');
        assert_non_null(eq);
        snprintf(key, sizeof(key), "%.*s", (int)(eq - kv), kv);
        if (vox_srs_config_set(&cfg, key, eq + 1, "test", &diag) < 0)
            fail_msg("%s", diag.text);
    }
    va_end(ap);
    if (vox_srs_create(&cfg, &sv->srs, &diag) < 0)
        fail_msg("server: %s", diag.text);
    vox_srs_config_free(&cfg);
    sv->sip_port = vox_srs_sip_port(sv->srs);
    sv->http_port = vox_srs_http_port(sv->srs);
    assert_int_not_equal(sv->sip_port, 0);
    assert_int_equal(pthread_create(&sv->thread, NULL, srv_main, sv), 0);
}

static void srv_stop(struct srv *sv)
{
    vox_srs_stop(sv->srs);
    pthread_join(sv->thread, NULL);
    vox_srs_destroy(sv->srs);
    sv->srs = NULL;
}

static void rm_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[512];

    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

/* ---- a SIP client ---------------------------------------------------------------------------- */

struct client {
    int fd;
    int tcp;
    unsigned port; /* our local port */
    unsigned server_port;
    char pending[65536]; /* TCP: bytes received, not yet returned */
    size_t pending_len;
};

static void client_open(struct client *c, unsigned server_port, int tcp)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);

    memset(c, 0, sizeof(*c));
    c->tcp = tcp;
    c->server_port = server_port;
    c->fd = socket(AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
    assert_true(c->fd >= 0);
    assert_int_equal(bind(c->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    getsockname(c->fd, (struct sockaddr *)&a, &len);
    c->port = ntohs(a.sin_port);
    a.sin_port = htons((uint16_t)server_port);
    assert_int_equal(connect(c->fd, (struct sockaddr *)&a, sizeof(a)), 0);
}

static void client_close(struct client *c)
{
    close(c->fd);
}

static void client_send(struct client *c, const char *msg, size_t len)
{
    assert_int_equal(send(c->fd, msg, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* Receives one message (a datagram, or one framed TCP message) within timeout_ms into out;
 * returns its length or 0 on timeout. */
static size_t client_recv(struct client *c, char *out, size_t cap, int timeout_ms)
{
    for (;;) {
        if (c->tcp && c->pending_len) {
            struct vox_sip_frame f;
            if (vox_sip_frame(c->pending, c->pending_len, VOX_SIP_TRANSPORT_STREAM, &f, NULL) ==
                0) {
                size_t n = f.len < cap - 1 ? f.len : cap - 1;
                memcpy(out, c->pending + f.skip, n);
                out[n] = 0;
                memmove(c->pending, c->pending + f.skip + f.len, c->pending_len - f.skip - f.len);
                c->pending_len -= f.skip + f.len;
                return n;
            }
        }
        struct pollfd p = {c->fd, POLLIN, 0};
        if (poll(&p, 1, timeout_ms) <= 0)
            return 0;
        if (c->tcp) {
            ssize_t n =
                recv(c->fd, c->pending + c->pending_len, sizeof(c->pending) - c->pending_len, 0);
            if (n <= 0)
                return 0;
            c->pending_len += (size_t)n;
            continue;
        }
        ssize_t n = recv(c->fd, out, cap - 1, 0);
        if (n <= 0)
            return 0;
        out[n] = 0;
        return (size_t)n;
    }
}

/* Waits for a response with status >= min_status (skipping provisional ones below it) and
 * returns its status, 0 on timeout; the text stays in out. */
/* Waits up to `seconds` for a BYE from the server (skipping anything else) and asserts one
 * came; it stays in out. */
static void expect_bye(struct client *c, char *out, size_t cap, int seconds)
{
    size_t n = 0;

    for (int i = 0; i < seconds && !(n && !strncmp(out, "BYE ", 4)); i++)
        n = client_recv(c, out, cap, 1000);
    assert_true(n > 0);
    assert_memory_equal(out, "BYE ", 4);
}

static int client_response(struct client *c, char *out, size_t cap, int min_status, int timeout_ms)
{
    for (;;) {
        size_t n = client_recv(c, out, cap, timeout_ms);
        if (!n)
            return 0;
        int status = 0;
        if (sscanf(out, "SIP/2.0 %d", &status) == 1 && status >= min_status)
            return status;
    }
}

static const char *transport_name(const struct client *c)
{
    return c->tcp ? "TCP" : "UDP";
}

/* The SIPREC offer of the tests: RFC 7865 metadata, two sendonly PCMU/PCMA streams labelled
 * 1 and 2 (RFC 7866 §8.1.1). `dir` is the direction of both streams. */
static size_t siprec_body(char *out, size_t cap, const char *dir, int second_port)
{
    char tmpl[4096];
    snprintf(
        tmpl, sizeof(tmpl),
        "--vox-boundary\n"
        "Content-Type: application/sdp\n"
        "\n"
        "v=0\n"
        "o=src 1 1 IN IP4 127.0.0.1\n"
        "s=recording\n"
        "c=IN IP4 127.0.0.1\n"
        "t=0 0\n"
        "m=audio 40000 RTP/AVP 0 8 101\n"
        "a=rtpmap:0 PCMU/8000\n"
        "a=rtpmap:8 PCMA/8000\n"
        "a=rtpmap:101 telephone-event/8000\n"
        "a=label:1\n"
        "a=%s\n"
        "m=audio %d RTP/AVP 0 8\n"
        "a=rtpmap:0 PCMU/8000\n"
        "a=label:2\n"
        "a=%s\n"
        "\n"
        "--vox-boundary\n"
        "Content-Type: application/rs-metadata+xml\n"
        "Content-Disposition: recording-session\n"
        "\n"
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<recording xmlns=\"urn:ietf:params:xml:ns:recording:1\">\n"
        "  <datamode>complete</datamode>\n"
        "  <session session_id=\"c2Vzc2lvbjE=\"><sipSessionID>abc</sipSessionID></session>\n"
        "  <participant participant_id=\"cGFydEE=\"><nameID aor=\"sip:alice@example.com\">"
        "<name>Alice</name></nameID></participant>\n"
        "  <participant participant_id=\"cGFydEI=\"><nameID aor=\"sip:bob@example.com\">"
        "<name>Bob</name></nameID></participant>\n"
        "  <stream stream_id=\"c3RyMQ==\" session_id=\"c2Vzc2lvbjE=\"><label>1</label></stream>\n"
        "  <stream stream_id=\"c3RyMg==\" session_id=\"c2Vzc2lvbjE=\"><label>2</label></stream>\n"
        "  <participantstreamassoc participant_id=\"cGFydEE=\"><send>c3RyMQ==</send>"
        "<recv>c3RyMg==</recv></participantstreamassoc>\n"
        "  <participantstreamassoc participant_id=\"cGFydEI=\"><send>c3RyMg==</send>"
        "<recv>c3RyMQ==</recv></participantstreamassoc>\n"
        "</recording>\n"
        "--vox-boundary--\n",
        dir, second_port, dir);
    return vox_test_crlf(tmpl, out, cap);
}

/* Prints a request. `to_tag` empty: none. `extra` lines end with "\n". */
static size_t request(char *out, size_t cap, const struct client *c, const char *method,
                      const char *call_id, unsigned cseq, const char *branch, const char *to_tag,
                      const char *extra, const char *ctype, const char *body, size_t body_len)
{
    char head[4096];
    size_t n;

    snprintf(head, sizeof(head),
             "%s sip:srs@127.0.0.1:%u SIP/2.0\n"
             "Via: SIP/2.0/%s 127.0.0.1:%u;branch=z9hG4bK%s;rport\n"
             "Max-Forwards: 70\n"
             "From: \"SBC\" <sip:src@127.0.0.1>;tag=src1\n"
             "To: <sip:srs@127.0.0.1>%s%s\n"
             "Call-ID: %s\n"
             "CSeq: %u %s\n"
             "Contact: <sip:src@127.0.0.1:%u>;+sip.src\n"
             "%s"
             "%s%s%s"
             "Content-Length: %zu\n"
             "\n",
             method, c->server_port, transport_name(c), c->port, branch, to_tag[0] ? ";tag=" : "",
             to_tag, call_id, cseq, method, c->port, extra, ctype ? "Content-Type: " : "",
             ctype ? ctype : "", ctype ? "\n" : "", body_len);
    n = vox_test_crlf(head, out, cap);
    assert_true(n + body_len < cap);
    memcpy(out + n, body, body_len);
    out[n + body_len] = 0;
    return n + body_len;
}

static const char *const MULTIPART = "multipart/mixed;boundary=vox-boundary";
static const char *const SIPREC_HDRS = "Require: siprec\n";

/* Sends a SIPREC INVITE and returns the final status; the answer stays in resp. */
static int invite(struct client *c, const char *call_id, const char *branch, const char *dir,
                  char *resp, size_t cap)
{
    char body[8192], msg[16384];
    size_t blen = siprec_body(body, sizeof(body), dir, 40002);
    size_t len = request(msg, sizeof(msg), c, "INVITE", call_id, 1, branch, "", SIPREC_HDRS,
                         MULTIPART, body, blen);
    client_send(c, msg, len);
    return client_response(c, resp, cap, 200, 3000);
}

/* The To tag of a response. */
static void to_tag_of(const char *resp, char *tag, size_t cap)
{
    struct vox_sip_msg *m = malloc(sizeof(*m));
    struct vox_sip_nameaddr to;

    assert_int_equal(vox_sip_parse(resp, strlen(resp), m, NULL), 0);
    assert_int_equal(vox_sip_get_to(m, &to), 0);
    assert_true(to.has_tag);
    snprintf(tag, cap, "%.*s", (int)to.tag.len, to.tag.p);
    free(m);
}

/* The ports of the m= lines of the SDP in a response, in order; returns their count. */
static size_t answer_ports(const char *resp, unsigned *ports, size_t cap)
{
    size_t n = 0;
    for (const char *p = strstr(resp, "\nm=audio "); p && n < cap; p = strstr(p + 1, "\nm=audio "))
        ports[n++] = (unsigned)atoi(p + 9);
    return n;
}

static void ack(struct client *c, const char *call_id, unsigned cseq, const char *tag)
{
    char msg[4096];
    size_t len = request(msg, sizeof(msg), c, "ACK", call_id, cseq, "ack1", tag, "", NULL, "", 0);
    client_send(c, msg, len);
}

static int bye(struct client *c, const char *call_id, unsigned cseq, const char *tag)
{
    char msg[4096], resp[8192];
    size_t len = request(msg, sizeof(msg), c, "BYE", call_id, cseq, "bye1", tag, "", NULL, "", 0);
    client_send(c, msg, len);
    return client_response(c, resp, sizeof(resp), 200, 3000);
}

/* ---- RTP ---------------------------------------------------------------------------------------
 */

/* Sends `packets` PCMU packets (a 440 Hz tone, 20 ms each, paced) to each port. */
static void send_rtp(const unsigned *ports, size_t nports, unsigned packets)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    int16_t pcm[160];
    uint8_t payload[160], pkt[256];

    assert_true(fd >= 0);
    for (unsigned k = 0; k < packets; k++) {
        for (int i = 0; i < 160; i++)
            pcm[i] = (int16_t)(8000.0 * __builtin_sin(2 * 3.14159265 * 440 * (k * 160 + i) / 8000));
        vox_g711_ulaw_encode(pcm, payload, 160);
        for (size_t s = 0; s < nports; s++) {
            struct vox_rtp_view v = {.version = 2,
                                     .payload_type = 0,
                                     .seq = (uint16_t)(1000 + k),
                                     .timestamp = 160u * k,
                                     .ssrc = 0x1234 + (uint32_t)s,
                                     .payload = payload,
                                     .payload_len_bytes = 160};
            int n = vox_rtp_build(&v, pkt, sizeof(pkt), NULL);
            assert_true(n > 0);
            struct sockaddr_in a = {.sin_family = AF_INET,
                                    .sin_port = htons((uint16_t)ports[s]),
                                    .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
            sendto(fd, pkt, (size_t)n, 0, (struct sockaddr *)&a, sizeof(a));
        }
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL);
    }
    close(fd);
}

/* ---- files -------------------------------------------------------------------------------------
 */

static json_t *load_session_json(const struct srv *sv, const char *call_id)
{
    char path[512];
    json_error_t err;

    snprintf(path, sizeof(path), "%s/%s.json", sv->dir, call_id);
    json_t *j = json_load_file(path, 0, &err);
    if (!j)
        fail_msg("%s: %s (line %d)", path, err.text, err.line);
    return j;
}

/* The session JSON of a call ended by BYE, checked for its two streams labelled "1" and "2"
 * with `packets` RTP packets each. Returns the streams array in *streams; free the object. */
static json_t *load_bye_session(const struct srv *sv, const char *call_id, json_int_t packets,
                                json_t **streams)
{
    json_t *j = load_session_json(sv, call_id);

    assert_string_equal(json_string_value(json_object_get(j, "end_reason")), "bye");
    *streams = json_object_get(j, "streams");
    assert_int_equal(json_array_size(*streams), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *st = json_array_get(*streams, i);
        assert_string_equal(json_string_value(json_object_get(st, "label")), i ? "2" : "1");
        assert_int_equal(json_integer_value(json_object_get(st, "packets")), packets);
    }
    return j;
}

static double wav_seconds(const struct srv *sv, const char *name, unsigned *channels)
{
    char path[512];
    struct vox_wav_info info;
    int16_t *samples = NULL;
    struct vox_diag diag = {{0}};

    snprintf(path, sizeof(path), "%s/%s", sv->dir, name);
    if (vox_wav_read(path, &info, &samples, &diag) < 0)
        fail_msg("%s", diag.text);
    assert_int_equal(info.rate_hz, 8000);
    if (channels)
        *channels = info.channels;
    free(samples);
    return (double)info.frames / info.rate_hz;
}

/* ---- tests -------------------------------------------------------------------------------------
 */

static void test_call_udp_and_tcp(void **state)
{
    (void)state;
    struct srv sv;
    char resp[16384], tag[64];
    unsigned ports[4];

    srv_start(&sv, NULL);
    for (int tcp = 0; tcp <= 1; tcp++) {
        struct client c;
        char call_id[64];
        snprintf(call_id, sizeof(call_id), "call-%s@test", tcp ? "tcp" : "udp");
        client_open(&c, sv.sip_port, tcp);
        assert_int_equal(
            invite(&c, call_id, tcp ? "inv-t" : "inv-u", "sendonly", resp, sizeof(resp)), 200);
        /* RFC 7866 §8.1.1: one answer per m= line, recvonly, labels kept */
        assert_non_null(strstr(resp, "Content-Type: application/sdp"));
        assert_int_equal(answer_ports(resp, ports, 4), 2);
        assert_true(ports[0] >= 31000 && ports[0] <= 31999 && ports[0] % 2 == 0);
        assert_true(ports[1] >= 31000 && ports[1] <= 31999 && ports[1] != ports[0]);
        assert_non_null(strstr(resp, "a=label:1\r\n"));
        assert_non_null(strstr(resp, "a=label:2\r\n"));
        assert_null(strstr(resp, "sendrecv"));
        const char *first = strstr(resp, "a=recvonly");
        assert_non_null(first);
        assert_non_null(strstr(first + 1, "a=recvonly"));
        to_tag_of(resp, tag, sizeof(tag));
        ack(&c, call_id, 1, tag);
        send_rtp(ports, 2, 50); /* one second */
        assert_int_equal(bye(&c, call_id, 2, tag), 200);
        client_close(&c);
    }
    srv_stop(&sv);

    for (int tcp = 0; tcp <= 1; tcp++) {
        char call_id[64], name[128];
        unsigned channels;
        snprintf(call_id, sizeof(call_id), "call-%s@test", tcp ? "tcp" : "udp");
        json_t *streams, *j = load_bye_session(&sv, call_id, 50, &streams);
        /* the metadata came through: participants and which stream each sends */
        json_t *meta = json_object_get(j, "metadata");
        assert_non_null(meta);
        assert_string_equal(json_string_value(json_object_get(meta, "dialect")), "rfc7865");
        assert_int_equal(json_array_size(json_object_get(meta, "participants")), 2);
        json_decref(j);
        /* recordings as long as the session (>= the one second of RTP sent) */
        snprintf(name, sizeof(name), "%s_1.wav", call_id);
        double d1 = wav_seconds(&sv, name, &channels);
        assert_int_equal(channels, 1);
        snprintf(name, sizeof(name), "%s_2.wav", call_id);
        double d2 = wav_seconds(&sv, name, &channels);
        snprintf(name, sizeof(name), "%s.wav", call_id);
        double dm = wav_seconds(&sv, name, &channels);
        assert_int_equal(channels, 2);
        assert_true(d1 >= 0.9 && d2 >= 0.9 && dm >= 0.9);
        assert_true(d1 < 5 && d2 < 5 && dm < 5);
    }
    rm_dir(sv.dir);
}

static void test_rejections(void **state)
{
    (void)state;
    struct srv sv;
    struct client c;
    char msg[16384], resp[16384];
    const char *plain_sdp = "v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
                            "t=0 0\r\nm=audio 40000 RTP/AVP 0\r\n";
    size_t len;

    srv_start(&sv, NULL);
    client_open(&c, sv.sip_port, 0);

    /* a plain call is not a recording session: 488 with a Warning saying why */
    len = request(msg, sizeof(msg), &c, "INVITE", "plain@test", 1, "p1", "", "", "application/sdp",
                  plain_sdp, strlen(plain_sdp));
    /* without +sip.src: take it out of the Contact the helper writes */
    char *src = strstr(msg, ";+sip.src");
    memmove(src, src + 9, strlen(src + 9) + 1);
    client_send(&c, msg, strlen(msg));
    assert_int_equal(client_response(&c, resp, sizeof(resp), 200, 3000), 488);
    assert_non_null(strstr(resp, "Warning: 399 vox-siprec \"not a SIPREC recording session"));
    ack(&c, "plain@test", 1, "x");

    /* an option tag we do not support: 420 with Unsupported (RFC 3261 §8.2.2.3) */
    char body[8192];
    size_t blen = siprec_body(body, sizeof(body), "sendonly", 40002);
    len = request(msg, sizeof(msg), &c, "INVITE", "req@test", 1, "r1", "",
                  "Require: siprec, 100rel, foo\n", MULTIPART, body, blen);
    client_send(&c, msg, len);
    assert_int_equal(client_response(&c, resp, sizeof(resp), 200, 3000), 420);
    assert_non_null(strstr(resp, "Unsupported: 100rel, foo"));

    /* no Call-ID: 400 naming it */
    const char *nocid = "OPTIONS sip:srs@127.0.0.1 SIP/2.0\r\n"
                        "Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKx\r\n"
                        "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCSeq: 1 OPTIONS\r\n"
                        "Content-Length: 0\r\n\r\n";
    client_send(&c, nocid, strlen(nocid));
    assert_int_equal(client_response(&c, resp, sizeof(resp), 200, 3000), 400);
    assert_non_null(strstr(resp, "Call-ID"));

    /* garbage gets no answer and changes nothing */
    client_send(&c, "\x01\x02garbage\r\n\r\n", 13);
    assert_int_equal(client_response(&c, resp, sizeof(resp), 100, 300), 0);

    /* in-dialog requests for a dialog that does not exist: 481 */
    len = request(msg, sizeof(msg), &c, "BYE", "nosuch@test", 2, "b9", "t9", "", NULL, "", 0);
    client_send(&c, msg, len);
    assert_int_equal(client_response(&c, resp, sizeof(resp), 200, 3000), 481);

    /* methods a recorder does not serve: 405 with Allow */
    len = request(msg, sizeof(msg), &c, "REGISTER", "reg@test", 1, "g1", "", "", NULL, "", 0);
    client_send(&c, msg, len);
    assert_int_equal(client_response(&c, resp, sizeof(resp), 200, 3000), 405);
    assert_non_null(strstr(resp, "Allow: INVITE"));

    /* OPTIONS: 200 with what we accept and support */
    len = request(msg, sizeof(msg), &c, "OPTIONS", "opt@test", 1, "o1", "", "", NULL, "", 0);
    client_send(&c, msg, len);
    assert_int_equal(client_response(&c, resp, sizeof(resp), 200, 3000), 200);
    assert_non_null(strstr(resp, "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE"));
    assert_non_null(strstr(resp, "Supported: siprec"));
    assert_non_null(strstr(resp, "application/rs-metadata+xml"));

    struct vox_srs_stats st;
    vox_srs_stats(sv.srs, &st);
    assert_int_equal(st.sessions_total, 0);
    assert_int_equal(st.rejected_not_siprec, 1);
    assert_true(st.dropped_malformed >= 1);
    client_close(&c);
    srv_stop(&sv);
    rm_dir(sv.dir);
}

static void test_busy_and_ports(void **state)
{
    (void)state;
    struct srv sv;
    struct client c;
    char resp[16384];

    /* one call at most: the second gets 503 with Retry-After */
    srv_start(&sv, "MAX_CONCURRENT_CALLS=1", "RETRY_AFTER=7", NULL);
    client_open(&c, sv.sip_port, 0);
    assert_int_equal(invite(&c, "busy1@test", "b1", "sendonly", resp, sizeof(resp)), 200);
    assert_int_equal(invite(&c, "busy2@test", "b2", "sendonly", resp, sizeof(resp)), 503);
    assert_non_null(strstr(resp, "Retry-After: 7"));
    client_close(&c);
    srv_stop(&sv);
    rm_dir(sv.dir);

    /* two RTP pairs in the range: the first two-stream call takes both, the next gets 503 */
    srv_start(&sv, "RTP_PORT_MIN=32000", "RTP_PORT_MAX=32003", NULL);
    client_open(&c, sv.sip_port, 0);
    assert_int_equal(invite(&c, "p1@test", "q1", "sendonly", resp, sizeof(resp)), 200);
    assert_int_equal(invite(&c, "p2@test", "q2", "sendonly", resp, sizeof(resp)), 503);
    assert_non_null(strstr(resp, "RTP port"));
    struct vox_srs_stats st;
    vox_srs_stats(sv.srs, &st);
    assert_int_equal(st.rejected_busy, 1);
    client_close(&c);
    srv_stop(&sv);
    rm_dir(sv.dir);

    /* out of open files after the first stream's socket: 500 naming the error, and the next
     * call is answered once descriptors are free again */
    struct rlimit was, low;
    srv_start(&sv, NULL);
    client_open(&c, sv.sip_port, 0);
    int probe = dup(0);
    assert_true(probe >= 0);
    close(probe);
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &was), 0);
    low = was;
    low.rlim_cur = (rlim_t)probe + 1; /* room for one more descriptor */
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    assert_int_equal(invite(&c, "fd1@test", "f1", "sendonly", resp, sizeof(resp)), 500);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &was), 0);
    assert_non_null(strstr(resp, "cannot open an RTP socket: "));
    assert_non_null(strstr(resp, vox_strerror(VOX__ERR(EMFILE))));
    assert_int_equal(invite(&c, "fd2@test", "f2", "sendonly", resp, sizeof(resp)), 200);
    client_close(&c);
    srv_stop(&sv);
    rm_dir(sv.dir);
}

static void test_reinvite_pause_resume_remove(void **state)
{
    (void)state;
    struct srv sv;
    struct client c;
    char resp[16384], msg[16384], body[8192], tag[64];
    unsigned ports[4], ports2[4];
    size_t blen, len;

    srv_start(&sv, NULL);
    client_open(&c, sv.sip_port, 0);
    assert_int_equal(invite(&c, "re@test", "i1", "sendonly", resp, sizeof(resp)), 200);
    to_tag_of(resp, tag, sizeof(tag));
    assert_int_equal(answer_ports(resp, ports, 4), 2);
    ack(&c, "re@test", 1, tag);

    /* pause: both streams inactive; the answer keeps the ports and says inactive */
    blen = siprec_body(body, sizeof(body), "inactive", 40002);
    len = request(msg, sizeof(msg), &c, "INVITE", "re@test", 2, "i2", tag, SIPREC_HDRS, MULTIPART,
                  body, blen);
    client_send(&c, msg, len);
    assert_int_equal(client_response(&c, resp, sizeof(resp), 200, 3000), 200);
    assert_int_equal(answer_ports(resp, ports2, 4), 2);
    assert_int_equal(ports2[0], ports[0]);
    assert_int_equal(ports2[1], ports[1]);
    assert_null(strstr(resp, "a=recvonly"));
    assert_non_null(strstr(resp, "a=inactive"));
    ack(&c, "re@test", 2, tag);

    /* resume */
    blen = siprec_body(body, sizeof(body), "sendonly", 40002);
    len = request(msg, sizeof(msg), &c, "INVITE", "re@test", 3, "i3", tag, SIPREC_HDRS, MULTIPART,
                  body, blen);
    client_send(&c, msg, len);
    assert_int_equal(client_response(&c, resp, sizeof(resp), 200, 3000), 200);
    assert_non_null(strstr(resp, "a=recvonly"));
    ack(&c, "re@test", 3, tag);

    /* remove stream 2 (port 0, RFC 3264 §8.2): its answer line gets port 0 */
    blen = siprec_body(body, sizeof(body), "sendonly", 0);
    len = request(msg, sizeof(msg), &c, "INVITE", "re@test", 4, "i4", tag, SIPREC_HDRS, MULTIPART,
                  body, blen);
    client_send(&c, msg, len);
    assert_int_equal(client_response(&c, resp, sizeof(resp), 200, 3000), 200);
    assert_int_equal(answer_ports(resp, ports2, 4), 2);
    assert_int_equal(ports2[0], ports[0]);
    assert_int_equal(ports2[1], 0);
    ack(&c, "re@test", 4, tag);

    /* an old CSeq in the dialog is refused */
    len = request(msg, sizeof(msg), &c, "INVITE", "re@test", 3, "i5", tag, SIPREC_HDRS, MULTIPART,
                  body, blen);
    client_send(&c, msg, len);
    assert_int_equal(client_response(&c, resp, sizeof(resp), 200, 3000), 500);

    /* a metadata-only UPDATE (Avaya, RFC 7866 §9.1) is answered 200 without SDP */
    const char *meta = "<?xml version=\"1.0\"?>\r\n<recording xmlns=\"urn:ietf:params:xml:ns:"
                       "recording:1\"><datamode>partial</datamode><participant participant_id="
                       "\"cGFydEM=\"><nameID aor=\"sip:carol@example.com\"><name>Carol</name>"
                       "</nameID></participant></recording>\r\n";
    len = request(msg, sizeof(msg), &c, "UPDATE", "re@test", 5, "u1", tag, "",
                  "application/rs-metadata+xml", meta, strlen(meta));
    client_send(&c, msg, len);
    assert_int_equal(client_response(&c, resp, sizeof(resp), 200, 3000), 200);
    assert_null(strstr(resp, "application/sdp"));

    assert_int_equal(bye(&c, "re@test", 6, tag), 200);
    client_close(&c);
    srv_stop(&sv);
    json_t *j = load_session_json(&sv, "re@test");
    json_t *participants = json_object_get(json_object_get(j, "metadata"), "participants");
    assert_int_equal(json_array_size(participants), 3); /* Carol merged in */
    json_decref(j);
    rm_dir(sv.dir);
}

/* A new call's files are made on a closer thread after the 200. With the closers held, the
 * hold re-INVITEs of the even calls find their calls without files and make them themselves;
 * the odd calls' BYEs queue their ends behind the files, which are made on release. Every
 * call ends with a complete recording. */
static void test_requests_before_files(void **state)
{
    (void)state;
    enum { CALLS = 12 };
    struct srv sv;
    struct client c[CALLS];
    char resp[16384], msg[16384], body[8192], tag[CALLS][64], call_id[64], name[128];
    size_t blen, len;

    srv_start(&sv, NULL);
    srs_closers_hold(sv.srs, true);
    blen = siprec_body(body, sizeof(body), "sendonly", 40002);
    for (int i = 0; i < CALLS; i++) {
        snprintf(call_id, sizeof(call_id), "early-%d@test", i);
        client_open(&c[i], sv.sip_port, i % 4 == 3);
        len = request(msg, sizeof(msg), &c[i], "INVITE", call_id, 1, "e1", "", SIPREC_HDRS,
                      MULTIPART, body, blen);
        client_send(&c[i], msg, len);
    }
    for (int i = 0; i < CALLS; i++) {
        assert_int_equal(client_response(&c[i], resp, sizeof(resp), 200, 3000), 200);
        to_tag_of(resp, tag[i], sizeof(tag[i]));
        snprintf(call_id, sizeof(call_id), "early-%d@test", i);
        ack(&c[i], call_id, 1, tag[i]);
        if (i % 2 == 0) {
            /* hold at once: the streams are recorded paused from the start */
            char hold[8192];
            size_t hlen = siprec_body(hold, sizeof(hold), "inactive", 40002);

            len = request(msg, sizeof(msg), &c[i], "INVITE", call_id, 2, "e2", tag[i], SIPREC_HDRS,
                          MULTIPART, hold, hlen);
            client_send(&c[i], msg, len);
            assert_int_equal(client_response(&c[i], resp, sizeof(resp), 200, 3000), 200);
            assert_non_null(strstr(resp, "a=inactive"));
            ack(&c[i], call_id, 2, tag[i]);
        } else {
            assert_int_equal(bye(&c[i], call_id, 3, tag[i]), 200);
        }
    }
    srs_closers_hold(sv.srs, false); /* the BYEs' ends, queued meanwhile, run */
    for (int i = 0; i < CALLS; i += 2) {
        snprintf(call_id, sizeof(call_id), "early-%d@test", i);
        assert_int_equal(bye(&c[i], call_id, 3, tag[i]), 200);
    }
    for (int i = 0; i < CALLS; i++)
        client_close(&c[i]);
    srv_stop(&sv);
    for (int i = 0; i < CALLS; i++) {
        unsigned channels;

        snprintf(call_id, sizeof(call_id), "early-%d@test", i);
        json_t *streams, *j = load_bye_session(&sv, call_id, 0, &streams);
        for (size_t k = 0; k < 2; k++) {
            json_t *st = json_array_get(streams, k);
            /* the hold reached the recorder, though it came before the files */
            assert_string_equal(json_string_value(json_object_get(st, "state")),
                                i % 2 == 0 ? "paused" : "recording");
            snprintf(name, sizeof(name), "%s_%zu.wav", call_id, k + 1);
            assert_true(wav_seconds(&sv, name, &channels) < 5);
            assert_int_equal(channels, 1);
        }
        assert_non_null(json_object_get(j, "metadata"));
        json_decref(j);
        snprintf(name, sizeof(name), "%s.wav", call_id);
        assert_true(wav_seconds(&sv, name, &channels) < 5);
        assert_int_equal(channels, 2);
    }
    rm_dir(sv.dir);
}

static void test_cancel_and_retransmission(void **state)
{
    (void)state;
    struct srv sv;
    struct client c;
    char resp[16384], msg[16384], body[8192], tag[64], tag2[64];
    size_t blen, len;

    srv_start(&sv, "ANSWER_DELAY_MS=1500", NULL);
    client_open(&c, sv.sip_port, 0);
    blen = siprec_body(body, sizeof(body), "sendonly", 40002);
    len = request(msg, sizeof(msg), &c, "INVITE", "cancel@test", 1, "c1", "", SIPREC_HDRS,
                  MULTIPART, body, blen);
    client_send(&c, msg, len);
    assert_int_equal(client_response(&c, resp, sizeof(resp), 100, 3000), 100);
    /* RFC 3261 §9.1: the CANCEL repeats the INVITE's branch, Call-ID, From, To, CSeq number */
    len = request(msg, sizeof(msg), &c, "CANCEL", "cancel@test", 1, "c1", "", "", NULL, "", 0);
    client_send(&c, msg, len);
    int s1 = client_response(&c, resp, sizeof(resp), 200, 3000);
    char resp2[16384];
    int s2 = client_response(&c, resp2, sizeof(resp2), 200, 3000);
    /* the 200 of the CANCEL and the 487 of the INVITE, in either order */
    assert_true((s1 == 200 && s2 == 487) || (s1 == 487 && s2 == 200));
    assert_non_null(strstr(s1 == 487 ? resp : resp2, "CSeq: 1 INVITE"));
    ack(&c, "cancel@test", 1, "x");
    srv_stop(&sv);
    json_t *j = load_session_json(&sv, "cancel@test");
    assert_string_equal(json_string_value(json_object_get(j, "end_reason")), "cancel");
    json_decref(j);
    client_close(&c);
    rm_dir(sv.dir);

    /* the same INVITE twice (a UDP retransmission) is answered from the transaction: one
     * session, the same To tag; without ACK the 200 is retransmitted (RFC 3261 §13.3.1.4) */
    srv_start(&sv, NULL);
    client_open(&c, sv.sip_port, 0);
    assert_int_equal(invite(&c, "retx@test", "x1", "sendonly", resp, sizeof(resp)), 200);
    to_tag_of(resp, tag, sizeof(tag));
    assert_int_equal(invite(&c, "retx@test", "x1", "sendonly", resp, sizeof(resp)), 200);
    to_tag_of(resp, tag2, sizeof(tag2));
    assert_string_equal(tag, tag2);
    assert_int_equal(client_response(&c, resp, sizeof(resp), 200, 2000), 200); /* T1 retransmit */
    ack(&c, "retx@test", 1, tag);
    struct vox_srs_stats st;
    vox_srs_stats(sv.srs, &st);
    assert_int_equal(st.sessions_total, 1);
    assert_true(st.retransmissions_in >= 1);
    assert_true(st.retransmissions_out >= 1);
    client_close(&c);
    srv_stop(&sv);
    json_t *k = load_session_json(&sv, "retx@test");
    assert_string_equal(json_string_value(json_object_get(k, "end_reason")), "shutdown");
    json_decref(k);
    rm_dir(sv.dir);
}

static void test_media_timeout_sends_bye(void **state)
{
    (void)state;
    struct srv sv;
    struct client c;
    char resp[16384], tag[64];
    unsigned ports[4];

    srv_start(&sv, "MEDIA_TIMEOUT=1", NULL);
    client_open(&c, sv.sip_port, 0);
    assert_int_equal(invite(&c, "silent@test", "s1", "sendonly", resp, sizeof(resp)), 200);
    to_tag_of(resp, tag, sizeof(tag));
    answer_ports(resp, ports, 4);
    ack(&c, "silent@test", 1, tag);
    send_rtp(ports, 2, 10);
    /* then silence: the server hangs up with BYE, Reason 408 (RFC 3326) */
    expect_bye(&c, resp, sizeof(resp), 10);
    assert_non_null(strstr(resp, "Reason: SIP;cause=408"));
    assert_non_null(strstr(resp, "Call-ID: silent@test"));
    assert_non_null(strstr(resp, tag)); /* our tag in From */
    srv_stop(&sv);
    json_t *j = load_session_json(&sv, "silent@test");
    assert_string_equal(json_string_value(json_object_get(j, "end_reason")), "timeout");
    json_decref(j);
    client_close(&c);
    rm_dir(sv.dir);
}

/*
 * The 200 goes before the recording's files are made (call setup does not wait for the disk).
 * When they cannot be made, the answered call is ended by the server with a BYE that says so.
 */
static void test_recording_failure_after_answer(void **state)
{
    (void)state;
    struct srv sv;
    struct client c;
    char resp[16384], tag[64];
    FILE *f;

    srv_start(&sv, NULL);
    /* the recording directory becomes a file: no session file can be created in it */
    rm_dir(sv.dir);
    f = fopen(sv.dir, "w");
    assert_non_null(f);
    fclose(f);
    client_open(&c, sv.sip_port, 0);
    assert_int_equal(invite(&c, "nodisk@test", "n1", "sendonly", resp, sizeof(resp)), 200);
    to_tag_of(resp, tag, sizeof(tag));
    ack(&c, "nodisk@test", 1, tag);
    expect_bye(&c, resp, sizeof(resp), 5);
    assert_non_null(strstr(resp, "Reason: SIP;cause=500;text=\"error\""));
    assert_non_null(strstr(resp, "Call-ID: nodisk@test"));
    /* the server is still there for the next call, and the failure is counted as such */
    struct vox_srs_stats st;
    /* the BYE goes out while the session ends: the counters follow within moments */
    for (int i = 0; i < 100; i++) {
        vox_srs_stats(sv.srs, &st);
        if (st.sessions_active == 0 && st.ended_error == 1)
            break;
        usleep(20000);
    }
    assert_int_equal(st.sessions_active, 0);
    assert_int_equal(st.ended_error, 1);
    assert_int_equal(st.setup_count, 1);
    client_close(&c);
    srv_stop(&sv);
    unlink(sv.dir);
}

/* A minimal HTTP GET over a socket; returns the status and leaves the body in out. */
static int http_get(unsigned port, const char *path, char *out, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    char req[256];
    size_t n = 0;
    int status = 0;

    /* a server that never answers fails the test (status 0), not hangs it */
    struct timeval tv = {10, 0};
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
    assert_int_equal(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
    for (;;) {
        ssize_t r = recv(fd, out + n, cap - 1 - n, 0);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    out[n] = 0;
    close(fd);
    sscanf(out, "HTTP/1.%*d %d", &status);
    return status;
}

/* Reads `path` until the page holds `want` and, when set, `also`, 100 times at most 20 ms
 * apart (what the server counts just after it answers can lag the answer). The last page is in
 * `page`. */
static void http_wait(unsigned port, const char *path, const char *want, const char *also,
                      char *page, size_t cap)
{
    for (int i = 0; i < 100; i++) {
        assert_int_equal(http_get(port, path, page, cap), 200);
        if (strstr(page, want) && (!also || strstr(page, also)))
            return;
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL);
    }
}

static void test_http_api(void **state)
{
    (void)state;
    struct srv sv;
    struct client c;
    char resp[16384], tag[64];
    static char page[1 << 18];

    srv_start(&sv, NULL);
    client_open(&c, sv.sip_port, 1);
    assert_int_equal(invite(&c, "api@test", "a1", "sendonly", resp, sizeof(resp)), 200);
    to_tag_of(resp, tag, sizeof(tag));
    ack(&c, "api@test", 1, tag);

    assert_int_equal(http_get(sv.http_port, "/health", page, sizeof(page)), 200);
    assert_non_null(strstr(page, "\"status\":\"ok\""));
    /* The server counts the setup time just after it sent the 200, so the count can lag the
     * answer by a moment on a loaded machine (TSan): wait (bounded) for it. */
    http_wait(sv.http_port, "/metrics", "\nvox_siprec_setup_seconds_count 1\n", NULL, page,
              sizeof(page));
    assert_non_null(strstr(page, "\nvox_siprec_sessions_active 1\n"));
    assert_non_null(strstr(page, "# TYPE vox_siprec_requests_total counter"));
    assert_non_null(strstr(page, "vox_siprec_cache_hit_ratio"));
    assert_non_null(strstr(page, "vox_siprec_rtp_ports_in_use 2\n"));
    /* INVITE to 200 as a histogram: the one answer in the last bucket as in the count */
    assert_non_null(strstr(page, "# TYPE vox_siprec_setup_seconds histogram\n"));
    assert_non_null(strstr(page, "\nvox_siprec_setup_seconds_bucket{le=\"0.0001\"} "));
    assert_non_null(strstr(page, "\nvox_siprec_setup_seconds_bucket{le=\"+Inf\"} 1\n"));
    assert_non_null(strstr(page, "\nvox_siprec_setup_seconds_count 1\n"));
    /* the ACK travels on its own, and a closer makes the files: wait (bounded) for both */
    http_wait(sv.http_port, "/api/sessions", "\"state\":\"confirmed\"",
              "\"streams\":[{\"label\":", page, sizeof(page));
    const char *body = strstr(page, "\r\n\r\n");
    assert_non_null(body);
    json_error_t err;
    json_t *j = json_loads(body + 4, 0, &err);
    assert_non_null(j);
    json_t *s0 = json_array_get(json_object_get(j, "sessions"), 0);
    assert_string_equal(json_string_value(json_object_get(s0, "call_id")), "api@test");
    assert_string_equal(json_string_value(json_object_get(s0, "state")), "confirmed");
    assert_int_equal(json_array_size(json_object_get(s0, "streams")), 2);
    json_decref(j);
    assert_int_equal(http_get(sv.http_port, "/api/resources", page, sizeof(page)), 200);
    assert_non_null(strstr(page, "\"ports\":{\"min\":31000"));
    assert_int_equal(http_get(sv.http_port, "/nope", page, sizeof(page)), 404);

    assert_int_equal(bye(&c, "api@test", 2, tag), 200);
    client_close(&c);
    srv_stop(&sv);
    rm_dir(sv.dir);
}

/* How many threads wait at the files gate (srs_files_hold), read under the closers' lock. */
static unsigned files_waiting(struct srv *sv)
{
    pthread_mutex_lock(&sv->srs->timeout_lock);
    unsigned n = sv->srs->files_waiting;
    pthread_mutex_unlock(&sv->srs->timeout_lock);
    return n;
}

/* While a call's files are being made (held at the gate, the session unlocked), the SIP loop,
 * the ACK and the HTTP API go on; a re-INVITE, which changes the recording, waits for the files
 * and then reaches them. Before, the closer held the session's lock through the disk, and the
 * API (like the 200's retransmission timer on the SIP loop) waited for it. */
static void test_requests_while_files_are_made(void **state)
{
    (void)state;
    struct srv sv;
    struct client c, c2;
    char resp[16384], msg[16384], hold[8192], tag[64], tag2[64], page[16384];
    size_t hlen, len;
    unsigned channels;

    srv_start(&sv, NULL);
    srs_files_hold(sv.srs, true);
    hlen = siprec_body(hold, sizeof(hold), "inactive", 40002);
    client_open(&c, sv.sip_port, false);
    assert_int_equal(invite(&c, "making@test", "m1", "sendonly", resp, sizeof(resp)), 200);
    to_tag_of(resp, tag, sizeof(tag));
    ack(&c, "making@test", 1, tag);
    for (int i = 0; i < 300 && files_waiting(&sv) == 0; i++) {
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(files_waiting(&sv), 1);

    /* the API answers, and the ACK took the session's lock */
    http_wait(sv.http_port, "/api/sessions", "\"state\":\"confirmed\"", NULL, page, sizeof(page));
    assert_non_null(strstr(page, "\"state\":\"confirmed\""));
    assert_non_null(strstr(page, "\"streams\":[]"));
    /* so does a new call: its 200 does not wait for the first call's files */
    client_open(&c2, sv.sip_port, true);
    assert_int_equal(invite(&c2, "second@test", "s1", "sendonly", resp, sizeof(resp)), 200);
    to_tag_of(resp, tag2, sizeof(tag2));
    ack(&c2, "second@test", 1, tag2);

    /* a hold changes the recording: no answer while the files are held, then the hold */
    len = request(msg, sizeof(msg), &c, "INVITE", "making@test", 2, "m2", tag, SIPREC_HDRS,
                  MULTIPART, hold, hlen);
    client_send(&c, msg, len);
    assert_int_equal(client_response(&c, resp, sizeof(resp), 200, 300), 0);
    /* it waits on a worker (SIP_INLINE), not on the SIP loop, which answers meanwhile */
    len = request(msg, sizeof(msg), &c2, "OPTIONS", "ping@test", 1, "p1", "", "", NULL, "", 0);
    client_send(&c2, msg, len);
    assert_int_equal(client_response(&c2, resp, sizeof(resp), 200, 3000), 200);
    srs_files_hold(sv.srs, false);
    assert_int_equal(client_response(&c, resp, sizeof(resp), 200, 3000), 200);
    assert_non_null(strstr(resp, "a=inactive"));
    ack(&c, "making@test", 2, tag);
    assert_int_equal(bye(&c, "making@test", 3, tag), 200);
    assert_int_equal(bye(&c2, "second@test", 2, tag2), 200);
    /* the re-INVITE alone went to the executor: 2 INVITEs, 3 ACKs, OPTIONS, 2 BYEs did not
     * (the loop counts a message once it has handled it: after the answer, so wait for it) */
    http_wait(sv.http_port, "/metrics", "\nvox_siprec_messages_handled_total{on=\"executor\"} 1\n",
              "\nvox_siprec_messages_handled_total{on=\"loop\"} 8\n", page, sizeof(page));
    assert_non_null(strstr(page, "\nvox_siprec_messages_handled_total{on=\"executor\"} 1\n"));
    assert_non_null(strstr(page, "\nvox_siprec_messages_handled_total{on=\"loop\"} 8\n"));
    client_close(&c);
    client_close(&c2);
    srv_stop(&sv);

    json_t *streams, *j = load_bye_session(&sv, "making@test", 0, &streams);
    for (size_t k = 0; k < 2; k++) {
        char name[128];

        assert_string_equal(json_string_value(json_object_get(json_array_get(streams, k), "state")),
                            "paused");
        snprintf(name, sizeof(name), "making@test_%zu.wav", k + 1);
        assert_true(wav_seconds(&sv, name, &channels) < 5);
        assert_int_equal(channels, 1);
    }
    json_decref(j);
    j = load_bye_session(&sv, "second@test", 0, &streams);
    assert_int_equal(json_array_size(streams), 2);
    json_decref(j);
    rm_dir(sv.dir);
}

/* SIP_INLINE=0: every message goes through the executor, and a call is recorded the same. */
static void test_sip_on_executor(void **state)
{
    (void)state;
    struct srv sv;
    struct client c;
    char resp[16384], tag[64], page[16384];
    json_t *streams, *j;

    srv_start(&sv, "SIP_INLINE=0", NULL);
    client_open(&c, sv.sip_port, 0);
    assert_int_equal(invite(&c, "exec@test", "x1", "sendonly", resp, sizeof(resp)), 200);
    to_tag_of(resp, tag, sizeof(tag));
    ack(&c, "exec@test", 1, tag);
    assert_int_equal(bye(&c, "exec@test", 2, tag), 200);
    assert_int_equal(http_get(sv.http_port, "/metrics", page, sizeof(page)), 200);
    assert_non_null(strstr(page, "\nvox_siprec_messages_handled_total{on=\"executor\"} 3\n"));
    assert_non_null(strstr(page, "\nvox_siprec_messages_handled_total{on=\"loop\"} 0\n"));
    client_close(&c);
    srv_stop(&sv);
    j = load_bye_session(&sv, "exec@test", 0, &streams);
    json_decref(j);
    rm_dir(sv.dir);
}

/* Threads of this process named `comm` (as the kernel shows it), and how many of them run at
 * nice value `nice`. */
static unsigned threads_named(const char *comm, int nice, unsigned *at_nice)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    unsigned n = 0;

    assert_non_null(d);
    *at_nice = 0;
    while ((e = readdir(d)) != NULL) {
        char path[300], buf[1024], name[32];
        const char *p;
        size_t len;
        int field_nice = 0;

        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/proc/self/task/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue; /* the thread ended meanwhile */
        len = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[len] = 0;
        /* "tid (comm) state ppid ...": the nice value is field 19, the 17th after the ')' */
        const char *lp = strchr(buf, '('), *rp = strrchr(buf, ')');
        assert_non_null(lp);
        assert_non_null(rp);
        snprintf(name, sizeof(name), "%.*s", (int)(rp - lp - 1), lp + 1);
        p = rp + 2;
        for (int k = 0; k < 16 && p; k++)
            if ((p = strchr(p, ' ')) != NULL)
                p++;
        assert_non_null(p);
        field_nice = atoi(p);
        if (strcmp(name, comm) != 0)
            continue;
        n++;
        if (field_nice == nice)
            (*at_nice)++;
    }
    closedir(d);
    return n;
}

/* The media, file and executor threads run at BACKGROUND_NICE; the test's own thread (and so
 * the loop thread it started, which inherits it) keeps its value. With SIP_INLINE=0 the
 * workers answer SIP and keep it too. */
static void test_thread_priorities(void **state)
{
    (void)state;
    int mine = getpriority(PRIO_PROCESS, 0);
    int bg = mine > 12 ? mine : 12;
    struct srv sv;
    unsigned at, workers, ticker, closers;

    for (int inline_sip = 1; inline_sip >= 0; inline_sip--) {
        srv_start(&sv, "BACKGROUND_NICE=12", inline_sip ? "SIP_INLINE=1" : "SIP_INLINE=0", NULL);
        /* each thread sets its own as it starts: wait up to 5 s for the last one */
        for (int tries = 0; tries < 500; tries++) {
            unsigned w, t, c;

            workers = threads_named("exec-pool", inline_sip ? bg : mine, &w);
            ticker = threads_named("rec-ticker", bg, &t);
            closers = threads_named("srs-closer", bg, &c);
            at = w + t + c;
            if (workers == 2 && ticker == 1 && closers == SRS_CLOSERS &&
                at == workers + ticker + closers)
                break;
            usleep(10000);
        }
        assert_int_equal(workers, 2);
        assert_int_equal(ticker, 1);
        assert_int_equal(closers, SRS_CLOSERS);
        assert_int_equal(at, workers + ticker + closers);
        /* threads with the program's name keep its value: this one and the loop */
        char self[32] = "";
        size_t len = vox_test_read_file("/proc/self/comm", self, sizeof(self) - 1);
        self[len > 0 && len < sizeof(self) ? len - 1 : 0] = 0; /* drop the newline */
        unsigned rest = threads_named(self, mine, &at);
        assert_true(rest >= 2);
        assert_int_equal(at, rest);
        srv_stop(&sv);
        rm_dir(sv.dir);
    }
}

static void test_config(void **state)
{
    (void)state;
    struct vox_srs_config cfg;
    struct vox_diag diag = {{0}};
    char path[] = "/tmp/vox-srs-conf-XXXXXX";
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(vox_srs_config_init(&cfg), 0);
    assert_int_equal(cfg.max_concurrent_calls, 500);
    assert_int_equal(cfg.shard_count, 64);

    const char *good = "# comment\n\nMAX_CONCURRENT_CALLS = 1000\nCACHE_TTL='60'\n"
                       "ALLOC = \"pool\"\n";
    vox_test_write_file(path, good, strlen(good));
    assert_int_equal(vox_srs_config_load_file(&cfg, path, &diag), 0);
    assert_int_equal(cfg.max_concurrent_calls, 1000);
    assert_int_equal(cfg.cache_ttl_s, 60);
    assert_string_equal(cfg.alloc, "pool");

    /* errors name the file and line and what is wrong */
    const char *bad = "SHARD_COUNT = 64\nMAX_CONCURRENT_CALLS = lots\n";
    vox_test_write_file(path, bad, strlen(bad));
    assert_int_equal(vox_srs_config_load_file(&cfg, path, &diag), VOX_EINVAL);
    assert_non_null(strstr(diag.text, ":2: MAX_CONCURRENT_CALLS = 'lots' is not a whole number"));
    const char *unknown = "MAX_CALLZ = 3\n";
    vox_test_write_file(path, unknown, strlen(unknown));
    assert_int_equal(vox_srs_config_load_file(&cfg, path, &diag), VOX_ENOENT);
    assert_non_null(strstr(diag.text, "unknown setting 'MAX_CALLZ'"));
    const char *noeq = "MAX_CONCURRENT_CALLS 3\n";
    vox_test_write_file(path, noeq, strlen(noeq));
    assert_int_equal(vox_srs_config_load_file(&cfg, path, &diag), VOX_EINVAL);
    assert_non_null(strstr(diag.text, "expected KEY = value"));
    unlink(path);
    assert_int_equal(vox_srs_config_load_file(&cfg, path, &diag), VOX_EIO);

    /* the environment, by the guide's names; flags by their own names */
    setenv("SHARD_COUNT", "128", 1);
    assert_int_equal(vox_srs_config_load_env(&cfg, &diag), 0);
    assert_int_equal(cfg.shard_count, 128);
    setenv("SHARD_COUNT", "100", 1);
    assert_int_equal(vox_srs_config_load_env(&cfg, &diag), 0);
    assert_int_equal(vox_srs_config_check(&cfg, &diag), VOX_EINVAL);
    assert_non_null(strstr(diag.text, "not a power of two"));
    unsetenv("SHARD_COUNT");
    assert_int_equal(vox_srs_config_set(&cfg, "shards", "16", "--shards", &diag), 0);
    assert_int_equal(vox_srs_config_set(&cfg, "sip-host", "not-an-ip", "--sip-host", &diag),
                     VOX_EINVAL);
    assert_non_null(strstr(diag.text, "not an IPv4 or IPv6 address"));
    assert_int_equal(vox_srs_config_set(&cfg, "RTP_PORT_MIN", "20000", "t", &diag), 0);
    assert_int_equal(vox_srs_config_set(&cfg, "RTP_PORT_MAX", "20001", "t", &diag), 0);
    assert_int_equal(vox_srs_config_check(&cfg, &diag), VOX_EINVAL);
    assert_non_null(strstr(diag.text, "holds no RTP/RTCP pair"));

    /* a bad backend name fails at create, naming the choices */
    struct vox_srs *srs;
    assert_int_equal(vox_srs_config_set(&cfg, "RTP_PORT_MAX", "20100", "t", &diag), 0);
    assert_int_equal(vox_srs_config_set(&cfg, "EXEC", "fibers", "t", &diag), 0);
    assert_true(vox_srs_create(&cfg, &srs, &diag) < 0);
    assert_non_null(strstr(diag.text, "fibers"));
    vox_srs_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_call_udp_and_tcp),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_requests_before_files),
        cmocka_unit_test(test_busy_and_ports),
        cmocka_unit_test(test_reinvite_pause_resume_remove),
        cmocka_unit_test(test_cancel_and_retransmission),
        cmocka_unit_test(test_media_timeout_sends_bye),
        cmocka_unit_test(test_recording_failure_after_answer),
        cmocka_unit_test(test_http_api),
        cmocka_unit_test(test_requests_while_files_are_made),
        cmocka_unit_test(test_sip_on_executor),
        cmocka_unit_test(test_thread_priorities),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
