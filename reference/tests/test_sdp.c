/* SPDX-License-Identifier: MIT */
/* SDP tests: parsing into views, validation with line numbers, recording-server answers. */
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
#include "vox/sdp.h"

static struct vox_sdp sdp, ans; /* large: off the stack */
static char text[16384];

/* Copies `s` turning "\n" into CRLF (SDP on the wire); returns the length. */
static size_t crlf(const char *s)
{
    return vox_test_crlf(s, text, sizeof(text));
}

static void parse_ok(const char *s)
{
    struct vox_diag d = {{0}};
    size_t n = crlf(s);

    if (vox_sdp_parse(text, n, &sdp, &d) != 0)
        fail_msg("parse failed: %s", d.text);
}

/* Parses (must work), validates (must fail) and checks the diag mentions `want`. */
static void expect_invalid(const char *s, const char *want)
{
    struct vox_diag d = {{0}};

    parse_ok(s);
    assert_int_equal(vox_sdp_validate(&sdp, &d), VOX_EMALFORMED);
    if (!strstr(d.text, want))
        fail_msg("diag '%s' lacks '%s'", d.text, want);
}

/* Parsing must fail with rc and a diag containing `want`. */
static void expect_parse_error(const char *s, int rc, const char *want)
{
    struct vox_diag d = {{0}};
    size_t n = crlf(s);

    assert_int_equal(vox_sdp_parse(text, n, &sdp, &d), rc);
    if (!strstr(d.text, want))
        fail_msg("diag '%s' lacks '%s'", d.text, want);
}

static const char offer_text[] = "v=0\n"
                                 "o=jdoe 2890844526 2890842807 IN IP4 10.47.16.5\n"
                                 "s=SDP Seminar\n"
                                 "i=A Seminar on the session description protocol\n"
                                 "u=http://www.example.com/seminars/sdp.pdf\n"
                                 "e=j.doe@example.com (Jane Doe)\n"
                                 "c=IN IP4 224.2.17.12/127\n"
                                 "b=AS:128\n"
                                 "t=2873397496 2873404696\n"
                                 "r=7d 1h 0 25h\n"
                                 "a=recvonly\n"
                                 "a=tool:voxbench\n"
                                 "m=audio 49170 RTP/AVP 0 8 97 101\n"
                                 "i=caller leg\n"
                                 "a=rtpmap:97 opus/48000/2\n"
                                 "a=fmtp:97 useinbandfec=1; stereo=1\n"
                                 "a=rtpmap:101 telephone-event/8000\n"
                                 "a=fmtp:101 0-16\n"
                                 "a=ptime:20\n"
                                 "a=rtcp:49171 IN IP4 10.47.16.5\n"
                                 "a=label:caller\n"
                                 "a=mid:1\n"
                                 "a=content:main\n"
                                 "a=sendonly\n"
                                 "m=audio 49172/2 RTP/SAVP 0\n"
                                 "c=IN IP6 2001:db8::2\n"
                                 "a=label:callee\n"
                                 "m=video 0 RTP/AVP 31\n";

