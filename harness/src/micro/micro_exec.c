/* SPDX-License-Identifier: MIT */
/* Executor micro benchmarks: task throughput, and high-priority latency behind a full queue. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "micro.h"
#include "vox/core.h"
#include "vox/exec.h"

/*
 * Throughput: one iteration submits a batch of empty tasks and drains, so the figure is the
 * cost of dispatch alone (queueing, wake-ups, the node allocation), in tasks per second.
 *
 * Priority latency: one iteration fills the executor with BACKLOG normal-priority tasks that
 * each keep a CPU busy for SPIN_US, then submits HIGH_TASKS high-priority tasks at once, and
 * records for each task the delay from its submission to its start. A backend that serves
 * priorities runs the high tasks as soon as a worker frees up; a FIFO runs them after the
 * backlog. The SpeechRNT guide claims 40-60% lower high-priority latency from priorities and
 * work stealing; here both figures come from the same run. Delays are reported as medians
 * over all iterations' tasks (counters hi_p50_us, hi_p99_us, normal_p50_us), not as GB times.
 */
#define THROUGHPUT_TASKS        2000
#define THREAD_THROUGHPUT_TASKS 200 /* one thread each: keep the thread backend's run short */
#define BACKLOG                 200
#define HIGH_TASKS              8
#define SPIN_US                 50

struct exec_ctx {
    const char *backend;
    struct vox_executor *ex;
};

static struct exec_ctx ctxs[16];
static size_t nctx;

static atomic_uint_fast64_t sink;

static void empty_task(void *arg)
{
    (void)arg;
    atomic_fetch_add_explicit(&sink, 1, memory_order_relaxed);
}

static void bm_throughput(struct vox_gb_state *st, void *v)
{
    struct exec_ctx *c = v;
    struct vox_task t = {.run = empty_task, .prio = VOX_PRIO_NORMAL};
    int n = strcmp(c->backend, "thread") == 0 ? THREAD_THROUGHPUT_TASKS : THROUGHPUT_TASKS;
    int i;

    while (vox_gb_keep_running(st)) {
        for (i = 0; i < n; i++) {
            if (vox_executor_submit(c->ex, &t) != 0) {
                vox_gb_skip_with_error(st, "submit failed");
                vox_executor_drain(c->ex);
                return;
            }
        }
        vox_executor_drain(c->ex);
    }
    vox_gb_set_items_processed(st, vox_gb_max_iterations(st) * n);
}

struct probe {
    uint64_t submit_ns;
    uint64_t start_ns;
};

static void spin_task(void *arg)
{
    struct probe *p = arg;
    uint64_t end;

    p->start_ns = vox_clock_ns();
    end = p->start_ns + SPIN_US * 1000u;
    while (vox_clock_ns() < end)
        ;
}

