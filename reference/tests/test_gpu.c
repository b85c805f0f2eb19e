/* SPDX-License-Identifier: MIT */
/* gpu module tests: hand-made SIP/RTP/binary cases with exact expectations on one backend
 * (--backend NAME), every backend against independent reference scans on random batches
 * (--differential), and the registry (--registry). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gpu/internal.h"
#include "test_util.h"
#include "vox/config.h"
#include "vox/core.h"
#include "vox/gpu.h"

/* ctest's SKIP_RETURN_CODE (gpu.cmake): the backend does not run on this machine. */
#define EXIT_SKIP 77

/* The instance the contract group runs on, and its spec ("simd/avx2") for messages. */
static struct vox_gpu *gpu;
static const char *spec;

/* ---- helpers --------------------------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    return vox_test_splitmix(&rng_state);
}

static uint32_t rnd_below(uint32_t n)
{
    return n ? (uint32_t)(rnd() % n) : 0;
}

/*
 * Opens a backend by spec: a registry name, or "simd/<level>" for the simd backend forced to
 * one level. Returns 0, or the create/select error with the reason in *diag.
 */
static int open_spec(const char *s, struct vox_gpu **out, struct vox_diag *diag)
{
    const char *slash = strchr(s, '/');
    char name[32];
    int rc;

    snprintf(name, sizeof(name), "%.*s", slash ? (int)(slash - s) : (int)strlen(s), s);
    rc = vox_gpu_create(name, out, diag);
    if (rc || !slash)
        return rc;
    rc = vox__gpu_simd_select(*out, slash + 1);
    if (rc) {
        vox_diag_set(diag, "SIMD level '%s' is not available in this build or on this CPU",
                     slash + 1);
        vox_gpu_destroy(*out);
        *out = NULL;
    }
    return rc;
}

/* A batch whose packets each live in a block of exactly their size, so that ASan reports any
 * read past a packet. */
struct batch {
    struct vox_gpu_pkt pkts[VOX_GPU_BATCH_MAX];
    size_t n;
};

static size_t batch_add(struct batch *b, const void *data, size_t len)
{
    uint8_t *c = NULL;

    assert_true(b->n < VOX_GPU_BATCH_MAX);
    assert_true(len <= VOX_GPU_PKT_MAX_BYTES);
    if (len) {
        c = malloc(len);
        assert_non_null(c);
        memcpy(c, data, len);
    }
    b->pkts[b->n].data = c;
    b->pkts[b->n].len_bytes = (uint32_t)len;
    return b->n++;
}

static void batch_clear(struct batch *b)
{
    size_t i;

    for (i = 0; i < b->n; i++)
        free((void *)b->pkts[i].data);
    b->n = 0;
}

static struct batch *batch_new(void)
{
    struct batch *b = calloc(1, sizeof(*b));

    assert_non_null(b);
    return b;
}

static void batch_free(struct batch *b)
{
    batch_clear(b);
    free(b);
}

/* Prints a packet's first bytes with escapes, for failure messages. */
static const char *show(const struct vox_gpu_pkt *p)
{
    static char buf[200];
    size_t i, o = 0;

    for (i = 0; i < p->len_bytes && o + 5 < sizeof(buf); i++) {
        uint8_t c = p->data[i];

        if (c == '\r' || c == '\n')
            o += (size_t)snprintf(buf + o, sizeof(buf) - o, "\\%c", c == '\r' ? 'r' : 'n');
        else if (c >= 0x20 && c < 0x7f)
            buf[o++] = (char)c;
        else
            o += (size_t)snprintf(buf + o, sizeof(buf) - o, "\\x%02x", c);
    }
    buf[o] = 0;
    return buf;
}

/* ---- reference scans, written apart from the library's (line by line, the obvious way) ------ */

static int ref_wsp(uint8_t c)
{
    return c == ' ' || c == '\t';
}

static void ref_call_id(const uint8_t *d, size_t len, struct vox_gpu_call_id *out)
{
    size_t q = 0;

    out->off = -1;
    out->len_bytes = 0;
    out->flags = VOX_GPU_CALL_ID_HEADERS_INCOMPLETE;
    for (;;) {
        const uint8_t *lf = q < len ? memchr(d + q, '\n', len - q) : NULL;
        size_t i, v, e, name_len;
        uint16_t flags = 0;

        if (!lf)
            return;
        q = (size_t)(lf - d) + 1; /* the next line; the first (start) line is never a header */
        if (q >= len)
            return;
        if (d[q] == '\n' || (d[q] == '\r' && q + 1 < len && d[q + 1] == '\n')) {
            out->flags = 0; /* the empty line: the headers end */
            return;
        }
        if (len - q >= 7 && strncasecmp((const char *)d + q, "call-id", 7) == 0) {
            name_len = 7;
        } else if (d[q] == 'i' || d[q] == 'I') {
            name_len = 1;
            flags = VOX_GPU_CALL_ID_COMPACT;
        } else {
            continue;
        }
        for (i = q + name_len; i < len && ref_wsp(d[i]); i++)
            ;
        if (i >= len || d[i] != ':')
            continue;
        for (i++;;) {
            while (i < len && ref_wsp(d[i]))
                i++;
            if (i + 2 < len && d[i] == '\r' && d[i + 1] == '\n' && ref_wsp(d[i + 2]))
                i += 2;
            else if (i + 1 < len && d[i] == '\n' && ref_wsp(d[i + 1]))
                i += 1;
            else
                break;
        }
        v = i;
        for (e = v; e < len && d[e] != '\r' && d[e] != '\n'; e++)
            ;
        if (e == len)
            flags |= VOX_GPU_CALL_ID_UNTERMINATED;
        while (e > v && ref_wsp(d[e - 1]))
            e--;
        out->off = (int32_t)v;
        out->len_bytes = (uint16_t)(e - v);
        out->flags = flags;
        return;
    }
}

static int32_t ref_find(const uint8_t *d, size_t len, const uint8_t *pat, size_t m)
{
    size_t p, k;

    for (p = 0; p + m <= len; p++) {
        for (k = 0; k < m && d[p + k] == pat[k]; k++)
            ;
        if (k == m)
            return (int32_t)p;
    }
    return -1;
}

/* ---- checks against the references ---------------------------------------------------------- */

static void check_call_ids(struct vox_gpu *g, const char *name, const struct batch *b)
{
    struct vox_gpu_call_id *got = calloc(b->n + 1, sizeof(*got));
    struct vox_diag diag = {{0}};
    size_t i;
    int rc;

    assert_non_null(got);
    rc = vox_gpu_extract_call_id(g, b->pkts, b->n, got, &diag);
    if (rc)
        fail_msg("%s: extract_call_id: %s: %s", name, vox_err_name(rc), diag.text);
    for (i = 0; i < b->n; i++) {
        struct vox_gpu_call_id want;

        ref_call_id(b->pkts[i].data, b->pkts[i].len_bytes, &want);
        if (got[i].off != want.off || got[i].len_bytes != want.len_bytes ||
            got[i].flags != want.flags)
            fail_msg("%s: packet %zu (%u bytes) '%s': Call-ID (off %d, len %u, flags %#x), "
                     "wanted (%d, %u, %#x)",
                     name, i, b->pkts[i].len_bytes, show(&b->pkts[i]), got[i].off, got[i].len_bytes,
                     got[i].flags, want.off, want.len_bytes, want.flags);
    }
    free(got);
}