static void parse_fields(void **st)
{
    const struct vox_sdp_media *m;
    const struct vox_sdp_conn *c;
    struct vox_str v;
    struct vox_diag d = {{0}};

    (void)st;
    parse_ok(offer_text);
    assert_int_equal(vox_sdp_validate(&sdp, &d), 0);
    assert_int_equal(sdp.version, 0);
    vox_test_assert_str(sdp.origin.username, "jdoe");
    vox_test_assert_str(sdp.origin.sess_id, "2890844526");
    vox_test_assert_str(sdp.origin.sess_version, "2890842807");
    vox_test_assert_str(sdp.origin.addrtype, "IP4");
    vox_test_assert_str(sdp.origin.address, "10.47.16.5");
    vox_test_assert_str(sdp.session_name, "SDP Seminar");
    assert_true(sdp.conn.present);
    vox_test_assert_str(sdp.conn.address, "224.2.17.12");
    vox_test_assert_str(sdp.conn.suffix, "127");
    assert_int_equal(sdp.t_start, 2873397496u);
    assert_int_equal(sdp.t_stop, 2873404696u);
    assert_int_equal(sdp.dir, VOX_SDP_DIR_RECVONLY);
    assert_int_equal(sdp.session_nattrs, 2);
    assert_true(vox_sdp_attr_get(&sdp, -1, "tool", &v));
    vox_test_assert_str(v, "voxbench");
    assert_int_equal(sdp.nmedia, 3);

    m = &sdp.media[0];
    vox_test_assert_str(m->type, "audio");
    assert_int_equal(m->port, 49170);
    assert_int_equal(m->port_count, 1);
    vox_test_assert_str(m->proto, "RTP/AVP");
    assert_int_equal(m->nfmts, 4);
    assert_int_equal(m->fmts[0].pt, 0);
    assert_false(m->fmts[0].has_rtpmap);
    assert_int_equal(m->fmts[2].pt, 97);
    vox_test_assert_str(m->fmts[2].encoding, "opus");
    assert_int_equal(m->fmts[2].clock_hz, 48000);
    assert_int_equal(m->fmts[2].channels, 2);
    vox_test_assert_str(m->fmts[2].fmtp, "useinbandfec=1; stereo=1");
    vox_test_assert_str(m->fmts[3].encoding, "telephone-event");
    assert_int_equal(m->fmts[3].channels, 1);
    vox_test_assert_str(m->fmts[3].fmtp, "0-16");
    assert_int_equal(m->ptime_ms, 20);
    vox_test_assert_str(m->rtcp, "49171 IN IP4 10.47.16.5");
    vox_test_assert_str(m->label, "caller");
    vox_test_assert_str(m->mid, "1");
    vox_test_assert_str(m->content, "main");
    assert_int_equal(m->line, 13);
    assert_int_equal(m->nattrs, 10);
    assert_true(vox_sdp_attr_get(&sdp, 0, "ptime", &v));
    assert_false(vox_sdp_attr_get(&sdp, 1, "ptime", &v));
    /* media level overrides the session's recvonly; otherwise the session's applies */
    assert_int_equal(m->dir, VOX_SDP_DIR_SENDONLY);
    assert_int_equal(vox_sdp_media_dir(&sdp, 0), VOX_SDP_DIR_SENDONLY);
    assert_int_equal(vox_sdp_media_dir(&sdp, 1), VOX_SDP_DIR_RECVONLY);

    m = &sdp.media[1];
    assert_int_equal(m->port, 49172);
    assert_int_equal(m->port_count, 2);
    vox_test_assert_str(m->proto, "RTP/SAVP");
    vox_test_assert_str(m->label, "callee");
    c = vox_sdp_media_conn(&sdp, 1);
    assert_non_null(c);
    vox_test_assert_str(c->addrtype, "IP6");
    vox_test_assert_str(c->address, "2001:db8::2");
    assert_ptr_equal(vox_sdp_media_conn(&sdp, 0), &sdp.conn);

    m = &sdp.media[2];
    vox_test_assert_str(m->type, "video");
    assert_int_equal(m->port, 0);
    assert_int_equal(m->fmts[0].pt, 31);
    assert_int_equal(m->label.len, 0);

    /* no direction anywhere: sendrecv */
    parse_ok("v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 h\nt=0 0\nm=audio 1 RTP/AVP 0\n");
    assert_int_equal(vox_sdp_media_dir(&sdp, 0), VOX_SDP_DIR_SENDRECV);
    assert_string_equal(vox_sdp_dir_name(VOX_SDP_DIR_INACTIVE), "inactive");
}

