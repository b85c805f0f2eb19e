/* SPDX-License-Identifier: MIT */
/* RFC 7865 recording metadata in its vendor dialects (libxml2, hardened), merging of updates,
 * JSON output (jansson), and the SIPREC offer extractor of RFC 7866 requests. */
#include "vox/rsmeta.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "vox/multipart.h"
#include "vox/sdp.h"

#define NS_RFC     "urn:ietf:params:xml:ns:recording:1"
#define NS_DRAFT   "urn:ietf:params:xml:ns:recording"
#define NS_SIPREC  "urn:ietf:params:xml:ns:siprec"
#define CISCO_PART "X-Cisco-Recording-Participant"

const char *vox_rsmeta_dialect_name(enum vox_rsmeta_dialect d)
{
    switch (d) {
    case VOX_RSMETA_RFC7865:
        return "rfc7865";
    case VOX_RSMETA_DRAFT:
        return "draft";
    case VOX_RSMETA_BROADWORKS:
        return "broadworks";
    case VOX_RSMETA_SONUS:
        return "sonus";
    case VOX_RSMETA_CISCO_NBR:
        return "cisco-nbr";
    case VOX_RSMETA_NONE:
    default:
        return "none";
    }
}

/* ---- strings --------------------------------------------------------------------------------- */

static int is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Length of the longest prefix of s[0..n) that does not end inside a UTF-8 sequence, so that a
 * cut value stays valid UTF-8 (jansson refuses anything else). */
static size_t utf8_cut(const char *s, size_t n)
{
    size_t i = n, lead;
    unsigned char c;
    size_t need;

    /* step back over at most 3 continuation bytes to the lead byte of the last character */
    while (i > 0 && n - i < 3 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
        i--;
    if (i == 0)
        return n;
    lead = i - 1;
    c = (unsigned char)s[lead];
    if (c < 0x80)
        return n; /* ASCII before the trailing continuation bytes (if any): keep as is */
    need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    return n - lead >= need ? n : lead;
}

/* Copies s[0..n), trimmed of XML/SIP whitespace, into dst (cap bytes, always NUL-terminated);
 * sets VOX_RSMETA_WARN_TRUNCATED in *warn when it had to cut. */
static void copy_trim(char *dst, size_t cap, const char *s, size_t n, unsigned *warn)
{
    size_t k;

    while (n && is_ws((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n && is_ws((unsigned char)s[n - 1]))
        n--;
    k = n;
    if (k > cap - 1) {
        k = utf8_cut(s, cap - 1);
        *warn |= VOX_RSMETA_WARN_TRUNCATED;
    }
    if (k)
        memcpy(dst, s, k);
    dst[k] = 0;
}

static void copy_view(char *dst, size_t cap, struct vox_str v, unsigned *warn)
{
    copy_trim(dst, cap, v.p ? v.p : "", v.p ? v.len : 0, warn);
}

/* ---- times ----------------------------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1..12). */
static int64_t days_from_civil(int64_t y, unsigned mon, unsigned day)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= mon <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (mon + (mon > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char *s, size_t n, unsigned *v)
{
    size_t i;

    *v = 0;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        *v = *v * 10 + (unsigned)(s[i] - '0');
    }
    return 1;
}

/*
 * xs:dateTime ("2019-03-09T16:50:20", "2017-06-23T12:16:06.040Z", "2019-01-13T14:48:35-05:00")
 * to Unix milliseconds; a time without a zone is taken as UTC (the SRCs that omit it send UTC).
 * Returns 0 or -1 when the text is not such a time.
 */
static int parse_datetime(const char *s, int64_t *ms_out)
{
    size_t n = strlen(s), i;
    unsigned y, mo, d, h, mi, sec, ms = 0, zh = 0, zm = 0;
    int64_t t;
    int sign = 0;

    if (n < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        s[13] != ':' || s[16] != ':')
        return -1;
    if (!digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) ||
        !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &sec))
        return -1;
    /* before 1970 is no recording time, and would collide with -1 (absent) */
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 24 || mi > 59 || sec > 60)
        return -1;
    i = 19;
    if (i < n && s[i] == '.') {
        unsigned scale = 100;

        i++;
        if (i >= n || s[i] < '0' || s[i] > '9')
            return -1;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
            ms += (unsigned)(s[i] - '0') * scale;
            scale /= 10;
        }
    }
    /* the rest is a zone or nothing */
    if (i < n && !((s[i] == 'Z' || s[i] == 'z') && i + 1 == n)) {
        if ((s[i] != '+' && s[i] != '-') || n - i != 6 || s[i + 3] != ':' ||
            !digits(s + i + 1, 2, &zh) || !digits(s + i + 4, 2, &zm) || zh > 14 || zm > 59)
            return -1;
        sign = s[i] == '+' ? 1 : -1;
    }
    t = days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + sec;
    t -= sign * ((int64_t)zh * 3600 + (int64_t)zm * 60);
    if (t < 0)
        return -1;
    *ms_out = t * 1000 + ms;
    return 0;
}

/* ---- libxml2 tree access without allocation -------------------------------------------------- */

/* The local part of a node name. With an undeclared prefix libxml2 keeps "tns:recording" as
 * the name: the prefix is dropped here so that such a document still reads. */
static const char *local_name(const xmlChar *name)
{
    const char *s = (const char *)name, *c = s ? strrchr(s, ':') : NULL;

    return c ? c + 1 : s;
}

static int is_elem(const xmlNode *n, const char *local)
{
    return n->type == XML_ELEMENT_NODE && n->name && strcasecmp(local_name(n->name), local) == 0;
}

/* Appends the text and CDATA children of n (not deeper) into buf: leading whitespace skipped,
 * at most cap - 1 bytes kept; *cut is set when non-whitespace did not fit. Returns the length. */
static size_t gather_text(const xmlNode *n, char *buf, size_t cap, int *cut)
{
    const xmlNode *c;
    size_t len = 0;

    *cut = 0;
    for (c = n ? n->children : NULL; c; c = c->next) {
        const char *t;

        if ((c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE) || !c->content)
            continue;
        for (t = (const char *)c->content; *t; t++) {
            if (len == 0 && is_ws((unsigned char)*t))
                continue;
            if (len < cap - 1)
                buf[len++] = *t;
            else if (!is_ws((unsigned char)*t))
                *cut = 1;
        }
    }
    buf[len] = 0;
    return len;
}

