/* SPDX-License-Identifier: MIT */
/* The recorder's engine: the media clock (a ticker thread or the caller's ticks), the session
 * list, one task per session and tick, and the public calls that change a session. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fcntl.h>
#include <jansson.h>

#include "siprec/recorder_internal.h"
#include "vox/core.h"

/* The session whose task runs on this thread: a close from its on_timeout must not wait for
 * itself. */
static _Thread_local struct vox_rec_session *tl_current;

const char *vox_rec_codec_name(enum vox_rec_codec codec)
{
    switch (codec) {
    case VOX_REC_CODEC_PCMU:
        return "pcmu";
    case VOX_REC_CODEC_PCMA:
        return "pcma";
    case VOX_REC_CODEC_OPUS:
        return "opus";
    case VOX_REC_CODEC_EVENT:
        return "telephone-event";
    case VOX_REC_CODEC_NONE:
    default:
        return "none";
    }
}

uint64_t rec_now(const struct vox_rec_engine *e)
{
    return e->manual ? atomic_load_explicit(&e->manual_now, memory_order_acquire) : vox_clock_ns();
}

void rec_clock_read(const struct vox_rec_engine *e, struct rec_clock *clk)
{
    struct timespec ts;

    clk->now_ns = rec_now(e);
    clk->kernel_ts = !e->manual && clock_gettime(CLOCK_REALTIME, &ts) == 0;
    clk->real_ns = clk->kernel_ts ? (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec : 0;
}

uint64_t rec_frame_of(const struct vox_rec_session *s, uint64_t t_ns)
{
    return t_ns <= s->start_ns ? 0 : (t_ns - s->start_ns) / REC_FRAME_NS;
}

void *rec_alloc(struct vox_rec_engine *e, size_t bytes)
{
    void *p = vox_alloc(e->alloc, bytes);

    if (p)
        memset(p, 0, bytes);
    return p;
}

void rec_free(struct vox_rec_engine *e, void *p, size_t bytes)
{
    vox_free(e->alloc, p, bytes);
}

static char *rec_strdup(struct vox_rec_engine *e, const char *str, size_t *bytes)
{
    size_t n = strlen(str) + 1;
    char *p = vox_alloc(e->alloc, n);

    if (p)
        memcpy(p, str, n);
    if (bytes)
        *bytes = n;
    return p;
}

static void rec_strfree(struct vox_rec_engine *e, char *p)
{
    if (p)
        vox_free(e->alloc, p, strlen(p) + 1);
}

/* ---- task buffers ---------------------------------------------------------------------------- */

static struct rec_scratch *scratch_get(struct vox_rec_engine *e)
{
    struct rec_scratch *sc;

    pthread_mutex_lock(&e->scratch_mu);
    sc = e->scratch_free;
    if (sc)
        e->scratch_free = sc->next;
    pthread_mutex_unlock(&e->scratch_mu);
    if (!sc)
        sc = vox_alloc(e->alloc, sizeof(*sc)); /* contents need no clearing */
    return sc;
}

static void scratch_put(struct vox_rec_engine *e, struct rec_scratch *sc)
{
    if (!sc)
        return;
    pthread_mutex_lock(&e->scratch_mu);
    sc->next = e->scratch_free;
    e->scratch_free = sc;
    pthread_mutex_unlock(&e->scratch_mu);
}

/* ---- tasks and ticks ------------------------------------------------------------------------- */

/* The last thing a task does: after it, the engine may be destroyed. */
static void task_done(struct vox_rec_engine *e)
{
    pthread_mutex_lock(&e->done_mu);
    if (--e->inflight == 0)
        pthread_cond_broadcast(&e->done_cv);
    pthread_mutex_unlock(&e->done_mu);
}

/* Waits until every task submitted so far has finished. */
static void wait_tasks(struct vox_rec_engine *e)
{
    pthread_mutex_lock(&e->done_mu);
    while (e->inflight)
        pthread_cond_wait(&e->done_cv, &e->done_mu);
    pthread_mutex_unlock(&e->done_mu);
}

static void session_free(struct vox_rec_session *s);

/* Closes a session whose close was asked from its own on_timeout (the task finishes it). */
static void finish_in_task(struct vox_rec_session *s, struct rec_scratch *sc)
{
    struct rec_clock clk;

    rec_clock_read(s->e, &clk);
    rec_session_finish(s, sc, &clk, s->end_reason);
    session_free(s);
}

/* Drops a reference; the last one frees the session. */
static void session_release(struct vox_rec_session *s)
{
    unsigned left;

    pthread_mutex_lock(&s->mu);
    left = --s->refs;
    pthread_mutex_unlock(&s->mu);
    if (left == 0)
        session_free(s);
}

/*
 * Session lock held. For a session closed while its task waited in the executor's queue:
 * lets go of the lock and of the task's reference, counts the task done and returns true (the
 * session may be freed). Otherwise false, lock still held.
 */
static bool drop_orphan(struct vox_rec_engine *e, struct vox_rec_session *s)
{
    if (s->state != REC_ORPHANED)
        return false;
    pthread_mutex_unlock(&s->mu);
    session_release(s);
    task_done(e);
    return true;
}

static void session_task(void *arg)
{
    struct vox_rec_session *s = arg;
    struct vox_rec_engine *e = s->e;
    struct rec_scratch *sc;
    struct rec_clock clk;
    bool closed;

    pthread_mutex_lock(&s->mu);
    if (drop_orphan(e, s))
        return; /* nothing left to do */
    s->state = REC_RUNNING;
    pthread_mutex_unlock(&s->mu);
    sc = scratch_get(e);
    if (sc) {
        tl_current = s;
        rec_clock_read(e, &clk);
        rec_session_step(s, sc, &clk);
        tl_current = NULL;
    }
    closed = s->close_in_task;
    if (closed)
        finish_in_task(s, sc);
    scratch_put(e, sc);
    if (!closed) {
        /* from here on the session may be closed and freed by another thread */
        pthread_mutex_lock(&s->mu);
        s->state = REC_IDLE;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
    }
    task_done(e);
}

/* The executor dropped the task at its shutdown: the session is free for the next tick. */
static void session_task_cancel(void *arg)
{
    struct vox_rec_session *s = arg;
    struct vox_rec_engine *e = s->e;

    pthread_mutex_lock(&s->mu);
    if (drop_orphan(e, s))
        return;
    s->state = REC_IDLE;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    task_done(e);
}

/* One tick: a task for every session whose previous one has finished. */
static void tick_once(struct vox_rec_engine *e)
{
    size_t n = 0, i;

    atomic_fetch_add_explicit(&e->ticks, 1, memory_order_relaxed);
    pthread_mutex_lock(&e->mu);
    if (e->nsessions > e->batch_cap) {
        size_t cap = e->nsessions + e->nsessions / 2 + 16;
        struct vox_rec_session **b = vox_alloc_array(e->alloc, cap, sizeof(*b));

        if (b) {
            if (e->batch)
                vox_free(e->alloc, e->batch, e->batch_cap * sizeof(*b));
            e->batch = b;
            e->batch_cap = cap;
        }
    }
    for (struct vox_rec_session *s = e->head; s && n < e->batch_cap; s = s->next) {
        /* The clock never waits for one session (a stream being added holds its lock across
         * a file's creation): a session busy that way gets the next tick, which catches up. */
        if (pthread_mutex_trylock(&s->mu) != 0) {
            atomic_fetch_add_explicit(&e->ticks_skipped, 1, memory_order_relaxed);
            continue;
        }
        if (s->state == REC_IDLE) {
            s->state = REC_QUEUED;
            e->batch[n++] = s;
        } else if (s->state == REC_QUEUED || s->state == REC_RUNNING) {
            atomic_fetch_add_explicit(&e->ticks_skipped, 1, memory_order_relaxed);
        }
        pthread_mutex_unlock(&s->mu);
    }
    pthread_mutex_unlock(&e->mu);

    pthread_mutex_lock(&e->done_mu);
    e->inflight += n;
    pthread_mutex_unlock(&e->done_mu);
    /* A session marked queued stays allocated: a close waits for a running task and leaves a
     * queued one the session's last reference. NORMAL priority: behind signalling, which
     * cannot wait, while a late task only reads more packets from its sockets. */
    for (i = 0; i < n; i++) {
        struct vox_task t = {.run = session_task,
                             .cancel = session_task_cancel,
                             .arg = e->batch[i],
                             .prio = VOX_PRIO_NORMAL};

        if (!e->exec || vox_executor_submit(e->exec, &t) != 0)
            session_task(e->batch[i]); /* no executor, or it refused: record anyway */
    }
    if (e->manual)
        wait_tasks(e);
}

static void *ticker_main(void *arg)
{
    struct vox_rec_engine *e = arg;
    uint64_t next = vox_clock_ns() + e->tick_ns;

    pthread_setname_np(pthread_self(), "rec-ticker");
    if (e->nice)
        vox_thread_nice(e->nice);

    while (!atomic_load(&e->stop)) {
        struct timespec ts = {.tv_sec = (time_t)(next / 1000000000u),
                              .tv_nsec = (long)(next % 1000000000u)};
        uint64_t now;

        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
            ;
        if (atomic_load(&e->stop))
            break;
        now = vox_clock_ns();
        if (now > next + e->tick_ns)
            atomic_fetch_add_explicit(&e->ticks_late, 1, memory_order_relaxed);
        tick_once(e);
        /* Missed ticks are not made up in a burst: the next task catches up from the clock. */
        next += e->tick_ns;
        now = vox_clock_ns();
        if (next <= now)
            next += (now - next) / e->tick_ns * e->tick_ns + e->tick_ns;
    }
    return NULL;
}

int vox_rec_engine_tick(struct vox_rec_engine *e, uint64_t now_ns)
{
    if (!e || !e->manual || now_ns < atomic_load(&e->manual_now))
        return VOX_EINVAL;
    atomic_store_explicit(&e->manual_now, now_ns, memory_order_release);
    tick_once(e);
    return 0;
}

/* ---- engine ---------------------------------------------------------------------------------- */

/* mkdir -p: creates `path` and its missing parents. Returns 0 or a negative errno code. */
static int make_dirs(const char *path)
{
    char buf[4096];
    size_t n = strlen(path), i;

    if (n == 0 || n >= sizeof(buf))
        return VOX_EINVAL;
    memcpy(buf, path, n + 1);
    for (i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        buf[i] = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return VOX__ERR(errno);
        buf[i] = i < n ? '/' : '\0';
    }
    return 0;
}

/* Checks that a file can be created in the directory. */
static int probe_dir(const struct vox_rec_engine *e, struct vox_diag *diag)
{
    char path[4200];
    struct stat st;
    int fd, rc = 0;

    if (stat(e->dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        rc = stat(e->dir, &st) < 0 ? VOX__ERR(errno) : VOX_EINVAL;
        vox_diag_set(diag, "recorder: %s is not a directory (%s)", e->dir, vox_strerror(rc));
        return rc;
    }
    snprintf(path, sizeof(path), "%s/.vox-rec-probe-%ld", e->dir, (long)getpid());
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = VOX__ERR(errno);
        vox_diag_set(diag, "recorder: cannot create files in %s: %s", e->dir, strerror(errno));
        return rc;
    }
    close(fd);
    unlink(path);
    return 0;
}

int vox_rec_engine_create(const struct vox_rec_engine_config *cfg, struct vox_rec_engine **out,
                          struct vox_diag *diag)
{
    struct vox_rec_engine *e = NULL;
    struct vox_allocator *alloc;
    unsigned rate, tick_ms, jitter_ms, flush_ms;
    int rc;

    if (out)
        *out = NULL;
    if (!cfg || !out || !cfg->dir || !cfg->dir[0]) {
        vox_diag_set(diag, "recorder: no recording directory given");
        return VOX_EINVAL;
    }
    rate = cfg->rate_hz ? cfg->rate_hz : 8000;
    tick_ms = cfg->tick_ms ? cfg->tick_ms : 20;
    jitter_ms = cfg->jitter_ms ? cfg->jitter_ms : 60;
    flush_ms = cfg->flush_ms ? cfg->flush_ms : 1000;
    if (rate != 8000 && rate != 16000 && rate != 24000 && rate != 48000) {
        vox_diag_set(diag, "recorder: rate %u Hz not supported (8000, 16000, 24000, 48000)", rate);
        return VOX_EINVAL;
    }
    if (tick_ms > 1000 || jitter_ms > 2000 || flush_ms < 20 || flush_ms > 60000) {
        vox_diag_set(diag,
                     "recorder: tick %u ms (1..1000), jitter %u ms (0..2000) or flush %u ms "
                     "(20..60000) out of range",
                     tick_ms, jitter_ms, flush_ms);
        return VOX_EINVAL;
    }
    if (cfg->nice > 19) {
        vox_diag_set(diag, "recorder: nice %u out of range (0..19)", cfg->nice);
        return VOX_EINVAL;
    }
    alloc = cfg->alloc ? cfg->alloc : vox_allocator_default();
    if (!alloc || !(e = vox_alloc(alloc, sizeof(*e)))) {
        vox_diag_set(diag, "recorder: out of memory");
        return VOX_ENOMEM;
    }
    memset(e, 0, sizeof(*e));
    e->alloc = alloc;
    e->rate_hz = rate;
    e->frame_samples = rate / 1000 * VOX_REC_FRAME_MS;
    e->pkt_samples = rate / 1000 * REC_MAX_PKT_MS;
    e->tick_ns = (uint64_t)tick_ms * 1000000u;
    e->tick_frames = (e->tick_ns + REC_FRAME_NS - 1) / REC_FRAME_NS;
    e->delay_ns = (uint64_t)jitter_ms * 1000000u;
    e->timeout_ns = (uint64_t)cfg->media_timeout_ms * 1000000u;
    e->flush_frames = (size_t)rate * flush_ms / 1000;
    /* the playout delay and one tick's arrivals in packets of 20 ms, plus room for eight
     * ticks of catching up */
    e->jb_depth = (jitter_ms + tick_ms) / VOX_REC_FRAME_MS + 8;
    e->manual = cfg->manual_clock;
    e->exec = cfg->exec;
    e->nice = cfg->nice;
    e->on_timeout = cfg->on_timeout;
    pthread_mutex_init(&e->mu, NULL);
    pthread_mutex_init(&e->done_mu, NULL);
    pthread_cond_init(&e->done_cv, NULL);
    pthread_mutex_init(&e->scratch_mu, NULL);
    if (!(e->dir = rec_strdup(e, cfg->dir, &e->dir_bytes))) {
        vox_diag_set(diag, "recorder: out of memory");
        rc = VOX_ENOMEM;
        goto fail;
    }
    /* trailing slashes would double in every path */
    while (strlen(e->dir) > 1 && e->dir[strlen(e->dir) - 1] == '/')
        e->dir[strlen(e->dir) - 1] = '\0';
    if ((rc = make_dirs(e->dir)) < 0) {
        vox_diag_set(diag, "recorder: cannot create %s: %s", e->dir, vox_strerror(rc));
        goto fail;
    }
    if ((rc = probe_dir(e, diag)) < 0)
        goto fail;
    if (!e->manual) {
        if (pthread_create(&e->ticker, NULL, ticker_main, e) != 0) {
            vox_diag_set(diag, "recorder: cannot start the ticker thread");
            rc = VOX_EAGAIN;
            goto fail;
        }
        e->ticker_started = true;
    }
    *out = e;
    return 0;
fail:
    vox_rec_engine_destroy(e);
    return rc;
}

void vox_rec_engine_destroy(struct vox_rec_engine *e)
{
    struct rec_scratch *sc;

    if (!e)
        return;
    if (e->ticker_started) {
        atomic_store(&e->stop, true);
        pthread_join(e->ticker, NULL);
    }
    pthread_mutex_lock(&e->mu);
    e->closing = true;
    pthread_mutex_unlock(&e->mu);
    for (;;) {
        struct vox_rec_session *s;

        pthread_mutex_lock(&e->mu);
        s = e->head;
        pthread_mutex_unlock(&e->mu);
        if (!s)
            break;
        vox_rec_session_close(s, "shutdown");
    }
    /* tasks that marked their session idle may still be returning their buffers */
    wait_tasks(e);
    while ((sc = e->scratch_free)) {
        e->scratch_free = sc->next;
        vox_free(e->alloc, sc, sizeof(*sc));
    }
    if (e->batch)
        vox_free(e->alloc, e->batch, e->batch_cap * sizeof(*e->batch));
    if (e->dir)
        vox_free(e->alloc, e->dir, e->dir_bytes);
    pthread_mutex_destroy(&e->mu);
    pthread_mutex_destroy(&e->done_mu);
    pthread_cond_destroy(&e->done_cv);
    pthread_mutex_destroy(&e->scratch_mu);
    vox_free(e->alloc, e, sizeof(*e));
}

void vox_rec_engine_stats(const struct vox_rec_engine *e, struct vox_rec_engine_stats *out)
{
    struct vox_rec_engine *m = (struct vox_rec_engine *)e; /* atomics are read, not changed */

    out->sessions_open = atomic_load_explicit(&m->sessions_open, memory_order_relaxed);
    out->sessions_total = atomic_load_explicit(&m->sessions_total, memory_order_relaxed);
    out->packets = atomic_load_explicit(&m->packets, memory_order_relaxed);
    out->bytes = atomic_load_explicit(&m->bytes, memory_order_relaxed);
    out->decode_errors = atomic_load_explicit(&m->decode_errors, memory_order_relaxed);
    out->ticks = atomic_load_explicit(&m->ticks, memory_order_relaxed);
    out->ticks_late = atomic_load_explicit(&m->ticks_late, memory_order_relaxed);
    out->ticks_skipped = atomic_load_explicit(&m->ticks_skipped, memory_order_relaxed);
    out->write_errors = atomic_load_explicit(&m->write_errors, memory_order_relaxed);
    out->timeouts = atomic_load_explicit(&m->timeouts, memory_order_relaxed);
}

/* ---- sessions -------------------------------------------------------------------------------- */

static void session_unlink(struct vox_rec_session *s)
{
    struct vox_rec_engine *e = s->e;

    pthread_mutex_lock(&e->mu);
    if (s->prev)
        s->prev->next = s->next;
    else if (e->head == s)
        e->head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
    e->nsessions--;
    pthread_mutex_unlock(&e->mu);
}

static void session_free(struct vox_rec_session *s)
{
    struct vox_rec_engine *e = s->e;

    for (unsigned i = 0; i < s->nstreams; i++)
        rec_stream_free(s, s->streams[i]);
    if (s->mix)
        vox_wav_close(s->mix);
    if (s->metadata)
        rec_free(e, s->metadata, s->metadata_bytes);
    rec_strfree(e, s->id);
    rec_strfree(e, s->call_id);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    rec_free(e, s, sizeof(*s));
}

int vox_rec_session_open(struct vox_rec_engine *e, const struct vox_rec_session_config *cfg,
                         struct vox_rec_session **out, struct vox_diag *diag)
{
    struct vox_rec_session *s = NULL;
    struct timespec rt;
    int rc;
    bool linked = false;

    if (out)
        *out = NULL;
    if (!e || !cfg || !out || !cfg->id || !cfg->id[0]) {
        vox_diag_set(diag, "recorder: a session needs an id");
        return VOX_EINVAL;
    }
    if (cfg->metadata_json && (rc = rec_metadata_check(cfg->metadata_json, diag)) < 0)
        return rc;
    if (!(s = rec_alloc(e, sizeof(*s)))) {
        vox_diag_set(diag, "recorder: out of memory");
        return VOX_ENOMEM;
    }
    s->e = e;
    s->refs = 1;
    s->user = cfg->user;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->id = rec_strdup(e, cfg->id, NULL);
    s->call_id = rec_strdup(e, cfg->call_id ? cfg->call_id : "", NULL);
    if (cfg->metadata_json)
        s->metadata = rec_strdup(e, cfg->metadata_json, &s->metadata_bytes);
    if (!s->id || !s->call_id || (cfg->metadata_json && !s->metadata)) {
        vox_diag_set(diag, "recorder: out of memory");
        rc = VOX_ENOMEM;
        goto fail;
    }
    s->start_ns = rec_now(e);
    s->last_rx_ns = s->start_ns;
    clock_gettime(CLOCK_REALTIME, &rt);
    s->start_unix_ms = (int64_t)rt.tv_sec * 1000 + rt.tv_nsec / 1000000;
    s->state = REC_OPENING;

    /* The stem is chosen and the session listed under one lock, so no other open can take the
     * same stem; the ticker ignores it until its files exist. */
    pthread_mutex_lock(&e->mu);
    if (e->closing) {
        pthread_mutex_unlock(&e->mu);
        vox_diag_set(diag, "recorder: the engine is shutting down");
        rc = VOX_ESHUTDOWN;
        goto fail;
    }
    rc = rec_pick_stem(e, s->id, s->stem, sizeof(s->stem));
    if (rc == 0) {
        s->next = e->head;
        if (e->head)
            e->head->prev = s;
        e->head = s;
        e->nsessions++;
        linked = true;
    }
    pthread_mutex_unlock(&e->mu);
    if (rc < 0) {
        vox_diag_set(diag, "recorder: no free file name for session %s in %s", s->id, e->dir);
        goto fail;
    }
    if ((rc = rec_wav_open(s, "", 2, &s->mix, diag)) < 0)
        goto fail;
    if ((rc = rec_json_write(s, s->start_ns, false)) < 0) {
        vox_diag_set(diag, "recorder: cannot write %s/%s.json: %s", e->dir, s->stem,
                     vox_strerror(rc));
        goto fail;
    }
    atomic_fetch_add(&e->sessions_open, 1);
    atomic_fetch_add(&e->sessions_total, 1);
    pthread_mutex_lock(&s->mu);
    s->state = REC_IDLE;
    pthread_mutex_unlock(&s->mu);
    *out = s;
    return 0;
fail:
    if (linked)
        session_unlink(s);
    if (s->mix) {
        char path[4400];

        vox_wav_close(s->mix);
        s->mix = NULL;
        if (rec_path(e, s->stem, ".wav", path, sizeof(path)) == 0)
            unlink(path); /* nothing recorded in it yet */
    }
    session_free(s);
    return rc;
}

int vox_rec_session_close(struct vox_rec_session *s, const char *reason)
{
    struct vox_rec_engine *e;
    struct rec_scratch *sc;
    struct rec_clock clk;
    int rc;

    if (!s)
        return VOX_EINVAL;
    e = s->e;
    if (!reason || !reason[0])
        reason = "bye";
    session_unlink(s);
    atomic_fetch_sub(&e->sessions_open, 1);
    if (tl_current == s) {
        /* from its own on_timeout: the task finishes it when the callback returns */
        pthread_mutex_lock(&s->mu);
        s->closing = true;
        pthread_mutex_unlock(&s->mu);
        snprintf(s->end_reason, sizeof(s->end_reason), "%s", reason);
        s->close_in_task = true;
        return 0;
    }
    pthread_mutex_lock(&s->mu);
    s->closing = true;
    while (s->state == REC_RUNNING)
        pthread_cond_wait(&s->cv, &s->mu);
    if (s->state == REC_QUEUED) {
        /* Not started: it will find the session closed and only drop its reference. Waiting
         * for it instead could deadlock a caller running on the executor's only worker. */
        s->state = REC_ORPHANED;
        s->refs++;
    } else {
        s->state = REC_CLOSED;
    }
    pthread_mutex_unlock(&s->mu);

    sc = scratch_get(e);
    rec_clock_read(e, &clk);
    rc = rec_session_finish(s, sc, &clk, reason);
    scratch_put(e, sc);
    session_release(s);
    return rc;
}

int vox_rec_session_set_metadata(struct vox_rec_session *s, const char *metadata_json)
{
    char *text = NULL, *old;
    size_t bytes = 0, old_bytes;
    int rc;

    if (!s)
        return VOX_EINVAL;
    if (metadata_json) {
        if ((rc = rec_metadata_check(metadata_json, NULL)) < 0)
            return rc;
        if (!(text = rec_strdup(s->e, metadata_json, &bytes)))
            return VOX_ENOMEM;
    }
    pthread_mutex_lock(&s->mu);
    old = s->metadata;
    old_bytes = s->metadata_bytes;
    s->metadata = text;
    s->metadata_bytes = bytes;
    s->json_dirty = true;
    pthread_mutex_unlock(&s->mu);
    if (old)
        rec_free(s->e, old, old_bytes);
    return 0;
}

void *vox_rec_session_user(const struct vox_rec_session *s)
{
    return s->user;
}

const char *vox_rec_session_id(const struct vox_rec_session *s)
{
    return s->id;
}

const char *vox_rec_session_stem(const struct vox_rec_session *s)
{
    return s->stem;
}

size_t vox_rec_session_stats(const struct vox_rec_session *s, struct vox_rec_stream_stats *out,
                             size_t cap)
{
    struct vox_rec_session *m = (struct vox_rec_session *)s; /* the lock is taken, not data */
    size_t n, i;

    pthread_mutex_lock(&m->mu);
    n = m->nstreams < cap ? m->nstreams : cap;
    for (i = 0; i < n; i++)
        out[i] = m->streams[i]->pub;
    pthread_mutex_unlock(&m->mu);
    return n;
}

/* ---- streams --------------------------------------------------------------------------------- */

int vox_rec_stream_add(struct vox_rec_session *s, const char *label, int fd, unsigned local_port,
                       const struct vox_rec_pt *pts, size_t npts, unsigned *index)
{
    struct vox_rec_engine *e;
    struct rec_stream *st;
    int rc, on = 1;

    if (!s || fd < 0 || (npts && !pts) || rec_pts_check(pts, npts) < 0)
        return VOX_EINVAL;
    e = s->e;
    if (!(st = rec_alloc(e, sizeof(*st))))
        return VOX_ENOMEM;
    st->fd = -1;
    /* Held across the file's creation: a concurrent add must not pick the same name, and the
     * task takes the lock only between its steps. */
    pthread_mutex_lock(&s->mu);
    if (s->closing) {
        rc = VOX_ESHUTDOWN;
        goto fail;
    }
    if (s->nstreams >= VOX_REC_MAX_STREAMS) {
        rc = VOX_ELIMIT;
        goto fail;
    }
    st->index = s->nstreams;
    st->local_port = local_port;
    snprintf(st->label, sizeof(st->label), "%s", label ? label : "");
    rec_stream_set_map(st, pts, npts);
    st->first_frame = rec_frame_of(s, rec_now(e));
    if ((rc = rec_stream_pick_file(s, st, st->label)) < 0)
        goto fail;
    if ((rc = rec_stream_init_media(s, st, NULL)) < 0)
        goto fail;
    if ((rc = rec_wav_open(s, st->file, 1, &st->wav, NULL)) < 0)
        goto fail;
    /* kernel receive times make the jitter figure and the placement of talk spurts exact */
    if (!e->manual)
        setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on));
    st->fd = fd;
    snprintf(st->pub.label, sizeof(st->pub.label), "%s", st->label);
    st->pub.index = st->index;
    st->pub.local_port = local_port;
    st->pub.codec = st->codec;
    st->pub.payload_type = st->codec_pt;
    st->st = st->pub;
    s->streams[s->nstreams++] = st;
    s->json_dirty = true;
    if (index)
        *index = st->index;
    pthread_mutex_unlock(&s->mu);
    return 0;