static void check_finds(struct vox_gpu *g, const char *name, const struct batch *b,
                        const uint8_t *pat, size_t m)
{
    int32_t *got = calloc(b->n + 1, sizeof(*got));
    struct vox_diag diag = {{0}};
    size_t i;
    int rc;

    assert_non_null(got);
    rc = vox_gpu_find(g, b->pkts, b->n, pat, m, got, &diag);
    if (rc)
        fail_msg("%s: find: %s: %s", name, vox_err_name(rc), diag.text);
    for (i = 0; i < b->n; i++) {
        int32_t want = ref_find(b->pkts[i].data, b->pkts[i].len_bytes, pat, m);

        if (got[i] != want)
            fail_msg("%s: packet %zu (%u bytes) '%s': pattern of %zu bytes at %d, wanted %d", name,
                     i, b->pkts[i].len_bytes, show(&b->pkts[i]), m, got[i], want);
    }
    free(got);
}

/* Runs one packet through all three operations of the contract instance. */
static void run_one(const void *data, size_t len, uint8_t *kind, struct vox_gpu_call_id *cid)
{
    struct batch *b = batch_new();
    struct vox_diag diag = {{0}};

    batch_add(b, data, len);
    assert_int_equal(vox_gpu_classify(gpu, b->pkts, 1, kind, &diag), 0);
    assert_int_equal(vox_gpu_extract_call_id(gpu, b->pkts, 1, cid, &diag), 0);
    batch_free(b);
}

/* ---- hand-made cases ------------------------------------------------------------------------- */

struct kind_case {
    const char *text;
    int kind;
};

static void classify_start_lines(void **st)
{
    static const struct kind_case cases[] = {
        {"INVITE sip:bob@biloxi.com SIP/2.0\r\nVia: x\r\n\r\n", VOX_GPU_SIP_REQUEST},
        {"ACK sip:bob@192.0.2.4 SIP/2.0\r\n", VOX_GPU_SIP_REQUEST},
        {"BYE sips:bob@biloxi.com;transport=tls SIP/2.0\n", VOX_GPU_SIP_REQUEST},
        {"invite sip:a SIP/2.0\r\n", VOX_GPU_SIP_REQUEST}, /* methods are tokens: any case */
        {"OPTIONS sip:a@b sip/2.0\n", VOX_GPU_SIP_REQUEST},
        {"MESSAGE tel:+1-555-0100 SIP/2.0\r\n", VOX_GPU_SIP_REQUEST},
        {"X-FOO.bar!~ urn:service:sos SIP/2.0\r\n", VOX_GPU_SIP_REQUEST},
        {"SIP/2.0 200 OK\r\nVia: x\r\n", VOX_GPU_SIP_RESPONSE},
        {"SIP/2.0 180 Ringing\n", VOX_GPU_SIP_RESPONSE},
        {"sip/2.0 486 Busy Here\r\n", VOX_GPU_SIP_RESPONSE},
        {"SIP/2.0 100 \r\n", VOX_GPU_SIP_RESPONSE},
        {"SIP/2.0 603 D\xc3\xa9\x63lin\xc3\xa9\t(UTF-8)\r\n", VOX_GPU_SIP_RESPONSE},
        {"SIP/2.0 699 x\r\n", VOX_GPU_SIP_RESPONSE},
        {"", VOX_GPU_NOT_SIP},
        {"\r\n\r\n", VOX_GPU_NOT_SIP}, /* RFC 5626 keep-alive */
        {"\r\nINVITE sip:a SIP/2.0\r\n", VOX_GPU_NOT_SIP},
        {"GET / HTTP/1.1\r\n", VOX_GPU_NOT_SIP},
        {"HTTP/1.1 200 OK\r\n", VOX_GPU_NOT_SIP},
        {"INVITE sip:a SIP/2.1\r\n", VOX_GPU_NOT_SIP},
        {"INVITE sip:a SIP/2.0", VOX_GPU_NOT_SIP},
        {"INVITE sip:a SIP/2.0\r", VOX_GPU_NOT_SIP},
        {"INVITE sip:a SIP/2.0x\r\n", VOX_GPU_NOT_SIP},
        {"INVITE sip:a SIP/2.0 \r\n", VOX_GPU_NOT_SIP},
        {"INVITE  sip:a SIP/2.0\r\n", VOX_GPU_NOT_SIP},
        {"INVITE sip:a  SIP/2.0\r\n", VOX_GPU_NOT_SIP},
        {"INVITE <sip:a> SIP/2.0\r\n", VOX_GPU_NOT_SIP},
        {"INVITE 1sip:a SIP/2.0\r\n", VOX_GPU_NOT_SIP},
        {"INVITE sip: SIP/2.0\r\n", VOX_GPU_NOT_SIP},
        {"INVITE bob SIP/2.0\r\n", VOX_GPU_NOT_SIP},
        {"INV(TE sip:a SIP/2.0\r\n", VOX_GPU_NOT_SIP},
        {" INVITE sip:a SIP/2.0\r\n", VOX_GPU_NOT_SIP},
        {"SIP/2.0 2000 OK\r\n", VOX_GPU_NOT_SIP},
        {"SIP/2.0 700 Nope\r\n", VOX_GPU_NOT_SIP},
        {"SIP/2.0 099 Nope\r\n", VOX_GPU_NOT_SIP},
        {"SIP/2.0 20 OK\r\n", VOX_GPU_NOT_SIP},
        {"SIP/2.0 200OK\r\n", VOX_GPU_NOT_SIP},
        {"SIP/2.0  200 OK\r\n", VOX_GPU_NOT_SIP},
        {"SIP/2.0 200 O\x01K\r\n", VOX_GPU_NOT_SIP},
        {"SIP/2.0 200 O\x7fK\r\n", VOX_GPU_NOT_SIP},
        {"SIP/2.0 200 OK\rX\n", VOX_GPU_NOT_SIP},
        {"SIP/2.0 200 OK", VOX_GPU_NOT_SIP},
        {"SIP/2.0 200 ", VOX_GPU_NOT_SIP},
        {"SIP/2.0", VOX_GPU_NOT_SIP},
    };
    size_t i;

    (void)st;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct vox_gpu_call_id cid;
        uint8_t kind = 0xee;

        run_one(cases[i].text, strlen(cases[i].text), &kind, &cid);
        if (kind != cases[i].kind)
            fail_msg("%s: case %zu '%s': kind %d, wanted %d", spec, i, cases[i].text, kind,
                     cases[i].kind);
    }
}

