/* SPDX-License-Identifier: MIT */
/* Executor tests: one contract suite every backend passes, the registry, and steal specifics. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "vox/alloc.h"
#include "vox/core.h"
#include "vox/exec.h"

/* Tasks never call cmocka (its asserts longjmp, which only the main thread may do): they count
 * what they saw in atomics that the test asserts on afterwards. */

static const char *backend; /* set from --backend */

static struct vox_executor *make(const char *name, const struct vox_exec_config *cfg)
{
    struct vox_executor *ex = NULL;
    struct vox_diag diag = {{0}};
    int rc = vox_executor_create(name, cfg, &ex, &diag);

    if (rc)
        fail_msg("vox_executor_create(%s): %s: %s", name, vox_err_name(rc), diag.text);
    assert_non_null(ex);
    return ex;
}

/* Task counts sized so that the thread backend (a thread per task) stays quick. */
static unsigned many(void)
{
    return strcmp(backend, "thread") == 0 ? 500 : 20000;
}

static int has_queue(void)
{
    return strcmp(backend, "thread") != 0;
}

static void count_run(void *arg)
{
    atomic_fetch_add((_Atomic unsigned *)arg, 1);
}

static void submit_ok(struct vox_executor *ex, void (*run)(void *), void (*cancel)(void *),
                      void *arg, enum vox_priority prio)
{
    struct vox_task t = {.run = run, .cancel = cancel, .arg = arg, .prio = prio};
    int rc = vox_executor_submit(ex, &t);

    if (rc)
        fail_msg("vox_executor_submit: %s", vox_err_name(rc));
}

static void assert_all_once(_Atomic unsigned *c, unsigned n)
{
    unsigned i;

    for (i = 0; i < n; i++)
        if (atomic_load(&c[i]) != 1)
            fail_msg("task %u ran %u times", i, atomic_load(&c[i]));
}

static void assert_stats_balanced(struct vox_executor *ex, uint64_t submitted)
{
    struct vox_exec_stats s;
    uint64_t started = 0;
    unsigned p;

    vox_executor_stats(ex, &s);
    assert_int_equal(s.submitted, submitted);
    assert_int_equal(s.completed + s.cancelled, s.submitted);
    for (p = 0; p < VOX_PRIO_COUNT; p++) {
        started += s.started_by_prio[p];
        /* The longest wait bounds the mean: max * count >= sum. */
        if (s.started_by_prio[p])
            assert_true(s.wait_ns_max[p] >= s.wait_ns_sum[p] / s.started_by_prio[p]);
        else
            assert_int_equal(s.wait_ns_sum[p], 0);
    }
    assert_int_equal(started, s.completed);
}

/* ---- contract -------------------------------------------------------------------------------- */

static void contract_each_task_runs_once(void **st)
{
    unsigned n = many(), i, p, per_prio[VOX_PRIO_COUNT] = {0};
    _Atomic unsigned *c = calloc(n, sizeof(*c));
    struct vox_exec_config cfg = {.workers = 4};
    struct vox_executor *ex = make(backend, &cfg);
    struct vox_exec_stats s;

    (void)st;
    assert_non_null(c);
    for (i = 0; i < n; i++) {
        p = i % VOX_PRIO_COUNT;
        per_prio[p]++;
        submit_ok(ex, count_run, NULL, &c[i], (enum vox_priority)p);
    }
    assert_int_equal(vox_executor_drain(ex), 0);
    assert_all_once(c, n);
    assert_stats_balanced(ex, n);
    vox_executor_stats(ex, &s);
    assert_int_equal(s.completed, n);
    assert_int_equal(s.cancelled, 0);
    for (p = 0; p < VOX_PRIO_COUNT; p++)
        assert_int_equal(s.started_by_prio[p], per_prio[p]);
    if (has_queue()) {
        assert_int_equal(s.threads_started, 4);
        assert_true(s.queue_depth_max >= 1 && s.queue_depth_max <= n);
    } else {
        assert_int_equal(s.threads_started, n);
    }
    /* Draining an idle executor returns at once, as often as asked. */
    assert_int_equal(vox_executor_drain(ex), 0);
    assert_int_equal(vox_executor_drain(ex), 0);
    vox_executor_destroy(ex);
    free(c);
}

struct nest {
    struct vox_executor *ex;
    unsigned fanout, depth;
    _Atomic unsigned runs;
    _Atomic unsigned submit_errors;
};

struct nest_level {
    struct nest *n;
    unsigned level;
};

static struct nest_level levels[8];

static void nest_run(void *arg)
{
    struct nest_level *l = arg;
    struct nest *n = l->n;
    unsigned i;

    atomic_fetch_add(&n->runs, 1);
    if (l->level == n->depth)
        return;
    for (i = 0; i < n->fanout; i++) {
        struct vox_task t = {.run = nest_run,
                             .arg = &levels[l->level + 1],
                             .prio = (enum vox_priority)(i % VOX_PRIO_COUNT)};

        if (vox_executor_submit(n->ex, &t) != 0)
            atomic_fetch_add(&n->submit_errors, 1);
    }
}

