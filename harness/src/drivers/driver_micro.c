/* SPDX-License-Identifier: MIT */
/* Driver "micro": one Google Benchmark family of voxbench-micro per configuration. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"

/*
 * A micro workload names a benchmark family ("alloc/frames1000") and an axis ("alloc"); the
 * benchmark run is <family>/<axis value>, optionally narrowed by a `threads` param. Further
 * axes may only be `alloc` and `exec`: the backends the run uses ("frame/small/pooled" on each
 * allocator: axes [approach, alloc]). Each
 * repetition is a fresh voxbench-micro process, so repetitions are independent (pyperf's
 * process-level replication) and the process's peak RSS is the workload's own.
 *
 * Params the driver understands:
 *   threads=N         pick the /threads:N variant;
 *   arg=N             pick the run registered with argument N (simd/gain/avx2/4096);
 *   instructions=true also count instructions per iteration under callgrind (deterministic:
 *                     measured once, at the first repetition, and marked stable for the gate);
 *   ratio_base=NAME   also run the axis value NAME in the same process and record
 *                     speedup = time(NAME) / time(value), a same-run ratio (stable).
 */

/*
 * N for the N and 2N iteration runs. Both must print with the same number of digits: GB names
 * every benchmark ".../iterations:N" and matches the filter against all of them, so a longer
 * name costs instructions that are not the benchmark's (50 and 100 did: ~700 per iteration,
 * and more with every benchmark registered).
 */
#define CALLGRIND_ITERATIONS 100

static int micro_check(const struct vox_workload *w, struct vox_diag *diag)
{
    if (!w->benchmark[0]) {
        vox_diag_set(diag, "workload '%s' (micro) has no 'benchmark' family", w->id);
        return VOX_EINVAL;
    }
    size_t i;

    if (w->naxes < 1) {
        vox_diag_set(diag,
                     "workload '%s' (micro) needs an entry in 'axes' (the value its "
                     "benchmark family is registered per)",
                     w->id);
        return VOX_EINVAL;
    }
    /* Further axes select the backends the benchmark runs on (--alloc, --exec). */
    for (i = 1; i < w->naxes; i++)
        if (strcmp(w->axes[i], "alloc") != 0 && strcmp(w->axes[i], "exec") != 0) {
            vox_diag_set(diag,
                         "workload '%s' (micro): axis '%s' after the first must be 'alloc' "
                         "or 'exec' (the first, '%s', names the benchmark run)",
                         w->id, w->axes[i], w->axes[0]);
            return VOX_EINVAL;
        }
    return 0;
}

/* The benchmark's argv: the backends of this configuration, and a filter for its run(s). */
struct micro_argv {
    char *argv[24];
    char bin[512], alloc[160], exec[160], filter[512];
};

static void build_argv(const struct vox_driver_env *env, const struct vox_workload *w,
                       const struct vox_run *run, const char *base, struct micro_argv *a)
{
    const char *axis = w->axes[0];
    const char *value = vox_run_param(run, axis);
    const char *threads = vox_run_param(run, "threads");
    const char *arg = vox_run_param(run, "arg");
    const char *alloc = vox_run_param(run, "alloc");
    const char *exec = vox_run_param(run, "exec");
    size_t n = 0;

    snprintf(a->bin, sizeof(a->bin), "%s/voxbench-micro", env->bin_dir);
    /* Only the backends this run needs are created (voxbench-micro starts every executor it
     * is given). With a ratio, the base backend runs beside the measured one. */
    snprintf(a->alloc, sizeof(a->alloc), "%s%s%s", base && strcmp(axis, "alloc") == 0 ? base : "",
             base && strcmp(axis, "alloc") == 0 ? "," : "", alloc ? alloc : "system");
    snprintf(a->exec, sizeof(a->exec), "%s%s%s", base && strcmp(axis, "exec") == 0 ? base : "",
             base && strcmp(axis, "exec") == 0 ? "," : "", exec ? exec : "pool");
    snprintf(a->filter, sizeof(a->filter), "--benchmark_filter=^%s/(%s%s%s)%s%s(/.*)?%s%s$",
             w->benchmark, base ? base : "", base ? "|" : "", value ? value : "", arg ? "/" : "",
             arg ? arg : "", threads ? "/threads:" : "", threads ? threads : "");
    a->argv[n++] = a->bin;
    a->argv[n++] = "--alloc";
    a->argv[n++] = a->alloc;
    a->argv[n++] = "--exec";
    a->argv[n++] = a->exec;
    a->argv[n++] = a->filter;
    a->argv[n++] = "--benchmark_format=json";
    if (env->quick)
        a->argv[n++] = "--quick";
    a->argv[n] = NULL;
}

static double to_ns(const char *unit)
{
    if (!unit || strcmp(unit, "ns") == 0)
        return 1.0;
    if (strcmp(unit, "us") == 0)
        return 1e3;
    if (strcmp(unit, "ms") == 0)
        return 1e6;
    return 1e9;
}

