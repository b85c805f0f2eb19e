/* SPDX-License-Identifier: MIT */
/* The SIPREC server's user-agent core (RFC 3261 UAS, RFC 7866 SRS): requests in and out of
 * dialogs, the INVITE server transaction's 2xx retransmission and ACK wait, recording sessions
 * with their RTP ports, metadata updates, BYE on media timeout and at shutdown. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "siprec/internal.h"
#include "vox/core.h"
#include "vox/sdp.h"

#define ALLOW_VALUE "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE, INFO"
#define ACCEPT_VALUE                                                                               \
    "application/sdp, application/rs-metadata+xml, application/rs-metadata, multipart/mixed"
#define SERVER_VALUE   "vox-siprec"
#define RESPONSE_BYTES 8192
#define MAX_BYE_TRIES  7

/* ---- small helpers ------------------------------------------------------------------------ */

static uint64_t rnd64(void)
{
    static __thread uint64_t state;
    if (!state) {
        if (getrandom(&state, sizeof(state), 0) != sizeof(state))
            state = vox_clock_ns() ^ (uint64_t)pthread_self();
        state |= 1;
    }
    /* xorshift64*: tags and branches need uniqueness, not secrecy */
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 2685821657736338717ull;
}

static uint64_t unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Prints a response to `req` and sends it; `keep` (may be NULL) gets a malloc'd copy. */
static void respond_full(struct vox_srs *s, const struct srs_peer *peer,
                         const struct vox_sip_msg *req, int status, const char *reason,
                         const char *to_tag, const struct vox_sip_field *extra, size_t nextra,
                         const char *ctype, struct vox_str body, char **keep, size_t *keep_len)
{
    struct vox_sip_field fields[12];
    size_t n = 0, len;
    char buf[RESPONSE_BYTES];

    if (status >= 200 && status < 300)
        fields[n++] = (struct vox_sip_field){"Contact", s->contact};
    fields[n++] = (struct vox_sip_field){"Server", SERVER_VALUE};
    if (status != 100) {
        fields[n++] = (struct vox_sip_field){"Allow", ALLOW_VALUE};
        fields[n++] = (struct vox_sip_field){"Supported", "siprec"};
    }
    for (size_t i = 0; i < nextra && n < sizeof(fields) / sizeof(fields[0]); i++)
        fields[n++] = extra[i];
    struct vox_sip_response_spec spec = {status, reason, to_tag, fields, n, ctype, body};
    if (vox_sip_print_response(req, &spec, buf, sizeof(buf), &len) < 0) {
        srs_log(s, 0, "cannot print a %d response (too large or bad field)", status);
        return;
    }
    /* counted before sending: whoever saw the response sees it counted */
    if (status >= 200 && status < 300)
        atomic_fetch_add_explicit(&s->c.responses_2xx, 1, memory_order_relaxed);
    else if (status >= 400 && status < 500)
        atomic_fetch_add_explicit(&s->c.responses_4xx, 1, memory_order_relaxed);
    else if (status >= 500)
        atomic_fetch_add_explicit(&s->c.responses_5xx, 1, memory_order_relaxed);
    srs_send(s, peer, buf, len);
    if (keep) {
        *keep = malloc(len);
        if (*keep)
            memcpy(*keep, buf, len);
        *keep_len = *keep ? len : 0;
    }
}

static void respond(struct vox_srs *s, const struct srs_peer *peer, const struct vox_sip_msg *req,
                    int status, const char *reason)
{
    respond_full(s, peer, req, status, reason, NULL, NULL, 0, NULL, (struct vox_str){0}, NULL,
                 NULL);
}

/* A rejection with a Warning (RFC 3261 §20.43) that says why in words. */
static void reject_warn(struct vox_srs *s, const struct srs_peer *peer,
                        const struct vox_sip_msg *req, int status, const char *why)
{
    char warning[400], tag[24];
    size_t n = 0;

    n += (size_t)snprintf(warning, sizeof(warning), "399 vox-siprec \"");
    for (const char *p = why; *p && n < sizeof(warning) - 2; p++)
        if (*p != '"' && *p != '\\' && *p != '\r' && *p != '\n')
            warning[n++] = *p;
    warning[n++] = '"';
    warning[n] = 0;
    snprintf(tag, sizeof(tag), "%016llx", (unsigned long long)rnd64());
    struct vox_sip_field f = {"Warning", warning};
    respond_full(s, peer, req, status, NULL, tag, &f, 1, NULL, (struct vox_str){0}, NULL, NULL);
    srs_log(s, 1, "rejected %.*s with %d: %s", (int)req->method.len, req->method.p, status, why);
}

/* ---- sessions ------------------------------------------------------------------------------- */

void srs_session_ref(void *session)
{
    struct srs_session *ss = session;
    atomic_fetch_add_explicit(&ss->refs, 1, memory_order_relaxed);
}

static void pending_drop(struct srs_session *ss);
static void open_pending(struct vox_srs *s, struct srs_session *ss);

void srs_session_unref(void *session)
{
    struct srs_session *ss = session;

    if (atomic_fetch_sub_explicit(&ss->refs, 1, memory_order_acq_rel) != 1)
        return;
    srs_peer_release(&ss->peer);
    free(ss->final_msg);
    free(ss->cancel_msg);
    free(ss->last_answer);
    free(ss->meta);
    pending_drop(ss);
    pthread_cond_destroy(&ss->opened);
    pthread_mutex_destroy(&ss->lock);
    vox_free(ss->srs->alloc, ss, sizeof(*ss));
}

static struct srs_session *session_find(struct vox_srs *s, struct vox_str call_id)
{
    struct srs_session *ss = vox_lru_get(s->cache, call_id.p, call_id.len);

    if (ss)
        return ss;
    ss = vox_shardmap_get(s->sessions, call_id.p, call_id.len);
    if (ss)
        vox_lru_put(s->cache, call_id.p, call_id.len, ss);
    return ss;
}

/* Puts the session on the timer list (the list holds a reference). Session lock held. */
static void timers_add(struct vox_srs *s, struct srs_session *ss)
{
    pthread_mutex_lock(&s->timer_lock);
    if (!ss->in_timers) {
        srs_session_ref(ss);
        ss->in_timers = true;
        ss->timer_prev = NULL;
        ss->timer_next = s->timers;
        if (s->timers)
            s->timers->timer_prev = ss;
        s->timers = ss;
    }
    pthread_mutex_unlock(&s->timer_lock);
    srs_wake(s);
}

/* Removes it; returns true when the caller must drop the list's reference. */
static bool timers_remove_locked(struct vox_srs *s, struct srs_session *ss)
{
    if (!ss->in_timers)
        return false;
    if (ss->timer_prev)
        ss->timer_prev->timer_next = ss->timer_next;
    else
        s->timers = ss->timer_next;
    if (ss->timer_next)
        ss->timer_next->timer_prev = ss->timer_prev;
    ss->in_timers = false;
    ss->timer_next = ss->timer_prev = NULL;
    return true;
}

/* Records why the session ends (the first reason wins; "!" in front: we send the BYE).
 * Session lock held. Set before any response goes out, so that a shutdown racing with the
 * queued end still writes the right reason. */
static void mark_end(struct srs_session *ss, const char *reason, bool send_bye)
{
    if (!ss->end_reason[0])
        snprintf(ss->end_reason, sizeof(ss->end_reason), "%s%s", send_bye ? "!" : "", reason);
}

/* Queues work on the session for a closer thread. Returns false when out of memory. */
static bool closer_push(struct vox_srs *s, struct srs_session *ss, bool open)
{
    struct srs_timeout_item *it = malloc(sizeof(*it));

    if (!it)
        return false;
    srs_session_ref(ss);
    it->session = ss;
    it->open = open;
    it->next = NULL;
    pthread_mutex_lock(&s->timeout_lock);
    if (s->timeouts_tail)
        s->timeouts_tail->next = it;
    else
        s->timeouts = it;
    s->timeouts_tail = it;
    pthread_cond_signal(&s->timeout_cv);
    pthread_mutex_unlock(&s->timeout_lock);
    return true;
}

