/* SPDX-License-Identifier: MIT */
/* SIPREC recording metadata (RFC 7865) in every dialect real SRCs send, and the recording offer
 * of an INVITE / re-INVITE / UPDATE (RFC 7866). */
#ifndef VOX_RSMETA_H
#define VOX_RSMETA_H

#include <stddef.h>
#include <stdint.h>

#include "vox/err.h"
#include "vox/sip.h" /* struct vox_str, struct vox_sip_msg */

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Unlike the rest of the SIP module, the metadata model is *copied*: strings are fixed-size,
 * NUL-terminated arrays (cut to fit, flagged VOX_RSMETA_WARN_TRUNCATED), so a session can keep
 * it after the message buffer is gone and merge later updates into it. Nothing here keeps
 * global state beyond libxml2's one-time initialisation: all functions are thread-safe on
 * distinct objects.
 */

/* Which flavour of metadata an SRC sent (research/siprec.md §4). */
enum vox_rsmeta_dialect {
    VOX_RSMETA_NONE = 0,   /* no metadata */
    VOX_RSMETA_RFC7865,    /* ns urn:ietf:params:xml:ns:recording:1; participant_id / stream_id /
                              session_id attributes; participantstreamassoc */
    VOX_RSMETA_DRAFT,      /* pre-RFC draft: ns without ":1", or id= / session= attributes, or
                              <send> inside <participant> (Oracle/Acme with apkt: extensions,
                              Metaswitch) */
    VOX_RSMETA_BROADWORKS, /* ns urn:ietf:params:xml:ns:siprec, root <recording_metadata>,
                              <aor> and <send><id> children (BroadWorks, Webex Calling) */
    VOX_RSMETA_SONUS,      /* tns:-prefixed RFC-like elements plus a urn:...:callData element
                              (fromhdr / tohdr / callid) (Sonus / Ribbon SBC) */
    VOX_RSMETA_CISCO_NBR,  /* no XML: X-Cisco-Recording-Participant headers (Cisco CUBE
                              network-based recording), synthesized by vox_siprec_offer_parse */
};

/* "rfc7865", "draft", "broadworks", "sonus", "cisco-nbr", "none" (also for out of range). */
const char *vox_rsmeta_dialect_name(enum vox_rsmeta_dialect d);

#define VOX_RSMETA_MAX_PARTICIPANTS 16
#define VOX_RSMETA_MAX_STREAMS      16
#define VOX_RSMETA_MAX_AORS         4
#define VOX_RSMETA_MAX_XML_BYTES    (64 << 10) /* larger documents are refused (VOX_ELIMIT) */
#define VOX_RSMETA_MAX_DEPTH        32         /* element nesting; deeper is refused */

/*
 * Warnings (vox_rsmeta.warnings): oddities that were tolerated, worth logging or counting.
 * DANGLING: a complete snapshot refers to an id that no element defines (a placeholder was
 * made). TOO_MANY: more participants, streams, AoRs or stream references than the limits (the
 * extras are dropped). BAD_XML and BODY are set by vox_siprec_offer_parse only: the metadata
 * part did not parse (has_meta is 0); a multipart oddity was tolerated (no closing delimiter, a
 * broken part after the SDP, an X-Cisco-Recording-Participant that does not parse).
 */
#define VOX_RSMETA_WARN_UNKNOWN_NS      0x1u   /* root namespace none of the known three */
#define VOX_RSMETA_WARN_NO_STATE        0x2u   /* no <datamode> (RFC 7865 makes it optional) */
#define VOX_RSMETA_WARN_DANGLING        0x4u   /* reference to an undefined id (see above) */
#define VOX_RSMETA_WARN_TRUNCATED       0x8u   /* a value longer than its field was cut */
#define VOX_RSMETA_WARN_TOO_MANY        0x10u  /* items past the limits dropped */
#define VOX_RSMETA_WARN_NO_LABEL        0x20u  /* a <stream> without <label> */
#define VOX_RSMETA_WARN_NO_ID           0x40u  /* a participant or stream with an empty id */
#define VOX_RSMETA_WARN_DUPLICATE       0x80u  /* an id defined twice (the second merged in) */
#define VOX_RSMETA_WARN_BAD_TIME        0x100u /* a time that is not an xs:dateTime: ignored */
#define VOX_RSMETA_WARN_UNKNOWN_ELEMENT 0x200u /* an unknown child of the root: ignored */
#define VOX_RSMETA_WARN_BAD_XML         0x400u /* offer: the metadata part did not parse */
#define VOX_RSMETA_WARN_BODY            0x800u /* offer: multipart or Cisco header oddity */

/*
 * A participant (the RFC 7865 participant class). send/recv are indices into vox_rsmeta.streams.
 * Times are Unix milliseconds from the participant's associate-time / disassociate-time (in
 * participantsessionassoc, or inside <participant> in the draft), -1 when absent.
 */
