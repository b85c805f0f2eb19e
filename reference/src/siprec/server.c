/* SPDX-License-Identifier: MIT */
/* The SIPREC server's life cycle: backends, session containers, recorder, sockets, HTTP API. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "siprec/internal.h"
#include "vox/core.h"

void srs_log(const struct vox_srs *s, unsigned level, const char *fmt, ...)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    va_list ap;

    if (level > s->cfg.log_level)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    /* one write per line, so lines from several threads do not interleave */
    fprintf(stderr, "%02d:%02d:%02d.%03ld vox-siprec: %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
            ts.tv_nsec / 1000000, line);
}

/* Deep copy of the configuration's strings. */
static int copy_config(struct vox_srs_config *dst, const struct vox_srs_config *src)
{
    *dst = *src;
#define VOX__SRS_DUP_STR(field)                                                                    \
    if (src->field && !(dst->field = strdup(src->field)))                                          \
        goto fail;
#define VOX__SRS_DUP_ADDR(field) VOX__SRS_DUP_STR(field)
#define VOX__SRS_DUP_UINT(field)
#define VOX__SRS_DUP(field, key, flag, kind, def, min, max, help) VOX__SRS_DUP_##kind(field)
    /* clear the string fields first so a failure frees only what was copied */
#define VOX__SRS_CLR_STR(field)  dst->field = NULL;
#define VOX__SRS_CLR_ADDR(field) dst->field = NULL;
#define VOX__SRS_CLR_UINT(field)
#define VOX__SRS_CLR(field, key, flag, kind, def, min, max, help) VOX__SRS_CLR_##kind(field)
    VOX_SRS_CONFIG_MAP(VOX__SRS_CLR)
    VOX_SRS_CONFIG_MAP(VOX__SRS_DUP)
    return 0;
fail:
    vox_srs_config_free(dst);
    return VOX_ENOMEM;
}

/* Open files per recorded call: an RTP socket and a WAV file per stream (two in the usual
 * SIPREC call), the stereo mix, and a TCP connection or the JSON while it is replaced. */
#define SRS_FDS_PER_CALL 6
#define SRS_FDS_BASE     256 /* listening sockets, the HTTP API, the backends, the logs */

/* Room for the open files of MAX_CONCURRENT_CALLS calls, made before any call needs it (see
 * vox_fd_reserve: without it, the table's growth held an INVITE for up to 15 ms at 1000 calls),
 * and a word at start when the limit on open files is too low for them. */
static void reserve_fds(struct vox_srs *s)
{
    unsigned long want =
        (unsigned long)s->cfg.max_concurrent_calls * SRS_FDS_PER_CALL + SRS_FDS_BASE;
    unsigned long room = vox_fd_reserve(want);

    if (room < want)
        srs_log(s, 0,
                "warning: MAX_CONCURRENT_CALLS = %u needs about %lu open files but the limit "
                "(ulimit -n) is %lu: beyond about %lu calls, new ones will get 500",
                s->cfg.max_concurrent_calls, want, room,
                room > SRS_FDS_BASE ? (room - SRS_FDS_BASE) / SRS_FDS_PER_CALL : 0);
}

