/* SPDX-License-Identifier: MIT */
/* SIP messages (RFC 3261): zero-copy parser, stream/datagram framer, validator and printer. */
#ifndef VOX_SIP_H
#define VOX_SIP_H

#include <stddef.h>
#include <stdint.h>

#include "vox/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Ownership, for the whole module (sip.h, sdp.h, multipart.h): every parsed field is a *view*,
 * a pointer + length into the buffer the caller passed in. Nothing is copied or allocated; views
 * stay valid as long as that buffer does and are never NUL-terminated. Inputs need not be
 * NUL-terminated either, and no function reads past the length it is given. An absent field is
 * the empty view {NULL, 0}. Nothing here keeps global state: all functions are thread-safe on
 * distinct objects.
 */
struct vox_str {
    const char *p;
    size_t len;
};

/* A view of a NUL-terminated string (for literals and caller strings). */
struct vox_str vox_str_c(const char *s);

/* 1 when the view equals `lit` byte for byte (vox_str_eq) or ignoring ASCII case (vox_str_ieq),
 * else 0. */
int vox_str_eq(struct vox_str s, const char *lit);
int vox_str_ieq(struct vox_str s, const char *lit);

/* Copies the view into dst[cap] as a NUL-terminated string, cut to cap - 1 bytes; returns the
 * view's length, so that a result >= cap means it was cut (as strlcpy). The empty view {NULL, 0}
 * gives "". cap must be at least 1. */
size_t vox_str_copy(char *dst, size_t cap, struct vox_str s);

/* ---- limits --------------------------------------------------------------------------------- */

#define VOX_SIP_MAX_HEADERS   128        /* header fields per message (513 beyond) */
#define VOX_SIP_MAX_MSG_BYTES (64 << 10) /* a whole message: start line + headers + body */

/* ---- header names ---------------------------------------------------------------------------- */

/*
 * Headers the parser knows by name: X(ID, full name, compact form or 0). Names compare without
 * case (RFC 3261 §7.3.1) and compact forms (RFC 3261 §7.3.3, plus the forms later RFCs added:
 * o Event, u Allow-Events RFC 6665; r Refer-To RFC 3515; b Referred-By RFC 3892; x
 * Session-Expires RFC 4028; y Identity RFC 8224; a/j/d RFC 3841) map to the same id.
 */
#define VOX_SIP_HEADER_MAP(X)                                                                      \
    X(ACCEPT, "Accept", 0)                                                                         \
    X(ACCEPT_CONTACT, "Accept-Contact", 'a')                                                       \
    X(ALLOW, "Allow", 0)                                                                           \
    X(ALLOW_EVENTS, "Allow-Events", 'u')                                                           \
    X(AUTHORIZATION, "Authorization", 0)                                                           \
    X(CALL_ID, "Call-ID", 'i')                                                                     \
    X(CONTACT, "Contact", 'm')                                                                     \
    X(CONTENT_DISPOSITION, "Content-Disposition", 0)                                               \
    X(CONTENT_ENCODING, "Content-Encoding", 'e')                                                   \
    X(CONTENT_ID, "Content-ID", 0)                                                                 \
    X(CONTENT_LENGTH, "Content-Length", 'l')                                                       \
    X(CONTENT_TYPE, "Content-Type", 'c')                                                           \
    X(CSEQ, "CSeq", 0)                                                                             \
    X(EVENT, "Event", 'o')                                                                         \
    X(EXPIRES, "Expires", 0)                                                                       \
    X(FROM, "From", 'f')                                                                           \
    X(IDENTITY, "Identity", 'y')                                                                   \
    X(MAX_FORWARDS, "Max-Forwards", 0)                                                             \
    X(MIME_VERSION, "MIME-Version", 0)                                                             \
    X(PROXY_REQUIRE, "Proxy-Require", 0)                                                           \
    X(RECORD_ROUTE, "Record-Route", 0)                                                             \
    X(REFER_TO, "Refer-To", 'r')                                                                   \
    X(REFERRED_BY, "Referred-By", 'b')                                                             \
    X(REJECT_CONTACT, "Reject-Contact", 'j')                                                       \
    X(REQUEST_DISPOSITION, "Request-Disposition", 'd')                                             \
    X(REQUIRE, "Require", 0)                                                                       \
    X(ROUTE, "Route", 0)                                                                           \
    X(SERVER, "Server", 0)                                                                         \
    X(SESSION_EXPIRES, "Session-Expires", 'x')                                                     \
    X(SUBJECT, "Subject", 's')                                                                     \
    X(SUPPORTED, "Supported", 'k')                                                                 \
    X(TIMESTAMP, "Timestamp", 0)                                                                   \
    X(TO, "To", 't')                                                                               \
    X(UNSUPPORTED, "Unsupported", 0)                                                               \
    X(USER_AGENT, "User-Agent", 0)                                                                 \
    X(VIA, "Via", 'v')