struct vox_rsmeta_participant {
    char id[96];                        /* participant_id (or id=) */
    char name[128];                     /* the first non-blank <name>, may be empty */
    char aor[VOX_RSMETA_MAX_AORS][256]; /* nameID aor= or <aor>, as written */
    size_t naor;
    int send[VOX_RSMETA_MAX_STREAMS]; /* streams this participant sends */
    size_t nsend;
    int recv[VOX_RSMETA_MAX_STREAMS]; /* streams this participant receives */
    size_t nrecv;
    int64_t start_unix_ms, stop_unix_ms; /* -1 absent */
    int has_assoc; /* 1 when the document stated this participant's send/recv (a
                      participantstreamassoc, or <send>/<recv> inside it): a partial update
                      then replaces the lists instead of keeping the old ones */
};

/* A media stream (the RFC 7865 stream class). The label ties it to the SDP m= line with that
 * a=label. */
struct vox_rsmeta_stream {
    char id[96];         /* stream_id (or id=) */
    char label[64];      /* <label>: numeric ("1", "16777227") or a string ("a_leg") */
    char session_id[96]; /* the communication session it belongs to */
    int sender;          /* index of the first participant sending it, -1 unknown (a mixed
                            stream has several senders: see the participants' send lists) */
};

/* One metadata snapshot or update, or the result of merging them. About 27 KiB. */
struct vox_rsmeta {
    enum vox_rsmeta_dialect dialect;
    char session_id[96];   /* the communication session (<session session_id> / id=; the
                              Cisco-Guid for Cisco NBR) */
    char group_id[96];     /* <group group_id> / id=, else <group-ref> / group= */
    char sip_call_id[256]; /* callData <callid>, else <call-ID>, else <sipSessionID>; the SIP
                              Call-ID for Cisco NBR; may be empty */
    char from[256];        /* callData <fromhdr> (Sonus), as written; else empty */
    char to[256];          /* callData <tohdr> (Sonus), as written; else empty */
    char state[32];        /* <datamode> text ("complete" / "partial") as given; may be empty */
    unsigned sequence;     /* root sequence= attribute (non-standard), 0 when absent */
    struct vox_rsmeta_participant participants[VOX_RSMETA_MAX_PARTICIPANTS];
    size_t nparticipants;
    struct vox_rsmeta_stream streams[VOX_RSMETA_MAX_STREAMS];
    size_t nstreams;
    unsigned warnings; /* VOX_RSMETA_WARN_* */
};

/*
 * Parses one recording-metadata document (the body of an application/rs-metadata+xml or
 * application/rs-metadata part) into *out, detecting the dialect. Elements are matched by local
 * name whatever their prefix or namespace, and in any order: participants may be defined after
 * the associations that name them.
 *
 * Tolerant, because recording must not be refused over metadata (research §9.1): unknown
 * elements and namespaces, a missing datamode, references to undefined ids, empty ids, long
 * values and more items than the limits are accepted and flagged in out->warnings. A reference
 * to an undefined stream or participant creates a placeholder with only that id (so that a
 * partial update can name what an earlier snapshot defined; vox_rsmeta_merge resolves it);
 * in a complete snapshot this sets VOX_RSMETA_WARN_DANGLING.
 *
 * Safe on hostile input: leading whitespace is skipped, a document larger than
 * VOX_RSMETA_MAX_XML_BYTES is refused before parsing, any DOCTYPE is refused as soon as it is
 * seen (so no internal or external entity, no DTD load, no billion laughs), no network access
 * (XML_PARSE_NONET), nesting beyond VOX_RSMETA_MAX_DEPTH stops the parser. No allocation
 * outlives the call.
 *
 * Returns 0; VOX_EMALFORMED when the input is not well-formed XML, has a DOCTYPE, nests too
 * deep or is not recording metadata at all (root other than <recording> / <recording_metadata>);
 * VOX_ELIMIT when larger than VOX_RSMETA_MAX_XML_BYTES; VOX_EINVAL for a NULL out (or a NULL xml
 * with len > 0); VOX_ENOMEM. On failure *out is zeroed and `diag` (may be NULL) names the line
 * and the reason ("line 3: Opening and ending tag mismatch: session line 2 and recording").
 */
int vox_rsmeta_parse(const char *xml, size_t len, struct vox_rsmeta *out, struct vox_diag *diag);

/*
 * Applies an update received in a re-INVITE or UPDATE (RFC 7866; RFC 7865 datamode
 * "partial" carries only what changed, "complete" is a full snapshot) to base.
 *  - update->state "partial" (any case): streams and participants are matched by id (streams
 *    with an empty id by label); fields the update gives (non-empty strings, times other than
 *    -1) overwrite, AoRs are added, a participant whose send/recv the update states
 *    (has_assoc) gets exactly those lists, new ones are appended; session / group / call ids
 *    given overwrite; dialect and state stay base's; warnings are or'ed; senders recomputed.
 *  - anything else (complete, or no state): *base becomes a copy of *update.
 * Returns 0, VOX_EINVAL (NULL argument) or VOX_ELIMIT when participants, streams or AoRs did
 * not all fit (base keeps what fits, VOX_RSMETA_WARN_TOO_MANY set).
 */
