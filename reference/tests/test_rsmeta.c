/* SPDX-License-Identifier: MIT */
/* Recording metadata (RFC 7865) and SIPREC offers (RFC 7866): one conformance test per vendor
 * INVITE in scenarios/siprec/invites/, merging of updates, tolerance of odd metadata, hostile
 * XML, and the JSON form read back with jansson. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <pthread.h>

#include "test_util.h"
#include "vox/rsmeta.h"
#include "vox/sdp.h"
#include "vox/sip.h"

#ifndef VOX_SCENARIOS_DIR
#error "VOX_SCENARIOS_DIR must name the scenarios/ directory"
#endif

/* ---- helpers --------------------------------------------------------------------------------- */

/* Large objects live here, not on the stack. */
static char file_buf[VOX_SIP_MAX_MSG_BYTES];
static size_t file_len;
static struct vox_sip_msg msg;
static struct vox_siprec_offer offer;
static struct vox_sdp sdp;
static struct vox_rsmeta meta, meta2;

/* Reads scenarios/siprec/invites/<name>, checks that it is a well-formed SIP request with CRLF
 * line endings and an exact Content-Length, parses it into msg and its recording offer into
 * offer (which must succeed). */
static void load_offer(const char *name)
{
    char path[512];
    struct vox_diag d = {{0}};
    size_t i, cl = 0;
    int rc;

    snprintf(path, sizeof(path), "%s/siprec/invites/%s", VOX_SCENARIOS_DIR, name);
    file_len = vox_test_read_file(path, file_buf, sizeof(file_buf));
    assert_true(file_len > 0 && file_len <= sizeof(file_buf));
    for (i = 0; i < file_len; i++)
        if (file_buf[i] == '\n' && (i == 0 || file_buf[i - 1] != '\r'))
            fail_msg("%s: bare LF at byte %zu (samples travel with CRLF)", name, i);
    rc = vox_sip_parse(file_buf, file_len, &msg, &d);
    if (rc != 0)
        fail_msg("%s: vox_sip_parse gave %s: %s", name, vox_err_name(rc), d.text);
    assert_true(msg.is_request);
    assert_int_equal(msg.warnings & (VOX_SIP_WARN_LF_ONLY | VOX_SIP_WARN_TRAILING_BYTES), 0);
    assert_int_equal(vox_sip_get_content_length(&msg, &cl), 0);
    assert_int_equal(cl, msg.body.len);
    assert_int_equal(msg.msg_bytes, file_len); /* Content-Length covers the body exactly */
    rc = vox_sip_validate(&msg, &d);
    if (rc != 0)
        fail_msg("%s: vox_sip_validate gave %s: %s", name, vox_err_name(rc), d.text);
    rc = vox_siprec_offer_parse(&msg, &offer, &d);
    if (rc != 0)
        fail_msg("%s: vox_siprec_offer_parse gave %s: %s", name, vox_err_name(rc), d.text);
}

/* Parses the offer's SDP and checks that every m= line maps, through its label, to a stream of
 * the metadata with a known sender. Returns the number of m= lines. */
static size_t assert_every_label_has_sender(void)
{
    struct vox_diag d = {{0}};
    size_t i;

    assert_true(offer.sdp.len > 0);
    if (vox_sdp_parse(offer.sdp.p, offer.sdp.len, &sdp, &d) != 0)
        fail_msg("SDP does not parse: %s", d.text);
    for (i = 0; i < sdp.nmedia; i++) {
        const struct vox_rsmeta_stream *s =
            vox_rsmeta_stream_by_label(&offer.meta, sdp.media[i].label);

        if (!s)
            fail_msg("m= line %zu: label '%.*s' has no stream in the metadata", i,
                     (int)sdp.media[i].label.len, sdp.media[i].label.p);
        if (!vox_rsmeta_stream_sender(&offer.meta, s))
            fail_msg("m= line %zu: label '%s' has no sender", i, s->label);
    }
    return sdp.nmedia;
}

/* The participant that sends the stream labelled `label` in m (fails when there is none). */
static const struct vox_rsmeta_participant *sender_of(const struct vox_rsmeta *m, const char *label)
{
    const struct vox_rsmeta_stream *s = vox_rsmeta_stream_by_label(m, vox_str_c(label));
    const struct vox_rsmeta_participant *p;

    if (!s)
        fail_msg("no stream labelled '%s'", label);
    p = vox_rsmeta_stream_sender(m, s);
    if (!p)
        fail_msg("stream '%s' has no sender", label);
    return p;
}

static const struct vox_rsmeta_participant *participant(const struct vox_rsmeta *m, const char *id)
{
    size_t i;

    for (i = 0; i < m->nparticipants; i++)
        if (strcmp(m->participants[i].id, id) == 0)
            return &m->participants[i];
    fail_msg("no participant '%s'", id);
    return NULL;
}

/* Parses `xml` (NUL-terminated) into *m and asserts the result. */
static void parse_xml(const char *xml, struct vox_rsmeta *m, int want)
{
    struct vox_diag d = {{0}};
    int rc = vox_rsmeta_parse(xml, strlen(xml), m, &d);

    if (rc != want)
        fail_msg("vox_rsmeta_parse gave %s, wanted %s; diag: %s", vox_err_name(rc),
                 vox_err_name(want), d.text);
    if (rc)
        assert_true(d.text[0] != 0);
}

/* ---- one test per vendor sample ------------------------------------------------------------- */

static void invite_rfc7865(void **st)
{
    const struct vox_rsmeta_participant *carol, *dave;
    const struct vox_rsmeta *m = &offer.meta;

    (void)st;
    load_offer("rfc7865.sip");
    assert_true(offer.require_siprec);
    assert_false(offer.supported_siprec);
    assert_true(offer.contact_src);
    assert_true(offer.is_recording);
    assert_int_equal(offer.nparts, 2);
    vox_test_assert_str(offer.metadata_type, "application/rs-metadata+xml");
    assert_true(offer.has_meta);
    assert_int_equal(m->dialect, VOX_RSMETA_RFC7865);
    assert_string_equal(vox_rsmeta_dialect_name(m->dialect), "rfc7865");
    assert_int_equal(m->warnings, 0);
    assert_string_equal(m->state, "complete");
    assert_string_equal(m->session_id, "c2Vzc2lvbi03ZjNhOTE=");
    assert_string_equal(m->group_id, "Z3JvdXAtMjAyNi0xMS0yMy0wMQ==");
    assert_string_equal(m->sip_call_id,
                        "ab30317f1a784dc48ff824d0d3715d86;remote=47755a9de7794ba387653f2099600ef2");
    assert_int_equal(m->nparticipants, 2);
    assert_int_equal(m->nstreams, 2);
    carol = participant(m, "cGFydC1jYXJvbC0wMQ==");
    dave = participant(m, "cGFydC1kYXZlLTAy");
    assert_string_equal(carol->name, "Carol Agent");
    assert_int_equal(carol->naor, 2);
    assert_string_equal(carol->aor[0], "sip:carol@pbx.example.com");
    assert_string_equal(carol->aor[1], "tel:+15551230101");
    assert_string_equal(dave->name, "Dave Customer");
    assert_string_equal(dave->aor[0], "sip:+15557654321@carrier.example.net");
    assert_int_equal(carol->start_unix_ms, 1795425302250LL);
    assert_int_equal(carol->stop_unix_ms, -1);
    assert_ptr_equal(sender_of(m, "1"), carol);
    assert_ptr_equal(sender_of(m, "2"), dave);
    assert_int_equal(carol->nrecv, 1);
    assert_string_equal(m->streams[carol->recv[0]].label, "2");
    assert_string_equal(m->streams[0].session_id, "c2Vzc2lvbi03ZjNhOTE=");
    assert_int_equal(assert_every_label_has_sender(), 2);
}

