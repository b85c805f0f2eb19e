/* SPDX-License-Identifier: MIT */
/* Executor front end: the backend registry, instances, task nodes, drain and the shared stats. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/registry.h"
#include "internal.h"
#include "vox/core.h"

/* ---- registry -------------------------------------------------------------------------------- */

static const void *const builtin[] = {
    &vox__exec_thread_ops,
    &vox__exec_pool_ops,
    &vox__exec_steal_ops,
    NULL,
};

static struct vox__registry reg = VOX__REGISTRY_INIT("executor", builtin, NULL);

size_t vox_executor_backend_count(void)
{
    return vox__registry_count(&reg);
}

const struct vox_executor_ops *vox_executor_backend_at(size_t i)
{
    return vox__registry_at(&reg, i);
}

const struct vox_executor_ops *vox_executor_backend_find(const char *name)
{
    return vox__registry_find(&reg, name);
}

int vox_executor_register(const struct vox_executor_ops *ops)
{
    if (!ops || ops->abi_version == 0 || ops->abi_version > VOX_EXECUTOR_ABI_VERSION ||
        !ops->init || !ops->submit || !ops->shutdown)
        return VOX_EINVAL;
    return vox__registry_add(&reg, ops);
}

void vox_executor_backend_names(char *buf, size_t buf_len)
{
    vox__registry_names(&reg, buf, buf_len);
}

/* ---- backend helpers ------------------------------------------------------------------------- */

void *vox__exec_zalloc(size_t size_bytes)
{
    size_t total = size_bytes + 64;
    unsigned char *base, *p;

    if (total < size_bytes || !vox_allocator_default())
        return NULL;
    base = vox_alloc(vox_allocator_default(), total);
    if (!base)
        return NULL;
    /* Blocks are 16-aligned, so at least 16 bytes precede the 64-aligned address: room for
     * the base pointer that the free needs. */
    p = (unsigned char *)(((uintptr_t)base + 64) & ~(uintptr_t)63);
    memcpy(p - sizeof(base), &base, sizeof(base));
    memset(p, 0, size_bytes);
    return p;
}

void vox__exec_free(void *p, size_t size_bytes)
{
    unsigned char *base;

    if (!p)
        return;
    memcpy(&base, (unsigned char *)p - sizeof(base), sizeof(base));
    vox_free(vox_allocator_default(), base, size_bytes + 64);
}

/* ---- instances ------------------------------------------------------------------------------- */

/* High bit of `gate`: shutdown began. Low bits: submits between their check and their return. */
#define GATE_SHUT (UINT64_C(1) << 63)

struct prio_counters {
    _Atomic uint64_t started;
    _Atomic uint64_t wait_ns_sum;
    _Atomic uint64_t wait_ns_max;
} __attribute__((aligned(64)));

struct vox_executor {
    const struct vox_executor_ops *ops;
    void *state; /* ops->state_bytes, zeroed, follows this struct */
    struct vox_allocator *alloc;
    unsigned workers;
    unsigned nice; /* vox_exec_config.nice */

    _Atomic uint64_t gate __attribute__((aligned(64)));
    _Atomic uint64_t outstanding __attribute__((aligned(64)));
    _Atomic unsigned drain_waiters;
    pthread_mutex_t drain_lock;
    pthread_cond_t drain_cond;

    _Atomic uint64_t submitted __attribute__((aligned(64)));
    _Atomic uint64_t completed __attribute__((aligned(64)));
    _Atomic uint64_t cancelled;
    struct prio_counters prio[VOX_PRIO_COUNT];
};

void vox__exec_worker_start(struct vox_executor *ex)
{
    char name[16];

    /* "exec-steal": what `top -H` and /proc/PID/task/TID/comm show */
    snprintf(name, sizeof(name), "exec-%s", ex->ops->name);
    pthread_setname_np(pthread_self(), name);
    if (ex->nice)
        vox_thread_nice(ex->nice);
}

void vox__exec_set_workers(struct vox_executor *ex, unsigned workers)
{
    ex->workers = workers;
}

int vox_executor_create(const char *name, const struct vox_exec_config *cfg,
                        struct vox_executor **out, struct vox_diag *diag)
{
    static const struct vox_exec_config defaults;
    const struct vox_executor_ops *ops;
    struct vox_executor *ex = NULL;
    struct vox_exec_config c;
    size_t state_bytes;
    int rc;

