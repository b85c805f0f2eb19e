/* SPDX-License-Identifier: MIT */
/* SIP message tests: RFC 4475-style torture messages (our own), framing, validation, printing,
 * and a SIPREC INVITE (RFC 7866 style) parsed end to end down to its SDP answer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "vox/core.h"
#include "vox/multipart.h"
#include "vox/sdp.h"
#include "vox/sip.h"

/* ---- helpers --------------------------------------------------------------------------------- */

/* Test messages are written with "\n"; crlf() turns every "\n" into CRLF. Returns a buffer
 * from a small ring (valid for the next few calls) of exactly *len bytes (plus a NUL). */
static char ring[6][VOX_SIP_MAX_MSG_BYTES + 4096];
static unsigned ring_next;

static const char *crlf(const char *s, size_t *len)
{
    char *out = ring[ring_next++ % 6];
    size_t n = vox_test_crlf(s, out, sizeof(ring[0]));

    if (len)
        *len = n;
    return out;
}

static struct vox_sip_msg msg; /* large: keep it off the stack */

/* Parses `text` (with "\n" as CRLF) into msg and asserts the result code. */
static const char *parse_crlf(const char *text, int want, size_t *len_out)
{
    struct vox_diag d = {{0}};
    size_t len;
    const char *buf = crlf(text, &len);
    int rc = vox_sip_parse(buf, len, &msg, &d);

    if (rc != want)
        fail_msg("parse gave %s, wanted %s; diag: %s", vox_err_name(rc), vox_err_name(want),
                 d.text);
    if (len_out)
        *len_out = len;
    return buf;
}

/* The SIPREC INVITE of RFC 7866 §12.1 shape (our own values): two labelled audio streams that
 * the SRC sends (sendonly) and RFC 7865 metadata, over TCP. */
static const char siprec_sdp[] = "v=0\n"
                                 "o=SRC 2890844526 2890844526 IN IP4 198.51.100.1\n"
                                 "s=-\n"
                                 "c=IN IP4 198.51.100.1\n"
                                 "t=0 0\n"
                                 "m=audio 12240 RTP/AVP 0 4 8 101\n"
                                 "a=rtpmap:101 telephone-event/8000\n"
                                 "a=fmtp:101 0-15\n"
                                 "a=sendonly\n"
                                 "a=label:1\n"
                                 "m=audio 12242 RTP/AVP 0 4 8 101\n"
                                 "a=rtpmap:101 telephone-event/8000\n"
                                 "a=fmtp:101 0-15\n"
                                 "a=sendonly\n"
                                 "a=label:2\n";