static void invite_string_labels(void **st)
{
    const struct vox_rsmeta *m = &offer.meta;

    (void)st;
    load_offer("string_labels.sip");
    /* RFC 7866's own spelling, without +xml */
    vox_test_assert_str(offer.metadata_type, "application/rs-metadata");
    assert_true(offer.has_meta);
    /* <send>/<recv> inside <participant> under the RFC namespace stays RFC 7865 */
    assert_int_equal(m->dialect, VOX_RSMETA_RFC7865);
    assert_int_equal(m->warnings, 0);
    assert_string_equal(sender_of(m, "a_leg")->name, "+442071838750");
    assert_string_equal(sender_of(m, "b_leg")->name, "Helpdesk Queue");
    assert_string_equal(sender_of(m, "b_leg")->aor[0], "sip:helpdesk@voice.example.com");
    assert_null(vox_rsmeta_stream_by_label(m, vox_str_c("a_le")));
    assert_null(vox_rsmeta_stream_by_label(m, vox_str_c("")));
    assert_int_equal(assert_every_label_has_sender(), 2);
}

static void invite_oracle_acme_draft(void **st)
{
    const struct vox_rsmeta *m = &offer.meta;
    const struct vox_rsmeta_participant *caller;

    (void)st;
    load_offer("oracle_acme_draft.sip");
    assert_true(offer.require_siprec && offer.contact_src);
    assert_int_equal(m->dialect, VOX_RSMETA_DRAFT);
    assert_string_equal(vox_rsmeta_dialect_name(m->dialect), "draft");
    assert_int_equal(m->warnings, 0);
    assert_string_equal(m->session_id, "qk3TJ7vQTf2m8Yx1c0aVbw==");
    assert_int_equal(m->nparticipants, 2);
    assert_int_equal(m->nstreams, 2);
    /* numeric labels of 8 digits, <send> inside <participant id=...> */
    caller = sender_of(m, "16777227");
    assert_string_equal(caller->id, "Tq0h4m2fQ6uRz9Wb3kLx7A==");
    assert_string_equal(caller->name, "4105");
    assert_string_equal(caller->aor[0], "sip:4105@203.0.113.17");
    assert_int_equal(caller->start_unix_ms, 1795432805000LL); /* no zone: UTC */
    assert_string_equal(sender_of(m, "16777228")->name, "+13125550188");
    assert_string_equal(m->streams[0].session_id, "qk3TJ7vQTf2m8Yx1c0aVbw==");
    assert_int_equal(assert_every_label_has_sender(), 2);
}

static void invite_metaswitch_draft(void **st)
{
    const struct vox_rsmeta *m = &offer.meta;

    (void)st;
    load_offer("metaswitch_draft.sip");
    assert_true(offer.require_siprec && offer.supported_siprec && offer.contact_src);
    vox_test_assert_str(offer.metadata_type, "application/rs-metadata");
    assert_int_equal(m->dialect, VOX_RSMETA_DRAFT); /* namespace without ":1" */
    assert_int_equal(m->warnings, 0);
    assert_string_equal(m->session_id, "mSx3r2B1EfGz9wKc4NnRtA==");
    /* one mixed stream that both parties send: the first is the sender, both list it */
    assert_int_equal(m->nstreams, 1);
    assert_int_equal(m->nparticipants, 2);
    assert_string_equal(sender_of(m, "1")->aor[0], "6175550142");
    assert_int_equal(m->participants[1].nsend, 1);
    assert_int_equal(m->participants[1].send[0], 0);
    assert_int_equal(m->participants[1].nrecv, 1);
    assert_int_equal(m->participants[1].start_unix_ms, 1795437633000LL);
    assert_int_equal(assert_every_label_has_sender(), 1);
}

static void invite_broadworks(void **st)
{
    const struct vox_rsmeta *m = &offer.meta;

    (void)st;
    load_offer("broadworks.sip");
    /* BroadWorks writes ";src", not "+sip.src", and no Require: the metadata part says it */
    assert_false(offer.contact_src);
    assert_false(offer.require_siprec);
    assert_true(offer.is_recording);
    assert_int_equal(offer.nparts, 2);
    assert_true(offer.has_meta);
    assert_int_equal(m->dialect, VOX_RSMETA_BROADWORKS);
    assert_string_equal(vox_rsmeta_dialect_name(m->dialect), "broadworks");
    assert_int_equal(m->warnings, 0);
    assert_string_equal(m->state, "complete");
    assert_string_equal(m->session_id, "urn:uuid:c2e4a6b8-1d3f-4a5c-8e7b-9f0a1b2c3d4e");
    assert_string_equal(m->group_id, "urn:uuid:8a0d4c6e-2f1b-47d3-9e5a-6b7c8d9e0f12");
    assert_int_equal(m->nparticipants, 2);
    assert_int_equal(m->nstreams, 1);
    assert_string_equal(m->participants[0].aor[0], "sip:2405551001@voice.example.net");
    assert_string_equal(m->participants[1].aor[0], "sip:+13015550177@198.51.100.133;user=phone");
    /* <send><id>..</id></send>: one mixed stream, both parties send it */
    assert_string_equal(sender_of(m, "1")->name, "Front Desk");
    assert_int_equal(m->participants[1].nsend, 1);
    assert_int_equal(assert_every_label_has_sender(), 1);
}

static void invite_sonus(void **st)
{
    const struct vox_rsmeta *m = &offer.meta;

    (void)st;
    load_offer("sonus_ribbon.sip");
    assert_int_equal(m->dialect, VOX_RSMETA_SONUS);
    assert_string_equal(vox_rsmeta_dialect_name(m->dialect), "sonus");
    assert_int_equal(m->warnings, 0);
    /* callData gives the recorded call's identity */
    assert_string_equal(m->sip_call_id, "7c1e5f3a-9b2d-11ef-a4c6-00505691f2e3");
    assert_string_equal(m->from, "\"Sales Line\" <sip:8475550100@192.0.2.60>;tag=gK0a3f12c7");
    assert_string_equal(m->to, "<sip:8475550123@192.0.2.61>;tag=SDh7e1r01-74a2");
    assert_string_equal(m->group_id, "NTgxMjIwLWdycC0xMQ==");
    assert_string_equal(m->session_id, "NTgxMjIwLXNlcy0xMg==");
    assert_int_equal(m->nparticipants, 2);
    assert_string_equal(m->participants[0].aor[0], "8475550100@192.0.2.60");
    assert_string_equal(m->participants[1].name, ""); /* a blank <name> */
    /* the caller sends label 2 here: the mapping must come from the metadata, not the order */
    assert_string_equal(sender_of(m, "2")->name, "Sales Line");
    assert_string_equal(sender_of(m, "1")->id, "NTgxMjIwLXBhci0xNA==");
    assert_int_equal(assert_every_label_has_sender(), 2);
}

