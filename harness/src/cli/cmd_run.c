/* SPDX-License-Identifier: MIT */
/* voxbench run: every workload x configuration x repetition, each in its own process. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "drivers/driver.h"
#include "suite/suite.h"
#include "vox/core.h"
#include "vox/results.h"

struct run_state {
    struct vox_suite *suite;
    const struct vox_workload *w;
    const struct vox_driver_ops *driver;
    struct vox_driver_env env;
    struct vox_results results;
    unsigned repetitions;
    size_t total; /* repetitions to do, all workloads */
    size_t done;
    size_t failed; /* configurations that failed */
    bool tty;
    uint64_t started_ns;
    const char *only;
};

static int count_one(const struct vox_run *run, void *ctx)
{
    (void)run;
    ((struct run_state *)ctx)->total++;
    return 0;
}

/* A progress bar on a terminal, one line per step otherwise (CI logs). */
static void progress(struct run_state *st, const struct vox_run *run, unsigned rep,
                     const char *status)
{
    double frac = st->total ? (double)st->done / (double)st->total : 1.0;
    double elapsed = (double)(vox_clock_ns() - st->started_ns) / 1e9;
    char bar[31];
    int i;

    if (st->tty) {
        for (i = 0; i < 30; i++)
            bar[i] = i < (int)(frac * 30) ? '#' : '.';
        bar[30] = '\0';
        fprintf(stderr, "\r\033[K[%s] %zu/%zu %s %s rep %u/%u %s", bar, st->done, st->total,
                run->workload, run->config_id, rep + 1, st->repetitions, status);
        if (strcmp(status, "") != 0 && strcmp(status, "...") != 0)
            fprintf(stderr, "\n");
        fflush(stderr);
    } else if (strcmp(status, "...") != 0) {
        fprintf(stderr, "voxbench: [%zu/%zu %5.1fs] %s %s rep %u/%u: %s\n", st->done, st->total,
                elapsed, run->workload, run->config_id, rep + 1, st->repetitions, status);
    }
}

static int run_config(const struct vox_run *config, void *ctx)
{
    struct run_state *st = ctx;
    struct vox_run *run;
    unsigned rep;

    run = vox_results_add_run(&st->results);
    if (!run)
        return VOX_ENOMEM;
    *run = *config;
    run->repetitions = 0;
    for (rep = 0; rep < st->repetitions; rep++) {
        struct vox_diag diag = {{0}};
        int rc;

        if (vox_cli_interrupted) {
            run->ok = false;
            snprintf(run->error, sizeof(run->error), "interrupted");
            return VOX_ECANCELED;
        }
        progress(st, run, rep, "...");
        rc = st->driver->run_once(&st->env, st->w, run, rep, &diag);
        st->done++;
        if (rc) {
            run->ok = false;
            /* A long diagnostic is cut to the field; the log line above has it whole. */
            if (snprintf(run->error, sizeof(run->error), "repetition %u: %s", rep + 1,
                         diag.text[0] ? diag.text : vox_strerror(rc)) >= (int)sizeof(run->error))
                run->error[sizeof(run->error) - 2] = '~';
            progress(st, run, rep, run->error);
            st->failed++;
            /* The other repetitions of a broken configuration would fail the same way. */
            st->done += st->repetitions - rep - 1;
            break;
        }
        run->repetitions++;
        if (!st->tty)
            progress(st, run, rep, "ok");
    }
    return vox_cli_interrupted ? VOX_ECANCELED : 0;
}

static void on_signal(int sig)
{
    (void)sig;
    vox_cli_interrupted = 1;
    vox_driver_cancel = 1;
}

