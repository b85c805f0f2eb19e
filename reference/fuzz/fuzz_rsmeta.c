/* SPDX-License-Identifier: MIT */
/* libFuzzer target: recording metadata (vox_rsmeta_parse, merge, JSON) and the SIPREC offer
 * extractor, fed the input as an XML document, as the metadata part of a multipart INVITE, as a
 * metadata-only UPDATE, as a whole multipart body and as a Cisco NBR header; abort() on any
 * inconsistency of the model. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vox/rsmeta.h"
#include "vox/sip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_rsmeta: check failed at line %d: %s\n", __LINE__, #cond);        \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* A fixed-size field must hold a NUL within its bounds. */
#define TERMINATED(field) CHECK(memchr((field), 0, sizeof(field)) != NULL)

static void check_list(const int *list, size_t n, size_t nstreams)
{
    size_t i, j;

    CHECK(n <= VOX_RSMETA_MAX_STREAMS);
    for (i = 0; i < n; i++) {
        CHECK(list[i] >= 0 && (size_t)list[i] < nstreams);
        for (j = 0; j < i; j++)
            CHECK(list[i] != list[j]);
    }
}

/* Every invariant a consumer relies on; with_json: also print it as JSON. */
static void check_meta(const struct vox_rsmeta *m, int with_json)
{
    size_t i, j;

    CHECK(m->dialect >= VOX_RSMETA_NONE && m->dialect <= VOX_RSMETA_CISCO_NBR);
    CHECK(strcmp(vox_rsmeta_dialect_name(m->dialect), "none") != 0 ||
          m->dialect == VOX_RSMETA_NONE);
    TERMINATED(m->session_id);
    TERMINATED(m->group_id);
    TERMINATED(m->sip_call_id);
    TERMINATED(m->from);
    TERMINATED(m->to);
    TERMINATED(m->state);
    CHECK(m->nparticipants <= VOX_RSMETA_MAX_PARTICIPANTS);
    CHECK(m->nstreams <= VOX_RSMETA_MAX_STREAMS);
    for (i = 0; i < m->nparticipants; i++) {
        const struct vox_rsmeta_participant *p = &m->participants[i];

        TERMINATED(p->id);
        TERMINATED(p->name);
        CHECK(p->naor <= VOX_RSMETA_MAX_AORS);
        for (j = 0; j < p->naor; j++) {
            TERMINATED(p->aor[j]);
            CHECK(p->aor[j][0] != 0);
        }
        check_list(p->send, p->nsend, m->nstreams);
        check_list(p->recv, p->nrecv, m->nstreams);
        CHECK(p->start_unix_ms >= -1 && p->stop_unix_ms >= -1);
        /* ids are unique when not empty */
        for (j = 0; j < i; j++)
            CHECK(!p->id[0] || strcmp(p->id, m->participants[j].id) != 0);
    }
    for (i = 0; i < m->nstreams; i++) {
        const struct vox_rsmeta_stream *s = &m->streams[i];
        const struct vox_rsmeta_stream *byl;
        const struct vox_rsmeta_participant *snd;

        TERMINATED(s->id);
        TERMINATED(s->label);
        TERMINATED(s->session_id);
        CHECK(s->sender >= -1 && s->sender < (int)m->nparticipants);
        snd = vox_rsmeta_stream_sender(m, s);
        CHECK((snd == NULL) == (s->sender < 0));
        if (snd) {
            /* the sender lists the stream, and no earlier participant does */
            int found = 0;

            for (j = 0; j < snd->nsend; j++)
                found |= snd->send[j] == (int)i;
            CHECK(found);
            for (j = 0; j < (size_t)s->sender; j++) {
                size_t k;

                for (k = 0; k < m->participants[j].nsend; k++)
                    CHECK(m->participants[j].send[k] != (int)i);
            }
        }
        byl = vox_rsmeta_stream_by_label(m, vox_str_c(s->label));
        CHECK(s->label[0] ? byl && strcmp(byl->label, s->label) == 0 && byl <= s : !byl);
        for (j = 0; j < i; j++)
            CHECK(!s->id[0] || strcmp(s->id, m->streams[j].id) != 0);
    }
    if (with_json) {
        char *js = vox_rsmeta_json(m);

        /* NULL only on ENOMEM, which the fuzzer does not inject */
        CHECK(js != NULL);
        CHECK(js[0] == '{' && js[strlen(js) - 1] == '}');
        free(js);
    }
}

/* Merging keeps the invariants, in both directions and with itself as a partial update. */
static void check_merge(const struct vox_rsmeta *m)
{
    static struct vox_rsmeta base, upd;
    int rc, ids = 1;
    size_t i;

    for (i = 0; i < m->nparticipants; i++)
        ids &= m->participants[i].id[0] != 0;
    for (i = 0; i < m->nstreams; i++)
        ids &= m->streams[i].id[0] != 0;
    memcpy(&base, m, sizeof(base));
    memcpy(&upd, m, sizeof(upd));
    snprintf(upd.state, sizeof(upd.state), "partial");
    rc = vox_rsmeta_merge(&base, &upd);
    CHECK(rc == 0 || (!ids && rc == VOX_ELIMIT));
    if (ids) /* merging a model whose items all have ids into itself adds nothing */
        CHECK(base.nparticipants == m->nparticipants && base.nstreams == m->nstreams);
    check_meta(&base, 0);
    memset(&base, 0, sizeof(base));
    rc = vox_rsmeta_merge(&base, &upd);
    CHECK(rc == 0 || rc == VOX_ELIMIT);
    check_meta(&base, 0);
    rc = vox_rsmeta_merge(&base, m);
    CHECK(rc == 0 || rc == VOX_ELIMIT);
    check_meta(&base, 0);
}