/* A start line may be long (a Request-URI with parameters) but must end within the window. */
static void classify_long_start_lines(void **st)
{
    static const size_t uri_lens[] = {400, VOX_GPU_START_LINE_MAX_BYTES - 22,
                                      VOX_GPU_START_LINE_MAX_BYTES - 21,
                                      VOX_GPU_START_LINE_MAX_BYTES - 20, 600};
    char *msg = malloc(1024);
    size_t i;

    (void)st;
    assert_non_null(msg);
    for (i = 0; i < sizeof(uri_lens) / sizeof(uri_lens[0]); i++) {
        struct vox_gpu_call_id cid;
        size_t n, line_bytes;
        uint8_t kind;

        /* "INVITE sip:aaa...a SIP/2.0\r\n": 7 + 4 + uri + 10 bytes, CR LF included. */
        n = (size_t)snprintf(msg, 1024, "INVITE sip:");
        memset(msg + n, 'a', uri_lens[i]);
        n += uri_lens[i];
        n += (size_t)snprintf(msg + n, 1024 - n, " SIP/2.0\r\nCall-ID: x\r\n\r\n");
        line_bytes = 7 + 4 + uri_lens[i] + 10;
        run_one(msg, n, &kind, &cid);
        if (kind !=
            (line_bytes <= VOX_GPU_START_LINE_MAX_BYTES ? VOX_GPU_SIP_REQUEST : VOX_GPU_NOT_SIP))
            fail_msg("%s: start line of %zu bytes: kind %d", spec, line_bytes, kind);
        assert_int_equal(cid.len_bytes, 1);
    }
    free(msg);
}

struct cid_case {
    const char *msg;
    const char *after; /* the text right before the value (its first occurrence); NULL: none */
    const char *value;
    uint16_t flags;
    uint16_t crlf; /* turn every "\n" of msg into CRLF first */
};

#define SDP_BODY                                                                                   \
    "v=0\no=alice 2890844526 2890844526 IN IP4 pc33.atlanta.com\ns=-\n"                            \
    "c=IN IP4 pc33.atlanta.com\nt=0 0\na=note:Call-ID: body@evil.example\n"                        \
    "m=audio 49172 RTP/AVP 0\na=rtpmap:0 PCMU/8000\n"

static const struct cid_case cid_cases[] = {
    /* RFC 3261 §24.2 F1, with a body that mentions a Call-ID: only the header counts. */
    {"INVITE sip:bob@biloxi.com SIP/2.0\n"
     "Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds\nMax-Forwards: 70\n"
     "To: Bob <sip:bob@biloxi.com>\nFrom: Alice <sip:alice@atlanta.com>;tag=1928301774\n"
     "Call-ID: a84b4c76e66710@pc33.atlanta.com\nCSeq: 314159 INVITE\n"
     "Contact: <sip:alice@pc33.atlanta.com>\nContent-Type: application/sdp\n"
     "Content-Length: 220\n\n" SDP_BODY,
     "Call-ID: ", "a84b4c76e66710@pc33.atlanta.com", 0, 1},
    /* The same without the header: the body's line is never found. */
    {"INVITE sip:bob@biloxi.com SIP/2.0\nVia: SIP/2.0/UDP pc33.atlanta.com\n"
     "Content-Type: application/sdp\n\n" SDP_BODY "Call-ID: late@evil\n",
     NULL, NULL, 0, 1},
    /* Compact forms (RFC 3261 §7.3.3). */
    {"SIP/2.0 200 OK\nv: SIP/2.0/UDP 192.0.2.1\nf: <sip:a@b>;tag=1\nt: <sip:c@d>;tag=2\n"
     "i:compact-1@host\nCSeq: 1 INVITE\nl: 0\n\n",
     "i:", "compact-1@host", VOX_GPU_CALL_ID_COMPACT, 1},
    {"BYE sip:a@b SIP/2.0\nI \t: \t spaced@x \t\nCSeq: 2 BYE\n\n", "I \t: \t ", "spaced@x",
     VOX_GPU_CALL_ID_COMPACT, 1},
    /* Odd case and whitespace before the colon. */
    {"REGISTER sip:registrar.biloxi.com SIP/2.0\ncALL-iD   :  Mixed@Case  \nCSeq: 1 REGISTER\n\n",
     "cALL-iD   :  ", "Mixed@Case", 0, 1},
    /* The last header, without its line end. */
    {"BYE sip:a@b SIP/2.0\r\nCSeq: 2 BYE\r\nCall-ID: last@host", "Call-ID: ", "last@host",
     VOX_GPU_CALL_ID_UNTERMINATED, 0},
    /* LF-only line ends. */
    {"OPTIONS sip:x@y SIP/2.0\nVia: SIP/2.0/UDP h\nCall-ID: lf-only@y\nCSeq: 1 OPTIONS\n\n",
     "Call-ID: ", "lf-only@y", 0, 0},
    /* X-Call-ID is another header. */
    {"INVITE sip:a@b SIP/2.0\nX-Call-ID: not-this@x\nCSeq: 1 INVITE\n\n", NULL, NULL, 0, 1},
    {"INVITE sip:a@b SIP/2.0\nX-Call-ID: not-this@x\nCall-ID: this@x\n\n", "\nCall-ID: ", "this@x",
     0, 1},
    /* A message cut in the value. */
    {"INVITE sip:bob@biloxi.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1\r\n"
     "Call-ID: 8f1c2d3e4f5a@10.0",
     "Call-ID: ", "8f1c2d3e4f5a@10.0", VOX_GPU_CALL_ID_UNTERMINATED, 0},
    /* Folds before the value are whitespace (RFC 3261 §7.3.1). */
    {"INVITE sip:a@b SIP/2.0\nCall-ID:\n   folded@x\nCSeq: 1 INVITE\n\n", "Call-ID:\r\n   ",
     "folded@x", 0, 1},
    {"INVITE sip:a@b SIP/2.0\nCall-ID: \n\tfolded2@x\n\n", "Call-ID: \n\t", "folded2@x", 0, 0},
    /* ... but a header folded onto a continuation line is inside another header's value. */
    {"MESSAGE sip:a@b SIP/2.0\nSubject: hi\n Call-ID: nope@x\n\tcall-id: nope2@x\n\n", NULL, NULL,
     0, 1},
    /* The start line is no header. */
    {"Call-ID: start@line SIP/2.0\r\n\r\n", NULL, NULL, 0, 0},
    /* An empty value is found, empty. */
    {"INVITE sip:a@b SIP/2.0\nCall-ID:\nCSeq: 1 INVITE\n\n", "Call-ID:", "", 0, 1},
    {"INVITE sip:a@b SIP/2.0\r\nCall-ID:", "Call-ID:", "", VOX_GPU_CALL_ID_UNTERMINATED, 0},
    /* No colon: not a header of that name; the next one is. */
    {"INVITE sip:a@b SIP/2.0\nCall-ID foo\nCall-IDx: bar\nix: baz\ni: real@x\n\n", "i: ", "real@x",
     VOX_GPU_CALL_ID_COMPACT, 1},
    /* The value ends at a lone CR too. */
    {"INVITE sip:a@b SIP/2.0\r\nCall-ID: abc\rdef\r\n\r\n", "Call-ID: ", "abc", 0, 0},
    /* Headers that never end: not found, maybe later. */
    {"INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n", NULL, NULL,
     VOX_GPU_CALL_ID_HEADERS_INCOMPLETE, 0},
    {"INVITE sip:a@b SIP/2.0\r\nVia: h\r\n\r", NULL, NULL, VOX_GPU_CALL_ID_HEADERS_INCOMPLETE, 0},
    {"INVITE sip:a@b SIP/2.0\r\ni", NULL, NULL, VOX_GPU_CALL_ID_HEADERS_INCOMPLETE, 0},
    {"\r\n\r\n", NULL, NULL, 0, 0},
    {"", NULL, NULL, VOX_GPU_CALL_ID_HEADERS_INCOMPLETE, 0},
};

