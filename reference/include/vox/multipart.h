/* SPDX-License-Identifier: MIT */
/* Multipart MIME bodies (RFC 2046 §5.1) as SIPREC sends them: iterate the parts as views. */
#ifndef VOX_MULTIPART_H
#define VOX_MULTIPART_H

#include <stddef.h>

#include "vox/err.h"
#include "vox/sip.h" /* struct vox_str, media types, the header tokenizer */

#ifdef __cplusplus
extern "C" {
#endif

#define VOX_MULTIPART_MAX_BOUNDARY     70 /* RFC 2046 §5.1.1: 1..70 characters */
#define VOX_MULTIPART_MAX_PART_HEADERS 32 /* header fields per part */

/* vox_multipart_init flags. */
#define VOX_MULTIPART_STRICT 0x1u /* refuse a body without its closing "--boundary--" */

/*
 * One body part. Views into the body. Part headers follow the SIP/MIME header syntax
 * (vox_sip_header_next: folds, names without case); values are raw.
 */
struct vox_mime_part {
    struct vox_str headers;             /* the raw header block (without the empty line) */
    struct vox_str content_type;        /* raw Content-Type value, empty when absent */
    struct vox_sip_media_type type;     /* parsed; "text/plain" when absent (RFC 2046 §5.1) */
    struct vox_str content_disposition; /* raw, e.g. "recording-session" */
    struct vox_str disposition_type;    /* the token before any ';', e.g. "recording-session" */
    struct vox_str content_id;          /* raw Content-ID, e.g. "<meta@example.com>" */
    struct vox_str body;                /* the part's content, without the CRLF before the
                                           next delimiter (which belongs to the delimiter) */
    int nested;                         /* 1: the part is itself multipart/... (not descended; call
                                           vox_multipart_init on it to look inside) */
    unsigned index;                     /* 0-based position in the body */
};

/*
 * Iterator state. Fields after `unterminated` are private.
 *
 * Missing closing delimiter: real SRCs sometimes end the last part without "--boundary--".
 * By default this is tolerated: the last part runs to the end of the body and `unterminated`
 * is set once the iteration reaches that end; with VOX_MULTIPART_STRICT it is an error.
 */
struct vox_multipart {
    struct vox_str boundary; /* from the Content-Type, without quotes */
    struct vox_str preamble; /* text before the first delimiter (ignored, RFC 2046 §5.1.1) */
    struct vox_str epilogue; /* text after the closing delimiter's line, once reached */
    int unterminated;        /* 1: the body ended without the closing delimiter */
    int lf_only;             /* 1: a delimiter or header line ended with a bare LF */
    /* private */
    const char *body;
    size_t len;
    size_t pos; /* start of the next part, or len when done */
    unsigned flags;
    unsigned count;
    int done;
};

/*
 * Prepares to iterate `body` (len bytes) whose Content-Type value is `content_type` (e.g.
 * `multipart/mixed;boundary=OSS-unique-boundary-42` or `...; boundary="a b"`): the type must be
 * multipart/<anything> with a boundary parameter of 1..70 characters, and a first delimiter
 * line ("--boundary" + optional SP/HTAB padding + CRLF or LF, at the start of the body or after
 * a preamble line) must exist. Returns 0, VOX_EINVAL (NULL arguments) or VOX_EMALFORMED (not
 * multipart, no or bad boundary, no delimiter); `diag` (may be NULL) says which.
 */
int vox_multipart_init(struct vox_multipart *mp, struct vox_str content_type, const char *body,
                       size_t len, unsigned flags, struct vox_diag *diag);

/*
 * Returns the next part: 1 with *part filled, 0 after the last part (closing delimiter or, when
 * tolerated, end of body), VOX_EMALFORMED (part headers that do not tokenize or do not end, a
 * bad part Content-Type, an unterminated body under VOX_MULTIPART_STRICT) or VOX_ELIMIT (more
 * than VOX_MULTIPART_MAX_PART_HEADERS headers). A part whose headers run into the end of the
 * body is malformed. Transport padding after a delimiter is skipped; a line that starts with
 * the delimiter but continues with other text is content, not a delimiter.
 */
int vox_multipart_next(struct vox_multipart *mp, struct vox_mime_part *part, struct vox_diag *diag);

/*
 * Finds the body of type `type_subtype` ("application/sdp") in a SIP body: when `content_type`
 * is multipart, the first part of that type (vox_multipart_init/next, default flags); when it
 * is that type itself (a metadata-only UPDATE of Avaya, an SDP-only INVITE), the whole body.
 * Returns 0 with *part filled (for a non-multipart body only type/content_type/body are set),
 * VOX_ENOENT when no such part exists, or the errors above.
 */
int vox_multipart_find(struct vox_str content_type, const char *body, size_t len,
                       const char *type_subtype, struct vox_mime_part *part, struct vox_diag *diag);

#ifdef __cplusplus
}
#endif

#endif /* VOX_MULTIPART_H */