static void contract_nested_tasks_are_drained(void **st)
{
    struct nest n = {.fanout = has_queue() ? 20 : 7, .depth = 3};
    struct vox_exec_config cfg = {.workers = 3};
    unsigned expected = 0, width = 1, d, roots = 2, round;

    (void)st;
    n.ex = make(backend, &cfg);
    for (d = 0; d <= n.depth; d++) {
        levels[d].n = &n;
        levels[d].level = d;
        expected += width;
        width *= n.fanout;
    }
    expected *= roots;
    /* Twice: drain must also work on an executor that has drained before. */
    for (round = 1; round <= 2; round++) {
        for (d = 0; d < roots; d++)
            submit_ok(n.ex, nest_run, NULL, &levels[0], VOX_PRIO_NORMAL);
        assert_int_equal(vox_executor_drain(n.ex), 0);
        assert_int_equal(atomic_load(&n.submit_errors), 0);
        assert_int_equal(atomic_load(&n.runs), expected * round);
        assert_stats_balanced(n.ex, (uint64_t)expected * round);
    }
    vox_executor_destroy(n.ex);
}

static void slow_run(void *arg)
{
    usleep(2000);
    atomic_fetch_add((_Atomic unsigned *)arg, 1);
}

static void contract_drain_waits_for_slow_tasks(void **st)
{
    struct vox_exec_config cfg = {.workers = 2};
    struct vox_executor *ex = make(backend, &cfg);
    _Atomic unsigned done = 0;
    unsigned i;

    (void)st;
    for (i = 0; i < 40; i++)
        submit_ok(ex, slow_run, NULL, &done, (enum vox_priority)(i % VOX_PRIO_COUNT));
    assert_int_equal(vox_executor_drain(ex), 0);
    assert_int_equal(atomic_load(&done), 40);
    vox_executor_destroy(ex);
}

struct counted_arg {
    _Atomic unsigned *ran;
    _Atomic unsigned *cancelled;
    sem_t *sem; /* posted on run and cancel when non-NULL */
};

static struct counted_arg *counted_new(_Atomic unsigned *ran, _Atomic unsigned *cancelled,
                                       sem_t *sem)
{
    struct counted_arg *a = malloc(sizeof(*a));

    assert_non_null(a);
    a->ran = ran;
    a->cancelled = cancelled;
    a->sem = sem;
    return a;
}

/* Both callbacks free the malloc'd arg, so that a task dropped without either leaks (LSan). */
static void counted_run(void *arg)
{
    struct counted_arg *a = arg;

    atomic_fetch_add(a->ran, 1);
    if (a->sem)
        sem_post(a->sem);
    free(a);
}

static void counted_cancel(void *arg)
{
    struct counted_arg *a = arg;

    atomic_fetch_add(a->cancelled, 1);
    if (a->sem)
        sem_post(a->sem);
    free(a);
}

static void must_not_run(void *arg)
{
    atomic_fetch_add((_Atomic unsigned *)arg, 1);
}

static void contract_submit_after_shutdown_fails(void **st)
{
    struct vox_executor *ex = make(backend, NULL);
    _Atomic unsigned calls = 0;
    struct vox_task t = {.run = must_not_run, .cancel = must_not_run, .arg = &calls};
    struct vox_exec_stats s;

    (void)st;
    assert_int_equal(vox_executor_shutdown(ex, VOX_EXEC_RUN_PENDING), 0);
    assert_int_equal(vox_executor_submit(ex, &t), VOX_ESHUTDOWN);
    assert_int_equal(vox_executor_shutdown(ex, VOX_EXEC_RUN_PENDING), VOX_ESHUTDOWN);
    assert_int_equal(vox_executor_shutdown(ex, VOX_EXEC_CANCEL_PENDING), VOX_ESHUTDOWN);
    assert_int_equal(vox_executor_drain(ex), 0);
    vox_executor_stats(ex, &s);
    assert_int_equal(s.submitted, 0);
    vox_executor_destroy(ex);
    assert_int_equal(atomic_load(&calls), 0);
}

static void contract_shutdown_runs_pending(void **st)
{
    struct vox_exec_config cfg = {.workers = 2};
    struct vox_executor *ex = make(backend, &cfg);
    _Atomic unsigned ran = 0, cancelled = 0;
    unsigned n = many(), i;
    struct vox_exec_stats s;

    (void)st;
    for (i = 0; i < n; i++)
        submit_ok(ex, counted_run, counted_cancel, counted_new(&ran, &cancelled, NULL),
                  (enum vox_priority)(i % VOX_PRIO_COUNT));
    assert_int_equal(vox_executor_shutdown(ex, VOX_EXEC_RUN_PENDING), 0);
    assert_int_equal(atomic_load(&ran), n);
    assert_int_equal(atomic_load(&cancelled), 0);
    assert_stats_balanced(ex, n);
    vox_executor_stats(ex, &s);
    assert_int_equal(s.completed, n);
    vox_executor_destroy(ex);
}