static void invite_cisco_nbr(void **st)
{
    const struct vox_rsmeta *m = &offer.meta;
    const struct vox_rsmeta_participant *p;

    (void)st;
    load_offer("cisco_cube_nbr.sip");
    assert_false(offer.require_siprec || offer.supported_siprec || offer.contact_src);
    assert_true(offer.is_recording); /* from the X-Cisco-Recording-Participant headers */
    assert_int_equal(offer.nparts, 0);
    assert_int_equal(offer.metadata.len, 0);
    assert_ptr_equal(offer.sdp.p, msg.body.p);
    assert_true(offer.has_meta);
    assert_int_equal(m->dialect, VOX_RSMETA_CISCO_NBR);
    assert_string_equal(vox_rsmeta_dialect_name(m->dialect), "cisco-nbr");
    assert_int_equal(m->warnings, 0);
    assert_string_equal(m->session_id, "1847391234-2387612143-2319840385-1329983721");
    assert_string_equal(m->sip_call_id, "6E1B7C3A-8D2F11EF-8A39B5C1-4F27D0E9@198.51.100.9");
    assert_int_equal(m->nparticipants, 2);
    assert_int_equal(m->nstreams, 2);
    /* no a=label: media-index N is the stream of m= line N, labelled "N" */
    p = sender_of(m, "0");
    assert_string_equal(p->name, "Maria Lopez");
    assert_string_equal(p->aor[0], "sip:+12065550111@198.51.100.9");
    p = sender_of(m, "1");
    assert_string_equal(p->aor[0], "sip:3055@cucm.example.com");
    assert_string_equal(p->name, "");
    assert_string_equal(m->streams[1].id, "media-index-1");
    assert_int_equal(vox_sdp_parse(offer.sdp.p, offer.sdp.len, &sdp, NULL), 0);
    assert_int_equal(sdp.nmedia, 2);
}

static void invite_cisco_siprec_three_parts(void **st)
{
    const struct vox_rsmeta *m = &offer.meta;

    (void)st;
    load_offer("cisco_cube_siprec.sip");
    assert_int_equal(offer.nparts, 3); /* sdp, rs-metadata, application/gtd */
    assert_true(offer.require_siprec && offer.contact_src);
    vox_test_assert_str(offer.metadata_type, "application/rs-metadata+xml");
    assert_int_equal(m->dialect, VOX_RSMETA_RFC7865);
    assert_int_equal(m->warnings, 0);
    assert_string_equal(m->session_id, "2tWq9JtBEe+8gJ4+lQp3Gw==");
    assert_int_equal(m->nparticipants, 2);
    assert_string_equal(sender_of(m, "1")->aor[0], "sip:+12065550111@198.51.100.9");
    assert_string_equal(sender_of(m, "1")->name, "");
    assert_string_equal(sender_of(m, "2")->name, "3055");
    assert_int_equal(assert_every_label_has_sender(), 2);
    /* the gtd part is not mistaken for the SDP or the metadata */
    assert_null(memmem(offer.sdp.p, offer.sdp.len, "IAM,", 4));
    assert_null(memmem(offer.metadata.p, offer.metadata.len, "IAM,", 4));
}

static void invite_avaya_and_metadata_only_update(void **st)
{
    const struct vox_rsmeta_stream *s;

    (void)st;
    load_offer("avaya_sbce.sip");
    assert_true(offer.require_siprec);
    assert_true(offer.contact_src); /* written inside the URI: <sip:..;transport=tls;+sip.src> */
    assert_int_equal(offer.meta.dialect, VOX_RSMETA_RFC7865);
    assert_string_equal(offer.meta.state, "complete"); /* <dataMode>, camelCase */
    /* Avaya's placeholder party: an empty participantstreamassoc and stream_id="" */
    assert_int_equal(offer.meta.warnings, VOX_RSMETA_WARN_NO_ID);
    assert_int_equal(offer.meta.nparticipants, 2);
    assert_int_equal(offer.meta.nstreams, 2);
    assert_string_equal(sender_of(&offer.meta, "10")->aor[0], "sip:3035550142@203.0.113.44");
    s = vox_rsmeta_stream_by_label(&offer.meta, vox_str_c("20"));
    assert_non_null(s);
    assert_null(vox_rsmeta_stream_sender(&offer.meta, s));
    assert_true(offer.meta.participants[1].has_assoc);
    assert_int_equal(offer.meta.participants[1].nsend, 0);
    memcpy(&meta, &offer.meta, sizeof(meta));

    /* RFC 7866 §9.1: metadata-only UPDATE, application/rs-metadata, no multipart, no SDP */
    load_offer("avaya_sbce_update.sip");
    assert_int_equal(msg.method_id, VOX_SIP_METHOD_UPDATE);
    assert_int_equal(offer.sdp.len, 0);
    assert_int_equal(offer.nparts, 0);
    vox_test_assert_str(offer.metadata_type, "application/rs-metadata");
    assert_ptr_equal(offer.metadata.p, msg.body.p);
    assert_true(offer.has_meta && offer.is_recording);
    assert_int_equal(offer.meta.warnings, 0);
    assert_string_equal(sender_of(&offer.meta, "20")->aor[0], "sip:7205550160@203.0.113.32");
    assert_int_equal(sender_of(&offer.meta, "20")->start_unix_ms, 1795449741000LL);

    /* a complete snapshot replaces: the placeholder party is gone, label 20 has its sender */
    assert_int_equal(vox_rsmeta_merge(&meta, &offer.meta), 0);
    assert_int_equal(meta.nparticipants, 2);
    assert_string_equal(sender_of(&meta, "20")->aor[0], "sip:7205550160@203.0.113.32");
    assert_string_equal(sender_of(&meta, "10")->aor[0], "sip:3035550142@203.0.113.44");
    assert_int_equal(meta.warnings, 0);
}

/* ---- offers that are not (quite) SIPREC ----------------------------------------------------- */

static const char plain_sdp[] = "v=0\r\n"
                                "o=- 1 1 IN IP4 192.0.2.1\r\n"
                                "s=-\r\n"
                                "c=IN IP4 192.0.2.1\r\n"
                                "t=0 0\r\n"
                                "m=audio 4000 RTP/AVP 0\r\n"
                                "a=label:1\r\n";