static void call_id_cases(void **st)
{
    char *msg = malloc(4096);
    size_t i;

    (void)st;
    assert_non_null(msg);
    for (i = 0; i < sizeof(cid_cases) / sizeof(cid_cases[0]); i++) {
        const struct cid_case *c = &cid_cases[i];
        struct vox_gpu_call_id cid;
        uint8_t kind;
        size_t n;

        if (c->crlf) {
            n = vox_test_crlf(c->msg, msg, 4096);
        } else {
            n = strlen(c->msg);
            memcpy(msg, c->msg, n + 1);
        }
        run_one(msg, n, &kind, &cid);
        if (!c->after) {
            if (cid.off != -1 || cid.len_bytes != 0 || cid.flags != c->flags)
                fail_msg("%s: case %zu: (off %d, len %u, flags %#x), wanted none with %#x", spec, i,
                         cid.off, cid.len_bytes, cid.flags, c->flags);
            continue;
        }
        {
            const char *at = strstr(msg, c->after);
            int32_t off;

            assert_non_null(at);
            off = (int32_t)(at - msg + (ptrdiff_t)strlen(c->after));
            if (cid.off != off || cid.len_bytes != strlen(c->value) || cid.flags != c->flags)
                fail_msg("%s: case %zu: (off %d, len %u, flags %#x), wanted (%d, %zu, %#x)", spec,
                         i, cid.off, cid.len_bytes, cid.flags, off, strlen(c->value), c->flags);
            assert_memory_equal(msg + off, c->value, strlen(c->value));
        }
    }
    free(msg);
}

/* A SIPREC INVITE (RFC 7866) of about 1.4 KB: multipart SDP + recording metadata. */
static size_t siprec_invite(char *out, size_t cap)
{
    static const char text[] =
        "INVITE sip:srs@recorder.example.com:5060;transport=tcp SIP/2.0\n"
        "Via: SIP/2.0/TCP sbc1.example.com:5060;branch=z9hG4bK-524287-1---4f0b4c6fa0e3a1d2;rport\n"
        "Max-Forwards: 70\n"
        "Contact: <sip:src@sbc1.example.com:5060;transport=tcp>;+sip.src\n"
        "To: <sip:srs@recorder.example.com>\n"
        "From: \"SRC\" <sip:src@sbc1.example.com>;tag=9fxced76sl\n"
        "Call-ID: 3c26700b-5e31-4f91-9b6a-0c1a2b3c4d5e@sbc1.example.com\n"
        "CSeq: 1 INVITE\n"
        "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO\n"
        "Require: siprec\n"
        "Accept: application/sdp, application/rs-metadata\n"
        "Content-Type: multipart/mixed;boundary=foobar\n"
        "Content-Length: 880\n"
        "\n"
        "--foobar\n"
        "Content-Type: application/sdp\n"
        "\n"
        "v=0\no=SRC 2890844526 2890844526 IN IP4 198.51.100.1\ns=-\n"
        "c=IN IP4 198.51.100.1\nt=0 0\n"
        "m=audio 12240 RTP/AVP 0\na=rtpmap:0 PCMU/8000\na=label:96\na=sendonly\n"
        "m=audio 12242 RTP/AVP 0\na=rtpmap:0 PCMU/8000\na=label:97\na=sendonly\n"
        "--foobar\n"
        "Content-Type: application/rs-metadata+xml\n"
        "Content-Disposition: recording-session\n"
        "\n"
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<recording xmlns='urn:ietf:params:xml:ns:recording:1'>\n"
        " <datamode>complete</datamode>\n"
        " <session session_id=\"hVpd7YQgRW2nD22h7q60JQ==\">\n"
        "  <sipSessionID>ab30317f1a784dc48ff824d0d3715d86;remote=00000000000000000000000000000000"
        "</sipSessionID>\n"
        "  <callid>Call-ID: f81d4fae-7dec-11d0-a765-00a0c91e6bf6@example.com</callid>\n"
        " </session>\n"
        " <participant participant_id=\"srfBElmCRp2QB23b7Mpk0w==\">\n"
        "  <nameID aor=\"sip:alice@atlanta.example.com\"><name xml:lang=\"it\">Alice</name>"
        "</nameID>\n"
        " </participant>\n"
        " <stream stream_id=\"UAAMm5GRQKSCMVvLyl4rFw==\" session_id=\"hVpd7YQgRW2nD22h7q60JQ==\">\n"
        "  <label>96</label>\n"
        " </stream>\n"
        "</recording>\n"
        "--foobar--\n";

    return vox_test_crlf(text, out, cap);
}

static void siprec_invite_1400(void **st)
{
    static const char pat64[] = "<nameID aor=\"sip:alice@atlanta.example.com\"><name xml:lang=\"it"
                                "\">";
    static const char want[] = "3c26700b-5e31-4f91-9b6a-0c1a2b3c4d5e@sbc1.example.com";
    struct batch *b = batch_new();
    char *msg = malloc(4096);
    struct vox_gpu_call_id cid;
    int32_t off;
    uint8_t kind;
    size_t n;

    (void)st;
    assert_non_null(msg);
    n = siprec_invite(msg, 4096);
    assert_true(n > 1300 && n < 1700);
    batch_add(b, msg, n);
    assert_int_equal(vox_gpu_classify(gpu, b->pkts, 1, &kind, NULL), 0);
    assert_int_equal(kind, VOX_GPU_SIP_REQUEST);
    assert_int_equal(vox_gpu_extract_call_id(gpu, b->pkts, 1, &cid, NULL), 0);
    assert_int_equal(cid.off, strstr(msg, want) - msg);
    assert_int_equal(cid.len_bytes, strlen(want));
    assert_int_equal(cid.flags, 0);
    /* The 64-byte pattern lies in the XML part, past 1 KB. */
    assert_int_equal(sizeof(pat64) - 1, VOX_GPU_PATTERN_MAX_BYTES);
    assert_int_equal(vox_gpu_find(gpu, b->pkts, 1, (const uint8_t *)pat64, 64, &off, NULL), 0);
    assert_int_equal(off, strstr(msg, pat64) - msg);
    assert_true(off > 1000);
    assert_int_equal(vox_gpu_find(gpu, b->pkts, 1, (const uint8_t *)"Call-ID", 7, &off, NULL), 0);
    assert_int_equal(off, strstr(msg, "Call-ID") - msg);
    assert_int_equal(
        vox_gpu_find(gpu, b->pkts, 1, (const uint8_t *)"--foobar--\r\n", 12, &off, NULL), 0);
    assert_int_equal(off, (int32_t)n - 12);
    assert_int_equal(vox_gpu_find(gpu, b->pkts, 1, (const uint8_t *)"--foobaz", 8, &off, NULL), 0);
    assert_int_equal(off, -1);
    batch_free(b);
    free(msg);
}