static void contract_shutdown_cancels_pending(void **st)
{
    struct vox_exec_config cfg = {.workers = 3};
    struct vox_executor *ex = make(backend, &cfg);
    _Atomic unsigned ran = 0, cancelled = 0;
    unsigned n = many(), i;

    (void)st;
    for (i = 0; i < n; i++)
        submit_ok(ex, counted_run, counted_cancel, counted_new(&ran, &cancelled, NULL),
                  (enum vox_priority)(i % VOX_PRIO_COUNT));
    assert_int_equal(vox_executor_shutdown(ex, VOX_EXEC_CANCEL_PENDING), 0);
    /* Each either ran or was cancelled, exactly once (the frees would double otherwise). */
    assert_int_equal(atomic_load(&ran) + atomic_load(&cancelled), n);
    assert_stats_balanced(ex, n);
    vox_executor_destroy(ex);
}

struct blocker {
    sem_t started;
    sem_t release;
    _Atomic int timed_out;
};

/* Waits for `release`; gives up after 60 s so that a broken backend fails the test instead of
 * hanging it (a guard against deadlock, not a timing assertion). */
static void wait_release(struct blocker *b)
{
    struct timespec deadline;

    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 60;
    while (sem_timedwait(&b->release, &deadline) != 0) {
        if (errno == ETIMEDOUT) {
            atomic_store(&b->timed_out, 1);
            return;
        }
    }
}

static void blocker_run(void *arg)
{
    struct blocker *b = arg;

    sem_post(&b->started);
    wait_release(b);
}

/*
 * The one worker is blocked in a task that only a queued task's run or cancel releases. A
 * queueing backend cannot run those while its only worker is blocked, so the shutdown must
 * cancel them, from the shutdown caller, before it waits for the worker.
 */
static void contract_cancel_while_worker_busy(void **st)
{
    struct vox_exec_config cfg = {.workers = 1};
    struct vox_executor *ex = make(backend, &cfg);
    _Atomic unsigned ran = 0, cancelled = 0;
    struct blocker b = {.timed_out = 0};
    struct vox_exec_stats s;
    unsigned n = 1000, i;

    (void)st;
    sem_init(&b.started, 0, 0);
    sem_init(&b.release, 0, 0);
    submit_ok(ex, blocker_run, NULL, &b, VOX_PRIO_LOW);
    while (sem_wait(&b.started) != 0)
        ;
    for (i = 0; i < n; i++)
        submit_ok(ex, counted_run, counted_cancel, counted_new(&ran, &cancelled, &b.release),
                  (enum vox_priority)(i % VOX_PRIO_COUNT));
    assert_int_equal(vox_executor_shutdown(ex, VOX_EXEC_CANCEL_PENDING), 0);
    assert_int_equal(atomic_load(&b.timed_out), 0);
    assert_int_equal(atomic_load(&ran) + atomic_load(&cancelled), n);
    vox_executor_stats(ex, &s);
    if (has_queue()) {
        assert_int_equal(atomic_load(&cancelled), n);
        assert_int_equal(s.cancelled, n);
        assert_int_equal(s.completed, 1);
    } else {
        assert_int_equal(atomic_load(&ran), n); /* a thread each: nothing was ever queued */
    }
    assert_stats_balanced(ex, n + 1);
    vox_executor_destroy(ex);
    sem_destroy(&b.started);
    sem_destroy(&b.release);
}

static void contract_task_nodes_use_given_allocator(void **st)
{
    struct vox_allocator *a = NULL;
    struct vox_diag diag = {{0}};
    struct vox_alloc_stats before, after;
    struct vox_exec_config cfg = {.workers = 2};
    struct vox_executor *ex;
    unsigned n = many(), i;
    _Atomic unsigned *c = calloc(n, sizeof(*c));
    int rc;

    (void)st;
    assert_non_null(c);
    rc = vox_allocator_create("pool", NULL, &a, &diag);
    if (rc)
        fail_msg("vox_allocator_create(pool): %s: %s", vox_err_name(rc), diag.text);
    cfg.alloc = a;
    ex = make(backend, &cfg);
    vox_allocator_stats(a, &before);
    for (i = 0; i < n; i++)
        submit_ok(ex, count_run, NULL, &c[i], (enum vox_priority)(i % VOX_PRIO_COUNT));
    assert_int_equal(vox_executor_drain(ex), 0);
    vox_allocator_stats(a, &after);
    assert_true(after.alloc_calls - before.alloc_calls >= n);
    assert_int_equal(after.free_calls - before.free_calls, after.alloc_calls - before.alloc_calls);
    /* Every node is back before drain returns: the allocator could be destroyed now. */
    assert_int_equal(after.bytes_in_use, 0);
    assert_all_once(c, n);
    vox_executor_destroy(ex);
    vox_allocator_destroy(a);
    free(c);
}