/* Builds an INVITE with these extra headers and body into file_buf and parses it into msg. */
static void build_invite(const char *extra_headers, const char *content_type, const char *body)
{
    struct vox_diag d = {{0}};
    int n = snprintf(file_buf, sizeof(file_buf),
                     "INVITE sip:srs@192.0.2.9 SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKt1\r\n"
                     "From: <sip:src@192.0.2.1>;tag=1\r\n"
                     "To: <sip:srs@192.0.2.9>\r\n"
                     "Call-ID: t1@192.0.2.1\r\n"
                     "CSeq: 1 INVITE\r\n"
                     "Max-Forwards: 70\r\n"
                     "%s"
                     "Content-Type: %s\r\n"
                     "Content-Length: %zu\r\n"
                     "\r\n"
                     "%s",
                     extra_headers, content_type, strlen(body), body);

    assert_true(n > 0 && (size_t)n < sizeof(file_buf));
    file_len = (size_t)n;
    if (vox_sip_parse(file_buf, file_len, &msg, &d) != 0)
        fail_msg("test INVITE does not parse: %s", d.text);
}

static void offer_edge_cases(void **st)
{
    struct vox_diag d = {{0}};
    char body[2048];

    (void)st;
    /* an ordinary call: nothing says recording */
    build_invite("", "application/sdp", plain_sdp);
    assert_int_equal(vox_siprec_offer_parse(&msg, &offer, &d), 0);
    assert_false(offer.is_recording);
    assert_false(offer.has_meta);
    assert_int_equal(offer.sdp.len, strlen(plain_sdp));
    assert_int_equal(offer.meta.dialect, VOX_RSMETA_NONE);

    /* broken metadata must not stop the recording: has_meta 0 and a warning */
    snprintf(body, sizeof(body),
             "--b1\r\nContent-Type: application/sdp\r\n\r\n%s"
             "--b1\r\nContent-Type: application/rs-metadata+xml\r\n\r\n"
             "<recording xmlns='urn:ietf:params:xml:ns:recording:1'><session>\r\n"
             "--b1--\r\n",
             plain_sdp);
    build_invite("Require: siprec\r\n", "multipart/mixed;boundary=b1", body);
    assert_int_equal(vox_siprec_offer_parse(&msg, &offer, &d), 0);
    assert_true(offer.is_recording);
    assert_false(offer.has_meta);
    assert_true(offer.sdp.len > 0);
    assert_true(offer.metadata.len > 0);
    assert_int_equal(offer.meta.warnings, VOX_RSMETA_WARN_BAD_XML);
    assert_non_null(strstr(d.text, "metadata"));

    /* no closing delimiter: tolerated, flagged */
    snprintf(body, sizeof(body),
             "--b1\r\nContent-Type: application/sdp\r\n\r\n%s"
             "--b1\r\nContent-Type: application/rs-metadata+xml\r\n\r\n"
             "<recording xmlns='urn:ietf:params:xml:ns:recording:1'>"
             "<datamode>complete</datamode></recording>\r\n",
             plain_sdp);
    build_invite("Require: siprec\r\n", "multipart/mixed;boundary=b1", body);
    assert_int_equal(vox_siprec_offer_parse(&msg, &offer, &d), 0);
    assert_true(offer.has_meta);
    assert_int_equal(offer.meta.warnings, VOX_RSMETA_WARN_BODY);

    /* a metadata part found by its Content-Disposition alone */
    snprintf(body, sizeof(body),
             "--b1\r\nContent-Type: application/sdp\r\n\r\n%s"
             "--b1\r\nContent-Type: application/xml\r\nContent-Disposition: recording-session\r\n"
             "\r\n<recording xmlns='urn:ietf:params:xml:ns:recording:1'>"
             "<datamode>complete</datamode></recording>\r\n--b1--\r\n",
             plain_sdp);
    build_invite("", "multipart/mixed;boundary=b1", body);
    assert_int_equal(vox_siprec_offer_parse(&msg, &offer, &d), 0);
    assert_true(offer.has_meta && offer.is_recording);
    vox_test_assert_str(offer.metadata_type, "application/xml");

    /* ... even without any Content-Type: no type to show, still metadata */
    snprintf(body, sizeof(body),
             "--b1\r\nContent-Type: application/sdp\r\n\r\n%s"
             "--b1\r\nContent-Disposition: recording-session\r\n"
             "\r\n<recording xmlns='urn:ietf:params:xml:ns:recording:1'>"
             "<datamode>complete</datamode></recording>\r\n--b1--\r\n",
             plain_sdp);
    build_invite("", "multipart/mixed;boundary=b1", body);
    assert_int_equal(vox_siprec_offer_parse(&msg, &offer, &d), 0);
    assert_true(offer.has_meta);
    assert_int_equal(offer.metadata_type.len, 0);
    assert_null(offer.metadata_type.p);

    /* a multipart body that is broken beyond use */
    build_invite("Require: siprec\r\n", "multipart/mixed;boundary=nothere", plain_sdp);
    assert_int_equal(vox_siprec_offer_parse(&msg, &offer, &d), VOX_EMALFORMED);
    assert_non_null(strstr(d.text, "multipart"));
    build_invite("Require: siprec\r\n", "multipart/mixed", plain_sdp);
    assert_int_equal(vox_siprec_offer_parse(&msg, &offer, &d), VOX_EMALFORMED);
    assert_non_null(strstr(d.text, "boundary"));
    /* a part whose headers do not parse, before any SDP */
    build_invite("", "multipart/mixed;boundary=b1",
                 "--b1\r\nContent-Type application/sdp\r\n\r\nv=0\r\n--b1--\r\n");
    assert_int_equal(vox_siprec_offer_parse(&msg, &offer, &d), VOX_EMALFORMED);
    assert_non_null(strstr(d.text, "part 0"));
    build_invite("", "/", plain_sdp);
    assert_int_equal(vox_siprec_offer_parse(&msg, &offer, &d), VOX_EMALFORMED);

    /* Cisco NBR headers that do not parse or name an index past the limit are skipped */
    build_invite("X-Cisco-Recording-Participant: <sip:a@h;media-index=\"0\"\r\n"
                 "X-Cisco-Recording-Participant: sip:b@h;media-index=\"x\"\r\n"
                 "X-Cisco-Recording-Participant: sip:c@h;media-index=\"99\"\r\n"
                 "X-Cisco-Recording-Participant: \"\xff\xfe\" <sip:d@h>;media-index=\"0\"\r\n",
                 "application/sdp", plain_sdp);
    assert_int_equal(vox_siprec_offer_parse(&msg, &offer, &d), 0);
    assert_true(offer.is_recording && offer.has_meta);
    assert_int_equal(offer.meta.nparticipants, 1);
    assert_string_equal(offer.meta.participants[0].aor[0], "sip:d@h");
    assert_string_equal(sender_of(&offer.meta, "1")->aor[0], "sip:d@h"); /* a=label:1 of m=0 */
    assert_true(offer.meta.warnings & VOX_RSMETA_WARN_BODY);
    assert_true(offer.meta.warnings & VOX_RSMETA_WARN_TOO_MANY);
    {
        /* a display name that is not UTF-8 still gives valid JSON */
        char *js = vox_rsmeta_json(&offer.meta);
        json_error_t err;
        json_t *root;

        assert_non_null(js);
        root = json_loads(js, 0, &err);
        assert_non_null(root);
        assert_string_equal(json_string_value(json_object_get(
                                json_array_get(json_object_get(root, "participants"), 0), "name")),
                            "??");
        json_decref(root);
        free(js);
    }

    assert_int_equal(vox_siprec_offer_parse(NULL, &offer, &d), VOX_EINVAL);
    assert_int_equal(vox_siprec_offer_parse(&msg, NULL, &d), VOX_EINVAL);
}

