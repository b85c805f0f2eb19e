/* SPDX-License-Identifier: MIT */
/* SDP (RFC 4566): zero-copy parser, validator, and the answer writer of a recording server. */
#ifndef VOX_SDP_H
#define VOX_SDP_H

#include <stddef.h>
#include <stdint.h>

#include "vox/err.h"
#include "vox/sip.h" /* struct vox_str and the ownership rules of views */

#ifdef __cplusplus
extern "C" {
#endif

#define VOX_SDP_MAX_MEDIA 16  /* m= lines per description */
#define VOX_SDP_MAX_ATTRS 128 /* a= lines per description, session and media together */
#define VOX_SDP_MAX_FMTS  32  /* formats per m= line */

/* Direction attributes (RFC 4566 §6, RFC 3264 §5.1). UNSET: no attribute at that level. */
enum vox_sdp_dir {
    VOX_SDP_DIR_UNSET = 0,
    VOX_SDP_DIR_SENDRECV,
    VOX_SDP_DIR_SENDONLY,
    VOX_SDP_DIR_RECVONLY,
    VOX_SDP_DIR_INACTIVE,
};

/* "sendrecv", "sendonly", "recvonly", "inactive" ("" for UNSET). */
const char *vox_sdp_dir_name(enum vox_sdp_dir dir);

/* One a= line: "a=name" (flag, value empty and has_value 0) or "a=name:value". */
struct vox_sdp_attr {
    struct vox_str name;
    struct vox_str value;
    int has_value;
    unsigned line; /* 1-based line in the description */
};

/* c= (RFC 4566 §5.7). present is 0 when the line is absent. */
struct vox_sdp_conn {
    int present;
    struct vox_str nettype;  /* "IN" */
    struct vox_str addrtype; /* "IP4", "IP6" */
    struct vox_str address;  /* without the "/ttl/count" suffix */
    struct vox_str suffix;   /* "127/3" for multicast, empty otherwise */
    unsigned line;
};

/* o= (RFC 4566 §5.2). */
struct vox_sdp_origin {
    struct vox_str username; /* "-" when none */
    struct vox_str sess_id;
    struct vox_str sess_version;
    struct vox_str nettype;
    struct vox_str addrtype;
    struct vox_str address;
};

/* One format of an m= line with what a=rtpmap / a=fmtp say about it. */
struct vox_sdp_fmt {
    struct vox_str fmt;      /* as written: "0", "101", "*" ... */
    int pt;                  /* payload type 0..127 for RTP formats, -1 otherwise */
    int has_rtpmap;          /* a=rtpmap:<pt> seen */
    struct vox_str encoding; /* rtpmap encoding name: "PCMU", "opus", "telephone-event" */
    unsigned clock_hz;       /* rtpmap clock rate */
    unsigned channels;       /* rtpmap channels (1 when not written) */
    struct vox_str fmtp;     /* a=fmtp:<fmt> parameters, empty when absent */
};

/* One media description (m= line and the lines up to the next m=). */
struct vox_sdp_media {
    struct vox_str type;  /* "audio", "video", "application" ... */
    unsigned port;        /* 0: stream rejected/disabled (RFC 3264 §8.2) */
    unsigned port_count;  /* "port/count"; 1 when not written */
    struct vox_str proto; /* "RTP/AVP", "RTP/SAVP", "RTP/AVPF", "UDP/TLS/RTP/SAVP" ... */
    struct vox_sdp_fmt fmts[VOX_SDP_MAX_FMTS];
    size_t nfmts;
    struct vox_sdp_conn conn; /* media-level c=, present 0 when the session one applies */
    enum vox_sdp_dir dir;     /* direction attribute at media level (UNSET when none) */
    struct vox_str label;     /* a=label (RFC 4574), empty when absent */
    struct vox_str mid;       /* a=mid (RFC 5888) */
    struct vox_str content;   /* a=content (RFC 4796) */
    struct vox_str rtcp;      /* a=rtcp value (RFC 3605), raw */
    unsigned ptime_ms;        /* a=ptime, 0 when absent */
    size_t attr_first;        /* this media's a= lines: sdp->attrs[attr_first .. + nattrs) */
    size_t nattrs;
    unsigned line; /* line of the m= */
};

/* A parsed description. Large (about 41 KiB): reuse one or allocate it. Views point into the
 * buffer given to vox_sdp_parse. */
struct vox_sdp {
    struct vox_str raw; /* the input */
    unsigned version;   /* v= (0) */
    struct vox_sdp_origin origin;
    struct vox_str session_name; /* s= */
    struct vox_sdp_conn conn;    /* session-level c= */
    uint64_t t_start, t_stop;    /* the first t= */
    enum vox_sdp_dir dir;        /* session-level direction attribute, UNSET when none */
    struct vox_sdp_attr attrs[VOX_SDP_MAX_ATTRS];
    size_t nattrs;
    size_t session_nattrs; /* attrs[0 .. session_nattrs) are session-level */
    struct vox_sdp_media media[VOX_SDP_MAX_MEDIA];
    size_t nmedia;
    unsigned lines;   /* lines read */
    unsigned lf_only; /* 1 when some line ended with a bare LF (tolerated) */
    unsigned seen;    /* bit (letter - 'a') set for every line type present */
};

/*
 * Parses a description into views. Tolerant of order and of unknown lines (validate checks
 * those), strict on the lines it reads: each line must be "<letter>=<value>" ending in CRLF or
 * a bare LF (RFC 4566 §5 asks parsers to accept LF; the last line may lack its line break);
 * empty lines are skipped. Reads v, o, s, c, t, m and a (rtpmap, fmtp, label, mid, content,
 * rtcp, ptime and the direction attributes are also decoded into the media/session fields).
 *
 * Returns 0, VOX_EMALFORMED (bad line syntax, NUL byte or bare CR, v= not 0, o= without its 6
 * fields, c= without 3 fields, m= with a bad port/count or no format, rtpmap/fmtp/ptime with
 * bad numbers, t= not two numbers) or VOX_ELIMIT (more media, attributes or formats than the
 * VOX_SDP_MAX_* limits); `diag` (may be NULL) then reads "line 7: m=: port '7x' is not a
 * number 0..65535". rtpmap/fmtp for a payload type absent from the m= line are kept as
 * attributes and otherwise ignored.
 */
int vox_sdp_parse(const char *buf, size_t len, struct vox_sdp *sdp, struct vox_diag *diag);

/*
 * Checks a parsed description against RFC 4566 §5: v= first; o=, s= and at least one t=
 * present; session lines in the order v o s i u e p c b (t r*)+ z k a, media lines m i c* b k a;
 * i, u, c (session), z, k at most once per level; a c= at session level or in every media
 * description (§5.7). Returns 0 or VOX_EMALFORMED with `diag` naming the line ("line 4: 'c='
 * after 't=' is out of order (RFC 4566 §5)", "missing 's=' line").
 */
int vox_sdp_validate(const struct vox_sdp *sdp, struct vox_diag *diag);

/* The direction that applies to media i: its own attribute, else the session's, else
 * sendrecv (RFC 3264 §5.1). */
enum vox_sdp_dir vox_sdp_media_dir(const struct vox_sdp *sdp, size_t i);

/* The connection that applies to media i (its own c= or the session's); NULL when neither. */
const struct vox_sdp_conn *vox_sdp_media_conn(const struct vox_sdp *sdp, size_t i);

/* Finds attribute `name` at session level (media == -1) or in media `media`: 1 and *value set
 * (may be empty), 0 when absent. */
int vox_sdp_attr_get(const struct vox_sdp *sdp, int media, const char *name, struct vox_str *value);

/* ---- answers (RFC 3264 §6) ------------------------------------------------------------------- */

struct vox_sdp_answer_config {
    const char *address;       /* our address for o= and c= ("192.0.2.10", "2001:db8::10") */
    const unsigned *ports;     /* our RTP port for each m= line of the offer, in order */
    size_t nports;             /* must equal offer->nmedia; a port of 0 rejects that stream */
    const char *const *codecs; /* encoding names in preference order, NULL: {"PCMU", "PCMA",
                                  "opus", "telephone-event"} */
    size_t ncodecs;
    int prefer_offer_order; /* 0: our order picks the codec; 1: the offer's order does */
    uint64_t sess_id;       /* o= session id and version (RFC 4566 §5.2) */
    uint64_t sess_version;
    const char *username;     /* o= username, NULL: "-" */
    const char *session_name; /* s=, NULL: "-" */
};

/*
 * Writes the answer of a recording server (RFC 3264 §6, RFC 7866 §8.1.1) to `offer` into buf:
 * v/o/s/c/t, then one m= line per offered m= line, in order. For each stream:
 *  - rejected (port 0, RFC 3264 §6) when the offer's port is 0, our port is 0, the media is not
 *    audio, the proto is not RTP/AVP or RTP/AVPF (no SRTP here), or no codec matches; a
 *    rejected stream keeps the offer's media, proto and first format;
 *  - codec: one voice codec, the first of the configured list found in the offer (or, with
 *    prefer_offer_order, the first of the offer found in the list), matched by payload type 0
 *    (PCMU) / 8 (PCMA) or by a=rtpmap name and clock, keeping the offer's payload number, its
 *    rtpmap and fmtp; plus telephone-event at the same clock when offered and listed;
 *  - direction from the offer's (RFC 3264 §6.1, as a recorder that never sends): sendonly and
 *    sendrecv -> recvonly, recvonly and inactive -> inactive;
 *  - a=label (RFC 4574) and a=mid (RFC 5888) copied.
 * Lines end with CRLF; a NUL follows when room is left (not counted). Returns 0 with *out_len
 * set, VOX_EINVAL (no address, nports != offer->nmedia, CR/LF in a string), VOX_ERANGE when cap
 * is too small; `diag` (may be NULL) explains.
 */
int vox_sdp_answer(const struct vox_sdp *offer, const struct vox_sdp_answer_config *cfg, char *buf,
                   size_t cap, size_t *out_len, struct vox_diag *diag);

#ifdef __cplusplus
}
#endif

#endif /* VOX_SDP_H */