static void contract_invalid_arguments(void **st)
{
    struct vox_executor *ex = make(backend, NULL);
    _Atomic unsigned calls = 0;
    struct vox_task no_run = {.run = NULL, .cancel = must_not_run, .arg = &calls};
    struct vox_task bad_prio = {.run = must_not_run, .arg = &calls, .prio = (enum vox_priority)7};
    struct vox_task ok = {.run = must_not_run, .arg = &calls};
    struct vox_exec_stats s;

    (void)st;
    assert_int_equal(vox_executor_submit(ex, &no_run), VOX_EINVAL);
    assert_int_equal(vox_executor_submit(ex, &bad_prio), VOX_EINVAL);
    assert_int_equal(vox_executor_submit(ex, NULL), VOX_EINVAL);
    assert_int_equal(vox_executor_submit(NULL, &ok), VOX_EINVAL);
    assert_int_equal(vox_executor_shutdown(ex, (enum vox_exec_shutdown)9), VOX_EINVAL);
    assert_int_equal(vox_executor_create(backend, NULL, NULL, NULL), VOX_EINVAL);
    assert_int_equal(vox_executor_drain(ex), 0);
    vox_executor_stats(ex, &s);
    assert_int_equal(s.submitted, 0);
    vox_executor_destroy(ex);
    assert_int_equal(atomic_load(&calls), 0);
}

struct submitter {
    struct vox_executor *ex;
    _Atomic unsigned *c;
    unsigned first, count;
    _Atomic unsigned *errors;
};

static void *submitter_main(void *arg)
{
    struct submitter *s = arg;
    unsigned i;

    for (i = s->first; i < s->first + s->count; i++) {
        struct vox_task t = {
            .run = count_run, .arg = &s->c[i], .prio = (enum vox_priority)(i % VOX_PRIO_COUNT)};

        if (vox_executor_submit(s->ex, &t) != 0)
            atomic_fetch_add(s->errors, 1);
    }
    return NULL;
}

static void contract_concurrent_submitters(void **st)
{
    enum { NSUB = 4 };
    struct vox_exec_config cfg = {.workers = 3};
    struct vox_executor *ex = make(backend, &cfg);
    unsigned n = many(), i;
    _Atomic unsigned *c = calloc(n, sizeof(*c));
    _Atomic unsigned errors = 0;
    struct submitter subs[NSUB];
    pthread_t tids[NSUB];

    (void)st;
    assert_non_null(c);
    for (i = 0; i < NSUB; i++) {
        subs[i] = (struct submitter){
            .ex = ex, .c = c, .first = i * (n / NSUB), .count = n / NSUB, .errors = &errors};
        assert_int_equal(pthread_create(&tids[i], NULL, submitter_main, &subs[i]), 0);
    }
    for (i = 0; i < NSUB; i++)
        pthread_join(tids[i], NULL);
    assert_int_equal(vox_executor_drain(ex), 0);
    assert_int_equal(atomic_load(&errors), 0);
    assert_all_once(c, n / NSUB * NSUB);
    assert_stats_balanced(ex, n / NSUB * NSUB);
    vox_executor_destroy(ex);
    free(c);
}

static void contract_destroy_runs_pending(void **st)
{
    struct vox_exec_config cfg = {.workers = 2};
    struct vox_executor *ex = make(backend, &cfg);
    _Atomic unsigned ran = 0, cancelled = 0;
    unsigned n = many(), i;

    (void)st;
    for (i = 0; i < n; i++)
        submit_ok(ex, counted_run, counted_cancel, counted_new(&ran, &cancelled, NULL),
                  VOX_PRIO_NORMAL);
    vox_executor_destroy(ex);
    assert_int_equal(atomic_load(&ran), n);
    assert_int_equal(atomic_load(&cancelled), 0);
    vox_executor_destroy(NULL);
}

static void contract_name_and_workers(void **st)
{
    struct vox_exec_config cfg = {.workers = 3};
    struct vox_executor *ex = make(backend, &cfg);

    (void)st;
    assert_string_equal(vox_executor_name(ex), backend);
    assert_int_equal(vox_executor_workers(ex), has_queue() ? 3 : 0);
    vox_executor_destroy(ex);
    ex = make(backend, NULL);
    assert_int_equal(vox_executor_workers(ex), has_queue() ? vox_cpu_count() : 0);
    vox_executor_destroy(ex);
}

/* Each task records the nice value of the thread it ran on (-100: not run). */
#define NICE_TASKS 16
static _Atomic int nice_seen[NICE_TASKS];

static void nice_run(void *arg)
{
    pid_t tid = (pid_t)syscall(SYS_gettid);

    errno = 0;
    atomic_store(&nice_seen[(uintptr_t)arg], getpriority(PRIO_PROCESS, (id_t)tid));
}