/* Queues the end of the session for a closer thread, which may block on the recorder safely
 * (a worker of a one-thread executor must not wait for a media task queued behind itself), and
 * keeps the SIP loop free while a session's files are completed and synced. On ENOMEM the
 * session ends at shutdown instead, with its reason. */
static void defer_push(struct vox_srs *s, struct srs_session *ss)
{
    closer_push(s, ss, false);
}

static void defer(struct vox_srs *s, struct srs_session *ss, const char *reason, bool send_bye)
{
    pthread_mutex_lock(&ss->lock);
    mark_end(ss, reason, send_bye);
    pthread_mutex_unlock(&ss->lock);
    defer_push(s, ss);
}

void srs_on_media_timeout(void *user, struct vox_rec_session *rec)
{
    struct srs_session *ss = user;
    (void)rec;
    defer(ss->srs, ss, "timeout", true);
}

/* Builds and sends a BYE in the session's dialog (RFC 3261 §15.1.1), retransmitted over UDP
 * until a response (Timer E style). Session lock held. */
static void send_bye(struct vox_srs *s, struct srs_session *ss, const char *why)
{
    char via[200], cseq[40], reason[160], branch[40];
    struct vox_sip_field f[9];
    size_t n = 0, len;
    char buf[4096];

    snprintf(branch, sizeof(branch), "z9hG4bK%016llx", (unsigned long long)rnd64());
    snprintf(via, sizeof(via), "SIP/2.0/%s %s:%u;branch=%s;rport",
             ss->peer.transport == SRS_UDP ? "UDP" : "TCP", s->cfg.sip_host, s->sip_port, branch);
    snprintf(cseq, sizeof(cseq), "%u BYE", ++ss->local_cseq);
    /* RFC 3326: say why the recorder hangs up */
    snprintf(reason, sizeof(reason), "SIP;cause=%s;text=\"%s\"",
             !strcmp(why, "timeout") ? "408"
             : !strcmp(why, "error") ? "500"
                                     : "200",
             why);
    f[n++] = (struct vox_sip_field){"Via", via};
    f[n++] = (struct vox_sip_field){"Max-Forwards", "70"};
    if (ss->route[0])
        f[n++] = (struct vox_sip_field){"Route", ss->route};
    f[n++] = (struct vox_sip_field){"From", ss->local_to};
    f[n++] = (struct vox_sip_field){"To", ss->remote_from};
    f[n++] = (struct vox_sip_field){"Call-ID", ss->call_id};
    f[n++] = (struct vox_sip_field){"CSeq", cseq};
    f[n++] = (struct vox_sip_field){"Reason", reason};
    f[n++] = (struct vox_sip_field){"Server", SERVER_VALUE};
    struct vox_sip_request_spec spec = {
        "BYE", ss->remote_uri[0] ? ss->remote_uri : "sip:src", f, n, NULL, (struct vox_str){0}};
    if (vox_sip_print_request(&spec, buf, sizeof(buf), &len) < 0) {
        srs_log(s, 0, "cannot print BYE for %s", ss->call_id);
        return;
    }
    srs_send(s, &ss->peer, buf, len);
    if (ss->peer.transport != SRS_UDP)
        return;
    struct srs_uac *u = calloc(1, sizeof(*u));
    if (!u || !(u->msg = malloc(len))) {
        free(u);
        return;
    }
    memcpy(u->msg, buf, len);
    u->len = len;
    srs_peer_copy(&u->peer, &ss->peer);
    snprintf(u->branch, sizeof(u->branch), "%s", branch);
    u->interval_ms = SRS_T1_MS;
    u->next_ns = vox_clock_ns() + (uint64_t)SRS_T1_MS * 1000000u;
    pthread_mutex_lock(&s->timer_lock);
    u->next = s->uacs;
    s->uacs = u;
    pthread_mutex_unlock(&s->timer_lock);
}

/* Ends a session now: the recorder completes its files, ports go back, the maps forget it.
 * The closer thread, or shutdown, only (see defer_push). */
static void finish(struct vox_srs *s, struct srs_session *ss, const char *reason, bool bye)
{
    struct vox_rec_session *rec;
    unsigned ports[SRS_MAX_STREAMS];
    size_t nports = 0;
    bool drop_timer;

    pthread_mutex_lock(&ss->lock);
    if (ss->state == SRS_ENDED) {
        pthread_mutex_unlock(&ss->lock);
        return;
    }
    open_pending(s, ss); /* an answered call has files, however soon it ends */
    if (ss->end_reason[0]) {
        /* decided earlier (BYE, CANCEL, timeout) and queued: that reason, not "shutdown" */
        bye = ss->end_reason[0] == '!';
        reason = ss->end_reason + (bye ? 1 : 0);
    }
    if (bye && (ss->state == SRS_CONFIRMED || ss->state == SRS_ANSWERED))
        send_bye(s, ss, reason);
    ss->state = SRS_ENDED;
    rec = ss->rec;
    ss->rec = NULL;
    for (size_t i = 0; i < ss->nstreams; i++)
        if (ss->streams[i].port)
            ports[nports++] = ss->streams[i].port;
    pthread_mutex_unlock(&ss->lock);

    if (rec)
        vox_rec_session_close(rec, reason);
    for (size_t i = 0; i < nports; i++)
        vox_portalloc_put(s->ports, ports[i]);
    vox_lru_remove(s->cache, ss->call_id, ss->call_id_len);
    struct srs_session *mapped = vox_shardmap_remove(s->sessions, ss->call_id, ss->call_id_len);
    pthread_mutex_lock(&s->timer_lock);
    drop_timer = timers_remove_locked(s, ss);
    pthread_mutex_unlock(&s->timer_lock);
    if (drop_timer)
        srs_session_unref(ss);
    atomic_fetch_sub(&s->active, 1);
    if (!strcmp(reason, "bye"))
        atomic_fetch_add(&s->c.ended_bye, 1);
    else if (!strcmp(reason, "timeout"))
        atomic_fetch_add(&s->c.ended_timeout, 1);
    else if (!strcmp(reason, "cancel"))
        atomic_fetch_add(&s->c.ended_cancel, 1);
    else if (!strcmp(reason, "no-ack"))
        atomic_fetch_add(&s->c.ended_no_ack, 1);
    else if (!strcmp(reason, "error"))
        atomic_fetch_add(&s->c.ended_error, 1);
    else
        atomic_fetch_add(&s->c.ended_shutdown, 1);
    srs_log(s, 1, "session %s ended (%s) after %.1f s", ss->call_id, reason,
            (double)(vox_clock_ns() - ss->created_ns) / 1e9);
    if (mapped)
        srs_session_unref(mapped);
}

void srs_timeouts_run(struct vox_srs *s)
{
    for (;;) {
        struct srs_timeout_item *it;

        pthread_mutex_lock(&s->timeout_lock);
        it = s->timeouts;
        if (it) {
            s->timeouts = it->next;
            if (!s->timeouts)
                s->timeouts_tail = NULL;
        }
        pthread_mutex_unlock(&s->timeout_lock);
        if (!it)
            return;
        if (it->open) {
            pthread_mutex_lock(&it->session->lock);
            open_pending(s, it->session);
            pthread_mutex_unlock(&it->session->lock);
        } else {
            finish(s, it->session, "error", false); /* the session's own reason applies */
        }
        srs_session_unref(it->session);
        free(it);
    }
}

void *srs_closer_main(void *arg)
{
    struct vox_srs *s = arg;

    pthread_setname_np(pthread_self(), "srs-closer");
    vox_thread_nice(s->cfg.background_nice);
    pthread_mutex_lock(&s->timeout_lock);
    for (;;) {
        if (s->timeouts && !s->closers_held) {
            pthread_mutex_unlock(&s->timeout_lock);
            srs_timeouts_run(s);
            pthread_mutex_lock(&s->timeout_lock);
        } else if (s->closer_stop) {
            break;
        } else {
            pthread_cond_wait(&s->timeout_cv, &s->timeout_lock);
        }
    }
    pthread_mutex_unlock(&s->timeout_lock);
    return NULL;
}

void srs_closers_hold(struct vox_srs *s, bool hold)
{
    pthread_mutex_lock(&s->timeout_lock);
    s->closers_held = hold;
    pthread_cond_broadcast(&s->timeout_cv);
    pthread_mutex_unlock(&s->timeout_lock);
}