static const char siprec_meta[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<recording xmlns='urn:ietf:params:xml:ns:recording:1'>\n"
    " <datamode>complete</datamode>\n"
    " <session session_id=\"bWVldGluZy0yMDI2LTEx\">\n"
    "  <sipSessionID>a1b2c3d4e5;remote=f6e5d4c3b2</sipSessionID>\n"
    " </session>\n"
    " <participant participant_id=\"YWxpY2UtMDE=\">\n"
    "  <nameID aor=\"sip:alice@pbx.example.com\"><name xml:lang=\"en\">Alice</name></nameID>\n"
    " </participant>\n"
    " <participant participant_id=\"Ym9iLTAy\">\n"
    "  <nameID aor=\"sip:bob@carrier.example.net\"><name xml:lang=\"en\">Bob</name></nameID>\n"
    " </participant>\n"
    " <stream stream_id=\"c3RyZWFtLTE=\" session_id=\"bWVldGluZy0yMDI2LTEx\">\n"
    "  <label>1</label>\n"
    " </stream>\n"
    " <stream stream_id=\"c3RyZWFtLTI=\" session_id=\"bWVldGluZy0yMDI2LTEx\">\n"
    "  <label>2</label>\n"
    " </stream>\n"
    " <participantstreamassoc participant_id=\"YWxpY2UtMDE=\">\n"
    "  <send>c3RyZWFtLTE=</send>\n"
    "  <recv>c3RyZWFtLTI=</recv>\n"
    " </participantstreamassoc>\n"
    "</recording>\n";

static char siprec[8192];
static size_t siprec_len;

/* Builds the INVITE with a correct Content-Length into siprec[]. */
static void build_siprec(void)
{
    char body[4096];
    int n;

    n = snprintf(body, sizeof(body),
                 "--OSS-unique-boundary-42\r\n"
                 "Content-Type: application/sdp\r\n"
                 "\r\n"
                 "%s"
                 "--OSS-unique-boundary-42\r\n"
                 "Content-Type: application/rs-metadata+xml\r\n"
                 "Content-Disposition: recording-session\r\n"
                 "\r\n"
                 "%s"
                 "--OSS-unique-boundary-42--\r\n",
                 crlf(siprec_sdp, NULL), crlf(siprec_meta, NULL));
    assert_true(n > 0 && (size_t)n < sizeof(body));
    n = snprintf(siprec, sizeof(siprec),
                 "INVITE sip:recorder@srs.example.com SIP/2.0\r\n"
                 "Via: SIP/2.0/TCP src.example.com:5060;branch=z9hG4bKdf6b622b648d9\r\n"
                 "From: <sip:2000@src.example.com>;tag=35e195d2-947d-4585-946f-09839247\r\n"
                 "To: <sip:recorder@srs.example.com>\r\n"
                 "Call-ID: d253c800-b0d1ea39-4a7dd-3f0e20a\r\n"
                 "CSeq: 101 INVITE\r\n"
                 "Max-Forwards: 70\r\n"
                 "Require: siprec\r\n"
                 "Accept: application/sdp, application/rs-metadata,\r\n"
                 "  application/rs-metadata-request\r\n"
                 "Contact: <sip:2000@src.example.com>;+sip.src\r\n"
                 "Content-Type: multipart/mixed;boundary=OSS-unique-boundary-42\r\n"
                 "Content-Length: %zu\r\n"
                 "\r\n"
                 "%s",
                 strlen(body), body);
    assert_true(n > 0 && (size_t)n < sizeof(siprec));
    siprec_len = (size_t)n;
}

/* ---- the SIPREC INVITE ----------------------------------------------------------------------- */

static void siprec_headers(void **st)
{
    struct vox_sip_nameaddr from, to, contact;
    struct vox_sip_media_type ct;
    struct vox_sip_cseq cseq;
    struct vox_sip_via via;
    struct vox_str v;
    struct vox_diag d = {{0}};
    size_t cl;
    unsigned hops;

    (void)st;
    build_siprec();
    assert_int_equal(vox_sip_parse(siprec, siprec_len, &msg, &d), 0);
    assert_true(msg.is_request);
    vox_test_assert_str(msg.method, "INVITE");
    assert_int_equal(msg.method_id, VOX_SIP_METHOD_INVITE);
    vox_test_assert_str(msg.request_uri, "sip:recorder@srs.example.com");
    vox_test_assert_str(msg.version, "SIP/2.0");
    assert_int_equal(msg.nheaders, 11);
    assert_int_equal(msg.msg_bytes, siprec_len);
    assert_int_equal(msg.warnings, VOX_SIP_WARN_FOLDED);

    assert_int_equal(vox_sip_get_call_id(&msg, &v), 0);
    vox_test_assert_str(v, "d253c800-b0d1ea39-4a7dd-3f0e20a");
    assert_int_equal(vox_sip_get_cseq(&msg, &cseq), 0);
    assert_int_equal(cseq.number, 101);
    vox_test_assert_str(cseq.method, "INVITE");
    assert_int_equal(vox_sip_get_from(&msg, &from), 0);
    vox_test_assert_str(from.uri, "sip:2000@src.example.com");
    assert_true(from.has_tag);
    vox_test_assert_str(from.tag, "35e195d2-947d-4585-946f-09839247");
    assert_int_equal(vox_sip_get_to(&msg, &to), 0);
    assert_false(to.has_tag);
    assert_int_equal(to.display.len, 0);
    assert_int_equal(vox_sip_get_via(&msg, 0, &via), 0);
    vox_test_assert_str(via.transport, "TCP");
    vox_test_assert_str(via.host, "src.example.com");
    assert_int_equal(via.port, 5060);
    vox_test_assert_str(via.branch, "z9hG4bKdf6b622b648d9");
    assert_int_equal(vox_sip_get_contact(&msg, &contact), 0);
    assert_true(vox_sip_param_get(contact.params, "+sip.src", &v));
    assert_int_equal(v.len, 0);
    assert_int_equal(vox_sip_get_max_forwards(&msg, &hops), 0);
    assert_int_equal(hops, 70);
    assert_true(vox_sip_has_option(&msg, VOX_SIP_H_REQUIRE, "siprec"));
    assert_true(vox_sip_has_option(&msg, VOX_SIP_H_REQUIRE, "SIPREC"));
    assert_false(vox_sip_has_option(&msg, VOX_SIP_H_SUPPORTED, "siprec"));
    assert_int_equal(vox_sip_get_content_type(&msg, &ct), 0);
    assert_true(vox_sip_media_type_is(&ct, "multipart/mixed"));
    assert_true(vox_sip_param_get(ct.params, "boundary", &v));
    vox_test_assert_str(v, "OSS-unique-boundary-42");
    assert_int_equal(vox_sip_get_content_length(&msg, &cl), 0);
    assert_int_equal(cl, msg.body.len);
    assert_ptr_equal(msg.body.p, siprec + msg.header_bytes);
    assert_int_equal(vox_sip_validate(&msg, &d), 0);

    /* the folded Accept value iterates as three items */
    {
        struct vox_sip_iter it;
        const char *want[] = {"application/sdp", "application/rs-metadata",
                              "application/rs-metadata-request"};
        size_t n = 0;

        vox_sip_iter_init(&it, &msg, VOX_SIP_H_ACCEPT);
        while (vox_sip_iter_next(&it, &v)) {
            assert_true(n < 3);
            vox_test_assert_str(v, want[n++]);
        }
        assert_int_equal(n, 3);
        assert_int_equal(vox_sip_find(&msg, VOX_SIP_H_ACCEPT, 0)->folds, 1);
    }
}

static struct vox_sdp offer_sdp, answer_sdp;

static void siprec_end_to_end(void **st)
{
    struct vox_sip_media_type ct;
    struct vox_multipart mp;
    struct vox_mime_part part, sdp_part = {0}, meta_part = {0};
    struct vox_diag d = {{0}};
    unsigned ports[2] = {40000, 40002};
    struct vox_sdp_answer_config cfg = {0};
    char ans[2048];
    size_t ans_len, i;
    int rc, nparts = 0;

    (void)st;
    build_siprec();
    assert_int_equal(vox_sip_parse(siprec, siprec_len, &msg, &d), 0);
    assert_int_equal(vox_sip_get_content_type(&msg, &ct), 0);
    assert_int_equal(vox_multipart_init(&mp, vox_sip_find(&msg, VOX_SIP_H_CONTENT_TYPE, 0)->value,
                                        msg.body.p, msg.body.len, VOX_MULTIPART_STRICT, &d),
                     0);
    vox_test_assert_str(mp.boundary, "OSS-unique-boundary-42");
    while ((rc = vox_multipart_next(&mp, &part, &d)) == 1) {
        if (nparts == 0)
            sdp_part = part;
        else
            meta_part = part;
        nparts++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(nparts, 2);
    assert_false(mp.unterminated);
    assert_true(vox_sip_media_type_is(&sdp_part.type, "application/sdp"));
    assert_true(vox_sip_media_type_is(&meta_part.type, "application/rs-metadata+xml"));
    vox_test_assert_str(meta_part.disposition_type, "recording-session");
    assert_true(meta_part.body.len > 100);
    assert_memory_equal(meta_part.body.p, "<?xml", 5);
    /* the CRLF before the next delimiter belongs to the delimiter (RFC 2046 §5.1.1) */
    assert_memory_equal(meta_part.body.p + meta_part.body.len - 12, "</recording>", 12);

    assert_int_equal(vox_sdp_parse(sdp_part.body.p, sdp_part.body.len, &offer_sdp, &d), 0);
    assert_int_equal(vox_sdp_validate(&offer_sdp, &d), 0);
    assert_int_equal(offer_sdp.nmedia, 2);
    for (i = 0; i < 2; i++) {
        const struct vox_sdp_media *m = &offer_sdp.media[i];

        vox_test_assert_str(m->type, "audio");
        vox_test_assert_str(m->proto, "RTP/AVP");
        assert_int_equal(m->nfmts, 4);
        assert_int_equal(m->fmts[3].pt, 101);
        vox_test_assert_str(m->fmts[3].encoding, "telephone-event");
        vox_test_assert_str(m->label, i == 0 ? "1" : "2");
        assert_int_equal(vox_sdp_media_dir(&offer_sdp, i), VOX_SDP_DIR_SENDONLY);
    }
    assert_int_equal(offer_sdp.media[0].port, 12240);
    assert_int_equal(offer_sdp.media[1].port, 12242);

    /* the SRS answer: recvonly, labels kept, PCMU chosen, telephone-event kept */
    cfg.address = "203.0.113.5";
    cfg.ports = ports;
    cfg.nports = 2;
    cfg.sess_id = 7;
    cfg.sess_version = 1;
    assert_int_equal(vox_sdp_answer(&offer_sdp, &cfg, ans, sizeof(ans), &ans_len, &d), 0);
    assert_int_equal(vox_sdp_parse(ans, ans_len, &answer_sdp, &d), 0);
    assert_int_equal(vox_sdp_validate(&answer_sdp, &d), 0);
    assert_int_equal(answer_sdp.nmedia, 2);
    for (i = 0; i < 2; i++) {
        const struct vox_sdp_media *m = &answer_sdp.media[i];

        assert_int_equal(m->port, ports[i]);
        vox_test_assert_str(m->label, i == 0 ? "1" : "2");
        assert_int_equal(vox_sdp_media_dir(&answer_sdp, i), VOX_SDP_DIR_RECVONLY);
        assert_int_equal(m->nfmts, 2);
        assert_int_equal(m->fmts[0].pt, 0);
        assert_int_equal(m->fmts[1].pt, 101);
    }

    /* the shortcut used by a server */
    assert_int_equal(vox_multipart_find(vox_sip_find(&msg, VOX_SIP_H_CONTENT_TYPE, 0)->value,
                                        msg.body.p, msg.body.len, "application/rs-metadata+xml",
                                        &part, &d),
                     0);
    assert_ptr_equal(part.body.p, meta_part.body.p);
    assert_int_equal(vox_multipart_find(vox_sip_find(&msg, VOX_SIP_H_CONTENT_TYPE, 0)->value,
                                        msg.body.p, msg.body.len, "application/gtd", &part, &d),
                     VOX_ENOENT);
}

/* Every prefix of the INVITE is incomplete for the stream framer and the parser. */
static void siprec_every_prefix(void **st)
{
    struct vox_sip_frame fr;
    size_t n;

    (void)st;
    build_siprec();
    for (n = 0; n < siprec_len; n++) {
        int rc = vox_sip_frame(siprec, n, VOX_SIP_TRANSPORT_STREAM, &fr, NULL);

        if (rc != VOX_EINCOMPLETE)
            fail_msg("prefix of %zu/%zu bytes: framer gave %s", n, siprec_len, vox_err_name(rc));
        rc = vox_sip_parse(siprec, n, &msg, NULL);
        if (rc != VOX_EINCOMPLETE)
            fail_msg("prefix of %zu/%zu bytes: parser gave %s", n, siprec_len, vox_err_name(rc));
    }
    assert_int_equal(vox_sip_frame(siprec, siprec_len, VOX_SIP_TRANSPORT_STREAM, &fr, NULL), 0);
    assert_int_equal(fr.skip, 0);
    assert_int_equal(fr.len, siprec_len);
    assert_int_equal(fr.header_len + fr.body_len, siprec_len);
}

static void frame_back_to_back_and_keepalive(void **st)
{
    static char stream[3 * 8192];
    struct vox_sip_frame fr;
    size_t off = 0, n = 0, bye_len;
    const char *bye;

    (void)st;
    build_siprec();
    bye = crlf("BYE sip:recorder@srs.example.com SIP/2.0\n"
               "Via: SIP/2.0/TCP src.example.com:5060;branch=z9hG4bK77\n"
               "From: <sip:2000@src.example.com>;tag=35e1\n"
               "To: <sip:recorder@srs.example.com>;tag=srs1\n"
               "Call-ID: d253c800-b0d1ea39-4a7dd-3f0e20a\n"
               "CSeq: 102 BYE\n"
               "Content-Length: 0\n"
               "\n",
               &bye_len);
    /* ping, INVITE, lone CRLF, BYE, then half of another INVITE */
    memcpy(stream, "\r\n\r\n", 4);
    n = 4;
    memcpy(stream + n, siprec, siprec_len);
    n += siprec_len;
    memcpy(stream + n, "\r\n", 2);
    n += 2;
    memcpy(stream + n, bye, bye_len);
    n += bye_len;
    memcpy(stream + n, siprec, siprec_len / 2);
    n += siprec_len / 2;

    assert_int_equal(vox_sip_frame(stream, n, VOX_SIP_TRANSPORT_STREAM, &fr, NULL), 0);
    assert_int_equal(fr.skip, 4);
    assert_int_equal(fr.pings, 1);
    assert_int_equal(fr.len, siprec_len);
    assert_memory_equal(stream + fr.skip, siprec, siprec_len);
    off = fr.skip + fr.len;
    assert_int_equal(vox_sip_frame(stream + off, n - off, VOX_SIP_TRANSPORT_STREAM, &fr, NULL), 0);
    assert_int_equal(fr.skip, 2);
    assert_int_equal(fr.pings, 0);
    assert_int_equal(fr.len, bye_len);
    assert_int_equal(vox_sip_parse(stream + off + fr.skip, fr.len, &msg, NULL), 0);
    assert_int_equal(msg.method_id, VOX_SIP_METHOD_BYE);
    off += fr.skip + fr.len;
    assert_int_equal(vox_sip_frame(stream + off, n - off, VOX_SIP_TRANSPORT_STREAM, &fr, NULL),
                     VOX_EINCOMPLETE);
    assert_int_equal(fr.skip, 0);

    /* keep-alives alone: incomplete, but the caller may drop them and answer the pings */
    assert_int_equal(vox_sip_frame("\r\n\r\n\r\n\r\n", 8, VOX_SIP_TRANSPORT_STREAM, &fr, NULL),
                     VOX_EINCOMPLETE);
    assert_int_equal(fr.skip, 8);
    assert_int_equal(fr.pings, 2);
    assert_int_equal(vox_sip_frame("\r\n\r", 3, VOX_SIP_TRANSPORT_STREAM, &fr, NULL),
                     VOX_EINCOMPLETE);
    assert_int_equal(fr.skip, 2);
    assert_int_equal(vox_sip_frame("", 0, VOX_SIP_TRANSPORT_STREAM, &fr, NULL), VOX_EINCOMPLETE);
}

static void frame_errors(void **st)
{
    struct vox_sip_frame fr;
    struct vox_diag d = {{0}};
    static char big[VOX_SIP_MAX_MSG_BYTES + 64];
    const char *m;
    size_t len;

    (void)st;
    /* RFC 3261 §18.3: no Content-Length on a stream */
    m = crlf("OPTIONS sip:a@b.c SIP/2.0\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\n\n", &len);
    assert_int_equal(vox_sip_frame(m, len, VOX_SIP_TRANSPORT_STREAM, &fr, &d), VOX_EMALFORMED);
    assert_int_equal(fr.error.status, 400);
    assert_string_equal(fr.error.reason, "Bad Request - missing Content-Length");
    assert_non_null(strstr(d.text, "18.3"));
    /* the same over UDP: the datagram is the message */
    assert_int_equal(vox_sip_frame(m, len, VOX_SIP_TRANSPORT_UDP, &fr, &d), 0);
    assert_int_equal(fr.len, len);
    assert_int_equal(fr.body_len, 0);

    m = crlf("OPTIONS sip:a@b.c SIP/2.0\nl: -4\n\n", &len);
    assert_int_equal(vox_sip_frame(m, len, VOX_SIP_TRANSPORT_STREAM, &fr, &d), VOX_EMALFORMED);
    assert_int_equal(fr.error.status, 400);
    m = crlf("OPTIONS sip:a@b.c SIP/2.0\nContent-Length: 99999999999999999999\n\n", &len);
    assert_int_equal(vox_sip_frame(m, len, VOX_SIP_TRANSPORT_STREAM, &fr, &d), VOX_ELIMIT);
    assert_int_equal(fr.error.status, 413);
    m = crlf("SIP/2.0 200 OK\nContent-Length: 70000\n\n", &len);
    assert_int_equal(vox_sip_frame(m, len, VOX_SIP_TRANSPORT_STREAM, &fr, &d), VOX_ELIMIT);
    assert_int_equal(fr.error.status, 0); /* nothing to answer to a response */
    m = crlf("OPTIONS sip:a@b.c SIP/2.0\nContent-Length: 5\nContent-Length: 6\n\nhello!", &len);
    assert_int_equal(vox_sip_frame(m, len, VOX_SIP_TRANSPORT_STREAM, &fr, &d), VOX_EMALFORMED);

    /* UDP: Content-Length truncates; larger than the datagram is an error */
    m = crlf("MESSAGE sip:a@b.c SIP/2.0\nContent-Length: 5\n\nhello, trailing junk", &len);
    assert_int_equal(vox_sip_frame(m, len, VOX_SIP_TRANSPORT_UDP, &fr, &d), 0);
    assert_int_equal(fr.body_len, 5);
    assert_int_equal(fr.len, len - strlen(", trailing junk"));
    m = crlf("MESSAGE sip:a@b.c SIP/2.0\nContent-Length: 50\n\nhello", &len);
    assert_int_equal(vox_sip_frame(m, len, VOX_SIP_TRANSPORT_UDP, &fr, &d), VOX_EMALFORMED);
    assert_int_equal(fr.error.status, 400);
    assert_non_null(strstr(fr.error.reason, "Content-Length"));
    assert_int_equal(vox_sip_frame(m, len, VOX_SIP_TRANSPORT_STREAM, &fr, &d), VOX_EINCOMPLETE);
    m = crlf("MESSAGE sip:a@b.c SIP/2.0\nContent-Length: 5\n", &len);
    assert_int_equal(vox_sip_frame(m, len, VOX_SIP_TRANSPORT_UDP, &fr, &d), VOX_EMALFORMED);
    assert_int_equal(vox_sip_frame("\r\n\r\n", 4, VOX_SIP_TRANSPORT_UDP, &fr, &d), VOX_EINCOMPLETE);
    assert_int_equal(fr.skip, 4);

    /* a header section that never ends is cut at the size limit */
    len = (size_t)snprintf(big, sizeof(big), "INVITE sip:a@b.c SIP/2.0\r\nX-Long: ");
    memset(big + len, 'x', sizeof(big) - len);
    assert_int_equal(
        vox_sip_frame(big, VOX_SIP_MAX_MSG_BYTES - 1, VOX_SIP_TRANSPORT_STREAM, &fr, &d),
        VOX_EINCOMPLETE);
    assert_int_equal(vox_sip_frame(big, sizeof(big), VOX_SIP_TRANSPORT_STREAM, &fr, &d),
                     VOX_ELIMIT);
    assert_int_equal(fr.error.status, 513);
    /* a bare CR in the headers ruins the stream */
    m = "INVITE sip:a@b.c SIP/2.0\r\nX: a\rb\r\nContent-Length: 0\r\n\r\n";
    assert_int_equal(vox_sip_frame(m, strlen(m), VOX_SIP_TRANSPORT_STREAM, &fr, &d),
                     VOX_EMALFORMED);
    assert_int_equal(fr.error.line, 2);
}

/* ---- valid but weird (RFC 4475 §3.1.1 in spirit) ----------------------------------------------
 */

/* A short tortuous INVITE: compact forms, odd case, folding, LWS around ':' and '/', escaped
 * quotes in a display name, several Vias in one field, an unknown header, escaped URI. */
static void torture_tortuous_invite(void **st)
{
    struct vox_sip_nameaddr na;
    struct vox_sip_via via;
    struct vox_sip_uri uri;
    struct vox_sip_cseq cseq;
    struct vox_str v;
    struct vox_diag d = {{0}};
    char tmp[128];
    size_t n;
    const struct vox_sip_header *h;

    (void)st;
    parse_crlf("INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0\n"
               "TO :\n"
               " sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n\n"
               "from   : \"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\n"
               "  ;\n"
               "  tag = 98asjd8\n"
               "MaX-fOrWaRdS: 0068\n"
               "Call-ID: wsinv.ndaksdj@192.0.2.1\n"
               "Content-Length   : 0\n"
               "cseq: 0009\n"
               "  INVITE\n"
               "Via  : SIP  /   2.0\n"
               " /UDP\n"
               "    192.0.2.2;branch=390skdjuw\n"
               "s :\n"
               "NewFangledHeader:   newfangled value\n"
               " continued newfangled value\n"
               "UnknownHeaderWithUnusualValue: ;;,,;;,;\n"
               "Content-Type: application/sdp\n"
               "Route:\n"
               " <sip:services.example.com;lr;unknownwith=value;unknown-no-value>\n"
               "v:  SIP  / 2.0  / TCP     spindle.example.com   ;\n"
               "  branch  =   z9hG4bK9ikj8  ,\n"
               " SIP  /    2.0   / UDP  192.168.255.111   ; branch=\n"
               " z9hG4bK30239\n"
               "m:\"Quoted string \\\"\\\"\" <sip:jdrosen@example.com> ; newparam =\n"
               "      newvalue ;\n"
               "  secondparam ; q = 0.33\n"
               "\n",
               0, NULL);
    assert_int_equal(msg.nheaders, 14);
    assert_true(msg.warnings & VOX_SIP_WARN_FOLDED);
    /* names map without case, compact forms too */
    assert_non_null(vox_sip_find(&msg, VOX_SIP_H_TO, 0));
    assert_non_null(vox_sip_find(&msg, VOX_SIP_H_SUBJECT, 0));
    assert_int_equal(vox_sip_find(&msg, VOX_SIP_H_SUBJECT, 0)->value.len, 0);
    assert_non_null(vox_sip_find_name(&msg, "newfangledheader"));
    assert_int_equal(vox_sip_find_name(&msg, "NEWFANGLEDHEADER")->folds, 1);
    assert_int_equal(vox_sip_find(&msg, VOX_SIP_H_CONTACT, 0)->line, 26);

    /* To: folded before the value; tag with LWS around '=' */
    assert_int_equal(vox_sip_get_to(&msg, &na), 0);
    vox_test_assert_str(na.uri, "sip:vivekg@chair-dnrc.example.com");
    assert_true(na.has_tag);
    vox_test_assert_str(na.tag, "1918181833n");
    /* From: quoted display name with escapes, params on a continuation line */
    assert_int_equal(vox_sip_get_from(&msg, &na), 0);
    assert_true(na.display_quoted);
    vox_test_assert_str(na.display, "J Rosenberg \\\\\\\"");
    n = vox_sip_unquote(na.display, tmp, sizeof(tmp));
    assert_int_equal(n, strlen("J Rosenberg \\\""));
    assert_string_equal(tmp, "J Rosenberg \\\"");
    vox_test_assert_str(na.tag, "98asjd8");
    /* CSeq with leading zeros and the method on a continuation line */
    assert_int_equal(vox_sip_get_cseq(&msg, &cseq), 0);
    assert_int_equal(cseq.number, 9);
    vox_test_assert_str(cseq.method, "INVITE");
    /* Via: LWS everywhere; three entries over two fields */
    assert_int_equal(vox_sip_via_count(&msg), 3);
    assert_int_equal(vox_sip_get_via(&msg, 0, &via), 0);
    vox_test_assert_str(via.proto_name, "SIP");
    vox_test_assert_str(via.proto_version, "2.0");
    vox_test_assert_str(via.transport, "UDP");
    vox_test_assert_str(via.host, "192.0.2.2");
    vox_test_assert_str(via.branch, "390skdjuw");
    assert_int_equal(vox_sip_get_via(&msg, 1, &via), 0);
    vox_test_assert_str(via.transport, "TCP");
    vox_test_assert_str(via.host, "spindle.example.com");
    vox_test_assert_str(via.branch, "z9hG4bK9ikj8");
    assert_int_equal(vox_sip_get_via(&msg, 2, &via), 0);
    vox_test_assert_str(via.host, "192.168.255.111");
    vox_test_assert_str(via.branch, "z9hG4bK30239");
    assert_int_equal(vox_sip_get_via(&msg, 3, &via), VOX_ENOENT);
    /* Contact: params across folds */
    assert_int_equal(vox_sip_get_contact(&msg, &na), 0);
    vox_test_assert_str(na.display, "Quoted string \\\"\\\"");
    assert_true(vox_sip_param_get(na.params, "newparam", &v));
    vox_test_assert_str(v, "newvalue");
    assert_true(vox_sip_param_get(na.params, "q", &v));
    vox_test_assert_str(v, "0.33");
    assert_true(vox_sip_param_get(na.params, "secondparam", &v));
    /* Request-URI with an unknown parameter */
    assert_int_equal(vox_sip_uri_parse(msg.request_uri, &uri), 0);
    vox_test_assert_str(uri.params, "unknownparam");
    /* unfolding a value */
    h = vox_sip_find_name(&msg, "NewFangledHeader");
    n = vox_sip_unfold(h->value, tmp, sizeof(tmp));
    assert_string_equal(tmp, "newfangled value continued newfangled value");
    assert_int_equal(n, strlen(tmp));
    /* valid: Max-Forwards 0068 is 68, branch without cookie only warns */
    if (vox_sip_validate(&msg, &d) != 0)
        fail_msg("validate: %s", d.text);
    assert_true(msg.warnings & VOX_SIP_WARN_OLD_BRANCH);
}

static void torture_escapes_and_addresses(void **st)
{
    struct vox_sip_uri uri;
    struct vox_sip_nameaddr na;
    struct vox_sip_via via;
    struct vox_diag d = {{0}};
    char tmp[128];
    size_t n;

    (void)st;
    parse_crlf("INVITE sip:sips%3Auser%40example.com@example.net SIP/2.0\n"
               "To: sip:%75se%72@example.com\n"
               "From: <sip:I%20have%20spaces@example.net>;tag=938\n"
               "Max-Forwards: 87\n"
               "i: esc01.239409asdfakjkn23onasd0-3234\n"
               "CSeq: 234234 INVITE\n"
               "Via: SIP/2.0/UDP [2001:db8::9:1]:5070;branch=z9hG4bKkdjuw;rport;"
               "received=[2001:db8::9:255]\n"
               "C: application/sdp\n"
               "Contact: <sip:cal%6Cer@[2001:db8::9:1]:5070;%6C%72;n%61me=v%61lue%25%34%31>\n"
               "Content-Length: 0\n"
               "\n",
               0, NULL);
    assert_int_equal(vox_sip_validate(&msg, &d), 0);
    assert_int_equal(vox_sip_uri_parse(msg.request_uri, &uri), 0);
    assert_int_equal(uri.scheme, VOX_SIP_SCHEME_SIP);
    vox_test_assert_str(uri.user, "sips%3Auser%40example.com");
    vox_test_assert_str(uri.host, "example.net");
    assert_int_equal(vox_sip_unescape(uri.user, tmp, sizeof(tmp), &n), 0);
    assert_string_equal(tmp, "sips:user@example.com");
    assert_int_equal(vox_sip_get_to(&msg, &na), 0);
    assert_int_equal(vox_sip_uri_parse(na.uri, &uri), 0);
    assert_int_equal(vox_sip_unescape(uri.user, tmp, sizeof(tmp), &n), 0);
    assert_string_equal(tmp, "user");
    assert_int_equal(vox_sip_get_contact(&msg, &na), 0);
    assert_int_equal(vox_sip_uri_parse(na.uri, &uri), 0);
    assert_true(uri.host_ipv6);
    vox_test_assert_str(uri.host, "2001:db8::9:1");
    assert_int_equal(uri.port, 5070);
    vox_test_assert_str(uri.params, "%6C%72;n%61me=v%61lue%25%34%31");
    assert_int_equal(vox_sip_get_via(&msg, 0, &via), 0);
    assert_true(via.host_ipv6);
    vox_test_assert_str(via.host, "2001:db8::9:1");
    assert_int_equal(via.port, 5070);
    assert_true(via.has_rport);
    assert_int_equal(via.rport, 0);
    vox_test_assert_str(via.received, "[2001:db8::9:255]");
    assert_int_equal(vox_sip_unescape(vox_str_c("bad%4"), tmp, sizeof(tmp), &n), VOX_EMALFORMED);
    assert_int_equal(vox_sip_unescape(vox_str_c("bad%zz"), tmp, sizeof(tmp), &n), VOX_EMALFORMED);
}

/* Many Vias, long values, LF-only lines, an extension method, responses without reason. */
static void torture_many_and_long(void **st)
{
    static char buf[VOX_SIP_MAX_MSG_BYTES];
    struct vox_sip_via via;
    struct vox_sip_cseq cseq;
    struct vox_str v;
    struct vox_diag d = {{0}};
    size_t n = 0, i;

    (void)st;
    n += (size_t)sprintf(buf + n, "NEWMETHOD sip:x@example.com SIP/2.0\r\n");
    for (i = 0; i < 60; i++)
        n += (size_t)sprintf(buf + n, "Via: SIP/2.0/UDP h%zu.example.com;branch=z9hG4bK%zu\r\n", i,
                             i);
    n += (size_t)sprintf(buf + n, "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bKa, "
                                  "SIP/2.0/UDP b.example.com;branch=z9hG4bKb,"
                                  "SIP/2.0/UDP c.example.com;branch=z9hG4bKc\r\n");
    n += (size_t)sprintf(buf + n, "To: <sip:x@example.com>\r\nFrom: <sip:y@example.com>;tag=1\r\n"
                                  "CSeq: 2147483647 NEWMETHOD\r\nMax-Forwards: 255\r\n");
    n += (size_t)sprintf(buf + n, "Call-ID: ");
    for (i = 0; i < 8000; i++)
        buf[n++] = (char)('a' + i % 26);
    n += (size_t)sprintf(buf + n, "@long.example.com\r\nX-Empty:\r\nl: 0\r\n\r\n");
    assert_int_equal(vox_sip_parse(buf, n, &msg, &d), 0);
    assert_int_equal(vox_sip_validate(&msg, &d), 0);
    assert_int_equal(msg.method_id, VOX_SIP_METHOD_OTHER);
    assert_int_equal(vox_sip_via_count(&msg), 63);
    for (i = 0; i < 60; i++) {
        char host[32];

        snprintf(host, sizeof(host), "h%zu.example.com", i);
        assert_int_equal(vox_sip_get_via(&msg, i, &via), 0);
        vox_test_assert_str(via.host, host);
    }
    assert_int_equal(vox_sip_get_via(&msg, 62, &via), 0);
    vox_test_assert_str(via.host, "c.example.com");
    assert_int_equal(vox_sip_get_call_id(&msg, &v), 0);
    assert_int_equal(v.len, 8000 + strlen("@long.example.com"));
    assert_int_equal(vox_sip_get_cseq(&msg, &cseq), 0);
    assert_int_equal(cseq.number, 2147483647u);
    assert_int_equal(vox_sip_find_name(&msg, "x-empty")->value.len, 0);

    /* bare LF line endings are tolerated and reported */
    n = (size_t)sprintf(buf, "SIP/2.0 180 Ringing\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\n"
                             "From: <sip:a@b>;tag=1\nTo: <sip:c@d>;tag=2\nCall-ID: lf\n"
                             "CSeq: 1 INVITE\nContent-Length: 0\n\n");
    assert_int_equal(vox_sip_parse(buf, n, &msg, &d), 0);
    assert_true(msg.warnings & VOX_SIP_WARN_LF_ONLY);
    assert_false(msg.is_request);
    assert_int_equal(msg.status, 180);
    vox_test_assert_str(msg.reason, "Ringing");
    assert_int_equal(vox_sip_validate(&msg, &d), 0);

    /* status lines: empty or absent reason, lower-case version, odd reason text */
    parse_crlf("SIP/2.0 100\nContent-Length: 0\n\n", 0, NULL);
    assert_int_equal(msg.status, 100);
    assert_int_equal(msg.reason.len, 0);
    parse_crlf("sip/2.0 606 \nContent-Length: 0\n\n", 0, NULL);
    assert_int_equal(msg.status, 606);
    parse_crlf("SIP/2.0 486 Busy Here (really) \xc3\xa9\nContent-Length: 0\n\n", 0, NULL);
    vox_test_assert_str(msg.reason, "Busy Here (really) \xc3\xa9");

    /* tel: Request-URI; CRLFs before the start line are skipped (RFC 3261 §7.5) */
    parse_crlf("\n\nINVITE tel:+1-201-555-0123;phone-context=example.com SIP/2.0\n"
               "Via: SIP/2.0/UDP h;branch=z9hG4bK1\nFrom: <tel:+12125550100>;tag=1\n"
               "To: <tel:+1-201-555-0123>\nCall-ID: tel@x\nCSeq: 1 INVITE\nMax-Forwards: 70\n"
               "Content-Length: 0\n\n",
               0, NULL);
    assert_int_equal(vox_sip_validate(&msg, &d), 0);
    {
        struct vox_sip_uri uri;

        assert_int_equal(vox_sip_uri_parse(msg.request_uri, &uri), 0);
        assert_int_equal(uri.scheme, VOX_SIP_SCHEME_TEL);
        vox_test_assert_str(uri.user, "+1-201-555-0123");
        vox_test_assert_str(uri.params, "phone-context=example.com");
    }
    assert_int_equal(vox_sip_find(&msg, VOX_SIP_H_VIA, 0)->line, 4);

    /* body without Content-Length on a datagram: the rest of it; trailing bytes after one */
    parse_crlf("MESSAGE sip:a@b SIP/2.0\nc: text/plain\n\nhi there", 0, NULL);
    vox_test_assert_str(msg.body, "hi there");
    parse_crlf("MESSAGE sip:a@b SIP/2.0\nc: text/plain\nl: 2\n\nhi there", 0, NULL);
    vox_test_assert_str(msg.body, "hi");
    assert_true(msg.warnings & VOX_SIP_WARN_TRAILING_BYTES);
}

/* ---- invalid (RFC 4475 §3.1.2 in spirit) -------------------------------------------------------
 */

static const char *base_request(const char *drop, const char *add)
{
    static char out[4096];
    static const char *lines[] = {
        "Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776asdhds",
        "Max-Forwards: 70",
        "To: Bob <sip:bob@example.com>",
        "From: Alice <sip:alice@example.com>;tag=1928301774",
        "Call-ID: a84b4c76e66710@pc33.example.com",
        "CSeq: 314159 INVITE",
        "Contact: <sip:alice@pc33.example.com>",
        "Content-Length: 0",
    };
    size_t i, n = 0;

    n += (size_t)sprintf(out + n, "INVITE sip:bob@example.com SIP/2.0\n");
    for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        if (!drop || strncmp(lines[i], drop, strlen(drop)) != 0)
            n += (size_t)sprintf(out + n, "%s\n", lines[i]);
    if (add)
        n += (size_t)sprintf(out + n, "%s\n", add);
    sprintf(out + n, "\n");
    return out;
}

/* Parses fine, fails validation with this status and reason. */
static void expect_invalid(const char *drop, const char *add, int status, const char *reason)
{
    struct vox_diag d = {{0}};

    parse_crlf(base_request(drop, add), 0, NULL);
    assert_int_equal(vox_sip_validate(&msg, &d), VOX_EMALFORMED);
    assert_int_equal(msg.error.status, status);
    if (strcmp(msg.error.reason, reason) != 0)
        fail_msg("reason '%s', wanted '%s' (diag: %s)", msg.error.reason, reason, d.text);
    assert_true(d.text[0] != 0);
}

static void torture_invalid_headers(void **st)
{
    struct vox_diag d = {{0}};

    (void)st;
    parse_crlf(base_request(NULL, NULL), 0, NULL);
    assert_int_equal(vox_sip_validate(&msg, &d), 0);
    assert_int_equal(msg.warnings, 0);

    expect_invalid("Call-ID", NULL, 400, "Bad Request - missing Call-ID");
    expect_invalid("Via", NULL, 400, "Bad Request - missing Via");
    expect_invalid("From", NULL, 400, "Bad Request - missing From");
    expect_invalid("To", NULL, 400, "Bad Request - missing To");
    expect_invalid("CSeq", NULL, 400, "Bad Request - missing CSeq");
    expect_invalid("CSeq", "CSeq: abc INVITE", 400, "Bad Request - malformed CSeq");
    expect_invalid("CSeq", "CSeq: 2147483648 INVITE", 400, "Bad Request - malformed CSeq");
    expect_invalid("CSeq", "CSeq: -1 INVITE", 400, "Bad Request - malformed CSeq");
    expect_invalid("CSeq", "CSeq: 1 ACK", 400, "Bad Request - malformed CSeq");
    expect_invalid("CSeq", "CSeq: 1", 400, "Bad Request - malformed CSeq");
    expect_invalid("CSeq", "CSeq: 1 INVITE INVITE", 400, "Bad Request - malformed CSeq");
    expect_invalid("From", "From: \"Bob <sip:bob@example.com>;tag=1", 400,
                   "Bad Request - malformed From");
    expect_invalid("From", "From: <sip:bob@example.com;tag=1", 400, "Bad Request - malformed From");
    expect_invalid("To", "To: Bob sip:bob@example.com", 400, "Bad Request - malformed To");
    expect_invalid("To", "To: <sip:bob@example.com>;x=\"open", 400, "Bad Request - malformed To");
    expect_invalid("To", "To: <sip:bob@exa mple.com>", 400, "Bad Request - malformed To");
    expect_invalid("Via", "Via: SIP/3.0/UDP h;branch=z9hG4bK1", 400, "Bad Request - malformed Via");
    expect_invalid("Via", "Via: SIP/2.0/UDP h:99999;branch=z9hG4bK1", 400,
                   "Bad Request - malformed Via");
    expect_invalid("Via", "Via: SIP/2.0/UDP", 400, "Bad Request - malformed Via");
    expect_invalid(NULL, "Call-ID: second@x", 400, "Bad Request - duplicate Call-ID");
    expect_invalid("Max-Forwards", "Max-Forwards: 300", 400,
                   "Bad Request - malformed Max-Forwards");
    expect_invalid(NULL, "Expires: soon", 400, "Bad Request - malformed Expires");
    expect_invalid(NULL, "Content-Type: application", 400, "Bad Request - malformed Content-Type");

    /* Max-Forwards may be absent: accepted with a warning */
    parse_crlf(base_request("Max-Forwards", NULL), 0, NULL);
    assert_int_equal(vox_sip_validate(&msg, &d), 0);
    assert_true(msg.warnings & VOX_SIP_WARN_NO_MAX_FORWARDS);

    /* Request-URI: an unknown scheme is 416, a broken sip: URI 400 */
    parse_crlf("INVITE http://example.com/ SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\n\n", 0,
               NULL);
    assert_int_equal(vox_sip_validate(&msg, &d), VOX_EMALFORMED);
    assert_int_equal(msg.error.status, 416);
    parse_crlf("INVITE sip:@example.com SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\n\n", 0, NULL);
    assert_int_equal(vox_sip_validate(&msg, &d), VOX_EMALFORMED);
    assert_string_equal(msg.error.reason, "Bad Request - malformed Request-URI");

    /* a response lacking Call-ID: malformed, but nothing to answer */
    parse_crlf("SIP/2.0 200 OK\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nFrom: <sip:a@b>;tag=1\n"
               "To: <sip:c@d>\nCSeq: 1 INVITE\n\n",
               0, NULL);
    assert_int_equal(vox_sip_validate(&msg, &d), VOX_EMALFORMED);
    assert_int_equal(msg.error.status, 0);
    assert_non_null(strstr(d.text, "Call-ID"));
}

static void torture_invalid_syntax(void **st)
{
    static char big[VOX_SIP_MAX_MSG_BYTES + 10];
    struct vox_diag d = {{0}};
    const char *buf;
    size_t len, n, i;

    (void)st;
    /* wrong version: 505 (RFC 4475 §3.1.2.16 in spirit) */
    parse_crlf("INVITE sip:t.watson@example.org SIP/7.0\nContent-Length: 0\n\n", VOX_EMALFORMED,
               NULL);
    assert_int_equal(msg.error.status, 505);
    assert_string_equal(msg.error.reason, "Version Not Supported");
    assert_int_equal(msg.error.line, 1);
    parse_crlf("INVITE sip:t.watson@example.org SIP/2.0x\n\n", VOX_EMALFORMED, NULL);
    assert_int_equal(msg.error.status, 400);
    parse_crlf("INVITE sip:t.watson@example.org HTTP/1.1\n\n", VOX_EMALFORMED, NULL);
    assert_int_equal(msg.error.status, 400);
    /* a response with another version: malformed, no status to send */
    parse_crlf("SIP/3.0 200 OK\n\n", VOX_EMALFORMED, NULL);
    assert_int_equal(msg.error.status, 0);

    /* status codes out of range or not three digits */
    parse_crlf("SIP/2.0 99 Low\n\n", VOX_EMALFORMED, NULL);
    parse_crlf("SIP/2.0 700 High\n\n", VOX_EMALFORMED, NULL);
    parse_crlf("SIP/2.0 2000 OK\n\n", VOX_EMALFORMED, NULL);
    parse_crlf("SIP/2.0 2x0 OK\n\n", VOX_EMALFORMED, NULL);
    parse_crlf("SIP/2.0  200 OK\n\n", VOX_EMALFORMED, NULL);

    /* request lines: extra spaces, spaces in the URI, missing parts */
    parse_crlf("INVITE  sip:a@b SIP/2.0\n\n", VOX_EMALFORMED, NULL);
    assert_string_equal(msg.error.reason, "Bad Request - malformed Request-Line");
    parse_crlf("INVITE sip:a b@c SIP/2.0\n\n", VOX_EMALFORMED, NULL);
    parse_crlf("INVITE sip:a@b  SIP/2.0\n\n", VOX_EMALFORMED, NULL);
    parse_crlf("INVITE sip:a@b\n\n", VOX_EMALFORMED, NULL);
    parse_crlf("INVITE\n\n", VOX_EMALFORMED, NULL);
    parse_crlf("\n", VOX_EINCOMPLETE, NULL);

    /* negative and huge Content-Length */
    parse_crlf(base_request("Content-Length", "Content-Length: -5"), VOX_EMALFORMED, NULL);
    assert_int_equal(msg.error.status, 400);
    assert_string_equal(msg.error.reason, "Bad Request - invalid Content-Length");
    assert_int_equal(msg.error.line, 9);
    parse_crlf(base_request("Content-Length", "Content-Length: 18446744073709551617"), VOX_ELIMIT,
               NULL);
    assert_int_equal(msg.error.status, 413);
    parse_crlf(base_request("Content-Length", "Content-Length: 12a"), VOX_EMALFORMED, NULL);
    parse_crlf(base_request(NULL, "l: 3"), VOX_EMALFORMED, NULL);
    assert_string_equal(msg.error.reason, "Bad Request - conflicting Content-Length");
    /* Content-Length longer than what follows: incomplete */
    parse_crlf(base_request("Content-Length", "Content-Length: 10"), VOX_EINCOMPLETE, NULL);

    /* header lines: no colon, leading continuation, NUL, bare CR */
    parse_crlf(base_request(NULL, "Foo bar"), VOX_EMALFORMED, NULL);
    assert_int_equal(msg.error.line, 10);
    assert_int_equal(msg.error.status, 400);
    assert_int_equal(msg.nheaders, 8); /* the headers before the fault are kept */
    parse_crlf("INVITE sip:a@b SIP/2.0\n continuation: first\n\n", VOX_EMALFORMED, NULL);
    assert_int_equal(msg.error.line, 2);
    parse_crlf(base_request(NULL, "@odd: x"), VOX_EMALFORMED, NULL);

    buf = crlf(base_request(NULL, "Subject: nul here"), &len);
    {
        char *w = (char *)buf + (strstr(buf, "nul here") - buf) + 3;

        *w = '\0';
        assert_int_equal(vox_sip_parse(buf, len, &msg, &d), VOX_EMALFORMED);
        assert_int_equal(msg.error.offset, (size_t)(w - buf));
        assert_int_equal(msg.error.line, 10);
        assert_non_null(strstr(d.text, "NUL"));
        assert_non_null(strstr(d.text, "line 10"));
    }
    buf = crlf(base_request(NULL, "Subject: cr here"), &len);
    {
        char *w = (char *)buf + (strstr(buf, "cr here") - buf) + 2;

        *w = '\r';
        assert_int_equal(vox_sip_parse(buf, len, &msg, &d), VOX_EMALFORMED);
        assert_non_null(strstr(d.text, "bare CR"));
    }
    memcpy(big, "INV\0TE sip:a@b SIP/2.0\r\n\r\n", 27);
    assert_int_equal(vox_sip_parse(big, 27, &msg, &d), VOX_EMALFORMED);

    /* headers that never end */
    parse_crlf("INVITE sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h\n", VOX_EINCOMPLETE, NULL);

    /* limits: 129 headers (513), a message over 64 KiB (513) */
    n = (size_t)sprintf(big, "OPTIONS sip:a@b SIP/2.0\r\n");
    for (i = 0; i < VOX_SIP_MAX_HEADERS + 1; i++)
        n += (size_t)sprintf(big + n, "X-H%zu: v\r\n", i);
    n += (size_t)sprintf(big + n, "\r\n");
    assert_int_equal(vox_sip_parse(big, n, &msg, &d), VOX_ELIMIT);
    assert_int_equal(msg.error.status, 513);
    assert_int_equal(msg.nheaders, VOX_SIP_MAX_HEADERS);
    memset(big, 'x', sizeof(big));
    assert_int_equal(vox_sip_parse(big, VOX_SIP_MAX_MSG_BYTES + 1, &msg, &d), VOX_ELIMIT);
    assert_int_equal(msg.error.status, 513);
    assert_string_equal(msg.error.reason, "Message Too Large");
}

/* Never reads past len: the message sits at the very end of a heap block (ASan checks). */
static void no_read_past_len(void **st)
{
    size_t n;

    (void)st;
    build_siprec();
    for (n = siprec_len - 40; n <= siprec_len; n++) {
        char *copy = malloc(n ? n : 1);
        struct vox_sip_frame fr;

        memcpy(copy, siprec, n);
        vox_sip_parse(copy, n, &msg, NULL);
        vox_sip_frame(copy, n, VOX_SIP_TRANSPORT_STREAM, &fr, NULL);
        free(copy);
    }
    for (n = 0; n < 120; n++) {
        char *copy = malloc(n ? n : 1);
        struct vox_sip_frame fr;

        memcpy(copy, siprec, n);
        assert_int_equal(vox_sip_parse(copy, n, &msg, NULL), VOX_EINCOMPLETE);
        assert_int_equal(vox_sip_frame(copy, n, VOX_SIP_TRANSPORT_UDP, &fr, NULL),
                         n == 0 ? VOX_EINCOMPLETE : VOX_EMALFORMED);
        free(copy);
    }
}

/* ---- small parsers --------------------------------------------------------------------------- */

static void uri_parser(void **st)
{
    struct vox_sip_uri u;

    (void)st;
    assert_int_equal(vox_sip_uri_parse(vox_str_c("sips:alice:secret@atlanta.com:5061;"
                                                 "transport=tcp;lr?subject=project%20x&p=1"),
                                       &u),
                     0);
    assert_int_equal(u.scheme, VOX_SIP_SCHEME_SIPS);
    vox_test_assert_str(u.user, "alice");
    vox_test_assert_str(u.password, "secret");
    vox_test_assert_str(u.host, "atlanta.com");
    assert_int_equal(u.port, 5061);
    vox_test_assert_str(u.params, "transport=tcp;lr");
    vox_test_assert_str(u.headers, "subject=project%20x&p=1");
    assert_int_equal(vox_sip_uri_parse(vox_str_c("SIP:[::1]"), &u), 0);
    assert_int_equal(u.scheme, VOX_SIP_SCHEME_SIP);
    assert_true(u.host_ipv6);
    vox_test_assert_str(u.host, "::1");
    assert_int_equal(u.port, 0);
    assert_int_equal(vox_sip_uri_parse(vox_str_c("sip:+1212555;phone-context=x@gw.example.com;"
                                                 "user=phone"),
                                       &u),
                     0);
    vox_test_assert_str(u.user, "+1212555;phone-context=x");
    vox_test_assert_str(u.params, "user=phone");
    assert_int_equal(vox_sip_uri_parse(vox_str_c("sip:192.0.2.4:0"), &u), 0);
    vox_test_assert_str(u.host, "192.0.2.4");
    assert_int_equal(vox_sip_uri_parse(vox_str_c("urn:service:sos"), &u), 0);
    assert_int_equal(u.scheme, VOX_SIP_SCHEME_OTHER);
    vox_test_assert_str(u.rest, "service:sos");

    assert_int_equal(vox_sip_uri_parse(vox_str_c("sip:"), &u), VOX_EMALFORMED);
    assert_int_equal(vox_sip_uri_parse(vox_str_c("sip:host:"), &u), VOX_EMALFORMED);
    assert_int_equal(vox_sip_uri_parse(vox_str_c("sip:host:70000"), &u), VOX_EMALFORMED);
    assert_int_equal(vox_sip_uri_parse(vox_str_c("sip:[::1"), &u), VOX_EMALFORMED);
    assert_int_equal(vox_sip_uri_parse(vox_str_c("sip:[::g]"), &u), VOX_EMALFORMED);
    assert_int_equal(vox_sip_uri_parse(vox_str_c("sip:a@"), &u), VOX_EMALFORMED);
    assert_int_equal(vox_sip_uri_parse(vox_str_c("sip:a@b c"), &u), VOX_EMALFORMED);
    assert_int_equal(vox_sip_uri_parse(vox_str_c("sip:a@ho/st"), &u), VOX_EMALFORMED);
    assert_int_equal(vox_sip_uri_parse(vox_str_c("nocolon"), &u), VOX_EMALFORMED);
    assert_int_equal(vox_sip_uri_parse(vox_str_c("1sip:a@b"), &u), VOX_EMALFORMED);
    assert_int_equal(vox_sip_uri_parse(vox_str_c("tel:"), &u), VOX_EMALFORMED);
}

/* vox_str_copy: cut to the buffer, the view's length back, and the empty view without a pointer
 * (what trim() leaves of "From: "), which memcpy must not be handed. */
static void str_copy(void **st)
{
    struct vox_str empty = {NULL, 0};
    char buf[5];

    (void)st;
    memset(buf, 'x', sizeof buf);
    assert_int_equal(vox_str_copy(buf, sizeof buf, empty), 0);
    assert_string_equal(buf, "");
    assert_int_equal(vox_str_copy(buf, sizeof buf, vox_str_c("abcd")), 4);
    assert_string_equal(buf, "abcd");
    assert_int_equal(vox_str_copy(buf, sizeof buf, vox_str_c("abcdefg")), 7);
    assert_string_equal(buf, "abcd");
    assert_int_equal(vox_str_copy(buf, 1, vox_str_c("abc")), 3);
    assert_string_equal(buf, "");
}

static void nameaddr_and_params(void **st)
{
    struct vox_sip_nameaddr na;
    struct vox_str cur, n, v;
    int count = 0;

    (void)st;
    assert_int_equal(
        vox_sip_nameaddr_parse(vox_str_c("  Anonymous Caller  <sip:c@x>  ;tag=z "), &na), 0);
    assert_false(na.display_quoted);
    vox_test_assert_str(na.display, "Anonymous Caller");
    vox_test_assert_str(na.uri, "sip:c@x");
    vox_test_assert_str(na.tag, "z");
    assert_int_equal(vox_sip_nameaddr_parse(vox_str_c("\"\" <sip:c@x>"), &na), 0);
    assert_true(na.display_quoted);
    assert_int_equal(na.display.len, 0);
    assert_int_equal(vox_sip_nameaddr_parse(vox_str_c("sip:c@x;tag=abc;foo"), &na), 0);
    vox_test_assert_str(na.uri, "sip:c@x");
    vox_test_assert_str(na.params, "tag=abc;foo");
    vox_test_assert_str(na.tag, "abc");
    assert_int_equal(vox_sip_nameaddr_parse(vox_str_c("*"), &na), 0);
    vox_test_assert_str(na.uri, "*");
    assert_int_equal(vox_sip_nameaddr_parse(vox_str_c("<sip:c@x> trailing"), &na), VOX_EMALFORMED);
    assert_int_equal(vox_sip_nameaddr_parse(vox_str_c("<>"), &na), VOX_EMALFORMED);
    assert_int_equal(vox_sip_nameaddr_parse(vox_str_c(""), &na), VOX_EMALFORMED);
    assert_int_equal(vox_sip_nameaddr_parse(vox_str_c("\"a\" sip:c@x"), &na), VOX_EMALFORMED);
    assert_int_equal(vox_sip_nameaddr_parse(vox_str_c("<sip:c@x>;;tag=1"), &na), VOX_EMALFORMED);
    /* an addr-spec's header parameters may be quoted (Cisco CUBE's participant headers) */
    assert_int_equal(
        vox_sip_nameaddr_parse(vox_str_c("sip:2164485925@ccf.org;media-index=\"0\";tag=t"), &na),
        0);
    vox_test_assert_str(na.uri, "sip:2164485925@ccf.org");
    vox_test_assert_str(na.params, "media-index=\"0\";tag=t");
    vox_test_assert_str(na.tag, "t");
    assert_int_equal(vox_sip_nameaddr_parse(vox_str_c("sip:c@x;q=\"<a>\""), &na), 0);
    assert_int_equal(vox_sip_nameaddr_parse(vox_str_c("sip:c@x;q=\"open"), &na), VOX_EMALFORMED);
    /* a display name is tokens: ';' in it, or quotes before the ';', is no addr-spec either */
    assert_int_equal(vox_sip_nameaddr_parse(vox_str_c("Bob;x <sip:b@b.com>"), &na), VOX_EMALFORMED);
    assert_int_equal(vox_sip_nameaddr_parse(vox_str_c("sip:c\"@x;a=1"), &na), VOX_EMALFORMED);

    cur = vox_str_c(";lr ; +sip.src;q=\"0;5\";  a = b");
    while (vox_sip_param_next(&cur, &n, &v)) {
        const char *names[] = {"lr", "+sip.src", "q", "a"}, *vals[] = {"", "", "0;5", "b"};

        assert_true(count < 4);
        vox_test_assert_str(n, names[count]);
        vox_test_assert_str(v, vals[count]);
        count++;
    }
    assert_int_equal(count, 4);
    assert_false(vox_sip_param_get(vox_str_c("lr;tagx=1"), "tag", NULL));

    /* comma lists: commas inside quotes and <> do not split */
    cur = vox_str_c("\"Doe, John\" <sip:j@x>, <sip:a@b;p=1,2>,, sip:c@d");
    assert_true(vox_sip_next_item(&cur, &v));
    vox_test_assert_str(v, "\"Doe, John\" <sip:j@x>");
    assert_true(vox_sip_next_item(&cur, &v));
    vox_test_assert_str(v, "<sip:a@b;p=1,2>");
    assert_true(vox_sip_next_item(&cur, &v));
    vox_test_assert_str(v, "sip:c@d");
    assert_false(vox_sip_next_item(&cur, &v));
}

static void header_names_and_tokenizer(void **st)
{
    static const struct {
        const char *name;
        enum vox_sip_hdr id;
    } compact[] = {
        {"i", VOX_SIP_H_CALL_ID},
        {"m", VOX_SIP_H_CONTACT},
        {"e", VOX_SIP_H_CONTENT_ENCODING},
        {"l", VOX_SIP_H_CONTENT_LENGTH},
        {"c", VOX_SIP_H_CONTENT_TYPE},
        {"f", VOX_SIP_H_FROM},
        {"s", VOX_SIP_H_SUBJECT},
        {"k", VOX_SIP_H_SUPPORTED},
        {"t", VOX_SIP_H_TO},
        {"v", VOX_SIP_H_VIA},
        {"o", VOX_SIP_H_EVENT},
        {"u", VOX_SIP_H_ALLOW_EVENTS},
        {"r", VOX_SIP_H_REFER_TO},
        {"b", VOX_SIP_H_REFERRED_BY},
        {"x", VOX_SIP_H_SESSION_EXPIRES},
        {"y", VOX_SIP_H_IDENTITY},
        {"a", VOX_SIP_H_ACCEPT_CONTACT},
        {"j", VOX_SIP_H_REJECT_CONTACT},
        {"d", VOX_SIP_H_REQUEST_DISPOSITION},
        {"z", VOX_SIP_H_OTHER},
        {"1", VOX_SIP_H_OTHER},
        {"I", VOX_SIP_H_CALL_ID},
        {"call-id", VOX_SIP_H_CALL_ID},
        {"CALL-ID", VOX_SIP_H_CALL_ID},
        {"cseq", VOX_SIP_H_CSEQ},
        {"Record-route", VOX_SIP_H_RECORD_ROUTE},
        {"q", VOX_SIP_H_OTHER},
        {"X-Call-ID", VOX_SIP_H_OTHER},
        {"Vias", VOX_SIP_H_OTHER},
    };
    struct vox_sip_header h;
    struct vox_diag d = {{0}};
    const char *block = "Content-Type: a/b\r\n  ;x=1\r\nContent-ID: <c>\r\n\r\nbody";
    size_t i, pos = 0;

    (void)st;
    for (i = 0; i < sizeof(compact) / sizeof(compact[0]); i++)
        if (vox_sip_hdr_lookup(vox_str_c(compact[i].name)) != compact[i].id)
            fail_msg("'%s' maps to %d, wanted %d", compact[i].name,
                     vox_sip_hdr_lookup(vox_str_c(compact[i].name)), compact[i].id);
    /* every name of the map round-trips, in any case */
    for (i = 1; i < VOX_SIP_H__COUNT; i++) {
        char upper[64];
        const char *name = vox_sip_hdr_name((enum vox_sip_hdr)i);
        size_t k;

        assert_non_null(name);
        for (k = 0; k < sizeof(upper) - 1 && name[k]; k++)
            upper[k] = (char)(name[k] >= 'a' && name[k] <= 'z' ? name[k] - 32 : name[k]);
        upper[k] = 0;
        assert_int_equal(vox_sip_hdr_lookup(vox_str_c(name)), i);
        assert_int_equal(vox_sip_hdr_lookup(vox_str_c(upper)), i);
    }
    assert_string_equal(vox_sip_hdr_name(VOX_SIP_H_CALL_ID), "Call-ID");
    assert_null(vox_sip_hdr_name(VOX_SIP_H_OTHER));

    assert_int_equal(vox_sip_header_next(block, strlen(block), &pos, &h, &d), 1);
    assert_int_equal(h.id, VOX_SIP_H_CONTENT_TYPE);
    assert_int_equal(h.folds, 1);
    vox_test_assert_str(h.value, "a/b\r\n  ;x=1");
    assert_int_equal(vox_sip_header_next(block, strlen(block), &pos, &h, &d), 1);
    vox_test_assert_str(h.value, "<c>");
    assert_int_equal(vox_sip_header_next(block, strlen(block), &pos, &h, &d), 0);
    assert_string_equal(block + pos, "body");
    /* a line break at the end of the input could still be folded: incomplete */
    pos = 0;
    assert_int_equal(vox_sip_header_next(block, 19, &pos, &h, &d), VOX_EINCOMPLETE);
    assert_int_equal(pos, 0);
    pos = 0;
    assert_int_equal(vox_sip_header_next("Bad Name: x\r\n\r\n", 15, &pos, &h, &d), VOX_EMALFORMED);
    assert_non_null(strstr(d.text, "offset 4"));
}

/* ---- printers -------------------------------------------------------------------------------- */

static struct vox_sip_msg rsp;

static void response_printer(void **st)
{
    static char out[4096];
    struct vox_sip_field extra[] = {{"Contact", "<sip:srs@203.0.113.5:5060;transport=tcp>"},
                                    {"Supported", "siprec"}};
    struct vox_sip_response_spec spec = {0};
    struct vox_sip_nameaddr to, from;
    struct vox_sip_via via;
    struct vox_sip_iter it;
    struct vox_str v;
    struct vox_diag d = {{0}};
    const char *body = "v=0\r\n";
    size_t len, cap, req_len;
    const char *req;

    (void)st;
    req = parse_crlf("INVITE sip:srs@example.com SIP/2.0\n"
                     "v: SIP/2.0/UDP p1.example.com;branch=z9hG4bK1, SIP/2.0/UDP "
                     "p2.example.com;branch=z9hG4bK2\n"
                     "Record-Route: <sip:p1.example.com;lr>\n"
                     "Via: SIP/2.0/TCP\n"
                     "  src.example.com:5060;branch=z9hG4bK3;received=192.0.2.9\n"
                     "Record-Route: <sip:p0.example.com;lr>\n"
                     "f: \"Caller\" <sip:c@example.com>;tag=abc\n"
                     "t: <sip:srs@example.com>\n"
                     "i: resp-test@example.com\n"
                     "CSeq: 7 INVITE\n"
                     "Max-Forwards: 68\n"
                     "Content-Length: 0\n\n",
                     0, &req_len);
    (void)req;
    spec.status = 200;
    spec.to_tag = "srs-42";
    spec.headers = extra;
    spec.nheaders = 2;
    spec.content_type = "application/sdp";
    spec.body = vox_str_c(body);
    assert_int_equal(vox_sip_print_response(&msg, &spec, out, sizeof(out), &len), 0);
    assert_int_equal(strlen(out), len);
    assert_memory_equal(out, "SIP/2.0 200 OK\r\n", 16);
    assert_int_equal(vox_sip_parse(out, len, &rsp, &d), 0);
    assert_int_equal(vox_sip_validate(&rsp, &d), 0);
    assert_int_equal(rsp.status, 200);
    /* Vias in the same order, folded value flattened */
    assert_int_equal(vox_sip_via_count(&rsp), 3);
    assert_int_equal(vox_sip_get_via(&rsp, 0, &via), 0);
    vox_test_assert_str(via.host, "p1.example.com");
    assert_int_equal(vox_sip_get_via(&rsp, 1, &via), 0);
    vox_test_assert_str(via.host, "p2.example.com");
    assert_int_equal(vox_sip_get_via(&rsp, 2, &via), 0);
    vox_test_assert_str(via.host, "src.example.com");
    vox_test_assert_str(via.received, "192.0.2.9");
    assert_non_null(strstr(out, "Via: SIP/2.0/TCP src.example.com:5060;"));
    /* Record-Route copied in order for a 2xx to INVITE */
    vox_sip_iter_init(&it, &rsp, VOX_SIP_H_RECORD_ROUTE);
    assert_true(vox_sip_iter_next(&it, &v));
    vox_test_assert_str(v, "<sip:p1.example.com;lr>");
    assert_true(vox_sip_iter_next(&it, &v));
    vox_test_assert_str(v, "<sip:p0.example.com;lr>");
    assert_false(vox_sip_iter_next(&it, &v));
    /* To tag added, From kept, Call-ID and CSeq copied, full names printed */
    assert_int_equal(vox_sip_get_to(&rsp, &to), 0);
    vox_test_assert_str(to.tag, "srs-42");
    assert_int_equal(vox_sip_get_from(&rsp, &from), 0);
    vox_test_assert_str(from.tag, "abc");
    vox_test_assert_str(from.display, "Caller");
    assert_int_equal(vox_sip_get_call_id(&rsp, &v), 0);
    vox_test_assert_str(v, "resp-test@example.com");
    vox_test_assert_str(vox_sip_find(&rsp, VOX_SIP_H_CSEQ, 0)->value, "7 INVITE");
    vox_test_assert_str(vox_sip_find(&rsp, VOX_SIP_H_CALL_ID, 0)->name, "Call-ID");
    assert_true(vox_sip_has_option(&rsp, VOX_SIP_H_SUPPORTED, "siprec"));
    vox_test_assert_str(rsp.body, body);
    assert_int_equal(rsp.content_length, 5);
    assert_int_equal(vox_sip_get_contact(&rsp, &to), 0);
    vox_test_assert_str(to.uri, "sip:srs@203.0.113.5:5060;transport=tcp");

    /* every buffer too small is refused */
    for (cap = 0; cap < len; cap++)
        assert_int_equal(vox_sip_print_response(&msg, &spec, out, cap, NULL), VOX_ERANGE);

    /* 100 Trying: no tag, no Record-Route; a 180 with its own reason */
    spec.status = 100;
    spec.body = vox_str_c("");
    assert_int_equal(vox_sip_print_response(&msg, &spec, out, sizeof(out), &len), 0);
    assert_int_equal(vox_sip_parse(out, len, &rsp, &d), 0);
    assert_int_equal(vox_sip_get_to(&rsp, &to), 0);
    assert_false(to.has_tag);
    assert_null(vox_sip_find(&rsp, VOX_SIP_H_RECORD_ROUTE, 0));
    assert_null(vox_sip_find(&rsp, VOX_SIP_H_CONTENT_TYPE, 0));
    spec.status = 180;
    spec.reason = "Ringing (recording)";
    assert_int_equal(vox_sip_print_response(&msg, &spec, out, sizeof(out), &len), 0);
    assert_int_equal(vox_sip_parse(out, len, &rsp, &d), 0);
    vox_test_assert_str(rsp.reason, "Ringing (recording)");

    /* an in-dialog request keeps its To tag */
    parse_crlf(base_request("To", "To: <sip:bob@example.com>;tag=existing"), 0, NULL);
    spec.status = 200;
    spec.reason = NULL;
    assert_int_equal(vox_sip_print_response(&msg, &spec, out, sizeof(out), &len), 0);
    assert_int_equal(vox_sip_parse(out, len, &rsp, &d), 0);
    assert_int_equal(vox_sip_get_to(&rsp, &to), 0);
    vox_test_assert_str(to.tag, "existing");
    assert_null(strstr(out, "srs-42"));
    /* a dangling ';' does not become ";;tag=" */
    parse_crlf(base_request("To", "To: <sip:bob@example.com>;"), 0, NULL);
    assert_int_equal(vox_sip_print_response(&msg, &spec, out, sizeof(out), &len), 0);
    assert_int_equal(vox_sip_parse(out, len, &rsp, &d), 0);
    assert_int_equal(vox_sip_get_to(&rsp, &to), 0);
    vox_test_assert_str(to.tag, "srs-42");

    /* a 400 that answers a request failing validation, with the reason the validator gave */
    parse_crlf(base_request("Call-ID", NULL), 0, NULL);
    assert_int_equal(vox_sip_validate(&msg, &d), VOX_EMALFORMED);
    spec.status = msg.error.status;
    spec.reason = msg.error.reason;
    spec.nheaders = 0;
    assert_int_equal(vox_sip_print_response(&msg, &spec, out, sizeof(out), &len), 0);
    assert_memory_equal(out, "SIP/2.0 400 Bad Request - missing Call-ID\r\n", 43);
    assert_int_equal(vox_sip_parse(out, len, &rsp, &d), 0);
    assert_null(vox_sip_find(&rsp, VOX_SIP_H_CALL_ID, 0));
    assert_int_equal(vox_sip_get_via(&rsp, 0, &via), 0);
    vox_test_assert_str(via.branch, "z9hG4bK776asdhds");

    /* a request that does not even parse is answered from what was read before the fault */
    parse_crlf(base_request(NULL, "Foo bar"), VOX_EMALFORMED, NULL);
    spec.status = msg.error.status;
    spec.reason = msg.error.reason;
    assert_int_equal(vox_sip_print_response(&msg, &spec, out, sizeof(out), &len), 0);
    assert_int_equal(vox_sip_parse(out, len, &rsp, &d), 0);
    assert_int_equal(rsp.status, 400);
    vox_test_assert_str(rsp.reason, "Bad Request - header field name not followed by ':'");
    assert_int_equal(vox_sip_validate(&rsp, &d), 0);
    assert_int_equal(vox_sip_get_to(&rsp, &to), 0);
    vox_test_assert_str(to.tag, "srs-42");
    parse_crlf("INVITE sip:bob@example.com SIP/3.0\nVia: SIP/2.0/UDP h\n\n", VOX_EMALFORMED, NULL);
    spec.status = msg.error.status;
    spec.reason = msg.error.reason;
    assert_int_equal(vox_sip_print_response(&msg, &spec, out, sizeof(out), &len), 0);
    assert_string_equal(out, "SIP/2.0 505 Version Not Supported\r\nContent-Length: 0\r\n\r\n");

    /* bad arguments */
    spec.reason = "two\r\nlines";
    assert_int_equal(vox_sip_print_response(&msg, &spec, out, sizeof(out), &len), VOX_EINVAL);
    spec.reason = NULL;
    spec.status = 99;
    assert_int_equal(vox_sip_print_response(&msg, &spec, out, sizeof(out), &len), VOX_EINVAL);
    spec.status = 200;
    spec.to_tag = "a;b";
    assert_int_equal(vox_sip_print_response(&msg, &spec, out, sizeof(out), &len), VOX_EINVAL);
    spec.to_tag = "t";
    parse_crlf("SIP/2.0 200 OK\n\n", 0, NULL);
    assert_int_equal(vox_sip_print_response(&msg, &spec, out, sizeof(out), &len), VOX_EINVAL);
}

static void request_printer(void **st)
{
    static char out[2048];
    struct vox_sip_field h[] = {
        {"Via", "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKopt1"},
        {"Max-Forwards", "70"},
        {"From", "<sip:harness@192.0.2.1>;tag=h1"},
        {"To", "<sip:srs@192.0.2.2>"},
        {"Call-ID", "opt-1@192.0.2.1"},
        {"CSeq", "1 OPTIONS"},
    };
    const struct vox_sip_field injected[] = {{"Max-Forwards", "70\r\nX-Injected: 1"}};
    struct vox_sip_request_spec spec = {0};
    struct vox_diag d = {{0}};
    size_t len, cap;

    (void)st;
    spec.method = "OPTIONS";
    spec.request_uri = "sip:srs@192.0.2.2";
    spec.headers = h;
    spec.nheaders = 6;
    assert_int_equal(vox_sip_print_request(&spec, out, sizeof(out), &len), 0);
    assert_int_equal(vox_sip_parse(out, len, &msg, &d), 0);
    assert_int_equal(vox_sip_validate(&msg, &d), 0);
    assert_int_equal(msg.method_id, VOX_SIP_METHOD_OPTIONS);
    assert_int_equal(msg.content_length, 0);
    assert_int_equal(msg.msg_bytes, len);
    for (cap = 0; cap < len; cap++)
        assert_int_equal(vox_sip_print_request(&spec, out, cap, NULL), VOX_ERANGE);

    spec.method = "MESSAGE";
    spec.content_type = "text/plain";
    spec.body = vox_str_c("hello");
    h[5].value = "2 MESSAGE";
    assert_int_equal(vox_sip_print_request(&spec, out, sizeof(out), &len), 0);
    assert_int_equal(vox_sip_parse(out, len, &msg, &d), 0);
    assert_int_equal(vox_sip_validate(&msg, &d), 0);
    vox_test_assert_str(msg.body, "hello");

    /* a value that would inject a header line */
    spec.headers = injected;
    spec.nheaders = 1;
    assert_int_equal(vox_sip_print_request(&spec, out, sizeof(out), &len), VOX_EINVAL);
    spec.headers = h;
    spec.nheaders = 6;
    spec.request_uri = "sip:a b";
    assert_int_equal(vox_sip_print_request(&spec, out, sizeof(out), &len), VOX_EINVAL);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(siprec_headers),
        cmocka_unit_test(siprec_end_to_end),
        cmocka_unit_test(siprec_every_prefix),
        cmocka_unit_test(frame_back_to_back_and_keepalive),
        cmocka_unit_test(frame_errors),
        cmocka_unit_test(torture_tortuous_invite),
        cmocka_unit_test(torture_escapes_and_addresses),
        cmocka_unit_test(torture_many_and_long),
        cmocka_unit_test(torture_invalid_headers),
        cmocka_unit_test(torture_invalid_syntax),
        cmocka_unit_test(no_read_past_len),
        cmocka_unit_test(uri_parser),
        cmocka_unit_test(str_copy),
        cmocka_unit_test(nameaddr_and_params),
        cmocka_unit_test(header_names_and_tokenizer),
        cmocka_unit_test(response_printer),
        cmocka_unit_test(request_printer),
    };

    (void)argc;
    vox_process_prepare(argv);
    return cmocka_run_group_tests_name("sip message", tests, NULL, NULL);
}