/* The trimmed text content of n into dst (cap bytes). */
static void elem_text(const xmlNode *n, char *dst, size_t cap, unsigned *warn)
{
    char tmp[512];
    int cut;
    size_t len = gather_text(n, tmp, sizeof(tmp), &cut);

    if (cut)
        *warn |= VOX_RSMETA_WARN_TRUNCATED;
    copy_trim(dst, cap, tmp, len, warn);
}

/* The attribute `name` of n (local name, any case): 1 with its trimmed value in dst, 0 when
 * absent. */
static int attr_text(const xmlNode *n, const char *name, char *dst, size_t cap, unsigned *warn)
{
    const xmlAttr *a;

    for (a = n->properties; a; a = a->next) {
        if (a->type != XML_ATTRIBUTE_NODE || !a->name || strcasecmp(local_name(a->name), name) != 0)
            continue;
        elem_text((const xmlNode *)a, dst, cap, warn);
        return 1;
    }
    return 0;
}

/* The first element named `local` among the children of n, or NULL. */
static const xmlNode *child(const xmlNode *n, const char *local)
{
    const xmlNode *c;

    for (c = n->children; c; c = c->next)
        if (is_elem(c, local))
            return c;
    return NULL;
}

/* The first element named `local` at or under n (depth-first, bounded by the parser's depth
 * limit), or NULL. */
static const xmlNode *find_deep(const xmlNode *n, const char *local, int depth)
{
    const xmlNode *c;

    if (is_elem(n, local))
        return n;
    if (depth > VOX_RSMETA_MAX_DEPTH)
        return NULL;
    for (c = n->children; c; c = c->next) {
        const xmlNode *r = c->type == XML_ELEMENT_NODE ? find_deep(c, local, depth + 1) : NULL;

        if (r)
            return r;
    }
    return NULL;
}

/* ---- the model ------------------------------------------------------------------------------- */

struct build {
    struct vox_rsmeta *m;
    int draft;               /* pre-RFC markers seen: id= / session= attributes */
    int send_in_participant; /* <send>/<recv> inside <participant> (the draft's form) */
    int partial;             /* datamode "partial": references to undefined ids are expected */
    int call_rank; /* where sip_call_id came from: 0 none, 1 sipSessionID, 2 call-ID, 3 callData */
};

static void participant_init(struct vox_rsmeta_participant *p)
{
    memset(p, 0, sizeof(*p));
    p->start_unix_ms = -1;
    p->stop_unix_ms = -1;
}

static int find_participant(const struct vox_rsmeta *m, const char *id)
{
    size_t i;

    if (!id[0])
        return -1;
    for (i = 0; i < m->nparticipants; i++)
        if (strcmp(m->participants[i].id, id) == 0)
            return (int)i;
    return -1;
}

static int find_stream(const struct vox_rsmeta *m, const char *id)
{
    size_t i;

    if (!id[0])
        return -1;
    for (i = 0; i < m->nstreams; i++)
        if (strcmp(m->streams[i].id, id) == 0)
            return (int)i;
    return -1;
}

/* Appends a participant with this id: its index, or -1 when full (WARN_TOO_MANY). */
static int add_participant(struct vox_rsmeta *m, const char *id)
{
    struct vox_rsmeta_participant *p;

    if (m->nparticipants >= VOX_RSMETA_MAX_PARTICIPANTS) {
        m->warnings |= VOX_RSMETA_WARN_TOO_MANY;
        return -1;
    }
    p = &m->participants[m->nparticipants];
    participant_init(p);
    snprintf(p->id, sizeof(p->id), "%s", id);
    return (int)m->nparticipants++;
}

static int add_stream(struct vox_rsmeta *m, const char *id)
{
    struct vox_rsmeta_stream *s;

    if (m->nstreams >= VOX_RSMETA_MAX_STREAMS) {
        m->warnings |= VOX_RSMETA_WARN_TOO_MANY;
        return -1;
    }
    s = &m->streams[m->nstreams];
    memset(s, 0, sizeof(*s));
    s->sender = -1;
    snprintf(s->id, sizeof(s->id), "%s", id);
    return (int)m->nstreams++;
}

/* A participant named by a reference: the defined one, or a placeholder with only its id. */
static int ref_participant(struct build *b, const char *id)
{
    int i = find_participant(b->m, id);

    if (i >= 0 || !id[0])
        return i;
    if (!b->partial)
        b->m->warnings |= VOX_RSMETA_WARN_DANGLING;
    return add_participant(b->m, id);
}

static int ref_stream(struct build *b, const char *id)
{
    int i = find_stream(b->m, id);

    if (i >= 0 || !id[0])
        return i;
    if (!b->partial)
        b->m->warnings |= VOX_RSMETA_WARN_DANGLING;
    return add_stream(b->m, id);
}

/* Adds an AoR (no duplicates, none empty). Returns 0, or -1 when the participant is full (and
 * sets VOX_RSMETA_WARN_TOO_MANY). */
static int add_aor(struct vox_rsmeta *m, struct vox_rsmeta_participant *p, const char *aor)
{
    size_t i;

    if (!aor[0])
        return 0;
    for (i = 0; i < p->naor; i++)
        if (strcmp(p->aor[i], aor) == 0)
            return 0;
    if (p->naor >= VOX_RSMETA_MAX_AORS) {
        m->warnings |= VOX_RSMETA_WARN_TOO_MANY;
        return -1;
    }
    snprintf(p->aor[p->naor++], sizeof(p->aor[0]), "%s", aor);
    return 0;
}

/* Adds stream index s to a send or recv list (no duplicates). Returns 0 or -1 when full. */
static int list_add(int *list, size_t *n, int s)
{
    size_t i;

    for (i = 0; i < *n; i++)
        if (list[i] == s)
            return 0;
    if (*n >= VOX_RSMETA_MAX_STREAMS)
        return -1;
    list[(*n)++] = s;
    return 0;
}

/* Sets each stream's sender: the first participant whose send list holds it. */
static void compute_senders(struct vox_rsmeta *m)
{
    size_t i, j;

    for (i = 0; i < m->nstreams; i++)
        m->streams[i].sender = -1;
    for (i = 0; i < m->nparticipants; i++)
        for (j = 0; j < m->participants[i].nsend; j++) {
            int s = m->participants[i].send[j];

            if (s >= 0 && (size_t)s < m->nstreams && m->streams[s].sender < 0)
                m->streams[s].sender = (int)i;
        }
}

static void set_time(struct vox_rsmeta *m, const xmlNode *n, int64_t *dst)
{
    char t[64];
    int64_t ms;
    unsigned w = 0;

    elem_text(n, t, sizeof(t), &w);
    if (parse_datetime(t, &ms) == 0)
        *dst = ms;
    else
        m->warnings |= VOX_RSMETA_WARN_BAD_TIME;
}