enum vox_sip_hdr {
    VOX_SIP_H_OTHER = 0, /* a header this table does not name: compare hdr->name yourself */
#define VOX__SIP_HDR_ENUM(id, name, compact) VOX_SIP_H_##id,
    VOX_SIP_HEADER_MAP(VOX__SIP_HDR_ENUM)
#undef VOX__SIP_HDR_ENUM
        VOX_SIP_H__COUNT
};

/* The full name of a known header ("Call-ID"), or NULL for VOX_SIP_H_OTHER / out of range. */
const char *vox_sip_hdr_name(enum vox_sip_hdr id);

/* The id of a header name, full or compact, any case ("i", "call-id" -> VOX_SIP_H_CALL_ID);
 * VOX_SIP_H_OTHER when unknown. */
enum vox_sip_hdr vox_sip_hdr_lookup(struct vox_str name);

/*
 * One header field. `value` is the raw span of the field value: leading and trailing
 * whitespace removed, everything else as on the wire. A value folded over several lines (RFC
 * 3261 §7.3.1: CRLF followed by SP/HTAB) is still one span, and then contains the line breaks
 * ("CRLF WSP" or, on LF-only input, "LF WSP"); `folds` counts them. Every helper of this module
 * that takes a value (vox_sip_next_item, the name-addr, Via, CSeq, media-type and parameter
 * parsers) treats such a line break as whitespace, so folding never changes what they return;
 * views they return may still contain a fold when it sat inside the returned token (e.g. in a
 * quoted display name). To get a flat copy, use vox_sip_unfold().
 */
struct vox_sip_header {
    struct vox_str name;  /* as written: "v", "VIA", "Via" ... */
    struct vox_str value; /* raw, may contain folds (see above) */
    enum vox_sip_hdr id;  /* compact forms mapped; VOX_SIP_H_OTHER when unknown */
    unsigned folds;       /* continuation lines of this field (0: one line) */
    unsigned line;        /* 1-based line of the message where the field starts */
};

/*
 * Tokenizes one header field of a header block (SIP message or MIME part) starting at
 * buf[*pos]. Returns 1 with *hdr filled (id mapped, line left 0) and *pos moved past the field's
 * last line break; 0 when buf[*pos] starts the empty line that ends the block (*pos moved past
 * it); VOX_EINCOMPLETE when the field or the block is not finished within len (the last line
 * could still be continued); VOX_EMALFORMED for a line with a NUL byte, a bare CR, a
 * continuation line with no field before it, a name that is not a token or a missing ':'; then
 * `diag` (may be NULL) names the offset and the fault. *pos only moves on success. Lines end with
 * CRLF or, tolerated, a bare LF.
 */
int vox_sip_header_next(const char *buf, size_t len, size_t *pos, struct vox_sip_header *hdr,
                        struct vox_diag *diag);

/*
 * Copies `value` into dst replacing every fold (line break followed by whitespace) with one SP
 * (RFC 3261 §7.3.1: a fold is equivalent to SP). Writes at most cap bytes and a NUL when there
 * is room; returns the unfolded length (which may exceed cap: then the copy is truncated).
 */
size_t vox_sip_unfold(struct vox_str value, char *dst, size_t cap);

/*
 * Iterates the comma-separated items of a header value (Via, Route, Contact, Supported ...;
 * RFC 3261 §7.3.1). *cursor starts as the whole value; each call stores the next item,
 * trimmed, in *item and returns 1, or returns 0 at the end. Commas inside quoted strings and
 * inside <...> do not split. Empty items (",,") are skipped.
 */
int vox_sip_next_item(struct vox_str *cursor, struct vox_str *item);

/* ---- parameters (";name=value") -------------------------------------------------------------- */