static const char *g_buf;
static size_t g_len;

/* A view must be empty or lie inside the message. */
static void in_msg(struct vox_str s)
{
    if (!s.len)
        return;
    CHECK(s.p >= g_buf && s.p + s.len <= g_buf + g_len);
}

static void run_offer(const char *buf, size_t len)
{
    static struct vox_sip_msg msg;
    static struct vox_siprec_offer offer;
    struct vox_diag d;
    int rc;

    if (vox_sip_parse(buf, len, &msg, NULL) != 0)
        return;
    g_buf = buf;
    g_len = len;
    rc = vox_siprec_offer_parse(&msg, &offer, &d);
    CHECK(rc == 0 || rc == VOX_EMALFORMED);
    CHECK(memchr(d.text, 0, sizeof(d.text)) != NULL);
    if (rc != 0)
        return;
    in_msg(offer.sdp);
    in_msg(offer.metadata);
    in_msg(offer.metadata_type);
    CHECK(offer.is_recording || (!offer.metadata.len && !offer.has_meta));
    if (offer.has_meta)
        check_meta(&offer.meta, 0);
    else
        CHECK(offer.meta.nparticipants == 0 && offer.meta.nstreams == 0);
}

static const char sip_head[] = "INVITE sip:srs@192.0.2.9 SIP/2.0\r\n"
                               "Via: SIP/2.0/TCP 192.0.2.1;branch=z9hG4bKfz\r\n"
                               "From: <sip:src@192.0.2.1>;tag=1\r\n"
                               "To: <sip:srs@192.0.2.9>\r\n"
                               "Call-ID: fz@192.0.2.1\r\n"
                               "CSeq: 1 INVITE\r\n"
                               "Contact: <sip:src@192.0.2.1>;+sip.src\r\n"
                               "Require: siprec\r\n";
static const char sdp[] = "v=0\r\n"
                          "o=- 1 1 IN IP4 192.0.2.1\r\n"
                          "s=-\r\n"
                          "c=IN IP4 192.0.2.1\r\n"
                          "t=0 0\r\n"
                          "m=audio 4000 RTP/AVP 0\r\n"
                          "a=label:1\r\n"
                          "m=audio 4002 RTP/AVP 0\r\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct vox_rsmeta m;
    static char buf[VOX_SIP_MAX_MSG_BYTES], body[VOX_SIP_MAX_MSG_BYTES];
    const char *xml = (const char *)data;
    struct vox_diag d;
    size_t n, line;
    int rc;

    /* the document itself */
    rc = vox_rsmeta_parse(xml, size, &m, &d);
    CHECK(rc == 0 || rc == VOX_EMALFORMED || rc == VOX_ELIMIT);
    if (rc == 0) {
        CHECK(m.dialect >= VOX_RSMETA_RFC7865 && m.dialect <= VOX_RSMETA_SONUS);
        check_meta(&m, 1);
        check_merge(&m);
    } else {
        CHECK(d.text[0] != 0 && memchr(d.text, 0, sizeof(d.text)) != NULL);
        CHECK(m.nparticipants == 0 && m.nstreams == 0 && m.dialect == VOX_RSMETA_NONE);
    }
    if (size > sizeof(buf) - 1024)
        return 0;

    /* as the metadata part of a multipart INVITE */
    n = (size_t)snprintf(body, sizeof(body),
                         "--fz-b\r\nContent-Type: application/sdp\r\n\r\n%s"
                         "--fz-b\r\nContent-Type: application/rs-metadata+xml\r\n"
                         "Content-Disposition: recording-session\r\n\r\n",
                         sdp);
    memcpy(body + n, data, size);
    n += size;
    memcpy(body + n, "\r\n--fz-b--\r\n", 12);
    n += 12;
    line = (size_t)snprintf(buf, sizeof(buf),
                            "%sContent-Type: multipart/mixed;boundary=fz-b\r\n"
                            "Content-Length: %zu\r\n\r\n",
                            sip_head, n);
    memcpy(buf + line, body, n);
    run_offer(buf, line + n);

    /* as a metadata-only request (RFC 7866 §9.1) */
    n = (size_t)snprintf(buf, sizeof(buf),
                         "%sContent-Type: application/rs-metadata\r\nContent-Length: %zu\r\n\r\n",
                         sip_head, size);
    memcpy(buf + n, data, size);
    run_offer(buf, n + size);

    /* as a whole multipart body, so that mutations reach part headers and delimiters */
    n = (size_t)snprintf(buf, sizeof(buf),
                         "%sContent-Type: multipart/mixed;boundary=fz-b\r\n"
                         "Content-Length: %zu\r\n\r\n",
                         sip_head, size);
    memcpy(buf + n, data, size);
    run_offer(buf, n + size);

    /* its first line as a Cisco NBR participant header, with a bare SDP */
    for (line = 0;
         line < size && line < 300 && data[line] != '\n' && data[line] != '\r' && data[line] != 0;
         line++)
        ;
    n = (size_t)snprintf(buf, sizeof(buf),
                         "%sX-Cisco-Recording-Participant: %.*s\r\n"
                         "X-Cisco-Recording-Participant: sip:b@h;media-index=\"1\"\r\n"
                         "Cisco-Guid: %.*s\r\n"
                         "Content-Type: application/sdp\r\nContent-Length: %zu\r\n\r\n%s",
                         sip_head, (int)line, xml, (int)line, xml, strlen(sdp), sdp);
    if (n < sizeof(buf))
        run_offer(buf, n);
    return 0;
}
