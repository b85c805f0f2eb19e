/* SPDX-License-Identifier: MIT */
/* libFuzzer target: SIP framer, parser, validator, accessors, multipart and the response printer,
 * with consistency checks between them (abort() on any disagreement). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vox/multipart.h"
#include "vox/sip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_sip: check failed at line %d: %s\n", __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static const char *g_base;
static size_t g_size;

/* A view must be empty or lie inside the input. */
static void in_input(struct vox_str s)
{
    if (!s.len)
        return;
    CHECK(s.p >= g_base && s.p + s.len <= g_base + g_size);
}

static int unfolded_eq(struct vox_str a, struct vox_str b)
{
    static char x[VOX_SIP_MAX_MSG_BYTES + 1], y[VOX_SIP_MAX_MSG_BYTES + 1];
    size_t n = vox_sip_unfold(a, x, sizeof(x)), m = vox_sip_unfold(b, y, sizeof(y));

    return n == m && memcmp(x, y, n) == 0;
}

/* Exercises every accessor on a parsed message; returns nothing, only checks views. */
static void poke_accessors(const struct vox_sip_msg *m)
{
    struct vox_sip_nameaddr na;
    struct vox_sip_cseq cseq;
    struct vox_sip_via via;
    struct vox_sip_uri uri;
    struct vox_sip_media_type mt;
    struct vox_sip_iter it;
    struct vox_str v, name, val, cur;
    static char scratch[VOX_SIP_MAX_MSG_BYTES + 1];
    size_t i, n, len;
    unsigned u;
    uint32_t secs;

    for (i = 0; i < m->nheaders; i++) {
        const struct vox_sip_header *h = &m->headers[i];

        in_input(h->name);
        in_input(h->value);
        CHECK(h->name.len > 0);
        n = vox_sip_unfold(h->value, scratch, sizeof(scratch));
        CHECK(n <= h->value.len);
        cur = h->value;
        while (vox_sip_next_item(&cur, &v)) {
            in_input(v);
            if (vox_sip_nameaddr_parse(v, &na) == 0) {
                in_input(na.uri);
                in_input(na.display);
                in_input(na.tag);
                vox_sip_unquote(na.display, scratch, sizeof(scratch));
                if (vox_sip_uri_parse(na.uri, &uri) == 0) {
                    in_input(uri.user);
                    in_input(uri.host);
                    in_input(uri.params);
                    CHECK(uri.port <= 65535);
                    vox_sip_unescape(uri.user, scratch, sizeof(scratch), &len);
                }
                cur = na.params;
                while (vox_sip_param_next(&cur, &name, &val)) {
                    in_input(name);
                    in_input(val);
                }
            }
        }
    }
    vox_sip_iter_init(&it, m, VOX_SIP_H_VIA);
    n = 0;
    while (vox_sip_iter_next(&it, &v))
        n++;
    CHECK(n == vox_sip_via_count(m));
    for (i = 0; i < n; i++)
        if (vox_sip_get_via(m, i, &via) == 0) {
            in_input(via.host);
            in_input(via.branch);
            CHECK(via.port <= 65535 && via.rport <= 65535);
        }
    vox_sip_get_cseq(m, &cseq);
    vox_sip_get_from(m, &na);
    vox_sip_get_to(m, &na);
    vox_sip_get_contact(m, &na);
    vox_sip_get_call_id(m, &v);
    vox_sip_get_max_forwards(m, &u);
    vox_sip_get_expires(m, &secs);
    vox_sip_has_option(m, VOX_SIP_H_REQUIRE, "siprec");
    if (m->is_request)
        vox_sip_uri_parse(m->request_uri, &uri);
    if (vox_sip_get_content_type(m, &mt) == 0 && vox_str_ieq(mt.type, "multipart")) {
        struct vox_multipart mp;
        struct vox_mime_part part;
        const struct vox_sip_header *ct = vox_sip_find(m, VOX_SIP_H_CONTENT_TYPE, 0);

        if (vox_multipart_init(&mp, ct->value, m->body.p, m->body.len, 0, NULL) == 0) {
            unsigned parts = 0;
            int rc;

            in_input(mp.preamble);
            while ((rc = vox_multipart_next(&mp, &part, NULL)) == 1) {
                CHECK(part.index == parts);
                in_input(part.body);
                in_input(part.headers);
                if (part.body.len)
                    CHECK(part.body.p >= m->body.p &&
                          part.body.p + part.body.len <= m->body.p + m->body.len);
                CHECK(++parts <= m->body.len + 1);
            }
            CHECK(rc == 0 || rc == VOX_EMALFORMED || rc == VOX_ELIMIT);
            CHECK(vox_multipart_next(&mp, &part, NULL) <= 0);
        }
    }
}