static void take_call_id(struct build *b, const xmlNode *n, int rank)
{
    char tmp[sizeof(b->m->sip_call_id)];
    unsigned w = 0;

    if (rank <= b->call_rank)
        return;
    elem_text(n, tmp, sizeof(tmp), &w);
    if (!tmp[0])
        return;
    b->m->warnings |= w;
    memcpy(b->m->sip_call_id, tmp, sizeof(tmp));
    b->call_rank = rank;
}

/* Sonus/Ribbon <callData xmlns='urn:ietf:params:xml:ns:callData'>: From, To and Call-ID of the
 * recorded call. */
static void read_call_data(struct build *b, const xmlNode *cd)
{
    const xmlNode *c;

    for (c = cd->children; c; c = c->next) {
        if (is_elem(c, "fromhdr"))
            elem_text(c, b->m->from, sizeof(b->m->from), &b->m->warnings);
        else if (is_elem(c, "tohdr"))
            elem_text(c, b->m->to, sizeof(b->m->to), &b->m->warnings);
        else if (is_elem(c, "callid"))
            take_call_id(b, c, 3);
    }
}

static void read_group(struct build *b, const xmlNode *n)
{
    char id[96];

    if (b->m->group_id[0])
        return;
    if (attr_text(n, "group_id", id, sizeof(id), &b->m->warnings) ||
        attr_text(n, "id", id, sizeof(id), &b->m->warnings))
        memcpy(b->m->group_id, id, sizeof(id));
}

static void read_session(struct build *b, const xmlNode *n)
{
    struct vox_rsmeta *m = b->m;
    const xmlNode *c;

    {
        char id[96];
        int found = attr_text(n, "session_id", id, sizeof(id), &m->warnings);

        if (!found && attr_text(n, "id", id, sizeof(id), &m->warnings)) {
            found = 1;
            b->draft = 1;
        }
        if (found && !m->session_id[0])
            memcpy(m->session_id, id, sizeof(id));
    }
    /* BroadWorks names its group in an attribute, RFC 7865 in <group-ref> */
    if (!m->group_id[0])
        attr_text(n, "group", m->group_id, sizeof(m->group_id), &m->warnings);
    for (c = n->children; c; c = c->next) {
        if (is_elem(c, "group-ref") && !m->group_id[0])
            elem_text(c, m->group_id, sizeof(m->group_id), &m->warnings);
        else if (is_elem(c, "sipSessionID"))
            take_call_id(b, c, 1);
        else if (is_elem(c, "call-ID") || is_elem(c, "callid"))
            take_call_id(b, c, 2);
    }
}

/* Pass 1: a <participant> definition (its id, names, AoRs and, in the draft, its times). */
static void define_participant(struct build *b, const xmlNode *n)
{
    struct vox_rsmeta *m = b->m;
    struct vox_rsmeta_participant *p;
    const xmlNode *c;
    char id[96], tmp[256];
    int i;

    id[0] = 0;
    if (!attr_text(n, "participant_id", id, sizeof(id), &m->warnings) &&
        attr_text(n, "id", id, sizeof(id), &m->warnings))
        b->draft = 1;
    if (attr_text(n, "session", tmp, sizeof(tmp), &m->warnings))
        b->draft = 1;
    if (!id[0])
        m->warnings |= VOX_RSMETA_WARN_NO_ID;
    i = find_participant(m, id);
    if (i >= 0)
        m->warnings |= VOX_RSMETA_WARN_DUPLICATE;
    else
        i = add_participant(m, id);
    if (i < 0)
        return;
    p = &m->participants[i];
    for (c = n->children; c; c = c->next) {
        if (is_elem(c, "nameID")) {
            const xmlNode *nm = child(c, "name");

            if (attr_text(c, "aor", tmp, sizeof(tmp), &m->warnings))
                add_aor(m, p, tmp);
            if (nm && !p->name[0])
                elem_text(nm, p->name, sizeof(p->name), &m->warnings);
        } else if (is_elem(c, "aor")) {
            elem_text(c, tmp, sizeof(tmp), &m->warnings);
            add_aor(m, p, tmp);
        } else if (is_elem(c, "name")) {
            if (!p->name[0])
                elem_text(c, p->name, sizeof(p->name), &m->warnings);
        } else if (is_elem(c, "associate-time")) {
            set_time(m, c, &p->start_unix_ms);
        } else if (is_elem(c, "disassociate-time")) {
            set_time(m, c, &p->stop_unix_ms);
        }
    }
}

/* Pass 1: a <stream> definition. */
static void define_stream(struct build *b, const xmlNode *n)
{
    struct vox_rsmeta *m = b->m;
    struct vox_rsmeta_stream *s;
    const xmlNode *label = child(n, "label");
    char id[96], sess[96];
    int i;

    id[0] = sess[0] = 0;
    if (!attr_text(n, "stream_id", id, sizeof(id), &m->warnings) &&
        attr_text(n, "id", id, sizeof(id), &m->warnings))
        b->draft = 1;
    if (!attr_text(n, "session_id", sess, sizeof(sess), &m->warnings) &&
        attr_text(n, "session", sess, sizeof(sess), &m->warnings))
        b->draft = 1;
    if (!id[0])
        m->warnings |= VOX_RSMETA_WARN_NO_ID;
    i = find_stream(m, id);
    if (i >= 0)
        m->warnings |= VOX_RSMETA_WARN_DUPLICATE;
    else
        i = add_stream(m, id);
    if (i < 0)
        return;
    s = &m->streams[i];
    if (sess[0])
        memcpy(s->session_id, sess, sizeof(sess));
    if (label && !s->label[0])
        elem_text(label, s->label, sizeof(s->label), &m->warnings);
    if (!s->label[0])
        m->warnings |= VOX_RSMETA_WARN_NO_LABEL;
}

/* The stream id a <send>/<recv> names: its text, or (BroadWorks) the text of its <id> child. */
static void stream_ref(const xmlNode *n, char *id, size_t cap, unsigned *warn)
{
    const xmlNode *c;

    elem_text(n, id, cap, warn);
    if (id[0])
        return;
    c = child(n, "id");
    if (c)
        elem_text(c, id, cap, warn);
}