/*
 * Iterates generic parameters. *cursor holds text such as ";tag=1;lr;+sip.src" (a leading ';'
 * and whitespace are skipped). Each call stores the name and the value (empty for a flag
 * parameter such as "lr"; the inside of the quotes for a quoted value, escapes left as written)
 * and returns 1; returns 0 at the end. Ill-formed text ends the iteration (returns 0) rather
 * than failing: parameters are advisory.
 */
int vox_sip_param_next(struct vox_str *cursor, struct vox_str *name, struct vox_str *value);

/* Finds parameter `name` (case-insensitive) in `params`: 1 and *value set when present (empty
 * for a flag), 0 when absent. `value` may be NULL. */
int vox_sip_param_get(struct vox_str params, const char *name, struct vox_str *value);

/*
 * Copies the inside of a quoted string with its escapes resolved ("\"" -> '"', "\\" -> '\\';
 * RFC 3261 §25.1 quoted-pair) into dst (at most cap bytes, NUL-terminated when there is room);
 * returns the resulting length.
 */
size_t vox_sip_unquote(struct vox_str quoted_inner, char *dst, size_t cap);

/*
 * Copies `s` into dst decoding %HH escapes (RFC 3261 §19.1.2, URI user and parameters), at
 * most cap bytes, NUL-terminated when there is room. Returns the decoded length, or
 * VOX_EMALFORMED for a '%' not followed by two hex digits.
 */
int vox_sip_unescape(struct vox_str s, char *dst, size_t cap, size_t *out_len);

/* ---- URIs ------------------------------------------------------------------------------------ */

enum vox_sip_scheme {
    VOX_SIP_SCHEME_OTHER = 0, /* any other absoluteURI scheme (RFC 3261 §25.1): not split */
    VOX_SIP_SCHEME_SIP,
    VOX_SIP_SCHEME_SIPS,
    VOX_SIP_SCHEME_TEL, /* RFC 3966: user = the number, params after it, no host */
};

/*
 * A URI split into views (RFC 3261 §19.1.1, RFC 3966 for tel:). Escapes (%HH) are left as
 * written; use vox_sip_unescape.
 */
struct vox_sip_uri {
    enum vox_sip_scheme scheme;
    struct vox_str scheme_str; /* as written ("SIP", "sips", "tel", "urn" ...) */
    struct vox_str user;       /* user part, or the tel number; empty when absent */
    struct vox_str password;   /* after "user:", empty when absent */
    struct vox_str host;       /* hostname or IPv4, or IPv6 without its brackets */
    int host_ipv6;             /* 1: host was written "[...]" */
    unsigned port;             /* 0 when absent */
    struct vox_str params;     /* after the first ';' up to '?', e.g. "transport=tcp;lr" */
    struct vox_str headers;    /* after '?', e.g. "subject=x&priority=urgent" */
    struct vox_str rest;       /* for VOX_SIP_SCHEME_OTHER: everything after "scheme:" */
};

/*
 * Parses a URI (no surrounding <> or whitespace). sip/sips need a host; the port must be
 * 0..65535; IPv6 references must be closed; an empty user ("sip:@host") or a host with
 * characters outside [A-Za-z0-9.-_] is malformed. Returns 0 or VOX_EMALFORMED.
 */
int vox_sip_uri_parse(struct vox_str text, struct vox_sip_uri *uri);

/* ---- name-addr / addr-spec (From, To, Contact, Route, Record-Route, Refer-To ...) ---------- */

struct vox_sip_nameaddr {
    struct vox_str display; /* display name: the inside of its quotes (escapes as written; see
                               vox_sip_unquote) or the token sequence; empty when absent */
    int display_quoted;     /* 1: display was a quoted string */
    struct vox_str uri;     /* inside <...>, or the bare addr-spec; "*" for "Contact: *" */
    struct vox_str params;  /* header parameters after the URI (after '>' or, for a bare
                               addr-spec, after its first ';': RFC 3261 §20.10), no leading ';' */
    struct vox_str tag;     /* the "tag" parameter's value; empty when absent (see has_tag) */
    int has_tag;
};