/* ---- merging updates (RFC 7865 datamode, RFC 8068-style flows) ------------------------- */

/* A partial update: a supervisor joins (new participant and stream), Dave leaves. */
static const char partial_join_leave[] =
    "<?xml version='1.0' encoding='UTF-8'?>\n"
    "<recording xmlns='urn:ietf:params:xml:ns:recording:1'>\n"
    " <datamode>partial</datamode>\n"
    " <participant participant_id='cGFydC1lcmluLTAz'>\n"
    "  <nameID aor='sip:erin@pbx.example.com'><name>Erin Supervisor</name></nameID>\n"
    " </participant>\n"
    " <stream stream_id='c3RyLWVyaW4tMDM=' session_id='c2Vzc2lvbi03ZjNhOTE='>\n"
    "  <label>3</label>\n"
    " </stream>\n"
    " <participantsessionassoc participant_id='cGFydC1lcmluLTAz'\n"
    "    session_id='c2Vzc2lvbi03ZjNhOTE='>\n"
    "  <associate-time>2026-11-23T09:20:00Z</associate-time>\n"
    " </participantsessionassoc>\n"
    " <participantsessionassoc participant_id='cGFydC1kYXZlLTAy'\n"
    "    session_id='c2Vzc2lvbi03ZjNhOTE='>\n"
    "  <disassociate-time>2026-11-23T09:25:00Z</disassociate-time>\n"
    " </participantsessionassoc>\n"
    " <participantstreamassoc participant_id='cGFydC1lcmluLTAz'>\n"
    "  <send>c3RyLWVyaW4tMDM=</send>\n"
    "  <recv>c3RyLWNhcm9sLTAx</recv>\n"
    " </participantstreamassoc>\n"
    "</recording>\n";

/* A partial update: Dave is put on hold and sends nothing. */
static const char partial_hold[] = "<recording xmlns='urn:ietf:params:xml:ns:recording:1'>\n"
                                   " <datamode>partial</datamode>\n"
                                   " <participantstreamassoc participant_id='cGFydC1kYXZlLTAy'>\n"
                                   "  <recv>c3RyLWNhcm9sLTAx</recv>\n"
                                   " </participantstreamassoc>\n"
                                   "</recording>\n";

static void merge_partial_and_snapshot(void **st)
{
    const struct vox_rsmeta_participant *erin, *dave;
    const struct vox_rsmeta_stream *s;
    size_t i;

    (void)st;
    load_offer("rfc7865.sip");
    memcpy(&meta, &offer.meta, sizeof(meta));

    /* the update names Dave and Carol's stream, defined by the earlier snapshot: placeholders,
     * and no dangling warning in a partial update */
    parse_xml(partial_join_leave, &meta2, 0);
    assert_string_equal(meta2.state, "partial");
    assert_int_equal(meta2.warnings, 0);
    assert_int_equal(meta2.nparticipants, 2);
    assert_int_equal(meta2.nstreams, 2);

    assert_int_equal(vox_rsmeta_merge(&meta, &meta2), 0);
    assert_int_equal(meta.dialect, VOX_RSMETA_RFC7865);
    assert_string_equal(meta.state, "complete");
    assert_int_equal(meta.nparticipants, 3);
    assert_int_equal(meta.nstreams, 3);
    erin = sender_of(&meta, "3");
    assert_string_equal(erin->name, "Erin Supervisor");
    assert_int_equal(erin->start_unix_ms, 1795425600000LL);
    assert_int_equal(erin->nrecv, 1);
    assert_string_equal(meta.streams[erin->recv[0]].label, "1");
    dave = participant(&meta, "cGFydC1kYXZlLTAy");
    assert_int_equal(dave->stop_unix_ms, 1795425900000LL);
    assert_int_equal(dave->start_unix_ms, 1795425302250LL); /* kept */
    assert_string_equal(dave->name, "Dave Customer");       /* kept */
    assert_ptr_equal(sender_of(&meta, "2"), dave);          /* send list kept */
    assert_string_equal(sender_of(&meta, "1")->name, "Carol Agent");
    assert_string_equal(meta.streams[0].label, "1"); /* not blanked by the placeholder */

    /* hold: Dave's stated lists replace his old ones; label 2 loses its sender */
    parse_xml(partial_hold, &meta2, 0);
    assert_int_equal(vox_rsmeta_merge(&meta, &meta2), 0);
    dave = participant(&meta, "cGFydC1kYXZlLTAy");
    assert_int_equal(dave->nsend, 0);
    assert_int_equal(dave->nrecv, 1);
    s = vox_rsmeta_stream_by_label(&meta, vox_str_c("2"));
    assert_non_null(s);
    assert_null(vox_rsmeta_stream_sender(&meta, s));

    /* a complete snapshot replaces everything */
    parse_xml("<recording xmlns='urn:ietf:params:xml:ns:recording:1'>"
              "<datamode>complete</datamode>"
              "<participant participant_id='p9'><nameID aor='sip:solo@x'/></participant>"
              "<stream stream_id='s9'><label>9</label></stream>"
              "<participantstreamassoc participant_id='p9'><send>s9</send></participantstreamassoc>"
              "</recording>",
              &meta2, 0);
    assert_int_equal(vox_rsmeta_merge(&meta, &meta2), 0);
    assert_int_equal(meta.nparticipants, 1);
    assert_int_equal(meta.nstreams, 1);
    assert_string_equal(sender_of(&meta, "9")->aor[0], "sip:solo@x");
    assert_null(vox_rsmeta_stream_by_label(&meta, vox_str_c("1")));

    /* capacity: a full base keeps what fits and says VOX_ELIMIT */
    memset(&meta, 0, sizeof(meta));
    for (i = 0; i < VOX_RSMETA_MAX_PARTICIPANTS; i++) {
        snprintf(meta.participants[i].id, sizeof(meta.participants[i].id), "full-%zu", i);
        meta.participants[i].start_unix_ms = meta.participants[i].stop_unix_ms = -1;
    }
    meta.nparticipants = VOX_RSMETA_MAX_PARTICIPANTS;
    meta.dialect = VOX_RSMETA_RFC7865;
    parse_xml(partial_join_leave, &meta2, 0);
    assert_int_equal(vox_rsmeta_merge(&meta, &meta2), VOX_ELIMIT);
    assert_int_equal(meta.nparticipants, VOX_RSMETA_MAX_PARTICIPANTS);
    assert_true(meta.warnings & VOX_RSMETA_WARN_TOO_MANY);
    assert_int_equal(meta.nstreams, 2); /* the streams still fitted */

    assert_int_equal(vox_rsmeta_merge(NULL, &meta2), VOX_EINVAL);
    assert_int_equal(vox_rsmeta_merge(&meta, NULL), VOX_EINVAL);
    assert_int_equal(vox_rsmeta_merge(&meta, &meta), 0);
}