/* Google Benchmark's own keys; anything else numeric on a run is a user counter. */
static int gb_key(const char *k)
{
    static const char *const keys[] = {"family_index",     "per_family_instance_index",
                                       "repetitions",      "repetition_index",
                                       "threads",          "iterations",
                                       "real_time",        "cpu_time",
                                       "items_per_second", "bytes_per_second"};
    size_t i;

    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strcmp(k, keys[i]) == 0)
            return 1;
    return 0;
}

static const char *unit_of(const char *counter)
{
    size_t n = strlen(counter);

    if (n > 3 && strcmp(counter + n - 3, "_us") == 0)
        return "us";
    if (n > 3 && strcmp(counter + n - 3, "_ns") == 0)
        return "ns";
    if (n > 6 && strcmp(counter + n - 6, "_bytes") == 0)
        return "bytes";
    return "";
}

static int push(struct vox_run *run, const char *name, const char *unit, enum vox_metric_dir dir,
                bool stable, double v)
{
    struct vox_metric *m = vox_run_metric(run, name, unit, dir, stable);

    return m && vox_metric_push(m, v) == 0 ? 0 : VOX_ENOMEM;
}

/*
 * Reads GB's JSON from `path`. Stores the measured run's metrics into `run` (unless NULL),
 * and the real time per iteration of the run named <family>/<value> and of <family>/<base>.
 */
static int parse_gb(const char *path, const struct vox_workload *w, const char *value,
                    const char *base, struct vox_run *run, double *value_ns, double *base_ns,
                    struct vox_diag *diag)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr), *benches, *b;
    char want[160], want_base[160];
    size_t i, matched = 0;
    int rc = 0;

    *value_ns = *base_ns = NAN;
    if (!root) {
        vox_diag_set(diag, "workload '%s': voxbench-micro output is not JSON (%s)", w->id,
                     jerr.text);
        return VOX_EMALFORMED;
    }
    snprintf(want, sizeof(want), "%s/%s", w->benchmark, value);
    snprintf(want_base, sizeof(want_base), "%s/%s", w->benchmark, base ? base : "");
    benches = json_object_get(root, "benchmarks");
    json_array_foreach(benches, i, b)
    {
        const char *name = json_string_value(json_object_get(b, "run_name"));
        const char *unit = json_string_value(json_object_get(b, "time_unit"));
        double real = json_number_value(json_object_get(b, "real_time")) * to_ns(unit);
        const char *key;
        json_t *v;
        size_t len;

        if (!name || json_is_true(json_object_get(b, "error_occurred"))) {
            const char *msg = json_string_value(json_object_get(b, "error_message"));

            vox_diag_set(diag, "workload '%s': benchmark %s failed: %s", w->id, name ? name : "?",
                         msg ? msg : "unknown error");
            rc = VOX_EIO;
            goto out;
        }
        /* Match the family and backend, ignoring GB's /real_time, /threads:N decorations. */
        len = strlen(want_base);
        if (base && strncmp(name, want_base, len) == 0 && (!name[len] || name[len] == '/'))
            *base_ns = real;
        len = strlen(want);
        if (strncmp(name, want, len) != 0 || (name[len] && name[len] != '/'))
            continue;
        matched++;
        *value_ns = real;
        if (!run)
            continue;
        rc = push(run, "real_ns", "ns", VOX_DIR_LOWER, false, real);
        rc = rc ? rc
                : push(run, "cpu_ns", "ns", VOX_DIR_LOWER, false,
                       json_number_value(json_object_get(b, "cpu_time")) * to_ns(unit));
        json_object_foreach(b, key, v)
        {
            if (rc || !json_is_number(v) || (gb_key(key) && !strstr(key, "_per_second")))
                continue;
            rc = push(run, key, strstr(key, "_per_second") ? "1/s" : unit_of(key),
                      strstr(key, "_per_second") || strstr(key, "hit") ? VOX_DIR_HIGHER
                                                                       : VOX_DIR_LOWER,
                      false, json_number_value(v));
        }
        if (rc)
            goto out;
    }
    if (matched != 1) {
        vox_diag_set(diag,
                     "workload '%s': the filter matched %zu runs of %s (expected 1: is "
                     "the benchmark family right, or does it need a 'threads' param?)",
                     w->id, matched, want);
        rc = VOX_EINVAL;
    }
out:
    json_decref(root);
    return rc;
}

/* Total instructions from a callgrind output file ("summary:" or "totals:" line). */
static int callgrind_total(const char *path, double *out)
{
    char line[512];
    FILE *f = fopen(path, "r");
    int rc = -1;

    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "summary:", 8) == 0 || strncmp(line, "totals:", 7) == 0) {
            *out = strtod(strchr(line, ':') + 1, NULL);
            rc = 0;
        }
    }
    fclose(f);
    return rc;
}

/*
 * Instructions per iteration: two callgrind runs of N and 2N iterations; their difference is
 * exactly N iterations, with process start-up and GB's setup cancelled out (batched benchmarks
 * clamp their batch to the iteration count: vox_gb_batch). Counts are
 * deterministic for a given binary, so one measurement stands for all repetitions.
 */
