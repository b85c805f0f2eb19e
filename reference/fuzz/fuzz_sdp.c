/* SPDX-License-Identifier: MIT */
/* libFuzzer target: SDP parser and validator, the recording-server answer writer, and the answer
 * parsed back (abort() on any disagreement). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vox/sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_sdp: check failed at line %d: %s\n", __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void in_input(struct vox_str s, const char *base, size_t size)
{
    if (s.len)
        CHECK(s.p >= base && s.p + s.len <= base + size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct vox_sdp offer, answer;
    static char out[1 << 20];
    const char *buf = (const char *)data;
    unsigned ports[VOX_SDP_MAX_MEDIA];
    struct vox_sdp_answer_config cfg = {0};
    struct vox_str v;
    size_t i, j, len = 0;
    int rc;

    rc = vox_sdp_parse(buf, size, &offer, NULL);
    CHECK(rc == 0 || rc == VOX_EMALFORMED || rc == VOX_ELIMIT);
    if (rc)
        return 0;
    rc = vox_sdp_validate(&offer, NULL);
    CHECK(rc == 0 || rc == VOX_EMALFORMED);
    CHECK(offer.nmedia <= VOX_SDP_MAX_MEDIA && offer.nattrs <= VOX_SDP_MAX_ATTRS);
    in_input(offer.session_name, buf, size);
    in_input(offer.origin.address, buf, size);
    for (i = 0; i < offer.nattrs; i++) {
        in_input(offer.attrs[i].name, buf, size);
        in_input(offer.attrs[i].value, buf, size);
    }
    for (i = 0; i < offer.nmedia; i++) {
        const struct vox_sdp_media *m = &offer.media[i];

        CHECK(m->nfmts >= 1 && m->nfmts <= VOX_SDP_MAX_FMTS && m->port <= 65535);
        CHECK(m->attr_first + m->nattrs <= offer.nattrs);
        in_input(m->label, buf, size);
        for (j = 0; j < m->nfmts; j++) {
            in_input(m->fmts[j].fmt, buf, size);
            in_input(m->fmts[j].encoding, buf, size);
            in_input(m->fmts[j].fmtp, buf, size);
            CHECK(m->fmts[j].pt >= -1 && m->fmts[j].pt <= 127);
        }
        CHECK(vox_sdp_media_dir(&offer, i) != VOX_SDP_DIR_UNSET);
        vox_sdp_media_conn(&offer, i);
        vox_sdp_attr_get(&offer, (int)i, "label", &v);
        /* every third stream is refused locally */
        ports[i] = i % 3 == 2 ? 0 : 20000 + 2 * (unsigned)i;
    }
    cfg.address = i % 2 ? "2001:db8::5" : "192.0.2.5";
    cfg.ports = ports;
    cfg.nports = offer.nmedia;
    cfg.sess_id = 42;
    cfg.sess_version = 1;
    cfg.prefer_offer_order = size % 2;
    rc = vox_sdp_answer(&offer, &cfg, out, sizeof(out), &len, NULL);
    CHECK(rc == 0 && len < sizeof(out));
    if (len > 1)
        CHECK(vox_sdp_answer(&offer, &cfg, out, len / 2, NULL, NULL) == VOX_ERANGE);
    CHECK(vox_sdp_answer(&offer, &cfg, out, sizeof(out), &len, NULL) == 0);

    rc = vox_sdp_parse(out, len, &answer, NULL);
    if (rc != 0) {
        fprintf(stderr, "fuzz_sdp: answer does not re-parse (%d):\n%.*s\n", rc, (int)len, out);
        abort();
    }
    if (vox_sdp_validate(&answer, NULL) != 0) {
        fprintf(stderr, "fuzz_sdp: answer does not validate:\n%.*s\n", (int)len, out);
        abort();
    }
    CHECK(answer.nmedia == offer.nmedia);
    for (i = 0; i < offer.nmedia; i++) {
        const struct vox_sdp_media *o = &offer.media[i], *a = &answer.media[i];

        CHECK(vox_str_eq(a->type, "audio") || a->port == 0);
        if (o->port == 0 || ports[i] == 0)
            CHECK(a->port == 0); /* RFC 3264 §6: a refused stream stays port 0 */
        if (a->port) {
            enum vox_sdp_dir od = vox_sdp_media_dir(&offer, i);
            enum vox_sdp_dir ad = vox_sdp_media_dir(&answer, i);

            CHECK(a->port == ports[i]);
            CHECK(ad == ((od == VOX_SDP_DIR_SENDONLY || od == VOX_SDP_DIR_SENDRECV)
                             ? VOX_SDP_DIR_RECVONLY
                             : VOX_SDP_DIR_INACTIVE));
            /* the answer's formats are a subset of the offer's */
            for (j = 0; j < a->nfmts; j++) {
                size_t k;
                int found = 0;

                for (k = 0; k < o->nfmts; k++)
                    found |= o->fmts[k].pt == a->fmts[j].pt;
                CHECK(found);
            }
        }
        CHECK(a->label.len == o->label.len &&
              (!a->label.len || memcmp(a->label.p, o->label.p, a->label.len) == 0));
    }
    return 0;
}
