/* SPDX-License-Identifier: MIT */
/* Tests of the report: guide-shaped tables from synthetic results, HTML escaping, gnuplot plots. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vox/report.h"
#include "vox/results.h"

/* A config value that must come out escaped in the HTML. */
#define PLANTED      "<b>x&y</b>"
#define PLANTED_HTML "&lt;b&gt;x&amp;y&lt;/b&gt;"

struct fixture {
    struct vox_results a, b;
    char dir[64];
};

/* ---- synthetic results --------------------------------------------------------------------- */

/* Three repetitions around `median` (exactly the median, then +-1%). */
static void metric3(struct vox_run *run, const char *name, const char *unit,
                    enum vox_metric_dir dir, bool stable, double median)
{
    struct vox_metric *m = vox_run_metric(run, name, unit, dir, stable);

    assert_non_null(m);
    assert_int_equal(vox_metric_push(m, median * 1.01), 0);
    assert_int_equal(vox_metric_push(m, median), 0);
    assert_int_equal(vox_metric_push(m, median * 0.99), 0);
}

static struct vox_run *add_run(struct vox_results *r, const char *workload, const char *kind)
{
    struct vox_run *run = vox_results_add_run(r);

    assert_non_null(run);
    snprintf(run->workload, sizeof(run->workload), "%s", workload);
    snprintf(run->kind, sizeof(run->kind), "%s", kind);
    run->repetitions = 3;
    run->ok = true;
    return run;
}

/* What every run carries: its process's resource use. */
static void process_metrics(struct vox_run *run, double rss)
{
    if (!vox_run_find_metric(run, "rss_peak_bytes"))
        metric3(run, "rss_peak_bytes", "bytes", VOX_DIR_LOWER, false, rss);
    metric3(run, "cpu_user_s", "s", VOX_DIR_LOWER, false, 0.5);
    metric3(run, "cpu_sys_s", "s", VOX_DIR_LOWER, false, 0.05);
}