static int count_instructions(const struct vox_driver_env *env, const struct vox_workload *w,
                              struct vox_run *run, struct vox_diag *diag)
{
    /* SSE2 is every x86-64's baseline: with the SIMD level pinned, the count of a benchmark
     * that uses the dispatched kernels does not depend on the CPU the gate runs on. */
    static char *const env_add[] = {
        "GLIBC_TUNABLES=glibc.rtld.optional_static_tls=16384",
        "VOX_PREPARED=1",
#if defined(__x86_64__)
        "VOX_SIMD=sse2",
#endif
        NULL
    };
    double ir[2];
    int k, rc;

    for (k = 0; k < 2; k++) {
        struct micro_argv a;
        struct vox_child_usage u;
        char outfile[600], iters[32], cgopt[640], err[600];
        char *argv[32];
        size_t n = 0, i;

        build_argv(env, w, run, NULL, &a);
        snprintf(outfile, sizeof(outfile), "%s/callgrind.%s.%d", env->work_dir, w->id, k);
        snprintf(cgopt, sizeof(cgopt), "--callgrind-out-file=%s", outfile);
        snprintf(iters, sizeof(iters), "%d", CALLGRIND_ITERATIONS * (k + 1));
        snprintf(err, sizeof(err), "%s/callgrind.%s.err", env->work_dir, w->id);
        argv[n++] = "valgrind";
        argv[n++] = "--tool=callgrind";
        argv[n++] = cgopt;
        for (i = 0; a.argv[i]; i++)
            if (strcmp(a.argv[i], "--quick") != 0)
                argv[n++] = a.argv[i];
        argv[n++] = "--iterations";
        argv[n++] = iters;
        argv[n] = NULL;
        rc = vox_child_run(argv, env_add, NULL, err, env->timeout_s, &u, diag);
        if (rc)
            return rc;
        if (u.exit_code != 0 || callgrind_total(outfile, &ir[k]) != 0) {
            char tail[200];

            vox_driver_tail(err, tail, sizeof(tail));
            vox_diag_set(diag, "workload '%s': callgrind run failed (exit %d): %s", w->id,
                         u.exit_code, tail);
            return VOX_EIO;
        }
        remove(outfile);
    }
    return push(run, "instructions", "count", VOX_DIR_LOWER, true,
                (ir[1] - ir[0]) / CALLGRIND_ITERATIONS);
}

static int micro_run_once(const struct vox_driver_env *env, const struct vox_workload *w,
                          struct vox_run *run, unsigned rep, struct vox_diag *diag)
{
    const char *base = vox_run_param(run, "ratio_base");
    const char *value = vox_run_param(run, w->axes[0]);
    const char *instr = vox_run_param(run, "instructions");
    struct micro_argv a;
    struct vox_child_usage u;
    char out[600], err[600], tail[200];
    double value_ns, base_ns;
    int rc;

    if (!value) {
        vox_diag_set(diag, "workload '%s': no value for axis '%s'", w->id, w->axes[0]);
        return VOX_EINVAL;
    }
    if (base && strcmp(base, value) == 0)
        base = NULL; /* the base against itself: no ratio */
    build_argv(env, w, run, base, &a);
    snprintf(out, sizeof(out), "%s/%s.json", env->work_dir, w->id);
    snprintf(err, sizeof(err), "%s/%s.err", env->work_dir, w->id);
    rc = vox_child_run(a.argv, NULL, out, err, env->timeout_s, &u, diag);
    if (rc)
        return rc;
    if (u.timed_out || u.exit_code != 0) {
        vox_driver_tail(err, tail, sizeof(tail));
        vox_diag_set(diag, "workload '%s': voxbench-micro %s (exit %d): %s", w->id,
                     u.timed_out ? "timed out" : "failed", u.exit_code, tail);
        return VOX_EIO;
    }
    rc = parse_gb(out, w, value, base, run, &value_ns, &base_ns, diag);
    if (rc)
        return rc;
    if (base) {
        if (!(base_ns > 0) || !(value_ns > 0)) {
            vox_diag_set(diag, "workload '%s': no run of the ratio base '%s'", w->id, base);
            return VOX_EINVAL;
        }
        /* Both arms ran in this process one after the other: the ratio cancels most of
         * the machine's speed and load, which is why the gate may use it. */
        rc = push(run, "speedup", "ratio", VOX_DIR_HIGHER, true, base_ns / value_ns);
        if (rc)
            return rc;
    }
    rc = vox_driver_push_usage(run, &u);
    if (rc == 0 && rep == 0 && instr && strcmp(instr, "true") == 0)
        rc = count_instructions(env, w, run, diag);
    return rc;
}

const struct vox_driver_ops vox__driver_micro = {
    .kind = "micro",
    .description = "Google Benchmark functions of voxbench-micro, one process per repetition",
    .check = micro_check,
    .run_once = micro_run_once,
};