static void contract_workers_run_at_the_configured_nice(void **st)
{
    struct vox_exec_config cfg = {.workers = 2, .nice = 7};
    struct vox_executor *ex;
    struct vox_diag diag = {{0}};
    int mine = getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
    int want = mine > 7 ? mine : 7;

    (void)st;
    for (uintptr_t i = 0; i < NICE_TASKS; i++)
        atomic_store(&nice_seen[i], -100);
    ex = make(backend, &cfg);
    for (uintptr_t i = 0; i < NICE_TASKS; i++)
        submit_ok(ex, nice_run, NULL, (void *)i, VOX_PRIO_NORMAL);
    assert_int_equal(vox_executor_drain(ex), 0);
    vox_executor_destroy(ex);
    for (unsigned i = 0; i < NICE_TASKS; i++)
        assert_int_equal(atomic_load(&nice_seen[i]), want);
    /* the submitting thread keeps its own */
    assert_int_equal(getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid)), mine);

    /* without the setting, workers keep the creator's value */
    cfg.nice = 0;
    ex = make(backend, &cfg);
    submit_ok(ex, nice_run, NULL, (void *)0, VOX_PRIO_NORMAL);
    assert_int_equal(vox_executor_drain(ex), 0);
    vox_executor_destroy(ex);
    assert_int_equal(atomic_load(&nice_seen[0]), mine);

    cfg.nice = 20;
    ex = (struct vox_executor *)&ex;
    assert_int_equal(vox_executor_create(backend, &cfg, &ex, &diag), VOX_EINVAL);
    assert_null(ex);
    assert_non_null(strstr(diag.text, "nice 20"));
}

/* ---- registry -------------------------------------------------------------------------------- */

static void registry_unknown_name(void **st)
{
    struct vox_executor *ex = (struct vox_executor *)&ex; /* must be reset to NULL */
    struct vox_diag diag = {{0}};

    (void)st;
    assert_int_equal(vox_executor_create("fibers", NULL, &ex, &diag), VOX_EUNKNOWN_BACKEND);
    assert_null(ex);
    assert_non_null(strstr(diag.text, "fibers"));
    assert_non_null(strstr(diag.text, "thread, pool, steal"));
    assert_int_equal(vox_executor_create(NULL, NULL, &ex, &diag), VOX_EUNKNOWN_BACKEND);
}

static void registry_auto_is_steal(void **st)
{
    struct vox_executor *ex = make("auto", NULL);

    (void)st;
    assert_string_equal(vox_executor_name(ex), "steal");
    vox_executor_destroy(ex);
}

static void registry_lists_builtins(void **st)
{
    static const char *const names[] = {"thread", "pool", "steal"};
    char buf[256];
    size_t i;

    (void)st;
    assert_true(vox_executor_backend_count() >= 3);
    for (i = 0; i < 3; i++) {
        const struct vox_executor_ops *ops = vox_executor_backend_at(i);

        assert_non_null(ops);
        assert_string_equal(ops->name, names[i]);
        assert_ptr_equal(vox_executor_backend_find(names[i]), ops);
        assert_int_equal(ops->abi_version, VOX_EXECUTOR_ABI_VERSION);
        assert_non_null(ops->description);
        assert_true(ops->description[0] != '\0');
    }
    assert_null(vox_executor_backend_at(vox_executor_backend_count()));
    assert_null(vox_executor_backend_find("auto"));
    assert_null(vox_executor_backend_find("nope"));
    vox_executor_backend_names(buf, sizeof(buf));
    assert_non_null(strstr(buf, "thread, pool, steal"));
}

static void registry_rejects_duplicates_and_bad_abi(void **st)
{
    static struct vox_executor_ops dup, future;

    (void)st;
    dup = *vox_executor_backend_find("pool");
    assert_int_equal(vox_executor_register(&dup), VOX_EEXIST);
    future = dup;
    future.name = "future";
    future.abi_version = VOX_EXECUTOR_ABI_VERSION + 1;
    assert_int_equal(vox_executor_register(&future), VOX_EINVAL);
    assert_int_equal(vox_executor_register(NULL), VOX_EINVAL);
    assert_null(vox_executor_backend_find("future"));
}

/* A minimal third-party backend: runs each task inline, inside submit. */
struct inline_state {
    struct vox_executor *ex;
};

static int inline_init(void *state, struct vox_executor *ex, const struct vox_exec_config *cfg,
                       struct vox_diag *diag)
{
    (void)cfg;
    (void)diag;
    ((struct inline_state *)state)->ex = ex;
    return 0;
}

static int inline_submit(void *state, struct vox_task_node *node)
{
    vox__exec_run(((struct inline_state *)state)->ex, node);
    return 0;
}

static void inline_shutdown(void *state, enum vox_exec_shutdown mode)
{
    (void)state;
    (void)mode;
}

static const struct vox_executor_ops inline_ops = {
    .name = "inline",
    .abi_version = VOX_EXECUTOR_ABI_VERSION,
    .description = "test: runs tasks inside submit",
    .state_bytes = sizeof(struct inline_state),
    .init = inline_init,
    .submit = inline_submit,
    .shutdown = inline_shutdown,
};