/* ---- tolerance ------------------------------------------------------------------------------ */

static void tolerant_parsing(void **st)
{
    char big[8192];
    size_t n, i;

    (void)st;
    /* no datamode (loreste#4 refused this), no namespace at all */
    parse_xml("<recording><session session_id='s'/></recording>", &meta, 0);
    assert_int_equal(meta.warnings, VOX_RSMETA_WARN_NO_STATE | VOX_RSMETA_WARN_UNKNOWN_NS);
    assert_int_equal(meta.dialect, VOX_RSMETA_RFC7865);
    assert_string_equal(meta.session_id, "s");

    /* an unknown namespace, an unknown element, a bad time, a CDATA label, leading CRLF */
    parse_xml("\r\n\r\n<?xml version='1.0'?>\n"
              "<rec:recording xmlns:rec='urn:example:recorder:7'>\n"
              " <rec:datamode>complete</rec:datamode>\n"
              " <rec:vendorthing>x</rec:vendorthing>\n"
              " <rec:participant participant_id='p1'>\n"
              "  <rec:nameID aor='sip:a@b'><rec:name>A &amp; B</rec:name></rec:nameID>\n"
              " </rec:participant>\n"
              " <rec:stream stream_id='s1'><rec:label><![CDATA[ 7 ]]></rec:label></rec:stream>\n"
              " <rec:participantsessionassoc participant_id='p1'>\n"
              "  <rec:associate-time>yesterday</rec:associate-time>\n"
              " </rec:participantsessionassoc>\n"
              " <rec:participantstreamassoc participant_id='p1'>\n"
              "  <rec:send>s1</rec:send>\n"
              " </rec:participantstreamassoc>\n"
              "</rec:recording>\n",
              &meta, 0);
    assert_int_equal(meta.warnings, VOX_RSMETA_WARN_UNKNOWN_NS | VOX_RSMETA_WARN_UNKNOWN_ELEMENT |
                                        VOX_RSMETA_WARN_BAD_TIME);
    assert_string_equal(meta.participants[0].name, "A & B");
    assert_int_equal(meta.participants[0].start_unix_ms, -1);
    assert_string_equal(sender_of(&meta, "7")->id, "p1");

    /* an undeclared prefix (not namespace-well-formed): read by local names, flagged */
    parse_xml("<tns:recording><tns:datamode>complete</tns:datamode>"
              "<tns:stream tns:stream_id='s1'><tns:label>1</tns:label></tns:stream>"
              "</tns:recording>",
              &meta, 0);
    assert_int_equal(meta.warnings, VOX_RSMETA_WARN_UNKNOWN_NS);
    assert_string_equal(meta.streams[0].id, "s1");
    assert_string_equal(meta.streams[0].label, "1");

    /* a complete snapshot that names undefined ids: placeholders and a warning */
    parse_xml("<recording xmlns='urn:ietf:params:xml:ns:recording:1'>"
              "<datamode>complete</datamode>"
              "<stream stream_id='s1'><label>1</label></stream>"
              "<participantstreamassoc participant_id='ghost'>"
              "<send>s1</send><send>nowhere</send></participantstreamassoc>"
              "<participant participant_id='p1'/><participant participant_id='p1'/>"
              "<participant><nameID aor='sip:noid@x'/></participant>"
              "</recording>",
              &meta, 0);
    assert_int_equal(meta.warnings,
                     VOX_RSMETA_WARN_DANGLING | VOX_RSMETA_WARN_DUPLICATE | VOX_RSMETA_WARN_NO_ID);
    assert_int_equal(meta.nparticipants, 3); /* p1, the id-less one, the ghost */
    assert_int_equal(meta.nstreams, 2);
    assert_string_equal(sender_of(&meta, "1")->id, "ghost");
    assert_string_equal(meta.streams[1].id, "nowhere");
    assert_string_equal(meta.streams[1].label, "");

    /* more than the limits: kept up to them */
    n = (size_t)snprintf(big, sizeof(big), "<recording xmlns='%s'><datamode>complete</datamode>",
                         "urn:ietf:params:xml:ns:recording:1");
    for (i = 0; i < 20; i++)
        n += (size_t)snprintf(big + n, sizeof(big) - n,
                              "<participant participant_id='p%zu'><nameID aor='sip:%zu@a'/>"
                              "<nameID aor='sip:%zu@b'/><nameID aor='sip:%zu@c'/>"
                              "<nameID aor='sip:%zu@d'/><nameID aor='sip:%zu@e'/></participant>"
                              "<stream stream_id='s%zu'><label>%zu</label></stream>",
                              i, i, i, i, i, i, i, i);
    snprintf(big + n, sizeof(big) - n, "</recording>");
    parse_xml(big, &meta, 0);
    assert_int_equal(meta.warnings, VOX_RSMETA_WARN_TOO_MANY);
    assert_int_equal(meta.nparticipants, VOX_RSMETA_MAX_PARTICIPANTS);
    assert_int_equal(meta.nstreams, VOX_RSMETA_MAX_STREAMS);
    assert_int_equal(meta.participants[0].naor, VOX_RSMETA_MAX_AORS);

    /* values longer than their fields are cut on a UTF-8 character boundary */
    n = (size_t)snprintf(big, sizeof(big),
                         "<recording xmlns='urn:ietf:params:xml:ns:recording:1'>"
                         "<datamode>complete</datamode><participant participant_id='p'>"
                         "<nameID aor='sip:x@y'><name>");
    for (i = 0; i < 100; i++)
        n += (size_t)snprintf(big + n, sizeof(big) - n, "\xc3\xa9"); /* é: 2 bytes */
    snprintf(big + n, sizeof(big) - n, "</name></nameID></participant></recording>");
    parse_xml(big, &meta, 0);
    assert_int_equal(meta.warnings, VOX_RSMETA_WARN_TRUNCATED);
    assert_int_equal(strlen(meta.participants[0].name), 126); /* 63 whole characters */
    {
        char *js = vox_rsmeta_json(&meta);
        json_error_t err;
        json_t *root;

        assert_non_null(js);
        root = json_loads(js, 0, &err);
        assert_non_null(root);
        json_decref(root);
        free(js);
    }

    /* times with fractions and offsets */
    parse_xml("<recording xmlns='urn:ietf:params:xml:ns:recording:1'>"
              "<datamode>partial</datamode>"
              "<participantsessionassoc participant_id='p'>"
              "<associate-time>2019-01-13T14:48:35-05:00</associate-time>"
              "<disassociate-time>2019-01-13T19:48:35.5+00:00</disassociate-time>"
              "</participantsessionassoc></recording>",
              &meta, 0);
    assert_int_equal(meta.warnings, 0);
    assert_int_equal(meta.participants[0].start_unix_ms, 1547408915000LL);
    assert_int_equal(meta.participants[0].stop_unix_ms, 1547408915500LL);

    /* a non-standard sequence attribute */
    parse_xml("<recording xmlns='urn:ietf:params:xml:ns:recording:1' sequence='42'>"
              "<datamode>complete</datamode></recording>",
              &meta, 0);
    assert_int_equal(meta.sequence, 42);
}