static void build_results(struct vox_results *r, const char *host, double scale)
{
    static const char *const allocs[] = {"system", "pool", "jemalloc"};
    static const double frames_ns[] = {100000, 25000, 50000};
    static const double pair_ns[] = {40, 12, 20};
    static const double mixed[] = {1e6, 3e6, 2e6};
    static const char *const execs[] = {"thread", "pool", "steal"};
    static const double tasks[] = {2e5, 5e6, 8e6};
    static const double hi_p50[] = {100, 50, 20};
    static const unsigned streams[] = {100, 500, 1000};
    size_t i, t, s, a, k;
    struct vox_run *run;

    vox_results_init(r);
    snprintf(r->suite, sizeof(r->suite), "default");
    snprintf(r->created, sizeof(r->created), "2026-11-23T10:00:00Z");
    snprintf(r->machine.hostname, sizeof(r->machine.hostname), "%s", host);
    snprintf(r->machine.cpu_model, sizeof(r->machine.cpu_model), "Test CPU @ 3.0GHz");
    snprintf(r->machine.kernel, sizeof(r->machine.kernel), "6.1.0-test");
    snprintf(r->machine.compiler, sizeof(r->machine.compiler), "GNU 12.2.0");
    snprintf(r->machine.build_type, sizeof(r->machine.build_type), "Release");
    snprintf(r->machine.features, sizeof(r->machine.features), "jemalloc mimalloc");
    snprintf(r->machine.git_commit, sizeof(r->machine.git_commit), "f7a1651deadbeef");
    r->machine.git_dirty = true;
    r->machine.cpus_available = 2;

    for (i = 0; i < 3; i++) {
        run = add_run(r, "alloc-frames", "micro");
        assert_int_equal(vox_run_set_param(run, "alloc", allocs[i]), 0);
        assert_int_equal(vox_run_set_param(run, "instructions", "true"), 0);
        metric3(run, "real_ns", "ns", VOX_DIR_LOWER, false, frames_ns[i] * scale);
        metric3(run, "cpu_ns", "ns", VOX_DIR_LOWER, false, frames_ns[i] * scale);
        metric3(run, "items_per_second", "1/s", VOX_DIR_HIGHER, false, 1e12 / frames_ns[i]);
        metric3(run, "instructions", "count", VOX_DIR_LOWER, true, 51234 + 1000.0 * (double)i);
        process_metrics(run, 4e6);
    }
    for (i = 0; i < 3; i++) {
        run = add_run(r, "alloc-pair", "micro");
        assert_int_equal(vox_run_set_param(run, "alloc", allocs[i]), 0);
        metric3(run, "real_ns", "ns", VOX_DIR_LOWER, false, pair_ns[i] * scale);
        process_metrics(run, 4e6);
    }
    for (i = 0; i < 3; i++)
        for (t = 1; t <= 2; t++) {
            char th[8];

            run = add_run(r, "alloc-mixed", "micro");
            snprintf(th, sizeof(th), "%zu", t);
            assert_int_equal(vox_run_set_param(run, "alloc", allocs[i]), 0);
            assert_int_equal(vox_run_set_param(run, "threads", th), 0);
            metric3(run, "real_ns", "ns", VOX_DIR_LOWER, false, 1000);
            metric3(run, "items_per_second", "1/s", VOX_DIR_HIGHER, false,
                    mixed[i] * (double)t / scale);
            process_metrics(run, 5e6);
        }
    run = add_run(r, "alloc-frames-ratio", "micro");
    assert_int_equal(vox_run_set_param(run, "alloc", "pool"), 0);
    assert_int_equal(vox_run_set_param(run, "ratio_base", "system"), 0);
    metric3(run, "real_ns", "ns", VOX_DIR_LOWER, false, 25000);
    metric3(run, "speedup", "ratio", VOX_DIR_HIGHER, true, 4.0);
    process_metrics(run, 4e6);

    for (i = 0; i < 3; i++) {
        run = add_run(r, "exec-throughput", "micro");
        assert_int_equal(vox_run_set_param(run, "exec", execs[i]), 0);
        metric3(run, "real_ns", "ns", VOX_DIR_LOWER, false, 2000 / tasks[i] * 1e9);
        metric3(run, "items_per_second", "1/s", VOX_DIR_HIGHER, false, tasks[i] / scale);
        process_metrics(run, 6e6);
    }
    for (i = 0; i < 3; i++) {
        run = add_run(r, "exec-priority", "micro");
        assert_int_equal(vox_run_set_param(run, "exec", execs[i]), 0);
        metric3(run, "hi_p50_us", "us", VOX_DIR_LOWER, false, hi_p50[i] * scale);
        metric3(run, "hi_p99_us", "us", VOX_DIR_LOWER, false, hi_p50[i] * 8 * scale);
        metric3(run, "normal_p50_us", "us", VOX_DIR_LOWER, false, 2500 * scale);
        process_metrics(run, 6e6);
    }

    for (a = 0; a < 2; a++)
        for (s = 0; s < 3; s++) {
            struct vox_percentile p[64];
            double base = (a ? 180.0 : 260.0) * (1 + (double)s * 0.3) * scale;
            char lv[16];
            size_t n = 0;

            run = add_run(r, "frames", "frames");
            snprintf(lv, sizeof(lv), "%u", streams[s]);
            assert_int_equal(vox_run_set_param(run, "alloc", allocs[a]), 0);
            assert_int_equal(vox_run_set_param(run, "exec", "pool"), 0);
            assert_int_equal(vox_run_set_param(run, "streams", lv), 0);
            metric3(run, "frames_per_second", "1/s", VOX_DIR_HIGHER, false, streams[s] * 50.0);
            metric3(run, "lat_p50_us", "us", VOX_DIR_LOWER, false, base);
            metric3(run, "lat_p99_us", "us", VOX_DIR_LOWER, false, base * 4);
            metric3(run, "lat_p999_us", "us", VOX_DIR_LOWER, false, base * 9);
            metric3(run, "lat_max_us", "us", VOX_DIR_LOWER, false, base * 20);
            metric3(run, "rss_peak_bytes", "bytes", VOX_DIR_LOWER, false,
                    (a ? 40e6 : 50e6) + 270e6 * (double)streams[s] / 1000);
            metric3(run, "cpu_percent", "%", VOX_DIR_LOWER, false, 15.0 + 60 * (double)s / 2);
            metric3(run, "alloc_peak_bytes", "bytes", VOX_DIR_LOWER, false, 1e6 * streams[s]);
            if (a)
                metric3(run, "pool_hit_rate", "%", VOX_DIR_HIGHER, false, 99.5);
            /* HdrHistogram ticks: each halving of the distance to 100% gets 4 points. */
            for (k = 0; k < 60 && n < 63; k++) {
                double pct = 100.0 * (1 - pow(0.5, (double)k / 4));

                if (100 - pct < 1e-4)
                    break;
                p[n].pct = pct;
                p[n++].value_us = base * (1 + 0.15 * (double)k);
            }
            p[n].pct = 100;
            p[n++].value_us = base * 20;
            assert_int_equal(vox_run_set_percentiles(run, p, n), 0);
            process_metrics(run, 0);
        }

    run = add_run(r, "odd-workload", "micro");
    assert_int_equal(vox_run_set_param(run, "note", PLANTED), 0);
    metric3(run, "real_ns", "ns", VOX_DIR_LOWER, false, 123.0);
}