void srs_files_hold(struct vox_srs *s, bool hold)
{
    pthread_mutex_lock(&s->timeout_lock);
    atomic_store(&s->files_held, hold);
    pthread_cond_broadcast(&s->timeout_cv);
    pthread_mutex_unlock(&s->timeout_lock);
}

void srs_closer_stop(struct vox_srs *s)
{
    if (!s->nclosers)
        return;
    pthread_mutex_lock(&s->timeout_lock);
    s->closer_stop = true;
    s->closers_held = false;
    atomic_store(&s->files_held, false);
    pthread_cond_broadcast(&s->timeout_cv);
    pthread_mutex_unlock(&s->timeout_lock);
    while (s->nclosers)
        pthread_join(s->closers[--s->nclosers], NULL);
}

void srs_end_all(struct vox_srs *s)
{
    void *batch[256];
    size_t n;

    srs_timeouts_run(s);
    while ((n = vox_shardmap_collect(s->sessions, batch, 256)) > 0) {
        for (size_t i = 0; i < n; i++) {
            finish(s, batch[i], "shutdown", true);
            srs_session_unref(batch[i]);
        }
    }
    /* an end queued meanwhile (files that could not be made at the last moment) finds its
     * session ended: this only lets its reference go */
    srs_timeouts_run(s);
    /* sessions that never made it into the map cannot exist: insertion comes first */
}

/* ---- timers ------------------------------------------------------------------------------- */

static void session_timer(struct vox_srs *s, struct srs_session *ss, uint64_t now, uint64_t *due,
                          bool *done)
{
    *done = false;
    *due = 0;
    pthread_mutex_lock(&ss->lock);
    if (ss->state == SRS_PROCEEDING && now >= ss->answer_due_ns) {
        srs_send(s, &ss->peer, ss->final_msg, ss->final_len);
        atomic_fetch_add(&s->c.responses_2xx, 1);
        ss->state = SRS_ANSWERED;
        ss->retx_interval_ms = SRS_T1_MS;
        ss->next_retx_ns = now + (uint64_t)SRS_T1_MS * 1000000u;
        ss->ack_deadline_ns = now + (uint64_t)SRS_ACK_WAIT_MS * 1000000u;
    }
    if (ss->state == SRS_PROCEEDING) {
        *due = ss->answer_due_ns;
    } else if (ss->state == SRS_ANSWERED) {
        if (now >= ss->ack_deadline_ns) {
            /* RFC 3261 §13.3.1.4: no ACK within 64*T1 ends the dialog with a BYE */
            pthread_mutex_unlock(&ss->lock);
            defer(s, ss, "no-ack", true);
            *done = true;
            return;
        }
        if (ss->peer.transport == SRS_UDP && now >= ss->next_retx_ns) {
            /* counted first: a reader that saw the packet sees the count */
            atomic_fetch_add(&s->c.retransmissions_out, 1);
            srs_send(s, &ss->peer, ss->final_msg, ss->final_len);
            ss->retx_interval_ms *= 2;
            if (ss->retx_interval_ms > SRS_T2_MS)
                ss->retx_interval_ms = SRS_T2_MS;
            ss->next_retx_ns = now + (uint64_t)ss->retx_interval_ms * 1000000u;
        }
        *due = ss->peer.transport == SRS_UDP && ss->next_retx_ns < ss->ack_deadline_ns
                   ? ss->next_retx_ns
                   : ss->ack_deadline_ns;
    } else {
        *done = true;
    }
    pthread_mutex_unlock(&ss->lock);
}

void srs_timers_run(struct vox_srs *s, uint64_t now, uint64_t *next_ns)
{
    struct srs_session *due[128];
    size_t n = 0;
    uint64_t next = 0;

    /* Collect under the list lock, work under each session's lock: workers take the session
     * lock first and the list lock second, so never the other way round here. */
    pthread_mutex_lock(&s->timer_lock);
    for (struct srs_session *ss = s->timers; ss && n < 128; ss = ss->timer_next) {
        srs_session_ref(ss);
        due[n++] = ss;
    }
    for (struct srs_uac **pu = &s->uacs; *pu;) {
        struct srs_uac *u = *pu;
        if (now >= u->next_ns) {
            if (u->tries >= MAX_BYE_TRIES) {
                *pu = u->next;
                srs_peer_release(&u->peer);
                free(u->msg);
                free(u);
                continue;
            }
            atomic_fetch_add(&s->c.retransmissions_out, 1);
            srs_send(s, &u->peer, u->msg, u->len);
            u->tries++;
            u->interval_ms = u->interval_ms * 2 > SRS_T2_MS ? SRS_T2_MS : u->interval_ms * 2;
            u->next_ns = now + (uint64_t)u->interval_ms * 1000000u;
        }
        if (!next || u->next_ns < next)
            next = u->next_ns;
        pu = &u->next;
    }
    pthread_mutex_unlock(&s->timer_lock);

    for (size_t i = 0; i < n; i++) {
        uint64_t d;
        bool done;
        session_timer(s, due[i], now, &d, &done);
        if (done) {
            pthread_mutex_lock(&s->timer_lock);
            bool drop = timers_remove_locked(s, due[i]);
            pthread_mutex_unlock(&s->timer_lock);
            if (drop)
                srs_session_unref(due[i]);
        } else if (d && (!next || d < next)) {
            next = d;
        }
        srs_session_unref(due[i]);
    }
    if (n == 128 && (!next || now + 1000000u < next))
        next = now + 1000000u; /* more than one batch waits: come back soon */
    *next_ns = next;
}

/* A response to one of our requests (a BYE): stop retransmitting it. */
static void handle_response(struct vox_srs *s, const struct vox_sip_msg *msg)
{
    struct vox_sip_via via;

    if (vox_sip_get_via(msg, 0, &via) < 0 || !via.branch.len)
        return;
    pthread_mutex_lock(&s->timer_lock);
    for (struct srs_uac **pu = &s->uacs; *pu; pu = &(*pu)->next) {
        struct srs_uac *u = *pu;
        if (vox_str_eq(via.branch, u->branch)) {
            *pu = u->next;
            srs_peer_release(&u->peer);
            free(u->msg);
            free(u);
            break;
        }
    }
    pthread_mutex_unlock(&s->timer_lock);
}

/* ---- media description ---------------------------------------------------------------------- */

/* The recorder's payload map of one answered m= line. */
static size_t answer_pts(const struct vox_sdp_media *m, struct vox_rec_pt *pts, size_t cap)
{
    size_t n = 0;

    for (size_t i = 0; i < m->nfmts && n < cap; i++) {
        const struct vox_sdp_fmt *f = &m->fmts[i];
        struct vox_rec_pt p = {(uint8_t)f->pt, VOX_REC_CODEC_NONE, 8000, 1};
        if (f->pt < 0)
            continue;
        if (f->has_rtpmap) {
            p.clock_hz = f->clock_hz;
            p.channels = f->channels ? f->channels : 1;
            if (vox_str_ieq(f->encoding, "PCMU"))
                p.codec = VOX_REC_CODEC_PCMU;
            else if (vox_str_ieq(f->encoding, "PCMA"))
                p.codec = VOX_REC_CODEC_PCMA;
            else if (vox_str_ieq(f->encoding, "opus"))
                p.codec = VOX_REC_CODEC_OPUS;
            else if (vox_str_ieq(f->encoding, "telephone-event"))
                p.codec = VOX_REC_CODEC_EVENT;
        } else if (f->pt == 0) {
            p.codec = VOX_REC_CODEC_PCMU;
        } else if (f->pt == 8) {
            p.codec = VOX_REC_CODEC_PCMA;
        }
        if (p.codec != VOX_REC_CODEC_NONE)
            pts[n++] = p;
    }
    return n;
}

/* Allocates an RTP port and binds a socket to it. Returns the fd or a negative code. Ports
 * another program holds are set aside (vox_portalloc_reject) and the next is tried: a media
 * relay or a second recorder on the host can hold a long run of the range, so the search goes
 * on for up to 256 of them per stream (16 gave up beside a second server holding 40). */
