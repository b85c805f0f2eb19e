/* SPDX-License-Identifier: MIT */
/* Multipart MIME tests on SIPREC-shaped bodies: vendor layouts, padding, LF-only, a missing
 * close, look-alike delimiters, nesting and errors. */
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

static char text[16384];

static size_t crlf(const char *s)
{
    return vox_test_crlf(s, text, sizeof(text));
}

#define MAX_PARTS 8

/* Iterates all parts of body (text[0..len)) into parts[]; returns the count, asserts the end
 * code. */
static int collect(const char *ct, size_t len, unsigned flags, struct vox_multipart *mp,
                   struct vox_mime_part *parts, int want_end)
{
    struct vox_diag d = {{0}};
    int n = 0, rc;

    if (vox_multipart_init(mp, vox_str_c(ct), text, len, flags, &d) != 0)
        fail_msg("init failed: %s", d.text);
    while ((rc = vox_multipart_next(mp, &parts[n], &d)) == 1) {
        assert_true(n < MAX_PARTS);
        assert_int_equal(parts[n].index, n);
        n++;
    }
    if (rc != want_end)
        fail_msg("iteration ended with %s, wanted %s (%s)", vox_err_name(rc),
                 vox_err_name(want_end), d.text);
    return n;
}

/* Cisco CUBE style: three parts (SDP, rs-metadata+xml, application/gtd), quoted boundary,
 * preamble and epilogue. */
static void cisco_three_parts(void **st)
{
    struct vox_multipart mp;
    struct vox_mime_part p[MAX_PARTS];
    size_t len = crlf("This is a preamble that MIME readers ignore.\n"
                      "--uniqueBoundary\n"
                      "Content-Type: application/sdp\n"
                      "\n"
                      "v=0\n"
                      "o=CiscoSystemsSIP-GW-UserAgent 1 1 IN IP4 10.0.0.1\n"
                      "--uniqueBoundary\n"
                      "Content-Type: application/rs-metadata+xml\n"
                      "Content-Disposition: recording-session\n"
                      "Content-ID: <meta-1@cube.example.com>\n"
                      "\n"
                      "<recording xmlns='urn:ietf:params:xml:ns:recording:1'/>\n"
                      "--uniqueBoundary\n"
                      "Content-Type: application/gtd\n"
                      "Content-Disposition: signal;handling=optional\n"
                      "\n"
                      "IAM,\n"
                      "PRN,isdn*,,NET5*,\n"
                      "--uniqueBoundary--\n"
                      "epilogue text\n");

    (void)st;
    assert_int_equal(collect("multipart/mixed;boundary=\"uniqueBoundary\"", len, 0, &mp, p, 0), 3);
    vox_test_assert_str(mp.boundary, "uniqueBoundary");
    vox_test_assert_str(mp.preamble, "This is a preamble that MIME readers ignore.");
    vox_test_assert_str(mp.epilogue, "epilogue text\r\n");
    assert_false(mp.unterminated);
    assert_false(mp.lf_only);
    assert_true(vox_sip_media_type_is(&p[0].type, "application/sdp"));
    vox_test_assert_str(p[0].body, "v=0\r\no=CiscoSystemsSIP-GW-UserAgent 1 1 IN IP4 10.0.0.1");
    vox_test_assert_str(p[0].headers, "Content-Type: application/sdp");
    assert_true(vox_sip_media_type_is(&p[1].type, "application/rs-metadata+xml"));
    vox_test_assert_str(p[1].disposition_type, "recording-session");
    vox_test_assert_str(p[1].content_id, "<meta-1@cube.example.com>");
    vox_test_assert_str(p[1].body, "<recording xmlns='urn:ietf:params:xml:ns:recording:1'/>");
    vox_test_assert_str(p[1].headers, "Content-Type: application/rs-metadata+xml\r\n"
                                      "Content-Disposition: recording-session\r\n"
                                      "Content-ID: <meta-1@cube.example.com>");
    assert_true(vox_sip_media_type_is(&p[2].type, "application/gtd"));
    vox_test_assert_str(p[2].disposition_type, "signal");
    vox_test_assert_str(p[2].body, "IAM,\r\nPRN,isdn*,,NET5*,");
    assert_false(p[2].nested);
}