/* ---- helpers ------------------------------------------------------------------------------- */

static char *slurp(const char *dir, const char *name, size_t *len_out)
{
    char path[512];
    FILE *f;
    char *buf;
    long len;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "rb");
    if (!f)
        return NULL;
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    len = ftell(f);
    assert_true(len >= 0);
    rewind(f);
    buf = malloc((size_t)len + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
    buf[len] = '\0';
    fclose(f);
    if (len_out)
        *len_out = (size_t)len;
    return buf;
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("expected to find \"%s\"", needle);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static bool on_path(const char *prog)
{
    const char *env = getenv("PATH");
    char path[1024], *dirs, *save = NULL, *d;
    bool found = false;

    if (!env)
        return false;
    dirs = strdup(env);
    assert_non_null(dirs);
    for (d = strtok_r(dirs, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
        snprintf(path, sizeof(path), "%s/%s", d, prog);
        found = access(path, X_OK) == 0;
    }
    free(dirs);
    return found;
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));

    if (!fx)
        return -1;
    build_results(&fx->a, "host-a", 1.0);
    build_results(&fx->b, "host-b", 1.25);
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/vox-report-XXXXXX");
    if (!mkdtemp(fx->dir))
        return -1;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;

    /* VOX_TEST_KEEP=1 leaves the output to look at. */
    if (getenv("VOX_TEST_KEEP"))
        printf("# report output kept in %s\n", fx->dir);
    else
        nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    vox_results_free(&fx->a);
    vox_results_free(&fx->b);
    free(fx);
    return 0;
}

static void out_dir(const struct fixture *fx, const char *sub, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s", fx->dir, sub);
}

/* Writes the report of `files` into the fixture's folder `sub` (its path left in `dir`) and
 * returns its report.md, to free. */
static char *write_report_md(const struct fixture *fx, const char *sub,
                             const struct vox_results *const *files, size_t n,
                             struct vox_report_opts *opts, char *dir, size_t cap)
{
    struct vox_diag diag = {""};
    char *md;

    out_dir(fx, sub, dir, cap);
    opts->out_dir = dir;
    assert_int_equal(vox_report_write(files, n, opts, &diag), 0);
    md = slurp(dir, "report.md", NULL);
    assert_non_null(md);
    return md;
}

/* ---- tests --------------------------------------------------------------------------------- */