    if (!out)
        return VOX_EINVAL;
    *out = NULL;
    if (name && strcmp(name, "auto") == 0)
        name = "steal";
    rc = vox__registry_lookup(&reg, name, (const void **)&ops, diag);
    if (rc)
        return rc;
    c = cfg ? *cfg : defaults;
    if (!c.alloc)
        c.alloc = vox_allocator_default();
    if (!c.alloc) {
        vox_diag_set(diag, "executor '%s': no default allocator", name);
        return VOX_ENOMEM;
    }
    if (c.nice > 19) {
        vox_diag_set(diag, "executor '%s': nice %u is out of range (0..19)", name, c.nice);
        return VOX_EINVAL;
    }
    state_bytes = (ops->state_bytes + 63) & ~(size_t)63;
    /* The front end's own memory comes from libc, like the allocator instances it sits on. */
    if (posix_memalign((void **)&ex, 64, sizeof(*ex) + state_bytes) != 0) {
        vox_diag_set(diag, "executor '%s': out of memory creating the instance", name);
        return VOX_ENOMEM;
    }
    memset(ex, 0, sizeof(*ex) + state_bytes);
    ex->ops = ops;
    ex->state = state_bytes ? (char *)ex + sizeof(*ex) : NULL;
    ex->alloc = c.alloc;
    ex->nice = c.nice;
    if (pthread_mutex_init(&ex->drain_lock, NULL) != 0) {
        rc = VOX_ENOMEM;
        goto fail;
    }
    if (pthread_cond_init(&ex->drain_cond, NULL) != 0) {
        pthread_mutex_destroy(&ex->drain_lock);
        rc = VOX_ENOMEM;
        goto fail;
    }
    rc = ops->init(ex->state, ex, &c, diag);
    if (rc) {
        pthread_cond_destroy(&ex->drain_cond);
        pthread_mutex_destroy(&ex->drain_lock);
        goto fail;
    }
    *out = ex;
    return 0;
fail:
    free(ex);
    return rc;
}

/* One task left the executor (run, cancelled, or refused by the backend). */
static void finish_one(struct vox_executor *ex)
{
    /* Dekker pairing with drain(): it raises drain_waiters then reads outstanding, we lower
     * outstanding then read drain_waiters, both seq_cst, so one of us sees the other. */
    if (atomic_fetch_sub(&ex->outstanding, 1) != 1)
        return;
    if (atomic_load(&ex->drain_waiters) == 0)
        return;
    pthread_mutex_lock(&ex->drain_lock);
    pthread_cond_broadcast(&ex->drain_cond);
    pthread_mutex_unlock(&ex->drain_lock);
}

int vox_executor_submit(struct vox_executor *ex, const struct vox_task *t)
{
    struct vox_task_node *node;
    int rc = 0;

    if (!ex || !t || !t->run || (unsigned)t->prio >= VOX_PRIO_COUNT)
        return VOX_EINVAL;
    /* Entering the gate and shutdown's fetch_or are both seq_cst RMWs on one word: either we
     * see the flag, or shutdown waits for us to leave before it stops the backend. */
    if (atomic_fetch_add(&ex->gate, 1) & GATE_SHUT) {
        rc = VOX_ESHUTDOWN;
        goto out;
    }
    node = vox_alloc(ex->alloc, sizeof(*node));
    if (!node) {
        rc = VOX_ENOMEM;
        goto out;
    }
    node->task = *t;
    node->next = NULL;
    node->submit_ns = vox_clock_ns();
    /* Counted before the backend can hand the node to a worker that finishes it. */
    atomic_fetch_add_explicit(&ex->outstanding, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&ex->submitted, 1, memory_order_relaxed);
    rc = ex->ops->submit(ex->state, node);
    if (rc) {
        vox_free(ex->alloc, node, sizeof(*node));
        atomic_fetch_sub_explicit(&ex->submitted, 1, memory_order_relaxed);
        finish_one(ex);
    }
out:
    atomic_fetch_sub_explicit(&ex->gate, 1, memory_order_release);
    return rc;
}

int vox_executor_drain(struct vox_executor *ex)
{
    if (!ex)
        return VOX_EINVAL;
    if (atomic_load_explicit(&ex->outstanding, memory_order_acquire) == 0)
        return 0;
    pthread_mutex_lock(&ex->drain_lock);
    atomic_fetch_add(&ex->drain_waiters, 1);
    while (atomic_load(&ex->outstanding) != 0)
        pthread_cond_wait(&ex->drain_cond, &ex->drain_lock);
    atomic_fetch_sub(&ex->drain_waiters, 1);
    pthread_mutex_unlock(&ex->drain_lock);
    return 0;
}