/* vox_rsmeta_parse of a NUL-terminated string into meta. */
static int parse_len(const char *xml, struct vox_diag *d)
{
    return vox_rsmeta_parse(xml, strlen(xml), &meta, d);
}

/* ---- hostile XML ---------------------------------------------------------------------------- */

static void hostile_xml(void **st)
{
    static char big[VOX_RSMETA_MAX_XML_BYTES + 64];
    struct vox_diag d = {{0}};
    size_t n, i, cut;
    const char *body;
    int rc;

    (void)st;
    /* billion laughs: refused at the DOCTYPE, before any entity is declared */
    parse_xml("<?xml version='1.0'?>\n"
              "<!DOCTYPE recording [\n"
              " <!ENTITY a '0123456789'>\n"
              " <!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'>\n"
              " <!ENTITY c '&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;'>\n"
              " <!ENTITY d '&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;'>\n"
              " <!ENTITY e '&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;'>\n"
              " <!ENTITY f '&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;'>\n"
              " <!ENTITY g '&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;'>\n"
              " <!ENTITY h '&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;'>\n"
              " <!ENTITY i '&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;'>\n"
              "]>\n"
              "<recording xmlns='urn:ietf:params:xml:ns:recording:1'>"
              "<participant participant_id='p'><nameID><name>&i;</name></nameID></participant>"
              "</recording>\n",
              &meta, VOX_EMALFORMED);
    assert_int_equal(meta.nparticipants, 0);
    rc = parse_len("<!DOCTYPE r [<!ENTITY x 'y'>]><recording>&x;</recording>", &d);
    assert_int_equal(rc, VOX_EMALFORMED);
    assert_non_null(strstr(d.text, "DOCTYPE"));
    assert_non_null(strstr(d.text, "line 1"));

    /* external entities and DTDs: no file or network read (XXE) */
    parse_xml("<?xml version='1.0'?>\n<!DOCTYPE recording [\n"
              " <!ENTITY xxe SYSTEM 'file:///etc/passwd'>\n]>\n"
              "<recording><participant participant_id='p'><nameID><name>&xxe;</name></nameID>"
              "</participant></recording>",
              &meta, VOX_EMALFORMED);
    parse_xml("<!DOCTYPE recording SYSTEM 'http://192.0.2.1/recording.dtd'><recording/>", &meta,
              VOX_EMALFORMED);
    parse_xml("<!DOCTYPE recording [<!ENTITY % p SYSTEM 'http://192.0.2.1/p.ent'> %p;]>"
              "<recording/>",
              &meta, VOX_EMALFORMED);
    /* an entity with no DTD at all is simply not well-formed */
    parse_xml("<recording><datamode>&xxe;</datamode></recording>", &meta, VOX_EMALFORMED);
    /* XInclude is never processed: an unknown element, nothing read */
    parse_xml("<recording xmlns='urn:ietf:params:xml:ns:recording:1'><datamode>complete</datamode>"
              "<xi:include xmlns:xi='http://www.w3.org/2001/XInclude' href='/etc/passwd'/>"
              "</recording>",
              &meta, 0);
    assert_int_equal(meta.warnings, VOX_RSMETA_WARN_UNKNOWN_ELEMENT);

    /* nesting: VOX_RSMETA_MAX_DEPTH levels pass, one more does not, 9000 neither */
    for (i = 0; i < 3; i++) {
        size_t depth = i == 0 ? VOX_RSMETA_MAX_DEPTH : i == 1 ? VOX_RSMETA_MAX_DEPTH + 1 : 9000;
        size_t k;

        n = (size_t)snprintf(big, sizeof(big), "<recording><datamode>complete</datamode>");
        for (k = 1; k < depth; k++)
            n += (size_t)snprintf(big + n, sizeof(big) - n, "<x>");
        for (k = 1; k < depth; k++)
            n += (size_t)snprintf(big + n, sizeof(big) - n, "</x>");
        snprintf(big + n, sizeof(big) - n, "</recording>");
        rc = vox_rsmeta_parse(big, strlen(big), &meta, &d);
        if (i == 0) {
            assert_int_equal(rc, 0);
        } else {
            assert_int_equal(rc, VOX_EMALFORMED);
            assert_non_null(strstr(d.text, "nest"));
        }
    }

    /* size: refused before parsing */
    memset(big, ' ', sizeof(big));
    memcpy(big, "<recording>", 11);
    memcpy(big + VOX_RSMETA_MAX_XML_BYTES - 12, "</recording>", 12);
    parse_xml("", &meta, VOX_EMALFORMED);
    assert_int_equal(vox_rsmeta_parse(big, VOX_RSMETA_MAX_XML_BYTES, &meta, &d), 0);
    assert_int_equal(vox_rsmeta_parse(big, VOX_RSMETA_MAX_XML_BYTES + 1, &meta, &d), VOX_ELIMIT);
    assert_non_null(strstr(d.text, "limit"));

    /* every truncation of a real document is malformed, never a crash or a partial model */
    load_offer("rfc7865.sip");
    body = offer.metadata.p;
    n = offer.metadata.len;
    for (cut = 0; cut < n; cut++) {
        rc = vox_rsmeta_parse(body, cut, &meta, &d);
        if (memmem(body, cut, "</recording>", 12))
            assert_int_equal(rc, 0);
        else if (rc != VOX_EMALFORMED)
            fail_msg("prefix of %zu/%zu bytes gave %s", cut, n, vox_err_name(rc));
        else
            assert_int_equal(meta.nparticipants, 0);
    }

    /* not XML, or not recording metadata */
    parse_xml("hello, recorder", &meta, VOX_EMALFORMED);
    parse_xml("  \r\n\t ", &meta, VOX_EMALFORMED);
    assert_int_equal(vox_rsmeta_parse("\x01\x02\x03\xff<", 5, &meta, &d), VOX_EMALFORMED);
    assert_int_equal(vox_rsmeta_parse("<recording>\0</recording>", 24, &meta, &d), VOX_EMALFORMED);
    parse_xml("<html><body>recording</body></html>", &meta, VOX_EMALFORMED);
    assert_int_equal(parse_len("<html/>", &d), VOX_EMALFORMED);
    assert_non_null(strstr(d.text, "not recording metadata"));
    /* the diag names the line of the fault */
    rc = parse_len("<recording>\n<session>\n</recording>\n", &d);
    assert_int_equal(rc, VOX_EMALFORMED);
    assert_non_null(strstr(d.text, "line 3"));
    /* ... counting the line breaks skipped before the document */
    assert_int_equal(parse_len("\n\n<recording>\n<session>\n</recording>\n", &d), VOX_EMALFORMED);
    assert_non_null(strstr(d.text, "line 5"));

    assert_int_equal(vox_rsmeta_parse(NULL, 0, &meta, &d), VOX_EMALFORMED);
    assert_int_equal(vox_rsmeta_parse(NULL, 3, &meta, &d), VOX_EINVAL);
    assert_int_equal(vox_rsmeta_parse("<recording/>", 12, NULL, &d), VOX_EINVAL);
    assert_int_equal(vox_rsmeta_parse("<recording/>", 12, &meta, NULL), 0);
}

