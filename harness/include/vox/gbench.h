/* SPDX-License-Identifier: MIT */
/* A C interface to Google Benchmark: register C functions as benchmarks, run them, read results. */
#ifndef VOX_GBENCH_H
#define VOX_GBENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Google Benchmark has no C API (google/benchmark#592), so this header is ours and a small C++
 * file (harness/src/gbench/gbench.cc) implements it against libbenchmark-dev. The shapes
 * follow GB's C++ API one to one, so GB's documentation applies: a registered function runs
 * `while (vox_gb_keep_running(st)) { ... }` and GB picks the iteration count.
 *
 * Keep the clock outside the timed loop: GB reads it once per batch of iterations, never per
 * iteration. For operations of a few nanoseconds use vox_gb_keep_running_batch(), which also
 * amortises the call into the C++ side.
 */

struct vox_gb_state; /* one running benchmark instance (benchmark::State) */
struct vox_gb_bench; /* a registered family (benchmark::internal::Benchmark) */

typedef void (*vox_gb_fn)(struct vox_gb_state *st, void *ctx);

enum vox_gb_unit { VOX_GB_NS, VOX_GB_US, VOX_GB_MS, VOX_GB_S };

/* Counter flags, as benchmark::Counter::Flags. */
enum {
    VOX_GB_COUNTER_DEFAULT = 0,
    VOX_GB_COUNTER_RATE = 1 << 0,           /* divided by the elapsed time: per second */
    VOX_GB_COUNTER_AVG_THREADS = 1 << 1,    /* averaged over threads instead of summed */
    VOX_GB_COUNTER_ITER_INVARIANT = 1 << 2, /* multiplied by the iteration count */
    VOX_GB_COUNTER_AVG_ITERATIONS = 1 << 3, /* divided by the iteration count */
    VOX_GB_COUNTER_INVERT = 1 << 4,         /* 1/value */
};

/* ---- registration (before vox_gb_run; not thread-safe) --------------------------------------- */

/* Registers `fn` under `name`; `ctx` is passed to every call (borrowed; must outlive the run).
 * Returns the family, for the setters below, which all return their argument. */
struct vox_gb_bench *vox_gb_register(const char *name, vox_gb_fn fn, void *ctx);
struct vox_gb_bench *vox_gb_arg(struct vox_gb_bench *b, int64_t x);
struct vox_gb_bench *vox_gb_args(struct vox_gb_bench *b, const int64_t *xs, size_t n);
struct vox_gb_bench *vox_gb_range(struct vox_gb_bench *b, int64_t lo, int64_t hi);
struct vox_gb_bench *vox_gb_dense_range(struct vox_gb_bench *b, int64_t lo, int64_t hi, int step);
struct vox_gb_bench *vox_gb_arg_names(struct vox_gb_bench *b, const char *const *names, size_t n);
struct vox_gb_bench *vox_gb_threads(struct vox_gb_bench *b, int threads);
struct vox_gb_bench *vox_gb_unit(struct vox_gb_bench *b, enum vox_gb_unit unit);
struct vox_gb_bench *vox_gb_iterations(struct vox_gb_bench *b, int64_t n);
struct vox_gb_bench *vox_gb_repetitions(struct vox_gb_bench *b, int n);
struct vox_gb_bench *vox_gb_min_time(struct vox_gb_bench *b, double seconds);
struct vox_gb_bench *vox_gb_use_real_time(struct vox_gb_bench *b);
struct vox_gb_bench *vox_gb_use_manual_time(struct vox_gb_bench *b);

/* ---- inside a benchmark function ------------------------------------------------------------- */

bool vox_gb_keep_running(struct vox_gb_state *st);
/* Counts `n` iterations per call (GB's KeepRunningBatch); the loop body must do n operations. */
bool vox_gb_keep_running_batch(struct vox_gb_state *st, int64_t n);
/*
 * The batch to use with vox_gb_keep_running_batch(): `n`, or the run's fixed iteration count
 * when that is smaller. GB always completes a batch, so without the clamp a run of 50 and a run
 * of 100 fixed iterations would both do one batch of `n`, and the callgrind difference the
 * harness takes between them would count nothing of the benchmark.
 */