static void test_tables(void **state)
{
    struct fixture *fx = *state;
    const struct vox_results *files[] = {&fx->a};
    struct vox_report_opts opts = {.plots = false};
    char dir[128];
    char *md;

    md = write_report_md(fx, "tables/nested", files, 1, &opts, dir, sizeof(dir));
    /* header */
    assert_contains(md, "# voxbench report: default");
    assert_contains(md, "## default @ f7a1651+dirty (host-a)");
    assert_contains(md, "| CPU | Test CPU @ 3.0GHz |");
    assert_contains(md, "| Git commit | f7a1651deadbeef (dirty: uncommitted changes) |");
    /* the Rust guide's shape: 100 us vs 25 us, time: 4x; rate 1 M/s vs 3 M/s: 3x */
    assert_contains(md, "| Metric | Without Pools (system) | With Pools (pool) | Improvement |");
    assert_contains(md,
                    "| alloc-frames: time per iteration | 100.0 µs | 25.00 µs | 4.00x faster |");
    assert_contains(md, "| alloc-pair: time per iteration | 40.00 ns | 12.00 ns | 3.33x faster |");
    assert_contains(md,
                    "| alloc-mixed, threads=1: items/s | 1.000 M/s | 3.000 M/s | 3.00x faster |");
    assert_contains(md,
                    "| alloc-mixed, threads=2: items/s | 2.000 M/s | 6.000 M/s | 3.00x faster |");
    /* the same-run ratio workload is not a backend row or column */
    assert_null(strstr(md, "alloc-frames-ratio: "));
    /* allocator backends: jemalloc 2x (frames), 2x (pair), 2x (mixed) -> geomean 2x */
    assert_contains(md, "| Allocator | alloc-frames: time per iteration |");
    assert_contains(md, "| system | 100.0 µs | 40.00 ns | 1.000 M/s | 2.000 M/s | baseline |");
    assert_contains(md,
                    "| jemalloc | 50.00 µs | 20.00 ns | 2.000 M/s | 4.000 M/s | 2.00x faster |");
    /* executors: steal's high-priority p50 is 20 us against pool's 50 us */
    assert_contains(md, "| Executor | tasks/s (exec-throughput) | high-priority wait p50 |");
    assert_contains(md, "| steal | 8.000 M/s | 20.00 µs | 160.0 µs | 2.500 ms | 60.0% lower |");
    assert_contains(md, "| thread | 200.0 k/s | 100.0 µs | 800.0 µs | 2.500 ms | 100.0% higher |");
    /* the Go SIPREC guide's shape, one row per load level */
    assert_contains(md,
                    "| Config | Concurrent Sessions | Memory Usage | CPU Usage | Response Time");
    assert_contains(md, "| alloc=pool exec=pool | 100 | 67 MB | 15% | 180.0 µs / 720.0 µs |");
    assert_contains(md, "| alloc=pool exec=pool | 500 | 175 MB | 45% | 234.0 µs / 936.0 µs |");
    assert_contains(md, "| alloc=pool exec=pool | 1000 | 310 MB | 75% | 288.0 µs / 1.152 ms |");
    /* configs in the order they ran, load levels ascending within each */
    assert_true(strstr(md, "| alloc=system exec=pool | 1000 |") <
                strstr(md, "| alloc=pool exec=pool | 100 |"));
    assert_true(strstr(md, "| alloc=pool exec=pool | 100 |") <
                strstr(md, "| alloc=pool exec=pool | 1000 |"));
    /* generic tables: every workload, CV in parentheses, stable metrics said so */
    assert_contains(md, "#### alloc-frames (micro)");
    assert_contains(md, "#### frames (frames)");
    assert_contains(md, "#### odd-workload (micro)");
    assert_contains(md, "#### alloc-frames-ratio (micro)");
    assert_contains(md, "instructions (stable)");
    assert_contains(md, "| alloc=system instructions=true | 3 | 100.0 µs (1.0%) |");
    assert_contains(md, "Stable: speedup (");
    assert_contains(md, "4.00x (1.0%)");
    assert_contains(md, "Plots were not requested.");
    free(md);
}

static void test_html(void **state)
{
    struct fixture *fx = *state;
    const struct vox_results *files[] = {&fx->a};
    struct vox_report_opts opts = {.plots = false};
    struct vox_diag diag = {""};
    char dir[128];
    char *html;
    size_t len;

    out_dir(fx, "html", dir, sizeof(dir));
    opts.out_dir = dir;
    assert_int_equal(vox_report_write(files, 1, &opts, &diag), 0);
    html = slurp(dir, "report.html", &len);
    assert_non_null(html);
    assert_int_equal(strncmp(html, "<!DOCTYPE html>", 15), 0);
    assert_true(len > 20 && strcmp(html + len - 8, "</html>\n") == 0);
    assert_contains(html, "<style>");
    assert_contains(html, "note=" PLANTED_HTML);
    assert_null(strstr(html, PLANTED));
    assert_contains(html, "<th>Without Pools (system)</th>");
    assert_contains(html, "<td>4.00x faster</td>");
    free(html);
}

static void assert_png_svg(const char *plots, const char *name)
{
    char file[128], *data;
    size_t len;

    snprintf(file, sizeof(file), "%s.png", name);
    data = slurp(plots, file, &len);
    if (!data)
        fail_msg("missing %s/%s", plots, file);
    assert_true(len > 1000);
    assert_memory_equal(data, "\x89PNG\r\n\x1a\n", 8);
    free(data);
    snprintf(file, sizeof(file), "%s.svg", name);
    data = slurp(plots, file, NULL);
    if (!data)
        fail_msg("missing %s/%s", plots, file);
    assert_contains(data, "<svg");
    assert_contains(data, "</svg>");
    free(data);
    snprintf(file, sizeof(file), "%s.gp", name);
    data = slurp(plots, file, NULL);
    assert_non_null(data);
    free(data);
    snprintf(file, sizeof(file), "%s.tsv", name);
    data = slurp(plots, file, NULL);
    assert_non_null(data);
    free(data);
}