/* lippycat's workload: 64 identical short INVITE heads, and find over them. */
static void lippycat_batch(void **st)
{
    static const char msg[] = "INVITE sip:user@host SIP/2.0\r\nCall-ID: test123@host\r\n\r\n";
    struct vox_gpu_call_id cid[64];
    struct batch *b = batch_new();
    uint8_t kinds[64];
    int32_t offs[64];
    size_t i;

    (void)st;
    for (i = 0; i < 64; i++)
        batch_add(b, msg, sizeof(msg) - 1);
    assert_int_equal(vox_gpu_classify(gpu, b->pkts, 64, kinds, NULL), 0);
    assert_int_equal(vox_gpu_extract_call_id(gpu, b->pkts, 64, cid, NULL), 0);
    assert_int_equal(vox_gpu_find(gpu, b->pkts, 64, (const uint8_t *)"test123", 7, offs, NULL), 0);
    for (i = 0; i < 64; i++) {
        assert_int_equal(kinds[i], VOX_GPU_SIP_REQUEST);
        assert_int_equal(cid[i].off, 39);
        assert_int_equal(cid[i].len_bytes, 12);
        assert_int_equal(cid[i].flags, 0);
        assert_int_equal(offs[i], 39);
    }
    batch_free(b);
}

/* RTP, random bytes, empty packets: never SIP, and no Call-ID where the bytes hold no LF. */
static void binary_packets(void **st)
{
    static const uint8_t pcmu[12] = {0x80, 0x00, 0x1d, 0xa4, 0x00, 0x00,
                                     0xa0, 0x00, 0xde, 0xad, 0xbe, 0xef};
    static const uint8_t rtcp_sr[8] = {0x80, 0xc8, 0x00, 0x06, 0x11, 0x22, 0x33, 0x44};
    struct batch *b = batch_new();
    struct vox_gpu_call_id cid[300];
    uint8_t kinds[300], pkt[2000];
    size_t i;

    (void)st;
    rng_state = 7;
    memcpy(pkt, pcmu, 12);
    memset(pkt + 12, 0xff, 160);
    batch_add(b, pkt, 172);
    batch_add(b, rtcp_sr, sizeof(rtcp_sr));
    batch_add(b, NULL, 0);
    for (i = 0; i < 200; i++) { /* RTP with random payloads of random lengths, no LF */
        size_t k, n = 12 + rnd_below(1400);

        memcpy(pkt, pcmu, 12);
        for (k = 12; k < n; k++)
            pkt[k] = (uint8_t)(rnd() | 1); /* odd: never 0x0a */
        batch_add(b, pkt, n);
    }
    for (i = 0; i < 97; i++) { /* anything at all: compared with the reference below */
        size_t k, n = rnd_below(2000);

        for (k = 0; k < n; k++)
            pkt[k] = (uint8_t)rnd();
        batch_add(b, pkt, n);
    }
    assert_int_equal(vox_gpu_classify(gpu, b->pkts, b->n, kinds, NULL), 0);
    assert_int_equal(vox_gpu_extract_call_id(gpu, b->pkts, b->n, cid, NULL), 0);
    for (i = 0; i < b->n; i++) {
        if (kinds[i] != VOX_GPU_NOT_SIP)
            fail_msg("%s: binary packet %zu classified %d", spec, i, kinds[i]);
        if (i < 203 && (cid[i].off != -1 || cid[i].flags != VOX_GPU_CALL_ID_HEADERS_INCOMPLETE))
            fail_msg("%s: binary packet %zu: Call-ID at %d", spec, i, cid[i].off);
    }
    check_call_ids(gpu, spec, b);
    check_finds(gpu, spec, b, pcmu, 4);
    check_finds(gpu, spec, b, (const uint8_t *)"\xff\xff\xff", 3);
    batch_free(b);
}

/* The largest packet: 65535 bytes, with the Call-ID after a 64 KB header. */
static void largest_packet(void **st)
{
    static const char head[] = "INVITE sip:big@example.com SIP/2.0\r\nX-Pad: ";
    static const char tail[] = "\r\nCall-ID: big@x\r\n\r\n";
    uint8_t *msg = malloc(VOX_GPU_PKT_MAX_BYTES);
    struct batch *b = batch_new();
    struct vox_gpu_call_id cid;
    size_t n = 0, pad = 65000, call_at;
    int32_t off;
    uint8_t kind;

    (void)st;
    assert_non_null(msg);
    memcpy(msg, head, sizeof(head) - 1);
    n = sizeof(head) - 1;
    memset(msg + n, 'a', pad);
    n += pad;
    memcpy(msg + n, tail, sizeof(tail) - 1);
    call_at = n + 11;
    n += sizeof(tail) - 1;
    memset(msg + n, 'b', VOX_GPU_PKT_MAX_BYTES - n);
    memcpy(msg + VOX_GPU_PKT_MAX_BYTES - 5, "ZZEND", 5);
    batch_add(b, msg, VOX_GPU_PKT_MAX_BYTES);
    assert_int_equal(vox_gpu_classify(gpu, b->pkts, 1, &kind, NULL), 0);
    assert_int_equal(kind, VOX_GPU_SIP_REQUEST);
    assert_int_equal(vox_gpu_extract_call_id(gpu, b->pkts, 1, &cid, NULL), 0);
    assert_int_equal(cid.off, call_at);
    assert_int_equal(cid.len_bytes, 5);
    assert_int_equal(vox_gpu_find(gpu, b->pkts, 1, (const uint8_t *)"ZZEND", 5, &off, NULL), 0);
    assert_int_equal(off, VOX_GPU_PKT_MAX_BYTES - 5);
    assert_int_equal(vox_gpu_find(gpu, b->pkts, 1, (const uint8_t *)"big@x", 5, &off, NULL), 0);
    assert_int_equal(off, call_at);
    batch_free(b);
    free(msg);
}

/*
 * Every placement near the vector blocks' edges: a Call-ID line starting at each offset 0..99
 * of a message cut at every length, and a pattern at every offset of every length, each packet
 * in a block of its exact size.
 */
static void block_edges(void **st)
{
    static const uint8_t pats[][9] = {"x", "xy", "x-y", "Call-ID", "\r\n\r\nabcd"};
    static const size_t pat_lens[] = {1, 2, 3, 7, 8};
    struct batch *b = batch_new();
    char msg[256];
    size_t shift, cut, i, len, at;

    (void)st;
    for (shift = 0; shift < 100; shift += 3) {
        size_t n =
            (size_t)snprintf(msg, sizeof(msg), "SIP/2.0 200 OK\r\nX: %*s\r\n", (int)shift, "");
        n += (size_t)snprintf(msg + n, sizeof(msg) - n, "Call-ID: v%zu@h \r\n\r\ni: no\r\n", shift);
        for (cut = 0; cut <= n; cut++) {
            batch_add(b, msg, cut);
            if (b->n == VOX_GPU_BATCH_MAX) {
                check_call_ids(gpu, spec, b);
                batch_clear(b);
            }
        }
    }
    check_call_ids(gpu, spec, b);
    batch_clear(b);
    for (i = 0; i < sizeof(pat_lens) / sizeof(pat_lens[0]); i++) {
        for (len = 0; len <= 80; len++) {
            for (at = 0; at + pat_lens[i] <= len; at++) {
                memset(msg, '.', len);
                memcpy(msg + at, pats[i], pat_lens[i]);
                batch_add(b, msg, len);
            }
            /* and a near miss: the first and last bytes right, a middle one wrong */
            if (len >= pat_lens[i] && pat_lens[i] >= 3) {
                memset(msg, '.', len);
                memcpy(msg + len - pat_lens[i], pats[i], pat_lens[i]);
                msg[len - pat_lens[i] + 1] = '#';
                batch_add(b, msg, len);
            }
        }
        check_finds(gpu, spec, b, pats[i], pat_lens[i]);
        batch_clear(b);
    }
    batch_free(b);
}