static void parse_tolerance(void **st)
{
    const char *lf = "v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 h\nt=0 0\nm=audio 1 RTP/AVP 0\n"
                     "a=label:x";
    const char *nonrtp = "v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 h\nt=0 0\n"
                         "m=application 9 TCP/BFCP *\n";
    struct vox_diag d = {{0}};

    (void)st;
    /* LF-only lines (RFC 4566 §5 asks for tolerance), no break after the last line */
    assert_int_equal(vox_sdp_parse(lf, strlen(lf), &sdp, &d), 0);
    assert_true(sdp.lf_only);
    vox_test_assert_str(sdp.media[0].label, "x");
    assert_int_equal(vox_sdp_validate(&sdp, &d), 0);
    /* empty lines are skipped; multiple spaces between o= fields are tolerated */
    parse_ok("v=0\n\no=-  1 1 IN IP4 h\ns=\nc=IN IP4 h\nt=0 0\n\n");
    assert_int_equal(sdp.session_name.len, 0);
    vox_test_assert_str(sdp.origin.sess_id, "1");
    /* non-RTP formats are kept as tokens */
    assert_int_equal(vox_sdp_parse(nonrtp, strlen(nonrtp), &sdp, &d), 0);
    assert_int_equal(sdp.media[0].fmts[0].pt, -1);
    vox_test_assert_str(sdp.media[0].fmts[0].fmt, "*");
    /* rtpmap for a payload type that is not on the m= line: kept, ignored */
    parse_ok("v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 h\nt=0 0\nm=audio 1 RTP/AVP 0\n"
             "a=rtpmap:96 foo/8000\na=ptime:20.0\n");
    assert_false(sdp.media[0].fmts[0].has_rtpmap);
    assert_int_equal(sdp.media[0].ptime_ms, 20);
}

static void parse_errors(void **st)
{
    static char many[8192];
    struct vox_diag d = {{0}};
    size_t n, i;

    (void)st;
    expect_parse_error("v=1\n", VOX_EMALFORMED, "line 1: v=");
    expect_parse_error("v=0\no=- 1 1 IN IP4\n", VOX_EMALFORMED, "line 2: o=");
    expect_parse_error("v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4\n", VOX_EMALFORMED, "line 4: c=");
    expect_parse_error("v=0\nt=0\n", VOX_EMALFORMED, "line 2: t=");
    expect_parse_error("v=0\nt=now later\n", VOX_EMALFORMED, "line 2: t=");
    expect_parse_error("v=0\ns=-\nm=audio 7x RTP/AVP 0\n", VOX_EMALFORMED, "line 3: m=: port");
    expect_parse_error("v=0\nm=audio 70000 RTP/AVP 0\n", VOX_EMALFORMED, "line 2: m=: port");
    expect_parse_error("v=0\nm=audio 5/0 RTP/AVP 0\n", VOX_EMALFORMED, "port count");
    expect_parse_error("v=0\nm=audio 5 RTP/AVP\n", VOX_EMALFORMED, "line 2: m=");
    expect_parse_error("v=0\nm=audio 5 RTP/AVP 0 200\n", VOX_EMALFORMED, "'200'");
    expect_parse_error("v=0\nm=audio 5 RTP/AVP 0\na=rtpmap:abc PCMU/8000\n", VOX_EMALFORMED,
                       "line 3: a=rtpmap");
    expect_parse_error("v=0\nm=audio 5 RTP/AVP 0\na=rtpmap:0 PCMU\n", VOX_EMALFORMED,
                       "line 3: a=rtpmap");
    expect_parse_error("v=0\nm=audio 5 RTP/AVP 0\na=rtpmap:0 PCMU/0\n", VOX_EMALFORMED,
                       "line 3: a=rtpmap");
    expect_parse_error("v=0\nm=audio 5 RTP/AVP 0\na=ptime:soon\n", VOX_EMALFORMED,
                       "line 3: a=ptime");
    expect_parse_error("v=0\nbogus line\n", VOX_EMALFORMED, "line 2: expected");
    expect_parse_error("v=0\nS=caps\n", VOX_EMALFORMED, "line 2");
    expect_parse_error("v=0\ns =x\n", VOX_EMALFORMED, "line 2");
    expect_parse_error("v=0\na=\n", VOX_EMALFORMED, "line 2: a=: empty");
    assert_int_equal(vox_sdp_parse("v=0\r\ns=a\rb\r\n", 12, &sdp, &d), VOX_EMALFORMED);
    assert_non_null(strstr(d.text, "line 2: bare CR"));
    assert_int_equal(vox_sdp_parse("v=0\r\ns=a\0b\r\n", 12, &sdp, &d), VOX_EMALFORMED);
    assert_non_null(strstr(d.text, "line 2: NUL"));

    /* limits */
    n = (size_t)sprintf(many, "v=0\r\n");
    for (i = 0; i <= VOX_SDP_MAX_MEDIA; i++)
        n += (size_t)sprintf(many + n, "m=audio %zu RTP/AVP 0\r\n", 1000 + i);
    assert_int_equal(vox_sdp_parse(many, n, &sdp, &d), VOX_ELIMIT);
    assert_non_null(strstr(d.text, "line 18"));
    n = (size_t)sprintf(many, "v=0\r\nm=audio 1 RTP/AVP");
    for (i = 0; i <= VOX_SDP_MAX_FMTS; i++)
        n += (size_t)sprintf(many + n, " %zu", i);
    n += (size_t)sprintf(many + n, "\r\n");
    assert_int_equal(vox_sdp_parse(many, n, &sdp, &d), VOX_ELIMIT);
    n = (size_t)sprintf(many, "v=0\r\n");
    for (i = 0; i <= VOX_SDP_MAX_ATTRS; i++)
        n += (size_t)sprintf(many + n, "a=x%zu\r\n", i);
    assert_int_equal(vox_sdp_parse(many, n, &sdp, &d), VOX_ELIMIT);
}