static int open_rtp(struct vox_srs *s, unsigned *port_out)
{
    for (int attempt = 0; attempt < 256; attempt++) {
        unsigned port;
        int rc = vox_portalloc_get(s->ports, &port);
        if (rc < 0)
            return rc;
        struct sockaddr_storage ss;
        socklen_t len;
        memset(&ss, 0, sizeof(ss));
        if (inet_pton(AF_INET, s->cfg.media_host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
            ((struct sockaddr_in *)&ss)->sin_family = AF_INET;
            ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
            len = sizeof(struct sockaddr_in);
        } else {
            struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
            inet_pton(AF_INET6, s->cfg.media_host, &a6->sin6_addr);
            a6->sin6_family = AF_INET6;
            a6->sin6_port = htons((uint16_t)port);
            len = sizeof(*a6);
        }
        int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            vox_portalloc_put(s->ports, port);
            return VOX__ERR(errno);
        }
        if (bind(fd, (struct sockaddr *)&ss, len) == 0) {
            int rcvbuf = 256 << 10;
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
            *port_out = port;
            return fd;
        }
        close(fd);
        vox_portalloc_reject(s->ports, port); /* another program holds it */
    }
    return VOX_EBUSY;
}

static bool paused_dir(enum vox_sdp_dir d)
{
    /* the SRC sends nothing on inactive (hold, RFC 7866 pause) or recvonly streams */
    return d == VOX_SDP_DIR_INACTIVE || d == VOX_SDP_DIR_RECVONLY;
}

static void stream_label(const struct vox_sdp_media *m, size_t i, char *out, size_t cap)
{
    if (m->label.len)
        vox_str_copy(out, cap, m->label);
    else
        snprintf(out, cap, "%zu", i); /* no a=label (Cisco NBR, plain SDP): the m= index */
}

/* Metadata as the recorder's JSON: the parsed metadata, or null. Caller frees. */
static char *meta_json(const struct srs_session *ss)
{
    return ss->meta ? vox_rsmeta_json(ss->meta) : NULL;
}

/* What the first half of an offer leaves for the second: the new streams' sockets and ports,
 * what the answer says of each stream (its port and payload types), and what the second half
 * reads of the offer. Values only, no views into the offer or the answer text, so that the
 * second half can run after both are gone (srs_session.pending). */
struct srs_offer_state {
    size_t nmedia;
    unsigned ports[VOX_SDP_MAX_MEDIA];
    int fds[VOX_SDP_MAX_MEDIA];
    bool paused[VOX_SDP_MAX_MEDIA];
    char labels[VOX_SDP_MAX_MEDIA][sizeof(((struct srs_stream *)0)->label)];
    unsigned answer_port[VOX_SDP_MAX_MEDIA]; /* 0: refused or removed */
    size_t npts[VOX_SDP_MAX_MEDIA];
    struct vox_rec_pt pts[VOX_SDP_MAX_MEDIA][16];
};

/* Closes the sockets the second half did not take. */
static void offer_release(struct vox_srs *s, struct srs_offer_state *os)
{
    for (size_t i = 0; i < os->nmedia; i++)
        if (os->fds[i] >= 0) {
            close(os->fds[i]);
            vox_portalloc_put(s->ports, os->ports[i]);
            os->fds[i] = -1;
        }
}

/*
 * The first half of an SDP offer: a port and a bound RTP socket for each new audio m= line,
 * and the answer, written to `answer`. Nothing reaches the recorder yet, so a new session can
 * send its 200 before its files exist. Session lock held. Returns 0, VOX_ELIMIT (no RTP port:
 * 503) or another negative code with diag; on failure `os` holds nothing.
 */
static int offer_answer(struct vox_srs *s, struct srs_session *ss, const struct vox_sdp *offer,
                        char *answer, size_t cap, size_t *answer_len, struct srs_offer_state *os,
                        struct vox_diag *diag)
{
    size_t i;
    int rc = 0;

    os->nmedia = offer->nmedia;
    for (i = 0; i < VOX_SDP_MAX_MEDIA; i++)
        os->fds[i] = -1;
    if (offer->nmedia > SRS_MAX_STREAMS) {
        vox_diag_set(diag, "%zu m= lines; this recorder takes at most %d", offer->nmedia,
                     SRS_MAX_STREAMS);
        return VOX_ELIMIT;
    }
    for (i = 0; i < offer->nmedia; i++) {
        const struct vox_sdp_media *m = &offer->media[i];
        bool wanted = m->port != 0 && vox_str_ieq(m->type, "audio");
        os->paused[i] = paused_dir(vox_sdp_media_dir(offer, i));
        stream_label(m, i, os->labels[i], sizeof(os->labels[i]));
        os->ports[i] = i < ss->nstreams ? ss->streams[i].port : 0;
        if (wanted && !os->ports[i]) {
            int fd = open_rtp(s, &os->ports[i]);
            if (fd < 0) {
                rc = fd;
                if (rc == VOX_ELIMIT || rc == VOX_EBUSY)
                    vox_diag_set(diag, "no free RTP port in %u-%u (%s)", s->cfg.rtp_port_min,
                                 s->cfg.rtp_port_max, vox_strerror(rc));
                else /* out of open files (see "Open files" in docs/siprec.md) */
                    vox_diag_set(diag, "cannot open an RTP socket: %s", vox_strerror(rc));
                goto fail;
            }
            os->fds[i] = fd;
        } else if (!wanted) {
            os->ports[i] = 0;
        }
    }
    struct vox_sdp_answer_config acfg = {
        .address = s->cfg.media_host,
        .ports = os->ports,
        .nports = offer->nmedia,
        .sess_id = ss->created_unix_ms,
        .sess_version = ++ss->sdp_version,
        .session_name = "vox-siprec",
    };
    rc = vox_sdp_answer(offer, &acfg, answer, cap, answer_len, diag);
    if (rc < 0)
        goto fail;
    /* the answer as the recorder needs it: each stream's port and payload types */
    struct vox_sdp *ans = malloc(sizeof(*ans));
    if (!ans || vox_sdp_parse(answer, *answer_len, ans, diag) < 0) {
        rc = ans ? VOX_EINVAL : VOX_ENOMEM;
        free(ans);
        goto fail;
    }
    for (i = 0; i < offer->nmedia; i++) {
        const struct vox_sdp_media *am = &ans->media[i];

        os->answer_port[i] = i < ans->nmedia ? am->port : 0;
        os->npts[i] = os->answer_port[i] ? answer_pts(am, os->pts[i], 16) : 0;
    }
    free(ans);
    return 0;
fail:
    offer_release(s, os);
    return rc;
}

/*
 * The second half: new streams go to the recorder (ss->rec), port 0 stops a stream, directions
 * pause and resume, codec changes reach the recorder. Releases `os`. Session lock held.
 */
static void offer_record(struct vox_srs *s, struct srs_session *ss, struct srs_offer_state *os)
{
    for (size_t i = 0; i < os->nmedia; i++) {
        struct srs_stream *st = &ss->streams[i];
        const struct vox_rec_pt *pts = os->pts[i];
        size_t npts = os->npts[i];
        bool paused = os->paused[i];

        if (i >= ss->nstreams) {
            memset(st, 0, sizeof(*st));
            ss->nstreams = i + 1;
        }
        if (os->fds[i] >= 0) {
            /* a new stream, or a stopped one offered again */
            unsigned index;
            memcpy(st->label, os->labels[i], sizeof(st->label));
            if (!os->answer_port[i] || vox_rec_stream_add(ss->rec, st->label, os->fds[i],
                                                          os->ports[i], pts, npts, &index) < 0) {
                st->port = 0; /* offer_release closes it */
                continue;
            }
            os->fds[i] = -1;
            st->port = os->ports[i];
            st->rec_index = index;
            st->recording = true;
            st->paused = false;
        } else if (st->recording && !os->answer_port[i]) {
            /* RFC 3264 §8.2: port 0 removes the stream */
            vox_rec_stream_stop(ss->rec, st->rec_index);
            vox_portalloc_put(s->ports, st->port);
            st->recording = false;
            st->port = 0;
            continue;
        } else if (st->recording) {
            vox_rec_stream_set_pts(ss->rec, st->rec_index, pts, npts);
        }
        if (st->recording && paused != st->paused) {
            vox_rec_stream_set_paused(ss->rec, st->rec_index, paused);
            st->paused = paused;
        }
    }
    offer_release(s, os);
}