static void registry_custom_backend(void **st)
{
    size_t before = vox_executor_backend_count();
    _Atomic unsigned calls = 0;
    struct vox_executor *ex;
    struct vox_exec_stats s;

    (void)st;
    assert_int_equal(vox_executor_register(&inline_ops), 0);
    assert_int_equal(vox_executor_backend_count(), before + 1);
    assert_int_equal(vox_executor_register(&inline_ops), VOX_EEXIST);
    ex = make("inline", NULL);
    submit_ok(ex, count_run, NULL, (void *)&calls, VOX_PRIO_HIGH);
    assert_int_equal(atomic_load(&calls), 1);
    assert_int_equal(vox_executor_drain(ex), 0);
    vox_executor_stats(ex, &s);
    assert_int_equal(s.submitted, 1);
    assert_int_equal(s.completed, 1);
    assert_int_equal(s.started_by_prio[VOX_PRIO_HIGH], 1);
    assert_int_equal(vox_executor_workers(ex), 0);
    vox_executor_destroy(ex);
}

/* ---- steal ----------------------------------------------------------------------------------- */

struct order_log {
    _Atomic unsigned len;
    int prio[1024];
};

struct order_arg {
    struct order_log *log;
    int prio;
};

static void order_run(void *arg)
{
    struct order_arg *a = arg;
    unsigned i = atomic_fetch_add(&a->log->len, 1);

    if (i < sizeof(a->log->prio) / sizeof(a->log->prio[0]))
        a->log->prio[i] = a->prio;
}

static void assert_served_in_priority_order(struct order_log *log, unsigned n)
{
    unsigned i;

    assert_int_equal(atomic_load(&log->len), n);
    for (i = 1; i < n; i++)
        if (log->prio[i] < log->prio[i - 1])
            fail_msg("task %u (priority %d) ran after one of priority %d", i, log->prio[i],
                     log->prio[i - 1]);
}

/* Interleaved LOW, NORMAL, HIGH, CRITICAL, so that FIFO order would be wrong at every step. */
static void submit_interleaved(struct vox_executor *ex, struct order_arg *args, unsigned n)
{
    unsigned i;

    for (i = 0; i < n; i++) {
        args[i].prio = VOX_PRIO_LOW - (int)(i % VOX_PRIO_COUNT);
        submit_ok(ex, order_run, NULL, &args[i], (enum vox_priority)args[i].prio);
    }
}

static void steal_priorities_from_outside(void **st)
{
    static struct order_log log;
    static struct order_arg args[400];
    struct vox_exec_config cfg = {.workers = 1};
    struct vox_executor *ex = make("steal", &cfg);
    struct vox_exec_stats s;
    struct blocker b = {.timed_out = 0};
    unsigned i;

    (void)st;
    sem_init(&b.started, 0, 0);
    sem_init(&b.release, 0, 0);
    for (i = 0; i < 400; i++)
        args[i].log = &log;
    submit_ok(ex, blocker_run, NULL, &b, VOX_PRIO_LOW);
    while (sem_wait(&b.started) != 0)
        ;
    submit_interleaved(ex, args, 400);
    sem_post(&b.release);
    assert_int_equal(vox_executor_drain(ex), 0);
    assert_int_equal(atomic_load(&b.timed_out), 0);
    assert_served_in_priority_order(&log, 400);
    vox_executor_stats(ex, &s);
    assert_int_equal(s.started_by_prio[VOX_PRIO_CRITICAL], 100);
    assert_int_equal(s.started_by_prio[VOX_PRIO_LOW], 101);
    assert_true(s.queue_depth_max >= 400);
    vox_executor_destroy(ex);
    sem_destroy(&b.started);
    sem_destroy(&b.release);
}

struct spawner {
    struct vox_executor *ex;
    struct order_arg *args;
    unsigned n;
};

static void spawner_run(void *arg)
{
    struct spawner *sp = arg;
    unsigned i;

    for (i = 0; i < sp->n; i++) {
        struct vox_task t = {
            .run = order_run, .arg = &sp->args[i], .prio = (enum vox_priority)sp->args[i].prio};

        vox_executor_submit(sp->ex, &t);
    }
}

static void steal_priorities_from_inside(void **st)
{
    static struct order_log log;
    static struct order_arg args[400];
    struct vox_exec_config cfg = {.workers = 1};
    struct spawner sp = {.args = args, .n = 400};
    unsigned i;

    (void)st;
    sp.ex = make("steal", &cfg);
    for (i = 0; i < 400; i++) {
        args[i].log = &log;
        args[i].prio = VOX_PRIO_LOW - (int)(i % VOX_PRIO_COUNT);
    }
    /* The children land in the worker's own deques, and run after the spawner returns. */
    submit_ok(sp.ex, spawner_run, NULL, &sp, VOX_PRIO_LOW);
    assert_int_equal(vox_executor_drain(sp.ex), 0);
    assert_served_in_priority_order(&log, 400);
    vox_executor_destroy(sp.ex);
}