int vox_srs_create(const struct vox_srs_config *cfg, struct vox_srs **out, struct vox_diag *diag)
{
    struct vox_srs *s;
    int rc;

    *out = NULL;
    if ((rc = vox_srs_config_check(cfg, diag)) < 0)
        return rc;
    s = calloc(1, sizeof(*s));
    if (!s)
        return VOX_ENOMEM;
    s->epfd = s->udp_fd = s->tcp_fd = s->event_fd = -1;
    pthread_mutex_init(&s->timer_lock, NULL);
    pthread_mutex_init(&s->timeout_lock, NULL);
    pthread_cond_init(&s->timeout_cv, NULL);
    s->start_ns = vox_clock_ns();
    if ((rc = copy_config(&s->cfg, cfg)) < 0)
        goto fail;
    reserve_fds(s);

    rc = vox_allocator_create(cfg->alloc, NULL, &s->alloc, diag);
    if (rc < 0)
        goto fail;
    /* The workers record media and, with sip_inline, only the re-INVITEs and UPDATEs: at a
     * higher nice value they yield the CPU sooner to the SIP loop thread (docs/siprec.md,
     * "Threads and priorities"). */
    struct vox_exec_config ecfg = {.workers = cfg->worker_pool_size,
                                   .nice = cfg->sip_inline ? cfg->background_nice : 0};
    rc = vox_executor_create(cfg->exec, &ecfg, &s->exec, diag);
    if (rc < 0)
        goto fail;
    struct vox_shardmap_config mcfg = {cfg->shard_count, s->alloc, srs_session_ref};
    if ((rc = vox_shardmap_create(&mcfg, &s->sessions, diag)) < 0)
        goto fail;
    struct vox_lru_config lcfg = {.capacity = cfg->cache_size,
                                  .ttl_ns = (uint64_t)cfg->cache_ttl_s * 1000000000u,
                                  .alloc = s->alloc,
                                  .ref = srs_session_ref,
                                  .unref = srs_session_unref,
                                  /* one mutex serialises the workers; 8 stripes keep the
                                   * cache close to LRU (micro benchmark store/lru_*) */
                                  .stripes = cfg->cache_size >= 8   ? 8
                                             : cfg->cache_size >= 4 ? 4
                                             : cfg->cache_size >= 2 ? 2
                                                                    : 1};
    if ((rc = vox_lru_create(&lcfg, &s->cache, diag)) < 0)
        goto fail;
    struct vox_portalloc_config pcfg = {.min_port = cfg->rtp_port_min,
                                        .max_port = cfg->rtp_port_max,
                                        .quarantine_ns = 2000000000u,
                                        .alloc = s->alloc};
    if ((rc = vox_portalloc_create(&pcfg, &s->ports, diag)) < 0)
        goto fail;
    struct vox_rec_engine_config rcfg = {
        .dir = cfg->recording_dir,
        .rate_hz = 8000,
        .tick_ms = cfg->media_tick_ms,
        .jitter_ms = cfg->jitter_ms,
        .media_timeout_ms = cfg->media_timeout_s * 1000u,
        .exec = s->exec,
        .alloc = s->alloc,
        .on_timeout = srs_on_media_timeout,
        .flush_ms = cfg->flush_ms,
        .nice = cfg->background_nice,
    };
    if ((rc = vox_rec_engine_create(&rcfg, &s->rec, diag)) < 0)
        goto fail;
    if ((rc = srs_transport_open(s, diag)) < 0)
        goto fail;
    for (unsigned k = 0; k < SRS_CLOSERS; k++) {
        if (pthread_create(&s->closers[k], NULL, srs_closer_main, s) != 0) {
            vox_diag_set(diag, "cannot start the session closer threads");
            rc = VOX_ENOMEM;
            goto fail;
        }
        s->nclosers++;
    }
    snprintf(s->contact, sizeof(s->contact), "<sip:srs@%s%s%s:%u>",
             strchr(cfg->sip_host, ':') ? "[" : "", cfg->sip_host,
             strchr(cfg->sip_host, ':') ? "]" : "", s->sip_port);
    if (cfg->http_enable) {
        struct vox_httpd_config hcfg = {.bind_address = cfg->http_host,
                                        .port = cfg->http_port,
                                        .threads = 1,
                                        .handler = srs_http_handler,
                                        .ctx = s};
        if ((rc = vox_httpd_start(&hcfg, &s->http, diag)) < 0)
            goto fail;
    }
    *out = s;
    return 0;
fail:
    vox_srs_destroy(s);
    return rc;
}

unsigned vox_srs_sip_port(const struct vox_srs *s)
{
    return s->sip_port;
}

unsigned vox_srs_http_port(const struct vox_srs *s)
{
    return s->http ? vox_httpd_port(s->http) : 0;
}