/*
 * Parses one name-addr or addr-spec item (one element of a comma list: use vox_sip_next_item
 * first for Contact/Route). Examples: `"A. \"Bob\"" <sip:bob@b.com>;tag=9`, `Bob
 * <sips:bob@[2001:db8::1]:5061>`, `sip:bob@b.com;tag=9` (tag is a header param here), `<sip:srs>
 * ;+sip.src`. Returns 0 or VOX_EMALFORMED (unterminated quote or '<', empty URI, text after '>'
 * that is not a parameter).
 */
int vox_sip_nameaddr_parse(struct vox_str value, struct vox_sip_nameaddr *out);

/* ---- Via ------------------------------------------------------------------------------------- */

struct vox_sip_via {
    struct vox_str proto_name;    /* "SIP" */
    struct vox_str proto_version; /* "2.0" */
    struct vox_str transport;     /* "UDP", "TCP", "TLS", "SCTP", "WS" ... */
    struct vox_str host;          /* sent-by host, IPv6 without brackets */
    int host_ipv6;
    unsigned port;           /* sent-by port, 0 when absent */
    struct vox_str params;   /* "branch=z9hG4bK..;rport" (no leading ';') */
    struct vox_str branch;   /* empty when absent */
    struct vox_str received; /* empty when absent */
    int has_rport;           /* 1 when "rport" is present (RFC 3581) */
    unsigned rport;          /* its value, 0 when written as a flag */
};

/*
 * Parses one via-parm ("SIP / 2.0 / UDP host:port;branch=...", LWS allowed around the slashes:
 * RFC 3261 §25.1). Returns 0 or VOX_EMALFORMED (missing parts, bad port, bad rport value).
 */
int vox_sip_via_parse(struct vox_str value, struct vox_sip_via *out);

/* ---- media types (Content-Type, also used by multipart.h) ----------------------------------- */

struct vox_sip_media_type {
    struct vox_str type;    /* "multipart", "application" ... as written */
    struct vox_str subtype; /* "mixed", "sdp", "rs-metadata+xml" ... */
    struct vox_str params;  /* "boundary=abc;charset=utf-8" (no leading ';'); see param_get */
};

/* Parses "type/subtype *(; param)" (RFC 3261 §20.15, RFC 2045 §5.1). Returns 0 or
 * VOX_EMALFORMED. */
int vox_sip_media_type_parse(struct vox_str value, struct vox_sip_media_type *out);

/* 1 when the media type is `type_subtype` ("application/sdp"), comparing without case. */
int vox_sip_media_type_is(const struct vox_sip_media_type *mt, const char *type_subtype);

/* ---- messages -------------------------------------------------------------------------------- */

enum vox_sip_method {
    VOX_SIP_METHOD_OTHER = 0, /* an extension method: see msg->method */
    VOX_SIP_METHOD_INVITE,
    VOX_SIP_METHOD_ACK,
    VOX_SIP_METHOD_BYE,
    VOX_SIP_METHOD_CANCEL,
    VOX_SIP_METHOD_OPTIONS,
    VOX_SIP_METHOD_REGISTER,
    VOX_SIP_METHOD_PRACK,
    VOX_SIP_METHOD_SUBSCRIBE,
    VOX_SIP_METHOD_NOTIFY,
    VOX_SIP_METHOD_PUBLISH,
    VOX_SIP_METHOD_INFO,
    VOX_SIP_METHOD_REFER,
    VOX_SIP_METHOD_MESSAGE,
    VOX_SIP_METHOD_UPDATE,
};

/* The method id of a method name (case-sensitive, RFC 3261 §7.1). */
enum vox_sip_method vox_sip_method_lookup(struct vox_str name);

/*
 * Why a message was refused, in the form a server answers with. Filled by vox_sip_parse,
 * vox_sip_validate and vox_sip_frame when they fail (zeroed on success).
 */
struct vox_sip_error {
    int status;      /* suggested response to a request: 400 (malformed), 413 (body too large),
                        416 (URI scheme), 505 (SIP version), 513 (message too large); 0 when the
                        message is a response or could not be identified as a request */
    char reason[96]; /* reason phrase for that status, e.g. "Bad Request - missing Call-ID" */
    size_t offset;   /* byte offset of the problem in the input */
    unsigned line;   /* 1-based line of the problem (0 when not about one line) */
};