/* Pass 2: the <send>/<recv> children of a participant or a participantstreamassoc. */
static void read_send_recv(struct build *b, int pi, const xmlNode *n)
{
    struct vox_rsmeta *m = b->m;
    const xmlNode *c;
    char id[96];

    for (c = n->children; c; c = c->next) {
        struct vox_rsmeta_participant *p;
        int is_send = is_elem(c, "send"), s;

        if (!is_send && !is_elem(c, "recv"))
            continue;
        if (pi < 0)
            return;
        p = &m->participants[pi];
        p->has_assoc = 1;
        stream_ref(c, id, sizeof(id), &m->warnings);
        s = ref_stream(b, id);
        if (s < 0)
            continue;
        if (is_send ? list_add(p->send, &p->nsend, s) : list_add(p->recv, &p->nrecv, s))
            m->warnings |= VOX_RSMETA_WARN_TOO_MANY;
    }
}

/* Pass 2: associations, which may name participants and streams defined anywhere. */
static void read_assoc(struct build *b, const xmlNode *n)
{
    struct vox_rsmeta *m = b->m;
    const xmlNode *c;
    char id[96];
    int pi;

    if (is_elem(n, "participant")) {
        id[0] = 0;
        if (!attr_text(n, "participant_id", id, sizeof(id), &m->warnings))
            attr_text(n, "id", id, sizeof(id), &m->warnings);
        pi = id[0] ? find_participant(m, id) : -1;
        if (pi < 0)
            return; /* empty id or dropped over the limit */
        if (child(n, "send") || child(n, "recv")) {
            b->send_in_participant = 1;
            read_send_recv(b, pi, n);
        }
        return;
    }
    if (!attr_text(n, "participant_id", id, sizeof(id), &m->warnings) || !id[0]) {
        m->warnings |= VOX_RSMETA_WARN_NO_ID;
        return;
    }
    pi = ref_participant(b, id);
    if (pi < 0)
        return;
    if (is_elem(n, "participantstreamassoc")) {
        m->participants[pi].has_assoc = 1;
        read_send_recv(b, pi, n);
    }
    /* RFC 7865 puts a participant's times in participantsessionassoc; accept them in
     * participantstreamassoc too */
    for (c = n->children; c; c = c->next) {
        if (is_elem(c, "associate-time"))
            set_time(m, c, &m->participants[pi].start_unix_ms);
        else if (is_elem(c, "disassociate-time"))
            set_time(m, c, &m->participants[pi].stop_unix_ms);
    }
}

static int ns_is(const xmlNode *n, const char *href)
{
    return n->ns && n->ns->href && strcmp((const char *)n->ns->href, href) == 0;
}

/* Fills b->m from the root element. Returns 0 or VOX_EMALFORMED (not recording metadata). */
static int build_model(struct build *b, const xmlNode *root, struct vox_diag *diag)
{
    struct vox_rsmeta *m = b->m;
    const xmlNode *c, *cd;
    char tmp[32];
    int broadworks;

    if (!is_elem(root, "recording") && !is_elem(root, "recording_metadata")) {
        vox_diag_set(diag, "line %u: root element <%.60s> is not recording metadata",
                     (unsigned)xmlGetLineNo(root), root->name ? (const char *)root->name : "");
        return VOX_EMALFORMED;
    }
    broadworks = is_elem(root, "recording_metadata") || ns_is(root, NS_SIPREC);
    if (broadworks)
        m->dialect = VOX_RSMETA_BROADWORKS;
    if (!ns_is(root, NS_RFC) && !ns_is(root, NS_DRAFT) && !ns_is(root, NS_SIPREC))
        m->warnings |= VOX_RSMETA_WARN_UNKNOWN_NS;
    if (attr_text(root, "sequence", tmp, sizeof(tmp), &m->warnings)) {
        char *end;
        unsigned long v = strtoul(tmp, &end, 10);

        if (end != tmp && !*end && v <= 0xFFFFFFFFul)
            m->sequence = (unsigned)v;
    }

    /* pass 1: definitions */
    for (c = root->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (is_elem(c, "datamode")) {
            elem_text(c, m->state, sizeof(m->state), &m->warnings);
        } else if (is_elem(c, "group")) {
            read_group(b, c);
        } else if (is_elem(c, "session")) {
            read_session(b, c);
        } else if (is_elem(c, "participant")) {
            define_participant(b, c);
        } else if (is_elem(c, "stream")) {
            define_stream(b, c);
        } else if (!is_elem(c, "participantstreamassoc") &&
                   !is_elem(c, "participantsessionassoc") && !is_elem(c, "sessionrecordingassoc") &&
                   !is_elem(c, "extensiondata") && !is_elem(c, "recording") &&
                   !is_elem(c, "callData")) {
            m->warnings |= VOX_RSMETA_WARN_UNKNOWN_ELEMENT;
        }
    }
    if (!m->state[0])
        attr_text(root, "state", m->state, sizeof(m->state), &m->warnings);
    if (!m->state[0])
        m->warnings |= VOX_RSMETA_WARN_NO_STATE;
    b->partial = strcasecmp(m->state, "partial") == 0;

    /* pass 2: references */
    for (c = root->children; c; c = c->next)
        if (is_elem(c, "participant") || is_elem(c, "participantstreamassoc") ||
            is_elem(c, "participantsessionassoc"))
            read_assoc(b, c);

    cd = find_deep(root, "callData", 0);
    if (cd)
        read_call_data(b, cd);
    compute_senders(m);

    if (broadworks)
        m->dialect = VOX_RSMETA_BROADWORKS;
    else if (cd)
        m->dialect = VOX_RSMETA_SONUS;
    else if (b->draft || ns_is(root, NS_DRAFT) || (b->send_in_participant && !ns_is(root, NS_RFC)))
        m->dialect = VOX_RSMETA_DRAFT; /* <send> in <participant> under the RFC namespace: RFC */
    else
        m->dialect = VOX_RSMETA_RFC7865;
    return 0;
}

/* ---- hardened libxml2 parse ------------------------------------------------------------------ */

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_init(void)
{
    xmlInitParser();
}

struct guard {
    int depth;
    int too_deep;
    int doctype;
    int line;
    int ns_error; /* a namespace error (not fatal) */
    int err_line; /* the first fatal error libxml2 reported: later ones follow from it */
    int err_code;
    char err_text[200];
};

