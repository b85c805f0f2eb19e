/* SPDX-License-Identifier: MIT */
/* Executor backend "steal": per-worker Chase-Lev deques per priority, work stealing, hwloc. */
#include <hwloc.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#include "internal.h"
#include "vox/core.h"

/*
 * Where a task waits, per priority p:
 *   - the deque[p] of the worker that submitted it, when a task of this executor submits;
 *   - the injector[p] otherwise (other threads, or a worker whose deque is full).
 * A worker serves priorities strictly in order: for each p it tries its own deque, the
 * injector, then the other workers' deques, and only then looks at p + 1.
 *
 * Sleeping: `pending` counts tasks queued and not yet taken; it is raised before the task is
 * queued, so it is never below the true count. A worker raises `sleepers`, then re-reads
 * `pending` under `sleep_lock` before waiting; a submitter raises `pending`, queues, then reads
 * `sleepers` and signals under the lock. Both pairs are seq_cst (Dekker), so either the worker
 * sees the task or the submitter sees the sleeper, and no wake-up is lost.
 */

#define STEAL_BATCH        8  /* injector tasks a worker moves at once (one run, rest queued) */
#define STEAL_SPIN_ROUNDS  32 /* empty searches, each followed by sched_yield, before sleeping */
#define STEAL_MAX_CAPACITY (1u << 24)

enum { STOP_NONE = 0, STOP_RUN = 1, STOP_CANCEL = 2 };
enum { DQ_EMPTY, DQ_ABORT, DQ_OK };

/*
 * Chase-Lev deque with a fixed power-of-two ring, in the C11 formulation of Lê, Pop, Cohen and
 * Zappa Nardelli (PPoPP 2013). The owner pushes and takes at `bottom`, thieves take at `top`.
 * The ring never grows: a full deque makes the submitter fall back to the injector.
 */
struct deque {
    _Atomic int64_t top __attribute__((aligned(64)));
    _Atomic int64_t bottom __attribute__((aligned(64)));
    _Atomic(struct vox_task_node *) *buf;
    int64_t mask;
};

/* Mutex-protected FIFO; `len` is a hint read without the lock to skip empty injectors. */
struct injector {
    pthread_mutex_t lock;
    struct vox_task_node *head, *tail;
    _Atomic uint64_t len;
} __attribute__((aligned(64)));

struct steal_exec;

struct worker {
    struct deque dq[VOX_PRIO_COUNT];
    struct steal_exec *owner; /* identifies the instance for a submit from this thread */
    unsigned index;
    uint64_t rng;
    pthread_t tid;
    _Atomic uint64_t steals;
} __attribute__((aligned(64)));

struct steal_exec {
    struct vox_executor *ex;
    unsigned nworkers;
    unsigned nstarted;
    struct worker *workers;
    _Atomic(struct vox_task_node *) *slots; /* every deque's ring, in one block */
    size_t slots_bytes;
    struct injector inj[VOX_PRIO_COUNT];
    hwloc_topology_t topo; /* NULL unless pin_workers and hwloc loaded a topology */
    hwloc_cpuset_t *cpusets;

    _Atomic int64_t pending __attribute__((aligned(64)));
    _Atomic uint64_t pending_max;
    _Atomic unsigned sleepers __attribute__((aligned(64)));
    _Atomic int stop;
    pthread_mutex_t sleep_lock;
    pthread_cond_t wake;
};

/* The worker the calling thread is, of whichever steal executor; NULL for other threads. */
static _Thread_local struct worker *tls_worker;

/* ---- the deque ------------------------------------------------------------------------------- */

/* Owner only. Returns 0, or -1 when the ring is full. */
static int dq_push(struct deque *d, struct vox_task_node *x)
{
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    int64_t t = atomic_load_explicit(&d->top, memory_order_acquire);

    if (b - t > d->mask)
        return -1;
    atomic_store_explicit(&d->buf[b & d->mask], x, memory_order_relaxed);
    /* The paper's release fence + relaxed store, as one release store: a thief that reads
     * this bottom sees the slot and the node's contents. */
    atomic_store_explicit(&d->bottom, b + 1, memory_order_release);
    return 0;
}

/* Owner only. Returns the newest node, or NULL when empty or a thief won the last one. */
static struct vox_task_node *dq_take(struct deque *d)
{
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    struct vox_task_node *x = NULL;
    int64_t t;

