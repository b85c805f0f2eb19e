/* SPDX-License-Identifier: MIT */
/* Executor backend "pool": N workers sharing one FIFO queue under one mutex, no priorities. */
#include <pthread.h>
#include <stdint.h>

#include "internal.h"
#include "vox/core.h"

/*
 * Priorities are deliberately ignored: this is the baseline that the benchmarks hold the
 * priority-aware "steal" backend against, so it must stay the plain textbook design.
 */
struct pool_exec {
    struct vox_executor *ex;
    pthread_mutex_t lock;
    pthread_cond_t nonempty;
    struct vox_task_node *head, *tail; /* FIFO linked through node->next */
    uint64_t depth;                    /* nodes on the queue */
    uint64_t depth_max;
    unsigned idle;     /* workers waiting on `nonempty` */
    int stopping;      /* shutdown began: workers leave once the queue is empty */
    unsigned nthreads; /* workers started */
    pthread_t *threads;
    unsigned nworkers; /* size of `threads` */
};

static void *pool_worker(void *arg)
{
    struct pool_exec *pe = arg;
    struct vox_task_node *node;

    vox__exec_worker_start(pe->ex);
    pthread_mutex_lock(&pe->lock);
    for (;;) {
        while (!pe->head && !pe->stopping) {
            pe->idle++;
            pthread_cond_wait(&pe->nonempty, &pe->lock);
            pe->idle--;
        }
        node = pe->head;
        if (!node)
            break; /* stopping and nothing left */
        pe->head = node->next;
        if (!pe->head)
            pe->tail = NULL;
        pe->depth--;
        pthread_mutex_unlock(&pe->lock);
        vox__exec_run(pe->ex, node);
        pthread_mutex_lock(&pe->lock);
    }
    pthread_mutex_unlock(&pe->lock);
    return NULL;
}

/* Tells the workers to finish the queue and joins them; shared by shutdown and a failed init. */
static void stop_and_join(struct pool_exec *pe)
{
    unsigned i;

    pthread_mutex_lock(&pe->lock);
    pe->stopping = 1;
    pthread_cond_broadcast(&pe->nonempty);
    pthread_mutex_unlock(&pe->lock);
    for (i = 0; i < pe->nthreads; i++)
        pthread_join(pe->threads[i], NULL);
    pe->nthreads = 0;
}

static int pool_init(void *state, struct vox_executor *ex, const struct vox_exec_config *cfg,
                     struct vox_diag *diag)
{
    struct pool_exec *pe = state;
    unsigned n = cfg->workers ? cfg->workers : vox_cpu_count();
    int rc = 0;

    if (n > VOX__EXEC_MAX_WORKERS) {
        vox_diag_set(diag, "executor 'pool': %u workers is more than the limit of %u", n,
                     VOX__EXEC_MAX_WORKERS);
        return VOX_EINVAL;
    }
    pe->ex = ex;
    pe->nworkers = n;
    pe->threads = vox__exec_zalloc(n * sizeof(*pe->threads));
    if (!pe->threads) {
        vox_diag_set(diag, "executor 'pool': out of memory for %u workers", n);
        return VOX_ENOMEM;
    }
    if (pthread_mutex_init(&pe->lock, NULL) != 0) {
        rc = VOX_ENOMEM;
        goto fail_threads;
    }
    if (pthread_cond_init(&pe->nonempty, NULL) != 0) {
        rc = VOX_ENOMEM;
        goto fail_lock;
    }
    for (pe->nthreads = 0; pe->nthreads < n; pe->nthreads++) {
        if (pthread_create(&pe->threads[pe->nthreads], NULL, pool_worker, pe) != 0) {
            vox_diag_set(diag, "executor 'pool': could only start %u of %u workers", pe->nthreads,
                         n);
            rc = VOX_EAGAIN;
            goto fail_workers;
        }
    }
    vox__exec_set_workers(ex, n);
    return 0;

fail_workers:
    stop_and_join(pe);
    pthread_cond_destroy(&pe->nonempty);
fail_lock:
    pthread_mutex_destroy(&pe->lock);
fail_threads:
    vox__exec_free(pe->threads, n * sizeof(*pe->threads));
    pe->threads = NULL;
    if (rc == VOX_ENOMEM)
        vox_diag_set(diag, "executor 'pool': cannot initialise its mutex");
    return rc;
}

static int pool_submit(void *state, struct vox_task_node *node)
{
    struct pool_exec *pe = state;

    node->next = NULL;
    pthread_mutex_lock(&pe->lock);
    if (pe->tail)
        pe->tail->next = node;
    else
        pe->head = node;
    pe->tail = node;
    if (++pe->depth > pe->depth_max)
        pe->depth_max = pe->depth;
    if (pe->idle)
        pthread_cond_signal(&pe->nonempty);
    pthread_mutex_unlock(&pe->lock);
    return 0;
}

static void pool_shutdown(void *state, enum vox_exec_shutdown mode)
{
    struct pool_exec *pe = state;
    struct vox_task_node *list = NULL;

    if (mode == VOX_EXEC_CANCEL_PENDING) {
        /* Take the queue away before the workers can see it; cancel from here, before the
         * join, so that a cancel callback may release a task a worker is blocked in. */
        pthread_mutex_lock(&pe->lock);
        list = pe->head;
        pe->head = pe->tail = NULL;
        pe->depth = 0;
        pe->stopping = 1;
        pthread_cond_broadcast(&pe->nonempty);
        pthread_mutex_unlock(&pe->lock);
        while (list) {
            struct vox_task_node *next = list->next;

            vox__exec_cancel(pe->ex, list);
            list = next;
        }
    }
    stop_and_join(pe);
}

static void pool_fini(void *state)
{
    struct pool_exec *pe = state;

    pthread_cond_destroy(&pe->nonempty);
    pthread_mutex_destroy(&pe->lock);
    vox__exec_free(pe->threads, pe->nworkers * sizeof(*pe->threads));
    pe->threads = NULL;
}

static void pool_stats(void *state, struct vox_exec_stats *out)
{
    struct pool_exec *pe = state;

    pthread_mutex_lock(&pe->lock);
    out->queue_depth_max = pe->depth_max;
    pthread_mutex_unlock(&pe->lock);
    out->threads_started = pe->nworkers;
}

const struct vox_executor_ops vox__exec_pool_ops = {
    .name = "pool",
    .abi_version = VOX_EXECUTOR_ABI_VERSION,
    .description = "N workers, one shared FIFO queue under one mutex; ignores priorities",
    .state_bytes = sizeof(struct pool_exec),
    .init = pool_init,
    .submit = pool_submit,
    .shutdown = pool_shutdown,
    .fini = pool_fini,
    .stats = pool_stats,
};