int vox_srs_run(struct vox_srs *s)
{
    srs_log(s, 1, "listening for SIP on %s:%u (%s), HTTP on %s:%u; alloc %s, exec %s",
            s->cfg.sip_host, s->sip_port, s->cfg.sip_transports, s->cfg.http_host,
            vox_srs_http_port(s), vox_allocator_name(s->alloc), vox_executor_name(s->exec));
    srs_loop(s);
    srs_log(s, 1, "stopping: ending %d session(s)", atomic_load(&s->active));
    srs_end_all(s);
    return 0;
}

void vox_srs_stop(struct vox_srs *s)
{
    atomic_store(&s->stopping, true);
    if (s->event_fd >= 0)
        srs_wake(s);
}

void vox_srs_destroy(struct vox_srs *s)
{
    if (!s)
        return;
    if (s->http)
        vox_httpd_stop(s->http);
    srs_closer_stop(s); /* after it has run every end queued so far */
    if (s->sessions)
        srs_end_all(s);
    if (s->rec)
        vox_rec_engine_destroy(s->rec);
    if (s->exec) {
        vox_executor_shutdown(s->exec, VOX_EXEC_RUN_PENDING);
        vox_executor_destroy(s->exec);
    }
    /* jobs that ran during shutdown may have queued ends and BYEs */
    if (s->sessions)
        srs_end_all(s);
    pthread_mutex_lock(&s->timer_lock);
    while (s->timers) {
        struct srs_session *ss = s->timers;
        s->timers = ss->timer_next;
        ss->in_timers = false;
        srs_session_unref(ss);
    }
    while (s->uacs) {
        struct srs_uac *u = s->uacs;
        s->uacs = u->next;
        srs_peer_release(&u->peer);
        free(u->msg);
        free(u);
    }
    pthread_mutex_unlock(&s->timer_lock);
    srs_transport_close(s);
    if (s->cache)
        vox_lru_destroy(s->cache);
    if (s->sessions)
        vox_shardmap_destroy(s->sessions);
    if (s->ports)
        vox_portalloc_destroy(s->ports);
    if (s->alloc)
        vox_allocator_destroy(s->alloc);
    vox_srs_config_free(&s->cfg);
    pthread_mutex_destroy(&s->timer_lock);
    pthread_mutex_destroy(&s->timeout_lock);
    pthread_cond_destroy(&s->timeout_cv);
    free(s);
}

const double vox_srs_setup_bounds_s[VOX_SRS_SETUP_BUCKETS] = {
    0.0001, 0.0002, 0.0003, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005,
    0.0075, 0.01,   0.02,   0.05,   0.1,     0.25,  0.5,    1,     2.5,   5};

void vox_srs_stats(struct vox_srs *s, struct vox_srs_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->sessions_active = (uint64_t)atomic_load(&s->active);
#define LOAD(name) out->name = atomic_load_explicit(&s->c.name, memory_order_relaxed);
    LOAD(sessions_total)
    LOAD(sessions_peak)
    LOAD(invites)
    LOAD(reinvites)
    LOAD(updates)
    LOAD(acks)
    LOAD(byes)
    LOAD(cancels)
    LOAD(options)
    LOAD(other_requests)
    LOAD(responses_2xx)
    LOAD(responses_4xx)
    LOAD(responses_5xx)
    LOAD(rejected_busy)
    LOAD(rejected_not_siprec)
    LOAD(rejected_malformed)
    LOAD(dropped_malformed)
    LOAD(retransmissions_in)
    LOAD(retransmissions_out)
    LOAD(ended_bye)
    LOAD(ended_timeout)
    LOAD(ended_cancel)
    LOAD(ended_no_ack)
    LOAD(ended_error)
    LOAD(ended_shutdown)
    LOAD(tcp_connections)
    LOAD(tcp_active)
    LOAD(messages_on_loop)
    LOAD(messages_to_executor)
    LOAD(setup_ns_sum)
    LOAD(setup_count)
    LOAD(setup_ns_max)
#undef LOAD
    for (size_t i = 0; i <= VOX_SRS_SETUP_BUCKETS; i++)
        out->setup_buckets[i] = atomic_load(&s->c.setup_buckets[i]);
}