static void validate_rejects(void **st)
{
    (void)st;
    expect_invalid("o=- 1 1 IN IP4 h\nv=0\ns=-\nc=IN IP4 h\nt=0 0\n",
                   "line 1: the first line must be 'v='");
    expect_invalid("v=0\no=- 1 1 IN IP4 h\nc=IN IP4 h\nt=0 0\nm=audio 1 RTP/AVP 0\n",
                   "missing 's=' line");
    expect_invalid("v=0\ns=-\nc=IN IP4 h\nt=0 0\n", "missing 'o=' line");
    expect_invalid("v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 h\nm=audio 1 RTP/AVP 0\n",
                   "line 5: missing 't=' line");
    expect_invalid("v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 h\n", "missing 't=' line");
    expect_invalid("v=0\no=- 1 1 IN IP4 h\ns=-\nt=0 0\nc=IN IP4 h\nm=audio 1 RTP/AVP 0\n",
                   "line 5: 'c=' after 't=' is out of order");
    expect_invalid("v=0\no=- 1 1 IN IP4 h\ns=-\nt=0 0\nm=audio 1 RTP/AVP 0\n", "line 5: no 'c='");
    expect_invalid("v=0\no=- 1 1 IN IP4 h\ns=-\nt=0 0\nm=audio 1 RTP/AVP 0\nc=IN IP4 h\n"
                   "m=audio 2 RTP/AVP 0\n",
                   "line 7: no 'c='");
    expect_invalid("v=0\no=- 1 1 IN IP4 h\ns=-\ns=again\nc=IN IP4 h\nt=0 0\n",
                   "line 4: more than one 's='");
    expect_invalid("v=0\no=- 1 1 IN IP4 h\ns=-\nr=7d 1h 0\nt=0 0\nc=IN IP4 h\n",
                   "line 4: 'r=' must follow 't='");
    expect_invalid("v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 h\nt=0 0\ny=0123456789\n",
                   "line 6: 'y=' is not an SDP line type");
    expect_invalid("v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 h\nt=0 0\nm=audio 1 RTP/AVP 0\n"
                   "t=0 0\n",
                   "line 7: 't=' is not allowed in a media description");
    expect_invalid("v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 h\nt=0 0\nm=audio 1 RTP/AVP 0\n"
                   "a=sendonly\nc=IN IP4 h\n",
                   "line 8: 'c=' after 'a=' is out of order");
    expect_invalid("", "empty description");
}