/* Warnings: accepted, but worth logging or counting (msg->warnings). */
#define VOX_SIP_WARN_NO_MAX_FORWARDS 0x1u  /* request without Max-Forwards (RFC 3261 §8.1.1.6) */
#define VOX_SIP_WARN_NO_BRANCH       0x2u  /* top Via without a branch (RFC 2543 peer) */
#define VOX_SIP_WARN_OLD_BRANCH      0x4u  /* branch without the z9hG4bK magic cookie */
#define VOX_SIP_WARN_LF_ONLY         0x8u  /* lines end with a bare LF, not CRLF */
#define VOX_SIP_WARN_FOLDED          0x10u /* at least one header value is folded */
#define VOX_SIP_WARN_TRAILING_BYTES  0x20u /* bytes after the Content-Length body (ignored) */

/*
 * A parsed message. Large (about 6.5 KiB, the header array); parse into a reused one or keep it
 * on the stack. All views point into the buffer given to vox_sip_parse.
 */
struct vox_sip_msg {
    struct vox_str raw;                                 /* the input given to vox_sip_parse */
    int is_request;                                     /* 1: request line; 0: status line */
    struct vox_str method;                              /* request: "INVITE" ... */
    enum vox_sip_method method_id;                      /* request: the method's id */
    struct vox_str request_uri;                         /* request: as written */
    struct vox_str version;                             /* "SIP/2.0" as written (either kind) */
    int status;                                         /* response: 100..699 */
    struct vox_str reason;                              /* response: reason phrase, may be empty */
    struct vox_sip_header headers[VOX_SIP_MAX_HEADERS]; /* in wire order */
    size_t nheaders;
    int16_t first[VOX_SIP_H__COUNT]; /* index of the first header of each id, -1 when absent */
    long content_length;             /* Content-Length value, -1 when absent */
    size_t header_bytes;             /* start line + headers + empty line */
    struct vox_str body;             /* Content-Length bytes after the headers, or all the rest */
    size_t msg_bytes;                /* header_bytes + body.len (bytes after it are ignored) */
    unsigned warnings;               /* VOX_SIP_WARN_* */
    struct vox_sip_error error;      /* why parse/validate failed */
};

/*
 * Parses one SIP message occupying buf[0..len) (a datagram, or what vox_sip_frame delimited):
 * start line (RFC 3261 §7.1/§7.2: exactly one SP between the request-line elements, status code
 * 100..699, SIP version "SIP/2.0" in any case), header fields (vox_sip_header_next: folds,
 * compact forms, names without case), the empty line and the body. Content-Length, when present
 * (all copies must agree), gives the body length and bytes after it are ignored
 * (VOX_SIP_WARN_TRAILING_BYTES); when absent the body is the rest of the input. This checks
 * syntax only: which headers a request must carry is vox_sip_validate's job.
 *
 * Returns 0, or:
 *  - VOX_EINCOMPLETE: the input ends inside the start line or headers, or holds less body than
 *    Content-Length (on a datagram, treat this as malformed; vox_sip_frame does);
 *  - VOX_EMALFORMED: bad start line (400, or 505 for "SIP/x.y" other than 2.0), NUL byte or
 *    bare CR (400), bad header line (400), invalid or conflicting Content-Length (400);
 *  - VOX_ELIMIT: more than VOX_SIP_MAX_HEADERS headers or VOX_SIP_MAX_MSG_BYTES bytes (513), a
 *    Content-Length over the size limit (413).
 * On failure msg->error says why (status, reason phrase, offset, line) and `diag` (may be NULL)
 * holds a sentence such as "line 4 (offset 97): header name followed by ' ' then 'x', expected
 * ':'"; msg keeps the start line and the headers read before the fault, so that a server can
 * still answer with msg->error.status when they include Via, From, To, Call-ID and CSeq.
 */
int vox_sip_parse(const char *buf, size_t len, struct vox_sip_msg *msg, struct vox_diag *diag);

/*
 * Checks what a parsed message must carry (RFC 3261 §8.1.1, §20): exactly one Call-ID (non
 * empty), From and To (valid name-addr), CSeq (number < 2^31 and a method; for a request the
 * same method as the request line), at least one Via whose top entry parses with protocol
 * SIP/2.0; for a request also a Request-URI that parses (sip/sips/tel; another scheme -> 416)
 * and, when present, Max-Forwards 0..255 and Expires as a number. A request without
 * Max-Forwards is accepted with VOX_SIP_WARN_NO_MAX_FORWARDS; branch warnings are set too.
 * Returns 0 or VOX_EMALFORMED with msg->error (400 "Bad Request - missing Call-ID", ...) and
 * `diag` filled.
 */