/* ---- JSON ------------------------------------------------------------------------------------ */

static void json_round_trip(void **st)
{
    json_error_t err;
    json_t *root, *parts, *streams, *p0, *a;
    char *js;

    (void)st;
    load_offer("rfc7865.sip");
    js = vox_rsmeta_json(&offer.meta);
    assert_non_null(js);
    root = json_loads(js, 0, &err);
    if (!root)
        fail_msg("JSON does not parse back: %s (%s)", err.text, js);
    assert_string_equal(json_string_value(json_object_get(root, "dialect")), "rfc7865");
    assert_string_equal(json_string_value(json_object_get(root, "session_id")),
                        "c2Vzc2lvbi03ZjNhOTE=");
    assert_string_equal(json_string_value(json_object_get(root, "group_id")),
                        "Z3JvdXAtMjAyNi0xMS0yMy0wMQ==");
    assert_non_null(json_string_value(json_object_get(root, "sip_call_id")));
    assert_string_equal(json_string_value(json_object_get(root, "state")), "complete");
    parts = json_object_get(root, "participants");
    streams = json_object_get(root, "streams");
    assert_int_equal(json_array_size(parts), 2);
    assert_int_equal(json_array_size(streams), 2);
    p0 = json_array_get(parts, 0);
    assert_string_equal(json_string_value(json_object_get(p0, "id")), "cGFydC1jYXJvbC0wMQ==");
    assert_string_equal(json_string_value(json_object_get(p0, "name")), "Carol Agent");
    a = json_object_get(p0, "aors");
    assert_int_equal(json_array_size(a), 2);
    assert_string_equal(json_string_value(json_array_get(a, 1)), "tel:+15551230101");
    a = json_object_get(p0, "send");
    assert_int_equal(json_array_size(a), 1);
    assert_string_equal(json_string_value(json_array_get(a, 0)), "1");
    assert_string_equal(json_string_value(json_array_get(json_object_get(p0, "recv"), 0)), "2");
    assert_int_equal(json_integer_value(json_object_get(p0, "start_unix_ms")), 1795425302250LL);
    assert_true(json_is_null(json_object_get(p0, "stop_unix_ms")));
    assert_string_equal(json_string_value(json_object_get(json_array_get(streams, 1), "label")),
                        "2");
    assert_string_equal(json_string_value(json_object_get(json_array_get(streams, 1), "sender")),
                        "cGFydC1kYXZlLTAy");
    json_decref(root);
    free(js);

    /* a synthesized model, and one with an unknown sender */
    load_offer("cisco_cube_nbr.sip");
    js = vox_rsmeta_json(&offer.meta);
    assert_non_null(js);
    root = json_loads(js, 0, &err);
    assert_non_null(root);
    assert_string_equal(json_string_value(json_object_get(root, "dialect")), "cisco-nbr");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(root, "streams"), 0), "sender")),
                        "sip:+12065550111@198.51.100.9");
    json_decref(root);
    free(js);
    load_offer("avaya_sbce.sip");
    js = vox_rsmeta_json(&offer.meta);
    root = json_loads(js, 0, &err);
    assert_non_null(root);
    assert_true(json_is_null(
        json_object_get(json_array_get(json_object_get(root, "streams"), 1), "sender")));
    json_decref(root);
    free(js);

    /* an empty model */
    memset(&meta, 0, sizeof(meta));
    js = vox_rsmeta_json(&meta);
    assert_non_null(js);
    root = json_loads(js, 0, &err);
    assert_non_null(root);
    assert_string_equal(json_string_value(json_object_get(root, "dialect")), "none");
    json_decref(root);
    free(js);
    assert_null(vox_rsmeta_json(NULL));
    assert_string_equal(vox_rsmeta_dialect_name((enum vox_rsmeta_dialect)99), "none");
}

/* ---- threads -------------------------------------------------------------------------------- */

struct thread_job {
    const char *xml;
    size_t len;
    int failures;
};

static void *parse_many(void *arg)
{
    struct thread_job *job = arg;
    struct vox_rsmeta *m = malloc(sizeof(*m));
    int i;

    if (!m) {
        job->failures = -1;
        return NULL;
    }
    for (i = 0; i < 200; i++) {
        const struct vox_rsmeta_stream *s;

        if (vox_rsmeta_parse(job->xml, job->len, m, NULL) != 0) {
            job->failures++;
            continue;
        }
        s = vox_rsmeta_stream_by_label(m, vox_str_c("2"));
        if (!s || strcmp(vox_rsmeta_stream_sender(m, s)->name, "Dave Customer") != 0)
            job->failures++;
    }
    free(m);
    return NULL;
}

/* libxml2 is initialised once and nothing else is shared: parses run in parallel. */
static void parse_in_threads(void **st)
{
    pthread_t th[4];
    struct thread_job jobs[4];
    size_t i;

    (void)st;
    load_offer("rfc7865.sip");
    for (i = 0; i < 4; i++) {
        jobs[i].xml = offer.metadata.p;
        jobs[i].len = offer.metadata.len;
        jobs[i].failures = 0;
        assert_int_equal(pthread_create(&th[i], NULL, parse_many, &jobs[i]), 0);
    }
    for (i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(jobs[i].failures, 0);
    }
    /* a sender index out of range is no participant */
    memcpy(&meta, &offer.meta, sizeof(meta));
    meta.streams[0].sender = 99;
    assert_null(vox_rsmeta_stream_sender(&meta, &meta.streams[0]));
    assert_null(vox_rsmeta_stream_sender(NULL, &meta.streams[0]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(invite_rfc7865),
        cmocka_unit_test(invite_string_labels),
        cmocka_unit_test(invite_oracle_acme_draft),
        cmocka_unit_test(invite_metaswitch_draft),
        cmocka_unit_test(invite_broadworks),
        cmocka_unit_test(invite_sonus),
        cmocka_unit_test(invite_cisco_nbr),
        cmocka_unit_test(invite_cisco_siprec_three_parts),
        cmocka_unit_test(invite_avaya_and_metadata_only_update),
        cmocka_unit_test(offer_edge_cases),
        cmocka_unit_test(merge_partial_and_snapshot),
        cmocka_unit_test(tolerant_parsing),
        cmocka_unit_test(hostile_xml),
        cmocka_unit_test(json_round_trip),
        cmocka_unit_test(parse_in_threads),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