/* Avaya sends metadata-only UPDATEs: the body is the metadata itself, no container. */
static void avaya_metadata_only(void **st)
{
    struct vox_mime_part part;
    struct vox_multipart mp;
    struct vox_diag d = {{0}};
    const char *xml = "<?xml version=\"1.0\"?><recording xmlns=\"urn:ietf:params:xml:ns:"
                      "recording:1\"><dataMode>partial</dataMode></recording>";

    (void)st;
    assert_int_equal(vox_multipart_find(vox_str_c("application/rs-metadata"), xml, strlen(xml),
                                        "application/rs-metadata", &part, &d),
                     0);
    assert_ptr_equal(part.body.p, xml);
    assert_int_equal(part.body.len, strlen(xml));
    assert_int_equal(vox_multipart_find(vox_str_c("application/rs-metadata"), xml, strlen(xml),
                                        "application/sdp", &part, &d),
                     VOX_ENOENT);
    assert_int_equal(
        vox_multipart_init(&mp, vox_str_c("application/rs-metadata"), xml, strlen(xml), 0, &d),
        VOX_EMALFORMED);
    assert_non_null(strstr(d.text, "not multipart"));
}

/* LF-only line ends, transport padding after delimiters, a part without headers, an empty
 * part. */
static void lf_padding_and_empty_parts(void **st)
{
    struct vox_multipart mp;
    struct vox_mime_part p[MAX_PARTS];
    const char *body = "--b1 \t\n"
                       "Content-Type: application/sdp\n"
                       "\n"
                       "v=0\n"
                       "--b1\t\n"
                       "\n"
                       "no headers here\n"
                       "--b1\n"
                       "Content-Type: text/plain\n"
                       "\n"
                       "\n"
                       "--b1--  \n";

    (void)st;
    memcpy(text, body, strlen(body) + 1);
    assert_int_equal(
        collect("multipart/mixed; boundary=b1", strlen(body), VOX_MULTIPART_STRICT, &mp, p, 0), 3);
    assert_true(mp.lf_only);
    vox_test_assert_str(p[0].body, "v=0");
    assert_int_equal(p[1].headers.len, 0);
    assert_true(vox_sip_media_type_is(&p[1].type, "text/plain")); /* RFC 2046 default */
    assert_int_equal(p[1].content_type.len, 0);
    vox_test_assert_str(p[1].body, "no headers here");
    assert_int_equal(p[2].body.len, 0);
    assert_int_equal(mp.epilogue.len, 0);

    /* headers directly followed by the next delimiter (no empty line): empty body */
    crlf("--b2\nContent-Type: text/plain\n--b2\nContent-Type: a/b\n\nx\n--b2--\n");
    assert_int_equal(collect("multipart/mixed;boundary=b2", strlen(text), 0, &mp, p, 0), 2);
    assert_true(vox_sip_media_type_is(&p[0].type, "text/plain"));
    assert_int_equal(p[0].body.len, 0);
    vox_test_assert_str(p[1].body, "x");
}