int vox_sip_validate(struct vox_sip_msg *msg, struct vox_diag *diag);

/* The first header with this id (index into msg->headers at or after `from`), or NULL. */
const struct vox_sip_header *vox_sip_find(const struct vox_sip_msg *msg, enum vox_sip_hdr id,
                                          size_t from);

/* The first header whose name is `name` (any case, compact forms too), or NULL. */
const struct vox_sip_header *vox_sip_find_name(const struct vox_sip_msg *msg, const char *name);

/*
 * Iterates the items of every header with one id, in wire order, across header fields and
 * commas: all Via entries top to bottom, all Route entries, every option tag of Supported.
 *     struct vox_sip_iter it; struct vox_str v;
 *     vox_sip_iter_init(&it, msg, VOX_SIP_H_VIA);
 *     while (vox_sip_iter_next(&it, &v)) ...
 */
struct vox_sip_iter {
    const struct vox_sip_msg *msg;
    enum vox_sip_hdr id;
    size_t next_hdr;     /* index of the next header to look at */
    struct vox_str rest; /* items left in the current header */
};
void vox_sip_iter_init(struct vox_sip_iter *it, const struct vox_sip_msg *msg, enum vox_sip_hdr id);
int vox_sip_iter_next(struct vox_sip_iter *it, struct vox_str *item); /* 1 item, 0 end */

/* Quick accessors. Each returns 0, VOX_ENOENT when the header is absent, or VOX_EMALFORMED. */
int vox_sip_get_call_id(const struct vox_sip_msg *msg, struct vox_str *call_id);

struct vox_sip_cseq {
    uint32_t number; /* < 2^31 */
    struct vox_str method;
};
/* Parses "CSeq: 4711 INVITE" (RFC 3261 §20.16) from a value. */
int vox_sip_cseq_parse(struct vox_str value, struct vox_sip_cseq *out);
int vox_sip_get_cseq(const struct vox_sip_msg *msg, struct vox_sip_cseq *cseq);

int vox_sip_get_from(const struct vox_sip_msg *msg, struct vox_sip_nameaddr *from);
int vox_sip_get_to(const struct vox_sip_msg *msg, struct vox_sip_nameaddr *to);
/* The first Contact item ("*" gives uri "*"). */
int vox_sip_get_contact(const struct vox_sip_msg *msg, struct vox_sip_nameaddr *contact);
/* The Via entry number `index` (0 = topmost), counting across fields and commas. */
int vox_sip_get_via(const struct vox_sip_msg *msg, size_t index, struct vox_sip_via *via);
/* Number of Via entries (across fields and commas). */
size_t vox_sip_via_count(const struct vox_sip_msg *msg);
int vox_sip_get_content_type(const struct vox_sip_msg *msg, struct vox_sip_media_type *type);
/* Content-Length as parsed (see msg->content_length); VOX_ENOENT when absent. */
int vox_sip_get_content_length(const struct vox_sip_msg *msg, size_t *len_bytes);
int vox_sip_get_max_forwards(const struct vox_sip_msg *msg, unsigned *hops);
int vox_sip_get_expires(const struct vox_sip_msg *msg, uint32_t *seconds);

/* 1 when a Require / Supported / Proxy-Require / Unsupported header (pick by id) lists option
 * tag `tag` (case-insensitive, e.g. "siprec", "timer"), else 0. */
int vox_sip_has_option(const struct vox_sip_msg *msg, enum vox_sip_hdr id, const char *tag);

/* ---- framing --------------------------------------------------------------------------------- */

enum vox_sip_transport {
    VOX_SIP_TRANSPORT_UDP = 0, /* one datagram = one message */
    VOX_SIP_TRANSPORT_STREAM,  /* TCP, TLS, SCTP-as-stream: Content-Length delimits */
};

struct vox_sip_frame {
    size_t skip;       /* leading CRLF keep-alive bytes to discard before the message */
    unsigned pings;    /* CRLFCRLF pings among them (RFC 5626 §3.5.1: answer each with CRLF) */
    size_t len;        /* bytes of the message after `skip` (start line .. end of body) */
    size_t header_len; /* of which start line + headers + empty line */
    size_t body_len;   /* of which body */
    struct vox_sip_error error;
};