/* ---- answers --------------------------------------------------------------------------------- */

static char out[8192];

static size_t answer(const char *offer, const unsigned *ports, size_t nports,
                     const char *const *codecs, size_t ncodecs, int offer_order)
{
    struct vox_sdp_answer_config cfg = {0};
    struct vox_diag d = {{0}};
    size_t len = 0;

    parse_ok(offer);
    cfg.address = "192.0.2.10";
    cfg.ports = ports;
    cfg.nports = nports;
    cfg.codecs = codecs;
    cfg.ncodecs = ncodecs;
    cfg.prefer_offer_order = offer_order;
    cfg.sess_id = 1234;
    cfg.sess_version = 1;
    if (vox_sdp_answer(&sdp, &cfg, out, sizeof(out), &len, &d) != 0)
        fail_msg("answer failed: %s", d.text);
    assert_int_equal(strlen(out), len);
    if (vox_sdp_parse(out, len, &ans, &d) != 0 || vox_sdp_validate(&ans, &d) != 0)
        fail_msg("answer does not parse/validate: %s\n%s", d.text, out);
    assert_int_equal(ans.nmedia, sdp.nmedia);
    return len;
}

#define HDR "v=0\no=SRC 1 1 IN IP4 198.51.100.1\ns=-\nc=IN IP4 198.51.100.1\nt=0 0\n"

static void answer_golden(void **st)
{
    const unsigned ports[] = {40000, 40002};
    const char *want = "v=0\r\n"
                       "o=- 1234 1 IN IP4 192.0.2.10\r\n"
                       "s=-\r\n"
                       "c=IN IP4 192.0.2.10\r\n"
                       "t=0 0\r\n"
                       "m=audio 40000 RTP/AVP 0 101\r\n"
                       "a=rtpmap:0 PCMU/8000\r\n"
                       "a=rtpmap:101 telephone-event/8000\r\n"
                       "a=fmtp:101 0-16\r\n"
                       "a=ptime:20\r\n"
                       "a=label:inbound\r\n"
                       "a=recvonly\r\n"
                       "m=audio 40002 RTP/AVP 8\r\n"
                       "a=rtpmap:8 PCMA/8000\r\n"
                       "a=label:outbound\r\n"
                       "a=recvonly\r\n";

    (void)st;
    answer(HDR "m=audio 30000 RTP/AVP 18 0 8 101\n"
               "a=rtpmap:18 G729/8000\na=rtpmap:101 telephone-event/8000\na=fmtp:101 0-16\n"
               "a=ptime:20\na=sendonly\na=label:inbound\n"
               "m=audio 30002 RTP/AVP 8\na=sendonly\na=label:outbound\n",
           ports, 2, NULL, 0, 0);
    assert_string_equal(out, want);
}

static void answer_directions(void **st)
{
    const unsigned ports[] = {1000, 1002, 1004, 1006, 1008};

    (void)st;
    answer(HDR "a=sendonly\n"
               "m=audio 2000 RTP/AVP 0\n"
               "m=audio 2002 RTP/AVP 0\na=sendrecv\n"
               "m=audio 2004 RTP/AVP 0\na=recvonly\n"
               "m=audio 2006 RTP/AVP 0\na=inactive\n"
               "m=audio 2008 RTP/AVP 0\na=sendonly\n",
           ports, 5, NULL, 0, 0);
    /* session-level sendonly applies to the first; the others override it */
    assert_int_equal(vox_sdp_media_dir(&ans, 0), VOX_SDP_DIR_RECVONLY);
    assert_int_equal(vox_sdp_media_dir(&ans, 1), VOX_SDP_DIR_RECVONLY);
    assert_int_equal(vox_sdp_media_dir(&ans, 2), VOX_SDP_DIR_INACTIVE);
    assert_int_equal(vox_sdp_media_dir(&ans, 3), VOX_SDP_DIR_INACTIVE);
    assert_int_equal(vox_sdp_media_dir(&ans, 4), VOX_SDP_DIR_RECVONLY);
    assert_int_equal(ans.dir, VOX_SDP_DIR_UNSET);
}