/* Real SRCs sometimes forget "--boundary--": tolerated by default, refused when strict. */
static void missing_close(void **st)
{
    struct vox_multipart mp;
    struct vox_mime_part p[MAX_PARTS];
    size_t len = crlf("--xyz\n"
                      "Content-Type: application/sdp\n"
                      "\n"
                      "v=0\n"
                      "--xyz\n"
                      "Content-Type: application/rs-metadata+xml\n"
                      "\n"
                      "<recording/>\n");

    (void)st;
    assert_int_equal(collect("multipart/mixed;boundary=xyz", len, 0, &mp, p, 0), 2);
    assert_true(mp.unterminated);
    vox_test_assert_str(p[0].body, "v=0");
    vox_test_assert_str(p[1].body, "<recording/>\r\n"); /* runs to the end of the body */
    assert_int_equal(
        collect("multipart/mixed;boundary=xyz", len, VOX_MULTIPART_STRICT, &mp, p, VOX_EMALFORMED),
        1);
    /* ends right after a delimiter line */
    len = crlf("--xyz\nContent-Type: a/b\n\nbody\n--xyz\n");
    assert_int_equal(collect("multipart/mixed;boundary=xyz", len, 0, &mp, p, 0), 1);
    assert_true(mp.unterminated);
    assert_int_equal(
        collect("multipart/mixed;boundary=xyz", len, VOX_MULTIPART_STRICT, &mp, p, VOX_EMALFORMED),
        1);
    /* the delimiter's own line break is missing at the very end: still a close */
    len = crlf("--xyz\nContent-Type: a/b\n\nbody\n");
    memcpy(text + len, "--xyz--", 8);
    len += 7;
    assert_int_equal(collect("multipart/mixed;boundary=xyz", len, VOX_MULTIPART_STRICT, &mp, p, 0),
                     1);
    assert_false(mp.unterminated);
    vox_test_assert_str(p[0].body, "body");
}

/* Lines that only look like delimiters are content. */
static void look_alike_delimiters(void **st)
{
    struct vox_multipart mp;
    struct vox_mime_part p[MAX_PARTS];
    size_t len = crlf("--sep\n"
                      "Content-Type: text/plain\n"
                      "\n"
                      "--sepX is not a delimiter\n"
                      "text --sep in the middle of a line\n"
                      "--sep- nor this\n"
                      "--sep--x nor this\n"
                      "--sep\n"
                      "Content-Type: text/plain\n"
                      "\n"
                      "second\n"
                      "--sep--\n");

    (void)st;
    assert_int_equal(collect("multipart/mixed;boundary=sep", len, VOX_MULTIPART_STRICT, &mp, p, 0),
                     2);
    vox_test_assert_str(p[0].body,
                        "--sepX is not a delimiter\r\ntext --sep in the middle of a line\r\n"
                        "--sep- nor this\r\n--sep--x nor this");
    vox_test_assert_str(p[1].body, "second");
}

static void nested_is_reported(void **st)
{
    struct vox_multipart mp, inner;
    struct vox_mime_part p[MAX_PARTS], q[MAX_PARTS];
    struct vox_diag d = {{0}};
    size_t len = crlf("--outer\n"
                      "Content-Type: multipart/alternative; boundary=inner\n"
                      "\n"
                      "--inner\n"
                      "Content-Type: text/plain\n"
                      "\n"
                      "plain\n"
                      "--inner--\n"
                      "--outer--\n");
    int n = 0;

    (void)st;
    assert_int_equal(collect("multipart/mixed;boundary=outer", len, 0, &mp, p, 0), 1);
    assert_true(p[0].nested);
    assert_int_equal(vox_multipart_init(&inner, p[0].content_type, p[0].body.p, p[0].body.len,
                                        VOX_MULTIPART_STRICT, &d),
                     0);
    while (vox_multipart_next(&inner, &q[n], &d) == 1)
        n++;
    assert_int_equal(n, 1);
    vox_test_assert_str(q[0].body, "plain");
}