    /* top only grows, so a stale top that already says "empty" is right: skip the fence. */
    if (b <= atomic_load_explicit(&d->top, memory_order_relaxed))
        return NULL;
    b--;
    /* Release (not relaxed) so that every bottom a thief may read heads a release sequence
     * of the owner's; the seq_cst fence orders this store before the load of top. */
    atomic_store_explicit(&d->bottom, b, memory_order_release);
    atomic_thread_fence(memory_order_seq_cst);
    t = atomic_load_explicit(&d->top, memory_order_relaxed);
    if (t <= b) {
        x = atomic_load_explicit(&d->buf[b & d->mask], memory_order_relaxed);
        if (t == b) {
            /* Last element: race the thieves for it through top. */
            if (!atomic_compare_exchange_strong_explicit(&d->top, &t, t + 1, memory_order_seq_cst,
                                                         memory_order_relaxed))
                x = NULL;
            atomic_store_explicit(&d->bottom, b + 1, memory_order_release);
        }
    } else {
        atomic_store_explicit(&d->bottom, b + 1, memory_order_release);
    }
    return x;
}

/* Any thread. DQ_ABORT means another thief or the owner won a race: worth retrying. */
static int dq_steal(struct deque *d, struct vox_task_node **out)
{
    int64_t t = atomic_load_explicit(&d->top, memory_order_acquire);
    struct vox_task_node *x;
    int64_t b;

    atomic_thread_fence(memory_order_seq_cst);
    b = atomic_load_explicit(&d->bottom, memory_order_acquire);
    if (t >= b)
        return DQ_EMPTY;
    /* May read a slot the owner has since reused; the CAS then fails and x is dropped. */
    x = atomic_load_explicit(&d->buf[t & d->mask], memory_order_relaxed);
    if (!atomic_compare_exchange_strong_explicit(&d->top, &t, t + 1, memory_order_seq_cst,
                                                 memory_order_relaxed))
        return DQ_ABORT;
    *out = x;
    return DQ_OK;
}

/* Owner's lower bound on free slots (thieves only ever make more room). */
static int64_t dq_room(struct deque *d)
{
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    int64_t t = atomic_load_explicit(&d->top, memory_order_acquire);

    return d->mask + 1 - (b - t);
}

/* ---- injectors ------------------------------------------------------------------------------- */