int64_t vox_gb_batch(const struct vox_gb_state *st, int64_t n);
int64_t vox_gb_range_arg(const struct vox_gb_state *st, size_t i); /* state.range(i) */
int vox_gb_thread_index(const struct vox_gb_state *st);
int vox_gb_thread_count(const struct vox_gb_state *st);
int64_t vox_gb_max_iterations(const struct vox_gb_state *st);
void vox_gb_pause_timing(struct vox_gb_state *st);
void vox_gb_resume_timing(struct vox_gb_state *st);
void vox_gb_set_iteration_time(struct vox_gb_state *st, double seconds);
void vox_gb_set_items_processed(struct vox_gb_state *st, int64_t items);
void vox_gb_set_bytes_processed(struct vox_gb_state *st, int64_t bytes);
/* Sets user counter `name` (copied) to `value` with VOX_GB_COUNTER_* flags. */
void vox_gb_counter(struct vox_gb_state *st, const char *name, double value, unsigned flags);
void vox_gb_set_label(struct vox_gb_state *st, const char *label);
/* Marks this run failed with `msg`; the function should return without more iterations. */
void vox_gb_skip_with_error(struct vox_gb_state *st, const char *msg);

/* Keeps the compiler from optimising away the computation of `*p` (benchmark::DoNotOptimize). */
static inline void vox_gb_do_not_optimize(const void *p)
{
    __asm__ volatile("" : : "r"(p) : "memory");
}
static inline void vox_gb_clobber_memory(void)
{
    __asm__ volatile("" : : : "memory");
}

/* ---- running and results --------------------------------------------------------------------- */

struct vox_gb_counter_value {
    char name[64];
    double value; /* after the flags were applied (a rate is per second) */
};

/* One reported run (one benchmark instance, or one aggregate of its repetitions). */
struct vox_gb_result {
    char name[160];     /* "alloc/pool/min_time:0.050/threads:2", as GB prints it */
    char family[160];   /* registered name and arguments only: "alloc/pool", "c/sum/n:10" */
    char aggregate[16]; /* "" for a plain run, else "mean", "median", "stddev", "cv" */
    int64_t iterations;
    int64_t threads;
    double real_ns; /* wall time per iteration, ns (manual time when used) */
    double cpu_ns;  /* CPU time per iteration, ns */
    bool error;
    char error_message[128];
    size_t counter_count;
    struct vox_gb_counter_value counters[16];
};

struct vox_gb_results {
    size_t count;
    struct vox_gb_result *runs; /* in report order */
};

/*
 * Initialises GB from argv (it consumes its own --benchmark_* flags and leaves the rest in
 * argc/argv), runs every registered benchmark that the filter selects, printing with GB's
 * console reporter (or JSON with --benchmark_format=json) and writing --benchmark_out= when
 * given, and returns every run in *out (owned by the caller; free with vox_gb_results_free).
 * Returns the number of benchmarks run, or -1 on an unrecognised --benchmark_ flag or format.
 */
int vox_gb_run(int *argc, char **argv, struct vox_gb_results *out);
void vox_gb_results_free(struct vox_gb_results *r);

/*
 * The run named `name` (the full name GB prints): with repetitions, its median aggregate, else
 * the plain run. NULL when absent (filtered out, or a typo).
 */
const struct vox_gb_result *vox_gb_results_find(const struct vox_gb_results *r, const char *name);
/*
 * The same, by family (registered name plus arguments, without GB's min_time, iterations,
 * real_time or threads decorations) and thread count; `threads` 0 matches any. This is the
 * lookup to use from code, since options change the printed name.
 */
const struct vox_gb_result *vox_gb_results_find_family(const struct vox_gb_results *r,
                                                       const char *family, int threads);
/* A counter of a run, or `dflt` when the run or counter is absent. */
double vox_gb_result_counter(const struct vox_gb_result *r, const char *name, double dflt);

#ifdef __cplusplus
}
#endif

#endif /* VOX_GBENCH_H */