int vox_executor_shutdown(struct vox_executor *ex, enum vox_exec_shutdown mode)
{
    if (!ex || (mode != VOX_EXEC_RUN_PENDING && mode != VOX_EXEC_CANCEL_PENDING))
        return VOX_EINVAL;
    if (atomic_fetch_or(&ex->gate, GATE_SHUT) & GATE_SHUT)
        return VOX_ESHUTDOWN;
    /* Submits already past the gate finish quickly (submit never blocks for long); after
     * this the backend sees no submit racing with its shutdown. */
    while ((atomic_load_explicit(&ex->gate, memory_order_acquire) & ~GATE_SHUT) != 0)
        sched_yield();
    ex->ops->shutdown(ex->state, mode);
    return 0;
}

void vox_executor_destroy(struct vox_executor *ex)
{
    if (!ex)
        return;
    if (!(atomic_load(&ex->gate) & GATE_SHUT))
        vox_executor_shutdown(ex, VOX_EXEC_RUN_PENDING);
    if (ex->ops->fini)
        ex->ops->fini(ex->state);
    pthread_cond_destroy(&ex->drain_cond);
    pthread_mutex_destroy(&ex->drain_lock);
    free(ex);
}

void vox_executor_stats(struct vox_executor *ex, struct vox_exec_stats *out)
{
    unsigned p;

    if (!out)
        return;
    memset(out, 0, sizeof(*out));
    if (!ex)
        return;
    /* Backend first, so that it can never overwrite the front end's figures. */
    if (ex->ops->stats)
        ex->ops->stats(ex->state, out);
    out->submitted = atomic_load_explicit(&ex->submitted, memory_order_relaxed);
    out->completed = atomic_load_explicit(&ex->completed, memory_order_relaxed);
    out->cancelled = atomic_load_explicit(&ex->cancelled, memory_order_relaxed);
    for (p = 0; p < VOX_PRIO_COUNT; p++) {
        out->started_by_prio[p] = atomic_load_explicit(&ex->prio[p].started, memory_order_relaxed);
        out->wait_ns_sum[p] = atomic_load_explicit(&ex->prio[p].wait_ns_sum, memory_order_relaxed);
        out->wait_ns_max[p] = atomic_load_explicit(&ex->prio[p].wait_ns_max, memory_order_relaxed);
    }
}

const char *vox_executor_name(const struct vox_executor *ex)
{
    return ex->ops->name;
}

unsigned vox_executor_workers(const struct vox_executor *ex)
{
    return ex->workers;
}

/* ---- for backends ---------------------------------------------------------------------------- */

static void record_start(struct vox_executor *ex, unsigned prio, uint64_t submit_ns)
{
    struct prio_counters *pc = &ex->prio[prio];
    uint64_t now = vox_clock_ns();
    uint64_t wait = now > submit_ns ? now - submit_ns : 0;
    uint64_t seen = atomic_load_explicit(&pc->wait_ns_max, memory_order_relaxed);

    atomic_fetch_add_explicit(&pc->started, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&pc->wait_ns_sum, wait, memory_order_relaxed);
    while (wait > seen &&
           !atomic_compare_exchange_weak_explicit(&pc->wait_ns_max, &seen, wait,
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

void vox__exec_run(struct vox_executor *ex, struct vox_task_node *node)
{
    struct vox_task t = node->task;

    record_start(ex, (unsigned)t.prio, node->submit_ns);
    /* The node goes back before the task runs and, above all, before outstanding drops: once
     * drain() can return, the caller may destroy the allocator the node came from. */
    vox_free(ex->alloc, node, sizeof(*node));
    t.run(t.arg);
    atomic_fetch_add_explicit(&ex->completed, 1, memory_order_relaxed);
    finish_one(ex);
}

void vox__exec_cancel(struct vox_executor *ex, struct vox_task_node *node)
{
    struct vox_task t = node->task;

    vox_free(ex->alloc, node, sizeof(*node));
    if (t.cancel)
        t.cancel(t.arg);
    atomic_fetch_add_explicit(&ex->cancelled, 1, memory_order_relaxed);
    finish_one(ex);
}