static void answer_rejections(void **st)
{
    const unsigned ports[] = {1000, 1002, 0, 1006, 1008, 1010};
    const char *pcmu_only[] = {"PCMU"};
    size_t i;

    (void)st;
    answer(HDR "m=audio 0 RTP/AVP 0\na=label:held\n"     /* offer port 0 */
               "m=video 3000 RTP/AVP 31\n"               /* not audio */
               "m=audio 3002 RTP/AVP 0\na=label:mine0\n" /* our port 0 */
               "m=audio 3004 RTP/SAVP 0\n"               /* SRTP not offered here */
               "m=audio 3006 RTP/AVP 8 9\n"              /* no common codec */
               "m=audio 3008 RTP/AVPF 0\na=mid:m6\n",    /* accepted */
           ports, 6, pcmu_only, 1, 0);
    for (i = 0; i < 5; i++) {
        assert_int_equal(ans.media[i].port, 0);
        assert_int_equal(ans.media[i].nfmts, 1);
        assert_int_equal(ans.media[i].dir, VOX_SDP_DIR_UNSET);
    }
    vox_test_assert_str(ans.media[0].label, "held");
    vox_test_assert_str(ans.media[1].type, "video");
    vox_test_assert_str(ans.media[1].fmts[0].fmt, "31");
    vox_test_assert_str(ans.media[2].label, "mine0");
    vox_test_assert_str(ans.media[3].proto, "RTP/SAVP");
    vox_test_assert_str(ans.media[4].fmts[0].fmt, "8");
    assert_int_equal(ans.media[5].port, 1010);
    vox_test_assert_str(ans.media[5].proto, "RTP/AVPF");
    vox_test_assert_str(ans.media[5].mid, "m6");
    assert_int_equal(vox_sdp_media_dir(&ans, 5), VOX_SDP_DIR_RECVONLY);
}

static void answer_codecs(void **st)
{
    const unsigned port[] = {5000};
    const char *opus_first[] = {"opus", "PCMU", "telephone-event"};
    const char *no_dtmf[] = {"PCMA", "PCMU"};

    (void)st;
    /* our order: PCMU although the offer prefers PCMA */
    answer(HDR "m=audio 1 RTP/AVP 8 0\n", port, 1, NULL, 0, 0);
    assert_int_equal(ans.media[0].fmts[0].pt, 0);
    /* the offer's order */
    answer(HDR "m=audio 1 RTP/AVP 8 0\n", port, 1, NULL, 0, 1);
    assert_int_equal(ans.media[0].fmts[0].pt, 8);
    /* opus with a dynamic payload type, its fmtp, and events at its clock rate only */
    answer(HDR "m=audio 1 RTP/AVP 0 109 101 110\n"
               "a=rtpmap:109 opus/48000/2\na=fmtp:109 useinbandfec=1\n"
               "a=rtpmap:101 telephone-event/8000\na=rtpmap:110 telephone-event/48000\n"
               "a=sendonly\n",
           port, 1, opus_first, 3, 0);
    assert_int_equal(ans.media[0].nfmts, 2);
    assert_int_equal(ans.media[0].fmts[0].pt, 109);
    vox_test_assert_str(ans.media[0].fmts[0].encoding, "opus");
    assert_int_equal(ans.media[0].fmts[0].clock_hz, 48000);
    assert_int_equal(ans.media[0].fmts[0].channels, 2);
    vox_test_assert_str(ans.media[0].fmts[0].fmtp, "useinbandfec=1");
    assert_int_equal(ans.media[0].fmts[1].pt, 110);
    /* rtpmap names match without case; PCMU by name on a dynamic number */
    answer(HDR "m=audio 1 RTP/AVP 96 101\na=rtpmap:96 pcmu/8000\n"
               "a=rtpmap:101 telephone-event/8000\n",
           port, 1, NULL, 0, 0);
    assert_int_equal(ans.media[0].fmts[0].pt, 96);
    assert_int_equal(ans.media[0].fmts[1].pt, 101);
    /* telephone-event not listed: not answered */
    answer(HDR "m=audio 1 RTP/AVP 0 101\na=rtpmap:101 telephone-event/8000\n", port, 1, no_dtmf, 2,
           0);
    assert_int_equal(ans.media[0].nfmts, 1);
    /* telephone-event alone is not a voice codec: rejected */
    answer(HDR "m=audio 1 RTP/AVP 101\na=rtpmap:101 telephone-event/8000\n", port, 1, NULL, 0, 0);
    assert_int_equal(ans.media[0].port, 0);
}