static void inj_push(struct injector *q, struct vox_task_node *node)
{
    node->next = NULL;
    pthread_mutex_lock(&q->lock);
    if (q->tail)
        q->tail->next = node;
    else
        q->head = node;
    q->tail = node;
    atomic_store_explicit(&q->len, atomic_load_explicit(&q->len, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    pthread_mutex_unlock(&q->lock);
}

static struct vox_task_node *inj_pop_locked(struct injector *q)
{
    struct vox_task_node *node = q->head;

    if (!node)
        return NULL;
    q->head = node->next;
    if (!q->head)
        q->tail = NULL;
    atomic_store_explicit(&q->len, atomic_load_explicit(&q->len, memory_order_relaxed) - 1,
                          memory_order_relaxed);
    return node;
}

/*
 * Takes the oldest task of injector p for worker w, and moves a fair share of the ones behind
 * it into w's deque, where w finds them without the lock and idle workers can steal them.
 */
static struct vox_task_node *inj_take(struct steal_exec *se, struct worker *w, unsigned p)
{
    struct injector *q = &se->inj[p];
    struct vox_task_node *first, *batch[STEAL_BATCH - 1];
    int64_t room;
    uint64_t share;
    unsigned k = 0;

    if (atomic_load_explicit(&q->len, memory_order_relaxed) == 0)
        return NULL;
    pthread_mutex_lock(&q->lock);
    first = inj_pop_locked(q);
    if (first) {
        share = atomic_load_explicit(&q->len, memory_order_relaxed) / se->nworkers;
        room = dq_room(&w->dq[p]);
        while (k < STEAL_BATCH - 1 && k < share && (int64_t)k < room) {
            batch[k] = inj_pop_locked(q);
            k++;
        }
    }
    pthread_mutex_unlock(&q->lock);
    /* Pushed newest first, so that the owner (which takes at the bottom) runs them in FIFO
     * order; the room was reserved above, so no push can fail. */
    while (k > 0)
        dq_push(&w->dq[p], batch[--k]);
    return first;
}

/* ---- workers --------------------------------------------------------------------------------- */

static uint64_t next_rand(struct worker *w)
{
    /* xorshift64: a cheap victim spread, not a statistic. */
    w->rng ^= w->rng << 13;
    w->rng ^= w->rng >> 7;
    w->rng ^= w->rng << 17;
    return w->rng;
}

static struct vox_task_node *steal_prio(struct steal_exec *se, struct worker *w, unsigned p)
{
    unsigned n = se->nworkers, start, i;
    struct vox_task_node *node;

    if (n < 2)
        return NULL;
    start = (unsigned)(next_rand(w) % n);
    for (i = 0; i < n; i++) {
        struct worker *v = &se->workers[(start + i) % n];
        int r;

        if (v == w)
            continue;
        /* An abort means someone else made progress on this deque, so this cannot spin
         * forever; giving up on it instead could miss the only task at this priority. */
        while ((r = dq_steal(&v->dq[p], &node)) == DQ_ABORT)
            ;
        if (r == DQ_OK) {
            atomic_store_explicit(&w->steals,
                                  atomic_load_explicit(&w->steals, memory_order_relaxed) + 1,
                                  memory_order_relaxed);
            return node;
        }
    }
    return NULL;
}

static struct vox_task_node *find_work(struct steal_exec *se, struct worker *w)
{
    struct vox_task_node *node = NULL;
    unsigned p;

    for (p = 0; p < VOX_PRIO_COUNT && !node; p++) {
        node = dq_take(&w->dq[p]);
        if (!node)
            node = inj_take(se, w, p);
        if (!node)
            node = steal_prio(se, w, p);
    }
    if (node)
        atomic_fetch_sub(&se->pending, 1);
    return node;
}

static void sleep_until_work(struct steal_exec *se)
{
    atomic_fetch_add(&se->sleepers, 1);
    pthread_mutex_lock(&se->sleep_lock);
    while (atomic_load(&se->pending) == 0 && atomic_load(&se->stop) == STOP_NONE)
        pthread_cond_wait(&se->wake, &se->sleep_lock);
    pthread_mutex_unlock(&se->sleep_lock);
    atomic_fetch_sub(&se->sleepers, 1);
}

static void pin_self(struct steal_exec *se, struct worker *w)
{
    if (!se->topo || !se->cpusets || !se->cpusets[w->index])
        return;
    /* Not fatal: the worker then runs wherever the scheduler puts it. */
    (void)hwloc_set_cpubind(se->topo, se->cpusets[w->index], HWLOC_CPUBIND_THREAD);
}

static void *steal_worker(void *arg)
{
    struct worker *w = arg;
    struct steal_exec *se = w->owner;
    struct vox_task_node *node;
    unsigned idle_rounds = 0;
    int stop;

    tls_worker = w;
    pin_self(se, w);
    vox__exec_worker_start(se->ex);
    for (;;) {
        stop = atomic_load_explicit(&se->stop, memory_order_acquire);
        if (stop == STOP_CANCEL)
            break;
        node = find_work(se, w);
        if (node) {
            idle_rounds = 0;
            vox__exec_run(se->ex, node);
            continue;
        }
        /* No submit can arrive once shutdown began, so nothing pending means nothing ever. */
        if (stop == STOP_RUN && atomic_load(&se->pending) == 0)
            break;
        if (++idle_rounds < STEAL_SPIN_ROUNDS) {
            sched_yield();
            continue;
        }
        idle_rounds = 0;
        sleep_until_work(se);
    }
    tls_worker = NULL;
    return NULL;
}

/* ---- the backend ----------------------------------------------------------------------------- */

static void pending_add(struct steal_exec *se)
{
    int64_t now = atomic_fetch_add(&se->pending, 1) + 1;
    uint64_t seen = atomic_load_explicit(&se->pending_max, memory_order_relaxed);

    while ((uint64_t)now > seen &&
           !atomic_compare_exchange_weak_explicit(&se->pending_max, &seen, (uint64_t)now,
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

static int steal_submit(void *state, struct vox_task_node *node)
{
    struct steal_exec *se = state;
    struct worker *w = tls_worker;
    unsigned p = (unsigned)node->task.prio;

    pending_add(se);
    if (!w || w->owner != se || dq_push(&w->dq[p], node) != 0)
        inj_push(&se->inj[p], node);
    if (atomic_load(&se->sleepers) > 0) {
        pthread_mutex_lock(&se->sleep_lock);
        pthread_cond_signal(&se->wake);
        pthread_mutex_unlock(&se->sleep_lock);
    }
    return 0;
}

/* Hands every queued node to run or cancel; thread-safe against workers still taking work. */
static void sweep(struct steal_exec *se, int cancel)
{
    struct vox_task_node *node, *next;
    unsigned p, i;

    for (p = 0; p < VOX_PRIO_COUNT; p++) {
        pthread_mutex_lock(&se->inj[p].lock);
        node = se->inj[p].head;
        se->inj[p].head = se->inj[p].tail = NULL;
        atomic_store_explicit(&se->inj[p].len, 0, memory_order_relaxed);
        pthread_mutex_unlock(&se->inj[p].lock);
        for (; node; node = next) {
            next = node->next;
            atomic_fetch_sub(&se->pending, 1);
            if (cancel)
                vox__exec_cancel(se->ex, node);
            else
                vox__exec_run(se->ex, node);
        }
        for (i = 0; i < se->nworkers; i++) {
            int r;

            /* As a thief: workers may still be taking from their own end. */
            while ((r = dq_steal(&se->workers[i].dq[p], &node)) != DQ_EMPTY) {
                if (r != DQ_OK)
                    continue;
                atomic_fetch_sub(&se->pending, 1);
                if (cancel)
                    vox__exec_cancel(se->ex, node);
                else
                    vox__exec_run(se->ex, node);
            }
        }
    }
}

static void join_workers(struct steal_exec *se)
{
    unsigned i;

    for (i = 0; i < se->nstarted; i++)
        pthread_join(se->workers[i].tid, NULL);
    se->nstarted = 0;
}

static void set_stop(struct steal_exec *se, int how)
{
    pthread_mutex_lock(&se->sleep_lock);
    atomic_store(&se->stop, how);
    pthread_cond_broadcast(&se->wake);
    pthread_mutex_unlock(&se->sleep_lock);
}

static void steal_shutdown(void *state, enum vox_exec_shutdown mode)
{
    struct steal_exec *se = state;
    int cancel = mode == VOX_EXEC_CANCEL_PENDING;

    set_stop(se, cancel ? STOP_CANCEL : STOP_RUN);
    /* Cancelling before the join lets a cancel callback release a task a worker is blocked
     * in; the second sweep catches a batch a worker moved into its deque meanwhile. */
    if (cancel)
        sweep(se, 1);
    join_workers(se);
    /* Under RUN_PENDING the workers left only with nothing pending: this finds nothing. */
    sweep(se, cancel);
}

static void unpin_setup(struct steal_exec *se)
{
    unsigned i;

    if (se->cpusets) {
        for (i = 0; i < se->nworkers; i++)
            hwloc_bitmap_free(se->cpusets[i]);
        vox__exec_free(se->cpusets, se->nworkers * sizeof(*se->cpusets));
        se->cpusets = NULL;
    }
    if (se->topo) {
        hwloc_topology_destroy(se->topo);
        se->topo = NULL;
    }
}

/*
 * One PU per worker, spread over the PUs this thread may run on (its affinity mask, which the
 * workers inherit) so that workers get as much private cache as possible. Any failure leaves
 * the workers unpinned.
 */
static void pin_setup(struct steal_exec *se)
{
    hwloc_cpuset_t allowed = NULL;
    hwloc_obj_t *roots = NULL;
    size_t roots_bytes = 0;
    int nroots, weight;
    unsigned i;

    if (hwloc_topology_init(&se->topo) != 0) {
        se->topo = NULL;
        return;
    }
    if (hwloc_topology_load(se->topo) != 0)
        goto fail;
    allowed = hwloc_bitmap_alloc();
    if (!allowed)
        goto fail;
    if (hwloc_get_cpubind(se->topo, allowed, HWLOC_CPUBIND_THREAD) != 0)
        hwloc_bitmap_copy(allowed, hwloc_topology_get_allowed_cpuset(se->topo));
    else
        hwloc_bitmap_and(allowed, allowed, hwloc_topology_get_allowed_cpuset(se->topo));
    weight = hwloc_bitmap_weight(allowed);
    if (weight <= 0)
        goto fail;
    roots_bytes = (size_t)weight * sizeof(*roots);
    roots = vox__exec_zalloc(roots_bytes);
    se->cpusets = vox__exec_zalloc(se->nworkers * sizeof(*se->cpusets));
    if (!roots || !se->cpusets)
        goto fail;
    nroots = hwloc_get_largest_objs_inside_cpuset(se->topo, allowed, roots, weight);
    if (nroots <= 0)
        goto fail;
    if (hwloc_distrib(se->topo, roots, (unsigned)nroots, se->cpusets, se->nworkers, INT_MAX, 0))
        goto fail;
    for (i = 0; i < se->nworkers; i++)
        if (se->cpusets[i])
            hwloc_bitmap_singlify(se->cpusets[i]);
    goto out;
fail:
    unpin_setup(se);
out:
    vox__exec_free(roots, roots_bytes);
    hwloc_bitmap_free(allowed);
}

static void free_tables(struct steal_exec *se)
{
    unsigned p;

    for (p = 0; p < VOX_PRIO_COUNT; p++)
        pthread_mutex_destroy(&se->inj[p].lock);
    pthread_cond_destroy(&se->wake);
    pthread_mutex_destroy(&se->sleep_lock);
    unpin_setup(se);
    vox__exec_free(se->slots, se->slots_bytes);
    vox__exec_free(se->workers, se->nworkers * sizeof(*se->workers));
    se->slots = NULL;
    se->workers = NULL;
}

static int steal_init(void *state, struct vox_executor *ex, const struct vox_exec_config *cfg,
                      struct vox_diag *diag)
{
    struct steal_exec *se = state;
    unsigned n = cfg->workers ? cfg->workers : vox_cpu_count();
    unsigned cap = cfg->deque_capacity ? cfg->deque_capacity : VOX__EXEC_DEQUE_CAPACITY;
    unsigned i, p;
    int rc = 0;

    if (n > VOX__EXEC_MAX_WORKERS) {
        vox_diag_set(diag, "executor 'steal': %u workers is more than the limit of %u", n,
                     VOX__EXEC_MAX_WORKERS);
        return VOX_EINVAL;
    }
    if ((cap & (cap - 1)) != 0 || cap > STEAL_MAX_CAPACITY) {
        vox_diag_set(diag, "executor 'steal': deque_capacity %u must be a power of two up to %u",
                     cap, STEAL_MAX_CAPACITY);
        return VOX_EINVAL;
    }
    se->ex = ex;
    se->nworkers = n;
    /* Mutexes first, so that free_tables() may destroy them on any later failure. */
    for (p = 0; p < VOX_PRIO_COUNT; p++)
        pthread_mutex_init(&se->inj[p].lock, NULL);
    pthread_mutex_init(&se->sleep_lock, NULL);
    pthread_cond_init(&se->wake, NULL);
    se->workers = vox__exec_zalloc(n * sizeof(*se->workers));
    se->slots_bytes = (size_t)n * VOX_PRIO_COUNT * cap * sizeof(*se->slots);
    se->slots = vox__exec_zalloc(se->slots_bytes);
    if (!se->workers || !se->slots) {
        vox_diag_set(diag, "executor 'steal': out of memory for %u workers x %u slots", n, cap);
        rc = VOX_ENOMEM;
        goto fail;
    }
    for (i = 0; i < n; i++) {
        struct worker *w = &se->workers[i];

        w->owner = se;
        w->index = i;
        w->rng = 0x9E3779B97F4A7C15ull * (i + 1);
        for (p = 0; p < VOX_PRIO_COUNT; p++) {
            w->dq[p].buf = se->slots + ((size_t)i * VOX_PRIO_COUNT + p) * cap;
            w->dq[p].mask = (int64_t)cap - 1;
        }
    }
    if (cfg->pin_workers)
        pin_setup(se);
    for (se->nstarted = 0; se->nstarted < n; se->nstarted++) {
        struct worker *w = &se->workers[se->nstarted];

        if (pthread_create(&w->tid, NULL, steal_worker, w) != 0) {
            vox_diag_set(diag, "executor 'steal': could only start %u of %u workers", se->nstarted,
                         n);
            rc = VOX_EAGAIN;
            goto fail_workers;
        }
    }
    vox__exec_set_workers(ex, n);
    return 0;

fail_workers:
    set_stop(se, STOP_RUN);
    join_workers(se);
fail:
    free_tables(se);
    return rc;
}

static void steal_fini(void *state)
{
    free_tables(state);
}

static void steal_stats(void *state, struct vox_exec_stats *out)
{
    struct steal_exec *se = state;
    unsigned i;

    out->steals = 0;
    for (i = 0; i < se->nworkers; i++)
        out->steals += atomic_load_explicit(&se->workers[i].steals, memory_order_relaxed);
    out->threads_started = se->nworkers;
    out->queue_depth_max = atomic_load_explicit(&se->pending_max, memory_order_relaxed);
}

const struct vox_executor_ops vox__exec_steal_ops = {
    .name = "steal",
    .abi_version = VOX_EXECUTOR_ABI_VERSION,
    .description = "per-worker work-stealing deques, priorities served in order, hwloc pinning",
    .state_bytes = sizeof(struct steal_exec),
    .init = steal_init,
    .submit = steal_submit,
    .shutdown = steal_shutdown,
    .fini = steal_fini,
    .stats = steal_stats,
};