struct family {
    struct vox_executor *ex;
    unsigned children;
    pthread_t parent;
    _Atomic unsigned *ran;
    _Atomic unsigned elsewhere; /* children run by a thread other than the parent's */
    _Atomic unsigned submit_errors;
    _Atomic int gave_up;
};

struct child_arg {
    struct family *f;
    unsigned index;
};

static struct child_arg *child_args;

static void child_run(void *arg)
{
    struct child_arg *c = arg;
    uint64_t end = vox_clock_ns() + 5000;

    if (!pthread_equal(pthread_self(), c->f->parent))
        atomic_fetch_add(&c->f->elsewhere, 1);
    atomic_fetch_add(&c->f->ran[c->index], 1);
    while (vox_clock_ns() < end) /* a few µs of work, worth stealing */
        ;
}

static void parent_run(void *arg)
{
    struct family *f = arg;
    uint64_t deadline;
    unsigned i;

    f->parent = pthread_self();
    for (i = 0; i < f->children; i++) {
        struct vox_task t = {.run = child_run, .arg = &child_args[i], .prio = VOX_PRIO_NORMAL};

        if (vox_executor_submit(f->ex, &t) != 0)
            atomic_fetch_add(&f->submit_errors, 1);
    }
    /* The children sit in this worker's deque, which only this worker takes from without
     * stealing: staying busy until one ran elsewhere makes a steal certain, not likely. */
    deadline = vox_clock_ns() + 60ull * 1000000000ull;
    while (atomic_load(&f->elsewhere) == 0) {
        if (vox_clock_ns() > deadline) {
            atomic_store(&f->gave_up, 1);
            break;
        }
        sched_yield();
    }
}

static void steal_children_get_stolen(void **st)
{
    struct vox_exec_config cfg = {.workers = 2, .deque_capacity = 4096};
    struct family f = {.children = 2000};
    struct vox_exec_stats s;
    unsigned i;

    (void)st;
    f.ex = make("steal", &cfg);
    f.ran = calloc(f.children, sizeof(*f.ran));
    child_args = calloc(f.children, sizeof(*child_args));
    assert_non_null(f.ran);
    assert_non_null(child_args);
    for (i = 0; i < f.children; i++)
        child_args[i] = (struct child_arg){.f = &f, .index = i};
    submit_ok(f.ex, parent_run, NULL, &f, VOX_PRIO_NORMAL);
    assert_int_equal(vox_executor_drain(f.ex), 0);
    assert_int_equal(atomic_load(&f.submit_errors), 0);
    assert_int_equal(atomic_load(&f.gave_up), 0);
    assert_all_once(f.ran, f.children);
    vox_executor_stats(f.ex, &s);
    assert_true(s.steals > 0);
    assert_true(s.steals <= f.children);
    assert_stats_balanced(f.ex, f.children + 1);
    vox_executor_destroy(f.ex);
    free(child_args);
    free(f.ran);
}

static void fan_run(void *arg)
{
    struct family *f = arg;
    unsigned i;

    for (i = 0; i < f->children; i++) {
        struct vox_task t = {
            .run = count_run, .arg = &f->ran[i], .prio = (enum vox_priority)(i % VOX_PRIO_COUNT)};

        if (vox_executor_submit(f->ex, &t) != 0)
            atomic_fetch_add(&f->submit_errors, 1);
    }
}

static void steal_full_deque_overflows_to_injector(void **st)
{
    struct vox_exec_config cfg = {.workers = 2, .deque_capacity = 4};
    struct family f = {.children = 5000};

    (void)st;
    f.ex = make("steal", &cfg);
    f.ran = calloc(f.children, sizeof(*f.ran));
    assert_non_null(f.ran);
    submit_ok(f.ex, fan_run, NULL, &f, VOX_PRIO_HIGH);
    assert_int_equal(vox_executor_drain(f.ex), 0);
    assert_int_equal(atomic_load(&f.submit_errors), 0);
    assert_all_once(f.ran, f.children);
    assert_stats_balanced(f.ex, f.children + 1);
    vox_executor_destroy(f.ex);
    free(f.ran);
}

struct own_deque_cancel {
    struct vox_executor *ex;
    struct blocker b;
    _Atomic unsigned ran, cancelled;
    unsigned children;
};

/* Queues children on its own worker's deques, then blocks until one of them is cancelled. */
static void own_spawner_run(void *arg)
{
    struct own_deque_cancel *o = arg;
    unsigned i;

    for (i = 0; i < o->children; i++) {
        struct vox_task t = {.run = counted_run,
                             .cancel = counted_cancel,
                             .arg = counted_new(&o->ran, &o->cancelled, &o->b.release),
                             .prio = (enum vox_priority)(i % VOX_PRIO_COUNT)};

        if (vox_executor_submit(o->ex, &t) != 0)
            counted_cancel(t.arg); /* keeps the count right; the test then fails on ran */
    }
    sem_post(&o->b.started);
    wait_release(&o->b);
}