static void log_started(struct vox_srs *s, const struct srs_session *ss)
{
    srs_log(s, 1, "session %s started: %zu stream(s), metadata %s", ss->call_id, ss->nstreams,
            ss->meta ? vox_rsmeta_dialect_name(ss->meta->dialect) : "none");
}

/* A new session's recording: its files, then the streams of its first offer (the offer's
 * second half, which releases `os`). Session lock held, or `opening` set (open_pending).
 * Returns 0 or a negative code with diag. */
static int record_open(struct vox_srs *s, struct srs_session *ss, struct srs_offer_state *os,
                       struct vox_diag *diag)
{
    char *json = meta_json(ss); /* only apply_metadata changes it, and it waits for `opening` */
    struct vox_rec_session_config rcfg = {ss->call_id, ss->call_id, json, ss};
    int rc = vox_rec_session_open(s->rec, &rcfg, &ss->rec, diag);

    free(json);
    if (rc < 0) {
        offer_release(s, os);
        return rc;
    }
    offer_record(s, ss, os);
    return 0;
}

/* Tests only (srs_files_hold): waits while the makers of files are held. */
static void files_gate(struct vox_srs *s)
{
    pthread_mutex_lock(&s->timeout_lock);
    s->files_waiting++;
    while (atomic_load(&s->files_held) && !s->closer_stop)
        pthread_cond_wait(&s->timeout_cv, &s->timeout_lock);
    s->files_waiting--;
    pthread_mutex_unlock(&s->timeout_lock);
}

/*
 * Makes the recording of an answered session whose files are still to be made, if it is one:
 * a closer thread does it just after the 200, a request or an end that comes first does it
 * itself, and one that comes while it is being made waits for it. When the files cannot be
 * made the recorder hangs up, and its BYE says why.
 *
 * Session lock held, and let go while the files are made: that blocks on the disk for
 * milliseconds, and the SIP loop's timers and the workers' ACKs take this lock. Meanwhile
 * `opening` keeps the recording's fields to this thread, and whatever needs them waits here.
 */
static void open_pending(struct vox_srs *s, struct srs_session *ss)
{
    struct srs_offer_state *os;
    struct vox_diag diag = {0};
    int rc;

    while (ss->opening)
        pthread_cond_wait(&ss->opened, &ss->lock);
    os = ss->pending;
    if (!os)
        return;
    ss->pending = NULL;
    ss->opening = true;
    pthread_mutex_unlock(&ss->lock);
    if (atomic_load_explicit(&s->files_held, memory_order_relaxed))
        files_gate(s);
    rc = record_open(s, ss, os, &diag);
    free(os);
    pthread_mutex_lock(&ss->lock);
    ss->opening = false;
    pthread_cond_broadcast(&ss->opened);
    if (rc < 0) {
        srs_log(s, 0, "session %s: cannot record: %s", ss->call_id,
                diag.text[0] ? diag.text : vox_strerror(rc));
        mark_end(ss, "error", true);
        defer_push(s, ss);
        return;
    }
    log_started(s, ss);
}

/* A session freed with its recording never made (none is, see finish): its sockets and ports. */
static void pending_drop(struct srs_session *ss)
{
    if (ss->pending) {
        offer_release(ss->srs, ss->pending);
        free(ss->pending);
        ss->pending = NULL;
    }
}

/* Both halves at once, for offers inside a dialog (re-INVITE, UPDATE): answers describe what
 * the recorder already does. Same returns as offer_answer. */
static int apply_offer(struct vox_srs *s, struct srs_session *ss, const struct vox_sdp *offer,
                       char *answer, size_t cap, size_t *answer_len, struct vox_diag *diag)
{
    struct srs_offer_state os;
    int rc;

    open_pending(s, ss); /* the recording this offer changes */
    rc = offer_answer(s, ss, offer, answer, cap, answer_len, &os, diag);
    if (rc == 0)
        offer_record(s, ss, &os);
    return rc;
}

/* Merges new metadata into the session's and tells the recorder. Session lock held. */
static void apply_metadata(struct srs_session *ss, const struct vox_siprec_offer *offer)
{
    if (!offer->has_meta)
        return;
    open_pending(ss->srs, ss); /* the recording this metadata goes to */
    if (!ss->meta) {
        ss->meta = malloc(sizeof(*ss->meta));
        if (!ss->meta)
            return;
        memcpy(ss->meta, &offer->meta, sizeof(*ss->meta));
    } else if (vox_rsmeta_merge(ss->meta, &offer->meta) < 0) {
        srs_log(ss->srs, 1, "session %s: metadata update exceeds capacity (kept what fits)",
                ss->call_id);
    }
    if (ss->rec) {
        char *json = meta_json(ss);
        vox_rec_session_set_metadata(ss->rec, json);
        free(json);
    }
}

/* ---- requests ------------------------------------------------------------------------------- */

/* Option tags we support in Require (RFC 3261 §8.2.2.3); anything else gets 420. */
static int check_require(struct vox_srs *s, const struct srs_peer *peer,
                         const struct vox_sip_msg *msg)
{
    struct vox_sip_iter it;
    struct vox_str item;
    char unsupported[256];
    size_t n = 0;

    unsupported[0] = 0;
    vox_sip_iter_init(&it, msg, VOX_SIP_H_REQUIRE);
    while (vox_sip_iter_next(&it, &item) == 1) {
        if (vox_str_ieq(item, "siprec") || vox_str_ieq(item, "timer"))
            continue;
        if (n + item.len + 3 < sizeof(unsupported))
            n += (size_t)snprintf(unsupported + n, sizeof(unsupported) - n, "%s%.*s", n ? ", " : "",
                                  (int)item.len, item.p);
    }
    if (!n)
        return 0;
    struct vox_sip_field f = {"Unsupported", unsupported};
    char tag[24];
    snprintf(tag, sizeof(tag), "%016llx", (unsigned long long)rnd64());
    respond_full(s, peer, msg, 420, NULL, tag, &f, 1, NULL, (struct vox_str){0}, NULL, NULL);
    return -1;
}

/* Parses the body of an INVITE/UPDATE into offer + SDP. Returns 0, or answers the request with
 * an error itself and returns -1. `sdp` is left with nmedia 0 when no SDP came. */
static int read_offer(struct vox_srs *s, const struct srs_peer *peer, const struct vox_sip_msg *msg,
                      struct vox_siprec_offer *offer, struct vox_sdp *sdp)
{
    struct vox_diag diag = {{0}};
    char why[600];

    if (vox_siprec_offer_parse(msg, offer, &diag) < 0) {
        snprintf(why, sizeof(why), "unusable body: %s", diag.text);
        atomic_fetch_add(&s->c.rejected_malformed, 1);
        reject_warn(s, peer, msg, 400, why);
        return -1;
    }
    sdp->nmedia = 0;
    if (offer->sdp.len && (vox_sdp_parse(offer->sdp.p, offer->sdp.len, sdp, &diag) < 0 ||
                           vox_sdp_validate(sdp, &diag) < 0)) {
        snprintf(why, sizeof(why), "bad SDP offer: %s", diag.text);
        atomic_fetch_add(&s->c.rejected_malformed, 1);
        reject_warn(s, peer, msg, 488, why);
        return -1;
    }
    return 0;
}

static void fill_dialog(struct srs_session *ss, const struct vox_sip_msg *msg)
{
    const struct vox_sip_header *h;
    struct vox_sip_nameaddr contact;
    struct vox_sip_cseq cseq;
    size_t n = 0;

    if (vox_sip_get_contact(msg, &contact) == 0)
        vox_str_copy(ss->remote_uri, sizeof(ss->remote_uri), contact.uri);
    h = vox_sip_find(msg, VOX_SIP_H_FROM, 0);
    if (h)
        vox_sip_unfold(h->value, ss->remote_from, sizeof(ss->remote_from));
    h = vox_sip_find(msg, VOX_SIP_H_TO, 0);
    if (h) {
        size_t len = vox_sip_unfold(h->value, ss->local_to, sizeof(ss->local_to) - 40);
        snprintf(ss->local_to + len, sizeof(ss->local_to) - len, ";tag=%s", ss->local_tag);
    }
    /* RFC 3261 §12.1.1: the UAS's route set is the Record-Route list in order */
    for (size_t i = 0; i < msg->nheaders; i++) {
        if (msg->headers[i].id != VOX_SIP_H_RECORD_ROUTE)
            continue;
        if (n && n + 2 < sizeof(ss->route))
            n += (size_t)snprintf(ss->route + n, sizeof(ss->route) - n, ", ");
        n += vox_sip_unfold(msg->headers[i].value, ss->route + n, sizeof(ss->route) - n);
    }
    if (vox_sip_get_cseq(msg, &cseq) == 0)
        ss->remote_cseq = ss->invite_cseq = cseq.number;
}