/* libxml2's structured error callback for this parse: keeps the first error, prints nothing. */
static void guard_error(void *ctx, xmlErrorPtr e)
{
    xmlParserCtxtPtr p = ctx;
    struct guard *g = p ? p->_private : NULL;
    size_t n;

    if (!g || !e)
        return;
    if (e->domain == XML_FROM_NAMESPACE)
        g->ns_error = 1; /* e.g. an undeclared prefix: tolerated, names match without it */
    if (g->err_code || e->level < XML_ERR_FATAL)
        return;
    g->err_code = e->code ? e->code : -1;
    g->err_line = e->line;
    snprintf(g->err_text, sizeof(g->err_text), "%s", e->message ? e->message : "not well-formed");
    n = strlen(g->err_text);
    while (n && is_ws((unsigned char)g->err_text[n - 1]))
        g->err_text[--n] = 0;
}

/* Any DOCTYPE ends the parse before its internal subset is read: recording metadata has no
 * DTD, and refusing it outright rules out entity expansion (billion laughs) and external
 * entities or DTDs (file or network reads) whatever libxml2's defaults are. */
static void guard_doctype(void *ctx, const xmlChar *name, const xmlChar *ext_id,
                          const xmlChar *sys_id)
{
    xmlParserCtxtPtr p = ctx;
    struct guard *g = p->_private;

    (void)name;
    (void)ext_id;
    (void)sys_id;
    g->doctype = 1;
    g->line = p->input ? p->input->line : 0;
    xmlStopParser(p);
}

static void guard_start(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                        const xmlChar *uri, int nb_namespaces, const xmlChar **namespaces,
                        int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
    xmlParserCtxtPtr p = ctx;
    struct guard *g = p->_private;

    xmlSAX2StartElementNs(ctx, localname, prefix, uri, nb_namespaces, namespaces, nb_attributes,
                          nb_defaulted, attributes);
    if (++g->depth > VOX_RSMETA_MAX_DEPTH && !g->too_deep) {
        g->too_deep = 1;
        g->line = p->input ? p->input->line : 0;
        xmlStopParser(p);
    }
}

static void guard_end(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                      const xmlChar *uri)
{
    xmlParserCtxtPtr p = ctx;
    struct guard *g = p->_private;

    g->depth--;
    xmlSAX2EndElementNs(ctx, localname, prefix, uri);
}

int vox_rsmeta_parse(const char *xml, size_t len, struct vox_rsmeta *out, struct vox_diag *diag)
{
    xmlParserCtxtPtr ctxt = NULL;
    struct guard g;
    struct build b;
    const xmlNode *root;
    unsigned skipped_lines = 0;
    int rc;

    if (!out || (!xml && len))
        return VOX_EINVAL;
    memset(out, 0, sizeof(*out));
    /* some SRCs put a line break before the XML declaration, which XML forbids */
    while (len && is_ws((unsigned char)*xml)) {
        skipped_lines += *xml == '\n';
        xml++;
        len--;
    }
    if (len == 0) {
        vox_diag_set(diag, "recording metadata is empty");
        return VOX_EMALFORMED;
    }
    if (len > VOX_RSMETA_MAX_XML_BYTES) {
        vox_diag_set(diag, "recording metadata of %zu bytes exceeds the %d-byte limit", len,
                     VOX_RSMETA_MAX_XML_BYTES);
        return VOX_ELIMIT;
    }
    memset(&g, 0, sizeof(g));
    pthread_once(&xml_once, xml_init);
    ctxt = xmlCreateMemoryParserCtxt(xml, (int)len);
    if (!ctxt) {
        vox_diag_set(diag, "out of memory creating the XML parser");
        return VOX_ENOMEM;
    }
    ctxt->_private = &g;
    ctxt->sax->internalSubset = guard_doctype;
    ctxt->sax->startElementNs = guard_start;
    ctxt->sax->endElementNs = guard_end;
    /* no NOENT (entities stay unexpanded), no DTDLOAD/DTDATTR/DTDVALID, no XINCLUDE, no HUGE */
    xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                                XML_PARSE_NOCDATA);
    ctxt->sax->serror = guard_error;
    xmlParseDocument(ctxt);

    if (g.doctype) {
        vox_diag_set(diag, "line %u: a DOCTYPE is not accepted in recording metadata",
                     (unsigned)g.line + skipped_lines);
        rc = VOX_EMALFORMED;
        goto out;
    }
    if (g.too_deep) {
        vox_diag_set(diag, "line %u: elements nest deeper than %d levels",
                     (unsigned)g.line + skipped_lines, VOX_RSMETA_MAX_DEPTH);
        rc = VOX_EMALFORMED;
        goto out;
    }
    if (!ctxt->wellFormed || !ctxt->myDoc || g.err_code) {
        if (g.err_code == XML_ERR_NO_MEMORY) {
            vox_diag_set(diag, "out of memory parsing recording metadata");
            rc = VOX_ENOMEM;
        } else {
            vox_diag_set(diag, "line %u: %s", (unsigned)g.err_line + skipped_lines,
                         g.err_code ? g.err_text : "not well-formed XML");
            rc = VOX_EMALFORMED;
        }
        goto out;
    }
    root = xmlDocGetRootElement(ctxt->myDoc);
    if (!root) {
        vox_diag_set(diag, "recording metadata has no root element");
        rc = VOX_EMALFORMED;
        goto out;
    }
    memset(&b, 0, sizeof(b));
    b.m = out;
    rc = build_model(&b, root, diag);
    if (g.ns_error)
        out->warnings |= VOX_RSMETA_WARN_UNKNOWN_NS;

out:
    if (ctxt->myDoc) {
        xmlFreeDoc(ctxt->myDoc);
        ctxt->myDoc = NULL;
    }
    xmlFreeParserCtxt(ctxt);
    if (rc)
        memset(out, 0, sizeof(*out));
    return rc;
}

/* ---- lookups --------------------------------------------------------------------------------- */

const struct vox_rsmeta_stream *vox_rsmeta_stream_by_label(const struct vox_rsmeta *m,
                                                           struct vox_str label)
{
    size_t i;

    if (!m || !label.len || !label.p)
        return NULL;
    for (i = 0; i < m->nstreams && i < VOX_RSMETA_MAX_STREAMS; i++)
        if (strlen(m->streams[i].label) == label.len &&
            memcmp(m->streams[i].label, label.p, label.len) == 0)
            return &m->streams[i];
    return NULL;
}

const struct vox_rsmeta_participant *vox_rsmeta_stream_sender(const struct vox_rsmeta *m,
                                                              const struct vox_rsmeta_stream *s)
{
    if (!m || !s || s->sender < 0 || (size_t)s->sender >= m->nparticipants ||
        (size_t)s->sender >= VOX_RSMETA_MAX_PARTICIPANTS)
        return NULL;
    return &m->participants[s->sender];
}