static void test_plots(void **state)
{
    static const char *const expected[] = {
        "latency-frames-streams-100",  "latency-frames-streams-500",
        "latency-frames-streams-1000", "throughput-alloc-frames",
        "throughput-alloc-mixed",      "throughput-exec-throughput",
        "throughput-frames",           "memory-frames",
        "priority-exec-priority"};
    struct fixture *fx = *state;
    const struct vox_results *files[] = {&fx->a};
    struct vox_report_opts opts = {.plots = true};
    struct vox_diag diag = {""};
    char dir[128], plots[160], *md, *html;
    size_t i;

    if (!on_path("gnuplot")) {
        printf("# gnuplot is not on PATH: plot files not checked\n");
        skip();
    }
    out_dir(fx, "withplots", dir, sizeof(dir));
    opts.out_dir = dir;
    assert_int_equal(vox_report_write(files, 1, &opts, &diag), 0);
    snprintf(plots, sizeof(plots), "%s/plots", dir);
    for (i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
        assert_png_svg(plots, expected[i]);
    md = slurp(dir, "report.md", NULL);
    assert_non_null(md);
    assert_null(strstr(md, "plots unavailable"));
    assert_contains(
        md, "(plots/latency-frames-streams-100.png)](plots/latency-frames-streams-100.svg)");
    free(md);
    html = slurp(dir, "report.html", NULL);
    assert_non_null(html);
    assert_contains(html, "<img src=\"plots/memory-frames.png\"");
    assert_contains(html, "<a href=\"plots/memory-frames.svg\">");
    free(html);
}

static void test_no_gnuplot(void **state)
{
    struct fixture *fx = *state;
    const struct vox_results *files[] = {&fx->a};
    struct vox_report_opts opts = {.plots = true, .gnuplot = "/nonexistent/gnuplot"};
    char dir[128], *md;

    md = write_report_md(fx, "nognuplot", files, 1, &opts, dir, sizeof(dir));
    assert_contains(md, "plots unavailable: cannot run /nonexistent/gnuplot: No such file");
    assert_contains(md, "Without Pools");
    free(md);
    /* the scripts stay behind, to be run where gnuplot exists */
    md = slurp(dir, "plots/memory-frames.gp", NULL);
    assert_non_null(md);
    assert_contains(md, "set terminal pngcairo size 1280,720");
    free(md);
}

static void test_unwritable(void **state)
{
    struct fixture *fx = *state;
    const struct vox_results *files[] = {&fx->a};
    struct vox_report_opts opts = {.plots = false};
    struct vox_diag diag = {""};
    char file[128], dir[160];
    FILE *f;

    out_dir(fx, "a-regular-file", file, sizeof(file));
    f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(dir, sizeof(dir), "%s/report", file);
    opts.out_dir = dir;
    assert_true(vox_report_write(files, 1, &opts, &diag) < 0);
    assert_contains(diag.text, dir);
}

static void test_two_files(void **state)
{
    struct fixture *fx = *state;
    const struct vox_results *files[] = {&fx->a, &fx->b};
    struct vox_report_opts opts = {.plots = true};
    char dir[128], *md, *tsv;
    const char *first, *second;

    md = write_report_md(fx, "two", files, 2, &opts, dir, sizeof(dir));
    first = strstr(md, "## default @ f7a1651+dirty (host-a)");
    second = strstr(md, "## default @ f7a1651+dirty (host-b)");
    assert_non_null(first);
    assert_non_null(second);
    assert_true(first < second);
    /* host-b is 25% slower: 125 us vs 31.25 us is still 4x */
    assert_contains(second,
                    "| alloc-frames: time per iteration | 125.0 µs | 31.25 µs | 4.00x faster |");
    free(md);
    /* the data behind the overlaid plots names each file */
    tsv = slurp(dir, "plots/latency-frames-streams-500.tsv", NULL);
    assert_non_null(tsv);
    assert_contains(tsv, "# default @ f7a1651+dirty (host-a): alloc=pool exec=pool");
    assert_contains(tsv, "# default @ f7a1651+dirty (host-b): alloc=pool exec=pool");
    free(tsv);
    tsv = slurp(dir, "plots/throughput-alloc-frames.tsv", NULL);
    assert_non_null(tsv);
    assert_contains(tsv, "(host-a)\terror\tdefault @ f7a1651+dirty (host-b)\terror");
    free(tsv);
}

/* Little data: no runs at all, a failed run, a pool without a system: tables are skipped. */
static void test_sparse(void **state)
{
    struct fixture *fx = *state;
    struct vox_results empty, few;
    const struct vox_results *files[] = {&empty, &few};
    struct vox_report_opts opts = {.plots = true};
    struct vox_run *run;
    char dir[128], *md;

    vox_results_init(&empty);
    vox_results_init(&few);
    run = add_run(&few, "alloc-frames", "micro");
    assert_int_equal(vox_run_set_param(run, "alloc", "pool"), 0);
    metric3(run, "real_ns", "ns", VOX_DIR_LOWER, false, 25000);
    run = add_run(&few, "frames", "frames");
    assert_int_equal(vox_run_set_param(run, "streams", "100"), 0);
    run->ok = false;
    snprintf(run->error, sizeof(run->error), "child exited with status 3");
    md = write_report_md(fx, "sparse", files, 2, &opts, dir, sizeof(dir));
    assert_null(strstr(md, "Without Pools"));
    assert_contains(md, "| Allocator | alloc-frames: time per iteration |\n");
    assert_contains(md, "| pool | 25.00 µs |");
    assert_contains(md, "| (default) | 100 | – | – | – / – | – |");
    assert_contains(md, "streams=100 failed: child exited with status 3");
    assert_contains(md, "No runs.");
    free(md);
    vox_results_free(&empty);
    vox_results_free(&few);
}

/* The Rust media core's frame table: rows are approaches, columns frame shapes, and the last
 * column the geometric-mean speed-up over the first approach (here: copy). */
static void test_approaches(void **state)
{
    static const struct {
        const char *workload, *approach;
        double ns;
    } cells[] = {
        {"frame-small", "copy", 200},     {"frame-small", "zerocopy", 100},
        {"frame-small", "pooled", 50},    {"frame-large", "copy", 800},
        {"frame-large", "zerocopy", 200}, {"frame-large", "pooled", 50},
    };
    struct fixture *fx = *state;
    struct vox_results r;
    const struct vox_results *files[] = {&r};
    struct vox_report_opts opts = {.plots = false};
    char dir[128], *md;
    size_t i;

    vox_results_init(&r);
    for (i = 0; i < sizeof(cells) / sizeof(cells[0]); i++) {
        struct vox_run *run = add_run(&r, cells[i].workload, "micro");

        assert_int_equal(vox_run_set_param(run, "approach", cells[i].approach), 0);
        metric3(run, "real_ns", "ns", VOX_DIR_LOWER, false, cells[i].ns);
    }
    /* The pipeline and G.711 variants on two allocators: their own tables, and no column in
     * the allocator table (only alloc-pair is an allocator benchmark). */
    for (i = 0; i < 4; i++) {
        struct vox_run *run = add_run(&r, "pipeline", "micro");

        assert_int_equal(vox_run_set_param(run, "handover", i % 2 ? "zerocopy" : "copy"), 0);
        assert_int_equal(vox_run_set_param(run, "alloc", i < 2 ? "system" : "pool"), 0);
        metric3(run, "real_ns", "ns", VOX_DIR_LOWER, false, i % 2 ? 1000 : 3000);
        run = add_run(&r, "alloc-pair", "micro");
        assert_int_equal(vox_run_set_param(run, "alloc", i < 2 ? "system" : "pool"), 0);
        metric3(run, "real_ns", "ns", VOX_DIR_LOWER, false, i < 2 ? 20 : 10);
        if (i < 2) {
            run = add_run(&r, "g711-decode", "micro");
            assert_int_equal(vox_run_set_param(run, "law", i ? "alaw" : "ulaw"), 0);
            metric3(run, "real_ns", "ns", VOX_DIR_LOWER, false, 2000);
            metric3(run, "items_per_second", "1/s", VOX_DIR_HIGHER, false, i ? 3e9 : 4e9);
        }
    }
    md = write_report_md(fx, "approaches", files, 1, &opts, dir, sizeof(dir));
    assert_contains(md, "| Allocator | alloc-pair: time per iteration | vs system |");
    assert_contains(md, "| pool | 10.00 ns | 2.00x faster |");
    assert_contains(md, "### 3-stage pipeline (decode, gain, mix), 500 frames");
    assert_contains(md, "| Hand-over | pipeline, alloc=system: time per iteration | pipeline, "
                        "alloc=pool: time per iteration | vs copy (geometric mean) |");
    assert_contains(md, "| zerocopy | 1.000 µs | 1.000 µs | 3.00x faster |");
    /* G.711: rates, and no baseline column (the laws are not alternatives to each other) */
    assert_contains(md, "| Law | g711-decode: items/s |\n");
    assert_contains(md, "| alaw | 3.000 G/s |\n");
    assert_contains(md, "### Frame handling by approach");
    assert_contains(md, "| Approach | frame-small: time per iteration | frame-large: time per "
                        "iteration | vs copy (geometric mean) |");
    assert_contains(md, "| copy | 200.0 ns | 800.0 ns | baseline |");
    /* zerocopy: 2x and 4x, geometric mean sqrt(8) = 2.83x; pooled: 4x and 16x, 8x. */
    assert_contains(md, "| zerocopy | 100.0 ns | 200.0 ns | 2.83x faster |");
    assert_contains(md, "| pooled | 50.00 ns | 50.00 ns | 8.00x faster |");
    free(md);
    vox_results_free(&r);
}

/* The capture scaling table: with a `threads` axis, each thread count is held against its own
 * fewest calls, whatever the order of the runs. */
static void test_capture_scaling(void **state)
{
    static const struct {
        const char *concurrency, *threads;
        double ns;
    } cells[] = {
        {"1000", "2", 260},
        {"100", "1", 400},
        {"1000", "1", 480},
        {"100", "2", 200},
    };
    struct fixture *fx = *state;
    struct vox_results r;
    const struct vox_results *files[] = {&r};
    struct vox_report_opts opts = {.plots = false};
    char dir[128], *md;

    vox_results_init(&r);
    for (size_t i = 0; i < sizeof(cells) / sizeof(cells[0]); i++) {
        struct vox_run *run = add_run(&r, "capture-scaling", "pcap");

        assert_int_equal(vox_run_set_param(run, "concurrency", cells[i].concurrency), 0);
        assert_int_equal(vox_run_set_param(run, "threads", cells[i].threads), 0);
        metric3(run, "ns_per_packet", "ns", VOX_DIR_LOWER, false, cells[i].ns);
        metric3(run, "threads", "count", VOX_DIR_HIGHER, false, atof(cells[i].threads));
    }
    md = write_report_md(fx, "scaling", files, 1, &opts, dir, sizeof(dir));
    assert_contains(md, "### Capture throughput by concurrent calls");
    assert_contains(md, "| 100 | balanced, auto, 1 thread | – / – | – | 400.0 ns | 1.00x the time");
    assert_contains(md,
                    "| 1000 | balanced, auto, 1 thread | – / – | – | 480.0 ns | 1.20x the time");
    assert_contains(md,
                    "| 100 | balanced, auto, 2 threads | – / – | – | 200.0 ns | 1.00x the time");
    assert_contains(md,
                    "| 1000 | balanced, auto, 2 threads | – / – | – | 260.0 ns | 1.30x the time");
    /* one thread's rows first */
    assert_true(strstr(md, "| 1000 | balanced, auto, 1 thread") <
                strstr(md, "| 100 | balanced, auto, 2 threads"));
    free(md);
    vox_results_free(&r);
}

static void test_bad_args(void **state)
{
    struct fixture *fx = *state;
    const struct vox_results *files[] = {&fx->a};
    struct vox_report_opts opts = {.out_dir = NULL};
    struct vox_diag diag = {""};

    assert_int_equal(vox_report_write(files, 1, &opts, &diag), VOX_EINVAL);
    assert_int_equal(vox_report_write(files, 0, &opts, NULL), VOX_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tables),     cmocka_unit_test(test_html),
        cmocka_unit_test(test_plots),      cmocka_unit_test(test_no_gnuplot),
        cmocka_unit_test(test_unwritable), cmocka_unit_test(test_two_files),
        cmocka_unit_test(test_sparse),     cmocka_unit_test(test_bad_args),
        cmocka_unit_test(test_approaches), cmocka_unit_test(test_capture_scaling),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