/* Bad arguments: an error naming what and where, never a crash. */
static void bad_arguments(void **st)
{
    struct batch *b = batch_new();
    struct vox_diag d = {{0}};
    struct vox_gpu_call_id cid[2];
    uint8_t big[8] = "INVITE ", kinds[2];
    int32_t offs[2];

    (void)st;
    batch_add(b, "SIP/2.0 200 OK\r\n", 16);
    /* n = 0 is a no-op, NULL arrays allowed */
    assert_int_equal(vox_gpu_classify(gpu, NULL, 0, NULL, &d), 0);
    assert_int_equal(vox_gpu_extract_call_id(gpu, NULL, 0, NULL, &d), 0);
    assert_int_equal(vox_gpu_find(gpu, NULL, 0, (const uint8_t *)"x", 1, NULL, &d), 0);
    assert_int_equal(vox_gpu_classify(NULL, b->pkts, 1, kinds, &d), VOX_EINVAL);
    assert_int_equal(vox_gpu_classify(gpu, b->pkts, 1, NULL, &d), VOX_EINVAL);
    assert_non_null(strstr(d.text, "output"));
    assert_int_equal(vox_gpu_extract_call_id(gpu, NULL, 1, cid, &d), VOX_EINVAL);
    assert_int_equal(vox_gpu_classify(gpu, b->pkts, VOX_GPU_BATCH_MAX + 1, kinds, &d), VOX_ELIMIT);
    assert_non_null(strstr(d.text, "4097 packets"));
    assert_int_equal(vox_gpu_find(gpu, b->pkts, 1, NULL, 1, offs, &d), VOX_EINVAL);
    assert_int_equal(vox_gpu_find(gpu, b->pkts, 1, (const uint8_t *)"x", 0, offs, &d), VOX_EINVAL);
    assert_non_null(strstr(d.text, "empty"));
    assert_int_equal(vox_gpu_find(gpu, b->pkts, 1, big, VOX_GPU_PATTERN_MAX_BYTES + 1, offs, &d),
                     VOX_ELIMIT);
    assert_non_null(strstr(d.text, "65 bytes"));
    /* a packet over the limit, or with NULL data: the diag names its index */
    b->pkts[1].data = big;
    b->pkts[1].len_bytes = VOX_GPU_PKT_MAX_BYTES + 1;
    assert_int_equal(vox_gpu_extract_call_id(gpu, b->pkts, 2, cid, &d), VOX_ELIMIT);
    assert_non_null(strstr(d.text, "packet 1 of 2 is 65536 bytes"));
    b->pkts[1].data = NULL;
    b->pkts[1].len_bytes = 3;
    assert_int_equal(vox_gpu_classify(gpu, b->pkts, 2, kinds, &d), VOX_EINVAL);
    assert_non_null(strstr(d.text, "packet 1 of 2 has NULL data"));
    /* NULL data with no bytes is an empty packet */
    b->pkts[1].len_bytes = 0;
    assert_int_equal(vox_gpu_classify(gpu, b->pkts, 2, kinds, &d), 0);
    assert_int_equal(kinds[0], VOX_GPU_SIP_RESPONSE);
    assert_int_equal(kinds[1], VOX_GPU_NOT_SIP);
    batch_free(b);
}

static void stats_and_info(void **st)
{
    struct vox_gpu *g = NULL;
    struct vox_gpu_stats s;
    struct vox_gpu_pkt p[3] = {{(const uint8_t *)"abc", 3}, {NULL, 0}, {(const uint8_t *)"x", 1}};
    uint8_t kinds[3];
    int32_t offs[3];
    char want[40];

    (void)st;
    assert_int_equal(open_spec(spec, &g, NULL), 0);
    snprintf(want, sizeof(want), "%s: ", vox_gpu_name(g));
    assert_true(strncmp(vox_gpu_device_info(g), want, strlen(want)) == 0);
    vox_gpu_stats(g, &s);
    assert_int_equal(s.batches, 0);
    assert_int_equal(vox_gpu_classify(g, p, 3, kinds, NULL), 0);
    assert_int_equal(vox_gpu_find(g, p, 2, (const uint8_t *)"b", 1, offs, NULL), 0);
    assert_int_equal(offs[0], 1);
    assert_int_equal(offs[1], -1);
    assert_int_equal(vox_gpu_classify(g, p, 3, NULL, NULL), VOX_EINVAL); /* not counted */
    vox_gpu_stats(g, &s);
    assert_int_equal(s.batches, 2);
    assert_int_equal(s.packets, 5);
    assert_int_equal(s.payload_bytes, 7);
    if (strcmp(vox_gpu_name(g), "cuda") == 0) {
        assert_true(s.pool_bytes_reserved > 0);
        assert_true(s.pool_grows >= 1);
    } else {
        assert_int_equal(s.pool_bytes_reserved, 0);
    }
    vox_gpu_destroy(g);
}

/* ---- differential: every backend against the references on random batches -------------------- */

/* The backends this machine runs (specs), and the instances. */
static const char *const all_specs[] = {"scalar",    "simd",        "simd/sse4.2",
                                        "simd/avx2", "simd/scalar", "cuda"};
static struct vox_gpu *diff_gpu[sizeof(all_specs) / sizeof(all_specs[0])];

static int diff_setup(void **st)
{
    size_t i, opened = 0;

    (void)st;
    for (i = 0; i < sizeof(all_specs) / sizeof(all_specs[0]); i++) {
        struct vox_diag d = {{0}};

        if (open_spec(all_specs[i], &diff_gpu[i], &d) == 0) {
            print_message("backend %s: %s\n", all_specs[i], vox_gpu_device_info(diff_gpu[i]));
            opened++;
        } else {
            print_message("backend %s: not run here: %s\n", all_specs[i], d.text);
        }
    }
    return opened >= 3 ? 0 : -1; /* scalar, simd and simd/scalar run everywhere */
}

static int diff_teardown(void **st)
{
    size_t i;

    (void)st;
    for (i = 0; i < sizeof(all_specs) / sizeof(all_specs[0]); i++)
        vox_gpu_destroy(diff_gpu[i]);
    return 0;
}

/* Bytes that make Call-ID scanning interesting, densely. */
static const char *const soup[] = {
    "\r",          "\n",    "\r\n", "\r\n\r\n", "\n\n",    " ",  "\t",       ":",
    "c",           "C",     "a",    "A",        "l",       "-",  "i",        "I",
    "d",           "D",     "x",    "Call-ID",  "call-id", "i:", "Call-ID:", "\ni",
    "\r\nCall-ID", "\r\n ", "@",    "ca",       "cALL-Id"};