/* Prints a response to a parsed request and checks that it parses back with the right
 * headers. */
static void respond(struct vox_sip_msg *req, int status, const char *reason)
{
    static char out[3 * VOX_SIP_MAX_MSG_BYTES];
    static struct vox_sip_msg rsp;
    struct vox_sip_response_spec spec = {0};
    struct vox_sip_field extra[] = {{"Server", "voxbench-fuzz"}};
    struct vox_sip_nameaddr to_req, to_rsp;
    const struct vox_sip_header *a, *b;
    size_t len = 0, small;
    int rc;

    spec.status = status;
    spec.reason = reason;
    spec.to_tag = "fz1";
    spec.headers = extra;
    spec.nheaders = 1;
    rc = vox_sip_print_response(req, &spec, out, sizeof(out), &len);
    if (spec.reason && (strchr(spec.reason, '\r') || strchr(spec.reason, '\n'))) {
        CHECK(rc == VOX_EINVAL);
        return;
    }
    CHECK(rc == 0);
    /* a too-small buffer is refused without overflow (ASan watches) */
    small = len / 2;
    CHECK(vox_sip_print_response(req, &spec, out, small, NULL) == VOX_ERANGE);
    CHECK(vox_sip_print_response(req, &spec, out, sizeof(out), &len) == 0);

    g_base = out;
    g_size = len;
    rc = vox_sip_parse(out, len, &rsp, NULL);
    if (rc == VOX_ELIMIT) {
        /* a legal response past our own limits: a request with ~128 Vias gets 130 header
         * fields back (Server, Content-Length), or a 64 KiB one a slightly larger answer */
        CHECK(len > VOX_SIP_MAX_MSG_BYTES || rsp.nheaders == VOX_SIP_MAX_HEADERS);
        g_base = req->raw.p;
        g_size = req->raw.len;
        return;
    }
    if (rc != 0) {
        fprintf(stderr, "fuzz_sip: response does not re-parse (%d):\n%.*s\n", rc, (int)len, out);
        abort();
    }
    CHECK(!rsp.is_request && rsp.status == status);
    CHECK(rsp.content_length == 0 && rsp.body.len == 0);
    CHECK(vox_sip_via_count(&rsp) == vox_sip_via_count(req));
    a = vox_sip_find(req, VOX_SIP_H_CALL_ID, 0);
    b = vox_sip_find(&rsp, VOX_SIP_H_CALL_ID, 0);
    CHECK(!a == !b);
    if (a)
        CHECK(unfolded_eq(a->value, b->value));
    a = vox_sip_find(req, VOX_SIP_H_CSEQ, 0);
    b = vox_sip_find(&rsp, VOX_SIP_H_CSEQ, 0);
    CHECK(!a == !b);
    if (a)
        CHECK(unfolded_eq(a->value, b->value));
    a = vox_sip_find(req, VOX_SIP_H_FROM, 0);
    b = vox_sip_find(&rsp, VOX_SIP_H_FROM, 0);
    CHECK(!a == !b);
    if (a)
        CHECK(unfolded_eq(a->value, b->value));
    if (vox_sip_get_to(req, &to_req) == 0) {
        CHECK(vox_sip_get_to(&rsp, &to_rsp) == 0);
        if (!to_req.has_tag && !vox_str_eq(to_req.uri, "*"))
            CHECK(to_rsp.has_tag && vox_str_eq(to_rsp.tag, "fz1"));
        else
            CHECK(to_rsp.has_tag == to_req.has_tag);
    }
    /* a request that validates gives a response that validates */
    if (status == 200)
        CHECK(vox_sip_validate(&rsp, NULL) == 0);
    g_base = req->raw.p;
    g_size = req->raw.len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct vox_sip_msg msg, again;
    const char *buf = (const char *)data;
    struct vox_sip_frame fr, fr2;
    int rc, vrc;

    g_base = buf;
    g_size = size;

    /* stream framing, and that every prefix of a framed message is incomplete */
    rc = vox_sip_frame(buf, size, VOX_SIP_TRANSPORT_STREAM, &fr, NULL);
    CHECK(rc == 0 || rc == VOX_EINCOMPLETE || rc == VOX_EMALFORMED || rc == VOX_ELIMIT);
    CHECK(fr.skip <= size);
    if (rc == 0) {
        size_t cuts[3], i;

        CHECK(fr.len > 0 && fr.skip + fr.len <= size && fr.header_len + fr.body_len == fr.len);
        CHECK(fr.len <= VOX_SIP_MAX_MSG_BYTES);
        cuts[0] = fr.skip + fr.len - 1;
        cuts[1] = fr.skip + fr.header_len - 1;
        cuts[2] = fr.skip + fr.header_len / 2;
        for (i = 0; i < 3; i++) {
            int r = vox_sip_frame(buf, cuts[i], VOX_SIP_TRANSPORT_STREAM, &fr2, NULL);

            if (r != VOX_EINCOMPLETE) {
                fprintf(stderr, "fuzz_sip: prefix %zu of a %zu-byte frame gives %d\n", cuts[i],
                        fr.skip + fr.len, r);
                abort();
            }
        }
        rc = vox_sip_parse(buf + fr.skip, fr.len, &msg, NULL);
        CHECK(rc != VOX_EINCOMPLETE);
        if (rc == 0) {
            CHECK(msg.msg_bytes == fr.len && msg.body.len == fr.body_len);
            CHECK(msg.header_bytes == fr.header_len);
        }
    }

    /* datagram framing agrees with the parser */
    rc = vox_sip_frame(buf, size, VOX_SIP_TRANSPORT_UDP, &fr, NULL);
    if (rc == 0) {
        CHECK(fr.skip + fr.len <= size);
        rc = vox_sip_parse(buf + fr.skip, fr.len, &msg, NULL);
        CHECK(rc != VOX_EINCOMPLETE);
    }

    /* the whole input as one datagram */
    rc = vox_sip_parse(buf, size, &msg, NULL);
    CHECK(rc == 0 || rc == VOX_EINCOMPLETE || rc == VOX_EMALFORMED || rc == VOX_ELIMIT);
    CHECK(msg.nheaders <= VOX_SIP_MAX_HEADERS);
    if (rc != 0) {
        CHECK(msg.error.offset <= size);
        if (msg.is_request && rc != VOX_EINCOMPLETE)
            CHECK(msg.error.status >= 400 && msg.error.status <= 599 && msg.error.reason[0]);
        /* a server answers what it could read: the start line and the headers before the
         * fault */
        if (msg.is_request && msg.error.status)
            respond(&msg, msg.error.status, msg.error.reason);
        return 0;
    }
    CHECK(msg.msg_bytes <= size && msg.header_bytes <= msg.msg_bytes);
    in_input(msg.body);
    in_input(msg.method);
    in_input(msg.request_uri);
    if (!msg.is_request)
        CHECK(msg.status >= 100 && msg.status <= 699);
    poke_accessors(&msg);
    /* parsing is deterministic */
    CHECK(vox_sip_parse(buf, size, &again, NULL) == 0 && again.nheaders == msg.nheaders &&
          again.msg_bytes == msg.msg_bytes);

    vrc = vox_sip_validate(&msg, NULL);
    CHECK(vrc == 0 || vrc == VOX_EMALFORMED);
    if (vrc)
        CHECK(!msg.is_request || (msg.error.status >= 400 && msg.error.reason[0]));
    if (msg.is_request)
        respond(&msg, vrc == 0 ? 200 : msg.error.status, vrc == 0 ? NULL : msg.error.reason);
    return 0;
}