static void errors(void **st)
{
    struct vox_multipart mp;
    struct vox_mime_part p[MAX_PARTS];
    struct vox_diag d = {{0}};
    char ct[128];
    size_t len, i;

    (void)st;
    len = crlf("--b\nContent-Type: a/b\n\nx\n--b--\n");
    assert_int_equal(vox_multipart_init(&mp, vox_str_c("multipart/mixed"), text, len, 0, &d),
                     VOX_EMALFORMED);
    assert_non_null(strstr(d.text, "boundary"));
    assert_int_equal(
        vox_multipart_init(&mp, vox_str_c("multipart/mixed;boundary=\"\""), text, len, 0, &d),
        VOX_EMALFORMED);
    snprintf(ct, sizeof(ct), "multipart/mixed;boundary=%071d", 0);
    assert_int_equal(vox_multipart_init(&mp, vox_str_c(ct), text, len, 0, &d), VOX_EMALFORMED);
    assert_int_equal(
        vox_multipart_init(&mp, vox_str_c("multipart/mixed;boundary=\"b"), text, len, 0, &d),
        VOX_EMALFORMED);
    assert_int_equal(
        vox_multipart_init(&mp, vox_str_c("multipart/mixed;boundary=zz"), text, len, 0, &d),
        VOX_EMALFORMED);
    assert_non_null(strstr(d.text, "no '--zz' delimiter"));
    assert_int_equal(
        vox_multipart_init(&mp, vox_str_c("multipart/mixed;boundary=b"), NULL, 5, 0, &d),
        VOX_EINVAL);

    /* bad part headers */
    len = crlf("--b\nthis is not a header\n\nx\n--b--\n");
    assert_int_equal(collect("multipart/mixed;boundary=b", len, 0, &mp, p, VOX_EMALFORMED), 0);
    len = crlf("--b\nContent-Type: nonsense\n\nx\n--b--\n");
    assert_int_equal(collect("multipart/mixed;boundary=b", len, 0, &mp, p, VOX_EMALFORMED), 0);
    /* headers running into the end of an unterminated body */
    len = crlf("--b\nContent-Type: a/b\n");
    assert_int_equal(collect("multipart/mixed;boundary=b", len, 0, &mp, p, VOX_EMALFORMED), 0);
    /* too many part headers */
    len = (size_t)sprintf(text, "--b\r\n");
    for (i = 0; i <= VOX_MULTIPART_MAX_PART_HEADERS; i++)
        len += (size_t)sprintf(text + len, "X-%zu: y\r\n", i);
    len += (size_t)sprintf(text + len, "\r\nbody\r\n--b--\r\n");
    assert_int_equal(collect("multipart/mixed;boundary=b", len, 0, &mp, p, VOX_ELIMIT), 0);

    /* a close delimiter first: no parts */
    len = crlf("--b--\n");
    assert_int_equal(collect("multipart/mixed;boundary=b", len, VOX_MULTIPART_STRICT, &mp, p, 0),
                     0);
    assert_false(mp.unterminated);
}

/* Every prefix of a body iterates without reading outside it (ASan) and every part lies in
 * it. */
static void every_prefix(void **st)
{
    static char copy[2048];
    size_t len = crlf("pre\n--q\nContent-Type: application/sdp\n\nv=0\n--q\nContent-Type: "
                      "application/rs-metadata\nContent-Disposition: recording-session\n\n<r/>\n"
                      "--q--\n"),
           n;

    (void)st;
    memcpy(copy, text, len);
    for (n = 0; n <= len; n++) {
        char *b = malloc(n ? n : 1);
        struct vox_multipart mp;
        struct vox_mime_part part;

        memcpy(b, copy, n);
        if (vox_multipart_init(&mp, vox_str_c("multipart/mixed;boundary=q"), b, n, 0, NULL) == 0) {
            while (vox_multipart_next(&mp, &part, NULL) == 1)
                if (part.body.len)
                    assert_true(part.body.p >= b && part.body.p + part.body.len <= b + n);
        }
        free(b);
    }
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cisco_three_parts),
        cmocka_unit_test(avaya_metadata_only),
        cmocka_unit_test(lf_padding_and_empty_parts),
        cmocka_unit_test(missing_close),
        cmocka_unit_test(look_alike_delimiters),
        cmocka_unit_test(nested_is_reported),
        cmocka_unit_test(errors),
        cmocka_unit_test(every_prefix),
    };

    (void)argc;
    vox_process_prepare(argv);
    return cmocka_run_group_tests_name("sip multipart", tests, NULL, NULL);
}
