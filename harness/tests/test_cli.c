/* SPDX-License-Identifier: MIT */
/* End-to-end tests of the voxbench command: run a suite, compare planted shifts, report. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vox/results.h"

static const char *voxbench; /* argv[1]: the binary under test */
static char tmpdir[64];
static char out_log[160];

/* Runs voxbench with args, stdout+stderr to out_log; returns its exit status. */
static int run_voxbench(const char *const *args)
{
    char *argv[16];
    size_t n = 0;
    pid_t pid;
    int status;

    argv[n++] = (char *)voxbench;
    for (; *args && n < 15; args++)
        argv[n++] = (char *)*args;
    argv[n] = NULL;
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(out_log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        execv(voxbench, argv);
        _exit(127);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The first 256 KiB of a file ("" when it cannot be read), in a buffer the next call reuses. */
static const char *file_text(const char *path)
{
    static char buf[1 << 18];
    FILE *f = fopen(path, "r");
    size_t n;

    buf[0] = '\0';
    if (!f)
        return buf;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static const char *log_text(void)
{
    return file_text(out_log);
}

static int log_contains(const char *needle)
{
    return strstr(log_text(), needle) != NULL;
}

/* Runs voxbench and fails with its output when the exit status is not `expect`. */
static void expect_exit(const char *const *args, int expect)
{
    int got = run_voxbench(args);

    if (got != expect)
        fail_msg("voxbench %s exited %d, expected %d; it said:\n%s", args[0], got, expect,
                 log_text());
}

/* Deterministic noise: splitmix64 to a uniform, then a sum of 4 uniforms (near-normal). */
static uint64_t rng_state;
static double noise(void)
{
    double s = 0;
    int i;

    for (i = 0; i < 4; i++) {
        uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        s += (double)(z >> 11) / 9007199254740992.0 - 0.5;
    }
    return s; /* mean 0, stddev ~0.58 */
}

/* A results file with one run whose real_ns has 10 repetitions around `center` (2% CV) and a
 * deterministic instruction count. */
static void write_synthetic(const char *path, double center, double instructions, uint64_t seed)
{
    struct vox_results r;
    struct vox_run *run;
    struct vox_metric *m;
    struct vox_diag d = {{0}};
    int i;

    rng_state = seed;
    vox_results_init(&r);
    snprintf(r.suite, sizeof(r.suite), "synthetic");
    run = vox_results_add_run(&r);
    snprintf(run->workload, sizeof(run->workload), "alloc-frames");
    snprintf(run->kind, sizeof(run->kind), "micro");
    vox_run_set_param(run, "alloc", "pool");
    run->repetitions = 10;
    m = vox_run_metric(run, "real_ns", "ns", VOX_DIR_LOWER, false);
    for (i = 0; i < 10; i++)
        vox_metric_push(m, center * (1.0 + 0.02 / 0.58 * noise()));
    m = vox_run_metric(run, "instructions", "count", VOX_DIR_LOWER, true);
    vox_metric_push(m, instructions);
    assert_int_equal(vox_results_write(&r, path, &d), 0);
    vox_results_free(&r);
}

static void compare_flags_planted_regression_not_noise(void **st)
{
    char base[160], same[160], slow[160], fewer[160];
    const char *args_same[] = {"compare", base, same, NULL};
    const char *args_slow[] = {"compare", base, slow, NULL};
    const char *args_gate[] = {"compare", base, slow, "--stable-only", NULL};
    const char *args_fewer[] = {"compare", base, fewer, "--stable-only", NULL};
    const char *args_wide[] = {"compare", base, slow, "--threshold-measured", "20", NULL};
    const char *args_wide_all[] = {
        "compare", base, slow, "--threshold", "10", "--threshold-measured", "20", NULL};

    (void)st;
    snprintf(base, sizeof(base), "%s/base.json", tmpdir);
    snprintf(same, sizeof(same), "%s/same.json", tmpdir);
    snprintf(slow, sizeof(slow), "%s/slow.json", tmpdir);
    snprintf(fewer, sizeof(fewer), "%s/fewer.json", tmpdir);
    write_synthetic(base, 1000.0, 5000000, 1);
    write_synthetic(same, 1000.0, 5000000, 2);  /* pure noise: new draws, same centre */
    write_synthetic(slow, 1100.0, 5400000, 3);  /* a planted 10% slowdown, 8% more instructions */
    write_synthetic(fewer, 1000.0, 4500000, 4); /* 10% fewer instructions: an improvement */
    expect_exit(args_same, 0);
    assert_true(log_contains("0 regressed"));
    expect_exit(args_slow, 2);
    assert_true(log_contains("real_ns"));
    assert_true(log_contains("REGRESSED"));
    /* The gate compares stable metrics only: the instruction count regressed by 8%. */
    expect_exit(args_gate, 2);
    assert_true(log_contains("instructions"));
    assert_false(log_contains("real_ns"));
    expect_exit(args_fewer, 0);
    assert_true(log_contains("improved"));
    /* A wider floor for measured metrics spares the 10% timing shift, not the 8% count. */
    expect_exit(args_wide, 2);
    assert_true(log_contains("instructions"));
    assert_false(log_contains("real_ns"));
    assert_true(log_contains("5.0% (counts), 20.0% (measured)"));
    expect_exit(args_wide_all, 0);
    assert_true(log_contains("0 regressed"));
}

static void compare_rejects_bad_input(void **st)
{
    char base[160], junk[160];
    const char *args_missing[] = {"compare", base, "/nonexistent.json", NULL};
    const char *args_junk[] = {"compare", base, junk, NULL};
    const char *args_usage[] = {"compare", base, NULL};
    const char *args_bad_floor[] = {"compare", base, base, "--threshold-measured", "x", NULL};
    FILE *f;

    (void)st;
    snprintf(base, sizeof(base), "%s/base.json", tmpdir);
    snprintf(junk, sizeof(junk), "%s/junk.json", tmpdir);
    write_synthetic(base, 1000.0, 5000000, 1);
    f = fopen(junk, "w");
    assert_non_null(f);
    fputs("{\"runs\": [", f);
    fclose(f);
    expect_exit(args_missing, 1);
    assert_true(log_contains("/nonexistent.json"));
    expect_exit(args_junk, 1);
    assert_true(log_contains("not valid JSON"));
    expect_exit(args_usage, 1);
    expect_exit(args_bad_floor, 1);
    assert_true(log_contains("--threshold-measured takes a percentage"));
}

static void run_compare_report_end_to_end(void **st)
{
    char out[160], report[160], file[256];
    const char *args_run[] = {"run", "smoke", "--quick", "--out", out, NULL};
    const char *args_bad[] = {"run", "smoke", "--matrix", "alloc=tcmalloc", "--out", out, NULL};
    const char *args_cmp[] = {"compare", out, out, NULL};
    const char *args_rep[] = {"report", out, "--out", report, NULL};
    struct vox_results r;
    struct vox_diag d = {{0}};
    const struct vox_metric *m;
    const struct vox_run *run;
    struct stat sb;
    size_t i;

    (void)st;
    snprintf(out, sizeof(out), "%s/smoke.json", tmpdir);
    snprintf(report, sizeof(report), "%s/report", tmpdir);
    expect_exit(args_run, 0);
    assert_int_equal(vox_results_read(out, &r, &d), 0);
    assert_string_equal(r.suite, "smoke");
    /* alloc-pair x {system, pool} + frames x {20, 40 streams} + 10 SIPREC calls under SIPp */
    assert_int_equal(r.nruns, 5);
    for (i = 0; i < r.nruns; i++) {
        assert_true(r.runs[i].ok);
        assert_int_equal(r.runs[i].repetitions, 2);
        m = vox_run_find_metric(&r.runs[i], "rss_peak_bytes");
        assert_non_null(m);
        assert_int_equal(m->n, 2);
        assert_true(vox_metric_median(m) > 100000);
    }
    m = vox_run_find_metric(vox_results_find_run(&r, "alloc-pair", "alloc=pool"), "real_ns");
    assert_non_null(m);
    assert_true(vox_metric_median(m) > 0);
    m = vox_run_find_metric(
        vox_results_find_run(&r, "frames-sessions", "alloc=pool exec=steal seconds=1 streams=40"),
        "frames_per_second");
    assert_non_null(m);
    /* 40 streams of 20 ms frames: 2000 frames/s, give or take start and end. */
    assert_true(vox_metric_median(m) > 1500 && vox_metric_median(m) < 2100);
    /* The sipp workload: all 10 calls answered and ended by the real server, none failed. */
    run = vox_results_find_run(&r, "siprec-smoke",
                               "alloc=pool call_seconds=1 concurrency=10 exec=steal rate=20");
    assert_non_null(run);
    m = vox_run_find_metric(run, "calls_successful");
    assert_non_null(m);
    assert_true(vox_metric_median(m) == 10);
    m = vox_run_find_metric(run, "calls_failed");
    assert_non_null(m);
    assert_true(vox_metric_median(m) == 0);
    vox_results_free(&r);

    expect_exit(args_cmp, 0);
    expect_exit(args_rep, 0);
    snprintf(file, sizeof(file), "%s/report.md", report);
    assert_int_equal(stat(file, &sb), 0);
    assert_true(sb.st_size > 100);
    assert_non_null(strstr(file_text(file), "### SIPREC sessions"));
    snprintf(file, sizeof(file), "%s/report.html", report);
    assert_int_equal(stat(file, &sb), 0);

    /* A backend that does not exist fails that configuration with the registry's words, and
     * the results file is still written with the others. */
    expect_exit(args_bad, 1);
    assert_true(log_contains("allocator 'tcmalloc' is unknown"));
    assert_int_equal(vox_results_read(out, &r, &d), 0);
    for (i = 0; i < r.nruns; i++)
        assert_false(r.runs[i].ok);
    vox_results_free(&r);
}

static void run_rejects_bad_suites_before_running(void **st)
{
    const char *args_nosuite[] = {"run", "no-such-suite", NULL};
    const char *args_matrix[] = {"run", "smoke", "--matrix", "alloc", NULL};
    const char *args_only[] = {"run", "smoke", "--only", "nothing", NULL};

    (void)st;
    expect_exit(args_nosuite, 1);
    assert_true(log_contains("no-such-suite.yaml"));
    expect_exit(args_matrix, 1);
    assert_true(log_contains("axis=value"));
    expect_exit(args_only, 1);
    assert_true(log_contains("nothing to run"));
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* A micro workload's axes: the first names the benchmark run, later ones only pick backends. */
static void run_checks_micro_axes(void **st)
{
    char path[160];
    const char *args[] = {"run", path, "--quick", "--out", NULL, NULL};
    char out[200];

    (void)st;
    snprintf(path, sizeof(path), "%s/axes.yaml", tmpdir);
    snprintf(out, sizeof(out), "%s/axes.json", tmpdir);
    args[4] = out;
    write_text(path,
               "name: axes\nrepetitions: 1\nmatrix:\n  alloc: [system, pool]\nworkloads:\n"
               "  - id: churn\n    kind: micro\n    benchmark: frame/churn1000\n"
               "    axes: [source, law]\n    matrix:\n      source: [pooled]\n      law: [ulaw]\n");
    expect_exit(args, 1);
    assert_true(log_contains("axis 'law' after the first must be 'alloc' or 'exec'"));

    /* [source, alloc]: frame/churn1000/pooled once per allocator */
    write_text(path, "name: axes\nrepetitions: 1\nmatrix:\n  alloc: [system, pool]\nworkloads:\n"
                     "  - id: churn\n    kind: micro\n    benchmark: frame/churn1000\n"
                     "    axes: [source, alloc]\n    matrix:\n      source: [pooled]\n");
    expect_exit(args, 0);
    assert_true(log_contains("churn alloc=system source=pooled"));
    assert_true(log_contains("churn alloc=pool source=pooled"));
    assert_true(log_contains("2 runs"));

    /* simd/mix/scalar is registered for 160 and 4096 samples: `arg` picks one, and without
     * it the run fails saying why (the results file records the failure) */
    write_text(
        path, "name: axes\nrepetitions: 1\nworkloads:\n"
              "  - id: mix\n    kind: micro\n    benchmark: simd/mix\n"
              "    axes: [level]\n    matrix:\n      level: [scalar]\n    params:\n      arg: 160\n"
              "  - id: mix-both\n    kind: micro\n    benchmark: simd/mix\n"
              "    axes: [level]\n    matrix:\n      level: [scalar]\n");
    run_voxbench(args);
    assert_true(log_contains("mix arg=160 level=scalar rep 1/1: ok"));
    assert_true(log_contains("matched 2 runs of simd/mix"));
}

static double median(const struct vox_results *r, const char *workload, const char *config,
                     const char *metric)
{
    const struct vox_run *run = vox_results_find_run(r, workload, config);
    const struct vox_metric *m;

    if (!run)
        fail_msg("no run %s %s", workload, config);
    if (!run->ok)
        fail_msg("run %s %s failed: %s", workload, config, run->error);
    m = vox_run_find_metric(run, metric);
    if (!m)
        fail_msg("run %s %s has no %s", workload, config, metric);
    return vox_metric_median(m);
}

/* The pcap driver: a generated capture through vox-capture per profile and through tcpdump,
 * the match micro benchmarks, and the report's capture tables. */
static void run_pcap_workloads(void **st)
{
    char path[160], out[200], report[200], file[256];
    const char *args[] = {"run", path, "--quick", "--out", out, NULL};
    const char *args_rep[] = {"report", out, "--out", report, "--no-plots", NULL};
    struct vox_results r;
    struct vox_diag d = {{0}};
    const char *md;

    (void)st;
    snprintf(path, sizeof(path), "%s/pcap.yaml", tmpdir);
    snprintf(out, sizeof(out), "%s/pcap.json", tmpdir);
    snprintf(report, sizeof(report), "%s/pcap-report", tmpdir);
    write_text(path, "name: pcap\nrepetitions: 1\nworkloads:\n"
                     "  - id: cap\n    kind: pcap\n    axes: [profile]\n"
                     "    matrix:\n      profile: [minimal, low_latency]\n"
                     "    params:\n      calls: 20\n      duration_ms: 500\n      match: scalar\n"
                     "  - id: tools\n    kind: pcap\n    axes: [tool]\n"
                     "    matrix:\n      tool: [vox-capture, tcpdump]\n"
                     "    params:\n      calls: 20\n      duration_ms: 500\n"
                     "  - id: callid\n    kind: micro\n    benchmark: match/callid\n"
                     "    axes: [backend]\n    matrix:\n      backend: [scalar]\n"
                     "    params:\n      arg: 60\n");
    expect_exit(args, 0);
    assert_int_equal(vox_results_read(out, &r, &d), 0);
    /* 20 calls of 7 SIP messages and 2 x 25 RTP packets: the engine found all of them (the
     * driver fails a run that disagrees with the generator's truth file). */
    assert_true(median(&r, "cap", "calls=20 duration_ms=500 match=scalar profile=minimal",
                       "packets") == 20 * 57);
    assert_true(
        median(&r, "cap", "calls=20 duration_ms=500 match=scalar profile=minimal", "calls") == 20);
    assert_true(median(&r, "cap", "calls=20 duration_ms=500 match=scalar profile=minimal",
                       "profile_batch") == 8);
    assert_true(median(&r, "cap", "calls=20 duration_ms=500 match=scalar profile=low_latency",
                       "profile_batch") == 1);
    assert_true(median(&r, "cap", "calls=20 duration_ms=500 match=scalar profile=minimal",
                       "packets_per_s") > 0);
    assert_true(median(&r, "cap", "calls=20 duration_ms=500 match=scalar profile=low_latency",
                       "batch_p50_us") <=
                median(&r, "cap", "calls=20 duration_ms=500 match=scalar profile=low_latency",
                       "batch_p99_us"));
    assert_true(median(&r, "tools", "calls=20 duration_ms=500 tool=tcpdump", "packets") == 20 * 57);
    assert_true(median(&r, "tools", "calls=20 duration_ms=500 tool=tcpdump", "startup_s") > 0);
    assert_true(median(&r, "callid", "arg=60 backend=scalar", "real_ns") > 0);
    assert_string_equal(vox_results_find_run(&r, "callid", "arg=60 backend=scalar")->benchmark,
                        "match/callid");
    vox_results_free(&r);

    expect_exit(args_rep, 0);
    snprintf(file, sizeof(file), "%s/report.md", report);
    md = file_text(file);
    assert_non_null(strstr(md, "### Capture profiles"));
    assert_non_null(strstr(md, "| minimal | Go sniffer guide | 25 MB | 500 | 8 | 1 |"));
    assert_non_null(strstr(md, "### Capture analysis against the reference tools"));
    assert_non_null(strstr(md, "| tcpdump | nothing"));
    assert_non_null(strstr(md, "### Pattern-matching backends, 64-packet batches"));
    assert_non_null(strstr(md, "| Call-ID extraction | the guide's 60 B INVITE line | scalar |"));

    /* A tool that is not one of the four, and a param the driver does not know, stop the run
     * before anything is measured. */
    write_text(path, "name: pcap\nrepetitions: 1\nworkloads:\n"
                     "  - id: cap\n    kind: pcap\n    axes: [tool]\n"
                     "    matrix:\n      tool: [wireshark]\n");
    expect_exit(args, 1);
    assert_true(log_contains("unknown tool 'wireshark'"));
    write_text(path, "name: pcap\nrepetitions: 1\nworkloads:\n"
                     "  - id: cap\n    kind: pcap\n    axes: [profile]\n"
                     "    matrix:\n      profile: [minimal]\n    params:\n      speed: 3\n");
    expect_exit(args, 1);
    assert_true(log_contains("unknown param 'speed'"));
}

static int setup(void **st)
{
    (void)st;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/vox_cli_XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    snprintf(out_log, sizeof(out_log), "%s/out.log", tmpdir);
    return 0;
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(compare_flags_planted_regression_not_noise),
        cmocka_unit_test(compare_rejects_bad_input),
        cmocka_unit_test(run_rejects_bad_suites_before_running),
        cmocka_unit_test(run_checks_micro_axes),
        cmocka_unit_test(run_pcap_workloads),
        cmocka_unit_test(run_compare_report_end_to_end),
    };
    int rc;
    char cmd[128];
    pid_t pid;

    if (argc != 2) {
        fprintf(stderr, "usage: test_cli PATH-TO-VOXBENCH\n");
        return 2;
    }
    voxbench = argv[1];
    rc = cmocka_run_group_tests_name("voxbench command", tests, setup, NULL);
    /* The temporary tree (results, report, plots) is removed with rm, without a shell. */
    snprintf(cmd, sizeof(cmd), "%s", tmpdir);
    pid = fork();
    if (pid == 0) {
        execlp("rm", "rm", "-rf", cmd, (char *)NULL);
        _exit(127);
    }
    if (pid > 0)
        waitpid(pid, NULL, 0);
    return rc;
}
