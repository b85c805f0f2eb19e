/* SPDX-License-Identifier: MIT */
/* Executor backend "thread": a new thread per task, the thread-per-session model. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "internal.h"

/*
 * One per task thread. Finished threads park their record on `zombies` and are joined by the
 * next submit or by shutdown, so that no thread outlives the executor and no detached thread
 * can still be touching our mutex when the state is freed.
 */
struct thread_rec {
    pthread_t tid; /* written by the thread itself: pthread_create may store it too late */
    struct thread_exec *owner;
    struct vox_task_node *node;
    struct thread_rec *next;
};

struct thread_exec {
    struct vox_executor *ex;
    pthread_mutex_t lock;
    pthread_cond_t idle; /* signalled when `live` drops to 0 */
    unsigned long live;  /* threads created and not yet parked */
    struct thread_rec *zombies;
    _Atomic uint64_t threads_started;
};

static void *thread_main(void *arg)
{
    struct thread_rec *rec = arg;
    struct thread_exec *te = rec->owner;

    vox__exec_worker_start(te->ex);
    vox__exec_run(te->ex, rec->node);
    pthread_mutex_lock(&te->lock);
    rec->tid = pthread_self();
    rec->next = te->zombies;
    te->zombies = rec;
    if (--te->live == 0)
        pthread_cond_broadcast(&te->idle);
    pthread_mutex_unlock(&te->lock);
    return NULL;
}

static void reap(struct thread_rec *list)
{
    while (list) {
        struct thread_rec *next = list->next;

        pthread_join(list->tid, NULL);
        vox__exec_free(list, sizeof(*list));
        list = next;
    }
}

static int thread_init(void *state, struct vox_executor *ex, const struct vox_exec_config *cfg,
                       struct vox_diag *diag)
{
    struct thread_exec *te = state;

    (void)cfg;
    te->ex = ex;
    if (pthread_mutex_init(&te->lock, NULL) != 0)
        goto fail;
    if (pthread_cond_init(&te->idle, NULL) != 0) {
        pthread_mutex_destroy(&te->lock);
        goto fail;
    }
    vox__exec_set_workers(ex, 0);
    return 0;
fail:
    vox_diag_set(diag, "executor 'thread': cannot initialise its mutex");
    return VOX_ENOMEM;
}

static int thread_submit(void *state, struct vox_task_node *node)
{
    struct thread_exec *te = state;
    struct thread_rec *rec, *zombies;
    pthread_t tid;
    int rc = 0;

    rec = vox__exec_zalloc(sizeof(*rec));
    if (!rec)
        return VOX_ENOMEM;
    rec->owner = te;
    rec->node = node;
    pthread_mutex_lock(&te->lock);
    zombies = te->zombies;
    te->zombies = NULL;
    te->live++;
    pthread_mutex_unlock(&te->lock);
    /* Finished threads are joined here, outside the lock: they have already left it. */
    reap(zombies);
    /* Counted first: the task may finish, and be drained, before pthread_create returns. */
    atomic_fetch_add_explicit(&te->threads_started, 1, memory_order_relaxed);
    if (pthread_create(&tid, NULL, thread_main, rec) != 0) {
        atomic_fetch_sub_explicit(&te->threads_started, 1, memory_order_relaxed);
        pthread_mutex_lock(&te->lock);
        if (--te->live == 0)
            pthread_cond_broadcast(&te->idle);
        pthread_mutex_unlock(&te->lock);
        vox__exec_free(rec, sizeof(*rec));
        rc = VOX_EAGAIN;
    }
    return rc;
}

/* Every task already has its thread, so nothing is pending: both modes wait for them all. */
static void thread_shutdown(void *state, enum vox_exec_shutdown mode)
{
    struct thread_exec *te = state;
    struct thread_rec *zombies;

    (void)mode;
    pthread_mutex_lock(&te->lock);
    while (te->live > 0)
        pthread_cond_wait(&te->idle, &te->lock);
    zombies = te->zombies;
    te->zombies = NULL;
    pthread_mutex_unlock(&te->lock);
    reap(zombies);
}

static void thread_fini(void *state)
{
    struct thread_exec *te = state;

    pthread_cond_destroy(&te->idle);
    pthread_mutex_destroy(&te->lock);
}

static void thread_stats(void *state, struct vox_exec_stats *out)
{
    struct thread_exec *te = state;

    out->threads_started = atomic_load_explicit(&te->threads_started, memory_order_relaxed);
}

const struct vox_executor_ops vox__exec_thread_ops = {
    .name = "thread",
    .abi_version = VOX_EXECUTOR_ABI_VERSION,
    .description = "a new thread per task (thread-per-session); ignores priorities",
    .state_bytes = sizeof(struct thread_exec),
    .init = thread_init,
    .submit = thread_submit,
    .shutdown = thread_shutdown,
    .fini = thread_fini,
    .stats = thread_stats,
};