int vox_rsmeta_merge(struct vox_rsmeta *base, const struct vox_rsmeta *update);

/* The first stream whose label equals `label` byte for byte, or NULL (also for an empty
 * label). */
const struct vox_rsmeta_stream *vox_rsmeta_stream_by_label(const struct vox_rsmeta *m,
                                                           struct vox_str label);

/* The participant that sends stream s (s->sender), or NULL when unknown or out of range. */
const struct vox_rsmeta_participant *vox_rsmeta_stream_sender(const struct vox_rsmeta *m,
                                                              const struct vox_rsmeta_stream *s);

/*
 * The model as one JSON object (compact, UTF-8):
 *   {"dialect":"rfc7865","session_id":..,"group_id":..,"sip_call_id":..,"from":..,"to":..,
 *    "state":..,"sequence":0,"warnings":0,
 *    "participants":[{"id":..,"name":..,"aors":[..],"send":[labels],"recv":[labels],
 *                     "start_unix_ms":n|null,"stop_unix_ms":n|null}],
 *    "streams":[{"id":..,"label":..,"session_id":..,"sender":participant id|null}]}
 * send/recv list the streams' labels (null for a stream without one). Returns a malloc'd,
 * NUL-terminated string the caller free()s, or NULL on ENOMEM (or a NULL m).
 */
char *vox_rsmeta_json(const struct vox_rsmeta *m);

/* ---- the recording offer of a request (RFC 7866) --------------------------------------------- */

/*
 * What a SIPREC INVITE / re-INVITE / UPDATE carries. Views (sdp, metadata, metadata_type) point
 * into the message's buffer, like every view of sip.h; meta is a copy.
 */
struct vox_siprec_offer {
    int require_siprec;           /* Require lists "siprec" (RFC 7866) */
    int supported_siprec;         /* Supported lists "siprec" */
    int contact_src;              /* the first Contact carries the +sip.src feature parameter (as a
                                     header parameter, or, as some SBCs write it, inside the URI) */
    int is_recording;             /* any marker: the above, a metadata part, or Cisco NBR headers */
    struct vox_str sdp;           /* application/sdp part or bare SDP body; empty when absent */
    struct vox_str metadata;      /* the metadata part's body; empty when absent */
    struct vox_str metadata_type; /* its type/subtype as written: "application/rs-metadata+xml"
                                     or "application/rs-metadata" (or another type sent with
                                     Content-Disposition: recording-session) */
    unsigned nparts;              /* multipart parts seen (Cisco sends 3: sdp, rs-metadata,
                                     application/gtd); 0 for a body that is not multipart */
    int has_meta; /* meta below is filled (from the XML, or synthesized from Cisco NBR headers) */
    struct vox_rsmeta meta; /* when has_meta is 0: zeroed but for meta.warnings */
};

/*
 * Extracts the recording offer of a parsed request. Bodies handled:
 *  - multipart/mixed (any multipart subtype) with an application/sdp part and a metadata part
 *    (application/rs-metadata+xml, application/rs-metadata, or any part with
 *    Content-Disposition: recording-session); other parts are counted and ignored; the first
 *    of each kind is used;
 *  - a bare application/sdp body; when the request has X-Cisco-Recording-Participant headers
 *    (Cisco CUBE network-based recording), meta is synthesized from them: one participant per
 *    header (id and aor = the URI, name = its display name), sending stream N for
 *    media-index="N", whose label is the a=label of m= line N or, without one, "N"; session_id
 *    is the Cisco-Guid, sip_call_id the Call-ID;
 *  - a bare metadata body (RFC 7866 §9.1 metadata-only re-INVITE/UPDATE, as Avaya sends): sdp
 *    is empty.
 * The metadata is parsed with vox_rsmeta_parse; when it fails, has_meta is 0 and
 * meta.warnings has VOX_RSMETA_WARN_BAD_XML, and the call still succeeds (with `diag` holding
 * the XML error for the log): recording must not be refused over metadata.
 *
 * Returns 0; VOX_EMALFORMED only when the Content-Type does not parse, or a multipart body is
 * broken before an SDP part could be found (no boundary, no delimiter, a part whose headers do
 * not parse): `diag` (may be NULL) says which part and why; VOX_EINVAL for NULL arguments.
 */
int vox_siprec_offer_parse(const struct vox_sip_msg *msg, struct vox_siprec_offer *out,
                           struct vox_diag *diag);

#ifdef __cplusplus
}
#endif

#endif /* VOX_RSMETA_H */