static void steal_cancel_reaches_worker_deques(void **st)
{
    struct vox_exec_config cfg = {.workers = 1};
    struct own_deque_cancel o = {.children = 500};
    struct vox_exec_stats s;

    (void)st;
    sem_init(&o.b.started, 0, 0);
    sem_init(&o.b.release, 0, 0);
    o.ex = make("steal", &cfg);
    submit_ok(o.ex, own_spawner_run, NULL, &o, VOX_PRIO_CRITICAL);
    while (sem_wait(&o.b.started) != 0)
        ;
    assert_int_equal(vox_executor_shutdown(o.ex, VOX_EXEC_CANCEL_PENDING), 0);
    assert_int_equal(atomic_load(&o.b.timed_out), 0);
    assert_int_equal(atomic_load(&o.ran), 0);
    assert_int_equal(atomic_load(&o.cancelled), o.children);
    vox_executor_stats(o.ex, &s);
    assert_int_equal(s.cancelled, o.children);
    assert_int_equal(s.completed, 1);
    vox_executor_destroy(o.ex);
    sem_destroy(&o.b.started);
    sem_destroy(&o.b.release);
}

static void steal_pinned_workers_run_everything(void **st)
{
    struct vox_exec_config cfg = {.workers = 2, .pin_workers = true};
    unsigned n = 5000, i;
    _Atomic unsigned *c = calloc(n, sizeof(*c));
    struct vox_executor *ex;

    (void)st;
    assert_non_null(c);
    ex = make("steal", &cfg);
    for (i = 0; i < n; i++)
        submit_ok(ex, count_run, NULL, &c[i], (enum vox_priority)(i % VOX_PRIO_COUNT));
    assert_int_equal(vox_executor_drain(ex), 0);
    assert_all_once(c, n);
    vox_executor_destroy(ex);
    free(c);
}

static void steal_rejects_bad_config(void **st)
{
    struct vox_exec_config cfg = {.deque_capacity = 1000};
    struct vox_executor *ex = NULL;
    struct vox_diag diag = {{0}};

    (void)st;
    assert_int_equal(vox_executor_create("steal", &cfg, &ex, &diag), VOX_EINVAL);
    assert_null(ex);
    assert_non_null(strstr(diag.text, "deque_capacity"));
    cfg.deque_capacity = 0;
    cfg.workers = 1000000;
    assert_int_equal(vox_executor_create("steal", &cfg, &ex, &diag), VOX_EINVAL);
    assert_int_equal(vox_executor_create("pool", &cfg, &ex, &diag), VOX_EINVAL);
    assert_null(ex);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest contract[] = {
        cmocka_unit_test(contract_each_task_runs_once),
        cmocka_unit_test(contract_nested_tasks_are_drained),
        cmocka_unit_test(contract_drain_waits_for_slow_tasks),
        cmocka_unit_test(contract_submit_after_shutdown_fails),
        cmocka_unit_test(contract_shutdown_runs_pending),
        cmocka_unit_test(contract_shutdown_cancels_pending),
        cmocka_unit_test(contract_cancel_while_worker_busy),
        cmocka_unit_test(contract_task_nodes_use_given_allocator),
        cmocka_unit_test(contract_invalid_arguments),
        cmocka_unit_test(contract_concurrent_submitters),
        cmocka_unit_test(contract_destroy_runs_pending),
        cmocka_unit_test(contract_name_and_workers),
        cmocka_unit_test(contract_workers_run_at_the_configured_nice),
    };
    const struct CMUnitTest registry[] = {
        cmocka_unit_test(registry_unknown_name),
        cmocka_unit_test(registry_auto_is_steal),
        cmocka_unit_test(registry_lists_builtins),
        cmocka_unit_test(registry_rejects_duplicates_and_bad_abi),
        cmocka_unit_test(registry_custom_backend),
    };
    const struct CMUnitTest steal[] = {
        cmocka_unit_test(steal_priorities_from_outside),
        cmocka_unit_test(steal_priorities_from_inside),
        cmocka_unit_test(steal_children_get_stolen),
        cmocka_unit_test(steal_full_deque_overflows_to_injector),
        cmocka_unit_test(steal_cancel_reaches_worker_deques),
        cmocka_unit_test(steal_pinned_workers_run_everything),
        cmocka_unit_test(steal_rejects_bad_config),
    };

    vox_process_prepare(argv);
    if (argc == 3 && strcmp(argv[1], "--backend") == 0) {
        char title[64];

        backend = argv[2];
        snprintf(title, sizeof(title), "exec contract: %s", backend);
        return _cmocka_run_group_tests(title, contract, sizeof(contract) / sizeof(contract[0]),
                                       NULL, NULL);
    }
    if (argc == 2 && strcmp(argv[1], "--registry") == 0)
        return cmocka_run_group_tests_name("exec registry", registry, NULL, NULL);
    if (argc == 2 && strcmp(argv[1], "--steal") == 0)
        return cmocka_run_group_tests_name("exec steal", steal, NULL, NULL);
    fprintf(stderr, "usage: %s --backend NAME | --registry | --steal\n", argv[0]);
    return 2;
}