static void probe_task(void *arg)
{
    struct probe *p = arg;

    p->start_ns = vox_clock_ns();
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static double percentile_us(uint64_t *v, size_t n, double q)
{
    size_t k;

    if (!n)
        return 0;
    qsort(v, n, sizeof(*v), cmp_u64);
    k = (size_t)(q * (double)(n - 1) + 0.5);
    return (double)v[k] / 1e3;
}

static void bm_priority(struct vox_gb_state *st, void *v)
{
    struct exec_ctx *c = v;
    int64_t iters = vox_gb_max_iterations(st), it = 0;
    struct probe *normal = calloc(BACKLOG, sizeof(*normal));
    struct probe high[HIGH_TASKS];
    uint64_t *hi_wait = calloc((size_t)iters * HIGH_TASKS, sizeof(uint64_t));
    uint64_t *no_wait = calloc((size_t)iters * BACKLOG, sizeof(uint64_t));
    size_t nh = 0, nn = 0;
    int i;

    if (!normal || !hi_wait || !no_wait) {
        vox_gb_skip_with_error(st, "out of memory");
        goto out;
    }
    while (vox_gb_keep_running(st)) {
        for (i = 0; i < BACKLOG; i++) {
            struct vox_task t = {.run = spin_task, .arg = &normal[i], .prio = VOX_PRIO_NORMAL};

            normal[i].submit_ns = vox_clock_ns();
            if (vox_executor_submit(c->ex, &t) != 0)
                goto fail;
        }
        for (i = 0; i < HIGH_TASKS; i++) {
            struct vox_task t = {.run = probe_task, .arg = &high[i], .prio = VOX_PRIO_HIGH};

            high[i].submit_ns = vox_clock_ns();
            if (vox_executor_submit(c->ex, &t) != 0)
                goto fail;
        }
        vox_executor_drain(c->ex);
        for (i = 0; i < HIGH_TASKS && it < iters; i++)
            hi_wait[nh++] = high[i].start_ns - high[i].submit_ns;
        for (i = 0; i < BACKLOG && it < iters; i++)
            no_wait[nn++] = normal[i].start_ns - normal[i].submit_ns;
        it++;
    }
    vox_gb_counter(st, "hi_p50_us", percentile_us(hi_wait, nh, 0.50), 0);
    vox_gb_counter(st, "hi_p99_us", percentile_us(hi_wait, nh, 0.99), 0);
    vox_gb_counter(st, "normal_p50_us", percentile_us(no_wait, nn, 0.50), 0);
    goto out;
fail:
    vox_gb_skip_with_error(st, "submit failed");
    vox_executor_drain(c->ex);
out:
    free(normal);
    free(hi_wait);
    free(no_wait);
}

static int priority_iterations(const struct vox_micro_opts *opts)
{
    return opts->quick ? 5 : 40;
}

int vox_micro_exec_register(const struct vox_micro_opts *opts)
{
    char name[128];
    size_t i;

    for (i = 0; i < opts->execs.count && nctx < sizeof(ctxs) / sizeof(ctxs[0]); i++) {
        struct exec_ctx *c = &ctxs[nctx];
        struct vox_diag diag = {{0}};
        struct vox_gb_bench *b;
        int rc;

        c->backend = opts->execs.names[i];
        rc = vox_executor_create(c->backend, NULL, &c->ex, &diag);
        if (rc) {
            fprintf(stderr, "voxbench-micro: %s\n", diag.text);
            return rc;
        }
        nctx++;
        snprintf(name, sizeof(name), "exec/throughput/%s", c->backend);
        b = vox_gb_use_real_time(vox_gb_unit(vox_gb_register(name, bm_throughput, c), VOX_GB_US));
        vox_micro_timing(b, opts);
        snprintf(name, sizeof(name), "exec/priority/%s", c->backend);
        /* A fixed count: each iteration is a whole saturated episode (about 5 ms). */
        b = vox_gb_register(name, bm_priority, c);
        vox_gb_use_real_time(
            vox_gb_unit(vox_gb_iterations(b, priority_iterations(opts)), VOX_GB_MS));
    }
    return 0;
}

void vox_micro_exec_cleanup(void)
{
    size_t i;

    for (i = 0; i < nctx; i++)
        vox_executor_destroy(ctxs[i].ex);
    nctx = 0;
}

static const struct vox_gb_result *find(const struct vox_gb_results *res, const char *fmt,
                                        const char *backend)
{
    char name[160];

    snprintf(name, sizeof(name), fmt, backend);
    return vox_gb_results_find_family(res, name, 0);
}

void vox_micro_exec_tables(FILE *out, const struct vox_micro_opts *opts,
                           const struct vox_gb_results *res)
{
    double base_hi = vox_gb_result_counter(find(res, "exec/priority/%s", "pool"), "hi_p50_us", 0);
    char b1[32];
    size_t i;

    fprintf(out, "\n### Executors: throughput and high-priority latency under a full queue\n\n");
    fprintf(out,
            "Backlog: %d normal tasks of %d µs each, then %d high-priority tasks; %u "
            "workers for pool and steal.\n\n",
            BACKLOG, SPIN_US, HIGH_TASKS, vox_cpu_count());
    fprintf(out, "| Executor | Tasks/s (empty tasks) | High-priority wait p50 | p99 | Normal wait "
                 "p50 | High-priority p50 vs pool |\n");
    fprintf(out, "|---|---|---|---|---|---|\n");
    for (i = 0; i < opts->execs.count; i++) {
        const char *n = opts->execs.names[i];
        const struct vox_gb_result *tp = find(res, "exec/throughput/%s", n);
        const struct vox_gb_result *pr = find(res, "exec/priority/%s", n);
        double hi = vox_gb_result_counter(pr, "hi_p50_us", 0);

        fprintf(out, "| %s | %s | %.1f µs | %.1f µs | %.1f µs |", n,
                vox_micro_si(b1, sizeof(b1), vox_gb_result_counter(tp, "items_per_second", 0)), hi,
                vox_gb_result_counter(pr, "hi_p99_us", 0),
                vox_gb_result_counter(pr, "normal_p50_us", 0));
        if (strcmp(n, "pool") == 0 || base_hi <= 0 || hi <= 0)
            fprintf(out, " %s |\n", strcmp(n, "pool") == 0 ? "baseline" : "n/a");
        else if (hi <= base_hi)
            fprintf(out, " %.1f%% lower |\n", 100.0 * (1.0 - hi / base_hi));
        else
            fprintf(out, " %.1f%% higher |\n", 100.0 * (hi / base_hi - 1.0));
    }
    fprintf(out, "\nThe C++ STT backend's guide claims 40-60%% lower high-priority latency with "
                 "priorities and work stealing.\n");
}