static void handle_new_invite(struct vox_srs *s, const struct srs_peer *peer,
                              const struct vox_sip_msg *msg, struct vox_str call_id, uint64_t rx_ns)
{
    struct vox_siprec_offer *offer = malloc(sizeof(*offer));
    struct vox_sdp *sdp = malloc(sizeof(*sdp));
    struct srs_session *ss = NULL;
    struct vox_diag diag = {{0}};
    char answer[4096], tag[24];
    size_t answer_len = 0;
    struct vox_sip_via via;
    struct srs_offer_state os;
    int rc;

    atomic_fetch_add(&s->c.invites, 1);
    if (!offer || !sdp) {
        respond(s, peer, msg, 500, "Server Internal Error - out of memory");
        goto out;
    }
    if (check_require(s, peer, msg) < 0 || read_offer(s, peer, msg, offer, sdp) < 0)
        goto out;
    if (s->cfg.require_siprec && !offer->is_recording) {
        atomic_fetch_add(&s->c.rejected_not_siprec, 1);
        reject_warn(s, peer, msg, 488,
                    "not a SIPREC recording session: no Require: siprec, no +sip.src in "
                    "Contact, no rs-metadata body, no Cisco recording header (RFC 7866 6.1.1)");
        goto out;
    }
    if (!sdp->nmedia) {
        atomic_fetch_add(&s->c.rejected_malformed, 1);
        reject_warn(s, peer, msg, 488, "INVITE without an SDP offer (late offer is not supported)");
        goto out;
    }
    if ((unsigned)atomic_fetch_add(&s->active, 1) >= s->cfg.max_concurrent_calls) {
        char ra[16];
        atomic_fetch_sub(&s->active, 1);
        atomic_fetch_add(&s->c.rejected_busy, 1);
        snprintf(ra, sizeof(ra), "%u", s->cfg.retry_after_s);
        struct vox_sip_field f[2] = {
            {"Retry-After", ra}, {"Warning", "399 vox-siprec \"MAX_CONCURRENT_CALLS reached\""}};
        snprintf(tag, sizeof(tag), "%016llx", (unsigned long long)rnd64());
        respond_full(s, peer, msg, 503, NULL, tag, f, 2, NULL, (struct vox_str){0}, NULL, NULL);
        goto out;
    }

    ss = vox_alloc(s->alloc, sizeof(*ss));
    if (!ss) {
        atomic_fetch_sub(&s->active, 1);
        respond(s, peer, msg, 500, "Server Internal Error - out of memory");
        goto out;
    }
    memset(ss, 0, sizeof(*ss));
    atomic_init(&ss->refs, 1); /* the map's */
    pthread_mutex_init(&ss->lock, NULL);
    pthread_cond_init(&ss->opened, NULL);
    ss->srs = s;
    ss->state = SRS_PROCEEDING;
    vox_str_copy(ss->call_id, sizeof(ss->call_id), call_id);
    ss->call_id_len = strlen(ss->call_id);
    snprintf(ss->local_tag, sizeof(ss->local_tag), "%016llx", (unsigned long long)rnd64());
    ss->created_ns = vox_clock_ns();
    ss->created_unix_ms = unix_ms();
    ss->invite_rx_ns = rx_ns;
    ss->local_cseq = (uint32_t)(rnd64() & 0xffff);
    srs_peer_copy(&ss->peer, peer);
    if (vox_sip_get_via(msg, 0, &via) == 0)
        vox_str_copy(ss->invite_branch, sizeof(ss->invite_branch), via.branch);
    fill_dialog(ss, msg);

    pthread_mutex_lock(&ss->lock);
    if (vox_shardmap_insert(s->sessions, ss->call_id, ss->call_id_len, ss) < 0) {
        /* the same INVITE twice on two workers at once: the other one answers */
        pthread_mutex_unlock(&ss->lock);
        atomic_fetch_sub(&s->active, 1);
        atomic_fetch_add(&s->c.retransmissions_in, 1);
        srs_session_unref(ss);
        ss = NULL;
        goto out;
    }
    /* A reference of our own until the end: once the lock is let go, a shutdown can end the
     * session and drop the map's before a refusal below has queued its end. */
    srs_session_ref(ss);
    vox_lru_put(s->cache, ss->call_id, ss->call_id_len, ss);
    atomic_fetch_add(&s->c.sessions_total, 1);
    atomic_fetch_add(&s->calls_window[(vox_clock_ns() / 1000000000u) % 16], 1);
    srs_max_u64(&s->c.sessions_peak, (uint64_t)atomic_load(&s->active));
    /* RFC 3261 §17.2.1: 100 Trying at once, so the client stops retransmitting */
    respond(s, peer, msg, 100, NULL);

    if (offer->has_meta) {
        ss->meta = malloc(sizeof(*ss->meta));
        if (ss->meta)
            memcpy(ss->meta, &offer->meta, sizeof(*ss->meta));
    }
    rc = offer_answer(s, ss, sdp, answer, sizeof(answer), &answer_len, &os, &diag);
    if (rc < 0) {
        int status = rc == VOX_ELIMIT || rc == VOX_EBUSY ? 503 : 500;
        if (status == 503)
            atomic_fetch_add(&s->c.rejected_busy, 1);
        reject_warn(s, peer, msg, status, diag.text[0] ? diag.text : vox_strerror(rc));
        snprintf(ss->end_reason, sizeof(ss->end_reason), "error");
        pthread_mutex_unlock(&ss->lock);
        defer(s, ss, "error", false);
        goto out;
    }
    ss->last_answer = malloc(answer_len + 1);
    if (ss->last_answer) {
        memcpy(ss->last_answer, answer, answer_len);
        ss->last_answer[answer_len] = 0;
    }
    if (!s->cfg.answer_delay_ms) {
        /* The 200 goes as soon as the RTP sockets are bound. The recording's files are made
         * after it, on a closer thread: they block on the disk for milliseconds (four files
         * and a rename), which on a worker would hold up the SIP queued behind them; media
         * that arrives meanwhile waits in the bound sockets. A request of the dialog or an end
         * that comes first makes them itself (open_pending), so none sees a call without. */
        struct srs_offer_state *keep = malloc(sizeof(*keep));

        respond_full(s, peer, msg, 200, NULL, ss->local_tag, NULL, 0, "application/sdp",
                     (struct vox_str){answer, answer_len}, &ss->final_msg, &ss->final_len);
        ss->final_status = 200;
        ss->state = SRS_ANSWERED;
        uint64_t now = vox_clock_ns();
        uint64_t setup = now > rx_ns ? now - rx_ns : 0;
        size_t b = 0;
        while (b < VOX_SRS_SETUP_BUCKETS && (double)setup > vox_srs_setup_bounds_s[b] * 1e9)
            b++;
        atomic_fetch_add(&s->c.setup_buckets[b], 1);
        atomic_fetch_add(&s->c.setup_ns_sum, setup);
        atomic_fetch_add(&s->c.setup_count, 1);
        srs_max_u64(&s->c.setup_ns_max, setup);
        ss->retx_interval_ms = SRS_T1_MS;
        ss->next_retx_ns = now + (uint64_t)SRS_T1_MS * 1000000u;
        ss->ack_deadline_ns = now + (uint64_t)SRS_ACK_WAIT_MS * 1000000u;
        timers_add(s, ss);
        if (keep) {
            memcpy(keep, &os, sizeof(*keep));
            ss->pending = keep;
            if (closer_push(s, ss, true)) {
                pthread_mutex_unlock(&ss->lock);
                goto out;
            }
            ss->pending = NULL;
            free(keep);
        }
        /* no memory to hand the work over: it is done here */
    }
    /* under the lock: a delayed answer, or no memory to hand the work over */
    rc = record_open(s, ss, &os, &diag);
    if (rc < 0) {
        srs_log(s, 0, "session %s: cannot record: %s", ss->call_id,
                diag.text[0] ? diag.text : vox_strerror(rc));
        if (ss->state != SRS_ANSWERED)
            reject_warn(s, peer, msg, rc == VOX_ELIMIT || rc == VOX_EBUSY ? 503 : 500,
                        diag.text[0] ? diag.text : vox_strerror(rc));
        /* answered already: the recorder hangs up, and its BYE says why */
        mark_end(ss, "error", ss->state == SRS_ANSWERED);
        pthread_mutex_unlock(&ss->lock);
        defer_push(s, ss);
        goto out;
    }
    log_started(s, ss);
    if (s->cfg.answer_delay_ms) {
        /* prepare both outcomes now; the timer sends the 200, a CANCEL the 487 */
        char *keep = NULL;
        size_t keep_len = 0;
        char buf[RESPONSE_BYTES];
        struct vox_sip_field fields[4] = {{"Contact", s->contact},
                                          {"Server", SERVER_VALUE},
                                          {"Allow", ALLOW_VALUE},
                                          {"Supported", "siprec"}};
        struct vox_sip_response_spec ok = {
            200, NULL, ss->local_tag, fields, 4, "application/sdp", {answer, answer_len}};
        struct vox_sip_response_spec cancelled = {487,  NULL, ss->local_tag, fields + 1, 1,
                                                  NULL, {0}};
        if (vox_sip_print_response(msg, &ok, buf, sizeof(buf), &keep_len) == 0 &&
            (keep = malloc(keep_len)) != NULL) {
            memcpy(keep, buf, keep_len);
            ss->final_msg = keep;
            ss->final_len = keep_len;
        }
        if (vox_sip_print_response(msg, &cancelled, buf, sizeof(buf), &keep_len) == 0 &&
            (keep = malloc(keep_len)) != NULL) {
            memcpy(keep, buf, keep_len);
            ss->cancel_msg = keep;
            ss->cancel_len = keep_len;
        }
        ss->final_status = 200;
        ss->answer_due_ns = vox_clock_ns() + (uint64_t)s->cfg.answer_delay_ms * 1000000u;
        if (!ss->final_msg || !ss->cancel_msg) {
            pthread_mutex_unlock(&ss->lock);
            respond(s, peer, msg, 500, "Server Internal Error - out of memory");
            defer(s, ss, "error", false);
            goto out;
        }
        timers_add(s, ss);
    }
    pthread_mutex_unlock(&ss->lock);
out:
    if (ss)
        srs_session_unref(ss);
    free(offer);
    free(sdp);
}

