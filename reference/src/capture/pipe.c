/* SPDX-License-Identifier: MIT */
/*
 * The engine's second thread: the reader hands full batches to an analyser task through a
 * single-producer single-consumer ring of CAP_PIPE_DEPTH batches. The reader fills batch
 * `tail % depth` and publishes it (tail + 1); the analyser analyses batch `head % depth` and
 * gives it back (head + 1). The reader may fill a batch only while tail - head < depth.
 *
 * Waiting. A batch of 32 packets takes a few microseconds to analyse, less than a sleeping
 * thread takes to wake, so each side first spins briefly (200 pauses, a few microseconds), then
 * yields 20 times, and only then sleeps on a condition variable, after saying so in its `sleeps`
 * flag. Spinning longer (2000 pauses) made one run in three or four three times slower on a
 * 2-vCPU VM: a spinner holds the CPU that the other side, preempted, needs. The side that
 * moves a counter signals only when that flag is set: both the flag and the counter are
 * sequentially consistent, so either the sleeper sees the new counter or the mover sees the
 * flag, and the signal is sent under the mutex the sleeper holds until it waits.
 *
 * The analyser is one task on the configured executor (thread, pool or steal), submitted at
 * the start of each vox_capture_run and drained at its end.
 */
#include <pthread.h>
#include <sched.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "capture/internal.h"
#include "vox/core.h"
#include "vox/exec.h"

struct cap_pipe {
    alignas(64) atomic_size_t head; /* batches the analyser gave back */
    alignas(64) atomic_size_t tail; /* batches the reader published */
    alignas(64) atomic_int done;    /* the reader published its last batch of this run */
    atomic_int reader_sleeps, analyser_sleeps;
    pthread_mutex_t mu;
    pthread_cond_t reader_cv, analyser_cv;
    struct vox_executor *ex;
    uint64_t analyser_cpu_ns; /* written by the analyser, read after the drain */
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* May the reader fill batch `tail`? */
static bool reader_may_go(struct cap_pipe *p, size_t tail)
{
    return tail - atomic_load(&p->head) < CAP_PIPE_DEPTH;
}

/* Has the analyser something to do after `head` (or is the run over)? */
static bool analyser_may_go(struct cap_pipe *p, size_t head)
{
    return atomic_load(&p->tail) != head || atomic_load(&p->done);
}

static void pipe_wait(struct cap_pipe *p, bool (*ok)(struct cap_pipe *, size_t), size_t at,
                      atomic_int *sleeps, pthread_cond_t *cv)
{
    for (unsigned spin = 0; !ok(p, at); spin++) {
        if (spin < 200) {
            cpu_relax();
            continue;
        }
        if (spin < 220) {
            sched_yield();
            continue;
        }
        pthread_mutex_lock(&p->mu);
        atomic_store(sleeps, 1);
        while (!ok(p, at))
            pthread_cond_wait(cv, &p->mu);
        atomic_store(sleeps, 0);
        pthread_mutex_unlock(&p->mu);
        return;
    }
}

static void pipe_wake(struct cap_pipe *p, atomic_int *sleeps, pthread_cond_t *cv)
{
    if (!atomic_load(sleeps))
        return;
    pthread_mutex_lock(&p->mu);
    pthread_cond_signal(cv);
    pthread_mutex_unlock(&p->mu);
}

static void analyser_run(void *arg)
{
    struct vox_capture *cap = arg;
    struct cap_pipe *p = cap->pipe;
    uint64_t cpu0 = cap_thread_cpu_ns();
    size_t head = atomic_load(&p->head);

    for (;;) {
        struct cap_batch *b;
        bool timed;

        pipe_wait(p, analyser_may_go, head, &p->analyser_sleeps, &p->analyser_cv);
        if (atomic_load(&p->tail) == head)
            break; /* done, and nothing left */
        b = &cap->batches[head % CAP_PIPE_DEPTH];
        timed = b->timed;
        cap_analyse(cap, b);
        if (timed)
            cap_batch_done(cap, b->first_ns, vox_clock_ns());
        atomic_store(&p->head, ++head);
        pipe_wake(p, &p->reader_sleeps, &p->reader_cv);
    }
    p->analyser_cpu_ns += cap_thread_cpu_ns() - cpu0;
}

int cap_pipe_create(struct vox_capture *cap, struct vox_diag *diag)
{
    struct vox_exec_config ecfg = {0};
    struct cap_pipe *p = aligned_alloc(64, sizeof *p);
    int rc;

    if (!p) {
        vox_diag_set(diag, "capture: out of memory for the analyser's ring");
        return VOX_ENOMEM;
    }
    memset(p, 0, sizeof *p);
    atomic_init(&p->head, 0);
    atomic_init(&p->tail, 0);
    atomic_init(&p->done, 0);
    atomic_init(&p->reader_sleeps, 0);
    atomic_init(&p->analyser_sleeps, 0);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->reader_cv, NULL);
    pthread_cond_init(&p->analyser_cv, NULL);
    cap->pipe = p;
    ecfg.workers = 1;
    ecfg.alloc = cap->alloc;
    rc = vox_executor_create(cap->cfg.exec ? cap->cfg.exec : "pool", &ecfg, &p->ex, diag);
    return rc;
}

int cap_pipe_start(struct vox_capture *cap, struct vox_diag *diag)
{
    struct vox_task t = {analyser_run, NULL, cap, VOX_PRIO_HIGH};
    int rc;

    atomic_store(&cap->pipe->done, 0);
    rc = vox_executor_submit(cap->pipe->ex, &t);
    if (rc)
        vox_diag_set(diag, "%s: cannot start the analyser on the %s executor: %s", cap->source,
                     vox_executor_name(cap->pipe->ex), vox_strerror(rc));
    return rc;
}

void cap_pipe_publish(struct vox_capture *cap)
{
    struct cap_pipe *p = cap->pipe;
    size_t tail = atomic_load(&p->tail) + 1;

    atomic_store(&p->tail, tail);
    pipe_wake(p, &p->analyser_sleeps, &p->analyser_cv);
    pipe_wait(p, reader_may_go, tail, &p->reader_sleeps, &p->reader_cv);
    cap->fill = &cap->batches[tail % CAP_PIPE_DEPTH];
}

void cap_pipe_finish(struct vox_capture *cap)
{
    struct cap_pipe *p = cap->pipe;

    atomic_store(&p->done, 1);
    pipe_wake(p, &p->analyser_sleeps, &p->analyser_cv);
    vox_executor_drain(p->ex);
    cap->cpu_ns += p->analyser_cpu_ns;
    p->analyser_cpu_ns = 0;
}

void cap_pipe_destroy(struct vox_capture *cap)
{
    struct cap_pipe *p = cap->pipe;

    if (!p)
        return;
    vox_executor_destroy(p->ex);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->reader_cv);
    pthread_cond_destroy(&p->analyser_cv);
    free(p);
    cap->pipe = NULL;
}