fail:
    pthread_mutex_unlock(&s->mu);
    rec_stream_free(s, st); /* fd is still -1 there: the caller keeps it */
    return rc;
}

/* The stream of `index`, under the session's lock; NULL when there is none. */
static struct rec_stream *stream_at(struct vox_rec_session *s, unsigned index)
{
    return index < s->nstreams ? s->streams[index] : NULL;
}

int vox_rec_stream_set_pts(struct vox_rec_session *s, unsigned index, const struct vox_rec_pt *pts,
                           size_t npts)
{
    struct rec_stream *st;
    int rc = 0;

    if (!s || (npts && !pts) || rec_pts_check(pts, npts) < 0)
        return VOX_EINVAL;
    pthread_mutex_lock(&s->mu);
    if (!(st = stream_at(s, index))) {
        rc = VOX_ENOENT;
    } else {
        st->ctl.npts = (uint8_t)npts;
        if (npts)
            memcpy(st->ctl.pts, pts, npts * sizeof(*pts));
        st->ctl.pts_dirty = true;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int vox_rec_stream_set_paused(struct vox_rec_session *s, unsigned index, int paused)
{
    struct rec_stream *st;
    uint64_t now;
    int rc = 0;

    if (!s)
        return VOX_EINVAL;
    now = rec_now(s->e);
    pthread_mutex_lock(&s->mu);
    if (!(st = stream_at(s, index))) {
        rc = VOX_ENOENT;
    } else if (!st->ctl.stop && paused && !st->ctl.paused) {
        st->ctl.paused = true;
        st->ctl.pause_since_ns = now;
        s->json_dirty = true;
    } else if (!st->ctl.stop && !paused && st->ctl.paused) {
        st->ctl.paused = false;
        st->ctl.paused_ns += now - st->ctl.pause_since_ns;
        s->json_dirty = true;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int vox_rec_stream_stop(struct vox_rec_session *s, unsigned index)
{
    struct rec_stream *st;
    uint64_t now;
    int rc = 0;

    if (!s)
        return VOX_EINVAL;
    now = rec_now(s->e);
    pthread_mutex_lock(&s->mu);
    if (!(st = stream_at(s, index))) {
        rc = VOX_ENOENT;
    } else if (st->ctl.stop) {
        rc = VOX_EBUSY;
    } else {
        st->ctl.stop = true;
        st->ctl.stop_ns = now;
        if (st->ctl.paused) {
            /* a pause ends with the stream */
            st->ctl.paused = false;
            st->ctl.paused_ns += now - st->ctl.pause_since_ns;
        }
        s->json_dirty = true;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}