static int selected(const char *only, const char *id)
{
    const char *p = only;
    size_t n = strlen(id);

    if (!only)
        return 1;
    while ((p = strstr(p, id)) != NULL) {
        if ((p == only || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
            return 1;
        p += n;
    }
    return 0;
}

int vox_cmd_run(int argc, char **argv)
{
    struct run_state st = {0};
    struct vox_diag diag = {{0}};
    char suites_dir[4096], work_dir[] = "/tmp/voxbench.XXXXXX", out_path[4096];
    const char *suite_arg = NULL, *out = NULL, *matrix[16];
    size_t nmatrix = 0, i;
    unsigned repeat = 0, timeout_s = 600;
    struct sigaction sa = {.sa_handler = on_signal};
    time_t now = time(NULL);
    struct tm tm;
    int rc = VOX_EXIT_ERROR, a;

    for (a = 1; a < argc; a++) {
        const char *arg = argv[a], *val = a + 1 < argc ? argv[a + 1] : NULL;

        if (strcmp(arg, "--quick") == 0) {
            st.env.quick = true;
        } else if (strcmp(arg, "--matrix") == 0 && val) {
            if (nmatrix == sizeof(matrix) / sizeof(matrix[0])) {
                fprintf(stderr, "voxbench run: too many --matrix options\n");
                return VOX_EXIT_ERROR;
            }
            matrix[nmatrix++] = val;
            a++;
        } else if ((strcmp(arg, "--repeat") == 0 || strcmp(arg, "--timeout") == 0) && val) {
            char *end;
            unsigned long v = strtoul(val, &end, 10);

            if (*end || v < 1 || v > 100000) {
                fprintf(stderr, "voxbench run: %s needs a positive number, not '%s'\n", arg, val);
                return VOX_EXIT_ERROR;
            }
            if (arg[2] == 'r')
                repeat = (unsigned)v;
            else
                timeout_s = (unsigned)v;
            a++;
        } else if (strcmp(arg, "--out") == 0 && val) {
            out = val;
            a++;
        } else if (strcmp(arg, "--only") == 0 && val) {
            st.only = val;
            a++;
        } else if (arg[0] == '-' || suite_arg) {
            fprintf(stderr, "voxbench run: unexpected argument '%s' (see voxbench --help)\n", arg);
            return VOX_EXIT_ERROR;
        } else {
            suite_arg = arg;
        }
    }
    if (!suite_arg) {
        fprintf(stderr, "voxbench run: which suite? (voxbench list shows them)\n");
        return VOX_EXIT_ERROR;
    }
    st.suite = calloc(1, sizeof(*st.suite));
    if (!st.suite)
        return VOX_EXIT_ERROR;
    snprintf(suites_dir, sizeof(suites_dir), "%s/scenarios/suites", vox_cli_home());
    if (vox_suite_load(suite_arg, suites_dir, st.suite, &diag) != 0)
        goto fail_diag;
    for (i = 0; i < nmatrix; i++)
        if (vox_suite_override(st.suite, matrix[i], &diag) != 0)
            goto fail_diag;
    /* Validate every selected workload before running anything: a typo must not surface an
     * hour into a run. */
    for (i = 0; i < st.suite->nworkloads; i++) {
        const struct vox_workload *w = &st.suite->workloads[i];
        const struct vox_driver_ops *d = vox_driver_find(w->kind);

        if (!selected(st.only, w->id))
            continue;
        if (!d) {
            vox_diag_set(&diag,
                         "%s:%d: workload '%s': unknown kind '%s' (voxbench list shows "
                         "the kinds)",
                         st.suite->file, w->line, w->id, w->kind);
            goto fail_diag;
        }
        if (d->check && d->check(w, &diag) != 0)
            goto fail_diag;
        st.w = w;
        if (vox_suite_expand(st.suite, w, count_one, &st, &diag) != 0)
            goto fail_diag;
    }
    if (!st.total) {
        fprintf(stderr, "voxbench run: nothing to run (check --only)\n");
        goto out;
    }
    st.repetitions = repeat ? repeat : st.suite->repetitions;
    st.total *= st.repetitions;
    if (!mkdtemp(work_dir)) {
        fprintf(stderr, "voxbench run: cannot create a work directory: %s\n", strerror(errno));
        goto out;
    }
    st.env = (struct vox_driver_env){.bin_dir = vox_cli_bin_dir(),
                                     .self = vox_cli_self(),
                                     .work_dir = work_dir,
                                     .quick = st.env.quick,
                                     .timeout_s = timeout_s};
    vox_results_init(&st.results);
    vox_machine_detect(&st.results.machine);
    gmtime_r(&now, &tm);
    strftime(st.results.created, sizeof(st.results.created), "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(st.results.suite, sizeof(st.results.suite), "%s", st.suite->name);
    snprintf(st.results.suite_file, sizeof(st.results.suite_file), "%s", st.suite->file);
    /* The output path: a .json file, or a directory that gets <suite>-<time>.json. */
    if (out && strlen(out) > 5 && strcmp(out + strlen(out) - 5, ".json") == 0) {
        snprintf(out_path, sizeof(out_path), "%s", out);
    } else {
        char stamp[32];

        strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
        if (!out)
            out = "results";
        if (mkdir(out, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "voxbench run: cannot create %s: %s\n", out, strerror(errno));
            goto out_rm;
        }
        snprintf(out_path, sizeof(out_path), "%s/%s-%s.json", out, st.suite->name, stamp);
    }
    st.tty = isatty(STDERR_FILENO);
    st.started_ns = vox_clock_ns();
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    fprintf(stderr, "voxbench: suite %s: %zu repetitions (%u each) on %s, %u CPUs\n",
            st.suite->name, st.total, st.repetitions, st.results.machine.cpu_model,
            st.results.machine.cpus_available);
    for (i = 0; i < st.suite->nworkloads && !vox_cli_interrupted; i++) {
        st.w = &st.suite->workloads[i];
        if (!selected(st.only, st.w->id))
            continue;
        st.driver = vox_driver_find(st.w->kind);
        if (vox_suite_expand(st.suite, st.w, run_config, &st, &diag) == VOX_ENOMEM) {
            fprintf(stderr, "voxbench run: out of memory\n");
            break;
        }
    }
    if (st.tty)
        fprintf(stderr, "\r\033[K");
    /* Whatever was measured is written, also after a failure or an interrupt. */
    if (vox_results_write(&st.results, out_path, &diag) != 0) {
        fprintf(stderr, "voxbench run: %s\n", diag.text);
        goto out_rm;
    }
    printf("%s\n", out_path);
    fprintf(stderr, "voxbench: %zu runs in %.1f s; %zu failed%s; results: %s\n", st.results.nruns,
            (double)(vox_clock_ns() - st.started_ns) / 1e9, st.failed,
            vox_cli_interrupted ? " (interrupted)" : "", out_path);
    rc = st.failed || vox_cli_interrupted ? VOX_EXIT_ERROR : VOX_EXIT_OK;
out_rm:
    vox_driver_rm_tree(work_dir);
out:
    vox_results_free(&st.results);
    free(st.suite);
    return rc;
fail_diag:
    fprintf(stderr, "voxbench run: %s\n", diag.text);
    goto out;
}