/* A SIP-looking message mutated at random, random soup, or random bytes: up to 2000 bytes. */
static size_t random_packet(uint8_t *out, size_t cap)
{
    static const char *const templates[] = {
        ("INVITE sip:bob@biloxi.com SIP/2.0\nVia: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK77\n"
         "To: Bob <sip:bob@biloxi.com>\nFrom: Alice <sip:alice@atlanta.com>;tag=1928301774\n"
         "Call-ID: a84b4c76e66710@pc33.atlanta.com\nCSeq: 314159 INVITE\n"
         "Contact: <sip:alice@pc33.atlanta.com>\nContent-Type: application/sdp\n"
         "Content-Length: 142\n\nv=0\no=a 1 1 IN IP4 h\nCall-ID: body@x\nm=audio 4 RTP/AVP 0\n"),
        ("SIP/2.0 200 OK\nv: SIP/2.0/UDP 192.0.2.1\nf: <sip:a@b>;tag=1\nt: <sip:c@d>;tag=2\n"
         "i: compact-1@host\nCSeq: 1 INVITE\nl: 0\n\n"),
        "BYE sip:a@b SIP/2.0\nCSeq: 2 BYE\nX-Call-ID: no@x\nCall-ID:\n  folded@x \t\n\n",
        "INVITE sip:user@host SIP/2.0\nCall-ID: test123@host\n\n",
    };
    uint32_t kind = rnd_below(10);
    size_t n = 0, k, edits;

    if (kind < 6) {
        const char *t = templates[rnd_below(4)];
        char buf[2048];

        n = rnd_below(2) ? vox_test_crlf(t, buf, sizeof(buf)) : strlen(strcpy(buf, t));
        memcpy(out, buf, n);
        for (edits = rnd_below(7); edits > 0; edits--) {
            uint32_t op = rnd_below(5), at = rnd_below((uint32_t)n + 1);
            const char *ins = soup[rnd_below(sizeof(soup) / sizeof(soup[0]))];
            size_t il = strlen(ins);

            if (op == 0 && n + il <= cap) { /* insert */
                memmove(out + at + il, out + at, n - at);
                memcpy(out + at, ins, il);
                n += il;
            } else if (op == 1 && at < n) { /* flip case */
                out[at] ^= 0x20;
            } else if (op == 2 && at < n) { /* delete */
                memmove(out + at, out + at + 1, n - at - 1);
                n--;
            } else if (op == 3 && at < n) { /* replace */
                out[at] = (uint8_t)rnd();
            } else if (op == 4) { /* truncate */
                n = at;
            }
        }
        /* and sometimes pad it out with a body, past the vector widths */
        if (rnd_below(3) == 0)
            for (k = rnd_below(1000); k > 0 && n < cap; k--)
                out[n++] = (uint8_t) "abc\r\n:i "[rnd_below(8)];
    } else if (kind < 9) {
        size_t want = rnd_below(2001);

        while (n < want) {
            const char *s = soup[rnd_below(sizeof(soup) / sizeof(soup[0]))];
            size_t l = strlen(s);

            if (n + l > cap)
                break;
            memcpy(out + n, s, l);
            n += l;
        }
    } else {
        n = rnd_below(2001);
        for (k = 0; k < n; k++)
            out[k] = (uint8_t)rnd();
    }
    return n < cap ? n : cap;
}

/* What the reference finds in a batch, so that a reader sees the corpus hits every case. */
static const char *corpus_summary(const struct batch *b)
{
    static char buf[200];
    size_t i, found = 0, compact = 0, unterminated = 0, ended = 0, incomplete = 0;

    for (i = 0; i < b->n; i++) {
        struct vox_gpu_call_id c;

        ref_call_id(b->pkts[i].data, b->pkts[i].len_bytes, &c);
        found += c.off >= 0;
        compact += (c.flags & VOX_GPU_CALL_ID_COMPACT) != 0;
        unterminated += (c.flags & VOX_GPU_CALL_ID_UNTERMINATED) != 0;
        ended += c.off < 0 && c.flags == 0;
        incomplete += (c.flags & VOX_GPU_CALL_ID_HEADERS_INCOMPLETE) != 0;
    }
    snprintf(buf, sizeof(buf),
             "%zu packets: Call-ID found %zu (compact %zu, unterminated %zu), none after the "
             "headers %zu, none in incomplete headers %zu",
             b->n, found, compact, unterminated, ended, incomplete);
    return buf;
}

static void differential_random_batches(void **st)
{
    uint8_t *pkt = malloc(4096), pat[VOX_GPU_PATTERN_MAX_BYTES];
    uint8_t *kinds_ref = malloc(VOX_GPU_BATCH_MAX), *kinds = malloc(VOX_GPU_BATCH_MAX);
    struct batch *b = batch_new();
    size_t round, i, g;

    (void)st;
    assert_non_null(pkt);
    assert_non_null(kinds_ref);
    assert_non_null(kinds);
    for (round = 0; round < 6; round++) {
        size_t m;

        rng_state = 1000 + round;
        for (i = 0; i < 4000; i++)
            batch_add(b, pkt, random_packet(pkt, 2000));
        /* a pattern: a piece of some packet (so that it occurs), or soup */
        if (round % 2 == 0) {
            const struct vox_gpu_pkt *p = &b->pkts[rnd_below((uint32_t)b->n)];

            m = 1 + rnd_below(VOX_GPU_PATTERN_MAX_BYTES);
            if (p->len_bytes < m) {
                memcpy(pat, "Call-ID", 7);
                m = 7;
            } else {
                memcpy(pat, p->data + rnd_below(p->len_bytes - (uint32_t)m + 1), m);
            }
        } else {
            for (m = 0; m < 1 + round; m++)
                pat[m] = (uint8_t)soup[rnd_below(sizeof(soup) / sizeof(soup[0]))][0];
        }
        print_message("round %zu: %s\n", round, corpus_summary(b));
        for (g = 0; g < sizeof(all_specs) / sizeof(all_specs[0]); g++) {
            if (!diff_gpu[g])
                continue;
            check_call_ids(diff_gpu[g], all_specs[g], b);
            check_finds(diff_gpu[g], all_specs[g], b, pat, m);
            check_finds(diff_gpu[g], all_specs[g], b, (const uint8_t *)"Call-ID", 7);
            assert_int_equal(vox_gpu_classify(diff_gpu[g], b->pkts, b->n, kinds, NULL), 0);
            if (g == 0)
                memcpy(kinds_ref, kinds, b->n);
            for (i = 0; i < b->n; i++)
                if (kinds[i] != kinds_ref[i])
                    fail_msg("%s: packet %zu '%s': kind %d, scalar says %d", all_specs[g], i,
                             show(&b->pkts[i]), kinds[i], kinds_ref[i]);
        }
        batch_clear(b);
    }
    batch_free(b);
    free(kinds);
    free(kinds_ref);
    free(pkt);
}

/* ---- registry ---------------------------------------------------------------------------------
 */