static void answer_errors(void **st)
{
    const unsigned ports[] = {1000, 1002};
    struct vox_sdp_answer_config cfg = {0};
    struct vox_diag d = {{0}};
    const char *bad[] = {"PC MU"};
    size_t len, cap;

    (void)st;
    len = answer(HDR "m=audio 1 RTP/AVP 0\na=label:1\nm=audio 3 RTP/AVP 0\na=label:2\n", ports, 2,
                 NULL, 0, 0);
    cfg.address = "192.0.2.10";
    cfg.ports = ports;
    cfg.nports = 2;
    cfg.sess_id = 1234;
    cfg.sess_version = 1;
    for (cap = 0; cap < len; cap++)
        assert_int_equal(vox_sdp_answer(&sdp, &cfg, out, cap, NULL, &d), VOX_ERANGE);
    assert_int_equal(vox_sdp_answer(&sdp, &cfg, out, len + 1, NULL, &d), 0);
    cfg.nports = 1;
    assert_int_equal(vox_sdp_answer(&sdp, &cfg, out, sizeof(out), NULL, &d), VOX_EINVAL);
    assert_non_null(strstr(d.text, "1 ports given for 2"));
    cfg.nports = 2;
    cfg.address = "192.0.2.10\r\nm=audio 9 RTP/AVP 0";
    assert_int_equal(vox_sdp_answer(&sdp, &cfg, out, sizeof(out), NULL, &d), VOX_EINVAL);
    cfg.address = NULL;
    assert_int_equal(vox_sdp_answer(&sdp, &cfg, out, sizeof(out), NULL, &d), VOX_EINVAL);
    cfg.address = "192.0.2.10";
    cfg.codecs = bad;
    cfg.ncodecs = 1;
    assert_int_equal(vox_sdp_answer(&sdp, &cfg, out, sizeof(out), NULL, &d), VOX_EINVAL);

    /* IPv6 address: IN IP6 in o= and c= */
    cfg.codecs = NULL;
    cfg.address = "2001:db8::10";
    assert_int_equal(vox_sdp_answer(&sdp, &cfg, out, sizeof(out), &len, &d), 0);
    assert_int_equal(vox_sdp_parse(out, len, &ans, &d), 0);
    vox_test_assert_str(ans.conn.addrtype, "IP6");
    vox_test_assert_str(ans.conn.address, "2001:db8::10");
    vox_test_assert_str(ans.origin.addrtype, "IP6");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_fields),      cmocka_unit_test(parse_tolerance),
        cmocka_unit_test(parse_errors),      cmocka_unit_test(validate_rejects),
        cmocka_unit_test(answer_golden),     cmocka_unit_test(answer_directions),
        cmocka_unit_test(answer_rejections), cmocka_unit_test(answer_codecs),
        cmocka_unit_test(answer_errors),
    };

    (void)argc;
    vox_process_prepare(argv);
    return cmocka_run_group_tests_name("sip sdp", tests, NULL, NULL);
}