/* A request that repeats the INVITE transaction in progress: answer from it (RFC 3261 §17.2.1). */
static bool invite_retransmission(struct vox_srs *s, struct srs_session *ss,
                                  const struct srs_peer *peer, const struct vox_sip_msg *msg,
                                  uint32_t cseq)
{
    struct vox_sip_via via;

    if (cseq != ss->invite_cseq || vox_sip_get_via(msg, 0, &via) < 0 ||
        !vox_str_eq(via.branch, ss->invite_branch))
        return false;
    atomic_fetch_add(&s->c.retransmissions_in, 1);
    if (ss->state == SRS_PROCEEDING)
        respond(s, peer, msg, 100, NULL);
    else if (ss->final_msg)
        srs_send(s, peer, ss->final_msg, ss->final_len);
    return true;
}

/* re-INVITE or UPDATE in the dialog (RFC 3311, RFC 7866 §7.1.2: pause/resume, streams added
 * or removed, metadata updates; metadata-only UPDATE from Avaya). */
static void handle_in_dialog_offer(struct vox_srs *s, const struct srs_peer *peer,
                                   const struct vox_sip_msg *msg, struct srs_session *ss,
                                   bool is_invite)
{
    struct vox_siprec_offer *offer = malloc(sizeof(*offer));
    struct vox_sdp *sdp = malloc(sizeof(*sdp));
    struct vox_diag diag = {{0}};
    struct vox_sip_cseq cseq;
    struct vox_sip_via via;
    char answer[4096];
    size_t answer_len = 0;

    atomic_fetch_add(is_invite ? &s->c.reinvites : &s->c.updates, 1);
    if (!offer || !sdp) {
        respond(s, peer, msg, 500, "Server Internal Error - out of memory");
        goto out;
    }
    vox_sip_get_cseq(msg, &cseq);
    pthread_mutex_lock(&ss->lock);
    if (is_invite && invite_retransmission(s, ss, peer, msg, cseq.number)) {
        pthread_mutex_unlock(&ss->lock);
        goto out;
    }
    if (ss->state == SRS_ENDED) {
        pthread_mutex_unlock(&ss->lock);
        respond(s, peer, msg, 481, NULL);
        goto out;
    }
    if (cseq.number <= ss->remote_cseq) {
        /* RFC 3261 §12.2.2: lower CSeq in the dialog is out of order */
        pthread_mutex_unlock(&ss->lock);
        respond(s, peer, msg, 500, "Server Internal Error - CSeq out of order");
        goto out;
    }
    if (is_invite && ss->state == SRS_PROCEEDING) {
        /* RFC 3261 §14.2: a second INVITE while the first has no final response */
        struct vox_sip_field f = {"Retry-After", "1"};
        pthread_mutex_unlock(&ss->lock);
        respond_full(s, peer, msg, 500, NULL, NULL, &f, 1, NULL, (struct vox_str){0}, NULL, NULL);
        goto out;
    }
    ss->remote_cseq = cseq.number;
    if (check_require(s, peer, msg) < 0 || read_offer(s, peer, msg, offer, sdp) < 0) {
        pthread_mutex_unlock(&ss->lock);
        goto out;
    }
    if (sdp->nmedia) {
        if (apply_offer(s, ss, sdp, answer, sizeof(answer), &answer_len, &diag) < 0) {
            pthread_mutex_unlock(&ss->lock);
            reject_warn(s, peer, msg, 488, diag.text);
            goto out;
        }
        free(ss->last_answer);
        ss->last_answer = malloc(answer_len + 1);
        if (ss->last_answer) {
            memcpy(ss->last_answer, answer, answer_len);
            ss->last_answer[answer_len] = 0;
        }
    } else if (is_invite && ss->last_answer) {
        /* an INVITE without an offer gets our offer (RFC 3261 §14.2): the last description */
        answer_len = strlen(ss->last_answer);
        memcpy(answer, ss->last_answer, answer_len);
    }
    apply_metadata(ss, offer);
    if (is_invite) {
        free(ss->final_msg);
        ss->final_msg = NULL;
        ss->invite_cseq = cseq.number;
        if (vox_sip_get_via(msg, 0, &via) == 0)
            vox_str_copy(ss->invite_branch, sizeof(ss->invite_branch), via.branch);
        respond_full(s, peer, msg, 200, NULL, ss->local_tag, NULL, 0,
                     answer_len ? "application/sdp" : NULL, (struct vox_str){answer, answer_len},
                     &ss->final_msg, &ss->final_len);
        ss->state = SRS_ANSWERED;
        uint64_t now = vox_clock_ns();
        ss->retx_interval_ms = SRS_T1_MS;
        ss->next_retx_ns = now + (uint64_t)SRS_T1_MS * 1000000u;
        ss->ack_deadline_ns = now + (uint64_t)SRS_ACK_WAIT_MS * 1000000u;
        timers_add(s, ss);
    } else {
        respond_full(s, peer, msg, 200, NULL, ss->local_tag, NULL, 0,
                     answer_len ? "application/sdp" : NULL, (struct vox_str){answer, answer_len},
                     NULL, NULL);
    }
    srs_log(s, 2, "session %s: %s applied (%zu m= lines%s)", ss->call_id,
            is_invite ? "re-INVITE" : "UPDATE", sdp->nmedia, offer->has_meta ? ", metadata" : "");
    pthread_mutex_unlock(&ss->lock);
out:
    free(offer);
    free(sdp);
}