/* ---- merging updates ------------------------------------------------------------------------- */

static void take_if_set(char *dst, const char *src, size_t cap)
{
    if (src[0])
        snprintf(dst, cap, "%s", src);
}

int vox_rsmeta_merge(struct vox_rsmeta *base, const struct vox_rsmeta *update)
{
    int map[VOX_RSMETA_MAX_STREAMS]; /* update's stream index -> base's, -1 dropped */
    int nmap = 0;
    size_t i, j;
    int rc = 0;

    if (!base || !update)
        return VOX_EINVAL;
    if (base == update)
        return 0;
    if (strcasecmp(update->state, "partial") != 0) {
        memcpy(base, update, sizeof(*base));
        return 0;
    }
    if (base->dialect == VOX_RSMETA_NONE)
        base->dialect = update->dialect;
    take_if_set(base->session_id, update->session_id, sizeof(base->session_id));
    take_if_set(base->group_id, update->group_id, sizeof(base->group_id));
    take_if_set(base->sip_call_id, update->sip_call_id, sizeof(base->sip_call_id));
    take_if_set(base->from, update->from, sizeof(base->from));
    take_if_set(base->to, update->to, sizeof(base->to));
    if (update->sequence)
        base->sequence = update->sequence;
    base->warnings |= update->warnings;

    for (i = 0; i < update->nstreams && i < VOX_RSMETA_MAX_STREAMS; i++) {
        const struct vox_rsmeta_stream *u = &update->streams[i];
        int k = find_stream(base, u->id);

        if (k < 0 && !u->id[0]) {
            /* an id-less stream (Avaya sends stream_id="") can only be matched by its label */
            const struct vox_rsmeta_stream *s =
                vox_rsmeta_stream_by_label(base, vox_str_c(u->label));

            k = s ? (int)(s - base->streams) : -1;
        }
        if (k < 0) {
            k = add_stream(base, u->id);
            if (k < 0)
                rc = VOX_ELIMIT;
        }
        map[nmap++] = k;
        if (k >= 0) {
            take_if_set(base->streams[k].label, u->label, sizeof(base->streams[k].label));
            take_if_set(base->streams[k].session_id, u->session_id,
                        sizeof(base->streams[k].session_id));
        }
    }
    for (i = 0; i < update->nparticipants && i < VOX_RSMETA_MAX_PARTICIPANTS; i++) {
        const struct vox_rsmeta_participant *u = &update->participants[i];
        struct vox_rsmeta_participant *p;
        int k = find_participant(base, u->id);

        if (k < 0) {
            k = add_participant(base, u->id);
            if (k < 0) {
                rc = VOX_ELIMIT;
                continue;
            }
        }
        p = &base->participants[k];
        take_if_set(p->name, u->name, sizeof(p->name));
        for (j = 0; j < u->naor && j < VOX_RSMETA_MAX_AORS; j++)
            if (add_aor(base, p, u->aor[j]))
                rc = VOX_ELIMIT;
        if (u->start_unix_ms != -1)
            p->start_unix_ms = u->start_unix_ms;
        if (u->stop_unix_ms != -1)
            p->stop_unix_ms = u->stop_unix_ms;
        if (u->has_assoc) {
            p->has_assoc = 1;
            p->nsend = p->nrecv = 0;
            for (j = 0; j < u->nsend && j < VOX_RSMETA_MAX_STREAMS; j++)
                if (u->send[j] >= 0 && u->send[j] < nmap && map[u->send[j]] >= 0)
                    list_add(p->send, &p->nsend, map[u->send[j]]);
            for (j = 0; j < u->nrecv && j < VOX_RSMETA_MAX_STREAMS; j++)
                if (u->recv[j] >= 0 && u->recv[j] < nmap && map[u->recv[j]] >= 0)
                    list_add(p->recv, &p->nrecv, map[u->recv[j]]);
        }
    }
    if (rc)
        base->warnings |= VOX_RSMETA_WARN_TOO_MANY;
    compute_senders(base);
    return rc;
}

/* ---- JSON ------------------------------------------------------------------------------------ */

/* A JSON string of s; bytes that are not valid UTF-8 become '?', since jansson refuses them
 * and values synthesized from SIP headers may carry anything. */
static json_t *jstr(const char *s)
{
    char buf[512];
    size_t n = strlen(s), i = 0, o = 0;

    if (n >= sizeof(buf))
        n = sizeof(buf) - 1;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        size_t need = c < 0x80             ? 1
                      : (c & 0xE0) == 0xC0 ? 2
                      : (c & 0xF0) == 0xE0 ? 3
                      : (c & 0xF8) == 0xF0 ? 4
                                           : 0;
        size_t k;
        int ok = need > 0 && i + need <= n;

        for (k = 1; ok && k < need; k++)
            ok = ((unsigned char)s[i + k] & 0xC0) == 0x80;
        /* no overlong forms, surrogates or code points past U+10FFFF */
        if (ok && need == 2)
            ok = c >= 0xC2;
        if (ok && need == 3) {
            unsigned char c1 = (unsigned char)s[i + 1];

            ok = !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 >= 0xA0);
        }
        if (ok && need == 4) {
            unsigned char c1 = (unsigned char)s[i + 1];

            ok = c <= 0xF4 && !(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 >= 0x90);
        }
        if (!ok) {
            buf[o++] = '?';
            i++;
            continue;
        }
        memcpy(buf + o, s + i, need);
        o += need;
        i += need;
    }
    return json_stringn(buf, o);
}

/* Adds value v (may be NULL after a failed allocation) under key; returns -1 on failure. */
static int jset(json_t *obj, const char *key, json_t *v)
{
    return v ? json_object_set_new(obj, key, v) : -1;
}

static json_t *jtime(int64_t ms)
{
    return ms < 0 ? json_null() : json_integer((json_int_t)ms);
}