/* The character classes of the start-line rule, against their RFC 3261 §25.1 definitions. */
static void registry_char_classes(void **st)
{
    static const char token[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                "-.!%*_+`'~";
    unsigned c;

    (void)st;
    for (c = 0; c < 256; c++) {
        int want = c != 0 && memchr(token, (int)c, sizeof(token) - 1) != NULL;

        if (vox__gpu_is_token((uint8_t)c) != want)
            fail_msg("byte %#x: token %d, wanted %d", c, vox__gpu_is_token((uint8_t)c), want);
    }
}

static void registry_unknown_name(void **st)
{
    struct vox_gpu *g = (struct vox_gpu *)&g;
    struct vox_diag d = {{0}};

    (void)st;
    assert_int_equal(vox_gpu_create("opencl", &g, &d), VOX_EUNKNOWN_BACKEND);
    assert_null(g);
    assert_non_null(strstr(d.text, "'opencl'"));
    assert_non_null(strstr(d.text, "scalar"));
    assert_non_null(strstr(d.text, "simd"));
    assert_non_null(strstr(d.text, "auto"));
    assert_int_equal(vox_gpu_create(NULL, &g, &d), VOX_EINVAL);
    assert_int_equal(vox_gpu_create("scalar", NULL, &d), VOX_EINVAL);
}

static void registry_lists_backends(void **st)
{
    char names[128];

    (void)st;
    vox_gpu_backend_names(names, sizeof(names));
    assert_string_equal(names, VOX_HAVE_CUDA ? "scalar, simd, cuda, auto" : "scalar, simd, auto");
    assert_int_equal(vox_gpu_backend_count(), VOX_HAVE_CUDA ? 3 : 2);
    assert_string_equal(vox_gpu_backend_at(0)->name, "scalar");
    assert_ptr_equal(vox_gpu_backend_find("simd"), vox_gpu_backend_at(1));
    assert_null(vox_gpu_backend_find("auto"));
    assert_null(vox_gpu_backend_at(99));
    assert_int_equal(vox_gpu_register(&vox__gpu_scalar_ops), VOX_EEXIST);
    assert_int_equal(vox_gpu_register(NULL), VOX_EINVAL);
}

/* "cuda" either runs (a device answered) or says clearly why not; "auto" never picks it then. */
static void registry_cuda_and_auto(void **st)
{
    struct vox_gpu *g = NULL, *a = NULL;
    struct vox_diag d = {{0}};
    int rc = vox_gpu_create("cuda", &g, &d);

    (void)st;
    assert_int_equal(vox_gpu_create("auto", &a, NULL), 0);
    print_message("cuda: %s\nauto: %s\n", rc ? d.text : vox_gpu_device_info(g),
                  vox_gpu_device_info(a));
    if (!VOX_HAVE_CUDA) {
        assert_int_equal(rc, VOX_ENOT_COMPILED);
        assert_non_null(strstr(d.text, "not compiled"));
    } else if (rc) {
        assert_int_equal(rc, VOX_EBACKEND_LOAD);
        assert_non_null(strstr(d.text, "no CUDA device: "));
    }
    if (rc) {
        assert_null(g);
        assert_string_equal(vox_gpu_name(a), vox__gpu_simd_best() ? "simd" : "scalar");
        assert_non_null(strstr(vox_gpu_device_info(a), "[auto: "));
    } else {
        assert_string_equal(vox_gpu_name(g), "cuda");
        assert_string_equal(vox_gpu_name(a), "cuda");
    }
    vox_gpu_destroy(g);
    vox_gpu_destroy(a);
}

/* A test's own backend goes in the registry and serves through the front end. */
static int fake_classify(void *state, const struct vox_gpu_pkt *pkts, size_t n, uint8_t *kinds,
                         struct vox_diag *diag)
{
    vox_diag_set(diag, "fake device lost");
    return VOX_EIO;
}

static void fake_describe(void *state, char *buf, size_t buf_len)
{
    snprintf(buf, buf_len, "fake: always fails");
}

static void registry_custom_backend(void **st)
{
    static struct vox_gpu_ops fake;
    struct vox_gpu_pkt p = {(const uint8_t *)"x", 1};
    struct vox_gpu *g = NULL;
    struct vox_diag d = {{0}};
    struct vox_gpu_stats s;
    uint8_t kind;

    (void)st;
    fake = vox__gpu_scalar_ops;
    fake.name = "auto";
    assert_int_equal(vox_gpu_register(&fake), VOX_EEXIST);
    fake.name = "fake";
    fake.classify = fake_classify;
    fake.describe = fake_describe;
    assert_int_equal(vox_gpu_register(&fake), 0);
    assert_int_equal(vox_gpu_create("fake", &g, &d), 0);
    assert_string_equal(vox_gpu_device_info(g), "fake: always fails");
    assert_int_equal(vox_gpu_classify(g, &p, 1, &kind, &d), VOX_EIO);
    assert_string_equal(d.text, "fake device lost");
    vox_gpu_stats(g, &s);
    assert_int_equal(s.batches, 0);
    vox_gpu_destroy(g);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest contract[] = {
        cmocka_unit_test(classify_start_lines), cmocka_unit_test(classify_long_start_lines),
        cmocka_unit_test(call_id_cases),        cmocka_unit_test(siprec_invite_1400),
        cmocka_unit_test(lippycat_batch),       cmocka_unit_test(binary_packets),
        cmocka_unit_test(largest_packet),       cmocka_unit_test(block_edges),
        cmocka_unit_test(bad_arguments),        cmocka_unit_test(stats_and_info),
    };
    const struct CMUnitTest differential[] = {
        cmocka_unit_test(differential_random_batches),
    };
    const struct CMUnitTest registry[] = {
        cmocka_unit_test(registry_char_classes),   cmocka_unit_test(registry_unknown_name),
        cmocka_unit_test(registry_lists_backends), cmocka_unit_test(registry_cuda_and_auto),
        cmocka_unit_test(registry_custom_backend),
    };

    vox_process_prepare(argv);
    if (argc == 3 && strcmp(argv[1], "--backend") == 0) {
        struct vox_diag d = {{0}};
        char title[64];
        int rc;

        spec = argv[2];
        rc = open_spec(spec, &gpu, &d);
        if (rc == VOX_EBACKEND_LOAD || rc == VOX_ENOSYS) {
            printf("gpu backend %s does not run here, skipped: %s\n", spec, d.text);
            return EXIT_SKIP;
        }
        if (rc) {
            fprintf(stderr, "gpu backend %s: %s: %s\n", spec, vox_err_name(rc), d.text);
            return 1;
        }
        printf("%s\n", vox_gpu_device_info(gpu));
        snprintf(title, sizeof(title), "gpu contract: %s", spec);
        rc = _cmocka_run_group_tests(title, contract, sizeof(contract) / sizeof(contract[0]), NULL,
                                     NULL);
        vox_gpu_destroy(gpu);
        return rc;
    }
    if (argc == 2 && strcmp(argv[1], "--differential") == 0)
        return cmocka_run_group_tests_name("gpu differential", differential, diff_setup,
                                           diff_teardown);
    if (argc == 2 && strcmp(argv[1], "--registry") == 0)
        return cmocka_run_group_tests_name("gpu registry", registry, NULL, NULL);
    fprintf(stderr, "usage: %s --backend NAME[/LEVEL] | --differential | --registry\n", argv[0]);
    return 2;
}