/*
 * Finds the first message in buf[0..len). Leading CRLFs (keep-alives) are counted in out->skip.
 *
 * STREAM (RFC 3261 §18.3): Content-Length is mandatory. Returns 0 when buf holds the whole
 * message: it is buf[skip .. skip + len), and the next one starts right after. Returns
 * VOX_EINCOMPLETE while more bytes are needed (out->skip and out->pings are still valid, so
 * keep-alives can be dropped and answered before the message arrives); VOX_EMALFORMED for a
 * header block that does not tokenize, a missing or invalid Content-Length (400); VOX_ELIMIT
 * when the headers grow past VOX_SIP_MAX_MSG_BYTES with no end (513) or Content-Length exceeds
 * it (413). After an error the stream cannot be resynchronised: close it.
 *
 * UDP: buf is one datagram. Returns 0 with len = header block + Content-Length (extra bytes
 * are ignored) or, without Content-Length, the rest of the datagram; VOX_EINCOMPLETE when the
 * datagram holds only keep-alive CRLFs (skip == len: nothing to parse); VOX_EMALFORMED when the
 * headers do not end or Content-Length is larger than the datagram (400); VOX_ELIMIT as above.
 *
 * The framer tokenizes the headers only as far as needed for Content-Length; vox_sip_parse
 * still does the full check. `diag` (may be NULL) explains failures.
 */
int vox_sip_frame(const char *buf, size_t len, enum vox_sip_transport transport,
                  struct vox_sip_frame *out, struct vox_diag *diag);

/* ---- printing -------------------------------------------------------------------------------- */

/* One header to print: "name: value". value may hold anything but CR, LF and NUL. */
struct vox_sip_field {
    const char *name;
    const char *value;
};

/* The default reason phrase of a status code ("OK", "Bad Request" ...; "Unknown" otherwise). */
const char *vox_sip_reason_phrase(int status);

struct vox_sip_response_spec {
    int status;                          /* 100..699 */
    const char *reason;                  /* NULL: vox_sip_reason_phrase(status) */
    const char *to_tag;                  /* added to To when it has no tag and status > 100 */
    const struct vox_sip_field *headers; /* printed after the copied ones, in order */
    size_t nheaders;
    const char *content_type; /* printed when body.len > 0 */
    struct vox_str body;
};

/*
 * Prints a response to `req` into buf (RFC 3261 §8.2.6): status line; every Via in order
 * (values unfolded), then for 101..299 every Record-Route (§12.1.1); From; To with
 * ";tag=<to_tag>" appended when it had none (and status > 100 and to_tag is set); Call-ID;
 * CSeq; the caller's headers; Content-Type (with a body); Content-Length (always). Header names
 * are printed in full form. Headers the request lacks are skipped, so a 400 can answer a
 * request that failed vox_sip_validate. A NUL is written after the message when room is left
 * (not counted). Returns 0 with *out_len set, VOX_EINVAL (bad status, not a request, CR/LF in a
 * caller string) or VOX_ERANGE when cap is too small (buf then holds a truncated prefix).
 */
int vox_sip_print_response(const struct vox_sip_msg *req, const struct vox_sip_response_spec *spec,
                           char *buf, size_t cap, size_t *out_len);

struct vox_sip_request_spec {
    const char *method;                  /* "INVITE" */
    const char *request_uri;             /* "sip:srs@example.com" */
    const struct vox_sip_field *headers; /* printed in order; do not pass Content-Length */
    size_t nheaders;
    const char *content_type; /* printed when body.len > 0 */
    struct vox_str body;
};

/*
 * Prints a request: "METHOD URI SIP/2.0", the caller's headers in order, Content-Type (with a
 * body) and Content-Length (always), the empty line and the body. NUL-terminated as above.
 * Returns 0, VOX_EINVAL (empty method or URI, whitespace in them, CR/LF in a value) or
 * VOX_ERANGE.
 */
int vox_sip_print_request(const struct vox_sip_request_spec *spec, char *buf, size_t cap,
                          size_t *out_len);

#ifdef __cplusplus
}
#endif

#endif /* VOX_SIP_H */