static json_t *jlabels(const struct vox_rsmeta *m, const int *list, size_t n)
{
    json_t *a = json_array();
    size_t i;

    if (!a)
        return NULL;
    for (i = 0; i < n && i < VOX_RSMETA_MAX_STREAMS; i++) {
        int s = list[i];
        json_t *v = s >= 0 && (size_t)s < m->nstreams && m->streams[s].label[0]
                        ? jstr(m->streams[s].label)
                        : json_null();

        if (!v || json_array_append_new(a, v)) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

char *vox_rsmeta_json(const struct vox_rsmeta *m)
{
    json_t *root, *parts = NULL, *streams = NULL;
    char *out = NULL;
    size_t i, j, n;
    int bad = 0;

    if (!m)
        return NULL;
    root = json_object();
    if (!root)
        return NULL;
    bad |= jset(root, "dialect", json_string(vox_rsmeta_dialect_name(m->dialect)));
    bad |= jset(root, "session_id", jstr(m->session_id));
    bad |= jset(root, "group_id", jstr(m->group_id));
    bad |= jset(root, "sip_call_id", jstr(m->sip_call_id));
    bad |= jset(root, "from", jstr(m->from));
    bad |= jset(root, "to", jstr(m->to));
    bad |= jset(root, "state", jstr(m->state));
    bad |= jset(root, "sequence", json_integer(m->sequence));
    bad |= jset(root, "warnings", json_integer(m->warnings));
    bad |= jset(root, "participants", parts = json_array());
    bad |= jset(root, "streams", streams = json_array());
    if (bad)
        goto out;
    for (i = 0; i < m->nparticipants && i < VOX_RSMETA_MAX_PARTICIPANTS; i++) {
        const struct vox_rsmeta_participant *p = &m->participants[i];
        json_t *o = json_object(), *aors = json_array();

        if (!o || json_array_append_new(parts, o)) {
            json_decref(aors);
            goto out;
        }
        /* on failure json_object_set_new has released aors: stop before touching it */
        if (jset(o, "aors", aors))
            goto out;
        bad |= jset(o, "id", jstr(p->id));
        bad |= jset(o, "name", jstr(p->name));
        for (j = 0; j < p->naor && j < VOX_RSMETA_MAX_AORS; j++)
            bad |= json_array_append_new(aors, jstr(p->aor[j]));
        bad |= jset(o, "send", jlabels(m, p->send, p->nsend));
        bad |= jset(o, "recv", jlabels(m, p->recv, p->nrecv));
        bad |= jset(o, "start_unix_ms", jtime(p->start_unix_ms));
        bad |= jset(o, "stop_unix_ms", jtime(p->stop_unix_ms));
        if (bad)
            goto out;
    }
    for (i = 0; i < m->nstreams && i < VOX_RSMETA_MAX_STREAMS; i++) {
        const struct vox_rsmeta_stream *s = &m->streams[i];
        const struct vox_rsmeta_participant *p = vox_rsmeta_stream_sender(m, s);
        json_t *o = json_object();

        if (!o || json_array_append_new(streams, o))
            goto out;
        bad |= jset(o, "id", jstr(s->id));
        bad |= jset(o, "label", jstr(s->label));
        bad |= jset(o, "session_id", jstr(s->session_id));
        bad |= jset(o, "sender", p ? jstr(p->id) : json_null());
        if (bad)
            goto out;
    }
    /* our own buffer, so that free() is right whatever allocator jansson was given */
    n = json_dumpb(root, NULL, 0, JSON_COMPACT);
    if (n == 0)
        goto out;
    out = malloc(n + 1);
    if (!out)
        goto out;
    if (json_dumpb(root, out, n, JSON_COMPACT) != n) {
        free(out);
        out = NULL;
        goto out;
    }
    out[n] = 0;
out:
    json_decref(root);
    return out;
}

/* ---- the recording offer --------------------------------------------------------------------- */

/* The "type/subtype" span of a parsed media type, as written. */
static struct vox_str type_span(const struct vox_sip_media_type *mt, struct vox_str written)
{
    struct vox_str s = {NULL, 0};

    /* a part without Content-Type has a default type that is not in the message: no view */
    if (written.len && mt->type.p >= written.p && mt->subtype.p >= mt->type.p &&
        mt->subtype.p + mt->subtype.len <= written.p + written.len) {
        s.p = mt->type.p;
        s.len = (size_t)(mt->subtype.p - mt->type.p) + mt->subtype.len;
    }
    return s;
}

static int is_metadata_type(const struct vox_sip_media_type *mt)
{
    return vox_sip_media_type_is(mt, "application/rs-metadata+xml") ||
           vox_sip_media_type_is(mt, "application/rs-metadata");
}

static int parse_index(struct vox_str v, unsigned *out)
{
    unsigned x = 0;
    size_t i;

    if (!v.len || v.len > 3)
        return -1;
    for (i = 0; i < v.len; i++) {
        if (v.p[i] < '0' || v.p[i] > '9')
            return -1;
        x = x * 10 + (unsigned)(v.p[i] - '0');
    }
    *out = x;
    return 0;
}

/* One X-Cisco-Recording-Participant value: a name-addr, or the bare addr-spec with a quoted
 * parameter that CUBE writes (`sip:2164485925@ccf.org;media-index="0"`). */
static int nbr_nameaddr(struct vox_str item, struct vox_sip_nameaddr *na)
{
    return vox_sip_nameaddr_parse(item, na) == 0 && na->uri.len ? 0 : -1;
}

/*
 * Cisco CUBE network-based recording: no metadata, one X-Cisco-Recording-Participant header per
 * recorded party, whose media-index names the m= line carrying its voice. Returns 1 when at
 * least one participant was synthesized into *m, else 0; *warn collects oddities.
 */
static int cisco_nbr(const struct vox_sip_msg *msg, struct vox_str sdp_body, struct vox_rsmeta *m,
                     unsigned *warn)
{
    struct vox_sdp *sdp = NULL;
    unsigned order = 0;
    size_t h;
    int sdp_ok = 0;
    const struct vox_sip_header *guid;
    struct vox_str v;

    memset(m, 0, sizeof(*m));
    m->dialect = VOX_RSMETA_CISCO_NBR;
    if (sdp_body.len) {
        sdp = malloc(sizeof(*sdp));
        sdp_ok = sdp && vox_sdp_parse(sdp_body.p, sdp_body.len, sdp, NULL) == 0;
    }
    for (h = 0; h < msg->nheaders; h++) {
        struct vox_str cursor, item;

        if (!vox_str_ieq(msg->headers[h].name, CISCO_PART))
            continue;
        cursor = msg->headers[h].value;
        while (vox_sip_next_item(&cursor, &item)) {
            struct vox_sip_nameaddr na;
            struct vox_rsmeta_participant *p;
            char id[96], sid[32];
            unsigned idx = order++;
            int pi, si;

            if (nbr_nameaddr(item, &na) != 0) {
                *warn |= VOX_RSMETA_WARN_BODY;
                continue;
            }
            if (vox_sip_param_get(na.params, "media-index", &v) && parse_index(v, &idx) != 0) {
                *warn |= VOX_RSMETA_WARN_BODY;
                continue;
            }
            if (idx >= VOX_RSMETA_MAX_STREAMS) {
                m->warnings |= VOX_RSMETA_WARN_TOO_MANY;
                continue;
            }
            copy_view(id, sizeof(id), na.uri, &m->warnings);
            pi = find_participant(m, id);
            if (pi < 0)
                pi = add_participant(m, id);
            if (pi < 0)
                continue;
            p = &m->participants[pi];
            add_aor(m, p, id);
            if (na.display.len && !p->name[0]) {
                char tmp[256];
                size_t n = na.display_quoted ? vox_sip_unquote(na.display, tmp, sizeof(tmp))
                                             : vox_sip_unfold(na.display, tmp, sizeof(tmp));

                copy_trim(p->name, sizeof(p->name), tmp, n < sizeof(tmp) ? n : sizeof(tmp) - 1,
                          &m->warnings);
            }
            snprintf(sid, sizeof(sid), "media-index-%u", idx);
            si = find_stream(m, sid);
            if (si < 0) {
                char label[64];

                si = add_stream(m, sid);
                if (si < 0)
                    continue;
                if (sdp_ok && idx < sdp->nmedia && sdp->media[idx].label.len)
                    copy_view(label, sizeof(label), sdp->media[idx].label, &m->warnings);
                else
                    snprintf(label, sizeof(label), "%u", idx);
                snprintf(m->streams[si].label, sizeof(m->streams[si].label), "%s", label);
            }
            p->has_assoc = 1;
            if (list_add(p->send, &p->nsend, si))
                m->warnings |= VOX_RSMETA_WARN_TOO_MANY;
        }
    }
    free(sdp);
    if (!m->nparticipants) {
        unsigned w = m->warnings;

        memset(m, 0, sizeof(*m));
        *warn |= w;
        return 0;
    }
    guid = vox_sip_find_name(msg, "Cisco-Guid");
    if (guid)
        copy_view(m->session_id, sizeof(m->session_id), guid->value, &m->warnings);
    if (vox_sip_get_call_id(msg, &v) == 0)
        copy_view(m->sip_call_id, sizeof(m->sip_call_id), v, &m->warnings);
    compute_senders(m);
    return 1;
}

static int contact_has_src(const struct vox_sip_msg *msg)
{
    struct vox_sip_nameaddr na;
    struct vox_sip_uri uri;

    if (vox_sip_get_contact(msg, &na) != 0)
        return 0;
    if (vox_sip_param_get(na.params, "+sip.src", NULL))
        return 1;
    /* Avaya SBCE writes <sip:host;transport=tcp;+sip.src>: a URI parameter, not a feature tag */
    return vox_sip_uri_parse(na.uri, &uri) == 0 && vox_sip_param_get(uri.params, "+sip.src", NULL);
}

int vox_siprec_offer_parse(const struct vox_sip_msg *msg, struct vox_siprec_offer *out,
                           struct vox_diag *diag)
{
    const struct vox_sip_header *ct;
    struct vox_sip_media_type mt;
    struct vox_diag sub;
    unsigned warn = 0;
    int nbr_headers;

    if (!msg || !out)
        return VOX_EINVAL;
    memset(out, 0, sizeof(*out));
    if (diag)
        diag->text[0] = 0;
    out->require_siprec = vox_sip_has_option(msg, VOX_SIP_H_REQUIRE, "siprec");
    out->supported_siprec = vox_sip_has_option(msg, VOX_SIP_H_SUPPORTED, "siprec");
    out->contact_src = contact_has_src(msg);
    nbr_headers = vox_sip_find_name(msg, CISCO_PART) != NULL;

    ct = vox_sip_find(msg, VOX_SIP_H_CONTENT_TYPE, 0);
    if (ct && msg->body.len) {
        if (vox_sip_media_type_parse(ct->value, &mt) != 0) {
            vox_diag_set(diag, "Content-Type '%.*s' is not type/subtype",
                         (int)(ct->value.len > 80 ? 80 : ct->value.len), ct->value.p);
            return VOX_EMALFORMED;
        }
        if (vox_str_ieq(mt.type, "multipart")) {
            struct vox_multipart mp;
            struct vox_mime_part part;
            int rc;

            if (vox_multipart_init(&mp, ct->value, msg->body.p, msg->body.len, 0, &sub) != 0) {
                vox_diag_set(diag, "multipart body: %s", sub.text);
                return VOX_EMALFORMED;
            }
            while ((rc = vox_multipart_next(&mp, &part, &sub)) == 1) {
                out->nparts++;
                if (part.nested)
                    continue;
                if (vox_sip_media_type_is(&part.type, "application/sdp")) {
                    if (!out->sdp.len)
                        out->sdp = part.body;
                } else if (is_metadata_type(&part.type) ||
                           vox_str_ieq(part.disposition_type, "recording-session")) {
                    if (!out->metadata.len) {
                        out->metadata = part.body;
                        out->metadata_type = type_span(&part.type, part.content_type);
                    }
                }
            }
            if (rc < 0) {
                if (!out->sdp.len) {
                    vox_diag_set(diag, "multipart body: %s", sub.text);
                    memset(out, 0, sizeof(*out));
                    return VOX_EMALFORMED;
                }
                warn |= VOX_RSMETA_WARN_BODY; /* the SDP is there: record, and say so */
            }
            if (mp.unterminated)
                warn |= VOX_RSMETA_WARN_BODY;
        } else if (vox_sip_media_type_is(&mt, "application/sdp")) {
            out->sdp = msg->body;
        } else if (is_metadata_type(&mt)) {
            /* RFC 7866 §9.1: a metadata-only request (Avaya's UPDATE) */
            out->metadata = msg->body;
            out->metadata_type = type_span(&mt, ct->value);
        }
    }

    if (out->metadata.len) {
        int rc = vox_rsmeta_parse(out->metadata.p, out->metadata.len, &out->meta, &sub);

        if (rc == 0) {
            out->has_meta = 1;
        } else {
            memset(&out->meta, 0, sizeof(out->meta));
            warn |= VOX_RSMETA_WARN_BAD_XML;
            vox_diag_set(diag, "metadata part ignored: %s", sub.text);
        }
    }
    if (!out->has_meta && nbr_headers)
        out->has_meta = cisco_nbr(msg, out->sdp, &out->meta, &warn);
    out->meta.warnings |= warn;
    out->is_recording = out->require_siprec || out->supported_siprec || out->contact_src ||
                        out->metadata.len > 0 || nbr_headers;
    return 0;
}