static void handle_ack(struct vox_srs *s, const struct vox_sip_msg *msg, struct srs_session *ss)
{
    struct vox_sip_cseq cseq;
    bool drop = false;

    atomic_fetch_add(&s->c.acks, 1);
    if (!ss || vox_sip_get_cseq(msg, &cseq) < 0)
        return; /* the ACK of a non-2xx answer, or of a session already gone */
    pthread_mutex_lock(&ss->lock);
    if (ss->state == SRS_ANSWERED && cseq.number == ss->invite_cseq) {
        ss->state = SRS_CONFIRMED;
        pthread_mutex_lock(&s->timer_lock);
        drop = timers_remove_locked(s, ss);
        pthread_mutex_unlock(&s->timer_lock);
    }
    pthread_mutex_unlock(&ss->lock);
    if (drop)
        srs_session_unref(ss);
}

static void handle_cancel(struct vox_srs *s, const struct srs_peer *peer,
                          const struct vox_sip_msg *msg, struct srs_session *ss)
{
    struct vox_sip_via via;
    bool cancelled = false;

    atomic_fetch_add(&s->c.cancels, 1);
    if (!ss) {
        respond(s, peer, msg, 481, NULL);
        return;
    }
    pthread_mutex_lock(&ss->lock);
    /* RFC 3261 §9.2: a CANCEL matches the INVITE by its top Via branch */
    if (vox_sip_get_via(msg, 0, &via) == 0 && vox_str_eq(via.branch, ss->invite_branch) &&
        ss->state == SRS_PROCEEDING) {
        mark_end(ss, "cancel", false);
        respond(s, peer, msg, 200, NULL);
        srs_send(s, &ss->peer, ss->cancel_msg, ss->cancel_len);
        atomic_fetch_add(&s->c.responses_4xx, 1);
        ss->state = SRS_CONFIRMED; /* nothing left to answer; the 487's ACK is absorbed */
        cancelled = true;
    } else {
        /* the final answer went out already: the CANCEL has no effect (RFC 3261 §9.2) */
        respond(s, peer, msg, 200, NULL);
    }
    pthread_mutex_unlock(&ss->lock);
    if (cancelled)
        defer_push(s, ss);
}

static void handle_options(struct vox_srs *s, const struct srs_peer *peer,
                           const struct vox_sip_msg *msg)
{
    struct vox_sip_field f = {"Accept", ACCEPT_VALUE};
    char tag[24];

    atomic_fetch_add(&s->c.options, 1);
    snprintf(tag, sizeof(tag), "%016llx", (unsigned long long)rnd64());
    respond_full(s, peer, msg, 200, NULL, msg->first[VOX_SIP_H_TO] >= 0 ? tag : NULL, &f, 1, NULL,
                 (struct vox_str){0}, NULL, NULL);
}

static bool has_to_tag(const struct vox_sip_msg *msg)
{
    struct vox_sip_nameaddr to;
    return vox_sip_get_to(msg, &to) == 0 && to.has_tag && to.tag.len;
}

/* What the SIP loop may not do itself: what can wait on the disk. A re-INVITE or an UPDATE
 * can add a stream (a file made) or stop one (a file completed), or wait for the call's first
 * files (open_pending); a new INVITE whose answer is delayed makes its files before the 200. */
static bool loop_may_handle(const struct vox_srs *s, const struct vox_sip_msg *msg)
{
    if (!msg->is_request)
        return true;
    if (msg->method_id == VOX_SIP_METHOD_UPDATE)
        return false;
    if (msg->method_id == VOX_SIP_METHOD_INVITE)
        return !has_to_tag(msg) && !s->cfg.answer_delay_ms;
    return true;
}

bool srs_handle_message(struct vox_srs *s, const struct srs_peer *peer, const char *buf, size_t len,
                        uint64_t rx_ns, bool on_loop)
{
    struct vox_sip_msg *msg = malloc(sizeof(*msg));
    struct srs_session *ss = NULL;
    struct vox_diag diag = {{0}};
    struct vox_str call_id;

    if (!msg)
        return !on_loop; /* the executor's try may find memory */
    if (vox_sip_parse(buf, len, msg, &diag) < 0 || vox_sip_validate(msg, &diag) < 0) {
        if (msg->is_request && msg->error.status && msg->method_id != VOX_SIP_METHOD_ACK &&
            msg->first[VOX_SIP_H_VIA] >= 0) {
            atomic_fetch_add(&s->c.rejected_malformed, 1);
            respond(s, peer, msg, msg->error.status, msg->error.reason);
        } else {
            atomic_fetch_add(&s->c.dropped_malformed, 1);
        }
        srs_log(s, 1, "malformed message (%zu bytes): %s", len, diag.text);
        goto out;
    }
    if (on_loop && !loop_may_handle(s, msg)) {
        free(msg);
        return false;
    }
    if (s->cfg.log_level >= 3)
        srs_log(s, 3, "received:\n%.*s", (int)len, buf);
    if (!msg->is_request) {
        handle_response(s, msg);
        goto out;
    }
    if (vox_sip_get_call_id(msg, &call_id) < 0)
        goto out; /* validate guarantees it; keep the check local all the same */
    srs_log(s, 2, "%.*s %.*s", (int)msg->method.len, msg->method.p, (int)call_id.len, call_id.p);
    if (msg->method_id != VOX_SIP_METHOD_OPTIONS)
        ss = session_find(s, call_id);

    switch (msg->method_id) {
    case VOX_SIP_METHOD_INVITE:
        if (!has_to_tag(msg) && !ss) {
            handle_new_invite(s, peer, msg, call_id, rx_ns);
        } else if (ss) {
            struct vox_sip_cseq cseq;
            vox_sip_get_cseq(msg, &cseq);
            pthread_mutex_lock(&ss->lock);
            bool retx = !has_to_tag(msg) && invite_retransmission(s, ss, peer, msg, cseq.number);
            pthread_mutex_unlock(&ss->lock);
            if (retx)
                break;
            if (!has_to_tag(msg)) {
                /* RFC 3261 §8.2.2.2: same Call-ID, new transaction, no To tag: merged */
                respond(s, peer, msg, 482, NULL);
                break;
            }
            handle_in_dialog_offer(s, peer, msg, ss, true);
        } else {
            respond(s, peer, msg, 481, NULL);
        }
        break;
    case VOX_SIP_METHOD_UPDATE:
        if (ss)
            handle_in_dialog_offer(s, peer, msg, ss, false);
        else
            respond(s, peer, msg, 481, NULL);
        break;
    case VOX_SIP_METHOD_ACK:
        handle_ack(s, msg, ss);
        break;
    case VOX_SIP_METHOD_BYE:
        atomic_fetch_add(&s->c.byes, 1);
        if (!ss) {
            respond(s, peer, msg, 481, NULL);
            break;
        }
        pthread_mutex_lock(&ss->lock);
        mark_end(ss, "bye", false);
        pthread_mutex_unlock(&ss->lock);
        respond(s, peer, msg, 200, NULL);
        defer_push(s, ss);
        break;
    case VOX_SIP_METHOD_CANCEL:
        handle_cancel(s, peer, msg, ss);
        break;
    case VOX_SIP_METHOD_OPTIONS:
        handle_options(s, peer, msg);
        break;
    case VOX_SIP_METHOD_INFO:
    case VOX_SIP_METHOD_NOTIFY:
        atomic_fetch_add(&s->c.other_requests, 1);
        respond(s, peer, msg, ss ? 200 : 481, NULL);
        break;
    case VOX_SIP_METHOD_OTHER:
        atomic_fetch_add(&s->c.other_requests, 1);
        respond(s, peer, msg, 501, NULL);
        break;
    default:
        /* REGISTER, SUBSCRIBE, MESSAGE ...: known methods a recorder does not serve; the
         * response carries Allow (RFC 3261 §21.4.6) */
        atomic_fetch_add(&s->c.other_requests, 1);
        respond(s, peer, msg, 405, NULL);
        break;
    }
out:
    if (ss)
        srs_session_unref(ss);
    free(msg);
    return true;
}
